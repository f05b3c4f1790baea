"""Imports around the fixes: add the ones a fix needs where isort/ruff would put them, and drop
the ones the fixes left unused.

Added imports go into the matching section of the file's leading import run, the way isort and
ruff's ``I`` rules order it (``from __future__``, standard library, third party, the project's
own): alphabetically among the section's plain ``import x`` lines (``from x import y`` lines after
them); a section the file does not have yet becomes a new block, separated by a blank line. The
project's own imports are told apart from third-party ones as isort's blocks show them: relative
imports, and absolute non-stdlib imports in a later blank-line-separated block than the first one.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

import libcst as cst
import libcst.helpers

from autofix.chunks import lost_comments, newline

FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY = range(4)
_STDLIB = frozenset(sys.stdlib_module_names)


def section_of(module: str) -> int:
    """The isort section of an absolute module that a fix adds."""
    top = module.partition(".")[0]
    if top == "__future__":
        return FUTURE
    return STDLIB if top in _STDLIB else THIRD_PARTY


def _module(node: ast.Import | ast.ImportFrom) -> str:
    return node.names[0].name if isinstance(node, ast.Import) else node.module or ""


def _sections(region: list[ast.Import | ast.ImportFrom], lines: Sequence[str]) -> list[int]:
    """The section of each statement of the leading import run."""
    groups = []
    group = 0
    for i, node in enumerate(region):
        if i and any(not ln.strip() for ln in lines[(region[i - 1].end_lineno or 0):node.lineno - 1]):
            group += 1
        groups.append(group)
    out = []
    third_group = None
    for node, g in zip(region, groups, strict=True):
        if isinstance(node, ast.ImportFrom) and node.level:
            out.append(FIRST_PARTY)
            continue
        sec = section_of(_module(node))
        if sec == THIRD_PARTY:
            third_group = g if third_group is None else third_group
            if g != third_group:
                sec = FIRST_PARTY
        out.append(sec)
    return out


def _above_comments(lines: Sequence[str], at: int, floor: int) -> int:
    """Move an insertion point (0-based line index) above the comment lines directly over it."""
    while at > floor and lines[at - 1].lstrip().startswith("#"):
        at -= 1
    return at


def _insert_one(source: str, tree: ast.Module, module: str, name: str | None) -> str:
    lines = source.splitlines(keepends=True)
    nl = newline(lines[0]) if lines else "\n"
    text = f"import {module}{nl}" if name is None else f"from {module} import {name}{nl}"
    body = tree.body
    first = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
        body[0].value.value, str) else 0
    region: list[ast.Import | ast.ImportFrom] = []
    for node in body[first:]:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            break
        region.append(node)
    floor = (body[first - 1].end_lineno or 0) if first else 0  # never above the docstring
    target = section_of(module)
    sections = _sections(region, lines)
    same = [n for n, s in zip(region, sections, strict=True) if s == target]
    key = module.lower()
    new: list[str]
    if same:
        straight = [n for n in same if isinstance(n, ast.Import)]
        froms = [n for n in same if isinstance(n, ast.ImportFrom)]
        if name is None:
            first_later = next((n for n in straight if _module(n).lower() > key), None)
            if first_later is not None:
                at = _above_comments(lines, first_later.lineno - 1, floor)
            elif straight:
                at = straight[-1].end_lineno or straight[-1].lineno
            else:
                at = _above_comments(lines, same[0].lineno - 1, floor)
        else:
            later = next((n for n in froms if _module(n).lower() > key), None)
            if later is not None:
                at = _above_comments(lines, later.lineno - 1, floor)
            else:
                at = same[-1].end_lineno or same[-1].lineno
        new = [text]
    else:
        after = [n for n, s in zip(region, sections, strict=True) if s > target]
        limit = after[0].lineno if after else sys.maxsize
        before = [n for n, s in zip(region, sections, strict=True) if s < target and n.lineno < limit]
        if before:
            at = before[-1].end_lineno or before[-1].lineno
            new = [nl, text]
        elif after:
            at = _above_comments(lines, after[0].lineno - 1, floor)
            new = [text, nl]
        elif first:
            at = floor
            new = [nl, text]
        else:
            at = body[0].lineno - 1 if body else len(lines)
            new = [text]
        if at < len(lines) and lines[at].strip() and new[-1] != nl and (before or first):
            new.append(nl)
    if at == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += nl
    return "".join(lines[:at]) + "".join(new) + "".join(lines[at:])


def add_imports(source: str, imports: Sequence[tuple[str, str | None]]) -> str:
    """``source`` with the missing ones of ``imports`` (``(module, None)`` for ``import module``,
    ``(module, name)`` for ``from module import name``) added as top-level imports."""
    for module, name in imports:
        tree = ast.parse(source)
        present: set[tuple[str, str | None]] = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                present.update((a.name, None) for a in node.names if a.asname is None)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                present.update((node.module or "", a.name) for a in node.names if a.asname is None)
        if (module, name) not in present:
            source = _insert_one(source, tree, module, name)
    return source


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


def drop_unused_imports(original: ast.Module, fixed: str, tree: ast.Module) -> str:
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
        if new_chunk is not None and not lost_comments(chunk, new_chunk):
            edits.append((start, end, new_chunk))
    for start, end, text in reversed(edits):
        lines[start - 1:end] = [text]
        if not text and start > 1 and not lines[start - 2].strip():
            following = next((ln for ln in lines[start:] if ln), "")
            if not following.strip():  # the import was a block of its own: one blank line, not two
                del lines[start - 2]
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
