"""Checks beyond one field: cross-field rules and unusual values, pure.

A rule is a small expression over an indicator's numeric fields, written in the
configuration (``recipients <= count``, ``total == count * value_per_gift``). It is
read by a real tokenizer and a recursive-descent parser into a tree; nothing a
federation writes is ever handed to Python's ``eval`` or ``ast``. The language:

- field codes of the indicator's integer, money and number fields; plain numbers
  (``1``, ``2.5``: a dot for decimals, no thousands separators);
- ``+ - * /`` (also ``−  ×  ÷``), unary minus, parentheses;
- comparisons ``< <= > >= == !=`` (also ``=  ≤  ≥  ≠``), one per comparison;
- ``and or not`` (also ``và hoặc không``).

Arithmetic is exact (fractions), so ``total == count * value_per_gift`` holds for
money without rounding surprises. A rule naming a field the report leaves empty is
skipped: it speaks only about values that were given. A rule that divides by zero
when evaluated fails closed: the report is refused with a clear message, as if
the rule were broken, never saved unchecked and never a crash.

Unusual values (`outliers`) ask instead of refusing: a value above the field's
`soft_max`, or more than `factor` times the unit's median of that field over the
last `days` days (the median is read from storage by the caller).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from domain.errors import ConfigRule

MAX_RULE_CHARS = 500
"""Characters a rule may have: a rule is a line, not a program."""

MAX_DEPTH = 40
"""Nesting (parentheses, `not`, unary minus) a rule may have, so parsing never runs deep."""

_KEYWORDS = {
    "and": "and",
    "và": "and",
    "or": "or",
    "hoặc": "or",
    "not": "not",
    "không": "not",
}
_SYMBOLS = {  # longest first where one is the start of another
    "<=": "<=",
    ">=": ">=",
    "==": "==",
    "!=": "!=",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "<": "<",
    ">": ">",
    "=": "==",
    "+": "+",
    "-": "-",
    "−": "-",
    "*": "*",
    "×": "*",
    "/": "/",
    "÷": "/",
    "(": "(",
    ")": ")",
}
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


# ---- the tree -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Num:
    value: Fraction


@dataclass(frozen=True, slots=True)
class Field:
    code: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # one of COMPARISONS
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # and / or
    left: Expr
    right: Expr


Expr = Num | Field | Neg | Arith | Compare | Not | Logic
_NUMERIC = (Num, Field, Neg, Arith)


def is_condition(node: Expr) -> bool:
    """Whether the node is true/false (a comparison, and/or/not), not a number."""
    return isinstance(node, Compare | Not | Logic)


def fields_of(node: Expr) -> tuple[str, ...]:
    """The field codes a rule names, in order of first appearance."""
    seen: dict[str, None] = {}
    for n in _walk(node):
        if isinstance(n, Field):
            seen.setdefault(n.code)
    return tuple(seen)


def field_nodes(node: Expr) -> Iterator[Field]:
    """Every field reference of a rule, with its position (for the config's errors)."""
    return (n for n in _walk(node) if isinstance(n, Field))


def _walk(node: Expr) -> Iterator[Expr]:
    stack: list[Expr] = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, Neg | Not):
            stack.append(n.operand)
        elif isinstance(n, Arith | Compare | Logic):
            stack.extend((n.right, n.left))


# ---- reading ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    pos: int
    value: Fraction | None = None


