"""Config problems found by the domain's own rules are said in the command line's language."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.config import check_config
from bot.i18n import load_catalog

DOMAIN = Path(__file__).resolve().parent.parent / "domain"

BAD = """
[federation]
name = "Liên đoàn Lao động Thành phố Hà Nội"
code = "hanoi"

[[units]]
code = "hoan_kiem"
name = "LĐLĐ quận Hoàn Kiếm"

[[indicators]]
code = "gifts"
label = { vi = "Tặng quà", en = "Gifts" }
measures = { vi = "Số suất quà", en = "Gifts delivered" }

[[indicators.fields]]
code = "count"
type = "integer"
label = { vi = "Số suất quà", en = "Number of gifts" }
min = 10
max = 1

[[indicators]]
code = "events"
label = { vi = "Sự kiện", en = "Events" }
measures = { vi = "Số sự kiện", en = "Events held" }

[[indicators.fields]]
code = "count"
type = "integer"
label = { vi = "Số sự kiện", en = "Events" }

[[indicators.fields]]
code = "count"
type = "integer"
label = { vi = "Số người", en = "People" }

[scoring]
[[scoring.criteria]]
code = "gifts"
label = { vi = "Quà", en = "Gifts" }
measure = "gifts"
weight = 60

[[scoring.criteria]]
code = "events"
label = { vi = "Sự kiện", en = "Events" }
measure = "events"
weight = 30

[reminders]
before_days = [3, 3]
quiet_hours = { start = "21:00", end = "21:00" }
holidays = [{ start = 2026-02-22, end = 2026-02-14, name = "Tết" }]

[[obligations]]
code = "year_report"
period = "year"
due = { kind = "fixed", day = 31, month = 2 }
indexes = [2]

[[obligations]]
code = "half_report"
period = "half"
due = { kind = "day_of_next_month", day = 15 }
indexes = [3]

