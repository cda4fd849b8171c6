"""What-if simulations for planners: a form validated as a scenario file is, the job's
progress, results with 95% CIs, paired differences and a chart."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import desc, select

from api.deps import DB, RowId
from api.models import (
    Job,
    Simulation,
    SimulationChart,
)
from api.simulations import request_simulation
from api.web.rendering import (
    LIST_ROWS,
    SECURITY_HEADERS,
    Form,
    PageError,
    Web,
    gettext_of,
    language_of,
    need,
    render,
    tag_of,
    user_names,
)
from api.web.results import KINDS, simulation_view
from simulations.scenario_file import ScenarioError

router = APIRouter(prefix="/app", include_in_schema=False)

#: The policies a planner can compare (the scenario file's kinds), in the order shown.
POLICIES = {
    "min/max": "min_max", "base-stock": "base_stock", "(s,S)": "ss",
    "segment-blind": "segment_blind", "churn-aware": "churn_aware",
}  # fmt: skip
#: The what-if's fields and the scenario-file place each one fills.
WHATIF_FIELDS = {
    "days": "run.days", "replications": "run.replications", "seed": "run.seed",
    "reference": "run.reference", "lead_time_factor": "scenarios[1].lead_time_factor",
    "demand_factor": "scenarios[1].demand_factor",
    "churn_multiplier": "scenarios[1].churn_multiplier",
    "budget_factor": "scenarios[1].budget_factor", "whatif": "scenarios[1].name",
    "churn": "behaviour.churn_per_stockout", "policies": "policies",
}  # fmt: skip
WHATIF_DEFAULTS = {
    "days": "90", "replications": "5", "seed": "1", "reference": "min/max",
    "match": "on", "whatif": "lead times x2", "lead_time_factor": "2", "demand_factor": "1",
    "churn_multiplier": "1", "budget_factor": "", "churn": "",
    **{f"policy-{name}": "on" for name in POLICIES},
}  # fmt: skip


def _whatif_form(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> HTMLResponse:
    return render(request, "whatif.html", status, values=values, errors=errors,
                  policies=list(POLICIES))  # fmt: skip


@router.get("/simulations/new")
def whatif_form(request: Request, current: Web) -> HTMLResponse:
    need(request, current, "plan")
    return _whatif_form(request, WHATIF_DEFAULTS, {})


def _scenario(
    form: Mapping[str, str], _: Callable[[str], str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The scenario file's content from the what-if form, and the fields that are not
    numbers (the scenario's own validation checks the rest)."""
    errors: dict[str, str] = {}

    def number(name: str, kind: type[int] | type[float]) -> float | None:
        raw = form.get(name, "").strip()
        if not raw:
            return None
        try:
            value = kind(raw)
        except ValueError:
            errors[name] = _("Enter a whole number.") if kind is int else _("Enter a number.")
            return None
        if value != value or value in (float("inf"), float("-inf")):
            errors[name] = _("Enter a number.")
            return None
        return value

    chosen = [name for name in POLICIES if form.get(f"policy-{name}")]
    if not chosen:
        errors["policies"] = _("Choose at least one policy.")
    reference = form.get("reference", "")
    if chosen and reference not in chosen:
        errors["reference"] = _("The reference must be one of the chosen policies.")
    run: dict[str, Any] = {"reference": reference}
    for name in ("days", "replications", "seed"):
        value = number(name, int)
        if value is not None:
            run[name] = value
    if form.get("match"):
        run["match_inventory"] = reference
    whatif: dict[str, Any] = {"name": form.get("whatif", "").strip() or "what-if"}
    for name in ("lead_time_factor", "demand_factor", "churn_multiplier", "budget_factor"):
        value = number(name, float)
        if value is not None:
            whatif[name] = value
    if form.get("compensation"):
        whatif["compensation"] = True
    scenario: dict[str, Any] = {
        "run": run,
        "policies": [{"name": name, "kind": POLICIES[name]} for name in chosen],
        "scenarios": [{"name": "baseline"}, whatif],
    }
    churn = number("churn", float)
    if churn is not None:
        scenario["behaviour"] = {"churn_per_stockout": churn / 100.0}
    return scenario, errors


@router.post("/simulations/new")
def whatif_request(request: Request, db: DB, current: Web, form: Form) -> Response:
    """Validate the what-if as a scenario file is validated; queue it; show progress."""
    need(request, current, "plan")
    _ = gettext_of(request)
    scenario, errors = _scenario(form, _)
    if not errors:
        try:
            queued = request_simulation(db, current.user, scenario)
        except ScenarioError as exc:
            places = {place: field for field, place in WHATIF_FIELDS.items()}
            for line in str(exc).splitlines()[1:]:
                place, _sep, message = line.strip().partition(": ")
                field = places.get(place) or places.get(place.split("[")[0], "days")
                errors.setdefault(field, message)
        else:
            request.app.state.workers.submit(queued.job_id, 1)
            return RedirectResponse(f"/app/jobs/{queued.job_id}", status_code=303)
    return _whatif_form(request, form, errors, 422)


@router.get("/simulations")
def simulation_list(request: Request, db: DB, current: Web) -> HTMLResponse:
    rows = db.scalars(select(Simulation).order_by(desc(Simulation.id)).limit(LIST_ROWS)).all()
    return render(request, "simulations.html", simulations=rows, names=user_names(db))


@router.get("/simulations/{simulation_id}")
def simulation_page(simulation_id: RowId, request: Request, db: DB, current: Web) -> HTMLResponse:
    sim = db.get(Simulation, simulation_id)
    if sim is None:
        _ = gettext_of(request)
        raise PageError(404, _("There is no such simulation."))
    charts = db.scalars(
        select(SimulationChart.name).where(SimulationChart.simulation_id == simulation_id)
    ).all()
    job = db.get(Job, sim.job_id)
    return render(request, "simulation.html", sim=sim, job=job, charts=charts,
                  view=simulation_view(sim.result) if sim.result else None)  # fmt: skip


@router.get("/simulations/{simulation_id}/tradeoffs.json")
def simulation_tradeoffs(
    simulation_id: RowId, request: Request, db: DB, current: Web
) -> JSONResponse:
    """Each what-if's policies as [mean, CI low, CI high] per metric (`results.KINDS`),
    for the results page's chart of what one policy trades against another; policy names
    in the user's language."""
    sim = db.get(Simulation, simulation_id)
    if sim is None or not sim.result:
        return JSONResponse({"detail": "no results for this simulation"}, status_code=404)
    _ = gettext_of(request)
    view = simulation_view(sim.result)
    return JSONResponse(
        {
            "locale": tag_of(language_of(request, current)),
            "reference": view.reference,
            "policies": [{"key": p, "name": _(p)} for p in view.policies],
            "kinds": dict(KINDS),
            "scenarios": [
                {"key": sc.name, "cells": {
                    p: {m: [c.mean, c.low, c.high] for m, c in cells.items()}
                    for p, cells in sc.rows.items()}}
                for sc in view.scenarios
            ],
        },
        headers=SECURITY_HEADERS,
    )  # fmt: skip


@router.get("/simulations/{simulation_id}/charts/{name}.png")
def simulation_chart(simulation_id: RowId, name: str, db: DB, current: Web) -> Response:
    row = db.get(SimulationChart, (simulation_id, name[:50]))
    if row is None:
        return Response(status_code=404)
    return Response(row.png, media_type="image/png")
