"""Kind inference: what an expression evaluates to (a tensor of some dtype, an array, a scalar...).

:class:`KindInference` holds the fixpoint (``kind``), the kinds of bindings, attributes,
annotations and the expression cases; its base :class:`~.infer_calls.CallKinds` holds the calls.
Both are mixins of :class:`~flake8_pyfast.analysis.core.Analysis` rather than objects it owns:
inference and name resolution call each other constantly (``qualname`` needs the kind of
``self.client``, ``kind`` needs qualified names and reaching bindings), and as methods of one
object those calls stay plain method calls sharing one set of caches, the same cost as when this
was all one class. The methods this mixin needs from ``Analysis`` are declared for the type
checker only.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flake8_pyfast.analysis import knowledge as K
from flake8_pyfast.analysis.astutil import const_number, is_value
from flake8_pyfast.analysis.infer_calls import CallKinds
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
from flake8_pyfast.analysis.measured import position

if TYPE_CHECKING:
    from flake8_pyfast.analysis.measured import FileMeasure, Position
    from flake8_pyfast.analysis.project import ModuleHeat
    from flake8_pyfast.analysis.scopes import Binding, ClassInfo, Scope, Tables

#: how deep kind inference may recurse (expressions deeper than this are "unknown"); well below
#: Python's recursion limit, which the rules' own recursion also needs
MAX_DEPTH = 150


class KindInference(CallKinds):
    """Kinds of expressions, cached per node. Mixed into ``Analysis``."""

    if TYPE_CHECKING:  # provided by Analysis (name resolution)
        def qualname(self, node: ast.AST) -> str | None: ...
        def scope_of(self, node: ast.AST) -> Scope: ...
        def bindings_of(self, node: ast.Name) -> list[Binding]: ...
        def class_of(self, node: ast.AST) -> ClassInfo | None: ...
        def is_self(self, node: ast.AST) -> bool: ...
        def _static_qualname(self, node: ast.AST, scope: Scope) -> str | None: ...
        def callee(self, node: ast.Call) -> Scope | None: ...
        def parent(self, node: ast.AST) -> ast.AST | None: ...
        tree: ast.Module
        scopes: list[Scope]
        collected: dict[type[ast.AST], list[ast.AST]]
        tables: Tables
        project: ModuleHeat | None
        measure: FileMeasure | None
        collect: bool
        unknown_sites: list[Position]
        observed: set[int]

    def _forget_kinds(self) -> None:
        """Start (or drop) the kind caches."""
        self._kind_cache: dict[int, Kind] = {}
        self._busy: set[int] = set()
        self._hits: set[int] = set()
        self._assume: dict[int, Kind] = {}
        #: results that hold only under the current assumptions (see ``kind``), per generation
        self._tentative: dict[int, tuple[int, Kind, frozenset[int]]] = {}
        self._generation = 0
        self._attr_cache: dict[tuple[int, str], Kind] = {}
        self._returns: dict[int, list[ast.expr] | None] = {}
        self._sites: dict[int, list[ast.Call]] | None = None
        self._uses: dict[str, list[ast.Attribute | ast.Name]] | None = None

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
        top = not self._busy  # asked by a rule, not while working out another kind
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
        if not k.known and k.base != BOTTOM.base:
            k = self._unknown(node, k, top)
        if inner_hits:
            # depends on an assumption still being solved: remember it only while nothing changes
            outer_hits |= inner_hits
            self._tentative[key] = (self._generation, k, frozenset(inner_hits))
        elif k.base != BOTTOM.base:
            self._kind_cache[key] = k
        return k

    def _unknown(self, node: ast.AST, k: Kind, top: bool) -> Kind:
        """``node``'s kind when the static look found none: what a profiled run saw it hold, if
        anything. While collecting what to observe, a rule's question without an answer is kept."""
        if self.measure is not None:
            seen = self.measure.kind_at(node)
            if seen is not None:
                self.observed.add(id(node))
                return seen
        if self.collect and top and is_value(node):
            pos = position(node)
            if pos is not None:
                self.unknown_sites.append(pos)
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
        elif how == "param":
            return self.param_kind(b)
        else:
            return UNKNOWN
        path = b.path
        if path and path[0] is not None and isinstance(b.value, ast.ListComp) and how == "assign":
            # ``a, b, c = [float(g) for g in parts]``: every item is what the element expression gives
            k, path = self.kind(b.value.elt), path[1:]
        for i in path:
            k = k.item(i) if i is not None else UNKNOWN
        return k

    # -- parameters, from the module's call sites -----------------------------------------
    def param_kind(self, b: Binding) -> Kind:
        """What a parameter holds, when every call of its function is in this module and they agree.

        ``def swing(self, phase): ... np.cos(phase)`` called only as ``self.swing(t / period)``:
        ``phase`` is a Python float. Unknown when the function is called by name from another
        module of the project, referenced without a call (a callback), decorated, or called with
        ``*args``/``**kwargs``; a call that leaves the parameter out contributes its default."""
        fn = b.scope.node
        arg = b.node
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or not isinstance(arg, ast.arg):
            return UNKNOWN
        args = fn.args
        if arg is args.vararg or arg is args.kwarg:
            return UNKNOWN
        if any(not (isinstance(d, ast.Name) and d.id == "staticmethod") for d in fn.decorator_list):
            return UNKNOWN
        if self.project is not None and fn.name in self.project.called_elsewhere:
            return UNKNOWN
        calls = self._call_sites().get(id(fn))
        if not calls or self._referenced_uncalled(fn):
            return UNKNOWN
        positional = [*args.posonlyargs, *args.args]
        offset = 1 if b.scope.self_name is not None else 0
        index = next((i - offset for i, a in enumerate(positional) if a is arg), None)
        if index is not None and index < 0:
            return UNKNOWN  # ``self``
        defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]],
                            args.defaults, strict=True))
        defaults.update((a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d)
        kinds = []
        for call in calls:
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return UNKNOWN
            value: ast.expr | None
            if index is not None and index < len(call.args):
                value = call.args[index]
            else:
                value = next((k.value for k in call.keywords if k.arg == arg.arg), defaults.get(arg.arg))
            if value is None:
                return UNKNOWN
            kinds.append(self.kind(value))
        k = join_all(kinds)
        return k if k.known else UNKNOWN

    def _call_sites(self) -> dict[int, list[ast.Call]]:
        """id(function node) -> the calls of this module that reach it."""
        sites = self._sites
        if sites is None:
            sites = self._sites = {}
            for scope in self.scopes:
                for call in scope.calls:
                    target = self.callee(call)
                    if target is not None:
                        sites.setdefault(id(target.node), []).append(call)
        return sites

    def _referenced_uncalled(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """Is the function used as a value anywhere in the module (``callbacks.append(self.f)``)?"""
        uses = self._uses
        if uses is None:
            uses = self._uses = {}
            for node in (*self.collected[ast.Attribute], *self.collected[ast.Name]):
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                    uses.setdefault(node.attr, []).append(node)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    uses.setdefault(node.id, []).append(node)
        for node in uses.get(fn.name, ()):
            parent = self.parent(node)
            if not (isinstance(parent, ast.Call) and parent.func is node):
                return True
        return False

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
            k = self.names_kind(bindings) if bindings else self._class_constant(cls.node, node.attr)
            if k.base == BOTTOM.base:
                k = UNKNOWN
            self._attr_cache[key] = k
        return k

    def _class_constant(self, cls_node: ast.ClassDef, attr: str) -> Kind:
        """A number the class body binds once to a literal (``LENGTH = 0.6``) and no method assigns
        through ``self``: ``self.LENGTH`` and ``Cls.LENGTH`` read a Python float (or int)."""
        info = self.tables.class_info.get(id(cls_node))
        if info is None or info.attrs.get(attr):
            return UNKNOWN
        scope = next((s for s in self.scopes if s.node is cls_node and s.kind == "class"), None)
        bs = scope.bindings.get(attr) if scope is not None else None
        if not bs or len(bs) != 1 or bs[0].how not in ("assign", "ann") or bs[0].path or bs[0].value is None:
            return UNKNOWN
        v = const_number(bs[0].value)
        if v is None:
            return UNKNOWN
        return PY_FLOAT if isinstance(v, float) else PY_INT

    def _constant_kind(self, qual: str) -> Kind:
        mod, _, attr = qual.rpartition(".")
        if mod == "math" and attr in K.MATH_CONSTANTS:
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
        builtin = K.BUILTIN_DTYPES.get(self.qualname(node) or "")
        if builtin is not None:
            return builtin
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
            if q in K.NDARRAY_GENERIC_ANNOTATIONS:
                inner = ann.slice
                dtype = None
                if isinstance(inner, ast.Attribute | ast.Name):
                    dq = self._static_qualname(inner, scope) or ""
                    dtype = K.NUMPY_DTYPE_NAMES.get(dq.rpartition(".")[2])
                return Kind(NDARRAY, dtype)
            if q in K.SEQUENCE_GENERIC_ANNOTATIONS:
                return SEQ
            return UNKNOWN
        if isinstance(ann, ast.BinOp):  # X | None
            return UNKNOWN
        q = self._static_qualname(ann, scope)
        if q is None:
            return UNKNOWN
        if q in K.TENSOR_ANNOTATIONS:
            return TENSOR_ANY
        if q.startswith("torch.") and q.rpartition(".")[2] in K.TORCH_LEGACY_CONSTRUCTORS:
            return Kind(TENSOR, K.TORCH_LEGACY_CONSTRUCTORS[q.rpartition(".")[2]])
        if q in K.NDARRAY_ANNOTATIONS:
            return NDARRAY_ANY
        if q == "builtins.float":
            return PY_FLOAT
        if q == "builtins.int":
            return PY_INT
        if q == "builtins.bool":
            return PY_BOOL
        if q in K.SEQUENCE_ANNOTATIONS:
            return SEQ
        return UNKNOWN


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
            if q in K.BUILTIN_ITEM_PASSTHROUGH and args:
                return self.element_kind(args[0])
            if isinstance(iterable.func, ast.Attribute) and not args:
                if iterable.func.attr == "parameters":
                    return TENSOR_ANY
                if iterable.func.attr == "named_parameters":
                    return Kind(SEQUENCE, elts=(STR_KIND, TENSOR_ANY))
        k = self.kind(iterable)
        if k.base == TENSOR:
            return Kind(TENSOR, k.dtype)
        if k.base == SEQUENCE or (k.base == NDARRAY and k.ndim):
            return k.item(None)  # a 1-d array yields NumPy scalars, an n-d one (n-1)-d rows
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
        if self.is_self(node.value):
            return self.attr_kind(node)
        if isinstance(node.value, ast.Name):
            cls_node = self._class_named(node.value)
            if cls_node is not None:
                return self._class_constant(cls_node, attr)
        base = self.kind(node.value)
        if base == BOTTOM:
            return BOTTOM
        if base.base == TENSOR:
            if attr in K.TENSOR_VIEW_ATTRS:
                return base.with_origin(None)
            if attr == "shape":
                return SEQ
            if attr == "ndim":
                return PY_INT
            if attr == "device":
                return DEVICE_KIND
            if attr == "dtype":
                return Kind(DTYPE, base.dtype)
            if attr in K.TENSOR_BOOL_ATTRS:
                return PY_BOOL
        elif base.base == NDARRAY:
            if attr in K.NDARRAY_VIEW_ATTRS:
                return base.with_origin(None)
            if attr == "shape":
                return SEQ
            if attr in K.NDARRAY_INT_ATTRS:
                return PY_INT
            if attr == "dtype":
                return Kind(DTYPE, base.dtype)
        if attr in ("shape",) and base.base != SCALAR and base.known:
            return SEQ
        return UNKNOWN

    def _class_named(self, name: ast.Name) -> ast.ClassDef | None:
        """The class of this module that ``name`` is bound to, and only to."""
        scope = self.scope_of(name).lookup(name.id)
        bs = scope.bindings.get(name.id) if scope is not None else None
        if bs and len(bs) == 1 and bs[0].how == "class" and isinstance(bs[0].node, ast.ClassDef):
            return bs[0].node
        return None

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
                    ndim = broadcast_ndim(a.ndim, b.ndim)
                    if isinstance(op, ast.MatMult):
                        ndim = _matmul_ndim(left.ndim, right.ndim)
                        if ndim == 0:
                            return Kind(SCALAR, numpy_scalar_dtype(self._binop_dtype(op, a.dtype, b.dtype)))
                    return Kind(NDARRAY, self._binop_dtype(op, a.dtype, b.dtype), ndim=ndim)
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


def _matmul_ndim(a: int | None, b: int | None) -> int | None:
    """The rank of ``a @ b``: a 1-d operand loses its axis (``v @ w`` is a scalar, ``M @ v`` 1-d)."""
    if a is None or b is None or a < 1 or b < 1:
        return None
    if a == b == 1:
        return 0
    return max(a, b) - (1 if 1 in (a, b) else 0)
