"""`thidua demo`: the bot in a terminal, with a year of sample reports and a code for every role.

A newcomer should be able to try what each person does — an officer reports,
a chair follows the unit, the cluster head asks for standings, an admin sets
targets — without a messenger account. The sample figures are Cluster 1's
(Hà Nội), generated from the clock's year with a fixed seed, so a demo on a
given day always shows the same numbers. They are written through the same
storage functions as real reports. Charts and workbooks the bot sends are
saved into a folder that outlives the demo, each path printed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.config import AppConfig, Secrets
from domain.models import Cluster, ClusterRole, FieldType, IndicatorDef, Language, Role
from runtime.context import Clock
from storage import people, reports
from usecases.access import OPERATOR
from usecases.invites import IssuedInvite, create_invite

CLUSTER = "cum1"
OFFICER_UNIT = "hoan_kiem"
CHAIR_UNIT = "ba_dinh"

# Grassroots unions founded in a whole year: Long Biên 49 and Hoàn Kiếm 31 are the
# reported 2025 figures (domain.md); the others are of the same order.
_NEW_UNIONS = {
    "hoan_kiem": 31,
    "ba_dinh": 22,
    "dong_da": 27,
    "long_bien": 49,
    "hai_ba_trung": 24,
    "hoang_mai": 19,
}
_REPORTERS = (
    "Nguyễn Thị Hoa",
    "Trần Văn Minh",
    "Lê Thị Thu Hà",
    "Phạm Quốc Hùng",
    "Hoàng Thị Lan",
    "Vũ Đức Thắng",
    "Đặng Thị Mai",
    "Bùi Văn Nam",
)
_GIFT_OCCASIONS = (  # (choice code, month, day, recipients)
    ("tet", 1, 22, "đoàn viên có hoàn cảnh khó khăn"),
    ("women_day", 3, 8, "nữ đoàn viên"),
    ("workers_month", 5, 12, "công nhân lao động"),
    ("children_day", 6, 1, "con đoàn viên"),
    ("mid_autumn", 9, 20, "con công nhân lao động"),
    ("vn_women_day", 10, 20, "nữ đoàn viên"),
)
_EVENTS = (  # (choice code, month, name)
    ("conference", 1, "Hội nghị cán bộ công chức đầu năm"),
    ("culture", 3, "Liên hoan văn nghệ chào mừng 8/3"),
    ("training", 4, "Tập huấn nghiệp vụ cho cán bộ công đoàn cơ sở"),
    ("sport", 5, "Giải bóng đá công nhân Tháng Công nhân"),
    ("culture", 7, "Hội diễn văn nghệ quần chúng"),
    ("training", 9, "Tập huấn Bộ luật Lao động cho công nhân"),
    ("sport", 11, "Giải cầu lông công nhân viên chức"),
)
_PARTNERS = ("Siêu thị Co.opmart", "Ngân hàng Chính sách xã hội", "Bệnh viện Thanh Nhàn")
_INITIATIVES = (
    "Số hóa hồ sơ đoàn viên",
    "Sổ tay công đoàn điện tử",
    "Quỹ tương trợ công nhân nhà trọ",
)


@dataclass(frozen=True, slots=True)
class SampleReport:
    unit: str
    indicator: str
    occurred_on: dt.date
    values: dict[str, Any]


def demo_year(config: AppConfig, today: dt.date) -> int:
    """The clock's year if Cluster 1 is configured for it, else the nearest configured year."""
    years = [c.year for c in config.clusters if c.code == CLUSTER]
    if not years:
        return today.year
    past = [y for y in years if y <= today.year]
    return max(past) if past else min(years)


def demo_cluster(config: AppConfig, year: int) -> Cluster | None:
    return next((c for c in config.clusters if c.code == CLUSTER and c.year == year), None)


