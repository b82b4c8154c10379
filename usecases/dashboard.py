"""What the web dashboard asks that the chat asks differently: a cluster named in the URL
(the chat answers about the person's own), the clusters a person may pick from.

Every function asks the one policy with the caller, so a cluster head who edits the URL
to another cluster is refused (AccessDenied) exactly as in the chat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from types import EllipsisType

from domain.access import Action
from domain.dates import format_date
from domain.errors import AccessDenied, UserInputError
from domain.messages import OutboxItem, Reply
from domain.models import Cluster, Report
from domain.obligations import Met, Obligation, Tally, Timeliness, due_moment, periods_due_between
from domain.periods import Period
from domain.reminders import defer
from domain.settings import HandlerSettings
from storage import org, people, report_list
from storage import reports as reports_repo
from storage.db import Tx
from usecases import deadlines, delivery, review, standings, unlocks
from usecases.access import Caller, allowed, in_year, require, require_role
from usecases.standings import ClusterStandings

Translator = Callable[..., str]


async def visible_clusters(tx: Tx, caller: Caller, action: Action, year: int) -> list[Cluster]:
    """The clusters of `year` the caller may do `action` on (the period switch's choices)."""
    require_role(caller, action)
    asked = await in_year(tx, caller, year)
    if allowed(asked, action, asked.target(federation=True)):
        return await org.clusters(tx, year)  # admins: all, without asking once per cluster
    # a leader: their one or two clusters read, not all of a city's 350 with their members
    codes = [
        code
        for code in await org.cluster_codes(tx, year)
        if allowed(asked, action, asked.target(cluster=code))
    ]
    found = [await org.cluster(tx, code, year) for code in codes]
    return [c for c in found if c is not None]


@dataclass(frozen=True, slots=True)
class ClusterChoice:
    """A cluster as a switch offers it: its code and name."""

    code: str
    name: str


async def cluster_choices(tx: Tx, caller: Caller, action: Action, year: int) -> list[ClusterChoice]:
    """The clusters of `year` the caller may do `action` on, by code and name only: the
    cluster switch of a page (an admin's 350, without building each with its members)."""
    require_role(caller, action)
    asked = await in_year(tx, caller, year)
    named = await org.cluster_names(tx, year)
    if allowed(asked, action, asked.target(federation=True)):
        return [ClusterChoice(code, name) for code, name in named]
    chosen = set(_allowed_clusters(asked, action, [code for code, _ in named]))
    return [ClusterChoice(code, name) for code, name in named if code in chosen]


def _allowed_clusters(asked: Caller, action: Action, codes: list[str]) -> list[str]:
    """Those of `codes` the caller may do `action` on. A cluster is, to the policy, the
    person's own, one they lead, their group's, or any other: every other one gets the
    same answer, so it is asked once, not once for each of a city's 350."""
    actor = asked.actor
    known = {actor.cluster, asked.group_cluster, *actor.heads, *actor.deputises}
    others: bool | None = None
    chosen = []
    for code in codes:
        if code in known:
            may = allowed(asked, action, asked.target(cluster=code))
        else:
            if others is None:
                others = allowed(asked, action, asked.target(cluster=code))
            may = others
        if may:
            chosen.append(code)
    return chosen


async def cluster_standings(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    code: str,
    period: Period,
    now: dt.datetime,
) -> tuple[ClusterStandings, dict[str, Tally]]:
    """The ranking of cluster `code` (empty: the person's own, as /standings), if allowed."""
    if not code:
        return await standings.of_cluster(tx, caller, settings, period, now)
    asked = await in_year(tx, caller, period.year)
    require(asked, Action.VIEW_CLUSTER_STANDINGS, asked.target(cluster=code))
    return await standings.with_rates(tx, settings, code, period, now)


async def export_cluster(tx: Tx, caller: Caller, code: str, year: int) -> Cluster:
    """The cluster whose workbook is asked for, if the caller may export it."""
    if not code:
        return await standings.asked_cluster(tx, caller, Action.EXPORT, year)
    asked = await in_year(tx, caller, year)
    require(asked, Action.EXPORT, asked.target(cluster=code))
    found = await org.cluster(tx, code, year)
    if found is None:
        raise UserInputError("standings.no_cluster", year=year)
    return found


# ---- reports ------------------------------------------------------------------------------


async def report_units(tx: Tx, caller: Caller, year: int) -> list[str] | None:
    """The units whose reports of `year` the caller may see (None: every unit, admins)."""
    require_role(caller, Action.VIEW_REPORTS)
    if allowed(caller, Action.VIEW_REPORTS, caller.target(federation=True)):
        return None
    asked = await in_year(tx, caller, year)
    # The policy grants VIEW_REPORTS per cluster (its leaders): asked per cluster, not per
    # unit, and the members read of the one or two clusters seen, not of all 2,000 units.
    seen = _allowed_clusters(asked, Action.VIEW_REPORTS, await org.cluster_codes(tx, year))
    if len(seen) <= FEW_CLUSTERS:
        units = []
        for code in seen:
            found = await org.cluster(tx, code, year)
            units += [m.unit for m in found.members] if found is not None else []
        return sorted(units)
    members = await org.memberships(tx, year)
    chosen = set(seen)
    return sorted(unit for unit, (cluster, _) in members.items() if cluster in chosen)


FEW_CLUSTERS = 4  # a leader's: their members read cluster by cluster


MAX_AUTHOR_UNITS = 60


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """The reports table's filters, order and cursor (all already parsed)."""

    period: Period
    unit: str = ""
    indicator: str = ""
    status: str = ""
    person: int | None = None
    review: str = ""
    newest_first: bool = True
    after: tuple[dt.date, int] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ReportPage:
    rows: list[report_list.Listed]
    more: bool  # another page follows the last row
    units: list[str] | None  # what the unit filter may offer (None: every unit)
    authors: list[tuple[int, str]]


async def reports_page(
    tx: Tx, caller: Caller, q: ReportQuery, visible: list[str] | EllipsisType | None = ...
) -> ReportPage:
    """One page of the reports the caller may see; asking for a unit they may not see is
    refused (AccessDenied), not answered with an empty page. `visible`: report_units'
    answer when the caller has it already (the page matched typed words against it)."""
    if visible is ...:
        visible = await report_units(tx, caller, q.period.year)
    if q.unit and visible is not None and q.unit not in visible:
        raise AccessDenied("access.not_your_cluster")
    units = [q.unit] if q.unit else visible
    filters = report_list.Filters(
        units=units,
        start=q.period.start,
        end=q.period.end,
        indicator=q.indicator,
        status=q.status,
        person=q.person,
        review=q.review,
        newest_first=q.newest_first,
        after=q.after,
    )
    rows = await report_list.page(tx, filters, q.limit + 1)
    # The person filter lists the people of the units asked about when they are few (a
    # cluster, one unit); a federation's thousands would make every page heavy.
    few = units is not None and len(units) <= MAX_AUTHOR_UNITS
    authors = await report_list.authors(tx, units) if few else []
    return ReportPage(rows[: q.limit], len(rows) > q.limit, visible, authors)


@dataclass(frozen=True, slots=True)
class ReportDetail:
    report: Report
    author: str
    audit: list[report_list.AuditEntry]


async def report_detail(tx: Tx, caller: Caller, report_id: int) -> ReportDetail:
    """One report with its photos and audit trail. An unknown id and another cluster's
    report get the same refusal, so probing ids tells nothing."""
    require_role(caller, Action.VIEW_REPORTS)
    report = await reports_repo.get(tx, report_id)
    if report is None:
        raise AccessDenied("access.not_your_cluster")
    year = report.occurred_on.year
    asked = await in_year(tx, caller, year)
    found = (await org.memberships(tx, year)).get(report.unit_code)
    target = asked.target(unit=report.unit_code, cluster=found[0] if found else None)
    require(asked, Action.VIEW_REPORTS, target)
    author = await people.get(tx, report.person_id)
    return ReportDetail(
        report, author.name if author else "—", await report_list.audit(tx, report_id)
    )


# ---- completeness -------------------------------------------------------------------------


class Cell(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    NOTHING = "nothing"  # "Không có hoạt động" declared
    NOT_DUE = "not_due"


@dataclass(frozen=True, slots=True)
class Grid:
    obligation: Obligation
    periods: list[Period]
    units: list[str]
    cells: dict[tuple[str, str], Cell]  # (unit, period key) → state


def obligation_periods(obligation: Obligation, year: int) -> list[Period]:
    """The periods of `year` the obligation asks for, in order."""
    due = periods_due_between(obligation, dt.date(year, 1, 1), dt.date(year + 1, 12, 31))
    return [p for p in due if p.year == year]


async def completeness_grid(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    obligation: Obligation,
    year: int,
    now: dt.datetime,
) -> Grid:
    """Units × periods of one obligation: on time, late, missing, nothing to report, not due
    yet (cluster heads: their cluster; admins: every unit)."""
    cluster = deadlines.cluster_scope(caller, Action.COMPLETENESS)
    periods = obligation_periods(obligation, year)
    cells: dict[tuple[str, str], Cell] = {}
    units: set[str] = set()
    for period in periods:
        due = due_moment(obligation, period, settings.tz)
        for s in await deadlines.standings_for(tx, settings, obligation, period):
            if cluster is not None and s.unit.cluster != cluster:
                continue
            units.add(s.unit.unit)
            cells[(s.unit.unit, period.key)] = _cell(s.met, due, now)
    order = sorted(units, key=lambda u: settings.units[u].name if u in settings.units else u)
    return Grid(obligation, periods, order, cells)


def _cell(met: Met, due: dt.datetime, now: dt.datetime) -> Cell:
    if met.declared:
        return Cell.NOTHING
    if met.status is Timeliness.ON_TIME:
        return Cell.ON_TIME
    if met.met:
        return Cell.LATE
    return Cell.MISSING if due <= now else Cell.NOT_DUE


async def remind_now(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    translate: Translator,
    obligation: Obligation,
    period: Period,
    unit: str,
    now: dt.datetime,
) -> tuple[list[OutboxItem], dt.datetime]:
    """ "Nhắc ngay": a reminder to each person of a unit that owes, through the outbox, at
    the first moment outside quiet hours and holidays; once a day per person whatever is
    pressed. Returns the rows queued and when they go."""
    found = (await org.memberships(tx, period.year)).get(unit)
    asked = await in_year(tx, caller, period.year)
    require(asked, Action.REMIND, asked.target(unit=unit, cluster=found[0] if found else None))
    standing = next(
        (
            s
            for s in await deadlines.standings_for(tx, settings, obligation, period)
            if s.unit.unit == unit
        ),
        None,
    )
    if standing is None or standing.met.met:
        raise UserInputError("web.remind_not_owing")
    rules = settings.reminders
    at = defer(now, rules.quiet_hours, rules.holidays, settings.tz)
    day = now.astimezone(settings.tz).date().isoformat()
    items: list[OutboxItem] = []
    for person in await people.in_units(tx, [unit]):
        chat = await delivery.preferred_chat(tx, person.id)
        if chat is None:
            continue
        lang = person.language.value
        text = translate(
            lang,
            "web.remind_text",
            obligation=obligation.label.get(lang) if obligation.label else obligation.code,
            period=period.name(partial(translate, lang)),
            unit=settings.units[unit].name if unit in settings.units else unit,
            due=format_date(due_moment(obligation, period, settings.tz).date(), lang),
        )
        key = f"web-remind:{obligation.code}:{period.key}:{person.id}:{day}"
        item = await delivery.enqueue(tx, chat[0], chat[1], Reply(text), at, key)
        if item is not None:
            items.append(item)
    return items, at


# ---- review -------------------------------------------------------------------------------


async def decide_review(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    translate: Translator,
    report_id: int,
    version: int,
    reason: str | None,
    now: dt.datetime,
) -> tuple[review.Outcome, list[OutboxItem]]:
    """Accept (`reason` None) or return a report from the dashboard, through the review use
    cases (the same checks as the chat); a returned report's officer is told why, in their
    language, through the outbox."""
    if reason is None:
        outcome = await review.accept(tx, caller, settings, report_id, version, now)
        return outcome, []
    outcome = await review.give_back(tx, caller, settings, report_id, version, reason, now)
    author = outcome.author
    if outcome.result is not review.Result.DONE or author is None:
        return outcome, []
    chat = await delivery.preferred_chat(tx, author.id)
    if chat is None:
        return outcome, []
    said = translate(
        author.language.value,
        "web.returned_notice",
        id=report_id,
        reason=" ".join(reason.split()),
    )
    key = f"web-return:{report_id}:{outcome.report.version}:{now.isoformat()}"
    item = await delivery.enqueue(tx, chat[0], chat[1], Reply(said), now, key)
    return outcome, [item] if item is not None else []


# ---- unlock requests ----------------------------------------------------------------------


async def decide_unlock(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    translate: Translator,
    request_id: int,
    grant: bool,
    now: dt.datetime,
) -> tuple[unlocks.Decided, list[OutboxItem]]:
    """Grant or refuse an unlock request from the dashboard, through the same use case as
    the chat's buttons (decided once); the officer who asked is told, in their language,
    through the outbox, with the chat's words."""
    decided = await unlocks.decide(tx, caller, settings, request_id, grant, now)
    asker = decided.asker
    chat = await delivery.preferred_chat(tx, asker.id) if asker is not None else None
    if asker is None or chat is None:
        return decided, []
    request = decided.request
    granted = request.status is unlocks.UnlockStatus.GRANTED
    until = request.open_until
    said = translate(
        asker.language.value,
        "unlock.told_granted" if granted else "unlock.told_refused",
        who=decided.decider_name or "—",
        unit=settings.units[request.unit].name if request.unit in settings.units else request.unit,
        period=decided.period,
        until=until.astimezone(settings.tz).strftime("%H:%M %d/%m/%Y") if until else "",
    )
    key = f"web-unlock:{request.id}"
    item = await delivery.enqueue(tx, chat[0], chat[1], Reply(said), now, key)
    return decided, [item] if item is not None else []
