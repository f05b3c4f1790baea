"""Kinds of calls: what ``f(...)`` and ``x.m(...)`` return, from the API facts in :mod:`.knowledge`.

:class:`CallKinds` is the half of kind inference that knows NumPy, PyTorch, PyBullet, the builtins
and the standard library by name. It is a mixin of :class:`~flake8_pyfast.analysis.core.Analysis`
(through :class:`~flake8_pyfast.analysis.infer.KindInference`), not an object of its own: ``kind``
recurses through these methods thousands of times per module, and a mixin keeps every one of those
calls a plain method call on the one analysis object, with its one set of caches.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from flake8_pyfast.analysis import knowledge as K
from flake8_pyfast.analysis.astutil import keyword
from flake8_pyfast.analysis.kinds import (
    BOTTOM,
    CLIENT_KIND,
    DEVICE_KIND,
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
    join_all,
    numpy_scalar_dtype,
)

if TYPE_CHECKING:
    from flake8_pyfast.analysis.scopes import Scope


class CallKinds:
    """The kinds of call expressions. Mixed into ``Analysis``; relies on the methods declared below."""

    if TYPE_CHECKING:  # provided by KindInference and Analysis
        def kind(self, node: ast.AST | None) -> Kind: ...
        def dtype_of(self, node: ast.AST | None) -> str | None: ...
        def annotation_kind(self, ann: ast.expr, scope: Scope) -> Kind: ...
        def qualname(self, node: ast.AST) -> str | None: ...
        def callee(self, node: ast.Call) -> Scope | None: ...
        _returns: dict[int, list[ast.expr] | None]

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
        """A call to a function of this module: its return annotation, else what all its ``return``
        statements agree on (a plain function: not decorated, not a generator, every path returning
        a value)."""
        target = self.callee(node)
        if target is None:
            return UNKNOWN
        fn = target.node
        returns = getattr(fn, "returns", None)
        if returns is not None:
            return self.annotation_kind(returns, target.parent or target)
        if not isinstance(fn, ast.FunctionDef) or fn.decorator_list:
            return UNKNOWN
        cache = self._returns
        if id(fn) not in cache:
            cache[id(fn)] = _returned_values(fn)
        values = cache[id(fn)]
        if not values:
            return UNKNOWN
        return join_all([self.kind(v) for v in values])


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
            return PY_INT if name in K.MATH_INT_FUNCTIONS else PY_FLOAT
        if q in K.STDLIB_FLOAT_FUNCTIONS:
            return PY_FLOAT
        if q in K.STDLIB_INT_FUNCTIONS:
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
            # ``np.int32(x)`` is a scalar for a scalar ``x`` and an array for an array
            # (``np.int32(np.floor(points[:, 0]))``)
            src = self.kind(args[0]) if args else PY_INT
            if src == BOTTOM:
                return BOTTOM
            if src.base == SCALAR or (src.base == STR_KIND.base and not node.keywords):
                return Kind(SCALAR, K.NUMPY_SCALAR_TYPES[name])
            if src.base in (NDARRAY, SEQUENCE):
                return Kind(NDARRAY, K.NUMPY_DTYPE_NAMES.get(name), ndim=src.ndim if src.base == NDARRAY else None)
            return UNKNOWN
        if name in K.NUMPY_FACTORIES or name in K.NUMPY_ALIASING:
            if name in K.NUMPY_SHAPE_FACTORIES:
                ndim = self.shape_ndim(node, torch_style=False)
                if name == "full":
                    fill = self.kind(args[1]) if len(args) > 1 else UNKNOWN
                    default = K.NUMPY_DTYPE_OF_PYTHON.get(fill.dtype or "")
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
            if name in K.NUMPY_LIKE_FACTORIES and args:
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
                if name in K.TORCH_SHAPE_FACTORIES:
                    ndim = self.shape_ndim(node, torch_style=name != "full")
                elif name in K.TORCH_1D_FACTORIES:
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
            if name in K.TORCH_TUPLE_FUNCTIONS:
                return SEQ
            if name in K.TORCH_QUERIES:
                return PY_BOOL if name != "numel" else PY_INT
            if name in K.TORCH_JOINERS and node.args:
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

    def _reshape_ndim(self, args: list[ast.expr]) -> int | None:
        """The rank ``a.reshape(12, 1)`` / ``a.reshape((3, -1))`` / ``a.reshape(-1)`` gives (``None``: unknown)."""
        if len(args) == 1 and isinstance(args[0], ast.Tuple | ast.List):
            args = list(args[0].elts)
        if not args or any(isinstance(a, ast.Starred) or self.kind(a).dtype != "int" for a in args):
            return None
        return len(args)

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
        if attr == "astype" and len(args) == 1 and recv.base == SCALAR and (recv.dtype or "").startswith("np."):
            # ``np.ceil(x).astype(np.int32)``: a NumPy scalar stays one (a Python float has no ``astype``)
            dtype = self.dtype_of(args[0])
            return Kind(SCALAR, numpy_scalar_dtype(dtype)) if dtype else UNKNOWN
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
        if attr in K.TENSOR_BOOL_METHODS:
            return Kind(TENSOR, "bool")
        if attr in K.TENSOR_TUPLE_METHODS and (args or node.keywords):
            if attr in ("max", "min") and args and self.kind(args[0]).base == TENSOR:
                return Kind(TENSOR, recv.dtype)
            return SEQ
        if attr in K.TENSOR_SPLIT_METHODS:
            return SEQ
        if attr in K.TENSOR_ALIASING_METHODS or attr in K.TENSOR_FRESH_METHODS or attr.endswith("_"):
            reduction = attr in K.TENSOR_REDUCTIONS
            dtype = recv.dtype if not reduction or recv.dtype in FLOAT_DTYPES else None
            if attr in ("argmax", "argmin"):
                dtype = "int64"
            if reduction:
                full = not args and not node.keywords
                return Kind(TENSOR, dtype, ndim=0 if full else None)
            keeps_shape = (
                attr in K.TENSOR_FRESH_METHODS or attr.endswith("_")
                or attr in K.TENSOR_SAME_SHAPE_METHODS
            )
            return Kind(TENSOR, dtype, ndim=recv.ndim if keeps_shape else None)
        return UNKNOWN

    def _ndarray_method_kind(self, node: ast.Call, attr: str, recv: Kind) -> Kind:
        args = node.args
        if attr == "astype" and args:
            return Kind(NDARRAY, self.dtype_of(args[0]), ndim=recv.ndim)
        if attr in K.NDARRAY_SAME_SHAPE_METHODS:
            return Kind(NDARRAY, recv.dtype, ndim=recv.ndim)
        if attr in ("flatten", "ravel"):
            return Kind(NDARRAY, recv.dtype, ndim=1)
        if attr == "reshape" and not node.keywords:
            return Kind(NDARRAY, recv.dtype, ndim=self._reshape_ndim(args))
        if attr in K.NDARRAY_RESHAPE_METHODS:
            return Kind(NDARRAY, recv.dtype if attr != "view" else None)
        if attr in K.NDARRAY_REDUCTION_METHODS:
            if not args and keyword(node, "axis") is None:
                return NP_SCALAR
            return NDARRAY_ANY
        if attr in ("any", "all") and not args and keyword(node, "axis") is None:
            return Kind(SCALAR, "np.bool")
        if attr == "fill":
            return NONE_KIND
        return UNKNOWN


def _returned_values(fn: ast.FunctionDef) -> list[ast.expr] | None:
    """The values of ``fn``'s own ``return`` statements; ``None`` when one returns nothing, the body
    can end without a ``return``, or ``fn`` is a generator."""
    values: list[ast.expr] = []
    todo: list[ast.AST] = list(fn.body)
    while todo:
        n = todo.pop()
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(n, ast.Yield | ast.YieldFrom):
            return None
        if isinstance(n, ast.Return):
            if n.value is None:
                return None
            values.append(n.value)
        todo.extend(ast.iter_child_nodes(n))
    if not fn.body or not isinstance(fn.body[-1], ast.Return | ast.Raise):
        return None  # may fall off the end (``None``), unless every branch returns: not worth proving
    return values
