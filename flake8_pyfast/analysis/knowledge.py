"""Facts about NumPy, PyTorch and PyBullet APIs, as data. No imports of those libraries."""

from __future__ import annotations

from flake8_pyfast.analysis.kinds import PY_FLOAT, PY_INT, SEQ, SEQUENCE, Kind

# ---------------------------------------------------------------------------------------------
# Python and its standard library
# ---------------------------------------------------------------------------------------------

#: ``math.<name>`` constants (all floats)
MATH_CONSTANTS = frozenset({"pi", "e", "tau", "inf", "nan"})
#: ``math.<name>`` functions that return an ``int`` (the others return a ``float`` or a ``bool``)
MATH_INT_FUNCTIONS = frozenset({"floor", "ceil", "trunc", "factorial", "comb", "perm", "gcd", "isqrt"})
#: standard-library functions returning a Python ``float``
STDLIB_FLOAT_FUNCTIONS = frozenset({
    "time.time", "time.perf_counter", "time.monotonic", "random.random", "random.uniform",
    "random.gauss", "random.normalvariate",
})
#: standard-library functions returning a Python ``int``
STDLIB_INT_FUNCTIONS = frozenset({"random.randint", "random.randrange"})
#: builtins that name a dtype when passed as ``dtype=``: qualified name -> dtype
BUILTIN_DTYPES = {"builtins.float": "float64", "builtins.bool": "bool", "builtins.int": "int64"}
#: builtins that pass the items of their (first) argument through when iterated
BUILTIN_ITEM_PASSTHROUGH = frozenset({"builtins.reversed", "builtins.sorted", "builtins.list", "builtins.tuple"})

# ---------------------------------------------------------------------------------------------
# Annotations: qualified names -> what a value so annotated is
# ---------------------------------------------------------------------------------------------

#: subscripted (``NDArray[np.float32]``): an array whose dtype the subscript names
NDARRAY_GENERIC_ANNOTATIONS = frozenset({"numpy.typing.NDArray", "numpy.ndarray"})
SEQUENCE_GENERIC_ANNOTATIONS = frozenset(
    {"typing.List", "typing.Tuple", "builtins.list", "builtins.tuple", "typing.Sequence"}
)
TENSOR_ANNOTATIONS = frozenset({"torch.Tensor", "torch.nn.Parameter", "torch.nn.parameter.Parameter"})
NDARRAY_ANNOTATIONS = frozenset({"numpy.ndarray", "numpy.typing.NDArray"})
SEQUENCE_ANNOTATIONS = frozenset({"builtins.list", "builtins.tuple", "typing.List", "typing.Tuple"})

# ---------------------------------------------------------------------------------------------
# NumPy
# ---------------------------------------------------------------------------------------------

#: element-wise math that returns a NumPy scalar for scalar input and an array otherwise
NUMPY_ELEMENTWISE = frozenset(
    """abs absolute fabs sqrt cbrt square exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin
    arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh floor ceil trunc rint round around
    sign hypot degrees radians deg2rad rad2deg isnan isinf isfinite copysign maximum minimum fmax
    fmin clip power float_power add subtract multiply divide true_divide floor_divide mod
    remainder negative positive reciprocal logical_and logical_or logical_not logical_xor
    greater greater_equal less less_equal equal not_equal heaviside""".split()
)

#: comparisons / logical ufuncs: result dtype is bool
NUMPY_BOOL_RESULT = frozenset(
    """isnan isinf isfinite logical_and logical_or logical_not logical_xor greater greater_equal
    less less_equal equal not_equal isclose""".split()
)

#: functions that build a new array (fresh memory)
NUMPY_FACTORIES = frozenset(
    """array zeros ones empty full arange linspace logspace eye identity zeros_like ones_like
    empty_like full_like concatenate stack vstack hstack dstack column_stack append tile repeat
    copy diag outer where""".split()
)
#: functions that return their input (or a view of it) when they can
NUMPY_ALIASING = frozenset(
    """asarray asanyarray ascontiguousarray asfortranarray reshape ravel squeeze expand_dims
    transpose swapaxes moveaxis broadcast_to atleast_1d atleast_2d atleast_3d""".split()
)
#: reductions: a scalar without ``axis``, an array with it
NUMPY_REDUCTIONS = frozenset(
    "sum mean std var max min amax amin prod median nanmean nansum nanmax nanmin dot vdot".split()
)