def sample_reports(
    year: int, today: dt.date, indicators: Iterable[IndicatorDef], units: Iterable[str]
) -> list[SampleReport]:
    """A year of Cluster 1 reports up to `today`, the same for the same year every time.

    Only indicators and fields the configuration defines are filled, and every
    number stays within its field's bounds.
    """
    by_code = {i.code: i for i in indicators}
    rng = random.Random(f"thidua-demo-{year}")
    out: list[SampleReport] = []

    def add(unit: str, code: str, day: dt.date, values: dict[str, Any]) -> None:
        indicator = by_code.get(code)
        if indicator is None or day > today or day.year != year:
            return
        kept = _fit(indicator, values, day)
        if kept is not None:
            out.append(SampleReport(unit, code, day, kept))

    for unit in units:
        size = rng.uniform(0.8, 1.25)  # some districts are bigger than others
        unions = _NEW_UNIONS.get(unit, round(25 * size))
        for month in range(1, 13):
            day = dt.date(year, month, rng.randint(5, 25))
            founded = round(unions / 12 * rng.uniform(0.4, 1.6))
            if founded:
                add(unit, "new_unions", day, {"unions": founded, "members": founded * 23})
            add(
                unit,
                "new_members",
                day + dt.timedelta(days=2),
                {"people": round(95 * size * rng.uniform(0.6, 1.4))},
            )
            if month % 3 == 0:
                add(
                    unit,
                    "support",
                    dt.date(year, month, 15),
                    {"visits": rng.randint(12, 60), "amount": rng.choice((5, 8, 12)) * 1_000_000},
                )
        for occasion, month, dday, recipients in _GIFT_OCCASIONS:
            count = round(rng.choice((20, 50, 120, 200, 400)) * size)
            add(
                unit,
                "gifts",
                dt.date(year, month, dday),
                {
                    "count": count,
                    "value_per_gift": rng.choice((300_000, 500_000, 500_000, 1_000_000)),
                    "recipients": recipients,
                    "occasion": occasion,
                },
            )
        for kind, month, name in _EVENTS:
            if rng.random() < 0.8:
                add(
                    unit,
                    "events",
                    dt.date(year, month, rng.randint(3, 27)),
                    {"kind": kind, "count": 1, "participants": rng.randint(60, 600), "name": name},
                )
        for month in (4, 10):
            add(
                unit,
                "cba",
                dt.date(year, month, 28),
                {"agreements": rng.randint(3, 15), "enterprise_rate": rng.randint(520, 750) / 10},
            )
        add(
            unit,
            "welfare",
            dt.date(year, 6, 18),
            {"agreements": rng.randint(1, 3), "partner": rng.choice(_PARTNERS)},
        )
        add(
            unit,
            "initiatives",
            dt.date(year, 8, 8),
            {"count": rng.randint(1, 3), "title": rng.choice(_INITIATIVES)},
        )
    out.sort(key=lambda r: (r.occurred_on, r.unit, r.indicator))
    return out


def _fit(indicator: IndicatorDef, values: dict[str, Any], day: dt.date) -> dict[str, Any] | None:
    """The values the indicator's fields accept, with its date field; None if a required one
    is missing or out of bounds (a federation's own indicators are left alone)."""
    kept: dict[str, Any] = {}
    for field in indicator.fields:
        if field.type == FieldType.DATE:
            kept[field.code] = day.isoformat()
            continue
        value = values.get(field.code)
        if value is None or field.type == FieldType.PHOTO:
            if field.required and field.type != FieldType.PHOTO:
                return None
            continue
        if isinstance(value, int | float) and (
            (field.min is not None and value < field.min)
            or (field.max is not None and value > field.max)
        ):
            return None
        if field.type == FieldType.CHOICE and field.choice(str(value)) is None:
            return None
        kept[field.code] = value
    return kept


