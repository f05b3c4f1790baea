"""Apply the rules' fixes to source text with libcst, and prove the result before returning it.

The engine lints with the same rules as the flake8 plugin (on the ``ast``), and only when a file
has fixable findings does it parse with libcst. Each finding is matched to the CST node with the
same type and span; the rule's ``fix`` rewrites it. All fixes of a pass are applied bottom-up in
one traversal (nested and adjacent findings included), needed imports are added once, and then:
the output must parse, the fixed findings must be gone and no new finding may appear. Passes
repeat until nothing fixable is left, so a second run changes nothing. If any check fails the
source is returned untouched together with the reason.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import libcst.helpers
from libcst.helpers import parse_template_expression, parse_template_statement
from libcst.metadata import MetadataWrapper, PositionProvider

from autofix.selection import Selection, noqa_filter
from flake8_pyfast.checker import DEFAULT_SETTINGS, Settings, lint_tree
from flake8_pyfast.model import Finding
from flake8_pyfast.rule import Rule
from flake8_pyfast.rules import all_rules

MAX_PASSES = 5

#: ast class name -> libcst class name, for the node types findings are reported on
CST_TYPE = {"Call": "Call", "Assign": "Assign", "BinOp": "BinaryOperation", "If": "If", "While": "While",
            "IfExp": "IfExp", "Assert": "Assert", "AugAssign": "AugAssign", "Expr": "Expr"}

#: expressions that never need parentheses to keep their meaning as an operand
_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float, cst.Imaginary,
          cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.List, cst.Tuple, cst.Dict,
          cst.Set, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.Ellipsis)
#: binding strength of operators (Python's precedence table, loosest first)
_BINARY = {
    cst.BitOr: 5, cst.BitXor: 6, cst.BitAnd: 7, cst.LeftShift: 8, cst.RightShift: 8, cst.Add: 9,
    cst.Subtract: 9, cst.Multiply: 10, cst.Divide: 10, cst.FloorDivide: 10, cst.Modulo: 10,
    cst.MatrixMultiply: 10, cst.Power: 12,
}
_ATOM = 14


def _precedence(node: cst.CSTNode) -> int:
    if getattr(node, "lpar", None) or isinstance(node, _ATOMS):
        return _ATOM
    if isinstance(node, cst.BinaryOperation):
        return _BINARY[type(node.operator)]
    if isinstance(node, cst.UnaryOperation):
        return 3 if isinstance(node.operator, cst.Not) else 11
    if isinstance(node, cst.Comparison):
        return 4
    if isinstance(node, cst.BooleanOperation):
        return 2 if isinstance(node.operator, cst.And) else 1
    if isinstance(node, cst.Await):
        return 13
    return 0  # IfExp, Lambda, NamedExpr, ...


def _required(parent: cst.CSTNode | None, child: cst.CSTNode) -> int:
    """The precedence ``child`` needs to stand unparenthesised where it is in ``parent``."""
    if isinstance(parent, cst.Attribute | cst.Subscript) and parent.value is child:
        return _ATOM
    if isinstance(parent, cst.Call) and parent.func is child:
        return _ATOM
    if isinstance(parent, cst.BinaryOperation):
        p = _BINARY[type(parent.operator)]
        if isinstance(parent.operator, cst.Power):  # right-associative
            return p + 1 if parent.left is child else 11
        return p if parent.left is child else p + 1
    if isinstance(parent, cst.UnaryOperation):
        return 3 if isinstance(parent.operator, cst.Not) else 11
    if isinstance(parent, cst.Comparison | cst.ComparisonTarget):
        return 5
    if isinstance(parent, cst.BooleanOperation):
        return 3 if isinstance(parent.operator, cst.And) else 2
    if isinstance(parent, cst.Await):
        return _ATOM
    return 0


class FixError(Exception):
    """A fix could not be applied safely; the file is left as it was."""


class SourceError(Exception):
    """The source cannot be parsed (by ``ast`` or by libcst)."""


@dataclass
class FixOutcome:
    source: str
    fixed: str
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed != self.source


class Context:
    """The :class:`flake8_pyfast.rule.FixContext` handed to rules."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.imports: list[tuple[str, str | None]] = []

    @property
    def cst(self) -> Any:
        return cst

    def expr(self, template: str, **parts: Any) -> Any:
        return parse_template_expression(template, config=self.module.config_for_parsing, **parts)

    def stmt(self, template: str, **parts: Any) -> Any:
        return parse_template_statement(template, config=self.module.config_for_parsing, **parts)

    def atom(self, node: Any) -> Any:
        if isinstance(node, _ATOMS) or getattr(node, "lpar", None):
            return node
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    def code(self, node: Any) -> str:
        return self.module.code_for_node(node)

    def require_import(self, module: str, name: str | None = None) -> None:
        if (module, name) not in self.imports:
            self.imports.append((module, name))

    def with_keyword(self, call: Any, name: str, value: Any) -> Any:
        args = list(call.args)
        for i, arg in enumerate(args):
            if arg.keyword is not None and arg.keyword.value == name:
                args[i] = arg.with_changes(value=value)
                return call.with_changes(args=args)
        new = cst.Arg(value=value, keyword=cst.Name(name),
                      equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                            whitespace_after=cst.SimpleWhitespace("")))
        if args:
            last = args[-1]
            if isinstance(last.comma, cst.Comma):  # a trailing comma: keep the layout, add after it
                between = args[-2].comma if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else (
                    cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                args[-1] = last.with_changes(comma=between)
                new = new.with_changes(comma=last.comma)
            else:
                args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new)
        return call.with_changes(args=args)

    def flatten(self, nodes: list[Any]) -> Any:
        return cst.FlattenSentinel(nodes)