NUMPY_SCALAR_CONSTANTS = frozenset({"pi", "e", "inf", "nan", "euler_gamma", "Inf", "NaN", "PINF"})

NUMPY_SCALAR_TYPES = {
    "float64": "np.float64", "float32": "np.float32", "float16": "np.float16", "double": "np.float64",
    "single": "np.float32", "int64": "np.int64", "int32": "np.int32", "bool_": "np.bool",
}

NUMPY_DTYPE_NAMES = {
    "float64": "float64", "float32": "float32", "float16": "float16", "double": "float64",
    "single": "float32", "half": "float16", "int64": "int64", "int32": "int32", "int16": "int16",
    "int8": "int8", "uint8": "uint8", "bool_": "bool", "bool": "bool", "intp": "int64",
    "longlong": "int64",
}

#: factories whose first argument (or ``shape=``) is the shape
NUMPY_SHAPE_FACTORIES = frozenset({"zeros", "ones", "empty", "full"})
#: the dtype ``np.full``/``np.array`` give a Python scalar of this kind
NUMPY_DTYPE_OF_PYTHON = {"float": "float64", "int": "int64", "bool": "bool"}
#: factories that copy the first argument's dtype and shape
NUMPY_LIKE_FACTORIES = frozenset({"zeros_like", "ones_like", "empty_like", "full_like", "copy"})
#: ndarray attributes that are the array itself, seen another way
NDARRAY_VIEW_ATTRS = frozenset({"T", "real", "imag"})
#: ndarray attributes that are Python ints
NDARRAY_INT_ATTRS = frozenset({"ndim", "size", "nbytes", "itemsize"})
#: ndarray methods that keep dtype and shape
NDARRAY_SAME_SHAPE_METHODS = frozenset({"copy", "clip", "round"})
#: ndarray methods that keep the dtype and change the shape
NDARRAY_RESHAPE_METHODS = frozenset({"reshape", "squeeze", "transpose", "cumsum", "repeat", "view"})
#: ndarray methods that reduce to a scalar without ``axis``
NDARRAY_REDUCTION_METHODS = frozenset({"sum", "mean", "std", "var", "max", "min", "prod"})

#: numpy.random functions and the positional index of their ``size`` argument
NUMPY_RANDOM_SIZE_ARG = {
    "rand": -1, "randn": -1, "random": 0, "random_sample": 0, "sample": 0, "ranf": 0,
    "uniform": 2, "normal": 2, "randint": 2, "exponential": 1, "standard_normal": 0, "beta": 2,
    "gamma": 2, "poisson": 1, "binomial": 2, "choice": 1, "laplace": 2,
}

# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------

#: factories that take ``device=`` and ``dtype=`` and build a new tensor. value: default dtype
#: (None: depends on the data)
TORCH_DETERMINISTIC_FACTORIES = {
    "zeros": "float32", "ones": "float32", "empty": "float32", "full": None,
    "arange": None, "linspace": "float32", "logspace": "float32", "eye": "float32",
    "tensor": None, "as_tensor": None,
}
TORCH_RANDOM_FACTORIES = {
    "rand": "float32", "randn": "float32", "randint": "int64", "randperm": "int64",
    "normal": "float32",
}
TORCH_LEGACY_CONSTRUCTORS = {
    "Tensor": "float32", "FloatTensor": "float32", "DoubleTensor": "float64",
    "HalfTensor": "float16", "LongTensor": "int64", "IntTensor": "int32", "BoolTensor": "bool",
    "ByteTensor": "uint8",
}
TORCH_LEGACY_CUDA = frozenset(f"cuda.{name}" for name in TORCH_LEGACY_CONSTRUCTORS if name != "Tensor")

TORCH_DTYPE_NAMES = {
    "float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
    "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64",
    "long": "int64", "int32": "int32", "int": "int32", "int16": "int16", "int8": "int8",
    "uint8": "uint8", "bool": "bool",
}

#: ``tensor.float()`` and friends: method name -> dtype
TORCH_CAST_METHODS = {
    "float": "float32", "double": "float64", "half": "float16", "bfloat16": "bfloat16",
    "long": "int64", "int": "int32", "short": "int16", "bool": "bool", "byte": "uint8",
    "char": "int8",
}

