"""Apply the rules' fixes to source text with libcst, and prove the result before returning it.

The engine lints with the same rules as the flake8 plugin (on the ``ast``), and only when a file
has fixable findings does it parse with libcst. Each finding is matched to the CST node with the
same type and span; the rule's ``fix`` rewrites it. All fixes of a pass are applied bottom-up in
one traversal (nested and adjacent findings included), needed imports are added once, and then:
the output must parse, the fixed findings must be gone and no new finding may appear. Passes
repeat until nothing fixable is left, so a second run changes nothing. If any check fails the
source is returned untouched together with the reason.

The parts: :mod:`autofix.chunks` (which statements to parse, splicing them back),
:mod:`autofix.apply` (the CST applier, precedence), :mod:`autofix.imports` (adding and pruning
imports); this module runs the passes and verifies them.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autofix.apply import apply_fixes
from autofix.chunks import Statements
from autofix.errors import FixError, SourceError
from autofix.imports import drop_unused_imports
from autofix.selection import Selection, noqa_filter
from flake8_pyfast.analysis.measured import FileMeasure, measure_for
from flake8_pyfast.checker import DEFAULT_SETTINGS, Settings, lint_tree
from flake8_pyfast.model import Finding
from flake8_pyfast.rules import all_rules

__all__ = ["MAX_PASSES", "FixError", "FixOutcome", "SourceError", "fix_source", "lint", "wanted"]

MAX_PASSES = 5


@dataclass
class FixOutcome:
    source: str
    fixed: str
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed != self.source


def lint(source: str, selection: Selection, settings: Settings = DEFAULT_SETTINGS,
         path: str | None = None, tree: ast.Module | None = None, file: str | None = None,
         measure: FileMeasure | None = None) -> list[Finding]:
    """Findings of the selected rules, ``# noqa`` applied. Raises :class:`SourceError`.

    ``path`` names the file for messages and per-file selection; ``file``, its location on disk,
    lets heat follow calls across the file's project; ``measure``, a profiled run's measurements of
    exactly this source (see :func:`measure_of`)."""
    if tree is None:
        tree = _parse(source, path)
    codes = set(selection.codes(path))
    rules = [r for r in all_rules() if r.code in codes]
    lines = source.splitlines(keepends=True)
    return noqa_filter(lint_tree(tree, lines, settings, rules, file, measure=measure), lines)


def measure_of(source: str, settings: Settings, file: str | None, profile: Path | None = None) -> FileMeasure | None:
    """What the profile (``profile``, or the nearest ``.pyfast/profile.json``) measured in ``source``."""
    if file is None or not settings.profile:
        return None
    return measure_for(file, source, profile)


def _syntax_message(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        return f"syntax error at {where}: {exc.msg}"
    return f"cannot parse: {exc}"


def wanted(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.safe or unsafe)


def fix_source(source: str, selection: Selection | None = None, *, unsafe: bool = False,
               settings: Settings = DEFAULT_SETTINGS, path: str | None = None,
               file: str | None = None, profile: Path | None = None,
               min_share: float | None = None) -> FixOutcome:
    """Fix ``source``. Raises :class:`SourceError` for unparsable input, :class:`FixError` when a
    fix would break the code (then nothing is returned, so nothing can be written).

    With a profile of this source (``profile``, or the nearest ``.pyfast/profile.json``), its
    findings are the measured ones (observed kinds, measured heat); ``min_share`` then fixes only
    those whose lines took at least that share of the profiled run. A measure holds for the profiled
    text only, so fixing is one pass, checked against a plain lint of the same text."""
    selection = selection or Selection()
    current = source
    applied: list[Finding] = []
    tree = original_tree = _parse(current, path)
    measure = measure_of(current, settings, file, profile)
    findings = lint(current, selection, settings, path, tree, file, measure)
    baseline = findings if measure is None else lint(current, selection, settings, path, tree, file)
    for _ in range(MAX_PASSES if measure is None else 1):
        todo = [f for f in findings if wanted(f, unsafe) and (
            min_share is None or (f.share is not None and f.share >= min_share))]
        if not todo:
            break
        new, done = apply_fixes(current, Statements(tree), todo)
        if not done or new == current:
            break
        tree, after = _verify(new, baseline, done, selection, settings, path, file)
        applied.extend(done)
        if measure is not None:
            # what the profile showed stays reported: the plain lint of the fixed text cannot see it
            kept = {(f.code, f.line) for f in after}
            after += [f for f in findings if f not in done and (f.code, f.line) not in kept]
            after.sort(key=Finding.sort_key)
        current, findings = new, after
        baseline = after
    if applied and not (path or "").endswith("__init__.py"):
        pruned = drop_unused_imports(original_tree, current, tree)
        if pruned != current:
            tree, findings = _verify(pruned, findings, [], selection, settings, path, file)
            current = pruned
    return FixOutcome(source, current, applied, findings)


def _parse(source: str, path: str | None) -> ast.Module:
    try:
        return ast.parse(source, filename=path or "<string>")
    except (SyntaxError, ValueError) as exc:
        raise SourceError(_syntax_message(exc)) from exc
    except (RecursionError, MemoryError) as exc:
        raise SourceError(f"too deeply nested for Python's parser ({type(exc).__name__})") from None


def _verify(new: str, before: Sequence[Finding], done: Sequence[Finding], selection: Selection,
            settings: Settings, path: str | None, file: str | None = None) -> tuple[ast.Module, list[Finding]]:
    try:
        tree = _parse(new, path)
    except SourceError as exc:
        raise FixError(f"the fixed code does not parse ({exc}); fixes: {_where(done)}") from exc
    after = lint(new, selection, settings, path, tree, file, None)
    expected = Counter(f.code for f in before)
    expected.subtract(f.code for f in done)
    got = Counter(f.code for f in after)
    worse = sorted(code for code in got if got[code] > expected[code])
    if worse:
        raise FixError(f"after fixing {_where(done)} the code still (or newly) has {', '.join(worse)}")
    return tree, after


def _where(findings: Sequence[Finding]) -> str:
    return ", ".join(f"{f.code} at {f.line}:{f.col + 1}" for f in findings[:5]) + (" ..." if len(findings) > 5 else "")