def tokenize(text: str) -> list[Token]:
    """The rule's tokens, or a ConfigRule naming the first character that is none."""
    if len(text) > MAX_RULE_CHARS:
        raise ConfigRule(
            "rule_too_long",
            "a rule has at most {max} characters, this one has {length}",
            max=MAX_RULE_CHARS,
            length=len(text),
        )
    text = unicodedata.normalize("NFC", text)  # "và" typed as v + a + a combining grave
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        if (ch.isascii() and ch.isdigit()) or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            start = i
            while i < n and ((text[i].isascii() and text[i].isdigit()) or text[i] == "."):
                i += 1
            raw = text[start:i]
            glued = i < n and (text[i].isalpha() or text[i] == "_")  # 1e5, 2tr
            if raw.count(".") > 1 or raw.endswith(".") or glued:
                raise ConfigRule(
                    "rule_bad_number",
                    "{text} is not a number: a dot for decimals, "
                    "no thousands separators (character {at})",
                    at=start + 1,
                    text=repr(text[start : i + 1] if glued else raw),
                )
            value = Fraction(Decimal(raw))  # digits and at most one inner dot
            tokens.append(Token("num", raw, start, value))
            continue
        if ch.isalpha() or ch == "_":
            start = i
            while i < n and (text[i].isalnum() or text[i] == "_") and not _other_digit(text[i]):
                i += 1
            word = text[start:i]
            kind = _KEYWORDS.get(word.lower())
            tokens.append(Token("op" if kind else "name", kind or word, start))
            continue
        for symbol, op in _SYMBOLS.items():
            if text.startswith(symbol, i):
                tokens.append(Token("op", op, i))
                i += len(symbol)
                break
        else:
            raise ConfigRule(
                "rule_bad_char",
                "{char} cannot be used in a rule (character {at})",
                at=i + 1,
                char=_shown_char(ch),
            )
    tokens.append(Token("end", "", n))
    return tokens


def _other_digit(ch: str) -> bool:
    """A digit that is not 0–9 (²,①, ٣): never part of a name."""
    return ch.isdigit() and not ch.isascii()


def _shown_char(ch: str) -> str:
    return repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"


class _Parser:
    """Recursive descent over the tokens, checking that numbers and conditions meet right."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConfigRule(
                "rule_too_deep",
                "nested more than {max} deep (character {at})",
                at=self.tok.pos + 1,
                max=MAX_DEPTH,
            )

    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise ConfigRule("rule_empty", "a rule is needed, e.g. recipients <= count")
        start = self.tok.pos
        node = self.logic_or()
        if self.tok.kind != "end":
            raise self.unexpected()
        if not is_condition(node):
            raise ConfigRule(
                "rule_not_condition",
                "a rule must compare, e.g. recipients <= count (character {at})",
                at=start + 1,
            )
        return node

    def unexpected(self) -> ConfigRule:
        tok = self.tok
        if tok.kind == "end":
            return ConfigRule(
                "rule_ends_early",
                "the rule ends too early: a number or a field is missing (character {at})",
                at=tok.pos + 1,
            )
        return ConfigRule(
            "rule_unexpected",
            "{token} was not expected here (character {at})",
            at=tok.pos + 1,
            token=repr(tok.text),
        )

    def condition(self, node: Expr, pos: int) -> Expr:
        if not is_condition(node):
            raise ConfigRule(
                "rule_condition_needed",
                "a comparison is needed here: and, or, not join comparisons (character {at})",
                at=pos + 1,
            )
        return node

    def number(self, node: Expr, pos: int) -> Expr:
        if is_condition(node):
            raise ConfigRule(
                "rule_number_needed",
                "a number or a field is needed here, not a comparison (character {at})",
                at=pos + 1,
            )
        return node

    def logic_or(self) -> Expr:
        pos = self.tok.pos
        node = self.logic_and()
        while self.at("or"):
            self.take()
            self.condition(node, pos)
            rpos = self.tok.pos
            node = Logic("or", node, self.condition(self.logic_and(), rpos))
        return node

    def logic_and(self) -> Expr:
        pos = self.tok.pos
        node = self.logic_not()
        while self.at("and"):
            self.take()
            self.condition(node, pos)
            rpos = self.tok.pos
            node = Logic("and", node, self.condition(self.logic_not(), rpos))
        return node

    def logic_not(self) -> Expr:
        if self.at("not"):
            self.take()
            self.deeper()
            pos = self.tok.pos
            node = Not(self.condition(self.logic_not(), pos))
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Expr:
        pos = self.tok.pos
        left = self.additive()
        if not self.at(*COMPARISONS):
            return left
        op = self.take().text
        self.number(left, pos)
        rpos = self.tok.pos
        right = self.number(self.additive(), rpos)
        if self.at(*COMPARISONS):
            raise ConfigRule(
                "rule_chained",
                "one comparison at a time: write a < b and b < c (character {at})",
                at=self.tok.pos + 1,
            )
        return Compare(op, left, right)

    def additive(self) -> Expr:
        pos = self.tok.pos
        node = self.multiplicative()
        while self.at("+", "-"):
            op = self.take().text
            self.number(node, pos)
            rpos = self.tok.pos
            node = Arith(op, node, self.number(self.multiplicative(), rpos))
        return node

    def multiplicative(self) -> Expr:
        pos = self.tok.pos
        node = self.unary()
        while self.at("*", "/"):
            op = self.take().text
            self.number(node, pos)
            rpos = self.tok.pos
            node = Arith(op, node, self.number(self.unary(), rpos))
        return node

    def unary(self) -> Expr:
        if self.at("-"):
            self.take()
            self.deeper()
            pos = self.tok.pos
            node = Neg(self.number(self.unary(), pos))
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Expr:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            assert tok.value is not None
            return Num(tok.value)
        if tok.kind == "name":
            self.take()
            return Field(tok.text, tok.pos)
        if self.at("("):
            self.take()
            self.deeper()
            node = self.logic_or()
            if not self.at(")"):
                if self.tok.kind == "end":
                    raise ConfigRule(
                        "rule_unclosed", "this ( is never closed (character {at})", at=tok.pos + 1
                    )
                raise self.unexpected()
            self.take()
            self.depth -= 1
            return node
        raise self.unexpected()


def parse(text: str) -> Expr:
    """The rule's tree, or a ConfigRule saying what is wrong and at which character."""
    return _Parser(tokenize(text)).parse()


