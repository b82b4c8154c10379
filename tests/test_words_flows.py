"""What officers, cluster heads and admins read, through the real dispatcher (issue 8)."""

from __future__ import annotations

from domain.models import Role
from tests.harness import Harness, User


async def registered(
    h: Harness, user_id: int, role: Role = Role.OFFICER, unit: str = "hoan_kiem"
) -> tuple[User, str]:
    user = h.user(user_id)
    replies = await user.register(await h.invite(unit, role))
    return user, replies[-1].text


# ---- role names and help lines ------------------------------------------------------------


async def test_the_admin_welcome_names_the_role_and_help_lists_admin_commands(h: Harness) -> None:
    admin, welcome = await registered(h, 1, Role.ADMIN)
    assert "Bạn đã được đăng ký là quản trị viên của LĐLĐ quận Hoàn Kiếm." in welcome
    assert "/target" not in welcome
    help_text = (await admin.send("/help"))[0].text
    assert help_text.startswith("Bạn là quản trị viên. Các lệnh bạn dùng được:")
    assert "/standings all" in help_text and "/target" in help_text
    assert help_text.count("🛠") == 1


async def test_the_cluster_head_welcome_names_the_cluster_of_this_year(h: Harness) -> None:
    # 2026: Long Biên heads Cluster 1 (in 2025 it was Đống Đa).
    head, welcome = await registered(h, 2, Role.CLUSTER_HEAD, "long_bien")
    assert "Bạn đã được đăng ký là Cụm trưởng của Cụm thi đua số 1." in welcome
    again = (await head.send("/start"))[0].text
    assert "Cụm trưởng của Cụm thi đua số 1" in again


async def test_english_role_names_carry_their_articles(h: Harness) -> None:
    officer, _ = await registered(h, 3)
    await officer.send("/lang en")
    assert (await officer.send("/help"))[0].text.startswith("You are a union officer.")
    head, _ = await registered(h, 4, Role.CLUSTER_HEAD, "long_bien")
    await head.send("/lang en")
    assert "You are already registered: Nguyễn Văn An, the cluster head of Cụm thi đua số 1." in (
        await head.send("/start")
    )[0].text
