"""The base class every rule module subclasses.

A rule is one module under ``flake8_pyfast/rules/`` named ``pyfNNN_<name>.py`` holding one
:class:`Rule` subclass: its code, message, documentation, detector, optional fix, and its good
and bad examples. Subclassing registers the rule; the package imports every such module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from flake8_pyfast.model import Example, Finding, Fix

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis

REGISTRY: dict[str, type[Rule]] = {}


class FixContext(Protocol):
    """What the fixer hands a rule's ``fix`` method (implemented in :mod:`autofix.engine`).

    Rules never import libcst themselves, so the flake8 path never pays for it.
    """

    def expr(self, template: str, **parts: Any) -> Any:
        """Parse ``template`` as an expression, ``{name}`` replaced by the given CST nodes."""

    def stmt(self, template: str, **parts: Any) -> Any:
        """Parse ``template`` as one simple statement line."""

    def atom(self, node: Any) -> Any:
        """``node`` wrapped in parentheses unless it already binds tighter than any operator."""

    def code(self, node: Any) -> str:
        """The source text of a CST node."""

    def require_import(self, module: str, name: str | None = None) -> None:
        """Make sure ``import module`` (or ``from module import name``) exists in the file."""

    def with_keyword(self, call: Any, name: str, value: Any) -> Any:
        """``call`` with keyword ``name=value`` added, or replacing an existing one."""

    def flatten(self, nodes: list[Any]) -> Any:
        """Replace one statement by several."""

    @property
    def cst(self) -> Any:
        """The ``libcst`` module, for rules that build nodes by hand."""


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

    def fix(self, node: Any, fix: Fix, ctx: FixContext, anchor: str = "main") -> Any:
        """Rewrite the CST ``node`` found at the finding (or at one of ``fix.data['anchors']``).

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
    def anchor(node: ast.AST, tag: str) -> tuple[str, str, int, int, int, int]:
        """A second place the fix edits (e.g. the ``if`` a two-statement fix removes)."""
        return (
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
            "### What it does", cls.what.strip(),
            "### Why is this bad?", cls.why.strip(),
            "### Example", "```python\n" + cls.example.strip() + "\n```",
            "### Use instead", "```python\n" + cls.use_instead.strip() + "\n```",
            "### Fix safety", cls.fix_safety.strip(),
            "### When it is wrong", cls.when_wrong.strip(),
        ]
        return "\n\n".join(parts) + "\n"
