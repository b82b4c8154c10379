"""/standings as cluster heads read it on a phone (issue 8): real sizes, ties, "—",
pro-rated targets in whole units, half-year standings from yearly targets, and one
reporting rate in /standings and /completeness."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import AsyncIterator
from functools import partial
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import Catalog
from domain.models import LocalText, Role
from domain.numbers import format_integer
from domain.scoring import CriterionDef, Method, Phrase, Target
from domain.text import wrap_atoms
from handlers.standings import LINE, why_lines
from storage import reports as reports_repo
from storage import targets as targets_repo
from tests.harness import FakeClock, Harness, Sent, User

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = Catalog()
_keys = count(1)


async def make(tmp_path, when: dt.datetime) -> Harness:
    h = await Harness.create(tmp_path, FakeClock(when))
    async with h.db.transaction() as tx:
        await targets_repo.sync_from_config(
            tx, [t.target() for t in h.config.targets], h.clock.now()
        )
    return h


@pytest.fixture
async def h(tmp_path) -> AsyncIterator[Harness]:
    harness = await make(tmp_path, dt.datetime(2025, 12, 20, 9, 0, tzinfo=VN))
    yield harness
    await harness.close()


async def report(
    h: Harness, unit: str, indicator: str, values: dict[str, object], on: dt.date, sent: dt.datetime
) -> None:
    """A report as the bot stores it: what happened on `on`, submitted at `sent`."""
    person_id = await h.scalar("SELECT id FROM people ORDER BY id LIMIT 1")
    assert isinstance(person_id, int)
    async with h.db.transaction() as tx:
        await reports_repo.create(
            tx,
            unit_code=unit,
            person_id=person_id,
            indicator=indicator,
            values=values,
            occurred_on=on,
            photos=(),
            source_key=f"test:{next(_keys)}",
            now=sent,
        )


async def set_target(h: Harness, unit: str, measure: str, period: str, value: float) -> None:
    async with h.db.transaction() as tx:
        await targets_repo.set_one(tx, Target(unit, measure, period, value), h.clock.now())


async def why(user: User, standings: list[Sent], unit_name: str) -> str:
    button = next(b for b in standings[0].buttons if unit_name in b.label)
    return (await user.press_data(button.data, standings[0].message_id))[0].text


def entry_of(standings: str, name: str) -> str:
    """One unit's entry in the ranking: its numbered line and the indented ones after it."""
    lines = standings.splitlines()
    start = next(n for n, line in enumerate(lines) if re.match(r"=?\d+\. ", line) and name in line)
    end = start + 1
    while end < len(lines) and lines[end].startswith("   "):
        end += 1
    return " ".join(lines[start:end])


def phone_lines(text: str) -> list[str]:
    """Every line but the advisory footer (a sentence the phone wraps itself)."""
    return [line for line in text.splitlines() if not line.startswith("ℹ️")]


# ---- real sizes ------------------------------------------------------------------------------


