"""The full authorization matrix, through the real dispatcher and a real SQLite file.

Every command of the router's table and every kind of button, sent by seven people
(unregistered, officer, chair, an officer of another unit, the head of this cluster,
the head of another cluster, an admin) in a private chat and in a group linked to
"this" cluster. The expected outcome of each cell is written out below, by hand,
not computed from the policy. Refused cells must leak nothing: no document, no
name of a unit that is not the sender's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from bot.app import make_router
from domain.messages import ChatType
from domain.models import Role
from domain.periods import Period, PeriodKind
from domain.signing import sign
from handlers.finalize import (
    Act,
    AskUnlockButton,
    DecideButton,
    FinalizeButton,
    ReasonButton,
    Verdict,
)
from handlers.myreports import MyReportsButton
from handlers.onboarding import MenuButton
from handlers.reminders import PREFIX as REMINDER_PREFIX
from handlers.reminders import ReminderAction, pack
from handlers.report import Action as FormAction
from handlers.report import ReportButton
from handlers.review import AcceptAllButton, FixButton, Later, ReviewButton
from handlers.review import Act as ReviewAct
from handlers.review import ReasonButton as ReviewReason
from handlers.review import ReminderButton as ReviewReminder
from handlers.standings import PREFIX as STANDINGS_PREFIX
from storage import keys
from storage import people as people_repo
from storage import targets as targets_repo
from storage import unlocks as unlocks_repo
from tests.harness import FakeClock, Harness, Sent, User

VN = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP = "-100111"  # linked to cum1, "this" cluster

# In 2026 (config.example.toml): cum1 = hoan_kiem (deputy), ba_dinh, dong_da, long_bien
# (head), hai_ba_trung, hoang_mai; cum2 = thanh_xuan, tay_ho (head), nam_tu_liem,
# bac_tu_liem, cau_giay, ha_dong (deputy).
ACTORS: dict[str, tuple[str, Role] | None] = {
    "U": None,  # unregistered
    "O": ("ba_dinh", Role.OFFICER),
    "C": ("ba_dinh", Role.CHAIR),
    "X": ("dong_da", Role.OFFICER),  # officer of another unit (same cluster)
    "H": ("long_bien", Role.CLUSTER_HEAD),  # head of this cluster this year
    "Y": ("tay_ho", Role.CLUSTER_HEAD),  # head of another cluster this year
    "A": ("hai_ba_trung", Role.ADMIN),
}
ORDER = "UOCXHYA"

# Command cases: (command, args). Every command of the router has at least one.
CASES: dict[str, tuple[str, str]] = {
    "start": ("start", ""),
    "help": ("help", ""),
    "lang": ("lang", "vi"),
    "link": ("link", ""),
    "channel": ("channel", "telegram"),
    "report": ("report", ""),
    "quick": ("quick", "tặng 20 suất quà"),
    "cancel": ("cancel", ""),
    "back": ("back", ""),
    "myreports": ("myreports", ""),
    "retract": ("retract", "1"),  # report #1 is O's
    "edit": ("edit", "1"),
    "photos": ("photos", "1"),
    "deadlines": ("deadlines", ""),
    "missing": ("missing", ""),
    "completeness": ("completeness", ""),
    "mute": ("mute", ""),
    "unmute": ("unmute", ""),
    "standings": ("standings", ""),
    "standings all": ("standings", "all"),
    "unit": ("unit", ""),
    "unit other cluster": ("unit", "tay_ho"),
    "linkgroup": ("linkgroup", ""),
    "export": ("export", ""),
    "target": ("target", "long_bien new_unions 2026 25"),
    "people": ("people", ""),
    "menu": ("menu", ""),
    "review": ("review", ""),
    "subscribe": ("subscribe", ""),
    "unsubscribe": ("unsubscribe", ""),
    "web": ("web", ""),
    "finalize": ("finalize", "2026"),
    "reopen": ("reopen", "2026 cum1 số liệu sai"),
    "unlock": ("unlock", "2025-H2"),
}

# + answered, - refused, p pointed to the private chat, . ignored (no reply).
#                          private   group
#                          UOCXHYA   UOCXHYA
EXPECTED_COMMANDS: dict[str, tuple[str, str]] = {
    "start": ("+++++++", "ppppppp"),
    "help": ("+++++++", "+++++++"),
    "lang": ("+++++++", "ppppppp"),
    "link": ("-++++++", "ppppppp"),
    "channel": ("-++++++", "ppppppp"),
    "report": ("-++++++", "ppppppp"),
    "quick": ("-++++++", "ppppppp"),
    "cancel": ("+++++++", "ppppppp"),
    "back": ("-++++++", "ppppppp"),
    "myreports": ("-++++++", "ppppppp"),
    "retract": ("-+-----", "ppppppp"),
    "edit": ("-+-----", "ppppppp"),
    "photos": ("-++-+-+", "ppppppp"),
    "deadlines": ("-++++++", "ppppppp"),
    "missing": ("----+++", "----+-+"),
    "completeness": ("----+++", "----+-+"),
    "mute": ("-++++++", "ppppppp"),
    "unmute": ("-++++++", "ppppppp"),
    "standings": ("-++++++", "+++++++"),
    "standings all": ("------+", "-------"),
    "unit": ("-++++++", "ppppppp"),
    "unit other cluster": ("-----++", "ppppppp"),
    "linkgroup": ("----+++", "----+-+"),
    "export": ("----+++", "----+-+"),
    "target": ("------+", "ppppppp"),
    "people": ("------+", "ppppppp"),
    "menu": ("+++++++", "ppppppp"),
    "review": ("----+++", "ppppppp"),  # review is off by default: heads are told so
    "subscribe": ("-++++++", "ppppppp"),
    "unsubscribe": ("-++++++", "ppppppp"),
    "web": ("----+++", "ppppppp"),  # the dashboard is off here: "+" is told so
    "finalize": ("----+++", "ppppppp"),  # Y: its own cluster, cum2
    "reopen": ("------+", "ppppppp"),  # A: answered "not finalised"
    "unlock": ("-++++++", "ppppppp"),
}

# Buttons, by the prefix of their data (the router's callbacks) and a form's own buttons.
EXPECTED_BUTTONS: dict[str, tuple[str, str]] = {
    "reminder issued to this chat": ("-++++++", "......."),
    "reminder issued to O's chat": ("-+-----", "......."),
    "reminder with its period edited": ("-------", "......."),
    "why? of this cluster": ("-++++-+", "+++++++"),
    "why? of another cluster": ("-----++", "-------"),
    "a form button of nobody's form": ("-------", "......."),
    # A main-menu choice runs its command under the command's own row.
    "menu: standings": ("-++++++", "......."),
    "a finalize button of nobody's flow": ("-------", "......."),
    "an unlock reason of nobody's flow": ("-------", "......."),
    "ask to unlock 2025-H2": ("-++++++", "......."),
    "grant O's unlock request": ("----+-+", "......."),
    "review: accept report #1": ("----+++", "......."),
    "review: accept all of ba_dinh": ("----+++", "......."),
    "review: a reason of nobody's flow": ("-------", "......."),
    "review: fix O's report #1": ("-+-----", "......."),
    "review: snooze a reviewer's reminder": ("----+++", "......."),
}

REFUSALS = (
    "review.reviewers_only",
    "err.not_registered",
    "err.cluster_heads_only",
    "err.not_your_report",
    "err.stale_button",
    "standings.admins_only",
    "standings.other_cluster",
    "standings.linkgroup_heads_only",
    "access.denied",
    "access.not_your_cluster",
    "access.group_other_cluster",
    "access.button_not_issued",
    "reminder.not_your_obligation",
    "people.you_are_deactivated",
    "web.no_pages",
    "finalize.heads_only",
)


@dataclass
class World:
    h: Harness
    private: dict[str, User]
    group: dict[str, User]


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    h = await Harness.create(tmp_path, FakeClock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN)))
    private: dict[str, User] = {}
    group: dict[str, User] = {}
    for n, (name, who) in enumerate(ACTORS.items(), start=1):
        user = h.user(n, f"Người {name}")
        if who is not None:
            replies = await user.register(await h.invite(*who))
            assert "Chào mừng" in replies[0].text
        private[name] = user
        in_group = h.user(n, f"Người {name}")
        in_group.chat_id, in_group.chat_type = GROUP, ChatType.GROUP
        group[name] = in_group
    await private["O"].send("tặng 20 suất quà nhân dịp tết ngày 1/3")
    assert "Đã lưu báo cáo #1" in (await private["O"].press("Lưu"))[0].text
    assert "Đã gắn nhóm" in (await group["H"].send("/linkgroup"))[0].text
    yield World(h, private, group)
    await h.close()


def _refusal_prefixes(h: Harness) -> list[str]:
    return [h.catalog("vi", key).split("{")[0] for key in REFUSALS]


def classify(h: Harness, replies: list[Sent]) -> str:
    if not replies:
        return "."
    first = replies[0].text
    if first.startswith(h.catalog("vi", "group.private_only").split("{")[0]):
        return "p"
    if len(replies) == 1 and any(first.startswith(p) for p in _refusal_prefixes(h)):
        return "-"
    return "+"


def leaks(h: Harness, actor: str, replies: list[Sent]) -> list[str]:
    """What a refused cell must not show: documents, or any unit but the sender's own."""
    who = ACTORS[actor]
    own = h.config.unit(who[0]).name if who else None  # type: ignore[union-attr]
    found = [f"document {r.reply.attachment.filename}" for r in replies if r.reply.attachment]
    for unit in h.config.units:
        if unit.name != own and any(unit.name in r.text for r in replies):
            found.append(unit.name)
    return found