async def seed(app: App, year: int) -> int:
    """Write the sample reports (one reporter per unit); returns how many were written."""
    cluster = demo_cluster(app.config, year)
    if cluster is None:
        return 0
    now = app.clock.now()
    today = now.astimezone(app.config.federation.tz).date()
    units = [m.unit for m in cluster.members]
    planned = sample_reports(year, today, app.config.indicators, units)
    written = 0
    # Inline (no thread hop per statement): a thousand small writes before the first prompt.
    async with app.db.transaction(inline=True) as tx:
        reporters: dict[str, int] = {}
        for n, unit in enumerate(units):
            person = await people.create(
                tx,
                name=_REPORTERS[n % len(_REPORTERS)],
                unit_code=unit,
                role=Role.OFFICER,
                language=Language.VI,
                channel="demo-seed",
                platform_id=f"{year}-{unit}",
                now=now,
            )
            await people.deactivate(tx, person.id)  # sample people get no reminders
            reporters[unit] = person.id
        for n, sample in enumerate(planned, 1):
            at = dt.datetime.combine(
                sample.occurred_on, dt.time(17, 30), app.config.federation.tz
            ).astimezone(dt.UTC)
            _, created = await reports.create(
                tx,
                unit_code=sample.unit,
                person_id=reporters[sample.unit],
                indicator=sample.indicator,
                values=sample.values,
                occurred_on=sample.occurred_on,
                photos=(),
                source_key=f"demo-seed:{year}:{n}",
                now=min(at, now),
            )
            written += created
    return written


@dataclass(frozen=True, slots=True)
class DemoInvite:
    role: Role
    unit_code: str
    unit_name: str
    issued: IssuedInvite


async def invites(app: App, year: int) -> list[DemoInvite]:
    """One code per role: officer and chair of two units, the cluster head, an admin."""
    cluster = demo_cluster(app.config, year)
    head = (
        next((m.unit for m in cluster.members if m.role == ClusterRole.HEAD), None)
        if cluster
        else None
    )
    head = head or OFFICER_UNIT
    wanted = [
        (Role.OFFICER, OFFICER_UNIT),
        (Role.CHAIR, CHAIR_UNIT),
        (Role.CLUSTER_HEAD, head),
        (Role.ADMIN, head),
    ]
    out: list[DemoInvite] = []
    async with app.db.transaction(inline=True) as tx:
        for role, unit_code in wanted:
            unit = app.config.unit(unit_code)
            if unit is None:
                unit_code = app.config.units[0].code
                unit = app.config.units[0]
            issued = await create_invite(
                tx,
                OPERATOR,
                unit_code=unit_code,
                role=role,
                uses=5,
                expires_in=None,
                now=app.clock.now(),
            )
            out.append(DemoInvite(role, unit_code, unit.name, issued))
    return out


async def run_demo(
    config: AppConfig,
    secrets: Secrets,
    *,
    clock: Clock,
    database: str,
    files: Path,
    say: Callable[..., str],
    write: Callable[[str], None] = print,
    lines: Iterator[str] | None = None,
) -> None:
    """Seed, print the codes and the files folder, then chat until end of input."""
    await asyncio.to_thread(files.mkdir, parents=True, exist_ok=True)
    app = App(config, secrets, clock=clock, database=database)
    console = ConsoleChannel(
        clock,
        write=write,
        files=files,
        saved=lambda path, kb: say("demo.saved", path=path, kb=kb),
        db=app.db,
    )
    app.add_channel(console)
    await app.start()
    try:
        today = clock.now().astimezone(config.federation.tz).date()
        year = demo_year(config, today)
        count = await seed(app, year)
        cluster = demo_cluster(config, year)
        codes = await invites(app, year)
        write("=" * 64)
        write(say("demo.title"))
        if cluster is not None:
            write(say("demo.seeded", count=count, cluster=cluster.name, year=year))
        for invite in codes:
            write(
                say(
                    f"demo.invite_{invite.role.value}",
                    code=invite.issued.shown,
                    unit=invite.unit_name,
                )
            )
        write(say("demo.try"))
        write(say("demo.switch"))
        write(say("demo.files", path=files))
        write(say("demo.keys"))
        write("=" * 64)
        while True:
            if lines is not None:
                line = next(lines, None)
                if line is None:
                    break
                write(f"> {line}")
            else:
                try:
                    line = await asyncio.to_thread(input, "> ")
                except EOFError:
                    break
            if not line.strip():
                continue
            command, _, rest = line.strip().partition(" ")
            if command.lower() == "/as":
                name = rest.strip()
                if not name:
                    write(say("demo.as_usage"))
                else:
                    console.switch(name)
                    write(say("demo.as_done", name=name))
                continue
            await app.ingress.submit(console.to_inbound(line))
            await app.senders[console.name].wait_idle()
    finally:
        await app.stop()
        write(say("demo.files_kept", path=files))
