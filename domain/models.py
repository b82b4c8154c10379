"""The domain's models: units, clusters, indicators and their fields, people, reports.

Definitions that come from configuration (indicators, fields, units, clusters)
are frozen pydantic models so the TOML loader validates them once; the records
the bot creates at run time (people, reports, invites) are light dataclasses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from domain import rules as rule_language
from domain.errors import ConfigRule


class Role(StrEnum):
    OFFICER = "officer"
    CHAIR = "chair"
    CLUSTER_HEAD = "cluster_head"
    ADMIN = "admin"
    REVIEWER = "reviewer"  # the federation's reviewers ([review] by = "reviewer")


class Language(StrEnum):
    VI = "vi"
    EN = "en"


class FieldType(StrEnum):
    INTEGER = "integer"
    MONEY = "money"
    NUMBER = "number"
    TEXT = "text"
    DATE = "date"
    CHOICE = "choice"
    PHOTO = "photo"


class ReportStatus(StrEnum):
    ACTIVE = "active"
    RETRACTED = "retracted"


class ReviewState(StrEnum):
    """Where a report is in review (domain.review): a lifecycle beside `ReportStatus`."""

    SUBMITTED = "submitted"  # chờ duyệt
    ACCEPTED = "accepted"  # đã duyệt
    RETURNED = "returned"  # trả lại


class ClusterRole(StrEnum):
    HEAD = "head"
    DEPUTY = "deputy"
    MEMBER = "member"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalText(_Frozen):
    """A label in Vietnamese (required) and English (falls back to Vietnamese)."""

    vi: str = Field(min_length=1)
    en: str = ""

    def get(self, lang: str) -> str:
        return self.en if lang == Language.EN and self.en else self.vi


DEFAULT_MAX_LENGTH = 500
"""Characters one typed answer may have, unless a field says otherwise (its `max_length`);
also the limit of a one-line quick report."""


SHORT_LABEL_MAX = 16
"""Characters a short label may have: "• TƯLĐTT: 1.158/1.100 = 105,3%" fits a phone line."""


def check_short_label(value: LocalText | None) -> LocalText | None:
    """A short label fits SHORT_LABEL_MAX in each language and has no stray spaces."""
    if value is None:
        return None
    for lang, text in (("vi", value.vi), ("en", value.en)):
        if text != text.strip() or "  " in text:
            raise ConfigRule("label_spaces", "no leading, trailing or double spaces", path=lang)
        if len(text) > SHORT_LABEL_MAX:
            raise ConfigRule(
                "label_too_long",
                "at most {max} characters, {text} has {length}",
                path=lang,
                max=SHORT_LABEL_MAX,
                text=repr(text),
                length=len(text),
            )
    return value


class Choice(_Frozen):
    code: str = Field(min_length=1, max_length=24, pattern=r"^[a-z0-9_]+$")
    label: LocalText
    aliases: tuple[str, ...] = ()


class FieldDef(_Frozen):
    """One field of an indicator's form, with the bounds the bot enforces."""

    code: str = Field(min_length=1, max_length=24, pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType
    label: LocalText
    required: bool = True
    min: float | None = None
    max: float | None = None
    default: str | int | float | None = None
    choices: tuple[Choice, ...] = ()
    unit: LocalText | None = None
    hints: tuple[str, ...] = ()
    max_length: int = Field(default=DEFAULT_MAX_LENGTH, ge=1, le=4000)
    #: Above this the bot asks "Bạn chắc chắn?" instead of refusing (numeric fields).
    soft_max: float | None = None
    #: What one value is for, when it is not the report's total ("1 suất quà" for a value
    #: per gift): said after the value where it is judged unusual.
    per: LocalText | None = None

    @model_validator(mode="after")
    def _check(self) -> FieldDef:
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ConfigRule("max_below_min", "must be ≥ min", path="max")
        if self.soft_max is not None and self.min is not None and self.soft_max < self.min:
            raise ConfigRule("soft_max_below_min", "must be ≥ min", path="soft_max")
        if self.type == FieldType.CHOICE and not self.choices:
            raise ConfigRule(
                "choices_needed", "a choice field needs at least one choice", path="choices"
            )
        if self.type != FieldType.CHOICE and self.choices:
            raise ConfigRule("choices_unused", "only choice fields have choices", path="choices")
        return self

    def choice(self, code: str) -> Choice | None:
        return next((c for c in self.choices if c.code == code), None)


class RuleDef(_Frozen):
    """A check across an indicator's fields (`recipients <= count`), with what to say when
    a report breaks it. The expression is parsed once, here (domain/rules.py)."""

    expr: str
    message: LocalText

    _tree: rule_language.Expr = PrivateAttr()

    @field_validator("expr")
    @classmethod
    def _parses(cls, value: str) -> str:
        rule_language.parse(value)  # a ConfigRule naming the character, at `….expr`
        return value

    @model_validator(mode="after")
    def _keep_tree(self) -> RuleDef:
        self._tree = rule_language.parse(self.expr)
        return self

    @property
    def tree(self) -> rule_language.Expr:
        return self._tree

    @property
    def fields(self) -> tuple[str, ...]:
        """The field codes the rule names, in order of first appearance."""
        return rule_language.fields_of(self._tree)


class IndicatorDef(_Frozen):
    """What gets reported (gifts, events, ...): a form definition from config."""

    code: str = Field(min_length=1, max_length=24, pattern=r"^[a-z][a-z0-9_]*$")
    label: LocalText
    measures: LocalText
    icon: str = ""
    keywords: tuple[str, ...] = ()
    fields: tuple[FieldDef, ...] = Field(min_length=1)
    #: Checks across fields (`recipients <= count`); their field codes are checked by the
    #: configuration loader, which knows where each rule is in the file.
    rules: tuple[RuleDef, ...] = ()

    @model_validator(mode="after")
    def _unique_fields(self) -> IndicatorDef:
        seen: set[str] = set()
        for f in self.fields:
            if f.code in seen:
                raise ConfigRule(
                    "duplicate_field",
                    "duplicate field code {code}",
                    path="fields",
                    code=repr(f.code),
                )
            seen.add(f.code)
        return self

    def field(self, code: str) -> FieldDef | None:
        return next((f for f in self.fields if f.code == code), None)

    @property
    def date_field(self) -> FieldDef | None:
        """The field that says when the activity happened (its first date field)."""
        return next((f for f in self.fields if f.type == FieldType.DATE), None)


class Unit(_Frozen):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    kind: str = "ldld"


class ClusterMember(_Frozen):
    unit: str
    role: ClusterRole = ClusterRole.MEMBER


class Cluster(_Frozen):
    """One emulation cluster (Cụm thi đua) in one year: membership is per year."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    year: int = Field(ge=2000, le=2100)
    name: str = Field(min_length=1)
    members: tuple[ClusterMember, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    unit_code: str
    role: Role
    language: Language
    active: bool = True
    muted: bool = False
    unreachable: bool = False


@dataclass(frozen=True, slots=True)
class Photo:
    """Evidence: the platform's file reference, kept, never downloaded."""

    channel: str
    file_ref: str
    file_unique_id: str = ""
    size: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    unit_code: str
    person_id: int
    indicator: str
    values: dict[str, Any]
    occurred_on: dt.date
    created_at: dt.datetime
    status: ReportStatus
    source_key: str
    version: int = 1
    updated_at: dt.datetime | None = None
    photos: tuple[Photo, ...] = field(default=())
    review: ReviewState = ReviewState.ACCEPTED
    review_at: dt.datetime | None = None  # since when it is in that state (None: saved so)


@dataclass(frozen=True, slots=True)
class Invite:
    id: int
    unit_code: str
    role: Role
    max_uses: int
    uses: int
    expires_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One long-running part of the bot as last seen alive (a receive loop, a sender)."""

    component: str
    last_ok: dt.datetime | None
    last_error: str | None
    restarts: int
    stale: bool
    checked_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ProcessBeat:
    """One `thidua run` process as it last reported itself: where it runs, the roles it
    was elected to (``scheduler``, ``telegram.poll``…; none: standing by), and its loops."""

    key: str  # unique per run of a process (pid numbers are reused)
    host: str
    pid: int
    roles: tuple[str, ...]
    started_at: dt.datetime
    seen_at: dt.datetime
    beats: tuple[Heartbeat, ...] = ()