# ---- writing ------------------------------------------------------------------------------

_LEVEL = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}


def _level(node: Expr) -> int:
    match node:
        case Logic(op=op) | Arith(op=op):
            return _LEVEL[op]
        case Not():
            return _LEVEL["not"]
        case Compare():
            return _LEVEL["cmp"]
        case Neg():
            return _LEVEL["neg"]
        case _:
            return 8


def show(node: Expr) -> str:
    """The rule written back, parenthesised only where needed: parse(show(t)) == t."""

    def wrap(child: Expr, need: int) -> str:
        text = show(child)
        return f"({text})" if _level(child) < need else text

    match node:
        case Num(value=value):
            return _show_number(value)
        case Field(code=code):
            return code
        case Neg(operand=operand):
            return "-" + wrap(operand, _LEVEL["neg"])
        case Not(operand=operand):
            return "not " + wrap(operand, _LEVEL["not"])
        case Arith(op=op, left=left, right=right) | Logic(op=op, left=left, right=right):
            level = _level(node)
            return f"{wrap(left, level)} {op} {wrap(right, level + 1)}"
        case Compare(op=op, left=left, right=right):
            # both sides are numbers: anything below arithmetic needs parentheses
            return f"{wrap(left, _LEVEL['+'])} {op} {wrap(right, _LEVEL['+'])}"
    raise AssertionError(node)  # pragma: no cover


def _show_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text


# ---- evaluating ---------------------------------------------------------------------------


class Outcome(StrEnum):
    HOLDS = "holds"
    BROKEN = "broken"
    SKIPPED = "skipped"  # a field it names was left empty
    FAILED = "failed"  # it could not be computed (a division by zero): refused, fail closed


class _DivisionByZero(Exception):
    pass


def _number(value: Any) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Fraction(value)


def evaluate(node: Expr, values: Mapping[str, Any]) -> Outcome:
    """Whether the rule holds for these values; SKIPPED when a field it names is empty."""
    numbers: dict[str, Fraction] = {}
    for code in fields_of(node):
        number = _number(values.get(code))
        if number is None:
            return Outcome.SKIPPED
        numbers[code] = number
    try:
        return Outcome.HOLDS if _truth(node, numbers) else Outcome.BROKEN
    except _DivisionByZero:
        return Outcome.FAILED


