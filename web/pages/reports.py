"""Reports: everything the person may see, filtered (unit, indicator, period, state,
person), sorted by date either way, paged by keyset (a cursor, never OFFSET: a page deep in
a million reports costs what the first does); and one report with its values, photos and
audit trail. Another cluster's unit or report id answers 403, the same for an unknown id."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from domain.access import Action
from domain.dates import format_date
from domain.errors import AccessDenied
from domain.evidence import PhotoState
from domain.fields import format_value
from domain.models import FieldType, ReportStatus, ReviewState
from domain.periods import Period, PeriodKind
from domain.review import Reviewers
from domain.text import fold
from runtime.render import indicator_title, summary_line, unit_name, unusual_lines
from usecases import access, dashboard, evidence, reports
from web.app import redirect
from web.context import BadInput, Nav, Page, Route, WebCtx

PHOTO_WORDS = {
    PhotoState.PENDING: "web.photo_pending",
    PhotoState.STORED: "web.photo_stored",
    PhotoState.TOO_LARGE: "web.photo_refused",
    PhotoState.NOT_IMAGE: "web.photo_refused",
    PhotoState.FAILED: "web.photo_failed",
}
_CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2})~(\d{1,12})")
#: What each state is called (a review state gets its words here when it lands).
STATE_WORDS = {
    ReportStatus.ACTIVE.value: "web.state_active",
    ReportStatus.RETRACTED.value: "web.state_retracted",
}
STATES = frozenset(STATE_WORDS)
REVIEW_WORDS = {
    ReviewState.SUBMITTED.value: "web.review_submitted",
    ReviewState.ACCEPTED.value: "web.review_accepted",
    ReviewState.RETURNED.value: "web.review_returned",
}
REVIEWS = frozenset(REVIEW_WORDS)
SORTS = frozenset({"new", "old"})


def _period(w: WebCtx) -> Period:
    key = w.param("period", str(w.today.year), max_len=10)
    try:
        period = Period.from_key(key)
    except ValueError:
        raise BadInput("period") from None
    if not 2000 <= period.year <= w.today.year + 1:
        raise BadInput("period")
    return period


def _cursor(w: WebCtx) -> tuple[dt.date, int] | None:
    raw = w.param("after", max_len=32)
    if not raw:
        return None
    found = _CURSOR.fullmatch(raw)
    if found is None:
        raise BadInput("after")
    try:
        return dt.date.fromisoformat(found.group(1)), int(found.group(2))
    except ValueError:
        raise BadInput("after") from None


#: Up to this many units the unit filter is a <select>; more (a federation's 2,000) and it
#: is a typed field (a code or part of a name) whose suggestions app.js fetches when it is
#: first used: the page stays light, and without JavaScript typing works the same.
SELECT_AT_MOST = 60
#: Units listed to pick from when the words typed match several.
MATCHES_SHOWN = 20


@dataclass(frozen=True, slots=True)
class UnitFilter:
    """The unit filter as asked: the unit's code ("" for none), the words shown back in
    the field, and when they name no single unit the units they match (to pick one)."""

    code: str = ""
    typed: str = ""
    matches: tuple[tuple[str, str], ...] = ()
    unmatched: bool = False

    @property
    def settled(self) -> bool:
        return not self.matches and not self.unmatched


@functools.lru_cache(maxsize=8192)
def _folded(name: str) -> str:
    return fold(name)


def unit_filter(w: WebCtx, visible: list[str] | None) -> UnitFilter:
    """A unit's code, or words of its name ("ba dinh" finds LĐLĐ quận Ba Đình), among the
    units the person's table shows; another cluster's code is the use case's to refuse."""
    typed = w.param("unit", max_len=100)
    if not typed or typed in w.settings.units:
        return UnitFilter(typed, _unit_name(w, typed) if typed else "")
    units = w.settings.units
    offered = list(units) if visible is None else [c for c in visible if c in units]
    wanted = fold(typed)
    if not wanted:
        raise BadInput("unit")
    exact = [c for c in offered if _folded(units[c].name) == wanted]
    found = exact or [c for c in offered if wanted in _folded(units[c].name)]
    if len(found) == 1:
        return UnitFilter(found[0], units[found[0]].name)
    named = sorted(((c, units[c].name) for c in found), key=lambda pair: _folded(pair[1]))
    return UnitFilter("", typed, tuple(named[:MATCHES_SHOWN]), not found)


def _query(w: WebCtx, unit: str) -> dashboard.ReportQuery:
    indicator = w.param("indicator", max_len=32)
    if indicator and w.settings.indicator(indicator) is None:
        raise BadInput("indicator")
    person = w.int_param("person", 0, 0, 10**12)
    return dashboard.ReportQuery(
        period=_period(w),
        unit=unit,
        indicator=indicator,
        status=w.choice("state", STATES),
        person=person or None,
        review=w.choice("review", REVIEWS),
        newest_first=w.choice("sort", SORTS, "new") == "new",
        after=_cursor(w),
        limit=w.int_param("per", 50, 10, 200),
    )