#: torch.* functions (and torch.nn.functional.*) that return one tensor. Deliberately a list:
#: ``torch.max(x, dim)`` returns a tuple, ``torch.device`` is not a tensor, and so on.
TORCH_TENSOR_FUNCTIONS = frozenset(
    """abs absolute add sub subtract mul multiply div divide true_divide floor_divide remainder
    fmod pow square sqrt rsqrt exp exp2 expm1 log log2 log10 log1p sin cos tan asin acos atan
    atan2 arctan2 sinh cosh tanh sigmoid relu clamp clip clamp_min clamp_max minimum maximum fmax
    fmin neg negative reciprocal sign floor ceil round trunc frac lerp where matmul mm bmm mv dot
    outer einsum cat concat concatenate stack hstack vstack flatten reshape squeeze unsqueeze
    transpose permute t cumsum cumprod sum mean std var prod norm logsumexp softmax log_softmax
    argmax argmin any all eq ne gt ge lt le isnan isinf isfinite logical_and logical_or
    logical_not logical_xor masked_fill gather index_select narrow clone detach zeros_like
    ones_like empty_like full_like rand_like randn_like randint_like erf erfc tril triu diag
    flip roll repeat_interleave nan_to_num from_numpy tensor as_tensor zeros ones empty full
    arange linspace logspace eye rand randn randint randperm normal multinomial bernoulli
    one_hot mse_loss smooth_l1_loss huber_loss l1_loss cross_entropy nll_loss binary_cross_entropy
    binary_cross_entropy_with_logits linear pad normalize softplus gelu elu leaky_relu silu
    mish hardtanh relu6 logsigmoid dropout tanhshrink kl_div cosine_similarity""".split()
)
TORCH_BOOL_FUNCTIONS = frozenset(
    "eq ne gt ge lt le isnan isinf isfinite logical_and logical_or logical_not logical_xor any all".split()
)

#: tensor methods returning a tensor that may share memory with the receiver
TENSOR_ALIASING_METHODS = frozenset(
    """view view_as reshape reshape_as flatten squeeze unsqueeze transpose permute t expand
    expand_as detach to cpu cuda float double half long int bool byte contiguous narrow select
    unflatten movedim swapaxes swapdims type type_as requires_grad_ numpy as_strided real
    unfold diagonal""".split()
)
#: tensor methods returning a new tensor
TENSOR_FRESH_METHODS = frozenset(
    """clone add sub mul div true_divide pow sqrt rsqrt exp log log1p expm1 abs neg sign
    sigmoid tanh relu clamp clip clamp_min clamp_max sum mean std var prod norm max min argmax
    argmin cumsum softmax log_softmax gather masked_fill index_select repeat floor ceil round
    sin cos any all eq ne gt ge lt le logical_not logical_and logical_or lerp square exp2 where
    matmul mm bmm reciprocal nan_to_num""".split()
)
TENSOR_METADATA_METHODS = frozenset(
    """dim numel size element_size nelement ndimension is_contiguous is_floating_point get_device
    stride data_ptr""".split()
)

#: in-place variants that exist on tensors, for the unary rewrites of PYF204
TENSOR_INPLACE_UNARY = frozenset(
    """relu sigmoid tanh exp log log1p expm1 sqrt rsqrt abs neg sign floor ceil round trunc
    sin cos reciprocal square clamp clip clamp_min clamp_max nan_to_num""".split()
)

