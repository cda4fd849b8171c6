"""One rule for saying whether the plan beat an alternative: a paired difference and its
95% CI, read plainly. The report's first screen and the backtest page both use it, so
"tie" means the same thing everywhere: the interval holds 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _same(message: str) -> str:
    return message


@dataclass(frozen=True)
class Verdict:
    """The plan minus `against` on `metric` (currency): `lead` with its 95% CI."""

    against: str
    lead: float
    low: float
    high: float
    metric: str = "net value"

    @property
    def outcome(self) -> str:
        """'beat' (the whole CI above 0), 'worse' (below 0) or 'tie'."""
        if self.low > 0:
            return "beat"
        if self.high < 0:
            return "worse"
        return "tie"

    def sentence(self, _: Callable[[str], str] = _same) -> str:
        """The verdict in words, through gettext `_` (the report's language)."""
        values = {
            "against": _(self.against), "metric": _(self.metric),
            "span": _("%(lead)s (95%% CI %(low)s to %(high)s)") % {
                "lead": f"{self.lead:+,.0f}", "low": f"{self.low:+,.0f}",
                "high": f"{self.high:+,.0f}",
            },
        }  # fmt: skip
        if self.outcome == "beat":
            return _("The plan beat %(against)s on %(metric)s by %(span)s.") % values
        if self.outcome == "worse":
            return _("The plan did worse than %(against)s on %(metric)s: %(span)s.") % values
        return _("The plan and %(against)s cannot be told apart on %(metric)s: %(span)s.") % values