def _unit_name(w: WebCtx, code: str) -> str:
    unit = w.settings.units.get(code)
    return unit.name if unit else code


async def listing(w: WebCtx) -> web.StreamResponse:
    period = _period(w)
    async with w.tx() as tx:
        caller = await w.caller(tx)
        visible = await dashboard.report_units(tx, caller, period.year)
        unit = unit_filter(w, visible)
        q = _query(w, unit.code)
        if unit.settled:
            found = await dashboard.reports_page(tx, caller, q, visible)
        else:  # the words name no single unit: which one is meant, before any reports
            found = dashboard.ReportPage([], False, visible, [])
    rows = []
    for r in found.rows:
        indicator = w.settings.indicator(r.indicator)
        rows.append(
            {
                "id": r.id,
                "date": format_date(r.occurred_on, w.lang),
                "unit": _unit_name(w, r.unit_code),
                "summary": summary_line(indicator, r.values, w.lang) if indicator else r.indicator,
                "person": r.person_name,
                "state": w.t(STATE_WORDS.get(r.status, "web.state_active")),
                "review": w.t(REVIEW_WORDS.get(r.review, "web.review_accepted")),
            }
        )
    base: dict[str, Any] = {
        "period": q.period.key,
        "unit": q.unit,
        "indicator": q.indicator,
        "state": q.status,
        "person": q.person or "",
        "review": q.review,
        "sort": "new" if q.newest_first else "old",
        "per": q.limit,
    }
    more = None
    if found.more and found.rows:
        last = found.rows[-1]
        more = {**base, "after": f"{last.occurred_on.isoformat()}~{last.id}"}
    units = found.units if found.units is not None else w.settings.units
    few = len(units) <= SELECT_AT_MOST
    return w.render(
        "reports",
        rows=rows,
        filters=base,
        more=more,
        first=base if q.after else None,
        units=[(code, _unit_name(w, code)) for code in sorted(units)] if few else None,
        unit=unit,
        picks=[(name, {**base, "unit": code}) for code, name in unit.matches],
        indicators=[(i.code, indicator_title(i, w.lang)) for i in w.settings.indicators],
        states=[(state, w.t(key)) for state, key in STATE_WORDS.items()],
        reviews=[(state, w.t(key)) for state, key in REVIEW_WORDS.items()],
        authors=found.authors,
        periods=_period_choices(w, q.period),
    )


async def unit_names(w: WebCtx) -> web.StreamResponse:
    """The names of the units whose reports the person may see in the asked year, for the
    typed unit filter's suggestions (fetched by app.js when the field is first used)."""
    period = _period(w)
    async with w.tx() as tx:
        visible = await dashboard.report_units(tx, await w.caller(tx), period.year)
    codes = w.settings.units if visible is None else visible
    names = sorted({_unit_name(w, code) for code in codes}, key=_folded)
    return web.json_response(names, headers={"Cache-Control": "private, max-age=600"})


def _period_choices(w: WebCtx, chosen: Period) -> list[tuple[str, str]]:

    years = sorted({w.today.year, w.today.year - 1, chosen.year}, reverse=True)
    out: list[tuple[str, str]] = []
    for year in years:
        for period in (
            Period(PeriodKind.YEAR, year, 1),
            Period(PeriodKind.HALF, year, 1),
            Period(PeriodKind.HALF, year, 2),
        ):
            out.append((period.key, period.name(w.t)))
    if chosen.key not in {key for key, _ in out}:
        out.insert(0, (chosen.key, chosen.name(w.t)))
    return out


