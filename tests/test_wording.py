"""The words the bot says: one register, official spelling, role names that are names.

Officers read these messages next to official documents, so the catalog follows
their conventions: "Bạn" (never "Mình"), the tone mark on the main vowel of an
open "oa/oe/uy" syllable (hủy, khóa, thỏa — not huỷ, khoá, thoả).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bot.i18n import Catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent

# "oà" etc. ending a word (hoà, khoá, thoả, huỷ, xoá…); "quý" is right ("qu" is one consonant).
_OLD_STYLE = re.compile(
    r"\w*(?:o[àáảãạ]|o[èéẻẽẹ]|(?<![qQ])u[ỳýỷỹỵ])(?!\w)", re.IGNORECASE | re.UNICODE
)
_MINH = re.compile(r"(?<!\w)mình(?!\w)", re.IGNORECASE)


def old_style_words(text: str) -> list[str]:
    return _OLD_STYLE.findall(text)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Đã huỷ. Kỳ này đã khoá sổ; thoả ước; ❌ Huỷ", ["huỷ", "khoá", "thoả", "Huỷ"]),
        ("Đã hủy. Kỳ này đã khóa sổ; thỏa ước; Quý 1; Hoàn Kiếm; quỹ; Ứng Hòa", []),
        ("uỷ ban, tuỳ chọn, xoá, khoẻ", ["uỷ", "tuỳ", "xoá", "khoẻ"]),
    ],
)
def test_the_spelling_check_finds_old_style_tone_marks(text: str, found: list[str]) -> None:
    assert old_style_words(text) == found


def test_the_catalogs_use_official_spelling_and_one_register() -> None:
    for lang in ("vi", "en"):
        for key, text in load_catalog(lang).items():
            assert not old_style_words(text), (lang, key, text)
            assert not _MINH.search(text), (lang, key, text)


def test_no_old_style_spelling_anywhere_in_the_repository() -> None:
    """Sources, tests, README and the sample configuration: what people read and copy."""
    files = subprocess.run(
        ["git", "ls-files", "*.py", "*.toml", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    here = Path(__file__).relative_to(ROOT).as_posix()
    bad = {
        name: words
        for name in files
        if name != here
        and (ROOT / name).exists()
        and (words := old_style_words((ROOT / name).read_text(encoding="utf-8")))
    }
    assert not bad


def test_role_names_are_names_not_help_lines() -> None:
    """A role name goes into "Bạn đã được đăng ký là {role} của …": no commands in it."""
    for lang in ("vi", "en"):
        catalog = load_catalog(lang)
        roles = {k: v for k, v in catalog.items() if k.startswith("role.")}
        assert set(roles) == {
            f"role.{r}"
            for r in ("officer", "chair", "cluster_head", "cluster_deputy", "admin", "reviewer")
        }
        for key, text in roles.items():
            assert "/" not in text and ":" not in text and len(text) < 40, (lang, key, text)


def test_english_role_names_read_with_their_article() -> None:
    t = Catalog()
    for role, sentence in (
        ("officer", "You are a union officer."),
        ("admin", "You are an administrator."),
    ):
        assert t("en", "help.header", role=t("en", f"role.{role}")).startswith(sentence)
