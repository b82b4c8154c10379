"""One unit's progress this year (what /unit and /deadlines show in the chat): each
measure's done/target with its pace, and the unit's reports due with their state; reached
from the completeness grid. The same use cases and policy as the chat."""

from __future__ import annotations

import math

from aiohttp import web

from domain.access import Action
from domain.dates import format_date
from domain.measures import MeasureDef
from domain.numbers import format_money, format_number, format_percent
from domain.obligations import Met
from usecases import deadlines
from usecases import standings as ranking
from web.context import BadInput, Page, Route, WebCtx


def _amount(measure: MeasureDef, value: float, lang: str) -> str:
    return format_money(round(value), lang) if measure.unit == "vnd" else format_number(value, lang)


def _state(w: WebCtx, met: Met) -> str:
    if not met.met:
        return w.t("deadline.missing")
    if met.declared:
        return w.t("deadline.declared")
    return w.t("deadline.on_time" if met.on_time else "deadline.late")


async def show(w: WebCtx) -> web.StreamResponse:
    code = w.param("unit", max_len=32)
    if code not in w.settings.units:
        raise BadInput("unit")
    async with w.tx() as tx:
        caller = await w.caller(tx)
        found = await ranking.of_unit(tx, caller, w.settings, code, w.today)
        due = await deadlines.unit_deadlines(tx, caller, w.settings, code, w.today)
    measures = []
    for m in w.settings.measures:
        done = found.totals.get((code, m.code), 0.0)
        target = found.targets.get((code, m.code))
        if not target and not done:
            continue
        pace = ""
        if target and found.progress is None:
            pace = w.t("standings.on_track" if done >= target else "standings.behind")
        elif target and found.progress is not None:
            needed = math.ceil(target * found.progress - 1e-9)
            pace = (
                w.t("standings.on_track")
                if done + 1e-9 >= needed
                else w.t("why.behind", expected=format_number(needed, w.lang))
            )
        measures.append(
            {
                "label": m.label.get(w.lang),
                "done": _amount(m, done, w.lang),
                "target": _amount(m, target, w.lang) if target else "—",
                "ratio": format_percent(done / target, w.lang) if target else "—",
                "pace": pace,
            }
        )
    rows = [
        {
            "obligation": d.obligation.label.get(w.lang)
            if d.obligation.label
            else d.obligation.code,
            "period": d.period.name(w.t),
            "due": format_date(d.due.date(), w.lang),
            "state": _state(w, d.met),
            "missing": not d.met.met,
        }
        for d in due
    ]
    return w.render(
        "unit",
        name=w.settings.units[code].name,
        period_name=found.period.name(w.t),
        measures=measures,
        deadlines=rows,
    )


PAGE = Page("unit", routes=(Route("GET", "/unit", show, Action.VIEW_UNIT),))
