"""The :class:`Analysis` every rule reads: names, reaching bindings, kinds, heat, aliasing."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flake8_pyfast.analysis import knowledge as K
from flake8_pyfast.analysis.kinds import (
    BOTTOM,
    CLIENT_KIND,
    DEVICE_KIND,
    DTYPE,
    FLOAT_DTYPES,
    NDARRAY,
    NDARRAY_ANY,
    NONE_KIND,
    NP_SCALAR,
    PY_BOOL,
    PY_FLOAT,
    PY_INT,
    SCALAR,
    SEQ,
    SEQUENCE,
    STR_KIND,
    TENSOR,
    TENSOR_ANY,
    UNKNOWN,
    Kind,
    broadcast_ndim,
    join,
    join_all,
    numpy_scalar_dtype,
    promote_array_scalar,
    promote_arrays,
)
from flake8_pyfast.analysis.scopes import Binding, ClassInfo, Scope, ScopeBuilder, StmtInfo, release

if TYPE_CHECKING:
    from flake8_pyfast.checker import Settings

BUILTIN_NAMES = frozenset(dir(builtins))
#: how deep kind inference may recurse (expressions deeper than this are "unknown"); well below
#: Python's recursion limit, which the rules' own recursion also needs
MAX_DEPTH = 150
_MIXED = "<mixed>"


def const_number(node: ast.AST) -> float | int | None:
    """The value of a numeric literal (``2``, ``-1.0``, ``+3``), else ``None``. Bools are not numbers."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return sign * node.value
    return None


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _in_first_iter(comp: ast.AST, path: list[ast.AST]) -> bool:
    """Is the path (child first, ``comp``'s direct child last) inside the first ``for``'s iterable?"""
    first: ast.comprehension = comp.generators[0]  # type: ignore[attr-defined]
    return len(path) >= 2 and path[-1] is first and path[-2] is first.iter


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


