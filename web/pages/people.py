"""People and invites: who reports for which unit, by role (a cluster's head and deputy see
their cluster's, admins everyone's); deactivate and reactivate (admins); invites in bulk,
one per unit, shown once as a printable page with a QR code and deep link each, and as CSV.

Invite codes are secrets: only their hashes are stored, so the page (or the CSV) made when
they are created is the only place they ever appear; they never go in a URL or a log line.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import segno
from aiohttp import web
from markupsafe import Markup
from multidict import MultiDictProxy

from domain.access import Action
from domain.dates import format_date
from domain.models import ClusterRole, Role, Unit
from usecases import dashboard, invites
from usecases import people as people_uc
from usecases.invites import IssuedInvite
from web.app import redirect
from web.context import BadInput, Nav, Page, Route, WebCtx
from web.pages.targets import EVERY, asked_cluster, year_of

ROLE_WORDS = {
    Role.OFFICER: "role.officer",
    Role.CHAIR: "role.chair",
    Role.CLUSTER_HEAD: "role.cluster_head",
    Role.ADMIN: "role.admin",
}
PLACE_WORDS = {ClusterRole.HEAD: "role.cluster_head", ClusterRole.DEPUTY: "role.cluster_deputy"}


async def show(w: WebCtx) -> web.StreamResponse:
    year = year_of(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        choices = await dashboard.cluster_choices(tx, caller, Action.VIEW_PEOPLE, year)
        cluster = asked_cluster(w, choices)
        page = await people_uc.by_unit(tx, caller, w.settings, year, cluster)
    units = [
        {
            "unit": group.unit,
            "place": w.t(PLACE_WORDS[group.cluster_role])
            if group.cluster_role in PLACE_WORDS
            else "",
            "people": [
                {"id": p.id, "name": p.name, "role": w.t(ROLE_WORDS[p.role]), "active": p.active}
                for p in group.people
            ],
        }
        for group in page.units
    ]
    return w.render(
        "people",
        year=year,
        page=page,
        clusters=choices,
        units=units,
        every=EVERY,
        changed=w.param("changed", max_len=200),
    )


def _here(year: int, cluster: str) -> str:
    query = {"year": str(year), "cluster": cluster or EVERY}
    return f"/app/people?{urlencode(query)}"


async def set_active(w: WebCtx) -> web.StreamResponse:
    """Deactivate or reactivate one person (admins), then back to the list."""
    form = await w.request.post()
    raw_id, raw_active = form.get("person"), form.get("active")
    if (
        not isinstance(raw_id, str)
        or not (raw_id.isascii() and raw_id.isdigit())
        or len(raw_id) > 12
    ):
        raise BadInput("person")
    if raw_active not in ("0", "1"):
        raise BadInput("active")
    async with w.tx() as tx:
        person = await people_uc.set_active(tx, await w.caller(tx), int(raw_id), raw_active == "1")
    key = "people.reactivated" if person.active else "people.deactivated"
    said = w.t(key, id=person.id, name=person.name, unit=person.unit_code)
    year, cluster = year_of(w), w.param("cluster", max_len=32)
    return redirect(f"{_here(year, cluster)}&{urlencode({'changed': said[:200]})}")


# ---- invites ------------------------------------------------------------------------------


async def invite_form(w: WebCtx) -> web.StreamResponse:
    """The bulk form: whole clusters or single units, role, uses, expiry (admins)."""
    year = year_of(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        clusters = await dashboard.visible_clusters(tx, caller, Action.VIEW_PEOPLE, year)
    return w.render(
        "invites",
        year=year,
        clusters=clusters,
        units=list(w.settings.units.values()),
        roles=[(r.value, w.t(ROLE_WORDS[r])) for r in ROLE_WORDS],
        most=invites.MAX_BULK,
    )


Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


def _number(form: Form, name: str, lo: int, hi: int, default: int) -> int:
    raw = form.get(name)
    if raw is None or raw == "":
        return default
    if (
        not isinstance(raw, str)
        or not (raw.isascii() and raw.isdigit())
        or len(raw) > 6
        or not lo <= int(raw) <= hi
    ):
        raise BadInput(name)
    return int(raw)


async def create(w: WebCtx) -> web.StreamResponse:
    """Make the invites and show them once: the printable page, or the CSV if asked."""
    year = year_of(w)
    form = await w.request.post()
    try:
        role = Role(str(form.get("role", "")))
    except ValueError:
        raise BadInput("role") from None
    uses = _number(form, "uses", 1, 1000, 1)
    days = _number(form, "days", 0, 366, 14)
    wanted = [v for v in form.getall("unit", []) if isinstance(v, str)]
    whole = {v for v in form.getall("cluster", []) if isinstance(v, str)}
    if len(wanted) + len(whole) > 4 * invites.MAX_BULK or any(len(v) > 32 for v in wanted):
        raise BadInput("unit")
    async with w.tx() as tx:
        caller = await w.caller(tx)
        if whole:
            for cluster in await dashboard.visible_clusters(tx, caller, Action.VIEW_PEOPLE, year):
                if cluster.code in whole:
                    wanted += [m.unit for m in cluster.members]
        made = await invites.create_invites(
            tx,
            caller,
            unit_codes=wanted,
            role=role,
            uses=uses,
            expires_in=dt.timedelta(days=days) if days else None,
            now=w.now,
        )
    rows = [_row(w, issued) for issued in made]
    table = _csv(w, rows)
    if form.get("format") == "csv":
        name = w.t("web.invites.csv_name", date=w.today.isoformat())
        return web.Response(
            body=table,
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return w.render(
        "invites_made",
        cards=[(row, _qr(row)) for row in rows],
        role=w.t(ROLE_WORDS[role]),
        uses=uses,
        expires=_until(w, days),
        csv_href="data:text/csv;charset=utf-8;base64," + base64.b64encode(table).decode(),
        csv_name=w.t("web.invites.csv_name", date=w.today.isoformat()),
    )


@dataclass(frozen=True, slots=True)
class InviteRow:
    unit: Unit
    code: str  # as shown: K7QM-3XHP-9RT2-WD4N
    link: str | None  # Telegram's deep link (None: no bot username configured)
    typed: str  # what to type in the chat, on Zalo too: /start CODE
    expires: dt.datetime | None


def _until(w: WebCtx, days: int) -> str:
    """The day the invites expire, as people write it ("" when they never do)."""
    if not days:
        return ""
    return format_date((w.now + dt.timedelta(days=days)).astimezone(w.settings.tz).date(), w.lang)


def _row(w: WebCtx, issued: IssuedInvite) -> InviteRow:
    unit = w.settings.units[issued.invite.unit_code]
    link = w.deps.invite_link(issued.code) if w.deps.invite_link else None
    typed = f"/start {issued.shown}"
    return InviteRow(unit, issued.shown, link, typed, issued.invite.expires_at)


def _qr(row: InviteRow) -> Markup:
    """An inline SVG QR code of the link (or of what to type): segno's own markup."""
    return Markup(segno.make(row.link or row.typed, error="m").svg_inline(scale=3))