def _id(w: WebCtx, name: str) -> int:
    raw = w.request.match_info[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise BadInput(name)
    return int(raw)


async def one(w: WebCtx) -> web.StreamResponse:
    async with w.tx() as tx:
        caller = await w.caller(tx)
        found = await dashboard.report_detail(tx, caller, _id(w, "id"))
        photos = (await evidence.report_photos(tx, caller, found.report.id)).photos
        try:
            unusual = await reports.warnings(tx, caller, found.report.id)
        except AccessDenied:
            unusual = ()
    report = found.report
    indicator = w.settings.indicator(report.indicator)
    values = []
    if indicator is not None:
        for f in indicator.fields:
            if f.type == FieldType.PHOTO:
                continue
            value = report.values.get(f.code)
            shown = format_value(f, value, w.lang) if value is not None else "—"
            values.append((f.label.get(w.lang), shown))
    tz = w.settings.tz
    return w.render(
        "report",
        report=report,
        title=indicator_title(indicator, w.lang) if indicator else report.indicator,
        unit=_unit_name(w, report.unit_code),
        author=found.author,
        state=w.t(STATE_WORDS.get(report.status.value, "web.state_active")),
        review=w.t(REVIEW_WORDS[report.review.value]),
        may_review=_may_review(w, caller) and report.review is ReviewState.SUBMITTED,
        reason_max=w.settings.review.reason_max_chars,
        date=format_date(report.occurred_on, w.lang),
        created=report.created_at.astimezone(tz).strftime("%H:%M %d/%m/%Y"),
        values=values,
        photos=[
            {
                "n": p.position,
                "stored": p.state is PhotoState.STORED and w.deps.photo is not None,
                "state": w.t(PHOTO_WORDS.get(p.state, "web.photo_pending")),
                "duplicates": [d.report_id for d in p.duplicates],
            }
            for p in photos
        ],
        platform_photos=len(report.photos),
        said=w.param("said", max_len=200),
        warnings=(
            unusual_lines(
                w.t,
                indicator,
                unusual,
                w.lang,
                unit_name(w.settings, report.unit_code),
                w.settings.outliers.days,
            )
            if indicator
            else []
        ),
        audit=[
            {
                "at": entry.at.astimezone(tz).strftime("%H:%M %d/%m/%Y"),
                "who": entry.person_name,
                "action": entry.action,
                "before": _changes(entry.before),
                "after": _changes(entry.after),
            }
            for entry in found.audit
        ],
    )


async def photo(w: WebCtx) -> web.StreamResponse:
    """One evidence photo of a report (its thumbnail; `?full=1` the original), for people
    who may see both the report and its evidence."""
    position = _id(w, "n")
    full = w.choice("full", frozenset({"1"})) == "1"
    async with w.tx() as tx:
        caller = await w.caller(tx)
        found = await dashboard.report_detail(tx, caller, _id(w, "id"))
        photos = (await evidence.report_photos(tx, caller, found.report.id)).photos
    chosen = next((p for p in photos if p.position == position), None)
    data = w.deps.photo(chosen, full) if chosen is not None and w.deps.photo else None
    if chosen is None or data is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=data,
        content_type=(chosen.content_type or "image/jpeg") if full else "image/jpeg",
        headers={"Cache-Control": "private, max-age=3600"},
    )


def _may_review(w: WebCtx, caller: access.Caller) -> bool:
    """Whether to offer ✅ / ↩️ (the use case decides for this very report)."""
    rules = w.settings.review
    if rules.by is Reviewers.NOBODY:
        return False
    action = Action.REVIEW_LED if rules.by is Reviewers.CLUSTER else Action.REVIEW_FEDERATION
    return access.can_ever(caller, action)


async def decide(w: WebCtx) -> web.StreamResponse:
    """POST ✅ Duyệt or ↩️ Trả lại (with a reason) of the report as it was shown."""
    report_id = _id(w, "id")
    form = await w.request.post()
    version = str(form.get("version", ""))
    if not (version.isascii() and version.isdigit()) or len(version) > 9:
        raise BadInput("version")
    decision = form.get("decision")
    if decision not in ("accept", "return"):
        raise BadInput("decision")
    reason = str(form.get("reason", "")) if decision == "return" else None
    if reason is not None and len(reason) > 4 * w.settings.review.reason_max_chars:
        raise BadInput("reason")
    async with w.tx() as tx:
        caller = await w.caller(tx)
        await dashboard.report_detail(tx, caller, report_id)  # seen by them at all
        outcome, items = await dashboard.decide_review(
            tx, caller, w.settings, w.deps.translate, report_id, int(version), reason, w.now
        )
    if w.deps.on_outbox is not None and items:
        w.deps.on_outbox(items)
    said = w.t(RESULT_WORDS[outcome.result.value], by=outcome.by or "—")
    return redirect(f"/app/reports/{report_id}?{urlencode({'said': said[:200]})}")


RESULT_WORDS = {
    "done": "web.review_done",
    "taken": "web.review_taken",
    "edited": "web.review_edited",
    "retracted": "web.review_retracted",
}


def _changes(values: dict[str, Any] | None) -> str:
    if not values:
        return ""
    return ", ".join(f"{key}: {value}" for key, value in values.items())


PAGE = Page(
    "reports",
    routes=(
        Route("GET", "/reports", listing, Action.VIEW_REPORTS),
        Route("GET", "/reports/units.json", unit_names, Action.VIEW_REPORTS),  # before {id}
        Route("GET", "/reports/{id}", one, Action.VIEW_REPORTS),
        Route("GET", "/reports/{id}/photos/{n}", photo, Action.VIEW_REPORTS),
        Route("POST", "/reports/{id}/review", decide, Action.REVIEW),
    ),
    nav=Nav("web.nav_reports", "/reports", Action.VIEW_REPORTS),
)