async def test_real_sizes_are_never_cut_and_labels_never_cut_mid_word(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    await set_target(h, "long_bien", "new_members", "2025", 1100)
    await set_target(h, "hoan_kiem", "new_members", "2025", 6000)
    await set_target(h, "dong_da", "new_unions", "2025", 492)
    day, sent = dt.date(2025, 12, 1), dt.datetime(2025, 12, 1, 10, tzinfo=VN)
    await report(h, "long_bien", "new_members", {"people": 1158}, day, sent)
    await report(h, "hoan_kiem", "new_members", {"people": 6257}, day, sent)
    await report(h, "dong_da", "new_unions", {"unions": 855}, day, sent)
    await report(h, "dong_da", "cba", {"agreements": 64}, day, sent)

    standings = await lb.send("/standings 2025")
    text = standings[0].text
    assert all(len(line) <= LINE for line in phone_lines(text)), text
    assert "…" not in text
    # one compact entry per unit: the per-criterion figures are behind "Vì sao?"
    assert "1.158" not in text and len(standings[0].buttons) == 6

    expected = {
        "Long Biên": "1.158/1.100 = 105,3%",
        "Hoàn Kiếm": "6.257/6.000 = 104,3%",
        "Đống Đa": "855/492 = 173,8%",
    }
    for unit, figures in expected.items():
        shown = await why(lb, standings, unit)
        lines = phone_lines(shown)
        assert all(len(line) <= LINE for line in lines), shown
        assert any(figures in line for line in lines), shown  # on one line, never cut
        assert "…" not in shown
        # "Thỏa ước lao động tập thể: …" does not fit: the configured short label does
        assert any(line.startswith("• TƯLĐTT: ") for line in lines), shown
        assert not re.search(r"\w…", shown)


@settings(max_examples=150, deadline=None)
@given(
    label=st.lists(
        st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyỳ", min_size=1, max_size=12),
        min_size=1,
        max_size=8,
    ).map(" ".join),
    done=st.integers(0, 10**12),
    target=st.integers(1, 10**12),
    short=st.booleans(),
)
def test_why_lines_fit_a_phone_for_any_label_and_number(
    label: str, done: int, target: int, short: bool
) -> None:
    """Any label, any number size: lines ≤ 40 characters, words and numbers whole."""
    criterion = CriterionDef(
        code="c",
        label=LocalText(vi=label),
        short_label=LocalText(vi=label[:16].strip() or "x") if short else None,
        measure="m",
        weight=100,
        method=Method.TARGET,
    )
    numbers = {"done": format_integer(done, "vi"), "target": format_integer(target, "vi")}
    phrase = Phrase(
        "why.target",
        {**numbers, "ratio": "99,9%", "points": "100,0", "max": "100"},
        label=criterion.label.vi,
        short_label=criterion.short("vi"),
    )
    lines = why_lines(partial(CATALOG, "vi"), [phrase])
    tokens = " ".join(lines).split()
    for number in numbers.values():
        assert any(number in token for token in tokens)  # never split
    for line in lines:
        assert len(line) <= LINE or " " not in line.strip()  # only an unbreakable word is longer
    shown = [t.rstrip(":") for t in tokens]
    labels = (criterion.label.vi, criterion.short("vi"))
    assert any(shown[1 : 1 + len(x.split())] == x.split() for x in labels)  # whole words


def test_wrap_keeps_atoms_whole() -> None:
    lines = wrap_atoms(["1. LĐLĐ quận Hai Bà Trưng", "100,0 điểm", "xuất sắc", "📥 81,8%"], 40)
    assert lines == ["1. LĐLĐ quận Hai Bà Trưng · 100,0 điểm", "   xuất sắc · 📥 81,8%"]


# ---- ties, "—", pro-rating ---------------------------------------------------------------------


async def test_tie_rule_only_when_units_are_tied(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    tied = (await lb.send("/standings 2025"))[0].text  # nobody reported: all equal
    assert "=1. " in tied and "Bằng điểm:" in tied
    units = ["hoan_kiem", "ba_dinh", "dong_da", "long_bien", "hai_ba_trung", "hoang_mai"]
    for n, unit in enumerate(units, start=1):  # 1..6 events: six different scores
        for _ in range(n):
            await report(
                h,
                unit,
                "events",
                {"count": 1, "participants": 10},
                dt.date(2025, 11, 5),
                dt.datetime(2025, 11, 5, 9, tzinfo=VN),
            )
    ranked = (await lb.send("/standings 2025"))[0].text
    assert "Bằng điểm:" not in ranked and "=" not in ranked.split("\n\n")[1]
    assert ranked.split("\n\n")[1].startswith("1. LĐLĐ quận Hoàng Mai")


async def test_missing_target_shows_dash_explained_once(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    await h.scalar("DELETE FROM targets WHERE unit_code = 'long_bien' RETURNING 1")
    await report(
        h,
        "long_bien",
        "new_unions",
        {"unions": 49},
        dt.date(2025, 12, 1),
        dt.datetime(2025, 12, 1, 9, tzinfo=VN),
    )
    shown = await why(lb, await lb.send("/standings 2025"), "Long Biên")
    assert "• Thành lập CĐCS: 49/— → không tính" in shown
    assert shown.count("— : chưa có chỉ tiêu.") == 1
    assert shown.count("chưa có chỉ tiêu") == 1  # not repeated on every line


async def test_pro_rated_need_in_whole_units(h: Harness) -> None:
    lb = await h.person(1, "long_bien")
    await set_target(h, "long_bien", "new_members", "2025", 1100)
    await report(
        h,
        "long_bien",
        "new_members",
        {"people": 1000},
        dt.date(2025, 12, 1),
        dt.datetime(2025, 12, 1, 9, tzinfo=VN),
    )
    shown = await why(lb, await lb.send("/standings 2025"), "Long Biên")
    needed = math.ceil(1100 * 354 / 365)  # 20/12: day 354 of 365 → 1.066,85 → 1.067
    assert f"chậm tiến độ: cần {format_integer(needed, 'vi')} đến hôm nay" in shown
    assert "1.066," not in shown


# ---- half-year standings from yearly targets -------------------------------------------------


async def test_half_year_uses_the_years_targets_pro_rated_and_says_so(tmp_path) -> None:
    h = await make(tmp_path, dt.datetime(2026, 7, 10, 9, 0, tzinfo=VN))
    try:
        lb = await h.person(1, "long_bien")
        await report(
            h,
            "long_bien",
            "new_unions",
            {"unions": 12},
            dt.date(2026, 5, 4),
            dt.datetime(2026, 5, 4, 9, tzinfo=VN),
        )
        standings = await lb.send("/standings 6 tháng đầu năm 2026")
        text = standings[0].text
        assert "\n6 tháng đầu năm 2026\n" in text
        assert "Chưa đặt chỉ tiêu riêng cho 6 tháng đầu năm 2026: dùng 1/2 chỉ tiêu năm." in (
            " ".join(text.splitlines())
        )
        shown = await why(lb, standings, "Long Biên")
        # the 2026 target is 20 new unions: 10 for the first six months, not "—"
        assert "• Thành lập CĐCS: 12/10 = 120,0%" in shown
        assert "tính theo tỷ lệ từ chỉ tiêu năm 20" in " ".join(shown.split())
        assert "/—" not in shown
        year = (await lb.send("/standings 2026"))[0].text
        assert "chỉ tiêu năm" not in year  # the year has its own targets: nothing to say
    finally:
        await h.close()


# ---- one reporting rate ------------------------------------------------------------------------


async def test_same_rate_in_standings_and_completeness(h: Harness) -> None:
    """2025 for Long Biên at 20/12: monthly reports January–October are due (November's
    on 20/12 at 23:59, not yet), and the first-half collective agreements report: 11.
    Sent: January–August on time, September late, October and the half-year one
    missing → 9/11 = 81,8% sent, 8/11 = 72,7% on time, in both places."""
    head = await h.person(3, "dong_da", Role.CLUSTER_HEAD)
    for month in range(1, 10):
        on = dt.date(2025, month, 10)
        sent = dt.datetime(2025, month, 12, 9, tzinfo=VN)
        if month == 9:
            sent = dt.datetime(2025, 10, 28, 9, tzinfo=VN)  # due 20/10, grace 2 days: late
        await report(h, "long_bien", "gifts", {"count": 5, "value_per_gift": 500000}, on, sent)

    standings = (await head.send("/standings 2025"))[0].text
    completeness = (await head.send("/completeness"))[0].text
    assert "📥 81,8%" in entry_of(standings, "Long Biên")
    assert "Tất cả báo cáo:" in completeness
    assert "• LĐLĐ quận Long Biên: 9/11 = 81,8% · đúng hạn 72,7%" in completeness
    assert "72,7%" not in standings.replace("81,8%", "")  # one rate, one meaning
    assert "• LĐLĐ quận Long Biên: 9/10 = 90,0% · đúng hạn 80,0%" in completeness  # monthly


async def test_a_unit_with_nothing_due_yet_is_not_shown_at_zero(tmp_path) -> None:
    h = await make(tmp_path, dt.datetime(2026, 1, 15, 9, 0, tzinfo=VN))  # January's due 20/2
    try:
        head = await h.person(3, "hoan_kiem", Role.CLUSTER_HEAD)
        standings = (await head.send("/standings 2026"))[0].text
        completeness = (await head.send("/completeness"))[0].text
        assert "📥 chưa đến hạn" in standings and "0,0%" not in standings.split("\n\n")[1]
        assert "LĐLĐ quận Hoàn Kiếm: chưa có báo cáo nào đến hạn" in completeness
        assert "0,0%" not in completeness
    finally:
        await h.close()
