"""Cut a module into the smallest runs of complete statements that hold the findings, and splice
the rewritten runs back into the text; plus the comment bookkeeping that guards every rewrite.

Only these runs are parsed with libcst, so a fix in a 100,000-line file costs a few statements.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence

from flake8_pyfast.model import Finding


class Statements:
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


def spans(f: Finding) -> list[tuple[int, int]]:
    """The line ranges a finding's fix edits: its own node's and its anchors'."""
    assert f.fix is not None
    return [(f.line, f.end_line)] + [(a.line, a.end_line) for a in f.fix.anchors]


def tags(f: Finding) -> set[str]:
    """The anchors a complete fix of ``f`` rewrites (``"main"`` is the finding's own node)."""
    assert f.fix is not None
    return {"main"} | {a.tag for a in f.fix.anchors}


def covers(f: Finding, line: int) -> bool:
    return any(start <= line <= end for start, end in spans(f))


def chunks(stmts: Statements, todo: Sequence[Finding]) -> list[tuple[int, int, list[int]]]:
    """Line ranges of complete statements covering the findings: (start, end, finding numbers)."""
    ranges: list[tuple[int, int, list[int]]] = []
    for number, f in enumerate(todo):
        start, end = None, None
        for s_start, s_end in spans(f):
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


def splice(lines: Sequence[str], replaced: Iterable[tuple[int, int, str]]) -> tuple[str, set[tuple[int, int]]]:
    """``lines`` with each (start, end) run of lines replaced by its new text. A run that starts
    inside an earlier one (widened over a neighbour after a parse failure) is skipped: returns the
    text and the runs actually used."""
    pieces: list[str] = []
    used: set[tuple[int, int]] = set()
    at = 0  # index of the next original line to copy
    for start, end, new_text in sorted(replaced, key=lambda r: r[:2]):
        if start - 1 < at:
            continue
        pieces.extend(lines[at:start - 1])
        pieces.append(new_text)
        used.add((start, end))
        at = end
    pieces.extend(lines[at:])
    return "".join(pieces), used


def comment_tokens(source: str) -> list[tuple[int, str]]:
    try:
        return [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        return []


def lost_comments(before: str, after: str) -> set[int]:
    """Lines of ``before`` holding a comment that ``after`` no longer has."""
    old = comment_tokens(before)
    have = Counter(text for _, text in old)
    now = Counter(text for _, text in comment_tokens(after))
    return {line for line, text in old if have[text] > now[text]}


def newline(line: str) -> str:
    """The line ending ``line`` uses (``"\\n"`` when it has none)."""
    return "\r\n" if line.endswith("\r\n") else "\r" if line.endswith("\r") else "\n"
