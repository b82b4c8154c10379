"""Configuration: one TOML file, validated once at start; secrets from the environment.

Why plain ``tomllib`` + ``AppConfig.model_validate`` rather than pydantic-settings'
``TomlConfigSettingsSource``:

* ``tomllib`` reports syntax errors with their line and column; the settings source
  hides them behind its own loading and would merge the file with environment
  variables, so a stray ``BOT__DATABASE`` in a shell could silently change a
  federation's configuration.
* ``model_validate`` gives every error a ``loc`` that maps one-to-one onto a TOML
  path (``indicators[2].fields[0].max``), and lets us pass the config file's
  folder as validation context to resolve a relative database path.
* The cross-checks between sections (cluster members must be known units, ...)
  need the whole file at once, which a settings source does not offer.

pydantic-settings is still used where it fits: ``Secrets`` reads bot tokens from
the environment only, and is the one place in the project that reads
``os.environ``.

``load_config`` reports the FULL list of problems, each with its TOML path, so a
federation's staff can fix a file in one pass: field errors from pydantic and
cross-check errors are collected together (when some entries fail validation,
the cross-checks still run on the entries that are valid on their own).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence, Set
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.i18n import Catalog
from domain.errors import ConfigError, ConfigRule
from domain.evidence import MAX_SIMILAR_DISTANCE
from domain.measures import MeasureDef, check_measures, default_measures
from domain.models import (
    Cluster,
    ClusterRole,
    FieldDef,
    FieldType,
    IndicatorDef,
    Language,
    Unit,
)
from domain.obligations import Obligation, Scope, clamp_notes
from domain.periods import Period as PeriodOfTime
from domain.reminders import ReminderRules
from domain.review import ReviewRules
from domain.rules import OutlierRules, field_nodes
from domain.scoring import ScoringDef, Target, check_scoring
from domain.suggest import closest
from domain.text import fold

__all__ = [
    "AppConfig",
    "BotSection",
    "FederationSection",
    "Problem",
    "ReportingSection",
    "Secrets",
    "TelegramSection",
    "check_config",
    "cross_check",
    "format_problems",
    "load_config",
    "problems_from_validation",
]

Problem = tuple[str, str]
"""(toml_path, message), e.g. ("indicators[2].fields[0].max", "must be ≥ min")."""

Period = Literal["half", "quarter", "month", "year"]

_NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.MONEY, FieldType.NUMBER})
_DATE_DEFAULTS = frozenset({"today", "yesterday"})


class _Section(BaseModel):
    """Sections are frozen and reject unknown keys, so a misspelt key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FederationSection(_Section):
    """[federation]: who runs this bot, and the clock every deadline is read on."""

    name: str = Field(min_length=1)
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    timezone: str = "Asia/Ho_Chi_Minh"
    default_language: Language = Language.VI
    place: str = Field(default="", max_length=100)  # the place on filed documents: "Hà Nội"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(_say("config.unknown_timezone", value=repr(value))) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The federation's time zone: deadlines and "today" are read on this clock."""
        return ZoneInfo(self.timezone)


class BotSection(_Section):
    """[bot]: the running program (database, conversations, message size)."""

    database: str = Field(default="thidua.sqlite3", min_length=1, validate_default=True)
    conversation_timeout_minutes: int = Field(default=30, ge=1, le=1440)
    max_message_chars: int = Field(default=4096, ge=200, le=4096)
    # Several `thidua run` on one PostgreSQL database (README "Triển khai / Deploying"):
    outbox_lease_seconds: float = Field(default=60, ge=1, le=3600)
    """How long a process holds the messages it is sending; a dead one's go to another
    process after this long."""
    standby_check_seconds: float = Field(default=5, ge=0.2, le=300)
    """How often a standing-by process asks whether the poller or scheduler is free."""

    @field_validator("database")
    @classmethod
    def _resolve_database(cls, value: str, info: ValidationInfo) -> str:
        """Resolve a relative path against the config file's folder, not the cwd.

        The service may be started from anywhere (systemd, cron, a shell); the
        database must not move with the working directory. URLs and ":memory:"
        are left alone.
        """
        context = info.context if isinstance(info.context, Mapping) else {}
        base = context.get("config_dir")
        if "://" in value or value == ":memory:" or not isinstance(base, Path):
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())


class BackupSection(_Section):
    """[backup]: verified copies of the SQLite database, taken while the bot runs."""

    enabled: bool = True
    folder: str = Field(default="backups", min_length=1, validate_default=True)
    cron: str = "30 2 * * *"
    keep_daily: int = Field(default=7, ge=1, le=366)
    keep_monthly: int = Field(default=12, ge=0, le=600)

    @field_validator("folder")
    @classmethod
    def _resolve_folder(cls, value: str, info: ValidationInfo) -> str:
        """Relative to the config file's folder, like the database."""
        context = info.context if isinstance(info.context, Mapping) else {}
        base = context.get("config_dir")
        path = Path(value).expanduser()
        if path.is_absolute() or not isinstance(base, Path):
            return value
        return str((base / path).resolve())

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(_say("config.cron_line", error=exc)) from None
        return value


