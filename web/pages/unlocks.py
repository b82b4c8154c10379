"""Unlock requests ("xin mở khóa") waiting for the signed-in person's decision, each with
grant / refuse forms; decided once (a second decider is told who was first); the officer
is told through the outbox, as when the chat's buttons are pressed (usecases/unlocks.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from domain.access import Action
from usecases import dashboard, unlocks
from usecases.unlocks import UnlockStatus
from web.app import redirect
from web.context import BadInput, Nav, Page, Route, WebCtx


async def listing(w: WebCtx) -> web.StreamResponse:
    async with w.tx() as tx:
        found = await unlocks.waiting(tx, await w.caller(tx), w.settings)
    units = w.settings.units
    rows = [
        {
            "id": each.request.id,
            "unit": units[each.request.unit].name
            if each.request.unit in units
            else each.request.unit,
            "period": each.period.name(w.t),
            "who": each.asker,
            "reason": each.request.reason,
            "asked": f"{each.request.asked_at.astimezone(w.settings.tz):%H:%M %d/%m/%Y}",
        }
        for each in found
    ]
    return w.render("unlocks", rows=rows, said=w.param("said", max_len=300))


async def decide(w: WebCtx) -> web.StreamResponse:
    """POST ✅ / ❌ of one request; the page again saying what was done."""
    raw = w.request.match_info["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise BadInput("id")
    form = await w.request.post()
    verdict = str(form.get("decision", ""))
    if verdict not in ("grant", "refuse"):
        raise BadInput("decision")
    async with w.tx() as tx:
        caller = await w.caller(tx)
        decided, items = await dashboard.decide_unlock(
            tx, caller, w.settings, w.deps.translate, int(raw), verdict == "grant", w.now
        )
    if w.deps.on_outbox is not None and items:
        w.deps.on_outbox(items)
    request = decided.request
    unit = w.settings.units.get(request.unit)
    name = unit.name if unit else request.unit
    if request.status is UnlockStatus.GRANTED:
        until = request.open_until
        when = f"{until.astimezone(w.settings.tz):%H:%M %d/%m/%Y}" if until else ""
        said = w.t("unlock.granted", unit=name, period=decided.period, until=when)
    else:
        said = w.t("unlock.refused", unit=name, period=decided.period)
    return redirect(f"/app/unlocks?{urlencode({'said': said[:300]})}")


PAGE = Page(
    "unlocks",
    routes=(
        Route("GET", "/unlocks", listing, Action.DECIDE_UNLOCK),
        Route("POST", "/unlocks/{id}", decide, Action.DECIDE_UNLOCK),
    ),
    nav=Nav("web.nav_unlocks", "/unlocks", Action.DECIDE_UNLOCK),
)
