"""The base class every rule module subclasses.

A rule is one module under ``flake8_pyfast/rules/`` named ``pyfNNN_<name>.py`` holding one
:class:`Rule` subclass: its code, message, documentation, detector, optional fix, and its good
and bad examples. Subclassing registers the rule; the package imports every such module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from flake8_pyfast.model import Anchor, Example, Finding, Fix

if TYPE_CHECKING:
    from typing import TypeAlias

    import libcst as cst

    from flake8_pyfast.analysis import Analysis

    #: what a rule's ``fix`` returns: the replacement node, several statements, a removal, or
    #: ``None`` (leave this finding unfixed)
    FixResult: TypeAlias = "cst.CSTNode | cst.FlattenSentinel[Any] | cst.RemovalSentinel | None"

REGISTRY: dict[str, type[Rule]] = {}


class FixContext(Protocol):
    """What the fixer hands a rule's ``fix`` method (implemented in :mod:`autofix.apply`).

    Rules never import libcst at run time (only under ``TYPE_CHECKING``), so the flake8 path never
    pays for it. Build replacements from the user's own nodes (see :mod:`flake8_pyfast.locator`);
    templates hold only the text the fix adds.
    """

    def expr(self, template: str, **parts: cst.BaseExpression) -> cst.BaseExpression:
        """Parse ``template`` as an expression, ``{name}`` replaced by the given CST nodes."""

    def stmt(self, template: str, **parts: cst.BaseExpression) -> cst.SimpleStatementLine:
        """Parse ``template`` as one simple statement line."""

    def atom(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """``node`` wrapped in parentheses unless it already binds tighter than any operator."""

    def code(self, node: cst.CSTNode) -> str:
        """The source text of a CST node."""

    def require_import(self, module: str, name: str | None = None) -> None:
        """Make sure ``import module`` (or ``from module import name``) exists in the file."""

    def line_indent(self, line: int) -> str:
        """The leading whitespace of the file's line ``line`` (tabs stay tabs)."""

    def with_keyword(self, call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
        """``call`` with keyword ``name=value`` added, or replacing an existing one."""

    def flatten(self, nodes: list[cst.BaseStatement]) -> cst.FlattenSentinel[Any]:
        """Replace one statement by several."""

    def anchored(self, tag: str) -> cst.CSTNode:
        """The original CST node at the current finding's anchor ``tag`` (for a fix that re-uses
        part of another statement than the one it rewrites)."""

    @property
    def cst(self) -> Any:
        """The ``libcst`` module, for rules that build nodes by hand."""


#: the date of the recorded ``bench/pattern_speed.py`` run every ``Speedup`` constant comes from
SPEEDUPS_RECORDED = "2026-11-30"
#: the values ``Rule.harness_phase`` and ``Rule.equivalence`` may take
HARNESS_PHASES = ("simulation", "conversion", "policy", "update")
EQUIVALENCE_MODES = ("exact", "tolerance", "invariants")


def _factor(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}" if value >= 2 else f"{value:.2f}"


@dataclass(frozen=True)
class Speedup:
    """A measured speed factor: the reported pattern's time over the use-instead form's time.

    Copied from the last recorded run of ``bench/pattern_speed.py``
    (``bench/results/pattern_speed.json``): ``median`` over its rounds, ``low``/``high`` the
    interquartile range (IQR). ``tests/test_speed_claims.py`` checks every constant against the record.
    Rules quote a factor only through these (messages: :attr:`claim`; documentation: a
    ``{speedup:KEY}`` placeholder), so a factor below 1 is always worded as a slowdown.
    """

    median: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{_factor(self.median)}x"

    @property
    def spread(self) -> str:
        return f"{_factor(self.low)}-{_factor(self.high)}x"

    @property
    def claim(self) -> str:
        """``"4.3x faster"``; ``"slower (0.85x)"`` when even the upper quartile is below 1;
        ``"no clear gain (1.08x)"`` when the interquartile range straddles 1."""
        if self.low > 1:
            return f"{self} faster"
        if self.high < 1:
            return f"slower ({self})"
        return f"no clear gain ({self})"

    def describe(self) -> str:
        """The documentation's form: the factor, what it means, and its interquartile range."""
        if self.low > 1:
            words = f"{self} faster"
        elif self.high < 1:
            words = f"{self}, i.e. slower"
        else:
            words = f"{self}, no clear gain"
        return f"{words} (IQR {self.spread})"


_SPEEDUP_PLACEHOLDER = re.compile(r"\{speedup:(\w+)\}")


class Rule:
    """Subclass per rule. Class attributes are data; ``check`` and ``fix`` are the behaviour."""

    code: ClassVar[str]
    name: ClassVar[str]
    #: one line for the README table
    summary: ClassVar[str]
    # documentation, ruff style
    what: ClassVar[str]
    why: ClassVar[str]
    example: ClassVar[str]
    use_instead: ClassVar[str]
    fix_safety: ClassVar[str]
    when_wrong: ClassVar[str]
    #: "no", "safe", "unsafe" or "sometimes" (safe in some shapes, unsafe in others)
    fixable: ClassVar[str] = "no"
    #: only reports in hot code (loops, per-step functions)
    hot_only: ClassVar[bool] = True
    #: off unless selected explicitly (flake8's extend-default-ignore)
    default_enabled: ClassVar[bool] = True
    #: codes whose findings inside this rule's finding are dropped (PYF202 covers PYF201)
    supersedes: ClassVar[tuple[str, ...]] = ()
    #: targets the GPU: measured on CPU the gain may not appear (said in reports)
    gpu_only_gain: ClassVar[bool] = False
    #: with a profile, the finding's cost includes the time in the user's own functions its lines call
    #: (the fix speeds up the whole call, e.g. a forward pass run without recording a graph); otherwise
    #: only the lines' own time (with the library and C code they call) counts
    cost_includes_callees: ClassVar[bool] = False
    #: pyfast-check: the recorded workload phase this rule's fix works in (one of ``HARNESS_PHASES``);
    #: its per-rule speedup is measured there
    harness_phase: ClassVar[str]
    #: pyfast-check: the comparison modes its fix may need, strictest first (``EQUIVALENCE_MODES``)
    equivalence: ClassVar[tuple[str, ...]]
    #: measured factors, keyed as in ``bench/results/pattern_speed.json`` under the rule's code;
    #: messages and documentation quote only these
    speedups: ClassVar[Mapping[str, Speedup]] = {}
    node_types: ClassVar[tuple[type[ast.AST], ...]]
    bad: ClassVar[tuple[Example, ...]] = ()
    good: ClassVar[tuple[Example, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        code = getattr(cls, "code", None)
        if code is None:
            return
        if code in REGISTRY and REGISTRY[code].__qualname__ != cls.__qualname__:
            raise RuntimeError(f"two rules claim {code}: {REGISTRY[code].__module__} and {cls.__module__}")
        REGISTRY[code] = cls

    # -- behaviour ---------------------------------------------------------------------------
    def check(self, node: Any, an: Analysis) -> Iterator[Finding]:
        raise NotImplementedError

    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        """Rewrite the CST ``node`` found at the finding (``anchor == "main"``) or at the one of
        ``fix.anchors`` tagged ``anchor``, using ``fix.data`` (the rule's own ``FixData``).

        Return the replacement, or ``None`` to leave this finding unfixed.
        """
        return None

    # -- helpers for subclasses --------------------------------------------------------------
    def report(self, node: ast.AST, message: str, fix: Fix | None = None) -> Finding:
        return Finding(
            code=self.code,
            message=message,
            line=node.lineno,  # type: ignore[attr-defined]
            col=node.col_offset,  # type: ignore[attr-defined]
            end_line=node.end_lineno or node.lineno,  # type: ignore[attr-defined]
            end_col=node.end_col_offset or 0,  # type: ignore[attr-defined]
            node_type=type(node).__name__,
            fix=fix,
        )

    @staticmethod
    def anchor(node: ast.AST, tag: str) -> Anchor:
        """A second place the fix edits (e.g. the ``if`` a two-statement fix removes)."""
        return Anchor(
            tag,
            type(node).__name__,
            node.lineno,  # type: ignore[attr-defined]
            node.col_offset,  # type: ignore[attr-defined]
            node.end_lineno or node.lineno,  # type: ignore[attr-defined]
            node.end_col_offset or 0,  # type: ignore[attr-defined]
        )

    @classmethod
    def documentation(cls) -> str:
        """The rule's page, in Markdown (see ``docs/rules.md``)."""
        fix = {
            "no": "No automatic fix.",
            "safe": "Fix: safe.",
            "unsafe": "Fix: unsafe (needs `--unsafe-fixes`).",
            "sometimes": "Fix: safe in some shapes, unsafe in others (see below).",
        }[cls.fixable]
        default = "" if cls.default_enabled else " Off by default: select it explicitly."
        parts = [
            f"## {cls.code} `{cls.name}`",
            f"*{cls.summary}* {fix}{default}",
            "### What it does", cls.render(cls.what),
            "### Why is this bad?", cls.render(cls.why),
            "### Example", "```python\n" + cls.example.strip() + "\n```",
            "### Use instead", "```python\n" + cls.use_instead.strip() + "\n```",
            "### Fix safety", cls.render(cls.fix_safety),
            "### When it is wrong", cls.render(cls.when_wrong),
        ]
        return "\n\n".join(parts) + "\n"

    @classmethod
    def render(cls, text: str) -> str:
        """Documentation ``text`` with every ``{speedup:KEY}`` replaced by ``speedups[KEY]``,
        described with its spread (a factor is never typed into the text itself)."""
        return _SPEEDUP_PLACEHOLDER.sub(lambda m: cls.speedups[m.group(1)].describe(), text.strip())
