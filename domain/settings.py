"""The plain values the use cases and handlers need from the configuration.

Pure data, below every room that reads it: the chat handlers, the use cases
(shared with the command line and the web) and the scheduled jobs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from domain.measures import MeasureDef
from domain.models import IndicatorDef, Language, Unit
from domain.obligations import Obligation
from domain.periods import PeriodKind
from domain.reminders import ReminderRules
from domain.review import ReviewRules
from domain.rules import OutlierRules
from domain.scoring import ScoringDef

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True, slots=True)
class HandlerSettings:
    """The plain values handlers need from the configuration."""

    indicators: tuple[IndicatorDef, ...]
    units: Mapping[str, Unit]
    federation_name: str = ""
    federation_place: str = ""  # [federation] place: "Hà Nội, ngày … tháng … năm …"
    tz: ZoneInfo = VIETNAM
    default_language: Language = Language.VI
    period_kind: PeriodKind = PeriodKind.HALF
    open_days_after_period: int = 15
    edit_window: dt.timedelta = dt.timedelta(hours=24)
    conversation_timeout: dt.timedelta = dt.timedelta(minutes=30)
    start_attempts: int = 5
    start_lockout: dt.timedelta = dt.timedelta(minutes=15)
    myreports_limit: int = 10
    unlock_for: dt.timedelta = dt.timedelta(hours=48)  # [reporting] unlock_hours
    max_message_chars: int = 4096
    obligations: tuple[Obligation, ...] = ()
    measures: tuple[MeasureDef, ...] = ()
    scoring: ScoringDef | None = None
    pro_rate: bool = True  # [standings] pro_rate: pace against the share of the period gone
    reminders: ReminderRules = field(default_factory=ReminderRules)
    standings_post_cron: str = "0 8 * * mon"  # [standings] post_cron
    web_url: str | None = None  # [web] public_url when the dashboard is on: /web's links
    outliers: OutlierRules = field(default_factory=OutlierRules)  # [reporting] outlier_*
    review: ReviewRules = field(default_factory=ReviewRules)  # [review]

    def indicator(self, code: str) -> IndicatorDef | None:
        return next((i for i in self.indicators if i.code == code), None)

    def obligation(self, code: str) -> Obligation | None:
        return next((o for o in self.obligations if o.code == code), None)