#: factories whose shape is given like ``torch.zeros(3, 4)`` or ``torch.zeros((3, 4))``
TORCH_SHAPE_FACTORIES = frozenset({"zeros", "ones", "empty", "rand", "randn", "full"})
#: factories that return a 1-d tensor
TORCH_1D_FACTORIES = frozenset({"arange", "linspace", "logspace", "randperm"})
#: ``torch.<name>`` functions that return a tuple (values, indices, ...)
TORCH_TUPLE_FUNCTIONS = frozenset({"sort", "topk", "mode", "kthvalue", "unique"})
#: ``torch.<name>`` functions that join a sequence of tensors into one
TORCH_JOINERS = frozenset({"cat", "stack", "concat", "concatenate", "hstack", "vstack"})
#: ``torch.<name>`` functions that answer a question about a tensor (``numel`` a count, the others a bool)
TORCH_QUERIES = frozenset({"is_tensor", "numel", "is_floating_point", "is_grad_enabled"})
#: tensor attributes that are the tensor itself, seen another way
TENSOR_VIEW_ATTRS = frozenset({"T", "mT", "data", "real", "grad"})
TENSOR_BOOL_ATTRS = frozenset({"is_cuda", "requires_grad", "is_leaf"})
#: tensor methods returning a bool tensor
TENSOR_BOOL_METHODS = frozenset({
    "eq", "ne", "gt", "ge", "lt", "le", "isnan", "isinf", "isfinite", "logical_not", "logical_and",
    "logical_or", "any", "all",
})
#: tensor methods that return a tuple when given a dimension
TENSOR_TUPLE_METHODS = frozenset({"max", "min", "sort", "topk", "median"})
#: tensor methods that return a tuple of tensors
TENSOR_SPLIT_METHODS = frozenset({"split", "chunk", "unbind"})
#: tensor reductions: a 0-d tensor without arguments
TENSOR_REDUCTIONS = frozenset({"sum", "mean", "std", "var", "norm", "prod", "argmax", "argmin", "max", "min"})
#: aliasing tensor methods that keep the shape
TENSOR_SAME_SHAPE_METHODS = frozenset({"detach", "to", "cpu", "cuda", "contiguous", "clone"})

# ---------------------------------------------------------------------------------------------
# Functions that build an array or tensor from a Python sequence (PYF201, PYF202)
# ---------------------------------------------------------------------------------------------

CONVERTERS = frozenset({
    "numpy.array", "numpy.asarray", "torch.tensor", "torch.as_tensor", "torch.Tensor",
    "torch.FloatTensor", "torch.DoubleTensor", "torch.LongTensor", "torch.BoolTensor",
})

# ---------------------------------------------------------------------------------------------
# PyBullet
# ---------------------------------------------------------------------------------------------

_S = PY_FLOAT
_V3 = Kind(SEQUENCE, elts=(_S, _S, _S))
_Q4 = Kind(SEQUENCE, elts=(_S, _S, _S, _S))


def _tup(*elts: Kind) -> Kind:
    return Kind(SEQUENCE, elts=tuple(elts))


#: getters whose tuples users turn into arrays every step, with the shape of what they return
PYBULLET_GETTERS: dict[str, Kind] = {
    "getBasePositionAndOrientation": _tup(_V3, _Q4),
    "getBaseVelocity": _tup(_V3, _V3),
    "getJointState": _tup(_S, _S, Kind(SEQUENCE, elts=(_S,) * 6), _S),
    "getJointStates": SEQ,
    "getJointStateMultiDof": SEQ,
    "getJointStatesMultiDof": SEQ,
    "getLinkState": _tup(_V3, _Q4, _V3, _Q4, _V3, _Q4, _V3, _V3),
    "getLinkStates": SEQ,
    "getContactPoints": SEQ,
    "getClosestPoints": SEQ,
    "getEulerFromQuaternion": _V3,
    "getQuaternionFromEuler": _Q4,
    "getMatrixFromQuaternion": _tup(*([_S] * 9)),
    "getDifferenceQuaternion": _Q4,
    "getAxisAngleFromQuaternion": _tup(_V3, _S),
    "getQuaternionFromAxisAngle": _Q4,
    "multiplyTransforms": _tup(_V3, _Q4),
    "invertTransform": _tup(_V3, _Q4),
    "getAABB": _tup(_V3, _V3),
    "getDynamicsInfo": _tup(_S, _S, _V3, _V3, _Q4, _S, _S, _S, _S, _S, PY_INT, _S),
    "rayTest": SEQ,
    "rayTestBatch": SEQ,
    "calculateInverseKinematics": SEQ,
    "calculateInverseDynamics": SEQ,
    "calculateJacobian": _tup(SEQ, SEQ),
    "getOverlappingObjects": SEQ,
}

#: attribute names under which RL code keeps a pybullet client (``self._p.getJointState``)
CLIENT_ATTRS_ON_SELF = frozenset({"_p", "p", "pb", "_pb", "client", "_client"})
#: names distinctive enough to be a client on any object (``self.sim.physics_client``)
CLIENT_ATTRS_ANYWHERE = frozenset(
    {"bullet_client", "_bullet_client", "physics_client", "_physics_client", "pybullet_client",
     "_pybullet_client", "physicsClient", "pybullet", "_pybullet"}
)
