"""Review of reports: the states a report goes through and who reviews (configuration).

A report is submitted (chờ duyệt), then accepted (đã duyệt) or returned (trả lại, with a
reason); an officer's edit submits it again. With nobody reviewing (the default) a report
is accepted as it is saved, so standings and every flow behave as before review existed.

Pure: the transitions are decided here, the storage applies them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import UserInputError
from domain.models import ReportStatus, ReviewState

__all__ = [
    "QUICK_REASONS",
    "Counted",
    "ReviewEvent",
    "ReviewRules",
    "ReviewState",
    "Reviewers",
    "bucket",
    "check_reason",
    "next_state",
]


class ReviewEvent(StrEnum):
    ACCEPT = "accepted"
    RETURN = "returned"
    RESUBMIT = "resubmitted"  # the officer edited the report


class Reviewers(StrEnum):
    """[review] by: who reviews the reports of a unit."""

    NOBODY = "nobody"  # every report is accepted as it is saved (today's behaviour)
    CLUSTER = "cluster"  # the head or deputy of the unit's cluster this year
    REVIEWER = "reviewer"  # the federation's people with the `reviewer` role


class Counted(StrEnum):
    """[review] standings: which reports standings count."""

    ALL = "all"  # every report not retracted (marked "tạm tính" while some wait for review)
    ACCEPTED = "accepted"  # only accepted ones


class ReviewRules(BaseModel):
    """[review]: who reviews, whether a reviewer may review their own unit's reports,
    what standings count, after how many days reviewers are reminded of a waiting report
    (daily, at [reminders] at) and how long a return reason may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: Reviewers = Reviewers.NOBODY
    own_unit: bool = False
    standings: Counted = Counted.ALL
    remind_after_days: int = Field(default=3, ge=1, le=60)
    reason_max_chars: int = Field(default=500, ge=20, le=2000)

    @property
    def enabled(self) -> bool:
        return self.by is not Reviewers.NOBODY

    def on_save(self) -> ReviewState:
        """The state a newly saved (or edited) report takes."""
        return ReviewState.SUBMITTED if self.enabled else ReviewState.ACCEPTED


QUICK_REASONS: tuple[str, ...] = ("photo", "figures", "date", "duplicate")
"""The quick reasons a reviewer can tap (catalog `review.reason.<code>`), besides typing one."""

_ALLOWED: dict[ReviewEvent, frozenset[ReviewState]] = {
    ReviewEvent.ACCEPT: frozenset({ReviewState.SUBMITTED}),
    ReviewEvent.RETURN: frozenset({ReviewState.SUBMITTED}),
    ReviewEvent.RESUBMIT: frozenset(ReviewState),
}
_TO: dict[ReviewEvent, ReviewState] = {
    ReviewEvent.ACCEPT: ReviewState.ACCEPTED,
    ReviewEvent.RETURN: ReviewState.RETURNED,
    ReviewEvent.RESUBMIT: ReviewState.SUBMITTED,
}


def next_state(state: ReviewState, event: ReviewEvent) -> ReviewState:
    """The state after `event`; a report no longer waiting is refused (someone was first)."""
    if state not in _ALLOWED[event]:
        raise UserInputError("review.not_waiting", state=state.value)
    return _TO[event]


def check_reason(text: str, limit: int) -> str:
    """A return reason, trimmed; refused politely when empty or longer than `limit`."""
    reason = " ".join(text.split())
    if not reason:
        raise UserInputError("review.reason_empty")
    if len(reason) > limit:
        raise UserInputError("review.reason_too_long", limit=limit, length=len(reason))
    return reason


def bucket(status: ReportStatus | str, review: ReviewState | str) -> str:
    """The status bucket a report is counted under in the kept totals (storage.totals):
    'retracted'; 'active' for an accepted report; else its review state ('submitted',
    'returned'). Standings of all reports count every bucket but 'retracted'; accepted-only
    standings count 'active'."""
    if status == ReportStatus.RETRACTED:
        return ReportStatus.RETRACTED.value
    if review == ReviewState.ACCEPTED:
        return ReportStatus.ACTIVE.value
    return ReviewState(review).value
