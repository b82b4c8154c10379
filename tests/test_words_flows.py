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


async def test_deputies_and_former_heads_are_named_by_this_years_membership(h: Harness) -> None:
    # 2026: Hoàn Kiếm deputises Cluster 1; Ba Đình neither heads nor deputises.
    _, welcome = await registered(h, 20, Role.CLUSTER_HEAD, "hoan_kiem")
    assert "Bạn đã được đăng ký là Cụm phó của Cụm thi đua số 1." in welcome
    former, welcome = await registered(h, 21, Role.CLUSTER_HEAD, "ba_dinh")
    assert "Bạn đã được đăng ký là cán bộ công đoàn của LĐLĐ quận Ba Đình." in welcome
    assert (await former.send("/help"))[0].text.startswith("Bạn là cán bộ công đoàn.")


async def test_english_role_names_carry_their_articles(h: Harness) -> None:
    officer, _ = await registered(h, 3)
    await officer.send("/lang en")
    assert (await officer.send("/help"))[0].text.startswith("You are a union officer.")
    head, _ = await registered(h, 4, Role.CLUSTER_HEAD, "long_bien")
    await head.send("/lang en")
    assert (
        "You are already registered: Nguyễn Văn An, the cluster head of Cụm thi đua số 1."
        in (await head.send("/start"))[0].text
    )


# ---- an error reply repeats the open question -----------------------------------------------


async def test_an_error_in_a_field_repeats_the_question_with_its_buttons(h: Harness) -> None:
    officer, _ = await registered(h, 5)
    await officer.send("/report gifts")
    await officer.send("20")
    await officer.send("500k")
    await officer.press("Bỏ qua")  # recipients
    asked = officer.last_with_buttons
    assert asked is not None and "Dịp tặng quà" in asked.text
    replies = await officer.send("sinh nhật sếp")
    assert len(replies) == 1
    answer = replies[0]
    assert answer.text.startswith("Lựa chọn không hợp lệ.")
    assert answer.text.endswith(asked.text)
    assert [b.label for b in answer.buttons] == [b.label for b in asked.buttons]
    # the repeated buttons work: the conversation is the same one
    assert "Ngày trao" in (await officer.press("8/3"))[0].text


async def test_an_error_on_the_card_repeats_the_card(h: Harness) -> None:
    officer, _ = await registered(h, 6)
    card = (await officer.send("tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3"))[-1]
    assert "vui lòng kiểm tra lại" in card.text
    answer = (await officer.send("để mai"))[0]
    assert answer.text.startswith("Vui lòng bấm ✅ Lưu, ✏️ Sửa hoặc ❌ Hủy")
    assert answer.text.endswith(card.text)
    assert [b.label for b in answer.buttons] == ["✅ Lưu", "✏️ Sửa", "❌ Hủy"]
    # a stale button from another flow gets the same treatment
    answer = (await officer.press_data("oldflow:ok"))[0]
    assert answer.text.startswith("Nút này đã cũ") and answer.text.endswith(card.text)


async def test_an_error_while_confirming_a_retraction_repeats_that_question(h: Harness) -> None:
    officer, _ = await registered(h, 7)
    await officer.send("tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3")
    await officer.press("Lưu")
    await officer.send("/retract 1")
    answer = (await officer.send("/retract abc"))[0]
    assert answer.text.startswith("Vui lòng gõ số báo cáo")
    assert "Rút báo cáo này?" in answer.text
    assert [b.label for b in answer.buttons] == ["🗑 Rút báo cáo", "Giữ lại"]


async def test_an_error_outside_a_conversation_is_just_the_error(h: Harness) -> None:
    officer, _ = await registered(h, 8)
    replies = await officer.send("/retract abc")
    assert [r.text for r in replies] == ["Vui lòng gõ số báo cáo, ví dụ /retract 123."]


# ---- one length limit per field, stated the same way in the question and the error ----------


async def test_a_text_fields_limit_is_the_same_in_its_question_and_its_error(h: Harness) -> None:
    officer, _ = await registered(h, 9)
    await officer.send("/report gifts")
    await officer.send("20")
    question = (await officer.send("500k"))[0].text
    assert "Đối tượng nhận quà" in question and "tối đa 200 ký tự" in question  # its max_length
    refused = (await officer.send("x" * 201))[0].text
    assert refused.startswith("Nội dung quá dài (201 ký tự; tối đa 200 ký tự).")
    assert "{" not in refused
    assert "Dịp tặng quà" in (await officer.send("x" * 200))[0].text
    assert await h.scalar("SELECT COUNT(*) FROM reports") == 0


async def test_a_number_fields_limit_is_stated_correctly(h: Harness) -> None:
    officer, _ = await registered(h, 10)
    await officer.send("/report gifts")
    refused = (await officer.send("1" * 150))[0].text
    assert refused.startswith("Nội dung quá dài (150 ký tự; tối đa 100 ký tự).")
    assert "{" not in refused


async def test_a_long_free_message_gets_the_quick_report_limit(h: Harness) -> None:
    officer, _ = await registered(h, 11)
    refused = (await officer.send("tặng quà " * 60))[0].text
    assert "tối đa 500 ký tự" in refused and "{" not in refused


# ---- saving an edit with no change makes no new version -------------------------------------


async def test_saving_an_unchanged_edit_makes_no_new_version(h: Harness) -> None:
    officer, _ = await registered(h, 12)
    await officer.send("tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3")
    await officer.press("Lưu")
    await officer.send("/edit 1")
    await officer.press("Sửa")
    await officer.press("Số suất quà")
    await officer.send("20")  # the same value typed again
    answer = await officer.press("Lưu")
    assert answer[0].text.startswith("Không có thay đổi nào; báo cáo #1 giữ nguyên")
    assert await h.scalar("SELECT version FROM reports WHERE id = 1") == 1
    assert await h.scalar("SELECT COUNT(*) FROM report_audit WHERE action = 'edited'") == 0
    # a real change still makes version 2
    await officer.send("/edit 1")
    await officer.press("Sửa")
    await officer.press("Số suất quà")
    await officer.send("25")
    assert "Đã cập nhật báo cáo #1" in (await officer.press("Lưu"))[0].text
    assert await h.scalar("SELECT version FROM reports WHERE id = 1") == 2
    assert await h.scalar("SELECT COUNT(*) FROM report_audit WHERE action = 'edited'") == 1


async def test_a_photo_added_while_editing_is_kept_as_a_change(h: Harness) -> None:
    officer, _ = await registered(h, 13)
    await officer.send("tặng 20 suất quà, mỗi suất 500.000đ nhân dịp 8/3")
    await officer.press("Lưu")
    await officer.send("/edit 1")
    await officer.photo()
    assert "Đã cập nhật báo cáo #1" in (await officer.press("Lưu"))[0].text
    assert await h.scalar("SELECT COUNT(*) FROM report_photos WHERE report_id = 1") == 1
    assert await h.scalar("SELECT version FROM reports WHERE id = 1") == 2