class Analysis:
    """Facts about one module, computed once and shared by every rule."""

    def __init__(self, tree: ast.Module, settings: Settings,
                 interest: frozenset[type[ast.AST]] = frozenset()) -> None:
        self.tree = tree
        self.settings = settings
        builder = ScopeBuilder(interest)
        self.module: Scope = builder.build(tree)
        self.tables = builder.tables
        self.collected = builder.collected
        self.classes: list[ClassInfo] = builder.classes
        self.scopes: list[Scope] = builder.scopes
        self._kind_cache: dict[int, Kind] = {}
        self._busy: set[int] = set()
        self._hits: set[int] = set()
        self._assume: dict[int, Kind] = {}
        #: results that hold only under the current assumptions (see ``kind``), per generation
        self._tentative: dict[int, tuple[int, Kind, frozenset[int]]] = {}
        self._generation = 0
        self._reach_cache: dict[int, list[Binding]] = {}
        self._qual_cache: dict[tuple[int, str], str | None] = {}
        self._node_qual: dict[int, str | None] = {}
        self._attr_cache: dict[tuple[int, str], Kind] = {}
        from flake8_pyfast.analysis.heat import compute_heat

        compute_heat(self)

    def release(self) -> None:
        """Drop everything, breaking cycles, so the tree is freed by reference counting."""
        release(self.scopes, self.classes)
        self.scopes.clear()
        self.classes.clear()
        self.collected.clear()
        for cache in (self._kind_cache, self._reach_cache, self._qual_cache, self._node_qual,
                      self._attr_cache, self._assume, self._tentative):
            cache.clear()
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
            if lambda_body or (isinstance(n, _COMPREHENSIONS) and not _in_first_iter(n, path)):
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
            if self._is_self(node.value):
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

    def _is_self(self, node: ast.AST) -> bool:
        if not isinstance(node, ast.Name):
            return False
        fscope = self.scope_of(node).function_scope()
        return fscope.cls is not None and node.id == fscope.self_name

    def class_of(self, node: ast.AST) -> ClassInfo | None:
        return self.scope_of(node).function_scope().cls

    # ------------------------------------------------------------------------------------------
    # kinds
    # ------------------------------------------------------------------------------------------
    def kind(self, node: ast.AST | None) -> Kind:
        """What ``node`` evaluates to. Cycles (``x = x * 0.99`` in a loop) are solved by iterating."""
        if node is None:
            return UNKNOWN
        key = id(node)
        k = self._kind_cache.get(key)
        if k is not None:
            return k
        tentative = self._tentative.get(key)
        if tentative is not None and tentative[0] == self._generation:
            self._hits |= tentative[2]  # still depends on those assumptions
            return tentative[1]
        if key in self._busy:
            self._hits.add(key)
            return self._assume.get(key, BOTTOM)
        if len(self._busy) > MAX_DEPTH:
            return UNKNOWN  # a pathologically deep expression: say nothing rather than recurse on
        self._busy.add(key)
        outer_hits = self._hits
        self._hits = set()
        try:
            k = self._kind(node)
            for _ in range(3):  # a cycle through this node: assume k, re-evaluate until stable
                if key not in self._hits:
                    break
                self._hits.discard(key)
                self._assume[key] = k
                self._generation += 1
                k2 = self._kind(node)
                if k2 == k:
                    self._hits.discard(key)
                    break
                k = k2
            else:
                if key in self._hits:
                    k = UNKNOWN
            if self._assume.pop(key, None) is not None:
                self._generation += 1
            self._hits.discard(key)
            inner_hits = self._hits
        finally:
            self._busy.discard(key)
            self._hits = outer_hits
        if inner_hits:
            # depends on an assumption still being solved: remember it only while nothing changes
            outer_hits |= inner_hits
            self._tentative[key] = (self._generation, k, frozenset(inner_hits))
        elif k.base != BOTTOM.base:
            self._kind_cache[key] = k
        return k

    def binding_kind(self, b: Binding) -> Kind:
        if b.annotation is not None:
            ak = self.annotation_kind(b.annotation, b.scope)
            if ak.known:
                return ak
        how = b.how
        if how in ("assign", "aug", "named", "with"):
            k = self.kind(b.value)
        elif how in ("for", "comp"):
            k = self.element_kind(b.value)
        elif how == "import":
            k = self._constant_kind(b.qualname or "")
        else:
            return UNKNOWN
        for i in b.path:
            k = k.item(i) if i is not None else UNKNOWN
        return k

    def names_kind(self, bindings: Sequence[Binding]) -> Kind:
        return join_all([self.binding_kind(b) for b in bindings]) if bindings else UNKNOWN

    def attr_kind(self, node: ast.Attribute) -> Kind:
        """Class-wide kind of ``self.<attr>``: what every assignment in the class agrees on."""
        cls = self.class_of(node)
        if cls is None:
            return UNKNOWN
        key = (id(cls), node.attr)
        k = self._attr_cache.get(key)
        if k is None:
            self._attr_cache[key] = BOTTOM
            bindings = cls.attrs.get(node.attr, [])
            k = self.names_kind(bindings) if bindings else UNKNOWN
            if k.base == BOTTOM.base:
                k = UNKNOWN
            self._attr_cache[key] = k
        return k

    def _constant_kind(self, qual: str) -> Kind:
        mod, _, attr = qual.rpartition(".")
        if mod == "math" and attr in ("pi", "e", "tau", "inf", "nan"):
            return PY_FLOAT
        if mod == "numpy":
            if attr in K.NUMPY_SCALAR_CONSTANTS:
                return PY_FLOAT
            if attr in K.NUMPY_DTYPE_NAMES:
                return Kind(DTYPE, K.NUMPY_DTYPE_NAMES[attr])
        if mod == "torch" and attr in K.TORCH_DTYPE_NAMES:
            return Kind(DTYPE, K.TORCH_DTYPE_NAMES[attr])
        return UNKNOWN

    def dtype_of(self, node: ast.AST | None) -> str | None:
        """The dtype named by an expression such as ``np.float32``, ``torch.long`` or ``bool``."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return K.NUMPY_DTYPE_NAMES.get(node.value, node.value if node.value in FLOAT_DTYPES else None)
        q = self.qualname(node)
        if q in ("builtins.float",):
            return "float64"
        if q in ("builtins.bool",):
            return "bool"
        if q in ("builtins.int",):
            return "int64"
        k = self.kind(node)
        return k.dtype if k.base == DTYPE else None

    def annotation_kind(self, ann: ast.expr, scope: Scope) -> Kind:
        if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
            try:
                parsed = ast.parse(ann.value, mode="eval").body
            except SyntaxError:
                return UNKNOWN
            return self._annotation_text_kind(parsed, scope)
        return self._annotation_text_kind(ann, scope)

    def _annotation_text_kind(self, ann: ast.expr, scope: Scope) -> Kind:
        if isinstance(ann, ast.Subscript):
            q = self._static_qualname(ann.value, scope)
            if q in ("numpy.typing.NDArray", "numpy.ndarray"):
                inner = ann.slice
                dtype = None
                if isinstance(inner, ast.Attribute | ast.Name):
                    dq = self._static_qualname(inner, scope) or ""
                    dtype = K.NUMPY_DTYPE_NAMES.get(dq.rpartition(".")[2])
                return Kind(NDARRAY, dtype)
            if q in ("typing.List", "typing.Tuple", "builtins.list", "builtins.tuple", "typing.Sequence"):
                return SEQ
            return UNKNOWN
        if isinstance(ann, ast.BinOp):  # X | None
            return UNKNOWN
        q = self._static_qualname(ann, scope)
        if q is None:
            return UNKNOWN
        if q in ("torch.Tensor", "torch.nn.Parameter", "torch.nn.parameter.Parameter"):
            return TENSOR_ANY
        if q.startswith("torch.") and q.rpartition(".")[2] in K.TORCH_LEGACY_CONSTRUCTORS:
            return Kind(TENSOR, K.TORCH_LEGACY_CONSTRUCTORS[q.rpartition(".")[2]])
        if q in ("numpy.ndarray", "numpy.typing.NDArray"):
            return NDARRAY_ANY
        if q == "builtins.float":
            return PY_FLOAT
        if q == "builtins.int":
            return PY_INT
        if q == "builtins.bool":
            return PY_BOOL
        if q in ("builtins.list", "builtins.tuple", "typing.List", "typing.Tuple"):
            return SEQ
        return UNKNOWN

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

    def element_kind(self, iterable: ast.expr | None) -> Kind:
        """The kind of the items that iterating ``iterable`` yields."""
        if iterable is None:
            return UNKNOWN
        if isinstance(iterable, ast.Call):
            q = self.qualname(iterable.func)
            args = iterable.args
            if q == "builtins.range":
                return PY_INT
            if q == "builtins.enumerate" and args:
                return Kind(SEQUENCE, elts=(PY_INT, self.element_kind(args[0])))
            if q == "builtins.zip" and args and not any(isinstance(a, ast.Starred) for a in args):
                return Kind(SEQUENCE, elts=tuple(self.element_kind(a) for a in args))
            if q in ("builtins.reversed", "builtins.sorted", "builtins.list", "builtins.tuple") and args:
                return self.element_kind(args[0])
            if isinstance(iterable.func, ast.Attribute) and not args:
                if iterable.func.attr == "parameters":
                    return TENSOR_ANY
                if iterable.func.attr == "named_parameters":
                    return Kind(SEQUENCE, elts=(STR_KIND, TENSOR_ANY))
        k = self.kind(iterable)
        if k.base == TENSOR:
            return Kind(TENSOR, k.dtype)
        if k.base == SEQUENCE:
            return k.item(None)
        return UNKNOWN.with_origin(k.origin) if k.origin else UNKNOWN

    # -- the expression cases -----------------------------------------------------------------
    def _kind(self, node: ast.AST) -> Kind:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                return PY_BOOL
            if isinstance(v, int):
                return PY_INT
            if isinstance(v, float):
                return PY_FLOAT
            if isinstance(v, str):
                return STR_KIND
            if v is None:
                return NONE_KIND
            return UNKNOWN
        if isinstance(node, ast.Name):
            return self._name_kind(node)
        if isinstance(node, ast.Attribute):
            return self._attribute_kind(node)
        if isinstance(node, ast.Call):
            return self._call_kind(node)
        if isinstance(node, ast.BinOp):
            return self._binop_kind(node)
        if isinstance(node, ast.UnaryOp):
            k = self.kind(node.operand)
            if k == BOTTOM:
                return BOTTOM
            if isinstance(node.op, ast.Not):
                return PY_BOOL
            if isinstance(node.op, ast.Invert) and k.base == SCALAR:
                return PY_INT if k.dtype == "int" else UNKNOWN
            return k.with_origin(None) if k.base in (TENSOR, NDARRAY, SCALAR) else UNKNOWN
        if isinstance(node, ast.Compare):
            return self._compare_kind(node)
        if isinstance(node, ast.BoolOp):
            return join_all([self.kind(v) for v in node.values])
        if isinstance(node, ast.IfExp):
            return join(self.kind(node.body), self.kind(node.orelse))
        if isinstance(node, ast.Subscript):
            return self._subscript_kind(node)
        if isinstance(node, ast.Tuple | ast.List):
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return SEQ
            elts = tuple(self.kind(e) for e in node.elts)
            origin = "pybullet" if any(e.from_pybullet for e in elts) else None
            return Kind(SEQUENCE, origin=origin, elts=elts)
        if isinstance(node, ast.ListComp | ast.GeneratorExp):
            elt = self.kind(node.elt)
            return Kind(SEQUENCE, origin=elt.origin)
        if isinstance(node, ast.NamedExpr):
            return self.kind(node.value)
        if isinstance(node, ast.JoinedStr):
            return STR_KIND
        return UNKNOWN

    def _name_kind(self, node: ast.Name) -> Kind:
        scope = self.scope_of(node).lookup(node.id)
        if scope is None:
            return UNKNOWN
        everything = scope.bindings[node.id]
        if len(everything) == 1:
            return self.binding_kind(everything[0])
        return self.names_kind(self.bindings_of(node))

    def _attribute_kind(self, node: ast.Attribute) -> Kind:
        attr = node.attr
        q = self.qualname(node)
        if q is not None:
            k = self._constant_kind(q)
            if k.known:
                return k
            if q == "pybullet" and not isinstance(node.value, ast.Name | ast.Attribute):
                return CLIENT_KIND
        if self._is_self(node.value):
            return self.attr_kind(node)
        base = self.kind(node.value)
        if base == BOTTOM:
            return BOTTOM
        if base.base == TENSOR:
            if attr in ("T", "mT", "data", "real", "grad"):
                return base.with_origin(None)
            if attr == "shape":
                return SEQ
            if attr == "ndim":
                return PY_INT
            if attr == "device":
                return DEVICE_KIND
            if attr == "dtype":
                return Kind(DTYPE, base.dtype)
            if attr in ("is_cuda", "requires_grad", "is_leaf"):
                return PY_BOOL
        elif base.base == NDARRAY:
            if attr in ("T", "real", "imag"):
                return base.with_origin(None)
            if attr == "shape":
                return SEQ
            if attr in ("ndim", "size", "nbytes", "itemsize"):
                return PY_INT
            if attr == "dtype":
                return Kind(DTYPE, base.dtype)
        if attr in ("shape",) and base.base != SCALAR and base.known:
            return SEQ
        return UNKNOWN

    def _subscript_kind(self, node: ast.Subscript) -> Kind:
        base = self.kind(node.value)
        if base == BOTTOM:
            return BOTTOM
        index = node.slice
        if base.base in (TENSOR, NDARRAY):
            return self._array_index_kind(base, index)
        if base.base == SEQUENCE:
            if isinstance(index, ast.Slice):
                return Kind(SEQUENCE, origin=base.origin)
            n = const_number(index)
            return base.item(n if isinstance(n, int) else None)
        if base.from_pybullet:
            return UNKNOWN.with_origin("pybullet")
        return UNKNOWN

    def _array_index_kind(self, base: Kind, index: ast.expr) -> Kind:
        """``a[i]``, ``a[:, 0]``, ``a[idx]``: an array/tensor, or one element of it."""
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        ints = 0
        added = 0
        for part in parts:
            if isinstance(part, ast.Slice):
                continue
            if isinstance(part, ast.Constant) and part.value is None:
                added += 1
                continue
            if isinstance(part, ast.Constant) and part.value is Ellipsis:
                return Kind(base.base, base.dtype) if base.base == TENSOR or len(parts) > 1 else base
            pk = self.kind(part)
            if pk.base == SCALAR and pk.dtype in ("int", "np.int64", "np.int32"):
                ints += 1
            elif pk.is_bool_mask:
                return Kind(base.base, base.dtype)  # boolean indexing: some 1-d selection
            elif pk.base in (NDARRAY, TENSOR, SEQUENCE):
                return Kind(base.base, base.dtype)  # fancy indexing: shape depends on the index
            else:
                return Kind(base.base, base.dtype) if base.base == TENSOR else UNKNOWN
        ndim = None if base.ndim is None else base.ndim - ints + added
        if ndim is not None and ndim < 0:
            return UNKNOWN
        if ndim == 0 and base.base == NDARRAY:
            return Kind(SCALAR, numpy_scalar_dtype(base.dtype))
        if ndim is None and base.base == NDARRAY and ints and ints == len(parts):
            return UNKNOWN  # a row or an element: the array's rank is unknown
        return Kind(base.base, base.dtype, ndim=ndim)

    @staticmethod
    def _has_slice(index: ast.expr) -> bool:
        if isinstance(index, ast.Slice):
            return True
        if isinstance(index, ast.Tuple):
            return any(isinstance(e, ast.Slice) or (isinstance(e, ast.Constant) and e.value is None)
                       for e in index.elts)
        return False

    def _compare_kind(self, node: ast.Compare) -> Kind:
        if any(isinstance(op, ast.Is | ast.IsNot | ast.In | ast.NotIn) for op in node.ops):
            return PY_BOOL
        kinds = [self.kind(node.left), *(self.kind(c) for c in node.comparators)]
        if BOTTOM in kinds:
            return BOTTOM
        if len(node.ops) == 1:
            ndim = kinds[0].ndim if kinds[1].base == SCALAR else kinds[1].ndim if kinds[0].base == SCALAR else (
                broadcast_ndim(kinds[0].ndim, kinds[1].ndim))
            if any(k.base == TENSOR for k in kinds):
                return Kind(TENSOR, "bool", ndim=ndim)
            if any(k.base == NDARRAY for k in kinds):
                return Kind(NDARRAY, "bool", ndim=ndim)
        if all(k.base == SCALAR for k in kinds):
            return PY_BOOL if all(k.is_python_scalar for k in kinds) else Kind(SCALAR, "np.bool")
        if any(k.base == TENSOR for k in kinds):
            return Kind(TENSOR, "bool")  # a chained compare calls bool() on a tensor: still a tensor test
        return UNKNOWN

    def _binop_kind(self, node: ast.BinOp) -> Kind:
        left, right = self.kind(node.left), self.kind(node.right)
        if BOTTOM in (left, right):
            return BOTTOM  # part of a cycle still being solved
        op = node.op
        for a, b in ((left, right), (right, left)):
            if a.base == TENSOR and b.base != NDARRAY:
                if b.base == TENSOR:
                    return Kind(TENSOR, self._binop_dtype(op, a.dtype, b.dtype), ndim=broadcast_ndim(a.ndim, b.ndim))
                if b.base == SCALAR:
                    return Kind(TENSOR, self._scalar_dtype(op, a.dtype, b), ndim=a.ndim)
                return TENSOR_ANY
        for a, b in ((left, right), (right, left)):
            if a.base == NDARRAY and b.base != TENSOR:
                if b.base == NDARRAY:
                    return Kind(NDARRAY, self._binop_dtype(op, a.dtype, b.dtype), ndim=broadcast_ndim(a.ndim, b.ndim))
                if b.base == SCALAR:
                    return Kind(NDARRAY, self._scalar_dtype(op, a.dtype, b), ndim=a.ndim)
                return NDARRAY_ANY
        if left.base == SCALAR and right.base == SCALAR:
            if left.is_python_scalar and right.is_python_scalar:
                if isinstance(op, ast.Div) or "float" in (left.dtype, right.dtype):
                    return PY_FLOAT
                if left.dtype in ("int", "bool") and right.dtype in ("int", "bool"):
                    return PY_INT
                return Kind(SCALAR, "number")
            return NP_SCALAR if "np." in f"{left.dtype}{right.dtype}" else Kind(SCALAR)
        if left.base == SEQUENCE and right.base == SEQUENCE and isinstance(op, ast.Add):
            return Kind(SEQUENCE, origin=left.origin or right.origin)
        return UNKNOWN

    @staticmethod
    def _binop_dtype(op: ast.operator, a: str | None, b: str | None) -> str | None:
        d = promote_arrays(a, b)
        if isinstance(op, ast.Div) and d is not None and d not in FLOAT_DTYPES:
            return None
        if d == "bool" and isinstance(op, ast.Add | ast.Sub | ast.Mult):
            return None
        return d

    @staticmethod
    def _scalar_dtype(op: ast.operator, array_dtype: str | None, scalar: Kind) -> str | None:
        d = promote_array_scalar(array_dtype, scalar)
        if isinstance(op, ast.Div) and d is not None and d not in FLOAT_DTYPES:
            return None
        if d == "bool" and not isinstance(op, ast.BitAnd | ast.BitOr | ast.BitXor):
            return None
        return d

    # -- calls ---------------------------------------------------------------------------------
    def _call_kind(self, node: ast.Call) -> Kind:
        func = node.func
        q = self.qualname(func)
        if q is not None:
            k = self._qualified_call_kind(node, q)
            if k is not None:
                return k
        if isinstance(func, ast.Attribute):
            return self._method_kind(node, func)
        if isinstance(func, ast.Name):
            return self._local_function_kind(node)
        return UNKNOWN

    def _local_function_kind(self, node: ast.Call) -> Kind:
        """A call to a function of this module: trust its return annotation."""
        target = self.callee(node)
        if target is None:
            return UNKNOWN
        fn = target.node
        returns = getattr(fn, "returns", None)
        if returns is None:
            return UNKNOWN
        return self.annotation_kind(returns, target.parent or target)

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
        if isinstance(func, ast.Attribute) and self._is_self(func.value):
            cls = self.class_of(node)
            if cls is not None:
                return cls.methods.get(func.attr)
        return None

    def _qualified_call_kind(self, node: ast.Call, q: str) -> Kind | None:
        mod, _, name = q.rpartition(".")
        args = node.args
        if mod == "builtins":
            if name in ("float",):
                return PY_FLOAT
            if name in ("int", "len", "round") and not (name == "round" and len(args) > 1):
                return PY_INT
            if name == "bool":
                return PY_BOOL
            if name in ("abs",) and args:
                k = self.kind(args[0])
                return k if k.base in (SCALAR, TENSOR, NDARRAY) else UNKNOWN
            if name in ("min", "max") and len(args) > 1 and not node.keywords:
                ks = [self.kind(a) for a in args]
                return join_all(ks) if all(k.base == SCALAR for k in ks) else UNKNOWN
            if name in ("list", "tuple"):
                origin = self.kind(args[0]).origin if args else None
                return Kind(SEQUENCE, origin=origin)
            if name == "str":
                return STR_KIND
            return UNKNOWN
        if mod == "math":
            if name.startswith("is"):
                return PY_BOOL
            ints = ("floor", "ceil", "trunc", "factorial", "comb", "perm", "gcd", "isqrt")
            return PY_INT if name in ints else PY_FLOAT
        if q in ("time.time", "time.perf_counter", "time.monotonic", "random.random",
                 "random.uniform", "random.gauss", "random.normalvariate"):
            return PY_FLOAT
        if q in ("random.randint", "random.randrange"):
            return PY_INT
        if mod == "numpy":
            return self._numpy_call_kind(node, name)
        if mod == "numpy.random":
            return self._numpy_random_kind(node, name)
        if mod == "numpy.linalg" and name == "norm":
            if keyword(node, "axis") is None and len(args) <= 2:
                return NP_SCALAR
            return UNKNOWN
        if mod == "torch" or mod == "torch.nn.functional" or mod == "torch.cuda":
            return self._torch_call_kind(node, mod, name)
        if q.endswith("BulletClient"):
            return CLIENT_KIND
        if mod == "pybullet":
            getter = K.PYBULLET_GETTERS.get(name)
            if getter is not None:
                return getter.with_origin("pybullet")
        return None

    def _numpy_call_kind(self, node: ast.Call, name: str) -> Kind | None:
        args = node.args
        dtype_kw = self.dtype_of(keyword(node, "dtype"))
        if name in K.NUMPY_SCALAR_TYPES:
            return Kind(SCALAR, K.NUMPY_SCALAR_TYPES[name])
        if name in K.NUMPY_FACTORIES or name in K.NUMPY_ALIASING:
            if name in ("zeros", "ones", "empty", "full"):
                ndim = self.shape_ndim(node, torch_style=False)
                if name == "full":
                    fill = self.kind(args[1]) if len(args) > 1 else UNKNOWN
                    default = {"float": "float64", "int": "int64", "bool": "bool"}.get(fill.dtype or "")
                    return Kind(NDARRAY, dtype_kw or default, ndim=ndim)
                return Kind(NDARRAY, dtype_kw or "float64", ndim=ndim)
            if name in ("eye", "identity"):
                return Kind(NDARRAY, dtype_kw or "float64", ndim=2)
            if name in ("linspace", "logspace"):
                return Kind(NDARRAY, dtype_kw or "float64", ndim=1)
            if name == "arange":
                ks = [self.kind(a) for a in args]
                default = "int64" if ks and all(k.dtype == "int" for k in ks) else "float64" if ks else None
                return Kind(NDARRAY, dtype_kw or default, ndim=1)
            if name in ("zeros_like", "ones_like", "empty_like", "full_like", "copy") and args:
                src = self.kind(args[0])
                src_dtype = src.dtype if src.base == NDARRAY else None
                return Kind(NDARRAY, dtype_kw or src_dtype, ndim=src.ndim if src.base == NDARRAY else None)
            if name in ("array", "asarray") and args:
                src = self.kind(args[0])
                if src.base == NDARRAY:
                    return Kind(NDARRAY, dtype_kw or src.dtype, ndim=src.ndim)
                ndim = self.display_ndim(args[0])
                if dtype_kw:
                    return Kind(NDARRAY, dtype_kw, ndim=ndim)
                if src.base == SEQUENCE and src.elts and all(e.base == SCALAR for e in src.elts):
                    if all(e.dtype == "bool" for e in src.elts):
                        return Kind(NDARRAY, "bool", ndim=1)
                    if any(e.dtype in ("float", "np.float64") for e in src.elts):
                        return Kind(NDARRAY, "float64", ndim=1)
                return Kind(NDARRAY, ndim=ndim)
            if name == "where" and len(args) == 1:
                return SEQ
            return Kind(NDARRAY, dtype_kw)
        if name in K.NUMPY_ELEMENTWISE:
            if keyword(node, "out") is not None:
                return UNKNOWN
            kinds = [self.kind(a) for a in args]
            if BOTTOM in kinds:
                return BOTTOM
            is_bool = name in K.NUMPY_BOOL_RESULT
            if kinds and all(k.base == SCALAR for k in kinds):
                if is_bool:
                    return Kind(SCALAR, "np.bool")
                if any(k.dtype == "np.float32" for k in kinds):
                    return Kind(SCALAR, "np.float32")
                return NP_SCALAR
            arrays = [k for k in kinds if k.base == NDARRAY]
            if arrays:
                dtype: str | None = "bool" if is_bool else None
                if dtype is None and all(k.base in (NDARRAY, SCALAR) for k in kinds):
                    float_dtypes = {k.dtype for k in arrays}
                    if len(float_dtypes) == 1 and next(iter(float_dtypes)) in FLOAT_DTYPES:
                        dtype = next(iter(float_dtypes))
                ndims = {k.ndim for k in arrays}
                return Kind(NDARRAY, dtype, ndim=max(ndims) if None not in ndims else None)  # type: ignore[type-var]
            return UNKNOWN
        if name in K.NUMPY_REDUCTIONS:
            if keyword(node, "axis") is None and len(args) == 1 and self.kind(args[0]).base in (NDARRAY, SEQUENCE):
                return NP_SCALAR
            return UNKNOWN
        if name in ("isclose", "allclose", "array_equal", "any", "all") and keyword(node, "axis") is None:
            if name in ("allclose", "array_equal"):
                return PY_BOOL
            return Kind(SCALAR, "np.bool") if all(self.kind(a).base in (SCALAR,) for a in args) else UNKNOWN
        return None

    def _numpy_random_kind(self, node: ast.Call, name: str) -> Kind | None:
        if name == "permutation" and len(node.args) == 1:
            n = self.kind(node.args[0])
            return Kind(NDARRAY, "int64" if n.dtype == "int" else None, ndim=1 if n.dtype == "int" else None)
        size_at = K.NUMPY_RANDOM_SIZE_ARG.get(name)
        if size_at is None:
            return None
        args = node.args
        if size_at == -1:  # rand(*dims): scalar with no dims
            return PY_FLOAT if not args else Kind(NDARRAY, "float64")
        has_size = keyword(node, "size") is not None or len(args) > size_at
        if has_size:
            return NDARRAY_ANY
        if name == "choice":
            return UNKNOWN
        if all(self.kind(a).base == SCALAR for a in args) and all(
            self.kind(kw.value).base == SCALAR for kw in node.keywords if kw.arg != "size"
        ):
            return PY_INT if name == "randint" else PY_FLOAT
        return UNKNOWN

    def _torch_call_kind(self, node: ast.Call, mod: str, name: str) -> Kind | None:
        dtype_kw = self.dtype_of(keyword(node, "dtype"))
        if mod == "torch.cuda":
            if name in K.TORCH_LEGACY_CONSTRUCTORS:
                return Kind(TENSOR, K.TORCH_LEGACY_CONSTRUCTORS[name])
            return None
        if mod == "torch":
            if name == "device":
                return DEVICE_KIND
            if name in K.TORCH_LEGACY_CONSTRUCTORS:
                return Kind(TENSOR, K.TORCH_LEGACY_CONSTRUCTORS[name])
            if name in K.TORCH_DETERMINISTIC_FACTORIES or name in K.TORCH_RANDOM_FACTORIES:
                dtype = dtype_kw or self.factory_default_dtype(node, name)
                if name in ("zeros", "ones", "empty", "rand", "randn", "full"):
                    ndim = self.shape_ndim(node, torch_style=name != "full")
                elif name in ("arange", "linspace", "logspace", "randperm"):
                    ndim = 1
                elif name == "eye":
                    ndim = 2
                elif name in ("tensor", "as_tensor") and node.args:
                    src = self.kind(node.args[0])
                    ndim = src.ndim if src.base in (NDARRAY, TENSOR) else self.display_ndim(node.args[0])
                    if dtype is None and src.base == NDARRAY:
                        dtype = src.dtype
                else:
                    ndim = None
                return Kind(TENSOR, dtype, ndim=ndim)
            if name == "from_numpy" and node.args:
                src = self.kind(node.args[0])
                return Kind(TENSOR, src.dtype if src.base == NDARRAY else None)
            if name.endswith("_like") and node.args:
                src = self.kind(node.args[0])
                return Kind(TENSOR, dtype_kw or (src.dtype if src.base == TENSOR else None))
            if name in ("max", "min"):
                if keyword(node, "dim") is not None:
                    return SEQ
                if len(node.args) > 1:
                    other = self.kind(node.args[1])
                    return TENSOR_ANY if other.base == TENSOR else SEQ if other.dtype == "int" else UNKNOWN
                return TENSOR_ANY
            if name in ("sort", "topk", "mode", "kthvalue", "unique"):
                return SEQ
            if name in ("is_tensor", "numel", "is_floating_point", "is_grad_enabled"):
                return PY_BOOL if name != "numel" else PY_INT
            if name in ("cat", "stack", "concat", "concatenate", "hstack", "vstack") and node.args:
                seq = node.args[0]
                if isinstance(seq, ast.List | ast.Tuple) and seq.elts:
                    ks = [self.kind(e) for e in seq.elts]
                    if all(k.base == TENSOR for k in ks):
                        return Kind(TENSOR, join_all(ks).dtype)
                return TENSOR_ANY
        if name in K.TORCH_TENSOR_FUNCTIONS:
            if name in K.TORCH_BOOL_FUNCTIONS:
                return Kind(TENSOR, "bool")
            args = [self.kind(a) for a in node.args]
            if BOTTOM in args:
                return BOTTOM
            dtype = None
            if args and args[0].base == TENSOR and name in K.TENSOR_INPLACE_UNARY:
                dtype = args[0].dtype if args[0].dtype in FLOAT_DTYPES else None
            return Kind(TENSOR, dtype_kw or dtype)
        return None

    def shape_ndim(self, node: ast.Call, torch_style: bool) -> int | None:
        """The rank a factory's shape argument gives: ``zeros((3, 4))`` -> 2, ``zeros(n)`` -> 1."""
        shape = keyword(node, "shape") or keyword(node, "size")
        args = node.args
        if shape is None:
            if not args:
                return None
            if torch_style and len(args) > 1:
                if all(self.kind(a).dtype == "int" for a in args):
                    return len(args)
                return None
            shape = args[0]
        if isinstance(shape, ast.Tuple | ast.List):
            if any(isinstance(e, ast.Starred) for e in shape.elts):
                return None
            return len(shape.elts)
        return 1 if self.kind(shape).dtype == "int" else None

    def display_ndim(self, node: ast.expr) -> int | None:
        """``[1.0, 2.0]`` -> 1, ``[[a, b], [c, d]]`` -> 2, ``[arr1, arr2]`` -> arr ndim + 1."""
        if isinstance(node, ast.List | ast.Tuple) and node.elts:
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return None
            inner = {self.display_ndim(e) if isinstance(e, ast.List | ast.Tuple) else self._item_ndim(e)
                     for e in node.elts}
            if len(inner) == 1:
                d = inner.pop()
                return None if d is None else d + 1
        return None

    def _item_ndim(self, node: ast.expr) -> int | None:
        k = self.kind(node)
        if k.base == SCALAR:
            return 0
        if k.base in (NDARRAY, TENSOR):
            return k.ndim
        return None

    def factory_default_dtype(self, node: ast.Call, name: str) -> str | None:
        default = K.TORCH_DETERMINISTIC_FACTORIES.get(name) or K.TORCH_RANDOM_FACTORIES.get(name)
        if default is not None:
            return default
        if name in ("arange", "full"):
            nums = node.args if name == "arange" else node.args[1:2]
            ks = [self.kind(a) for a in nums]
            if ks and all(k.dtype == "int" for k in ks):
                return "int64"
            if any(k.dtype == "float" for k in ks):
                return "float32"
        return None

    def _method_kind(self, node: ast.Call, func: ast.Attribute) -> Kind:
        attr = func.attr
        recv = self.kind(func.value)
        if recv == BOTTOM:
            return BOTTOM
        args = node.args
        if attr == "item" and not args:
            if recv.base in (TENSOR, NDARRAY, SCALAR):
                return self._python_scalar_for(recv.dtype)
            return Kind(SCALAR, "number")
        if attr == "tolist" and not args:
            return SEQ if recv.base in (TENSOR, NDARRAY) else UNKNOWN
        if attr == "numpy" and not args:
            return Kind(NDARRAY, recv.dtype if recv.base == TENSOR else None)
        if attr == "detach" and not args:
            return Kind(TENSOR, recv.dtype if recv.base == TENSOR else None)
        if recv.base == TENSOR:
            return self._tensor_method_kind(node, attr, recv)
        if recv.base == NDARRAY:
            return self._ndarray_method_kind(node, attr, recv)
        if recv.base == CLIENT_KIND.base or self.qualname(func.value) == "pybullet":
            getter = K.PYBULLET_GETTERS.get(attr)
            if getter is not None:
                return getter.with_origin("pybullet")
        if recv.base == DEVICE_KIND.base and attr == "type":
            return STR_KIND
        return UNKNOWN

    @staticmethod
    def _python_scalar_for(dtype: str | None) -> Kind:
        if dtype in FLOAT_DTYPES:
            return PY_FLOAT
        if dtype == "bool":
            return PY_BOOL
        if dtype is not None and dtype.startswith(("int", "uint")):
            return PY_INT
        return Kind(SCALAR, "number")

    def _tensor_method_kind(self, node: ast.Call, attr: str, recv: Kind) -> Kind:
        args = node.args
        if attr in K.TENSOR_METADATA_METHODS:
            if attr == "size" and not args:
                return SEQ
            return PY_BOOL if attr.startswith("is_") else PY_INT
        if attr in K.TORCH_CAST_METHODS and not args:
            return Kind(TENSOR, K.TORCH_CAST_METHODS[attr], ndim=recv.ndim)
        if attr in ("to", "type"):
            dtype = recv.dtype
            for a in (*args, keyword(node, "dtype")):
                d = self.dtype_of(a) if a is not None else None
                if d is not None:
                    dtype = d
            return Kind(TENSOR, dtype)
        if attr in ("eq", "ne", "gt", "ge", "lt", "le", "isnan", "isinf", "isfinite", "logical_not",
                    "logical_and", "logical_or", "any", "all"):
            return Kind(TENSOR, "bool")
        if attr in ("max", "min", "sort", "topk", "median") and (args or node.keywords):
            if attr in ("max", "min") and args and self.kind(args[0]).base == TENSOR:
                return Kind(TENSOR, recv.dtype)
            return SEQ
        if attr in ("split", "chunk", "unbind"):
            return SEQ
        if attr in K.TENSOR_ALIASING_METHODS or attr in K.TENSOR_FRESH_METHODS or attr.endswith("_"):
            reduction = attr in ("sum", "mean", "std", "var", "norm", "prod", "argmax", "argmin", "max", "min")
            dtype = recv.dtype if not reduction or recv.dtype in FLOAT_DTYPES else None
            if attr in ("argmax", "argmin"):
                dtype = "int64"
            if reduction:
                full = not args and not node.keywords
                return Kind(TENSOR, dtype, ndim=0 if full else None)
            keeps_shape = (
                attr in K.TENSOR_FRESH_METHODS or attr.endswith("_")
                or attr in ("detach", "to", "cpu", "cuda", "contiguous", "clone")
            )
            return Kind(TENSOR, dtype, ndim=recv.ndim if keeps_shape else None)
        return UNKNOWN

    def _ndarray_method_kind(self, node: ast.Call, attr: str, recv: Kind) -> Kind:
        args = node.args
        if attr == "astype" and args:
            return Kind(NDARRAY, self.dtype_of(args[0]), ndim=recv.ndim)
        if attr in ("copy", "clip", "round"):
            return Kind(NDARRAY, recv.dtype, ndim=recv.ndim)
        if attr in ("flatten", "ravel"):
            return Kind(NDARRAY, recv.dtype, ndim=1)
        if attr in ("reshape", "squeeze", "transpose", "cumsum", "repeat", "view"):
            return Kind(NDARRAY, recv.dtype if attr != "view" else None)
        if attr in ("sum", "mean", "std", "var", "max", "min", "prod"):
            if not args and keyword(node, "axis") is None:
                return NP_SCALAR
            return NDARRAY_ANY
        if attr in ("any", "all") and not args and keyword(node, "axis") is None:
            return Kind(SCALAR, "np.bool")
        if attr == "fill":
            return NONE_KIND
        return UNKNOWN

    # ------------------------------------------------------------------------------------------
    # heat and context
    # ------------------------------------------------------------------------------------------
    def heat(self, node: ast.AST) -> str | None:
        """Why ``node`` runs many times (a phrase for messages), or ``None`` for cold code."""
        from flake8_pyfast.analysis.heat import node_heat

        return node_heat(self, node)

    def in_no_grad(self, node: ast.AST) -> bool:
        info = self.info(node)
        return info.nograd if info is not None else False

    # -- aliasing (see alias.py) -------------------------------------------------------------
    def is_fresh(self, node: ast.expr) -> bool:
        from flake8_pyfast.analysis.alias import is_fresh

        return is_fresh(self, node)

    def escapes_before(self, name: ast.Name, update: ast.stmt) -> bool:
        from flake8_pyfast.analysis.alias import escapes_before

        return escapes_before(self, name, update)

    def grad_free(self, node: ast.expr) -> bool:
        from flake8_pyfast.analysis.alias import grad_free

        return grad_free(self, node)
