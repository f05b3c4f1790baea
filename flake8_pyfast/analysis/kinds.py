"""What a name or expression holds, as far as a cheap static look can tell.

A :class:`Kind` is deliberately coarse. ``UNKNOWN`` is the honest answer most of the time, and
every rule that needs a kind stays silent on ``UNKNOWN``.
"""

from __future__ import annotations

from dataclasses import dataclass

# bases
TENSOR = "tensor"
NDARRAY = "ndarray"
SCALAR = "scalar"
SEQUENCE = "sequence"  # list / tuple / torch.Size: a Python container of items
STR = "str"
NONE = "none"
DEVICE = "device"
DTYPE = "dtype"
CLIENT = "client"  # a pybullet module or BulletClient object
MODULE = "module"  # torch.nn.Module instances we can recognise
UNKNOWN_BASE = "unknown"
BOTTOM_BASE = "bottom"  # no information yet (used while resolving cycles)

# dtypes. Arrays/tensors: numpy-style names. Python scalars: "float", "int", "bool";
# NumPy scalars: "np.float64", "np.float32", ... (their arithmetic differs from Python floats).
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
INT_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8"})


@dataclass(frozen=True)
class Kind:
    base: str
    dtype: str | None = None
    #: "pybullet" when the value comes out of a pybullet getter (directly or by indexing)
    origin: str | None = None
    #: known item kinds of a tuple/list, for unpacking and constant indexing
    elts: tuple[Kind, ...] | None = None
    #: number of dimensions of an array/tensor, when a factory or indexing tells
    ndim: int | None = None

    # --- predicates used by the rules -------------------------------------------------------
    @property
    def is_tensor(self) -> bool:
        return self.base == TENSOR

    @property
    def is_ndarray(self) -> bool:
        return self.base == NDARRAY

    @property
    def is_array(self) -> bool:
        return self.base in (TENSOR, NDARRAY)

    @property
    def is_scalar(self) -> bool:
        return self.base == SCALAR

    @property
    def is_python_scalar(self) -> bool:
        """A Python int/float/bool (not a NumPy scalar, whose arithmetic differs)."""
        return self.base == SCALAR and self.dtype in ("float", "int", "bool", "number")

    @property
    def is_sequence(self) -> bool:
        return self.base == SEQUENCE

    @property
    def is_bool_mask(self) -> bool:
        return self.base in (TENSOR, NDARRAY) and self.dtype == "bool"

    @property
    def is_float_array(self) -> bool:
        return self.base in (TENSOR, NDARRAY) and self.dtype in FLOAT_DTYPES

    @property
    def known(self) -> bool:
        return self.base not in (UNKNOWN_BASE, BOTTOM_BASE)

    @property
    def from_pybullet(self) -> bool:
        return self.origin == "pybullet"

    # --- constructors -------------------------------------------------------------------
    def with_dtype(self, dtype: str | None) -> Kind:
        return Kind(self.base, dtype, self.origin, self.elts, self.ndim)

    def with_origin(self, origin: str | None) -> Kind:
        return Kind(self.base, self.dtype, origin, self.elts, self.ndim)

    def with_ndim(self, ndim: int | None) -> Kind:
        return Kind(self.base, self.dtype, self.origin, self.elts, ndim)

    def item(self, index: int | None) -> Kind:
        """The kind of ``self[index]`` for a sequence (``None``: an unknown index)."""
        if self.base == BOTTOM_BASE:
            return self
        if self.base == NDARRAY and self.ndim is not None and self.ndim >= 1:
            # unpacking / iterating an array: rows, or NumPy scalars of a 1-d array
            if self.ndim == 1:
                return Kind(SCALAR, numpy_scalar_dtype(self.dtype))
            return Kind(NDARRAY, self.dtype, ndim=self.ndim - 1)
        out = UNKNOWN
        if self.elts is not None and index is not None and -len(self.elts) <= index < len(self.elts):
            out = self.elts[index]
        elif self.elts and all(e == self.elts[0] for e in self.elts):
            out = self.elts[0]
        return out.with_origin(self.origin) if self.origin else out


UNKNOWN = Kind(UNKNOWN_BASE)
BOTTOM = Kind(BOTTOM_BASE)
PY_FLOAT = Kind(SCALAR, "float")
PY_INT = Kind(SCALAR, "int")
PY_BOOL = Kind(SCALAR, "bool")
NP_SCALAR = Kind(SCALAR, "np.float64")
TENSOR_ANY = Kind(TENSOR)
NDARRAY_ANY = Kind(NDARRAY)
SEQ = Kind(SEQUENCE)
DEVICE_KIND = Kind(DEVICE)
DTYPE_KIND = Kind(DTYPE)
CLIENT_KIND = Kind(CLIENT)
STR_KIND = Kind(STR)
NONE_KIND = Kind(NONE)


def join(a: Kind, b: Kind) -> Kind:
    """The least precise kind that covers both (``BOTTOM`` is the identity)."""
    if a.base == BOTTOM_BASE:
        return b
    if b.base == BOTTOM_BASE or a == b:
        return a
    if a.base != b.base:
        return UNKNOWN
    dtype = a.dtype if a.dtype == b.dtype else None
    if a.base == SCALAR and dtype is None and {a.dtype, b.dtype} <= {"int", "float", "bool"}:
        dtype = "number"  # still a Python number, just not one type
    origin = a.origin if a.origin == b.origin else None
    elts = a.elts if a.elts == b.elts else None
    ndim = a.ndim if a.ndim == b.ndim else None
    return Kind(a.base, dtype, origin, elts, ndim)


def join_all(kinds: list[Kind]) -> Kind:
    out = BOTTOM
    for k in kinds:
        out = join(out, k)
        if out.base == UNKNOWN_BASE and out.origin is None:
            return out
    return out


# dtype promotion for the few cases the rules need ------------------------------------------
_RANK = {"bool": 0, "uint8": 1, "int8": 1, "int16": 2, "int32": 3, "int64": 4,
         "float16": 5, "bfloat16": 5, "float32": 6, "float64": 7}


def promote_array_scalar(array_dtype: str | None, scalar: Kind) -> str | None:
    """dtype of ``array <op> scalar`` under NEP 50 / torch rules (Python scalars are weak)."""
    if array_dtype is None:
        return None
    if scalar.dtype == "bool" or scalar.dtype == "int":
        return "int64" if array_dtype == "bool" and scalar.dtype == "int" else array_dtype
    if scalar.dtype == "float":
        if array_dtype in FLOAT_DTYPES:
            return array_dtype
        return None  # int/bool array with a float: float32 for torch, float64 for numpy
    return None


def numpy_scalar_dtype(array_dtype: str | None) -> str:
    """The scalar kind dtype of one element of an array with ``array_dtype``."""
    if array_dtype == "bool":
        return "np.bool"
    return f"np.{array_dtype}" if array_dtype else "np.number"


def broadcast_ndim(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


def promote_arrays(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return None
    if a == b:
        return a
    ra, rb = _RANK.get(a), _RANK.get(b)
    if ra is None or rb is None:
        return None
    return a if ra >= rb else b