def _truth(node: Expr, v: Mapping[str, Fraction]) -> bool:
    match node:
        case Logic(op="and", left=left, right=right):
            return _truth(left, v) and _truth(right, v)
        case Logic(left=left, right=right):
            return _truth(left, v) or _truth(right, v)
        case Not(operand=operand):
            return not _truth(operand, v)
        case Compare(op=op, left=left, right=right):
            a, b = _value(left, v), _value(right, v)
            return {
                "<": a < b,
                "<=": a <= b,
                ">": a > b,
                ">=": a >= b,
                "==": a == b,
                "!=": a != b,
            }[op]
    raise AssertionError(node)  # pragma: no cover - the parser lets only conditions here


def _value(node: Expr, v: Mapping[str, Fraction]) -> Fraction:
    match node:
        case Num(value=value):
            return value
        case Field(code=code):
            return v[code]
        case Neg(operand=operand):
            return -_value(operand, v)
        case Arith(op=op, left=left, right=right):
            a, b = _value(left, v), _value(right, v)
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if b == 0:
                raise _DivisionByZero
            return a / b
    raise AssertionError(node)  # pragma: no cover - the parser lets only numbers here


# ---- rules of an indicator ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Broken:
    """A rule the report does not keep (or that could not be computed: `failed`)."""

    index: int  # the rule's place in the indicator's `rules`
    fields: tuple[str, ...]  # what the person may fix, in the rule's order
    failed: bool = False


class UnusualKind(StrEnum):
    SOFT_MAX = "soft_max"  # above the field's configured soft maximum
    USUAL = "usual"  # more than `factor` × the unit's median over the last year


@dataclass(frozen=True, slots=True)
class Unusual:
    """An unusual value the person confirmed (or is asked to): kept with the report."""

    field: str
    kind: UnusualKind
    value: float
    limit: float  # the soft maximum, or the unit's median

    def times(self) -> float:
        """How many times the usual value (USUAL), for the wording."""
        return self.value / self.limit if self.limit else 0.0


@dataclass(frozen=True, slots=True)
class OutlierRules:
    """[reporting] outlier_*: when a value is unusual for its unit."""

    factor: float = 10.0  # 0 = never compare with the unit's usual values
    days: int = 365
    min_reports: int = 5  # fewer earlier reports: no "usual" value yet

    @property
    def enabled(self) -> bool:
        return self.factor > 0


def median(numbers: list[float]) -> float | None:
    """The median of `numbers` (sorted or not); None for none."""
    if not numbers:
        return None
    ordered = sorted(numbers)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def outliers(
    fields: Mapping[str, float | None],
    values: Mapping[str, Any],
    medians: Mapping[str, float],
    rules: OutlierRules,
) -> tuple[Unusual, ...]:
    """The unusual values among `values`: `fields` maps each numeric field to its soft max.

    `medians` are the unit's usual values of those fields (only where it had enough
    reports). A value of 0 or less is never unusual; a median of 0 says nothing.
    """
    found: list[Unusual] = []
    for code, soft_max in fields.items():
        number = _number(values.get(code))
        if number is None or number <= 0:
            continue
        value = float(number)
        if soft_max is not None and value > soft_max:
            found.append(Unusual(code, UnusualKind.SOFT_MAX, value, soft_max))
            continue
        usual = medians.get(code)
        if rules.enabled and usual is not None and usual > 0 and value > rules.factor * usual:
            found.append(Unusual(code, UnusualKind.USUAL, value, usual))
    return tuple(found)


def broken(trees: Sequence[Expr], values: Mapping[str, Any]) -> tuple[Broken, ...]:
    """The rules (by index) these values break, or could not be computed for (fail closed).

    A rule naming a field left empty is skipped: it speaks only of values given.
    """
    found: list[Broken] = []
    for index, tree in enumerate(trees):
        outcome = evaluate(tree, values)
        if outcome in (Outcome.BROKEN, Outcome.FAILED):
            found.append(Broken(index, fields_of(tree), failed=outcome == Outcome.FAILED))
    return tuple(found)
