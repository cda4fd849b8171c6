"""One rule for saying whether the plan beat an alternative: a paired difference and its
95% CI, read plainly. The report's first screen and the backtest page both use it, so
"tie" means the same thing everywhere: the interval holds 0.
"""

from __future__ import annotations

from dataclasses import dataclass


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

    def sentence(self) -> str:
        span = f"{self.lead:+,.0f} (95% CI {self.low:+,.0f} to {self.high:+,.0f})"
        if self.outcome == "beat":
            return f"The plan beat {self.against} on {self.metric} by {span}."
        if self.outcome == "worse":
            return f"The plan did worse than {self.against} on {self.metric}: {span}."
        return f"The plan and {self.against} cannot be told apart on {self.metric}: {span}."
