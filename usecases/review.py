"""Review of reports: the reviewer's queue, accepting, returning with a reason, the trail.

Who reviews is configuration ([review] by): the head or deputy of the unit's cluster this
year (`Action.REVIEW_LED`), the federation's reviewers (`Action.REVIEW_FEDERATION`), or
nobody (reports are accepted as saved; /review says so). A reviewer never reviews their
own unit's reports unless [review] own_unit allows it. For chat, CLI and web alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from domain.access import Action
from domain.errors import AccessDenied, UserInputError
from domain.models import ClusterRole, Person, Report, ReportStatus, ReviewState, Role
from domain.review import Reviewers, ReviewEvent, ReviewRules, check_reason, next_state
from domain.settings import HandlerSettings
from storage import declarations, org, people
from storage import reports as reports_repo
from storage import review as review_repo
from storage.db import Tx
from storage.review import ReviewEntry
from storage.totals import Members, Units
from usecases.access import Caller, require, require_role

__all__ = [
    "Card",
    "Outcome",
    "Result",
    "accept",
    "accept_unit",
    "give_back",
    "next_card",
    "reviewers_to_remind",
    "snooze",
    "summary",
    "trail",
]


class Result(StrEnum):
    DONE = "done"  # this reviewer's decision was saved
    TAKEN = "taken"  # someone decided first (`by`, `report.review`)
    EDITED = "edited"  # the officer changed it since the card was shown: show it again
    RETRACTED = "retracted"  # the officer withdrew it


@dataclass(frozen=True, slots=True)
class Card:
    """The report a reviewer is shown, who wrote it and how many wait (this one included)."""

    report: Report
    author: str
    waiting: int


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    report: Report  # as it is now
    by: str = ""  # who decided first (TAKEN)
    author: Person | None = None  # the officer who wrote it (to tell them)


def _action(rules: ReviewRules) -> Action:
    if rules.by is Reviewers.CLUSTER:
        return Action.REVIEW_LED
    if rules.by is Reviewers.REVIEWER:
        return Action.REVIEW_FEDERATION
    raise UserInputError("review.off")


def _scope(caller: Caller, rules: ReviewRules) -> Units:
    """The units whose reports the caller reviews: their led cluster, or every unit."""
    action = _action(rules)
    require_role(caller, action)
    if rules.by is Reviewers.CLUSTER:
        cluster = sorted(caller.actor.led)[0]
        require(caller, action, caller.target(unit=caller.actor.unit, cluster=cluster))
        return Members(cluster, caller.year)
    require(caller, action, caller.target(federation=True))
    return None


def _not_own(caller: Caller, rules: ReviewRules) -> str | None:
    return None if rules.own_unit else caller.actor.unit


async def _check(tx: Tx, caller: Caller, rules: ReviewRules, report: Report) -> None:
    """The caller may review this report: the policy for its unit, and never one's own
    unit's unless the configuration allows it."""
    member = (await org.memberships(tx, caller.year)).get(report.unit_code)
    about = caller.target(unit=report.unit_code, cluster=member[0] if member else None)
    require(caller, _action(rules), about)
    if report.unit_code == caller.actor.unit and not rules.own_unit:
        raise AccessDenied("review.own_unit")


async def _name(tx: Tx, person_id: int) -> str:
    person = await people.get(tx, person_id)
    return person.name if person else "?"


async def next_card(
    tx: Tx, caller: Caller, settings: HandlerSettings, after: int | None = None
) -> Card | None:
    """The oldest report waiting in the caller's queue (`after`: the one behind that
    report's place, after "Để sau"); None when none is left."""
    rules = settings.review
    units = _scope(caller, rules)
    place: tuple[dt.datetime, int] | None = None
    if after is not None:
        behind = await reports_repo.get(tx, after)
        if behind is not None:
            place = (behind.review_at or behind.created_at, behind.id)
    found = await review_repo.waiting(tx, units, exclude_unit=_not_own(caller, rules), after=place)
    if not found:
        return None
    per_unit = await review_repo.waiting_by_unit(tx, units, exclude_unit=_not_own(caller, rules))
    report = found[0]
    return Card(report, await _name(tx, report.person_id), sum(n for _, n, _ in per_unit))


async def summary(
    tx: Tx, caller: Caller, settings: HandlerSettings
) -> list[tuple[str, int, dt.datetime]]:
    """(unit, reports waiting, the oldest's time) in the caller's queue, oldest first."""
    rules = settings.review
    units = _scope(caller, rules)
    return await review_repo.waiting_by_unit(tx, units, exclude_unit=_not_own(caller, rules))