async def _reset(w: World) -> None:
    """Each cell starts from the same state: no conversation, the group linked to cum1."""
    async with w.h.db.transaction() as tx:
        await tx.execute("DELETE FROM conversations")
        await tx.execute("DELETE FROM snoozes")
        await tx.execute("DELETE FROM period_unlocks")
        o = w.private["O"]
        officer = await people_repo.by_identity(tx, o.channel, o.id)
        assert officer is not None
        await unlocks_repo.ask(tx, "ba_dinh", "2025-H2", officer.id, "bổ sung", w.h.clock.now())
        await targets_repo.link_group(tx, "test", GROUP, "cum1", 1, w.h.clock.now())


async def _button_data(w: World, case: str, user: User) -> str:
    async with w.h.db.transaction() as tx:
        key = await keys.key(tx, keys.BUTTONS)
    period = Period(PeriodKind.MONTH, 2026, 2).key
    snooze = pack(ReminderAction.SNOOZE, "monthly", period)
    if case == "reminder issued to this chat":
        return sign(key, user.channel, user.chat_id, snooze)
    if case == "reminder issued to O's chat":
        officer = w.private["O"]
        return sign(key, officer.channel, officer.chat_id, snooze)
    if case == "reminder with its period edited":
        nothing = pack(ReminderAction.NOTHING, "monthly", period)
        signed = sign(key, user.channel, user.chat_id, nothing)
        return signed.replace(period, Period(PeriodKind.MONTH, 2026, 12).key)
    if case == "why? of this cluster":
        return f"{STANDINGS_PREFIX}:w:cum1:2026:ba_dinh"
    if case == "why? of another cluster":
        return f"{STANDINGS_PREFIX}:w:cum2:2026:tay_ho"
    if case == "menu: standings":
        return "menu:standings"
    if case == "a finalize button of nobody's flow":
        return FinalizeButton("zzzzzzzz", Act.CONFIRM).pack()
    if case == "an unlock reason of nobody's flow":
        return ReasonButton("zzzzzzzz", Act.REASON, "fix").pack()
    if case == "ask to unlock 2025-H2":
        return AskUnlockButton("2025-H2").pack()
    if case == "grant O's unlock request":
        async with w.h.db.transaction() as tx:
            request = await unlocks_repo.pending(tx, "ba_dinh", "2025-H2")
        assert request is not None
        return DecideButton(request.id, Verdict.GRANT).pack()
    if case == "review: accept report #1":
        return ReviewButton(ReviewAct.ACCEPT, 1, 1).pack()
    if case == "review: accept all of ba_dinh":
        return AcceptAllButton(0, "ba_dinh").pack()
    if case == "review: a reason of nobody's flow":
        return ReviewReason("zzzzzzzz", "photo").pack()
    if case == "review: fix O's report #1":
        return FixButton(1).pack()
    if case == "review: snooze a reviewer's reminder":
        return ReviewReminder(Later.SNOOZE).pack()
    assert case == "a form button of nobody's form"
    return ReportButton("zzzzzzzz", FormAction.CANCEL).pack()