Key = tuple[str, int, int, int, int]


class _Applier(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, index: dict[Key, list[tuple[Rule, int, Finding, str]]], ctx: Context) -> None:
        super().__init__()
        self.index = index
        self.ctx = ctx
        self.types = {k[0] for k in index}
        self.stack: list[cst.CSTNode] = []
        #: finding number -> the anchors ("main", "remove", ...) its fix rewrote
        self.done: dict[int, set[str]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode, updated_node: Any) -> Any:
        self.stack.pop()
        name = type(original_node).__name__
        if name not in self.types:
            return updated_node
        pos = self.get_metadata(PositionProvider, original_node, None)
        if pos is None:
            return updated_node
        entries = self.index.get((name, pos.start.line, pos.start.column, pos.end.line, pos.end.column))
        if not entries:
            return updated_node
        result = updated_node
        for rule, number, finding, anchor in entries:
            try:
                replacement = rule.fix(result, finding.fix, self.ctx, anchor)  # type: ignore[arg-type]
            except Exception as exc:  # a bug in a rule's fix must not become a broken file
                raise FixError(f"{finding.code} at {finding.line}:{finding.col + 1}: the fix failed: {exc!r}") from exc
            if replacement is None:
                continue
            self.done.setdefault(number, set()).add(anchor)
            if isinstance(replacement, cst.FlattenSentinel | cst.RemovalSentinel):
                return replacement
            result = self._place(original_node, replacement)
        return result

    def _place(self, original: cst.CSTNode, replacement: Any) -> Any:
        if not isinstance(replacement, cst.BaseExpression):
            return replacement
        lpar = getattr(original, "lpar", None)
        if lpar and not replacement.lpar:
            return replacement.with_changes(lpar=lpar, rpar=original.rpar)  # type: ignore[attr-defined]
        parent = self.stack[-1] if self.stack else None
        if _precedence(replacement) < _required(parent, original):
            return replacement.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return replacement


