"""Conversation drafts are typed, frozen, stored by value (issue 9, property 4).

A refused answer rolls the handler back to its savepoint; the draft the
conversation keeps must then be exactly the one before the answer, never a
half-changed one. A draft saved in an older shape starts over politely.
"""

from __future__ import annotations

import dataclasses

import pytest

from domain.errors import UserInputError
from domain.messages import Conversation
from domain.models import Role
from handlers import report
from handlers.report import Mode, ReportDraft, Saved
from runtime import drafts
from storage import conversations
from tests.harness import Harness, User


async def registered(h: Harness, user_id: int = 101) -> User:
    user = h.user(user_id)
    await user.send(f"/start {await h.invite('hoan_kiem', Role.OFFICER)}")
    return user


async def stored(h: Harness, user: User) -> tuple[str, dict[str, object]]:
    async with h.db.transaction() as tx:
        conv = await conversations.get(tx, (user.channel, user.chat_id, user.id))
    assert conv is not None
    return conv.step, dict(conv.data)


def test_a_draft_is_frozen_and_round_trips_by_value() -> None:
    draft = ReportDraft(Mode.NEW, "hoan_kiem", indicator="gifts").answered("count", 20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft.unit = "ba_dinh"  # type: ignore[misc]
    data = drafts.dump(draft)
    assert data["values"] == {"count": 20} and data["field"] is None
    data["values"]["count"] = 99  # the stored copy is not the draft
    assert draft.value_map == {"count": 20}
    assert drafts.load(ReportDraft, drafts.dump(draft)) == draft
    again = draft.answered("value", 500000.5).answered("count", None)
    assert again.value_map == {"value": 500000.5} and draft.value_map == {"count": 20}
    assert drafts.load(Saved, {"report_id": 7}) == Saved(7)


async def test_a_refused_answer_cannot_leak_a_half_changed_draft(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler takes the answer into its draft, then something later refuses: the
    rollback (runtime.dispatcher's savepoint) restores the draft it read, unchanged."""
    user = await registered(h)
    await user.send("/report")
    await user.press("Tặng quà")
    await user.send("20")
    before = await stored(h, user)
    assert before[1]["values"] == {"count": 20} and before[1]["field"] == "value_per_gift"

    real = report._advance

    async def advance_then_refuse(ctx, data, after):  # type: ignore[no-untyped-def]
        await real(ctx, data, after)  # the draft has the new value and the next step now
        raise UserInputError("err.confirm_choice")

    monkeypatch.setattr(report, "_advance", advance_then_refuse)
    replies = await user.send("500000")
    assert len(replies) == 1
    assert "Giá trị mỗi suất" in replies[0].text  # the same question, asked again
    assert await stored(h, user) == before
    monkeypatch.undo()
    assert "Đối tượng" in (await user.send("500000"))[0].text  # and the form goes on
    assert (await stored(h, user))[1]["values"] == {"count": 20, "value_per_gift": 500000}


@pytest.mark.parametrize(
    ("step", "data"),
    [
        # the dict format of before the typed drafts, asking "Số suất quà"
        ("field", {"mode": "new", "unit": "hoan_kiem", "indicator": "gifts", "values": {},
                   "photos": [], "field": "count", "ambiguous": None}),
        ("confirm", {"values": 5}),  # damaged
        ("pick_indicator", {"mode": "someday", "unit": "hoan_kiem"}),  # no such mode
    ],
)  # fmt: skip
async def test_a_draft_of_an_older_shape_starts_over_politely(
    h: Harness, step: str, data: dict[str, object]
) -> None:
    user = await registered(h)
    key = (user.channel, user.chat_id, user.id)
    async with h.db.transaction() as tx:
        await conversations.put(
            tx, key, Conversation("report", step, "oldflow1", data, h.clock.now())
        )
    replies = await user.send("20")
    assert "bot vừa được cập nhật" in replies[0].text
    async with h.db.transaction() as tx:
        assert await conversations.get(tx, key) is None
    assert await h.scalar("SELECT COUNT(*) FROM inbox WHERE status = 'failed'") == 0
    assert "Bạn muốn báo cáo" in (await user.send("/report"))[-1].text


async def test_an_old_draft_and_a_button_of_it_get_the_note_only(h: Harness) -> None:
    user = await registered(h)
    key = (user.channel, user.chat_id, user.id)
    old = {"mode": "new", "unit": "hoan_kiem", "values": {}, "photos": [], "field": None,
           "ambiguous": None}  # fmt: skip
    async with h.db.transaction() as tx:
        await conversations.put(tx, key, Conversation("report", "pick_indicator", "oldflow1", old,
                                                      h.clock.now()))  # fmt: skip
    replies = await user.press_data("oldflow1:i:gifts")  # the old button format
    assert len(replies) == 1 and "bot vừa được cập nhật" in replies[0].text
    assert await h.scalar("SELECT COUNT(*) FROM conversations") == 0
