"""Heat: does a node run once, or every step?

A node is hot when it sits in a ``for``/``while`` body (not a walk over a network's submodules:
``for m in net.modules():`` visits each layer once), a ``while`` condition or a comprehension, or in
a per-step function (``step``, ``forward``, ``_get_obs``, ... configurable), or in a function
that one of those calls in the same module. Loops inside set-up functions (``__init__``,
``build_*``, ...) are not hot unless such a function is itself called from hot code. A torch
module's ``reset()`` re-initialises parameters: run once, not a per-step method.

When the analysis knows the file's project (:mod:`.project`), functions that hot code in other
modules calls are hot too, and the message names the caller and its file.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.measured import HOT_COUNT
from flake8_pyfast.analysis.scopes import Scope

if TYPE_CHECKING:
    from flake8_pyfast.analysis.core import Analysis

DEFAULT_HOT_FUNCTIONS = (
    "step", "_step", "*_step", "step_*", "reset", "_reset", "forward", "act", "_act",
    "get_action*", "get_value", "predict", "sample", "evaluate_actions", "observation",
    "*_observation", "get_obs*", "_get_obs*", "compute_reward", "_compute_reward", "*_reward",
    "reward", "compute_terminated", "compute_truncated", "is_success", "_is_success",
    "apply_action", "_apply_action", "set_action", "_set_action", "calc_state", "__call__",
)
DEFAULT_COLD_FUNCTIONS = (
    "__init__", "__post_init__", "__new__", "setup*", "_setup*", "build*", "_build*", "make_*",
    "_make_*", "create_*", "_create_*", "init_*", "_init_*", "*_init", "__repr__", "__str__",
    "__getstate__", "__setstate__", "save*", "load*", "close", "render", "seed", "check*",
    "_check*", "test_*", "validate*", "_validate*", "reset_parameters", "_reset_parameters",
)
_RESET = re.compile(r"_*reset$")
_TORCH_MODULES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})


@lru_cache(maxsize=32)
def compile_patterns(patterns: tuple[str, ...]) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(fnmatch.translate(p) for p in patterns))


def _function_of(scope: Scope) -> Scope:
    return scope.function_scope()


def _module_qual(s: Scope) -> str | None:
    """``f`` or ``Cls.m`` for functions at module level or in a top-level class."""
    parent = s.parent
    if parent is None:
        return None
    if parent.kind == "module":
        return s.name
    if parent.kind == "class" and parent.parent is not None and parent.parent.kind == "module":
        return f"{parent.name}.{s.name}"
    return None


def _param_reset(an: Analysis, s: Scope) -> bool:
    """``reset()`` of a torch module re-initialises its parameters: set-up code."""
    if s.cls is None or _RESET.match(s.name) is None:
        return False
    project = an.project
    if project is not None and _module_qual(s) in project.param_resets:
        return True
    return any(an.qualname(b) in _TORCH_MODULES for b in s.cls.node.bases)


def compute_heat(an: Analysis) -> None:
    hot = compile_patterns(an.settings.hot_functions)
    cold = compile_patterns(an.settings.cold_functions)
    functions = [s for s in an.scopes if s.kind == "function"]
    for s in functions:
        if hot.match(s.name) and not cold.match(s.name) and not _param_reset(an, s):
            method = s.cls is not None and s.parent is not None and s.parent.kind == "class"
            what = "per-step method" if method else "per-step function"
            s.hot_reason = f"in {what} `{s.name}()`"
    # call edges to functions of this module, found once: f(...) and self.m(...)
    names = {s.name for s in functions}
    edges = []
    for scope in an.scopes:
        for call in scope.calls:
            func = call.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name not in names:
                continue
            callee = an.callee(call)
            if callee is not None and callee.hot_reason is None and not cold.match(callee.name):
                edges.append((scope, call, callee))
    _propagate(an, edges)
    project = an.project
    if project is not None and project.reasons:
        # hot because code elsewhere in the project calls it (the in-module reasons, found above, win)
        added = False
        for s in functions:
            if s.hot_reason is None:
                reason = project.reasons.get(_module_qual(s) or "")
                if reason is not None:
                    s.hot_reason = reason
                    added = True
        if added:
            _propagate(an, edges)
    _mark_setup(an, functions, cold)


def _mark_setup(an: Analysis, functions: list[Scope], cold: re.Pattern[str]) -> None:
    """Functions only set-up code calls are set-up code: ``__init__`` calling
    ``self._observation_space()`` that loops over joints once. From the project (callers in any
    module) and from this module's own call sites, when no other module calls the name and the
    function is not handed out as a value."""
    project = an.project
    candidates = []
    for s in functions:
        if s.hot_reason is not None or cold.match(s.name):
            continue
        if project is not None and _module_qual(s) in project.setup:
            s.setup = True
        elif project is None or s.name not in project.called_elsewhere:
            candidates.append(s)
    if not candidates:
        return
    sites = an._call_sites()
    changed = True
    while changed:
        changed = False
        for s in candidates:
            calls = sites.get(id(s.node))
            if s.setup or not calls or an._referenced_uncalled(s.node):  # type: ignore[arg-type]
                continue
            callers = [_function_of(an.scope_of(c)) for c in calls]
            if all(c.kind == "function" and c.hot_reason is None and (c.setup or cold.match(c.name))
                   for c in callers):
                s.setup = True
                changed = True


def _propagate(an: Analysis, edges: list[tuple[Scope, ast.Call, Scope]]) -> None:
    for _ in range(8):  # call chains deeper than this are not worth following
        changed = False
        for scope, call, callee in edges:
            if callee.hot_reason is not None:
                continue
            site = node_heat(an, call)
            if site is None:
                continue
            caller = _function_of(scope)
            if caller.kind == "function" and caller.hot_reason is not None and not site.startswith("in a "):
                callee.hot_reason = f"in `{callee.name}()`, called from `{caller.name}()` (line {call.lineno})"
            else:
                callee.hot_reason = f"in `{callee.name}()`, called {site}"
            changed = True
        if not changed:
            break


def measured_count(an: Analysis, node: ast.AST) -> int | None:
    """How many times the profiled run evaluated the instrumented code on ``node``'s line (``None``:
    no profile, or nothing there was instrumented, or the run never got there)."""
    m = an.measure
    line = getattr(node, "lineno", None)
    if m is None or line is None:
        return None
    n = m.count_on_line(line)
    return n if n else None


def node_heat(an: Analysis, node: ast.AST) -> str | None:
    if an.collect:
        return "in the profiled program"
    n = measured_count(an, node)
    if n is not None:
        return f"ran {n:,} times in the profiled run" if n >= HOT_COUNT else None
    scope = an.scope_of(node)
    stmt = an.stmt_of(node)
    comp: Scope | None = None
    s = scope
    while s.kind in ("comprehension", "lambda") and s.parent is not None:
        if s.kind == "comprehension" and comp is None:
            comp = s
        s = s.parent
    fscope = s
    cold = (
        fscope.kind == "function"
        and fscope.hot_reason is None
        and (fscope.setup or compile_patterns(an.settings.cold_functions).match(fscope.name) is not None)
    )
    if not cold:
        loops = [loop for loop in an.loops_of(stmt) if not _walks_submodules(loop)]
        if loops:
            return f"in a loop (line {loops[-1].lineno})"  # type: ignore[attr-defined]
        if isinstance(stmt, ast.While) and node is not stmt:
            return f"in a while-loop condition (line {stmt.lineno})"
        if comp is not None:
            return f"in a comprehension (line {comp.node.lineno})"  # type: ignore[attr-defined]
    return fscope.hot_reason


#: a loop over a network's submodules visits each layer once: weight initialisation, freezing, counting
_SUBMODULE_WALKS = frozenset({"modules", "named_modules", "children", "named_children"})


def _walks_submodules(loop: ast.AST) -> bool:
    """``for m in net.modules():``: as often as its function runs, not a per-step repetition."""
    it = loop.iter if isinstance(loop, ast.For | ast.AsyncFor) else None
    return (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr in _SUBMODULE_WALKS
            and not it.args and not it.keywords)


def runs_once(an: Analysis, node: ast.AST) -> bool:
    """Does ``node`` run once per run, as far as the analysis can tell? Import-time code outside
    loops, class bodies, and functions that are set-up (named cold, or only set-up code calls them).
    Code in an ordinary function that no known hot code calls is *not* "once": its callers may be
    out of sight (another package, a callback), so per-call rules may still report there."""
    if an.collect:
        return False
    n = measured_count(an, node)
    if n is not None:
        return n < HOT_COUNT
    if node_heat(an, node) is not None:
        return False
    s = an.scope_of(node)
    while s.kind in ("comprehension", "lambda") and s.parent is not None:
        s = s.parent
    if s.kind in ("module", "class"):
        return True
    return s.hot_reason is None and (s.setup or compile_patterns(an.settings.cold_functions).match(s.name)
                                     is not None)
