"""Apply the rules' fixes to the libcst tree of each chunk, parenthesising where precedence needs it.

Each finding is matched to the CST node with the same type and span (its own, and one per
anchor); the rule's ``fix`` rewrites it. All fixes of a chunk are applied bottom-up in one
traversal, nested and adjacent findings included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import libcst
import libcst as cst
from libcst.helpers import parse_template_expression, parse_template_statement
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from autofix.chunks import Statements, chunks, covers, lost_comments, newline, splice, tags
from autofix.errors import FixError, SourceError
from autofix.imports import add_imports
from flake8_pyfast.model import Anchor, Finding
from flake8_pyfast.rule import Rule
from flake8_pyfast.rules import all_rules

#: ast class name -> libcst class name, for every node type a finding or an anchor may be on
CST_TYPE = {"Call": "Call", "Assign": "Assign", "BinOp": "BinaryOperation", "If": "If", "While": "While",
            "IfExp": "IfExp", "Assert": "Assert", "AugAssign": "AugAssign", "Expr": "Expr",
            "SimpleStatementLine": "SimpleStatementLine"}  # an anchor only: a statement line a fix wraps

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


class UnknownNodeType(FixError):
    """A rule reports (or anchors) a node type the fixer cannot find in the CST: a rule bug."""


def cst_type(node_type: str, code: str) -> str:
    """The libcst class name for the ast class name ``node_type``; raises :class:`UnknownNodeType`."""
    try:
        return CST_TYPE[node_type]
    except KeyError:
        raise UnknownNodeType(f"{code} targets ast.{node_type}, which autofix.apply.CST_TYPE does not map "
                              "to a libcst node: its findings could never be fixed") from None


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


Key = tuple[str, int, int, int, int]


class Context:
    """The :class:`flake8_pyfast.rule.FixContext` handed to rules, one per chunk."""

    def __init__(self, module: libcst.Module, wrapper: MetadataWrapper, shift: int,
                 lines: Sequence[str] = ()) -> None:
        self.module = module
        self.lines = lines  # the file's lines
        self.wrapper = wrapper
        self.shift = shift  # chunk line = file line + shift
        self.imports: list[tuple[str, str | None]] = []
        self.finding: Finding | None = None  # the finding whose fix runs now
        self._by_key: dict[Key, cst.CSTNode] | None = None

    @property
    def cst(self) -> Any:
        return cst

    def expr(self, template: str, **parts: libcst.BaseExpression) -> libcst.BaseExpression:
        return parse_template_expression(template, config=self.module.config_for_parsing, **parts)

    def stmt(self, template: str, **parts: libcst.BaseExpression) -> libcst.SimpleStatementLine:
        line = parse_template_statement(template, config=self.module.config_for_parsing, **parts)
        assert isinstance(line, cst.SimpleStatementLine)
        return line

    def atom(self, node: libcst.BaseExpression) -> libcst.BaseExpression:
        if isinstance(node, _ATOMS) or node.lpar:
            return node
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    def code(self, node: libcst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def line_indent(self, line: int) -> str:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return text[: len(text) - len(text.lstrip(" \t"))]

    def require_import(self, module: str, name: str | None = None) -> None:
        if (module, name) not in self.imports:
            self.imports.append((module, name))

    def with_keyword(self, call: libcst.Call, name: str, value: libcst.BaseExpression) -> libcst.Call:
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

    def flatten(self, nodes: list[libcst.BaseStatement]) -> libcst.FlattenSentinel[Any]:
        return cst.FlattenSentinel(nodes)

    def anchored(self, tag: str) -> libcst.CSTNode:
        finding = self.finding
        assert finding is not None and finding.fix is not None, "anchored() outside a fix"
        anchor = next((a for a in finding.fix.anchors if a.tag == tag), None)
        if anchor is None:
            raise LookupError(f"{finding.code} has no anchor {tag!r}")
        if self._by_key is None:  # rare: built once per chunk, from positions already computed
            positions: Mapping[cst.CSTNode, CodeRange] = self.wrapper.resolve(PositionProvider)
            wanted = set(CST_TYPE.values())
            self._by_key = {
                (type(n).__name__, p.start.line, p.start.column, p.end.line, p.end.column): n
                for n, p in positions.items() if type(n).__name__ in wanted
            }
        node = self._by_key.get(self._key(anchor, finding.code))
        if node is None:
            raise LookupError(f"{finding.code}: anchor {tag!r} not found")
        return node

    def _key(self, a: Anchor, code: str) -> Key:
        return (cst_type(a.node_type, code), a.line + self.shift, a.col, a.end_line + self.shift, a.end_col)


class Applier(cst.CSTTransformer):
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
            assert finding.fix is not None
            self.ctx.finding = finding
            try:
                replacement = rule.fix(result, finding.fix, self.ctx, anchor)
            except Exception as exc:  # a bug in a rule's fix must not become a broken file
                raise FixError(f"{finding.code} at {finding.line}:{finding.col + 1}: the fix failed: {exc!r}") from exc
            finally:
                self.ctx.finding = None
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


class Applied:
    """What one round over the chunks produced."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.done: dict[int, set[str]] = {}  # finding number -> anchors its fix rewrote
        self.imports: list[tuple[str, str | None]] = []  # imports the fixes need
        self.lost: set[int] = set()  # lines (of the input) whose comments a rewrite lost


