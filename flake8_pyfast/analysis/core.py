"""The :class:`Analysis` every rule reads: names, reaching bindings, kinds, heat, aliasing."""

from __future__ import annotations

import ast
import builtins
import os
import re
from collections.abc import Sequence

from flake8_pyfast.analysis import alias
from flake8_pyfast.analysis import knowledge as K
from flake8_pyfast.analysis.astutil import COMPREHENSIONS, in_first_iter
from flake8_pyfast.analysis.heat import compute_heat, node_heat, runs_once
from flake8_pyfast.analysis.infer import KindInference
from flake8_pyfast.analysis.kinds import CLIENT_KIND
from flake8_pyfast.analysis.measured import FileMeasure, Position
from flake8_pyfast.analysis.project import ModuleHeat, module_heat
from flake8_pyfast.analysis.scopes import Binding, ClassInfo, Scope, ScopeBuilder, StmtInfo, release
from flake8_pyfast.analysis.settings import Settings

BUILTIN_NAMES = frozenset(dir(builtins))
#: node types the analysis itself needs collected (uses of functions as values)
_ALWAYS: frozenset[type[ast.AST]] = frozenset({ast.Attribute, ast.Name})
_ACCELERATOR = re.compile(r"cuda$|mps$|device$|.*_device$|dev$")
_MIXED = "<mixed>"


def project_heat(path: str, settings: Settings) -> ModuleHeat | None:
    """What the project holding ``path`` says about its heat (``None``: no project view).

    ``PYFAST_PROJECT=0`` in the environment turns the project view off (each module alone)."""
    if os.environ.get("PYFAST_PROJECT") == "0":
        return None
    try:
        return module_heat(path, settings.hot_functions, settings.cold_functions)
    except Exception:  # an unreadable or odd project never stops the lint of a file:
        return None  # heat falls back to the module's own view


