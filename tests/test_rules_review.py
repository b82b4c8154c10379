"""The reviewer sees the warning: a report saved after "Bạn chắc chắn?" → Đúng shows its
unusual values on the /review card, for a cluster's head (by = "cluster") and for the
federation's reviewers (by = "reviewer"), and through usecases.reports.warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from domain.models import Role
from domain.review import Reviewers, ReviewRules
from storage import people as people_repo
from tests.harness import EXAMPLE, FakeClock, Harness, User
from usecases import access
from usecases import reports as reports_uc
from usecases.access import Caller

pytestmark = pytest.mark.both_backends

UNUSUAL = "tặng 1 suất quà, mỗi suất 50 triệu nhân dịp 8/3"
LINE = (
    "• Giá trị mỗi suất (Tặng quà): 50.000.000 đ cho 1 suất quà — "
    "cao hơn mức thường gặp (tối đa 5.000.000 đ cho 1 suất quà)"
)


async def reviewed(tmp_path: Path, database: str, by: Reviewers) -> Harness:
    config = load_config(EXAMPLE)
    config = config.model_copy(update={"review": ReviewRules(by=by)})
    return await Harness.create(tmp_path, FakeClock(), config=config, database=database)


async def confirmed(officer: User) -> None:
    await officer.send(UNUSUAL)
    await officer.press("Lưu")
    saved = await officer.press("Đúng")
    assert "Lưu kèm 1 cảnh báo" in saved[0].text


async def card_of(reviewer: User) -> str:
    replies = await reviewer.send("/review")
    return "\n".join(r.text for r in replies)


@pytest.mark.parametrize("by", [Reviewers.CLUSTER, Reviewers.REVIEWER])
async def test_the_review_card_shows_the_confirmed_warning(
    tmp_path: Path, database: str, by: Reviewers
) -> None:
    h = await reviewed(tmp_path, database, by)
    try:
        officer = await h.person(1, "ba_dinh")
        if by is Reviewers.CLUSTER:
            reviewer = await h.person(2, "long_bien", Role.CLUSTER_HEAD)  # heads Cluster 1
        else:
            reviewer = await h.person(2, "tay_ho", Role.REVIEWER)
        await confirmed(officer)
        card = await card_of(reviewer)
        assert "Báo cáo #1 chờ duyệt" in card
        assert "⚠️ Cảnh báo khi gửi:" in card and LINE in card
        async with h.db.transaction() as tx:
            person = await people_repo.by_identity(tx, h.channel, reviewer.id)
            caller = Caller(await access.actor_of(tx, person, 2026), 2026)
            (warning,) = await reports_uc.warnings(tx, caller, 1)
            assert warning.field == "value_per_gift"
    finally:
        await h.close()


async def test_an_ordinary_report_has_no_warning_on_its_card(tmp_path: Path, database: str) -> None:
    h = await reviewed(tmp_path, database, Reviewers.CLUSTER)
    try:
        officer = await h.person(1, "ba_dinh")
        head = await h.person(2, "long_bien", Role.CLUSTER_HEAD)
        await officer.send("tặng 20 suất quà, mỗi suất 500k nhân dịp 8/3")
        await officer.press("Lưu")
        card = await card_of(head)
        assert "Báo cáo #1 chờ duyệt" in card and "Cảnh báo" not in card
    finally:
        await h.close()