async def _decide(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    report_id: int,
    version: int,
    event: ReviewEvent,
    now: dt.datetime,
    reason: str | None = None,
) -> Outcome:
    rules = settings.review
    _action(rules)
    report = await reports_repo.get(tx, report_id)
    if report is None:
        raise UserInputError("err.no_such_report", id=report_id)
    await _check(tx, caller, rules, report)
    assert caller.actor.person_id is not None  # the policy grants review to registered people
    for _attempt in range(2):
        if report.status == ReportStatus.RETRACTED:
            return Outcome(Result.RETRACTED, report)
        if report.review != ReviewState.SUBMITTED:
            found = await review_repo.history(tx, [report.id])
            decided = [e for e in found if e.action != ReviewEvent.RESUBMIT.value]
            by = await _name(tx, decided[-1].person_id) if decided else ""
            return Outcome(Result.TAKEN, report, by)
        if report.version != version:
            return Outcome(Result.EDITED, report)
        to = next_state(report.review, event)
        if await review_repo.change(
            tx,
            report,
            to=to,
            action=event.value,
            person_id=caller.actor.person_id,
            now=now,
            reason=reason,
        ):
            changed = await reports_repo.get(tx, report.id)
            assert changed is not None
            return Outcome(Result.DONE, changed, author=await people.get(tx, report.person_id))
        # Changed since it was read (another reviewer, another process): read it again.
        again = await reports_repo.get(tx, report.id)
        assert again is not None
        report = again
    raise AssertionError("a report changed twice in one transaction")  # pragma: no cover


async def accept(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    report_id: int,
    version: int,
    now: dt.datetime,
) -> Outcome:
    """✅ Duyệt: the report as the reviewer saw it (its `version`) is accepted."""
    return await _decide(tx, caller, settings, report_id, version, ReviewEvent.ACCEPT, now)


async def give_back(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    report_id: int,
    version: int,
    reason: str,
    now: dt.datetime,
) -> Outcome:
    """↩️ Trả lại: returned to its officer with a reason (within the configured length)."""
    said = check_reason(reason, settings.review.reason_max_chars)
    return await _decide(tx, caller, settings, report_id, version, ReviewEvent.RETURN, now, said)


async def accept_unit(
    tx: Tx,
    caller: Caller,
    settings: HandlerSettings,
    unit: str,
    until: dt.datetime,
    now: dt.datetime,
) -> int:
    """ "Duyệt tất cả": accept the unit's reports waiting since `until` or earlier (those the
    summary counted; later ones wait for their own look). Returns how many."""
    rules = settings.review
    _scope(caller, rules)
    member = (await org.memberships(tx, caller.year)).get(unit)
    require(caller, _action(rules), caller.target(unit=unit, cluster=member[0] if member else None))
    if unit == caller.actor.unit and not rules.own_unit:
        raise AccessDenied("review.own_unit")
    done = 0
    while True:
        found = await review_repo.waiting(tx, [unit], limit=50)
        batch = [r for r in found if (r.review_at or now) <= until]
        if not batch:
            return done
        for report in batch:
            outcome = await accept(tx, caller, settings, report.id, report.version, now)
            if outcome.result is not Result.DONE:  # pragma: no cover - same transaction
                return done
            done += 1


async def trail(tx: Tx, caller: Caller, report_id: int) -> list[ReviewEntry]:
    """The review actions on a report of the caller's own unit (who, when, from, to, why)."""
    report = await reports_repo.get(tx, report_id)
    if report is None:
        raise UserInputError("err.no_such_report", id=report_id)
    require(caller, Action.REPORT, caller.target(unit=report.unit_code))
    return await review_repo.history(tx, [report_id])


async def reviewers_to_remind(
    tx: Tx, settings: HandlerSettings, now: dt.datetime
) -> list[tuple[Person, int]]:
    """The scheduler's question (no caller: the bot itself asks): each reviewer whose queue
    holds reports waiting longer than [review] remind_after_days, and how many."""
    rules = settings.review
    if not rules.enabled:
        return []
    until = now - dt.timedelta(days=rules.remind_after_days)
    year = now.astimezone(settings.tz).year
    memberships = await org.memberships(tx, year)
    out: list[tuple[Person, int]] = []
    for person in await people.listing(tx, include_inactive=False):
        units: Units
        if rules.by is Reviewers.REVIEWER:
            if person.role is not Role.REVIEWER:
                continue
            units = None
        else:
            found = memberships.get(person.unit_code)
            leads = found is not None and found[1] in (ClusterRole.HEAD, ClusterRole.DEPUTY)
            if person.role is not Role.CLUSTER_HEAD or found is None or not leads:
                continue
            units = Members(found[0], year)
        old = await review_repo.waiting_by_unit(
            tx, units, exclude_unit=None if rules.own_unit else person.unit_code, until=until
        )
        count = sum(n for _, n, _ in old)
        snoozed = await declarations.snoozed_until(tx, person.id, SNOOZE, SNOOZE)
        if count and (snoozed is None or snoozed <= now):
            out.append((person, count))
    return out


SNOOZE = "_review"
"""The snoozes row of a reviewer's reminder (never an obligation's code: those are words)."""


async def snooze(tx: Tx, caller: Caller, settings: HandlerSettings, until: dt.datetime) -> None:
    """ "⏰ Nhắc lại sau" on a reviewer's reminder: none until `until`."""
    _scope(caller, settings.review)
    assert caller.actor.person_id is not None
    await declarations.snooze(tx, caller.actor.person_id, SNOOZE, SNOOZE, until)
