"""Which catalog keys the product code uses, found by reading the code (ast), not by running it.

A use is one of:
- a string literal that is a whole key ("err.not_registered"): its first part names a
  table of the catalog, wherever it stands (a call, a default, a constant, a dict);
- the literal key argument of a call through a translator that adds a prefix
  (`say("seeded")` in the command line means "cli.seeded"; see RELATIVE), also when
  the argument is `a if c else b` or a local name assigned literals;
- an f-string key with a placeholder (f"cmd.{name}"): a family of keys. When the
  placeholder is a local name bound to literals (`for verb in ("a", "b")`), the
  family's values are known here; otherwise the test resolves it against the names
  the code declares (the commands, an enum's values...).

A function that says its argument under a prefix (f"cmd.{name}" or `say(key)` of its
parameter) uses no key by itself: it is a prefixer, and the literal keys its callers
pass in the same file are read through it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "handlers", "web", "runtime", "usecases", "documents", "storage", "domain")
#: The dashboard's templates say their words as t("web.…") (web/templates/*.html).
TEMPLATE_KEY = re.compile(r"""\bt\(\s*["']([a-z_][a-z0-9_]*(?:\.[a-z0-9_-]+)+)["']""")

#: Translators whose key is relative: file ("*": any) -> called name -> the prefix they add.
RELATIVE: dict[str, dict[str, str]] = {
    "*": {"ConfigRule": "config.rule."},
    "bot/cli.py": {"say": "cli.", "self": "cli."},  # a Say, and Say's own methods
    "bot/demo.py": {"say": "cli."},
    "documents/workbook.py": {"t": "workbook.", "optional": "workbook."},  # _Labels
    "documents/chart.py": {"t": "chart."},  # _Labels
}

#: Functions that add a prefix but are no translator: (file, function).
#: `Ctx.t` first tries the catalog's typed.<key> variant of the key it is given.
OVERLAYS = {("runtime/context.py", "t")}

_KEY = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z0-9_-]+)+")
_RELATIVE_KEY = re.compile(r"[a-z_][a-z0-9_-]*(?:\.[a-z0-9_-]+)*")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass(frozen=True, slots=True)
class Family:
    """An f-string key: `pattern` has "{}" where the code fills a value in; `values` are
    the literals that value can be, when the code says so where it builds the key."""

    pattern: str
    where: str
    values: tuple[str, ...] = ()

    def keys(self) -> set[str]:
        return {self.pattern.replace("{}", value) for value in self.values}


@dataclass(slots=True)
class Uses:
    keys: dict[str, str] = field(default_factory=dict)  # key -> where (file:line)
    families: list[Family] = field(default_factory=list)
    prefixers: list[str] = field(default_factory=list)  # "file function: prefix"


def scan(tables: set[str]) -> Uses:
    """Every key use in the product folders; `tables` are the catalog's top-level names."""
    uses = Uses()
    for folder in PRODUCT:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            scan_source(name, path.read_text(encoding="utf-8"), tables, uses)
    for path in sorted((ROOT / "web" / "templates").glob("*.html")):
        name = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for key in TEMPLATE_KEY.findall(line):
                uses.keys.setdefault(key, f"{name}:{number}")
    return uses


