"""Completeness: units × periods of one obligation (on time, late, missing, nothing to
report, not due yet); a cell opens that unit's reports of the period; "Nhắc ngay" reminds a
unit that owes, through the outbox, outside quiet hours."""

from __future__ import annotations

from aiohttp import web

from domain.access import Action
from domain.dates import format_date
from domain.obligations import Obligation
from domain.periods import Period
from usecases import dashboard
from usecases.dashboard import Cell
from web.context import BadInput, Nav, Page, Route, WebCtx

CELL_WORDS = {
    Cell.ON_TIME: "web.cell_on_time",
    Cell.LATE: "web.cell_late",
    Cell.MISSING: "web.cell_missing",
    Cell.NOTHING: "web.cell_nothing",
    Cell.NOT_DUE: "web.cell_not_due",
}


def _obligation(w: WebCtx, code: str) -> Obligation:
    if not w.settings.obligations:
        raise BadInput("obligation")
    if not code:
        return w.settings.obligations[0]
    found = w.settings.obligation(code)
    if found is None:
        raise BadInput("obligation")
    return found


def _label(w: WebCtx, obligation: Obligation) -> str:
    return obligation.label.get(w.lang) if obligation.label else obligation.code


async def grid(w: WebCtx) -> web.StreamResponse:
    obligation = _obligation(w, w.param("obligation", max_len=32))
    year = w.int_param("year", w.today.year, 2000, w.today.year + 1)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        found = await dashboard.completeness_grid(tx, caller, w.settings, obligation, year, w.now)
    units = w.settings.units
    rows = []
    for code in found.units:
        cells = []
        for period in found.periods:
            state = found.cells.get((code, period.key), Cell.NOT_DUE)
            cells.append(
                {
                    "state": state.value,
                    "word": w.t(CELL_WORDS[state]),
                    "period": period.key,
                    "owes": state is Cell.MISSING,
                }
            )
        rows.append(
            {"code": code, "name": units[code].name if code in units else code, "cells": cells}
        )
    return w.render(
        "completeness",
        obligation=obligation,
        obligation_name=_label(w, obligation),
        obligations=[(o.code, _label(w, o)) for o in w.settings.obligations],
        year=year,
        years=sorted({w.today.year, w.today.year - 1, year}, reverse=True),
        periods=[(p.key, p.name(w.t, short=True)) for p in found.periods],
        rows=rows,
        legend=[w.t(key) for key in CELL_WORDS.values()],
    )


async def remind(w: WebCtx) -> web.StreamResponse:
    """POST "Nhắc ngay": queue the reminder, then show the grid again saying when it goes."""
    form = await w.request.post()
    obligation = _obligation(w, str(form.get("obligation", "")))
    unit = str(form.get("unit", ""))
    if unit not in w.settings.units:
        raise BadInput("unit")
    try:
        period = Period.from_key(str(form.get("period", "")))
    except ValueError:
        raise BadInput("period") from None
    async with w.tx() as tx:
        caller = await w.caller(tx)
        items, at = await dashboard.remind_now(
            tx, caller, w.settings, w.deps.translate, obligation, period, unit, w.now
        )
    if w.deps.on_outbox is not None and items and at <= w.now:
        w.deps.on_outbox(items)
    local = at.astimezone(w.settings.tz)
    when = f"{local:%H:%M} {format_date(local.date(), w.lang)}"
    return w.render(
        "reminded",
        unit=w.settings.units[unit].name,
        count=len(items),
        when=when,
        later=at > w.now,
        back=f"/app/completeness?obligation={obligation.code}&year={period.year}",
    )


PAGE = Page(
    "completeness",
    routes=(
        Route("GET", "/completeness", grid, Action.COMPLETENESS),
        Route("POST", "/completeness/remind", remind, Action.REMIND),
    ),
    nav=Nav("web.nav_completeness", "/completeness", Action.COMPLETENESS),
)