def _csv(w: WebCtx, rows: Sequence[InviteRow]) -> bytes:
    """The same invites as a table (UTF-8 with a BOM, so Excel reads the diacritics)."""
    out = io.StringIO()
    table = csv.writer(out)
    table.writerow(
        [
            w.t("web.invites.col_unit_code"),
            w.t("web.invites.col_unit"),
            w.t("web.invites.col_code"),
            w.t("web.invites.col_telegram"),
            w.t("web.invites.col_typed"),
            w.t("web.invites.col_expires"),
        ]
    )
    for row in rows:
        expires = row.expires
        table.writerow(
            [
                row.unit.code,
                row.unit.name,
                row.code,
                row.link or "",
                row.typed,
                expires.astimezone(w.settings.tz).strftime("%d/%m/%Y %H:%M") if expires else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


PAGE = Page(
    "people",
    routes=(
        Route("GET", "/people", show, Action.VIEW_PEOPLE),
        Route("POST", "/people/active", set_active, Action.MANAGE_PEOPLE),
        Route("GET", "/invites", invite_form, Action.MANAGE_PEOPLE),
        Route("POST", "/invites", create, Action.MANAGE_PEOPLE),
    ),
    nav=Nav("web.people.nav", "/people", Action.VIEW_PEOPLE),
)