def scan_source(name: str, source: str, tables: set[str], uses: Uses) -> None:
    """The key uses of one module (`name` is its path from the repository root)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip |= {id(part) for part in node.values}
    scopes = [_Scope(s) for s in (tree, *(n for n in ast.walk(tree) if isinstance(n, _FUNCTIONS)))]
    relative = {
        called: (0, prefix) for called, prefix in (RELATIVE["*"] | RELATIVE.get(name, {})).items()
    }
    prefix_of = _relative_arguments(scopes, relative)
    forwarding: set[int] = set()  # the f-strings that forward a parameter under a prefix
    prefixers = {
        function: found
        for function, found in _prefixers(scopes, prefix_of, relative, tables, forwarding).items()
        if (name, function) not in OVERLAYS
    }
    uses.prefixers += [f"{name} {f}: {prefix}" for f, (_, prefix) in prefixers.items()]
    prefix_of |= _relative_arguments(scopes, {**relative, **prefixers})
    for scope in scopes:
        for node in scope.nodes:
            where = f"{name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in skip:
                    continue
                if id(node) in prefix_of:
                    if _RELATIVE_KEY.fullmatch(node.value):
                        uses.keys.setdefault(prefix_of[id(node)] + node.value, where)
                elif _KEY.fullmatch(node.value) and node.value.split(".", 1)[0] in tables:
                    uses.keys.setdefault(node.value, where)
            elif isinstance(node, ast.JoinedStr) and id(node) not in forwarding:
                pattern = prefix_of.get(id(node), "") + _pattern(node)
                head = pattern.split("{}", 1)[0]
                if "{}" in pattern and "." in head and head.split(".", 1)[0] in tables:
                    uses.families.append(Family(pattern, where, scope.values(node)))


class _Scope:
    """One function (or the module) without the functions defined inside it."""

    def __init__(self, node: ast.AST) -> None:
        self.name = getattr(node, "name", "")
        self.params = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = (*node.args.posonlyargs, *node.args.args)
            self.params = [a.arg for a in args if a.arg != "self"]
        self.nodes: list[ast.AST] = []
        todo = list(ast.iter_child_nodes(node))
        while todo:
            child = todo.pop()
            self.nodes.append(child)
            if not isinstance(child, _FUNCTIONS):
                todo.extend(ast.iter_child_nodes(child))
        self.assigned: dict[str, list[ast.expr]] = {}
        for child in self.nodes:
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    if isinstance(target, ast.Name):
                        self.assigned.setdefault(target.id, []).append(child.value)
            elif (
                isinstance(child, ast.For)
                and isinstance(child.target, ast.Name)
                and isinstance(child.iter, (ast.Tuple, ast.List))
            ):
                self.assigned.setdefault(child.target.id, []).extend(child.iter.elts)

    def literals(self, node: ast.expr) -> list[ast.expr]:
        """The literal strings (or f-strings) an expression can be: `a if c else b`, a name."""
        if isinstance(node, ast.IfExp):
            return self.literals(node.body) + self.literals(node.orelse)
        if isinstance(node, ast.Name):
            return [x for value in self.assigned.get(node.id, []) for x in self.literals(value)]
        return [node] if isinstance(node, (ast.Constant, ast.JoinedStr)) else []

    def values(self, node: ast.JoinedStr) -> tuple[str, ...]:
        """The values of an f-string's one placeholder, when it is a name bound to literals."""
        filled = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        if len(filled) != 1 or not isinstance(filled[0].value, ast.Name):
            return ()
        found = self.literals(filled[0].value)
        if not found or not all(isinstance(x, ast.Constant) for x in found):
            return ()
        return tuple(str(x.value) for x in found if isinstance(x, ast.Constant))


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _called(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return ""


def _pattern(node: ast.JoinedStr) -> str:
    return "".join(
        str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
    )


def _relative_arguments(
    scopes: list[_Scope], relative: dict[str, tuple[int, str]]
) -> dict[int, str]:
    """The key arguments of calls through a prefixing translator -> the prefix it adds."""
    prefix_of: dict[int, str] = {}
    for scope in scopes:
        for node in scope.nodes:
            if isinstance(node, ast.Call) and _called(node) in relative:
                index, prefix = relative[_called(node)]
                if len(node.args) > index:
                    for literal in scope.literals(node.args[index]):
                        prefix_of[id(literal)] = prefix
    return prefix_of


def _prefixers(
    scopes: list[_Scope],
    prefix_of: dict[int, str],
    relative: dict[str, tuple[int, str]],
    tables: set[str],
    forwarding: set[int],
) -> dict[str, tuple[int, str]]:
    """Functions that say their argument under a prefix (f"cmd.{name}" of parameter `name`,
    or `say(key)` of parameter `key`): function name -> (position of that parameter, prefix)."""
    found: dict[str, tuple[int, str]] = {}
    for scope in scopes:
        for node in scope.nodes:
            if isinstance(node, ast.Call) and _called(node) in relative:
                index, prefix = relative[_called(node)]
                arg = node.args[index] if len(node.args) > index else None
                if isinstance(arg, ast.Name) and arg.id in scope.params:
                    found[scope.name] = (scope.params.index(arg.id), prefix)
            elif isinstance(node, ast.JoinedStr) and len(node.values) == 2:
                head, value = node.values
                if (
                    isinstance(head, ast.Constant)
                    and isinstance(value, ast.FormattedValue)
                    and isinstance(value.value, ast.Name)
                    and value.value.id in scope.params
                ):
                    prefix = prefix_of.get(id(node), "") + str(head.value)
                    if prefix.split(".", 1)[0] in tables:
                        found[scope.name] = (scope.params.index(value.value.id), prefix)
                        forwarding.add(id(node))
    return found
