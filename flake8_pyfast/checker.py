"""Run the rules over one module: source -> ast -> Analysis -> rules -> Findings.

Both front ends (the flake8 plugin and ``pyfast-fix``) call :func:`lint_tree`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Literal

from flake8_pyfast.analysis.core import Analysis
from flake8_pyfast.analysis.measured import FileMeasure, Position, measure_for
from flake8_pyfast.analysis.settings import DEFAULT_SETTINGS, Settings
from flake8_pyfast.model import Finding
from flake8_pyfast.rule import Rule
from flake8_pyfast.rules import all_rules

#: a module mentioning none of these cannot hold a finding; it costs one substring scan
RELEVANT_WORDS = ("numpy", "torch", "pybullet", "bullet_client")


__all__ = ["DEFAULT_SETTINGS", "Settings", "is_relevant", "lint_source", "lint_tree"]


def is_relevant(text: str) -> bool:
    return any(word in text for word in RELEVANT_WORDS)


def lint_tree(
    tree: ast.Module,
    lines: Sequence[str] | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    rules: Iterable[Rule] | None = None,
    path: str | None = None,
    measure: FileMeasure | Literal["auto"] | None = "auto",
) -> list[Finding]:
    """Findings of ``rules`` (default: all) in ``tree``, sorted, with character columns.

    ``path``, the file's location on disk, lets heat follow calls across the file's project
    (:mod:`flake8_pyfast.analysis.project`); without it each module is judged alone.

    ``lines`` (the source lines, as flake8 hands them over) make the relevance check cheap and turn
    the ``ast``'s UTF-8 byte columns into character columns; without them, columns stay in bytes.

    ``measure``: what a profiled run measured in this file ("auto": the nearest
    ``.pyfast/profile.json`` when ``settings.profile`` allows and ``path`` is given). Measured kinds and
    heat refine the analysis, and each message ends with the share of the run its lines took.
    """
    if lines is not None and not is_relevant("".join(lines)):
        return []
    active = tuple(all_rules() if rules is None else rules)
    if not active:
        return []
    if measure == "auto":
        measure = (measure_for(path, None if lines is None else "".join(lines))
                   if path is not None and settings.profile else None)
    an = _analysis(tree, settings, active, path, measure, collect=False)
    return _finish(_run(an, active), active, lines, measure)


def collect_sites(tree: ast.Module, settings: Settings = DEFAULT_SETTINGS,
                  path: str | None = None) -> tuple[list[Finding], list[Position]]:
    """What a profiled run should watch in ``tree``: the places every rule would report if all code
    were hot (their lines' evaluation counts decide heat), and the expressions a rule asked the kind
    of and got no answer (their values at run time may answer). Byte columns, unsorted sites."""
    active = tuple(all_rules())
    an = _analysis(tree, settings, active, path, None, collect=True)
    try:
        found = _run(an, active, release=False)
        sites = list(dict.fromkeys(an.unknown_sites))
    finally:
        an.release()
    return _apply_supersedes(found, active), sites


def _analysis(tree: ast.Module, settings: Settings, active: Sequence[Rule], path: str | None,
              measure: FileMeasure | None, collect: bool) -> Analysis:
    interest = frozenset(t for rule in active for t in rule.node_types)
    return Analysis(tree, settings, interest, path, measure=measure, collect=collect)


def _run(an: Analysis, active: Sequence[Rule], release: bool = True) -> list[Finding]:
    found: list[Finding] = []
    try:
        for rule in active:
            for node_type in rule.node_types:
                for node in an.collected[node_type]:
                    seen = len(an.observed)
                    try:
                        new = list(rule.check(node, an))
                    except RecursionError:
                        continue  # an expression too deep to reason about: no finding there, go on
                    if new and len(an.observed) != seen:
                        new = [replace(f, kind_source="observed") for f in new]
                    found.extend(new)
    finally:
        if release:
            an.release()  # findings hold no nodes; let the tree be freed by reference counting
    return found


def _finish(found: list[Finding], active: Sequence[Rule], lines: Sequence[str] | None,
            measure: FileMeasure | None) -> list[Finding]:
    found = _apply_supersedes(found, active)
    if measure is not None:
        callees = {r.code for r in active if r.cost_includes_callees}
        found = [_with_cost(f, measure, f.code in callees) for f in found]
    if lines is not None:
        found = [_char_columns(f, lines) for f in found]
    found.sort(key=Finding.sort_key)
    return found


def _with_cost(f: Finding, measure: FileMeasure, callees: bool) -> Finding:
    seconds = measure.seconds(f.line, f.end_line, callees)
    share = measure.share(seconds)
    return replace(f, message=f"{f.message} ({measure.cost(share)})", seconds=seconds, share=share)


def lint_source(
    source: str,
    settings: Settings = DEFAULT_SETTINGS,
    rules: Iterable[Rule] | None = None,
    filename: str = "<string>",
    path: str | None = None,
) -> list[Finding]:
    """Parse and lint ``source`` (``path``: see :func:`lint_tree`). Raises ``SyntaxError``."""
    tree = ast.parse(source, filename=filename)
    return lint_tree(tree, source.splitlines(keepends=True), settings, rules, path)


def _apply_supersedes(found: list[Finding], rules: Sequence[Rule]) -> list[Finding]:
    supersedes = {r.code: r.supersedes for r in rules if r.supersedes}
    if not supersedes:
        return _dedupe(found)
    winners = [f for f in found if f.code in supersedes]
    out = []
    for f in found:
        if any(f.code in supersedes[w.code] and w.contains(f) for w in winners):
            continue
        out.append(f)
    return _dedupe(out)


def _dedupe(found: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in found:
        key = (f.code, f.line, f.col, f.end_line, f.end_col)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _char_col(lines: Sequence[str], line: int, col: int) -> int:
    if not 0 < line <= len(lines):
        return col
    text = lines[line - 1]
    if text.isascii():
        return col
    return len(text.encode("utf-8")[:col].decode("utf-8", errors="replace"))


def _char_columns(f: Finding, lines: Sequence[str]) -> Finding:
    col = _char_col(lines, f.line, f.col)
    end = _char_col(lines, f.end_line, f.end_col)
    fix = f.fix
    if fix is not None and fix.anchors:
        anchors = tuple(
            replace(a, col=_char_col(lines, a.line, a.col), end_col=_char_col(lines, a.end_line, a.end_col))
            for a in fix.anchors
        )
        if anchors != fix.anchors:
            fix = replace(fix, anchors=anchors)
    if col == f.col and end == f.end_col and fix is f.fix:
        return f
    return replace(f, col=col, end_col=end, fix=fix)