class EvidenceSection(_Section):
    """[evidence]: where evidence photos are kept once downloaded, and what is accepted."""

    enabled: bool = True
    folder: str | None = Field(default=None, min_length=1)
    """Default: the folder `evidence` beside the SQLite database (PostgreSQL: set it)."""
    max_photo_mb: float = Field(default=10.0, gt=0, le=200)
    thumbnail_px: int = Field(default=320, ge=64, le=2048)
    max_attempts: int = Field(default=8, ge=1, le=100)
    similar_distance: int = Field(default=3, ge=0, le=MAX_SIMILAR_DISTANCE)

    @field_validator("folder")
    @classmethod
    def _resolve_folder(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Relative to the config file's folder, like the database."""
        context = info.context if isinstance(info.context, Mapping) else {}
        base = context.get("config_dir")
        if value is None:
            return None
        path = Path(value).expanduser()
        if path.is_absolute() or not isinstance(base, Path):
            return value
        return str((base / path).resolve())

    def folder_for(self, database: str) -> str | None:
        """Where photos go: `folder`, else beside a SQLite database file (None: nowhere)."""
        if self.folder is not None:
            return self.folder
        if "://" in database or database == ":memory:":
            return None
        return str(Path(database).parent / "evidence")

    @property
    def max_bytes(self) -> int:
        return int(self.max_photo_mb * 1024 * 1024)


class HealthSection(_Section):
    """[health]: when a loop counts as stale, and whether to serve /healthz and /readyz
    even when no webhook needs the HTTP server."""

    serve: bool = False
    stale_seconds: int = Field(default=180, ge=30, le=86400)
    outbox_stale_seconds: int = Field(default=900, ge=30, le=86400)


class ZaloSection(_Section):
    """[zalo]: the Zalo channel (token from ZALO_BOT_TOKEN, webhook secret from
    ZALO_WEBHOOK_SECRET)."""

    enabled: bool = False
    mode: Literal["polling", "webhook"] = "polling"
    api_base_url: str = "https://bot-api.zaloplatforms.com"
    public_base_url: str | None = None
    poll_timeout_seconds: int = Field(default=30, ge=1, le=60)


class WebhookSection(_Section):
    """[webhook]: the one HTTP server for both messengers' webhooks (and /healthz)."""

    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)


class WebSection(_Section):
    """[web]: the dashboard under /app on the same HTTP server as the webhooks. Sessions
    are signed with THIDUA_WEB_SECRET when set (else a key the bot keeps in its database)."""

    enabled: bool = False
    public_url: str | None = None  # e.g. "https://thidua.example.org": links are made from it
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    init_data_max_age_seconds: int = Field(default=3600, ge=30, le=7 * 24 * 3600)
    mini_app: bool = True  # the Telegram menu button opens /app as a Mini App

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError(_say("config.http_url"))
        return value.rstrip("/")