class Analysis(KindInference):
    """Facts about one module, computed once and shared by every rule.

    This module answers where a node sits, which bindings reach a name and what a name means
    (qualified names); kinds come from the :class:`~.infer.KindInference` mixin, heat from
    :mod:`.heat` and aliasing from :mod:`.alias`.
    """

    def __init__(self, tree: ast.Module, settings: Settings,
                 interest: frozenset[type[ast.AST]] = frozenset(), path: str | None = None,
                 measure: FileMeasure | None = None, collect: bool = False) -> None:
        self.tree = tree
        self.settings = settings
        #: what a profiled run measured in this file (kinds, heat, cost), when it matches the source
        self.measure = measure
        #: collecting what to observe in a profiled run: all code counts as hot, and the positions of
        #: expressions a rule asked the kind of and got no answer are kept in ``unknown_sites``
        self.collect = collect
        self.unknown_sites: list[Position] = []
        #: ids of nodes whose kind came from the profile (``kind_source`` of a finding)
        self.observed: set[int] = set()
        #: the file's path, when known: heat then follows calls across the file's project
        self.path = path
        self.project: ModuleHeat | None = project_heat(path, settings) if path else None
        builder = ScopeBuilder(interest | _ALWAYS)
        self.module: Scope = builder.build(tree)
        self.tables = builder.tables
        self.collected = builder.collected
        self.classes: list[ClassInfo] = builder.classes
        self.scopes: list[Scope] = builder.scopes
        self._forget_kinds()
        self._reach_cache: dict[int, list[Binding]] = {}
        self._accelerator: bool | None = None
        self._qual_cache: dict[tuple[int, str], str | None] = {}
        self._node_qual: dict[int, str | None] = {}
        compute_heat(self)

    def release(self) -> None:
        """Drop everything, breaking cycles, so the tree is freed by reference counting."""
        release(self.scopes, self.classes)
        self.scopes.clear()
        self.classes.clear()
        self.collected.clear()
        for cache in (self._reach_cache, self._qual_cache, self._node_qual):
            cache.clear()
        self._forget_kinds()
        self.tables = ScopeBuilder(frozenset()).tables

    # ------------------------------------------------------------------------------------------
    # where a node sits
    # ------------------------------------------------------------------------------------------
    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.tables.parent.get(id(node))

    def stmt_of(self, node: ast.AST) -> ast.AST:
        """The statement an expression belongs to (the module for the module itself)."""
        parents = self.tables.parent
        n: ast.AST | None = node
        while n is not None and not isinstance(n, ast.stmt | ast.Module):
            n = parents.get(id(n))
        return n if n is not None else node

    def info(self, node: ast.AST) -> StmtInfo | None:
        """Scope, blocks, loops and ``no_grad`` flag of the statement ``node`` belongs to."""
        return self.tables.stmt.get(id(self.stmt_of(node)))

    def loops_of(self, node: ast.AST) -> tuple[ast.AST, ...]:
        info = self.info(node)
        return info.loops if info is not None else ()

    def own_scope(self, node: ast.AST) -> Scope | None:
        return self.tables.own_scope.get(id(node))

    def is_synthetic(self, node: ast.AST) -> bool:
        return id(node) in self.tables.synthetic

    def scope_of(self, node: ast.AST) -> Scope:
        """The scope an expression is evaluated in.

        The pass records it for statements and names; for other nodes we walk up to the statement,
        noticing lambda bodies and comprehensions on the way, and remember the answer.
        """
        tables = self.tables
        found = tables.node_scope.get(id(node))
        if found is not None:
            return found
        if isinstance(node, ast.stmt):
            return tables.stmt[id(node)].scope
        path = [node]
        n = tables.parent.get(id(node))
        scope: Scope | None = None
        while n is not None:
            lambda_body = isinstance(n, ast.Lambda) and path[-1] is n.body
            if lambda_body or (isinstance(n, COMPREHENSIONS) and not in_first_iter(n, path)):
                scope = tables.own_scope[id(n)]
            elif isinstance(n, ast.stmt):
                scope = tables.stmt[id(n)].scope
            else:
                scope = tables.node_scope.get(id(n))
            if scope is not None:
                break
            path.append(n)
            n = tables.parent.get(id(n))
        if scope is None:
            raise LookupError(f"{type(node).__name__} at line {getattr(node, 'lineno', '?')} is not in the tree")
        tables.node_scope[id(node)] = scope
        return scope

    # ------------------------------------------------------------------------------------------
    # bindings
    # ------------------------------------------------------------------------------------------
    def bindings_of(self, node: ast.Name) -> list[Binding]:
        """The bindings of ``node.id`` that can reach this use (flow-sensitive where it matters)."""
        key = id(node)
        cached = self._reach_cache.get(key)
        if cached is not None:
            return cached
        use_scope = self.scope_of(node)
        scope = use_scope.lookup(node.id)
        if scope is None:
            result: list[Binding] = []
        else:
            bindings = scope.bindings[node.id]
            s = use_scope
            while s is not scope and s.kind == "comprehension" and s.parent is not None:
                s = s.parent  # comprehensions run where they stand
            if s is not scope or (len(bindings) == 1 and bindings[0].how in ("import", "param", "def", "class")):
                result = bindings  # a free variable: any binding may be the current one
            else:
                result = self._reaching(node, bindings)
        self._reach_cache[key] = result
        return result

    def _reaching(self, node: ast.Name, bindings: list[Binding]) -> list[Binding]:
        stmt = self.stmt_of(node)
        use_pos = (node.lineno, node.col_offset)
        info = self.tables.stmt.get(id(stmt))
        use_blocks = info.blocks if info is not None else ()
        use_loops: tuple[ast.AST, ...] = info.loops if info is not None else ()
        if isinstance(stmt, ast.While) and self._under(node, stmt.test, stmt):
            use_loops = use_loops + (stmt,)
        # bindings come in source order. A binding "kills" the ones before it when it runs on every
        # path to the use: it sits in one of the use's enclosing blocks and precedes the use.
        block_set = set(use_blocks)
        killer = None
        for k in bindings:
            if k.pos <= use_pos and k.blocks and k.blocks[-1] in block_set:
                killer = k  # the last one wins
        out: list[Binding] = []
        for b in bindings:
            if b.pos <= use_pos and (killer is None or b is killer or b.pos > killer.pos):
                out.append(b)
        # bindings after the use reach it through a loop's back edge, unless a killer inside that loop
        # runs first, or a later binding in the same iteration rebinds on every path
        later = [b for b in bindings if b.pos > use_pos]
        if later and use_loops:
            seen: dict[ast.AST, set[int]] = {}  # loop -> blocks that hold a later rebinding
            for b in reversed(later):
                loop = next((lp for lp in reversed(use_loops) if lp in b.loops), None)
                if loop is None or (killer is not None and loop in killer.loops):
                    continue
                blocks_here = seen.setdefault(loop, set())
                if any(blk in blocks_here for blk in b.blocks):
                    continue  # rebound later in the same iteration
                if b.blocks:
                    blocks_here.add(b.blocks[-1])
                out.append(b)
        return out

    def _under(self, node: ast.AST, sub: ast.AST, stop: ast.AST) -> bool:
        n: ast.AST | None = node
        while n is not None and n is not stop:
            if n is sub:
                return True
            n = self.parent(n)
        return False

    # ------------------------------------------------------------------------------------------
    # qualified names
    # ------------------------------------------------------------------------------------------
    def qualname(self, node: ast.AST) -> str | None:
        """``np.linalg.norm`` -> ``"numpy.linalg.norm"``; pybullet clients resolve to ``"pybullet"``."""
        key = id(node)
        if key in self._node_qual:
            return self._node_qual[key]
        q = self._qualname(node)
        self._node_qual[key] = q
        return q

    def _qualname(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            scope = self.scope_of(node).lookup(node.id)
            if scope is None:
                return f"builtins.{node.id}" if node.id in BUILTIN_NAMES else None
            key = (id(scope), node.id)
            if key not in self._qual_cache:
                self._qual_cache[key] = None  # cycle guard
                self._qual_cache[key] = self._qualname_of(scope.bindings[node.id])
            q = self._qual_cache[key]
            if q == _MIXED:
                q = self._qualname_of(self.bindings_of(node))
                return None if q == _MIXED else q
            return q
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            if base is not None:
                return f"{base}.{node.attr}"
            if node.attr in K.CLIENT_ATTRS_ANYWHERE:
                return "pybullet"
            if self.is_self(node.value):
                if node.attr in K.CLIENT_ATTRS_ON_SELF:
                    return "pybullet"
                if self.attr_kind(node).base == CLIENT_KIND.base:
                    return "pybullet"
        return None

    def _qualname_of(self, bindings: Sequence[Binding]) -> str | None:
        """The qualified name all ``bindings`` agree on, ``None``, or ``_MIXED`` if they differ."""
        names = {self._binding_qualname(b) for b in bindings}
        if len(names) == 1:
            return names.pop()
        return _MIXED if names else None

    def _binding_qualname(self, b: Binding) -> str | None:
        if b.how == "import":
            return b.qualname
        if b.how in ("assign", "named") and not b.path and b.value is not None:
            v = b.value
            if isinstance(v, ast.Name | ast.Attribute):
                return self.qualname(v)
            if isinstance(v, ast.Call) and (self.qualname(v.func) or "").endswith("BulletClient"):
                return "pybullet"
        return None

    def is_self(self, node: ast.AST) -> bool:
        """Is ``node`` the ``self`` (first parameter) of the method it is used in?"""
        if not isinstance(node, ast.Name):
            return False
        fscope = self.scope_of(node).function_scope()
        return fscope.cls is not None and node.id == fscope.self_name

    def class_of(self, node: ast.AST) -> ClassInfo | None:
        return self.scope_of(node).function_scope().cls

    def _static_qualname(self, node: ast.AST, scope: Scope) -> str | None:
        """Resolve a dotted name from an annotation, where the nodes may not be in the tree."""
        if isinstance(node, ast.Attribute):
            base = self._static_qualname(node.value, scope)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Name):
            if id(node) in self.tables.node_scope:
                return self.qualname(node)
            target = scope.lookup(node.id)
            if target is None:
                return f"builtins.{node.id}" if node.id in BUILTIN_NAMES else None
            q = self._qualname_of(target.bindings[node.id])
            return None if q == _MIXED else q
        return None

    def callee(self, node: ast.Call) -> Scope | None:
        """The function of this module that ``node`` calls, if we can tell."""
        func = node.func
        if isinstance(func, ast.Name):
            scope = self.scope_of(node).lookup(func.id)
            if scope is None:
                return None
            bs = scope.bindings[func.id]
            if len(bs) == 1 and bs[0].how == "def":
                return self.own_scope(bs[0].node) if bs[0].node is not None else None
            return None
        if isinstance(func, ast.Attribute) and self.is_self(func.value):
            cls = self.class_of(node)
            if cls is not None:
                return cls.methods.get(func.attr)
        return None

    @property
    def accelerator(self) -> bool:
        """May this module's code run on a GPU? ``target`` says so outright; with "auto", yes when
        the module mentions CUDA or MPS (``torch.cuda``, ``.cuda()``, ``backends.mps``) or is written
        for a device it is given (a name, attribute or parameter called ``device``/``*_device``)."""
        target = self.settings.target
        if target != "auto":
            return target == "gpu"
        found = self._accelerator
        if found is None:
            found = any(_ACCELERATOR.match(n.attr if isinstance(n, ast.Attribute) else n.id)  # type: ignore[attr-defined]
                        for t in (ast.Attribute, ast.Name) for n in self.collected[t])
            if not found:
                found = any(a.arg == "device" or a.arg.endswith("_device")
                            for s in self.scopes if isinstance(s.node, ast.FunctionDef | ast.AsyncFunctionDef)
                            for a in (*s.node.args.args, *s.node.args.kwonlyargs))
            self._accelerator = found
        return found

    # ------------------------------------------------------------------------------------------
    # heat and context
    # ------------------------------------------------------------------------------------------
    def heat(self, node: ast.AST) -> str | None:
        """Why ``node`` runs many times (a phrase for messages), or ``None`` for cold code."""
        return node_heat(self, node)

    def runs_once(self, node: ast.AST) -> bool:
        """Set-up code: import-time code outside loops, class bodies, set-up functions."""
        return runs_once(self, node)

    def in_no_grad(self, node: ast.AST) -> bool:
        info = self.info(node)
        return info.nograd if info is not None else False

    # -- aliasing (see alias.py) -------------------------------------------------------------
    def is_fresh(self, node: ast.expr) -> bool:
        return alias.is_fresh(self, node)

    def escapes_before(self, name: ast.Name, update: ast.stmt) -> bool:
        return alias.escapes_before(self, name, update)

    def grad_free(self, node: ast.expr) -> bool:
        return alias.grad_free(self, node)