def apply_once(lines: list[str], stmts: Statements, todo: Sequence[Finding]) -> Applied:
    """One traversal per chunk; the rewritten chunks spliced back into the text."""
    rules = {r.code: r for r in all_rules()}
    # (start, end) -> (new text, anchors rewritten per finding, imports needed, comment lines lost)
    results: dict[tuple[int, int], tuple[str, dict[int, set[str]], list[tuple[str, str | None]], set[int]]] = {}
    for start, end, numbers in chunks(stmts, todo):
        parsed = _parse_chunk(lines, stmts, start, end)
        if parsed is None:
            continue
        module, header, start, end = parsed
        shift = (1 if header else 0) - (start - 1)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        ctx = Context(module, wrapper, shift, lines)
        index: dict[Key, list[tuple[Rule, int, Finding, str]]] = {}
        for number in numbers:
            f = todo[number]
            assert f.fix is not None
            key = (cst_type(f.node_type, f.code), f.line + shift, f.col, f.end_line + shift, f.end_col)
            index.setdefault(key, []).append((rules[f.code], number, f, "main"))
            for a in f.fix.anchors:
                index.setdefault(ctx._key(a, f.code), []).append((rules[f.code], number, f, a.tag))
        applier = Applier(index, ctx)
        try:
            new_module = wrapper.visit(applier)
        except RecursionError:
            continue  # too deep for libcst: these findings stay reported, unfixed
        if not applier.done:
            continue
        new_code = new_module.code
        text = "".join(lines[start - 1:end])
        offset = start - 1 - (1 if header else 0)
        chunk_lost = {line + offset for line in lost_comments(header + text, new_code)}
        results[(start, end)] = (new_code[len(header):], applier.done, ctx.imports, chunk_lost)
    new, used = splice(lines, [(s, e, r[0]) for (s, e), r in results.items()])
    out = Applied(new)
    for span in sorted(used):
        _, chunk_done, chunk_imports, chunk_lost = results[span]
        out.done.update(chunk_done)
        out.lost |= chunk_lost
        out.imports.extend(i for i in chunk_imports if i not in out.imports)
    return out


def _parse_chunk(lines: list[str], stmts: Statements, start: int, end: int
                 ) -> tuple[cst.Module, str, int, int] | None:
    """The chunk's libcst module (an indented chunk under an ``if True:`` header), widened until
    libcst parses it; ``None`` when it is too deep for libcst."""
    while True:
        text = "".join(lines[start - 1:end])
        first = lines[start - 1]
        indent = first[: len(first) - len(first.lstrip(" \t"))]
        header = f"if True:{newline(first)}" if indent else ""
        try:
            return cst.parse_module(header + text), header, start, end
        except RecursionError:
            return None
        except cst.ParserSyntaxError:
            wider = stmts.widen(start, end)
            if wider is None:  # the whole file, then
                if not header:
                    raise SourceError("libcst cannot parse this file") from None
                start, end = 1, len(lines)
            else:
                start, end = wider


def apply_fixes(source: str, stmts: Statements, todo: Sequence[Finding]) -> tuple[str, list[Finding]]:
    """Apply ``todo``'s fixes. A fix that would rewrite only some of its anchors, or drop a
    comment, is left out (its finding stays reported) and the others are applied again."""
    todo = list(todo)
    lines = source.splitlines(keepends=True)
    while todo:
        got = apply_once(lines, stmts, todo)
        new = add_imports(got.text, got.imports) if got.imports else got.text
        drop = {i for i, f in enumerate(todo) if i in got.done and got.done[i] != tags(f)}
        if got.lost:
            blamed = {i for i, f in enumerate(todo) if i in got.done and any(covers(f, ln) for ln in got.lost)}
            drop |= blamed or set(got.done)
        if not drop:
            return new, [f for i, f in enumerate(todo) if i in got.done]
        todo = [f for i, f in enumerate(todo) if i not in drop]
    return source, []