[[obligations]]
code = "all_report"
period = "year"
due = { kind = "days_after_end", days = 10, day = 5 }
"""

ENGLISH = [
    "indicators[0].fields[0].max: must be ≥ min",
    "indicators[1].fields: duplicate field code 'count'",
    "scoring.criteria: weights must sum to 100, got 90",
    "reminders.before_days: day counts must not repeat",
    "reminders.quiet_hours: start and end must differ (omit quiet_hours for none)",
    "reminders.holidays[0].end: must be on or after start",
    "obligations[0].due.day: 31/2 is not a date in any year",
    "obligations[1].indexes: a half index is 1–2, not 3",
    "obligations[2].due.day: not used when kind = 'days_after_end'",
]

VIETNAMESE = [
    "indicators[0].fields[0].max: phải lớn hơn hoặc bằng min",
    "indicators[1].fields: mã mục nhập 'count' bị trùng",
    "scoring.criteria: tổng trọng số (weight) phải bằng 100, hiện là 90",
    "reminders.before_days: các số ngày không được lặp lại",
    "reminders.quiet_hours: start và end phải khác nhau "
    "(bỏ quiet_hours nếu không cần giờ yên lặng)",
    "reminders.holidays[0].end: phải bằng hoặc sau start",
    "obligations[0].due.day: 31/2 không phải là ngày có thật trong bất kỳ năm nào",
    "obligations[1].indexes: số thứ tự của kỳ half là 1–2, không phải 3",
    "obligations[2].due.day: không dùng khi kind = 'days_after_end'",
]


@pytest.mark.parametrize(("lang", "expected"), [("en", ENGLISH), ("vi", VIETNAMESE)])
def test_domain_rule_problems_are_in_the_cli_language(
    tmp_path: Path, lang: str, expected: list[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    problems, summary = check_config(path, lang)
    assert problems == expected
    assert summary == {"en": f"9 problems in {path}", "vi": f"9 lỗi trong {path}"}[lang]


def test_cross_checks_and_notes_from_the_domain_are_in_the_cli_language(tmp_path: Path) -> None:
    text = BAD.split("[scoring]")[0].replace("min = 10\nmax = 1\n", "")
    text = text.replace(
        'code = "count"\ntype = "integer"\nlabel = { vi = "Số người"',
        'code = "people"\ntype = "integer"\nlabel = { vi = "Số người"',
    )
    text += (
        '\n[[measures]]\ncode = "m"\nlabel = { vi = "M" }\nindicator = "gift"\nfield = "count"\n'
        '\n[[obligations]]\ncode = "monthly"\nperiod = "month"\n'
        'due = { kind = "day_of_next_month", day = 31 }\n'
    )
    path = tmp_path / "measures.toml"
    path.write_text(text, encoding="utf-8")
    assert check_config(path, "vi")[0] == ["measures[0].indicator: không có chỉ số 'gift'"]
    assert check_config(path, "en")[0] == ["measures[0].indicator: unknown indicator 'gift'"]

    path.write_text(text.replace('indicator = "gift"', 'indicator = "gifts"'), encoding="utf-8")
    problems, summary = check_config(path, "vi")
    assert problems == []
    assert summary.endswith(
        "\nlưu ý: obligations[0].due: ngày 31 được tính là ngày cuối của các tháng ngắn hơn "
        "(30 vào tháng 4, 6, 9, 11; 28 hoặc 29 vào tháng 2)"
    )
    assert check_config(path, "en")[1].endswith(
        "\nnote: obligations[0].due: day 31 falls back to the last day of shorter months "
        "(30 in April, June, September, November; 28 or 29 in February)"
    )


#: ConfigRule("key", "English sentence" ...): the key and its (possibly split) English literal.
_RULE = re.compile(r'ConfigRule\(\s*"([a-z0-9_]+)",\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')


def _rules_in_domain() -> dict[str, str]:
    found: dict[str, str] = {}
    for source in sorted(DOMAIN.glob("*.py")):
        for key, literals in _RULE.findall(source.read_text(encoding="utf-8")):
            english = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', literals))
            assert found.setdefault(key, english) == english, f"{key} has two English texts"
    return found


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_config_rule_is_in_both_catalogs_with_the_same_words() -> None:
    rules = _rules_in_domain()
    assert len(rules) >= 35  # the scan finds them (not an empty regex match)
    en, vi = load_catalog("en"), load_catalog("vi")
    for key, english in rules.items():
        name = f"config.rule.{key}"
        assert name in en, name
        assert name in vi, name
        # The catalog's English is the domain's, so a text changed in one place shows here.
        assert en[name] == english, name
        assert _names(vi[name]) == _names(en[name]) == _names(english), name
    unused = {k for k in en if k.startswith("config.rule.")} - {f"config.rule.{k}" for k in rules}
    assert not unused


#: A valid file with one indicator (and its field `count`), to break one rule at a time.
ONE = BAD.split('[[indicators]]\ncode = "events"')[0].replace("min = 10\nmax = 1\n", "")
SHEET = (
    '\n[scoring]\n[[scoring.criteria]]\ncode = "gifts"\nlabel = { vi = "Quà" }\n'
    'measure = "gifts"\nweight = 100\n'
)
MEASURE = '\n[[measures]]\ncode = "m"\nlabel = { vi = "M" }\nindicator = "gifts"\n'
DUE = '\n[[obligations]]\ncode = "o"\nperiod = "year"\n'


def test_a_bad_backup_cron_is_said_in_the_cli_language(tmp_path: Path) -> None:
    path = tmp_path / "cron.toml"
    path.write_text(ONE + '\n[backup]\ncron = "every night"\n', encoding="utf-8")
    (vi,) = check_config(path, "vi")[0]
    assert vi.startswith("backup.cron: không phải một dòng crontab (ví dụ '30 2 * * *'): ")
    (en,) = check_config(path, "en")[0]
    assert en.startswith("backup.cron: not a crontab line (e.g. '30 2 * * *'): ")


@pytest.mark.parametrize(
    ("text", "vi", "en"),
    [
        (
            ONE + SHEET + 'short_label = { vi = "Một nhãn rất rất dài" }\n',
            "scoring.criteria[0].short_label.vi: tối đa 16 ký tự, 'Một nhãn rất rất dài' có 20",
            "scoring.criteria[0].short_label.vi: at most 16 characters, "
            "'Một nhãn rất rất dài' has 20",
        ),
        (
            ONE + SHEET + 'short_label = { vi = "Quà  tặng" }\n',
            "scoring.criteria[0].short_label.vi: không được có dấu cách ở đầu, ở cuối "
            "hoặc hai dấu cách liền nhau",
            "scoring.criteria[0].short_label.vi: no leading, trailing or double spaces",
        ),
        (
            ONE.replace('type = "integer"', 'type = "choice"'),
            "indicators[0].fields[0].choices: mục kiểu choice cần ít nhất một lựa chọn",
            "indicators[0].fields[0].choices: a choice field needs at least one choice",
        ),
        (
            ONE + 'choices = [{ code = "a", label = { vi = "A" } }]\n',
            "indicators[0].fields[0].choices: chỉ mục kiểu choice mới có lựa chọn (choices)",
            "indicators[0].fields[0].choices: only choice fields have choices",
        ),
        (
            ONE + MEASURE,
            "measures[0].field: đại lượng kiểu sum cần `field` (và không có `fields`)",
            "measures[0].field: a sum measure needs `field` (and no `fields`)",
        ),
        (
            ONE + MEASURE + 'how = "count"\nfield = "count"\n',
            "measures[0].field: đại lượng kiểu count đếm số báo cáo, không nhận field",
            "measures[0].field: a count measure counts reports and takes no field",
        ),
        (
            ONE + MEASURE + 'how = "product"\nfields = ["count"]\n',
            "measures[0].fields: đại lượng kiểu product cần đúng hai mục trong `fields`",
            "measures[0].fields: a product measure needs exactly two `fields`",
        ),
        (
            ONE + MEASURE + 'field = "count"\n' + MEASURE + 'field = "nope"\n',
            "measures[1].code: mã đại lượng 'm' bị trùng\n"
            "measures[1].field: chỉ số gifts không có mục nhập 'nope'",
            "measures[1].code: duplicate measure code 'm'\n"
            "measures[1].field: gifts has no field 'nope'",
        ),
        (
            ONE + '\n[reminders]\nat = "08:30+07:00"\n',
            "reminders.at: giờ địa phương, không kèm múi giờ, ví dụ '07:00'",
            "reminders.at: a local time of day without a time zone, e.g. '07:00'",
        ),
        (
            ONE + DUE + 'due = { kind = "fixed", day = 1, at = "17:00+07:00" }\n',
            "obligations[0].due.at: giờ địa phương, không kèm múi giờ, ví dụ '23:59'",
            "obligations[0].due.at: a local time of day without a time zone, e.g. '23:59'",
        ),
        (
            ONE + DUE + 'due = { kind = "fixed", day = 1 }\n',
            "obligations[0].due.month: bắt buộc khi kind = 'fixed'",
            "obligations[0].due.month: required when kind = 'fixed'",
        ),
        (
            ONE + "\n[reminders]\nbefore_days = [0]\n",
            "reminders.before_days: mỗi số ngày phải từ 1 đến 60",
            "reminders.before_days: each day count must be 1–60",
        ),
        (
            ONE + SHEET + 'method = "leader"\ncap = 2\n',
            "scoring.criteria[0].cap: chỉ tiêu chí kiểu target và count mới có cap",
            "scoring.criteria[0].cap: only target and count criteria have a cap",
        ),
        (
            ONE + SHEET + 'method = "count"\n',
            "scoring.criteria[0].points_per_item: tiêu chí kiểu count cần points_per_item",
            "scoring.criteria[0].points_per_item: a count criterion needs points_per_item",
        ),
        (
            ONE + SHEET + "points_per_item = 2\n",
            "scoring.criteria[0].points_per_item: chỉ tiêu chí kiểu count mới có points_per_item",
            "scoring.criteria[0].points_per_item: only count criteria have points_per_item",
        ),
        (
            ONE + SHEET + 'method = "leader"\nmissing_target = "zero"\n',
            "scoring.criteria[0].missing_target: chỉ tiêu chí kiểu target mới có chỉ tiêu "
            "(missing_target)",
            "scoring.criteria[0].missing_target: only target criteria have targets",
        ),
        (
            ONE + SHEET + '\n[[scoring.adjustments]]\ncode = "late"\nlabel = { vi = "Muộn" }\n'
            "points = 0\n",
            "scoring.adjustments[0].points: điểm cộng hoặc trừ bằng 0 thì không có tác dụng",
            "scoring.adjustments[0].points: a bonus or penalty of 0 points does nothing",
        ),
        (
            ONE + SHEET + "\n[scoring.thresholds]\nexcellent = 80\n",
            "scoring.thresholds: phải giảm dần: excellent > strong > good > average",
            "scoring.thresholds: must decrease: excellent > strong > good > average",
        ),
        (
            ONE + SHEET.replace("100", "50") + SHEET.split("[scoring]\n")[1].replace("100", "50"),
            "scoring.criteria: mã tiêu chí 'gifts' bị trùng",
            "scoring.criteria: duplicate criterion code 'gifts'",
        ),
        (
            ONE + SHEET.replace("weight = 100", "weight = inf"),
            "scoring.criteria[0].weight: phải là một số hữu hạn",
            "scoring.criteria[0].weight: Input should be a finite number",
        ),
        (
            ONE + '\n[[targets]]\nunit = "hoan_kiem"\nmeasure = "gifts"\nperiod = "2025"\n'
            "value = inf\n",
            "targets[0].value: phải là một số hữu hạn",
            "targets[0].value: Input should be a finite number",
        ),
    ],
)
def test_each_domain_rule_is_said_in_both_languages(
    tmp_path: Path, text: str, vi: str, en: str
) -> None:
    path = tmp_path / "one.toml"
    path.write_text(text, encoding="utf-8")
    assert "\n".join(check_config(path, "vi")[0]) == vi
    assert "\n".join(check_config(path, "en")[0]) == en
