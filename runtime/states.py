"""Conversation flows and steps, persisted by their explicit values."""

from __future__ import annotations

from enum import StrEnum


class Flow(StrEnum):
    REPORT = "report"
    MYREPORTS = "myreports"
    REVIEW = "review"  # a reviewer says why a report goes back
    DONE = "done"


class Step(StrEnum):
    PICK_INDICATOR = "pick_indicator"
    FIELD = "field"
    QUICK_NUMBER = "quick_number"  # which field a number of a quick line belongs to
    CONFIRM = "confirm"
    EDIT_PICK = "edit_pick"
    FIX = "fix"  # a rule was broken: which value to fix
    SURE = "sure"  # an unusual value: "Bạn chắc chắn?" Đúng / Sửa lại
    LIST = "list"
    RETRACT_CONFIRM = "retract_confirm"
    FINISHED = "finished"
    REASON = "reason"  # review: the reason a report is returned