def test_every_command_and_button_kind_has_a_row() -> None:
    router = make_router()
    assert {command for command, _ in CASES.values()} == set(router.commands)
    assert set(CASES) == set(EXPECTED_COMMANDS)
    # every button kind has a row: reminders, "why?", the main menu, the forms' own
    forms = {ReportButton.prefix, MyReportsButton.prefix, FinalizeButton.prefix}
    unlocking = {ReasonButton.prefix, AskUnlockButton.prefix, DecideButton.prefix}
    reviewing = {ReviewButton.prefix, AcceptAllButton.prefix, ReviewReason.prefix}
    reviewing |= {FixButton.prefix, ReviewReminder.prefix}
    assert {
        REMINDER_PREFIX,
        STANDINGS_PREFIX,
        MenuButton.prefix,
    } | forms | unlocking | reviewing == set(router.callbacks)


async def test_the_whole_matrix(world: World) -> None:
    w, h = world, world.h
    got: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for case, (command, args) in CASES.items():
        row = []
        for chats in (w.private, w.group):
            cells = ""
            for actor in ORDER:
                await _reset(w)
                user = chats[actor]
                replies = await user.send(f"/{command} {args}".rstrip())
                cell = classify(h, replies)
                cells += cell
                if cell != "+" and (leak := leaks(h, actor, replies)):
                    problems.append(f"/{command} {args} by {actor} in {user.chat_type}: {leak}")
                if user.chat_type == ChatType.GROUP:
                    for r in replies:
                        assert not any(
                            u in r.text for u in ("Tây Hồ", "Cầu Giấy", "Hà Đông", "Thanh Xuân")
                        ), f"/{command} by {actor}: another cluster's units in cum1's group"
            row.append(cells)
        got[case] = (row[0], row[1])
    for case in EXPECTED_BUTTONS:
        row = []
        for chats in (w.private, w.group):
            cells = ""
            for actor in ORDER:
                await _reset(w)
                user = chats[actor]
                replies = await user.press_data(await _button_data(w, case, user))
                cell = classify(h, replies)
                cells += cell
                if cell != "+" and (leak := leaks(h, actor, replies)):
                    problems.append(f"{case} by {actor} in {user.chat_type}: {leak}")
            row.append(cells)
        got[case] = (row[0], row[1])
    expected = {**EXPECTED_COMMANDS, **EXPECTED_BUTTONS}
    wrong = {case: (got[case], want) for case, want in expected.items() if got[case] != want}
    assert wrong == {}, "cells (got, expected), actors " + ORDER
    assert problems == []
    # a refused "nothing to report" with an edited period stored nothing
    assert await h.scalar("SELECT COUNT(*) FROM declarations") == 0


async def test_exports_in_the_group_are_this_clusters_only(world: World) -> None:
    """The issue's case: the head of another cluster asks for /export in cum1's group."""
    w = world
    refused = await w.group["Y"].send("/export 2026")
    assert len(refused) == 1 and refused[0].reply.attachment is None
    assert "cụm" in refused[0].text
    allowed = await w.group["H"].send("/export 2026")
    document = allowed[-1].reply.attachment
    assert document is not None and "cum1" in document.filename
    admin = await w.group["A"].send("/export 2026")
    assert admin[-1].reply.attachment is not None
    assert "cum1" in admin[-1].reply.attachment.filename
