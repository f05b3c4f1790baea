"""Plain data shared by the rules and every front end (flake8, pyfast-fix, pyfast-check)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Anchor:
    """A second node a fix edits besides the finding's own (e.g. the ``if`` a two-statement fix
    removes): the fixer finds it in the concrete syntax tree by ast type name and span.

    Lines are 1-based, columns 0-based (characters once the checker has converted them)."""

    tag: str
    node_type: str
    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class FixData:
    """Base of the frozen dataclass each fixable rule defines for what its detector hands its fix.

    It holds decisions (which variant applies, flags) and locators (paths to sub-nodes, see
    :mod:`flake8_pyfast.locator`), never source text: the fix re-uses the user's own nodes.
    """


@dataclass(frozen=True)
class Fix:
    """How a finding can be rewritten.

    ``data`` is computed by the detector from the ``ast`` (kinds, which variant applies, where the
    parts are) and handed back to the rule's ``fix`` method together with the libcst node found at
    the same span (or at one of ``anchors``); the fix itself only rearranges syntax.
    """

    safe: bool
    data: FixData = field(default_factory=FixData)
    #: why the fix is unsafe, shown by ``pyfast-fix --show-fixes`` and in reports
    reason: str = ""
    #: other nodes the fix rewrites; the fix is applied only if every one of them is rewritten
    anchors: tuple[Anchor, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One reported problem.

    Lines are 1-based, columns are 0-based and count characters (not UTF-8 bytes, which is what
    ``ast`` counts); ``end_line``/``end_col`` close the span of the node the finding is about,
    which is what the fixer uses to find the node again in the concrete syntax tree.
    """

    code: str
    message: str
    line: int
    col: int
    end_line: int
    end_col: int
    #: the ast class name of the node (``"Call"``, ``"Assign"``, ...); the fixer matches it
    node_type: str
    fix: Fix | None = None
    #: "observed" when the finding exists because a profiled run showed what a value held
    #: (``.pyfast/profile.json``), "static" otherwise
    kind_source: str = "static"
    #: the wall seconds a profiled run spent on the finding's lines, and their share of the run
    #: (``None``: no profile for this file)
    seconds: float | None = None
    share: float | None = None

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self) -> tuple[int, int, str]:
        return (self.line, self.col, self.code)

    def contains(self, other: Finding) -> bool:
        """True if ``other``'s span lies inside this finding's span."""
        return (self.line, self.col) <= (other.line, other.col) and (
            other.end_line,
            other.end_col,
        ) <= (self.end_line, self.end_col)


@dataclass(frozen=True)
class Example:
    """A few lines of code a rule must (``expect``) or must not report.

    ``expect`` lists ``(line, code)`` pairs. ``fixed`` is the exact text ``pyfast-fix`` must
    produce (``None``: the rule offers no fix here); ``unsafe`` says the fix needs
    ``--unsafe-fixes``. ``run`` names a function in ``code`` that the tests call on ``inputs``
    before and after a safe fix to check that results are unchanged. ``requires`` lists modules
    the example needs to run (tests skip the run when they are missing, never the lint check).
    """

    code: str
    expect: tuple[tuple[int, str], ...] = ()
    fixed: str | None = None
    unsafe: bool = False
    note: str = ""
    run: str | None = None
    inputs: tuple[tuple[Any, ...], ...] = ()
    requires: tuple[str, ...] = ()