def lint(source: str, selection: Selection, settings: Settings = DEFAULT_SETTINGS,
         path: str | None = None, tree: ast.Module | None = None) -> list[Finding]:
    """Findings of the selected rules, ``# noqa`` applied. Raises :class:`SourceError`."""
    if tree is None:
        tree = _parse(source, path)
    codes = set(selection.codes(path))
    rules = [r for r in all_rules() if r.code in codes]
    lines = source.splitlines(keepends=True)
    return noqa_filter(lint_tree(tree, lines, settings, rules), lines)


def _syntax_message(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        return f"syntax error at {where}: {exc.msg}"
    return f"cannot parse: {exc}"


def wanted(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.safe or unsafe)


def fix_source(source: str, selection: Selection | None = None, *, unsafe: bool = False,
               settings: Settings = DEFAULT_SETTINGS, path: str | None = None) -> FixOutcome:
    """Fix ``source``. Raises :class:`SourceError` for unparsable input, :class:`FixError` when a
    fix would break the code (then nothing is returned, so nothing can be written)."""
    selection = selection or Selection()
    current = source
    applied: list[Finding] = []
    tree = original_tree = _parse(current, path)
    findings = lint(current, selection, settings, path, tree)
    for _ in range(MAX_PASSES):
        todo = [f for f in findings if wanted(f, unsafe)]
        if not todo:
            break
        new, done = _apply(current, tree, todo)
        if not done or new == current:
            break
        tree, after = _verify(new, findings, done, selection, settings, path)
        applied.extend(done)
        current, findings = new, after
    if applied and not (path or "").endswith("__init__.py"):
        pruned = _drop_unused_imports(original_tree, current, tree)
        if pruned != current:
            tree, findings = _verify(pruned, findings, [], selection, settings, path)
            current = pruned
    return FixOutcome(source, current, applied, findings)


def _parse(source: str, path: str | None) -> ast.Module:
    try:
        return ast.parse(source, filename=path or "<string>")
    except (SyntaxError, ValueError) as exc:
        raise SourceError(_syntax_message(exc)) from exc
    except (RecursionError, MemoryError) as exc:
        raise SourceError(f"too deeply nested for Python's parser ({type(exc).__name__})") from None


# ---------------------------------------------------------------------------------------------
# applying fixes to the statements that need them
# ---------------------------------------------------------------------------------------------

class _Statements:
    """Line ranges of every statement, to cut the source into complete, parsable pieces.

    Statements are indexed by the lines they cover, so each question looks only at the few
    statements around a finding (a file with 100,000 lines and 16,000 findings stays linear).
    """

    def __init__(self, tree: ast.Module) -> None:
        self.by_line: dict[int, list[tuple[int, int, int]]] = {}  # line -> (start, end, order)
        order = 0
        stack: list[ast.AST] = [tree]
        while stack:
            node = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    start, end = child.lineno, child.end_lineno or child.lineno
                    order += 1
                    for line in range(start, end + 1):
                        self.by_line.setdefault(line, []).append((start, end, order))
                    stack.append(child)
                elif isinstance(child, ast.excepthandler | ast.match_case):
                    stack.append(child)

    def _around(self, start: int, end: int) -> set[tuple[int, int, int]]:
        found: set[tuple[int, int, int]] = set()
        for line in range(start, end + 1):
            found.update(self.by_line.get(line, ()))
        return found

    def innermost(self, start: int, end: int) -> tuple[int, int] | None:
        """The smallest statement span containing ``[start, end]`` (the deepest on ties)."""
        best = None
        for s_start, s_end, order in self.by_line.get(start, ()):
            if s_start <= start and end <= s_end:
                key = (s_end - s_start, -order)
                if best is None or key < best[0]:
                    best = (key, (s_start, s_end))
        return best[1] if best else None

    def close(self, start: int, end: int) -> tuple[int, int]:
        """Widen ``[start, end]`` until no statement is cut in two."""
        changed = True
        while changed:
            changed = False
            for s_start, s_end, _ in self._around(start, end):
                contains_range = s_start <= start and end <= s_end
                inside_range = start <= s_start and s_end <= end
                if not contains_range and not inside_range:
                    start, end = min(start, s_start), max(end, s_end)
                    changed = True
        return start, end

    def widen(self, start: int, end: int) -> tuple[int, int] | None:
        """The smallest statement strictly larger than ``[start, end]`` (``None``: the module)."""
        best: tuple[int, int] | None = None
        for s_start, s_end, _ in self.by_line.get(start, ()):
            larger = s_start <= start and end <= s_end and (s_start, s_end) != (start, end)
            if larger and (best is None or s_end - s_start < best[1] - best[0]):
                best = (s_start, s_end)
        return best


def _spans(f: Finding) -> list[tuple[int, int]]:
    assert f.fix is not None
    return [(f.line, f.end_line)] + [(a[2], a[4]) for a in f.fix.data.get("anchors", ())]


def _chunks(stmts: _Statements, todo: Sequence[Finding]) -> list[tuple[int, int, list[int]]]:
    """Line ranges of complete statements covering the findings: (start, end, finding numbers)."""
    ranges: list[tuple[int, int, list[int]]] = []
    for number, f in enumerate(todo):
        start, end = None, None
        for s_start, s_end in _spans(f):
            lo, hi = stmts.innermost(s_start, s_end) or (s_start, s_end)
            start = lo if start is None else min(start, lo)
            end = hi if end is None else max(end, hi)
        assert start is not None and end is not None
        start, end = stmts.close(start, end)
        ranges.append((start, end, [number]))
    ranges.sort()
    merged: list[tuple[int, int, list[int]]] = []
    for start, end, numbers in ranges:
        while merged and start <= merged[-1][1]:  # overlaps; a widened range may swallow earlier ones too
            p_start, p_end, p_numbers = merged.pop()
            start, end = stmts.close(min(start, p_start), max(end, p_end))
            numbers = p_numbers + numbers
        merged.append((start, end, numbers))
    return merged


def _apply(source: str, tree: ast.Module, todo: Sequence[Finding]) -> tuple[str, list[Finding]]:
    """Apply ``todo``'s fixes. A fix that would rewrite only some of its anchors, or drop a
    comment, is left out (its finding stays reported) and the others are applied again."""
    todo = list(todo)
    stmts = _Statements(tree)
    lines = source.splitlines(keepends=True)
    while todo:
        new, done, imports, lost = _apply_once(lines, stmts, todo)
        if imports:
            new = _add_imports(new, imports)
        drop = {i for i, f in enumerate(todo) if i in done and done[i] != _anchors(f)}
        if lost:
            blamed = {i for i, f in enumerate(todo) if i in done and any(_covers(f, ln) for ln in lost)}
            drop |= blamed or set(done)
        if not drop:
            return new, [f for i, f in enumerate(todo) if i in done]
        todo = [f for i, f in enumerate(todo) if i not in drop]
    return source, []


def _anchors(f: Finding) -> set[str]:
    assert f.fix is not None
    return {"main"} | {a[0] for a in f.fix.data.get("anchors", ())}


def _covers(f: Finding, line: int) -> bool:
    return any(start <= line <= end for start, end in _spans(f))


def _comment_tokens(source: str) -> list[tuple[int, str]]:
    try:
        return [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        return []


def _lost_comments(before: str, after: str) -> set[int]:
    """Lines of ``before`` holding a comment that ``after`` no longer has."""
    old = _comment_tokens(before)
    have = Counter(text for _, text in old)
    now = Counter(text for _, text in _comment_tokens(after))
    return {line for line, text in old if have[text] > now[text]}


def _newline(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\r" if line.endswith("\r") else "\n"


def _apply_once(lines: list[str], stmts: _Statements, todo: Sequence[Finding]
                ) -> tuple[str, dict[int, set[str]], list[tuple[str, str | None]], set[int]]:
    """One traversal per chunk. Returns the new text, the anchors each finding's fix rewrote, the
    imports the fixes need, and the lines (of the input) whose comments a rewrite lost."""
    rules = {r.code: r for r in all_rules()}
    done: dict[int, set[str]] = {}
    imports: list[tuple[str, str | None]] = []
    lost: set[int] = set()
    # (start, end, new text, anchors rewritten per finding, imports needed, comment lines lost)
    replaced: list[tuple[int, int, str, dict[int, set[str]], list[tuple[str, str | None]], set[int]]] = []
    for start, end, numbers in _chunks(stmts, todo):
        while True:
            text = "".join(lines[start - 1:end])
            first = lines[start - 1]
            indent = first[: len(first) - len(first.lstrip(" \t"))]
            header = f"if True:{_newline(first)}" if indent else ""
            try:
                module = cst.parse_module(header + text)
                break
            except RecursionError:
                module = None
                break
            except cst.ParserSyntaxError:
                wider = stmts.widen(start, end)
                if wider is None:  # the whole file, then
                    if not header:
                        raise SourceError("libcst cannot parse this file") from None
                    start, end = 1, len(lines)
                else:
                    start, end = wider
        if module is None:
            continue
        shift = (1 if header else 0) - (start - 1)
        index: dict[Key, list[tuple[Rule, int, Finding, str]]] = {}
        for number in numbers:
            f = todo[number]
            assert f.fix is not None
            kind = CST_TYPE.get(f.node_type)
            if kind is None:
                continue
            index.setdefault((kind, f.line + shift, f.col, f.end_line + shift, f.end_col), []).append(
                (rules[f.code], number, f, "main"))
            for tag, node_type, line, col, end_line, end_col in f.fix.data.get("anchors", ()):
                key = (CST_TYPE.get(node_type, node_type), line + shift, col, end_line + shift, end_col)
                index.setdefault(key, []).append((rules[f.code], number, f, tag))
        ctx = Context(module)
        applier = _Applier(index, ctx)
        try:
            new_module = MetadataWrapper(module, unsafe_skip_copy=True).visit(applier)
        except RecursionError:
            continue  # too deep for libcst: these findings stay reported, unfixed
        if not applier.done:
            continue
        new_code = new_module.code
        offset = start - 1 - (1 if header else 0)
        chunk_lost = {line + offset for line in _lost_comments(header + text, new_code)}
        replaced.append((start, end, new_code[len(header):], applier.done, ctx.imports, chunk_lost))
    pieces: list[str] = []
    at = 0  # index of the next original line to copy
    for start, end, new_text, chunk_done, chunk_imports, chunk_lost in sorted(replaced, key=lambda r: r[:2]):
        if start - 1 < at:
            continue  # widened over a neighbour (after a parse failure): leave these findings unfixed
        pieces.extend(lines[at:start - 1])
        pieces.append(new_text)
        at = end
        done.update(chunk_done)
        lost |= chunk_lost
        imports.extend(i for i in chunk_imports if i not in imports)
    pieces.extend(lines[at:])
    return "".join(pieces), done, imports, lost


#: imports a fix may leave unused and that are safe to drop (no side effects worth keeping)
_PRUNABLE = ("numpy", "math", "torch.utils.data")


def _loads(tree: ast.AST) -> Counter[str]:
    return Counter(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store))


def _exported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
                strings = (c for c in ast.walk(node.value) if isinstance(c, ast.Constant))
                names |= {c.value for c in strings if isinstance(c.value, str)}
    return names


def _drop_unused_imports(original: ast.Module, fixed: str, tree: ast.Module) -> str:
    """Remove top-level imports of ``_PRUNABLE`` modules that only the fixes stopped using."""
    before = _loads(original)
    after = _loads(tree)
    exported = _exported(tree)
    lines = fixed.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom) or (isinstance(node, ast.ImportFrom) and node.level):
            continue
        drop = set()
        for alias in node.names:
            module = alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
            bound = alias.asname or (alias.name.partition(".")[0] if isinstance(node, ast.Import) else alias.name)
            prunable = any(module == p or module.startswith(p + ".") for p in _PRUNABLE)
            if prunable and before[bound] and not after[bound] and bound not in exported:
                drop.add(alias.name)
        if not drop:
            continue
        start, end = node.lineno, node.end_lineno or node.lineno
        chunk = "".join(lines[start - 1:end])
        new_chunk = _without_aliases(chunk, drop)
        if new_chunk is not None and not _lost_comments(chunk, new_chunk):
            edits.append((start, end, new_chunk))
    for start, end, text in reversed(edits):
        lines[start - 1:end] = [text]
    out = "".join(lines)
    if edits and edits[0][0] == 1 and not fixed[:1].isspace():
        out = out.lstrip("\r\n")  # the file began with the removed import: no blank lines on top
    return out


def _without_aliases(chunk: str, drop: set[str]) -> str | None:
    try:
        module = cst.parse_module(chunk)
    except cst.ParserSyntaxError:
        return None

    class Prune(cst.CSTTransformer):
        def leave_Import(self, original: cst.Import, updated: cst.Import) -> Any:
            return self._prune(updated)

        def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> Any:
            if isinstance(updated.names, cst.ImportStar):
                return updated
            return self._prune(updated)

        @staticmethod
        def _prune(node: Any) -> Any:
            names = [a for a in node.names if cst.helpers.get_full_name_for_node(a.name) not in drop]
            if not names:
                return cst.RemovalSentinel.REMOVE
            names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return node.with_changes(names=names)

    code = module.visit(Prune()).code
    return "" if not code.strip() else code


def _add_imports(source: str, imports: Sequence[tuple[str, str | None]]) -> str:
    """Add missing top-level imports after the file's leading import block (as text)."""
    tree = ast.parse(source)
    present: set[tuple[str, str | None]] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            present.update((a.name, None) for a in node.names if a.asname is None)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            present.update((node.module or "", a.name) for a in node.names if a.asname is None)
    missing = [i for i in imports if i not in present]
    if not missing:
        return source
    body = tree.body
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
        body[0].value.value, str
    ):
        i = 1
    anchor: ast.stmt | None = body[i - 1] if i else None
    while i < len(body) and isinstance(body[i], ast.Import | ast.ImportFrom):
        anchor = body[i]
        i += 1
    lines = source.splitlines(keepends=True)
    newline = _newline(lines[0]) if lines else "\n"
    text = "".join(f"import {mod}{newline}" if name is None else f"from {mod} import {name}{newline}"
                   for mod, name in missing)
    if anchor is None:
        at = (body[0].lineno - 1) if body else len(lines)
    else:
        at = anchor.end_lineno or anchor.lineno
        if at == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
    return "".join(lines[:at]) + text + "".join(lines[at:])


def _verify(new: str, before: Sequence[Finding], done: Sequence[Finding], selection: Selection,
            settings: Settings, path: str | None) -> tuple[ast.Module, list[Finding]]:
    try:
        tree = _parse(new, path)
    except SourceError as exc:
        raise FixError(f"the fixed code does not parse ({exc}); fixes: {_where(done)}") from exc
    after = lint(new, selection, settings, path, tree)
    expected = Counter(f.code for f in before)
    expected.subtract(f.code for f in done)
    got = Counter(f.code for f in after)
    worse = sorted(code for code in got if got[code] > expected[code])
    if worse:
        raise FixError(f"after fixing {_where(done)} the code still (or newly) has {', '.join(worse)}")
    return tree, after


def _where(findings: Sequence[Finding]) -> str:
    return ", ".join(f"{f.code} at {f.line}:{f.col + 1}" for f in findings[:5]) + (" ..." if len(findings) > 5 else "")