class TelegramSection(_Section):
    """[telegram]: the Telegram channel. The bot token is a secret: see `Secrets`."""

    enabled: bool = True
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = "https://api.telegram.org/file/bot"
    bot_username: str | None = None
    concurrent_updates: int = Field(default=64, ge=1, le=1024)
    poll_timeout_seconds: int = Field(default=25, ge=0, le=60)
    mode: Literal["polling", "webhook"] = "polling"
    public_base_url: str | None = None
    connection_pool_size: int = Field(default=16, ge=1, le=1024)
    max_messages_per_second: float = Field(default=30, ge=0, le=10000)
    max_group_messages_per_minute: float = Field(default=20, ge=0, le=10000)

    @field_validator("api_base_url", "file_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(_say("config.http_url"))
        return value

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.removeprefix("@")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", value):
            raise ValueError(_say("config.telegram_username"))
        return value

    def deep_link(self, code: str) -> str | None:
        """The t.me link that starts the bot with an invite code, if the username is known."""
        return f"https://t.me/{self.bot_username}?start={code}" if self.bot_username else None


class ReportingSection(_Section):
    """[reporting]: periods, how long reports stay open and editable, invite-code limits."""

    period: Period = "half"
    open_days_after_period: int = Field(default=15, ge=0, le=366)
    edit_window_hours: int = Field(default=24, ge=0, le=24 * 366)
    start_attempts: int = Field(default=5, ge=1, le=100)
    start_lockout_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    myreports_limit: int = Field(default=10, ge=1, le=50)
    #: A value more than this many times the unit's median of that field over the last
    #: `outlier_days` asks "Bạn chắc chắn?" (0 = never); needs `outlier_min_reports` before.
    outlier_factor: float = Field(default=10.0, ge=0, le=1_000_000)
    outlier_days: int = Field(default=365, ge=1, le=3660)
    outlier_min_reports: int = Field(default=5, ge=1, le=1000)
    #: How long a granted unlock lets a unit report or edit in a closed period.
    unlock_hours: int = Field(default=48, ge=1, le=24 * 60)

    @property
    def outliers(self) -> OutlierRules:
        return OutlierRules(self.outlier_factor, self.outlier_days, self.outlier_min_reports)


class TargetEntry(_Section):
    """One [[targets]] row: a unit's target for a measure in a period ("2025", "2025-H1")."""

    unit: str
    measure: str
    period: str
    value: float = Field(ge=0, allow_inf_nan=False)

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        try:
            PeriodOfTime.from_key(value)
        except ValueError:
            raise ValueError(_say("config.period_key")) from None
        return value

    def target(self) -> Target:
        return Target(self.unit, self.measure, self.period, self.value)


class StandingsSection(_Section):
    """[standings]: how standings are computed and when they are posted to cluster groups."""

    post_cron: str = "0 8 * * mon"
    pro_rate: bool = True

    @field_validator("post_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(_say("config.not_crontab", error=exc)) from None
        return value


class AppConfig(_Section):
    """The whole configuration file, checked across sections.

    Constructing it runs the cross-checks; if any fails it raises `ConfigError`
    with every problem (not a pydantic error), so code that builds an
    `AppConfig` by hand gets the same guarantees as `load_config`.
    """

    federation: FederationSection
    bot: BotSection = BotSection()
    telegram: TelegramSection = TelegramSection()
    zalo: ZaloSection = ZaloSection()
    webhook: WebhookSection = WebhookSection()
    web: WebSection = WebSection()
    backup: BackupSection = BackupSection()
    evidence: EvidenceSection = EvidenceSection()
    health: HealthSection = HealthSection()
    reporting: ReportingSection = ReportingSection()
    units: tuple[Unit, ...] = Field(min_length=1)
    clusters: tuple[Cluster, ...] = ()
    indicators: tuple[IndicatorDef, ...] = Field(min_length=1)
    measures: tuple[MeasureDef, ...] = ()
    scoring: ScoringDef | None = None
    targets: tuple[TargetEntry, ...] = ()
    standings: StandingsSection = StandingsSection()
    reminders: ReminderRules = ReminderRules()
    review: ReviewRules = ReviewRules()
    obligations: tuple[Obligation, ...] = ()

    _units: dict[str, Unit] = PrivateAttr(default_factory=dict)
    _measures: tuple[MeasureDef, ...] = PrivateAttr(default=())
    _indicators: dict[str, IndicatorDef] = PrivateAttr(default_factory=dict)
    _clusters_by_year: dict[int, tuple[Cluster, ...]] = PrivateAttr(default_factory=dict)
    _cluster_of: dict[tuple[str, int], Cluster] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _validate_absent_sections(cls, data: Any) -> Any:
        """An absent section is validated as an empty one, so the database path resolves."""
        if isinstance(data, dict):
            sections = (
                "bot",
                "telegram",
                "zalo",
                "webhook",
                "web",
                "backup",
                "evidence",
                "health",
                "reporting",
                "standings",
            )
            data = {name: {} for name in sections} | data
        return data

    @model_validator(mode="after")
    def _cross_check(self) -> AppConfig:
        problems = cross_check(
            list(enumerate(self.units)),
            list(enumerate(self.clusters)),
            list(enumerate(self.indicators)),
            known_units={u.code for u in self.units},
        )
        self._measures = self.measures or tuple(
            m for m in default_measures() if not check_measures([m], self.indicators)
        )
        problems += _said(check_measures(self._measures, self.indicators))
        measure_codes = {m.code for m in self.all_measures}
        if self.scoring is not None:
            problems += _said(check_scoring(self.scoring, measure_codes))
        unit_codes = {u.code for u in self.units}
        seen_targets: dict[tuple[str, str, str], int] = {}
        for i, entry in enumerate(self.targets):
            if entry.unit not in unit_codes:
                problems.append((f"targets[{i}].unit", _unknown("unit", entry.unit, unit_codes)))
            if entry.measure not in measure_codes:
                problems.append(
                    (f"targets[{i}].measure", _unknown("measure", entry.measure, measure_codes))
                )
            key = (entry.unit, entry.measure, entry.period)
            if key in seen_targets:
                problems.append(
                    (
                        f"targets[{i}]",
                        _say("config.duplicate_target", first=f"targets[{seen_targets[key]}]"),
                    )
                )
            seen_targets.setdefault(key, i)
        problems += self._check_obligations(unit_codes)
        for name, section in (("telegram", self.telegram), ("zalo", self.zalo)):
            if section.mode == "webhook" and not section.public_base_url:
                problems.append((f"{name}.public_base_url", _say("config.webhook_url_needed")))
        if problems:
            raise ConfigError(problems)
        self._units = {u.code: u for u in self.units}
        self._indicators = {i.code: i for i in self.indicators}
        by_year: dict[int, list[Cluster]] = {}
        for cluster in self.clusters:
            by_year.setdefault(cluster.year, []).append(cluster)
            for member in cluster.members:
                self._cluster_of[(member.unit, cluster.year)] = cluster
        self._clusters_by_year = {year: tuple(cs) for year, cs in by_year.items()}
        return self

    def _check_obligations(self, unit_codes: set[str]) -> list[Problem]:
        indicator_codes = {i.code for i in self.indicators}
        cluster_codes = {c.code for c in self.clusters}
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for i, ob in enumerate(self.obligations):
            where = f"obligations[{i}]"
            if ob.code in seen:
                problems.append(
                    (
                        f"{where}.code",
                        _say(
                            "config.duplicate_obligation",
                            code=repr(ob.code),
                            first=f"obligations[{seen[ob.code]}]",
                        ),
                    )
                )
            seen.setdefault(ob.code, i)
            for j, code in enumerate(ob.indicators):
                if code not in indicator_codes:
                    problems.append(
                        (f"{where}.indicators[{j}]", _unknown("indicator", code, indicator_codes))
                    )
            if isinstance(ob.applies_to, Scope):
                for j, code in enumerate(ob.applies_to.units):
                    if code not in unit_codes:
                        problems.append(
                            (f"{where}.applies_to.units[{j}]", _unknown("unit", code, unit_codes))
                        )
                for j, code in enumerate(ob.applies_to.clusters):
                    if code not in cluster_codes:
                        problems.append(
                            (
                                f"{where}.applies_to.clusters[{j}]",
                                _unknown("cluster", code, cluster_codes),
                            )
                        )
        return problems

    def notes(self, lang: str = "en") -> list[str]:
        """Things check-config states without failing, e.g. day-31 fallbacks, in `lang`."""
        return [
            f"obligations[{i}].due: {_rule_text(note, lang)}"
            for i, ob in enumerate(self.obligations)
            for note in clamp_notes(ob.due)
        ]

    def obligation(self, code: str) -> Obligation | None:
        return next((o for o in self.obligations if o.code == code), None)

    @property
    def all_measures(self) -> tuple[MeasureDef, ...]:
        """The configured measures, or the defaults for the standard indicators."""
        return self._measures

    def unit(self, code: str) -> Unit | None:
        """The unit with this code, or None."""
        return self._units.get(code)

    def indicator(self, code: str) -> IndicatorDef | None:
        """The indicator with this code, or None."""
        return self._indicators.get(code)

    def clusters_of_year(self, year: int) -> tuple[Cluster, ...]:
        """The clusters of one year, in file order (membership changes yearly)."""
        return self._clusters_by_year.get(year, ())

    def cluster_of(self, unit_code: str, year: int) -> Cluster | None:
        """The cluster a unit belongs to in a year, or None if it is in none."""
        return self._cluster_of.get((unit_code, year))

    @property
    def cluster_years(self) -> tuple[int, ...]:
        """The years that have clusters, ascending."""
        return tuple(sorted(self._clusters_by_year))

    def with_secrets(self, secrets: Secrets) -> AppConfig:
        """This config with environment overrides applied (tests point Telegram elsewhere;
        a deployment names its PostgreSQL database in THIDUA_DATABASE_URL)."""
        update: dict[str, Any] = {}
        if secrets.telegram_api_base_url is not None:
            api = secrets.telegram_api_base_url
            moved = {"api_base_url": api}
            default_files = TelegramSection.model_fields["file_base_url"].default
            if self.telegram.file_base_url == default_files and api.endswith("/bot"):
                moved["file_base_url"] = f"{api.removesuffix('/bot')}/file/bot"  # same server
            update["telegram"] = TelegramSection.model_validate(self.telegram.model_dump() | moved)
        if secrets.thidua_database_url is not None:
            update["bot"] = self.bot.model_copy(update={"database": secrets.thidua_database_url})
        if secrets.zalo_api_base_url is not None:
            update["zalo"] = ZaloSection.model_validate(
                self.zalo.model_dump() | {"api_base_url": secrets.zalo_api_base_url}
            )
        return self.model_copy(update=update) if update else self

    def summary(self, lang: str = "en") -> str:
        """One line for `thidua check-config`: what the file defines."""
        say = functools.partial(_catalog(), lang)
        criteria = (
            say("config.summary_criteria", criteria=len(self.scoring.criteria))
            if self.scoring
            else ""
        )
        return say(
            "config.summary",
            clusters=len(self.clusters),
            years=", ".join(str(y) for y in self.cluster_years),
            units=len(self.units),
            indicators=len(self.indicators),
            fields=sum(len(i.fields) for i in self.indicators),
            measures=len(self.all_measures),
            criteria=criteria,
            obligations=len(self.obligations),
            targets=len(self.targets),
        )


class Secrets(BaseSettings):
    """Secrets and deployment overrides, read ONLY from the environment.

    Tokens never live in a committed file. No .env file or secrets directory is
    read, so what the process sees is exactly what its environment holds.
    """

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True, frozen=True)

    telegram_bot_token: SecretStr | None = None  # TELEGRAM_BOT_TOKEN
    thidua_config: Path | None = None  # THIDUA_CONFIG
    telegram_api_base_url: str | None = None  # TELEGRAM_API_BASE_URL
    telegram_webhook_secret: SecretStr | None = None  # TELEGRAM_WEBHOOK_SECRET
    zalo_bot_token: SecretStr | None = None  # ZALO_BOT_TOKEN
    zalo_webhook_secret: SecretStr | None = None  # ZALO_WEBHOOK_SECRET
    zalo_api_base_url: str | None = None  # ZALO_API_BASE_URL
    thidua_database_url: str | None = None  # THIDUA_DATABASE_URL: overrides [bot] database
    thidua_database_password: SecretStr | None = None  # THIDUA_DATABASE_PASSWORD (PostgreSQL)
    thidua_web_secret: SecretStr | None = None  # THIDUA_WEB_SECRET: signs dashboard sessions

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments (tests) and the environment; nothing else."""
        return (init_settings, env_settings)


# --------------------------------------------------------------------------- cross-checks


def _toml_path(loc: Iterable[str | int]) -> str:
    """("indicators", 2, "fields", 0, "max") -> "indicators[2].fields[0].max"."""
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += f".{item}" if out else str(item)
    return out


def _duplicates(items: Iterable[tuple[str, Any]], message: str) -> list[Problem]:
    """A problem at each (where, key) whose key was seen before, naming the first place."""
    first: dict[Any, str] = {}
    problems: list[Problem] = []
    for where, key in items:
        if key in first:
            problems.append((where, _say(message, key=key, code=repr(key), first=first[key])))
        else:
            first[key] = where
    return problems


def _check_field(where: str, fdef: FieldDef) -> list[Problem]:
    """Checks on one field that FieldDef cannot make alone: choices, aliases, defaults."""
    problems: list[Problem] = []
    problems += _duplicates(
        ((f"{where}.choices[{k}].code", c.code) for k, c in enumerate(fdef.choices)),
        "config.duplicate_choice",
    )
    owner: dict[str, str] = {}
    for choice in fdef.choices:
        owner.setdefault(fold(choice.code), choice.code)
        owner.setdefault(fold(choice.label.vi), choice.code)
    for k, choice in enumerate(fdef.choices):
        for a, alias in enumerate(choice.aliases):
            path = f"{where}.choices[{k}].aliases[{a}]"
            if alias != fold(alias):
                problems.append((path, _say("config.fold_aliases", folded=repr(fold(alias)))))
            other = owner.setdefault(fold(alias), choice.code)
            if other != choice.code:
                problems.append(
                    (path, _say("config.alias_taken", alias=repr(alias), other=repr(other)))
                )
    for h, hint in enumerate(fdef.hints):
        if hint != fold(hint):
            problems.append(
                (f"{where}.hints[{h}]", _say("config.fold_hints", folded=repr(fold(hint))))
            )
    numeric = fdef.type in _NUMERIC_TYPES
    if not numeric:
        for bound in ("min", "max", "soft_max"):
            if getattr(fdef, bound) is not None:
                problems.append((f"{where}.{bound}", _say(f"config.only_numbers_{bound}")))
    problems += _check_default(f"{where}.default", fdef)
    return problems


def _check_default(where: str, fdef: FieldDef) -> list[Problem]:
    """A default must be a value the field itself would accept."""
    value = fdef.default
    if value is None:
        return []
    if fdef.type in _NUMERIC_TYPES:
        if isinstance(value, str):
            return [(where, _say("config.not_number"))]
        if fdef.type == FieldType.INTEGER and value != int(value):
            return [(where, _say("config.not_integer"))]
        if fdef.min is not None and value < fdef.min:
            return [(where, _say("config.below_min", value=value, min=f"{fdef.min:g}"))]
        if fdef.max is not None and value > fdef.max:
            return [(where, _say("config.above_max", value=value, max=f"{fdef.max:g}"))]
        return []
    if fdef.type == FieldType.DATE:
        if isinstance(value, str) and value in _DATE_DEFAULTS:
            return []
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return [(where, _say("config.date_default"))]
        return []
    if fdef.type == FieldType.CHOICE:
        if fdef.choice(str(value)) is None:
            codes = ", ".join(c.code for c in fdef.choices)
            return [(where, _say("config.unknown_choice", value=repr(value), codes=codes))]
        return []
    if fdef.type == FieldType.TEXT:
        return [] if isinstance(value, str) else [(where, _say("config.must_be_text"))]
    return [(where, _say("config.no_default", type=fdef.type.value))]


def cross_check(
    units: Sequence[tuple[int, Unit]],
    clusters: Sequence[tuple[int, Cluster]],
    indicators: Sequence[tuple[int, IndicatorDef]],
    known_units: Set[str],
) -> list[Problem]:
    """The checks that span entries or sections, each problem with its TOML path.

    Entries come with their index in the file, so the paths stay right when
    only the entries that validated on their own are checked (see load_config).
    """
    problems: list[Problem] = []
    problems += _duplicates(
        ((f"units[{i}].code", u.code) for i, u in units),
        "config.duplicate_unit",
    )
    problems += _duplicates(
        ((f"indicators[{i}].code", ind.code) for i, ind in indicators),
        "config.duplicate_indicator",
    )
    problems += _duplicates(
        ((f"clusters[{i}].code", (c.code, c.year)) for i, c in clusters),
        "config.duplicate_cluster",
    )

    placed: dict[tuple[str, int], str] = {}  # (unit, year) -> where it is a member
    for i, cluster in clusters:
        roles: dict[ClusterRole, str] = {}
        seen_here: set[str] = set()
        for m, member in enumerate(cluster.members):
            where = f"clusters[{i}].members[{m}]"
            if member.unit not in known_units:
                problems.append((f"{where}.unit", _unknown("unit", member.unit, known_units)))
            elif member.unit in seen_here:
                problems.append(
                    (f"{where}.unit", _say("config.unit_twice", unit=repr(member.unit)))
                )
            elif (member.unit, cluster.year) in placed:
                first = placed[(member.unit, cluster.year)]
                problems.append(
                    (
                        f"{where}.unit",
                        _say(
                            "config.unit_placed",
                            unit=repr(member.unit),
                            year=cluster.year,
                            first=first,
                        ),
                    )
                )
            else:
                placed[(member.unit, cluster.year)] = where
            seen_here.add(member.unit)
            if member.role != ClusterRole.MEMBER:
                if member.role in roles:
                    problems.append(
                        (
                            f"{where}.role",
                            _say(
                                "config.role_twice",
                                cluster=repr(cluster.code),
                                role=member.role.value,
                                year=cluster.year,
                                first=roles[member.role],
                            ),
                        )
                    )
                else:
                    roles[member.role] = where

    keyword_owner: dict[str, str] = {}
    for i, ind in indicators:
        for k, keyword in enumerate(ind.keywords):
            where = f"indicators[{i}].keywords[{k}]"
            if keyword != fold(keyword):
                problems.append((where, _say("config.fold_keywords", folded=repr(fold(keyword)))))
            owner = keyword_owner.setdefault(fold(keyword), ind.code)
            if owner != ind.code:
                problems.append(
                    (where, _say("config.keyword_taken", keyword=repr(keyword), owner=repr(owner)))
                )
        for f, fdef in enumerate(ind.fields):
            problems += _check_field(f"indicators[{i}].fields[{f}]", fdef)
        problems += _check_rules(i, ind)
    return problems


def _check_rules(i: int, ind: IndicatorDef) -> list[Problem]:
    """Each rule names only this indicator's numeric fields (the parser checked the rest)."""
    problems: list[Problem] = []
    codes = [f.code for f in ind.fields]
    for r, rule in enumerate(ind.rules):
        where = f"indicators[{i}].rules[{r}].expr"
        for node in field_nodes(rule.tree):
            fdef = ind.field(node.code)
            if fdef is None:
                message = _say("config.rule_unknown_field", code=repr(node.code), at=node.pos + 1)
                suggestions = closest(node.code, codes)
                if suggestions:
                    message += ". " + _say(
                        "config.did_you_mean", suggestions=", ".join(suggestions)
                    )
                problems.append((where, message))
            elif fdef.type not in _NUMERIC_TYPES:
                problems.append(
                    (
                        where,
                        _say(
                            "config.rule_not_number",
                            code=repr(node.code),
                            type=fdef.type.value,
                            at=node.pos + 1,
                        ),
                    )
                )
    return problems


# --------------------------------------------------------------------------- pydantic errors


def _model_field_names(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    """Every field name in the model tree: loc items that are not one are union tags."""
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        stack: list[Any] = [info.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                names |= _model_field_names(tp, seen)
            origin = typing.get_origin(tp)
            if origin is not None or isinstance(tp, types.UnionType):
                stack.extend(typing.get_args(tp))
    return names


_FIELD_NAMES = _model_field_names(AppConfig, set())
_NAMED_MESSAGE = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$", re.DOTALL)
_FRIENDLY = {  # pydantic error type -> catalog key
    "missing": "config.missing",
    "extra_forbidden": "config.unknown_key",
    "tuple_type": "config.must_be_array",
    "list_type": "config.must_be_array",
    "model_type": "config.must_be_table",
    "model_attributes_type": "config.must_be_table",
}


#: pydantic error types -> catalog keys, for problem messages in a language other than English;
#: the error's ctx (ge, le, pattern, expected, ...) fills the placeholders.
_PYDANTIC = {
    "int_parsing": "config.not_integer",
    "int_type": "config.not_integer",
    "int_from_float": "config.not_integer",
    "float_parsing": "config.not_number",
    "float_type": "config.not_number",
    "bool_parsing": "config.not_bool",
    "bool_type": "config.not_bool",
    "string_type": "config.not_text",
    "greater_than_equal": "config.ge",
    "less_than_equal": "config.le",
    "greater_than": "config.gt",
    "less_than": "config.lt",
    "string_too_short": "config.text_too_short",
    "string_too_long": "config.text_too_long",
    "string_pattern_mismatch": "config.pattern",
    "literal_error": "config.one_of",
    "enum": "config.one_of",
    "too_long": "config.too_long",
    "finite_number": "config.finite",
}


def _shown(value: Any) -> str:
    """A bound as a TOML author reads it: 1, not 1.0; the decimal point is the file's."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@functools.cache
def _catalog() -> Catalog:
    return Catalog()


#: The language of problem messages while one file is loaded (load_config sets it), so
#: checks deep in validation need no language parameter threaded through pydantic.
_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("config_lang", default="en")


def _say(name: str, /, **params: Any) -> str:
    return _catalog()(_LANG.get(), name, **params)


def _rule_text(rule: ConfigRule, lang: str) -> str:
    """A rule the domain states (key and params), in `lang` from [config.rule]."""
    return _catalog()(lang, f"config.rule.{rule.key}", **rule.params)


def _said(problems: Iterable[tuple[str, ConfigRule]]) -> list[Problem]:
    """The domain's (path, rule) problems in the language of the file being loaded."""
    return [(path, _rule_text(rule, _LANG.get())) for path, rule in problems]


def _unknown(kind: str, code: str, known: Iterable[str]) -> str:
    """ "unknown unit 'dong_daa'. Did you mean: dong_da?" in the file's problem language."""
    message = _say(f"config.unknown_{kind}", code=repr(code))
    suggestions = closest(code, known)
    if suggestions:
        message += ". " + _say("config.did_you_mean", suggestions=", ".join(suggestions))
    return message


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation can hold: `tuple[Unit, ...]`, `Scope | str`, ... ."""
    found: list[type[BaseModel]] = []
    stack: list[Any] = [annotation]
    while stack:
        tp = stack.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            found.append(tp)
        elif typing.get_origin(tp) is not None or isinstance(tp, types.UnionType):
            stack.extend(typing.get_args(tp))
    return found


def keys_at(loc: Sequence[str | int]) -> list[str]:
    """The keys a TOML table at `loc` may hold (for "did you mean" on an unknown key).

    Union tags in pydantic's loc are not keys of any model and are stepped over.
    """
    models: list[type[BaseModel]] = [AppConfig]
    for item in loc:
        if isinstance(item, int):
            continue
        inner = [
            model
            for parent in models
            if (info := parent.model_fields.get(item)) is not None
            for model in _models_in(info.annotation)
        ]
        if inner:
            models = inner
    return sorted({name for model in models for name in model.model_fields})


def _problem_from_error(error: ErrorDetails, lang: str = "en") -> Problem:
    """One pydantic error as (toml_path, message), in the words a TOML author needs."""
    say = functools.partial(_catalog(), lang)
    kind = error["type"]
    loc = list(error["loc"])
    if kind != "extra_forbidden":
        loc = [item for item in loc if isinstance(item, int) or item in _FIELD_NAMES]
    ctx = error.get("ctx") or {}
    message = say(_FRIENDLY[kind]) if kind in _FRIENDLY else error["msg"]
    allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
    if lang != "en" and kind in _PYDANTIC:  # pydantic speaks English only
        params = {k: _shown(v) for k, v in ctx.items()}
        if allowed:  # "'half', 'quarter' or 'year'": the "or" is English
            params["expected"] = ", ".join(allowed)
        message = say(_PYDANTIC[kind], **params)
    if kind in ("literal_error", "enum") and isinstance(error.get("input"), str):
        suggestions = closest(error["input"], allowed)
        if suggestions:
            message += ". " + say("config.did_you_mean", suggestions=", ".join(suggestions))
    if kind == "extra_forbidden" and loc and isinstance(loc[-1], str):
        suggestions = closest(loc[-1], keys_at(loc[:-1]))
        if suggestions:
            message += ". " + say("config.did_you_mean", suggestions=", ".join(suggestions))
    if kind == "too_short" and isinstance(error.get("input"), list | tuple):
        count = ctx.get("min_length", 1)
        message = say("config.too_short", count=count)
    rule = ctx.get("error")
    if kind == "value_error" and isinstance(rule, ConfigRule):
        # A rule the domain model checks itself: its words come from the catalog.
        if rule.path:
            loc.append(rule.path)
        return _toml_path(loc), _rule_text(rule, lang)
    if kind in ("value_error", "assertion_error"):
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        named = _NAMED_MESSAGE.match(message)
        if named:
            loc.append(named.group(1))
            message = named.group(2)
    return _toml_path(loc), message


def _merge(problems: list[Problem]) -> list[Problem]:
    """One line per path: a union's member errors become 'should be a valid A, B or C'."""
    order: list[str] = []
    messages: dict[str, list[str]] = {}
    for path, message in problems:
        if path not in messages:
            order.append(path)
            messages[path] = []
        if message not in messages[path]:
            messages[path].append(message)
    merged: list[Problem] = []
    for path in order:
        msgs = messages[path]
        prefix = "Input should be "
        if len(msgs) > 1 and all(m.startswith(prefix) for m in msgs):
            parts = [m.removeprefix(prefix) for m in msgs]
            merged.append((path, prefix + ", ".join(parts[:-1]) + " or " + parts[-1]))
        else:
            merged.extend((path, m) for m in msgs)
    return merged


def problems_from_validation(exc: ValidationError, lang: str = "en") -> list[Problem]:
    """Convert a ValidationError to (toml_path, message) pairs, hiding knock-on errors.

    A tuple whose every entry failed also reports "should have at least 1 item
    after validation": noise when its entries' own errors are listed.
    """
    errors = exc.errors(include_url=False)
    locs = [tuple(e["loc"]) for e in errors]
    kept: list[ErrorDetails] = []
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue
        kept.append(error)
    return _merge([_problem_from_error(e, lang) for e in kept])


def _valid_entries(raw: Any, model: type[BaseModel]) -> list[tuple[int, Any]]:
    """The entries of a raw TOML array that validate on their own, with their index."""
    if not isinstance(raw, list):
        return []
    adapter: TypeAdapter[Any] = TypeAdapter(model)
    valid: list[tuple[int, Any]] = []
    for index, item in enumerate(raw):
        try:
            valid.append((index, adapter.validate_python(item)))
        except ValidationError:
            continue
    return valid


def _lenient_cross_check(data: Mapping[str, Any]) -> list[Problem]:
    """Cross-checks on a file that failed validation, using the entries that are valid."""
    raw_units = data.get("units")
    known = {
        u["code"]
        for u in (raw_units if isinstance(raw_units, list) else [])
        if isinstance(u, dict) and isinstance(u.get("code"), str)
    }
    raw_indicators = data.get("indicators")
    indicators = _valid_entries(raw_indicators, IndicatorDef)
    problems = cross_check(
        _valid_entries(raw_units, Unit),
        _valid_entries(data.get("clusters"), Cluster),
        indicators,
        known_units=known,
    )
    # An indicator that failed as a whole may still have fields worth checking.
    valid = {i for i, _ in indicators}
    for i, raw in enumerate(raw_indicators if isinstance(raw_indicators, list) else []):
        if i not in valid and isinstance(raw, dict):
            for f, fdef in _valid_entries(raw.get("fields"), FieldDef):
                problems += _check_field(f"indicators[{i}].fields[{f}]", fdef)
    return problems


# --------------------------------------------------------------------------- public API


def load_config(path: Path | str, lang: str = "en") -> AppConfig:
    """Read and validate a TOML config; raise ConfigError listing EVERY problem found.

    `lang` is the language of the problem messages (the CLI passes its own).
    """
    token = _LANG.set(lang)
    try:
        return _load_config(Path(path), lang)
    finally:
        _LANG.reset(token)


def _load_config(path: Path, lang: str) -> AppConfig:
    say = functools.partial(_catalog(), lang)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([("", say("config.cannot_read", path=path, reason=reason))]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("", say("config.syntax", error=exc))]) from None
    context = {"config_dir": path.resolve().parent}
    try:
        return AppConfig.model_validate(data, context=context)
    except ValidationError as exc:
        problems = problems_from_validation(exc, lang) + _lenient_cross_check(data)
        raise ConfigError(problems) from None


def _problem_line(problem: Problem) -> str:
    path, message = problem
    return f"{path}: {message}" if path else message


def format_problems(problems: Iterable[Problem]) -> str:
    """One problem per line, "path: message" (just the message for the whole file)."""
    return "\n".join(_problem_line(p) for p in problems)


def check_config(path: Path | str, lang: str = "en") -> tuple[list[str], str]:
    """For `thidua check-config FILE`: (problem lines, one-line summary)."""
    say = functools.partial(_catalog(), lang)
    try:
        config = load_config(path, lang)
    except ConfigError as exc:
        lines = [_problem_line(p) for p in exc.problems]
        count = len(exc.problems)
        key = "config.one_problem" if count == 1 else "config.problems"
        return lines, say(key, count=count, path=path)
    notes = "".join("\n" + say("config.note", note=n) for n in config.notes(lang))
    return [], config.summary(lang) + notes
