"""PYF205: a tensor created on the host and then moved / cast."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from flake8_pyfast.analysis import knowledge as K
from flake8_pyfast.analysis.astutil import const_number, keyword
from flake8_pyfast.analysis.kinds import DEVICE, DTYPE, NDARRAY, SCALAR, SEQUENCE, TENSOR
from flake8_pyfast.locator import Locator, follow
from flake8_pyfast.model import Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.rule import FixResult


@dataclass(frozen=True)
class MoveFix(FixData):
    """What moves into the factory call. Locators start at the ``.to()``/``.cuda()`` call.

    ``device``/``dtype``: the user's argument to re-use; ``device_literal`` (``"cuda:0"`` from
    ``.cuda(0)``) and ``dtype_cast`` (``"int64"`` from ``.long()``) when the user wrote none;
    ``prefix``: the module name in front of the factory (``torch``, ``th``); ``legacy``: the
    modern factory replacing a legacy constructor, with ``legacy_dtype``. ``two_statement``: the
    ``if x.is_cuda: z = z.cuda()`` shape; ``source`` locates ``x`` from the ``if`` (anchor
    ``remove``).
    """

    device: Locator | None = None
    device_literal: str | None = None
    dtype: Locator | None = None
    dtype_cast: str | None = None
    prefix: Locator | None = None
    legacy: str | None = None
    legacy_dtype: str | None = None
    two_statement: bool = False
    source: Locator = ()


def _where(spec: tuple[str, Any] | None) -> tuple[Locator | None, str | None]:
    """``_move``'s (how, what) as (locator in the call, literal text)."""
    if spec is None:
        return None, None
    how, what = spec
    if how == "arg":
        return ("args", what), None
    if how == "kw":
        return ("kw", what), None
    return None, what  # "literal" device, "cast" dtype name

_EXACT_DTYPE_FACTORIES = frozenset({"zeros", "ones", "empty", "eye"})
_DEFAULT_DTYPE_SETTERS = frozenset({"torch.set_default_dtype", "torch.set_default_tensor_type"})
#: methods that reshape a tensor without reading its values on the host
_RESHAPES = frozenset({"unsqueeze", "view", "reshape", "squeeze", "flatten", "expand", "t", "contiguous"})
_DEVICE_PREFIXES = ("cuda", "cpu", "mps", "xpu", "meta", "npu", "hpu")


def classify(an: Analysis, expr: ast.expr) -> str | None:
    """Is ``expr`` (an argument of ``.to()``) a device, a dtype, a tensor, or unknown?"""
    k = an.kind(expr)
    if k.base == DEVICE:
        return "device"
    if k.base == DTYPE:
        return "dtype"
    if k.base in (TENSOR, NDARRAY):
        return "tensor"
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return "device" if expr.value.split(":")[0] in _DEVICE_PREFIXES else None
    ident = expr.id if isinstance(expr, ast.Name) else expr.attr if isinstance(expr, ast.Attribute) else ""
    if "device" in ident.lower() or ident in ("dev", "_dev"):
        return "device"
    return None


class CreateThenMove(Rule):
    code = "PYF205"
    name = "create-then-move"
    summary = "`torch.zeros(...).to(device)` / `torch.FloatTensor(x).cuda()`: pass `device=`/`dtype=` instead"
    fixable = "sometimes"
    hot_only = False
    gpu_only_gain = True
    supersedes = ("PYF206",)
    node_types = (ast.Call, ast.If)
    harness_phase = "conversion"
    equivalence = ("exact", "invariants")  # random factories on a GPU draw from the device's generator
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "device": Speedup(1.13, 1.1, 1.18),
        "dtype": Speedup(1.78, 1.7, 1.92),
    }

    what = """
Finds a tensor factory (`torch.zeros/ones/empty/full/arange/linspace/eye/tensor/as_tensor/rand/
randn/randint/randperm/normal`, and the legacy `torch.FloatTensor/LongTensor/Tensor`) followed
directly by `.to(device)`, `.to(dtype)`, `.cuda()`, `.float()`, `.long()`, ..., and the two-statement
form `z = torch.zeros(...)` then `if x.is_cuda: z = z.cuda()`.
"""
    why = """
The factory allocates and fills the tensor in host memory, then `.to()` allocates it again on the
device and copies it over (or converts it to the other dtype: a second allocation and pass).
Passing `device=`/`dtype=` makes the tensor where it belongs in one step. The most common case is
per step: `torch.FloatTensor(obs).to(device)` on every observation. On a CPU-only machine
`.to("cpu")` is free, so the gain appears only with an accelerator (or for dtype casts).
Measured by `bench/pattern_speed.py` on the CPU: `torch.arange(1000).float()` ->
`dtype=torch.float32`, {speedup:dtype}; `torch.zeros(64).to(device)` -> `device=device` with the
device the CPU, {speedup:device}.
"""
    example = """
import torch

for step in range(num_steps):
    obs_t = torch.FloatTensor(obs).to(device)
    mask = torch.zeros(n_envs).to(device)
    idx = torch.arange(n).float()
"""
    use_instead = """
import torch

for step in range(num_steps):
    obs_t = torch.tensor(obs, dtype=torch.float32, device=device)
    mask = torch.zeros(n_envs, device=device)
    idx = torch.arange(n, dtype=torch.float32)
"""
    fix_safety = """
Moving `device=` into a deterministic factory is **safe**: the values are the same. It is
**unsafe** for random factories (`rand`, `randn`, `randint`, `randperm`, `normal`): on the device
another generator draws the numbers. Moving a dtype cast into the factory is safe for `zeros`,
`ones`, `empty`, `eye` and integer-literal `arange`/`full`, unsafe elsewhere (`torch.tensor([0.1]).double()`
is not `torch.tensor([0.1], dtype=torch.float64)`). The legacy constructors become `torch.tensor`
(data) or `torch.empty` (sizes); with an argument of unknown kind that is ambiguous, so unsafe;
`torch.Tensor` follows the default dtype, so unsafe. A factory with `requires_grad=True` changes
which tensor is the autograd leaf: unsafe. The `if x.is_cuda:` form becomes `device=x.device`, which
also moves to other accelerators (MPS, XPU) that the original left on the CPU: unsafe.
"""
    when_wrong = """
Silent for `torch.zeros_like(...)` (already on the right device), `torch.from_numpy(a).to(device)`
and `torch.as_tensor(a).to(device)` (one copy either way: `as_tensor` shares the array's memory,
so passing `device=` saves nothing), modules (`net.to(device)`) and `.to(other_tensor)`.
Silent for casts to the dtype the tensor already has: `torch.tensor([1, 2]).long()` (Python ints
make int64), `torch.tensor([0.5, r]).float()` (Python floats make the default float32, unless the
module calls `torch.set_default_dtype`), `torch.LongTensor(x).long()`. Silent for a device move of
Python list data, `torch.tensor([a, b]).to(device)`, and of scalar data, `torch.tensor(0.0).to(device)`
(a Python or NumPy number): PyTorch fills a host tensor from them and copies it to the device even
when given `device=`, so only array data and filled factories (`zeros`, `arange`, ...) save the
host copy. Silent for moves to the host (`.to("cpu")`, `.to(torch.device("cpu"))`: a host tensor is
returned as it is). The device part's gain needs a GPU: with `[tool.pyfast] target = "cpu"` (or
`--pyfast-target cpu`) device moves are not reported, only casts; with the default `"auto"` they
are reported in modules that mention CUDA or MPS or work with a device they are given (a name,
attribute or parameter `device`, `dev`, `*_device`), which is where a GPU can be in play.
"""

    bad = (
        Example(
            code="""\
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
for episode in range(1000):
    mask = torch.zeros(8).to(device)  # episode mask
""",
            expect=((5, "PYF205"),),
            fixed="""\
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
for episode in range(1000):
    mask = torch.zeros(8, device=device)  # episode mask
""",
            run=None,
        ),
        Example(
            note="per-step observation, legacy constructor from an ndarray",
            code="""\
import numpy as np
import torch


def act(self, obs):
    obs = np.asarray(obs, dtype=np.float64)
    x = torch.FloatTensor(obs).to(self.device)
    return self.policy(x)
""",
            expect=((7, "PYF205"),),
            fixed="""\
import numpy as np
import torch


def act(self, obs):
    obs = np.asarray(obs, dtype=np.float64)
    x = torch.tensor(obs, dtype=torch.float32, device=self.device)
    return self.policy(x)
""",
        ),
        Example(
            note="a dtype cast after an integer arange: safe; a random factory: unsafe",
            code="""\
import torch


def step(self):
    idx = torch.arange(10).float()
    noise = torch.randn(3).cuda()
    return idx, noise
""",
            expect=((5, "PYF205"), (6, "PYF205")),
            fixed="""\
import torch


def step(self):
    idx = torch.arange(10, dtype=torch.float32)
    noise = torch.randn(3, device="cuda")
    return idx, noise
""",
            unsafe=True,
        ),
        Example(
            note="Python ints cast to float is a real cast; list data moved: only the cast pays",
            code="""\
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
for update in range(1000):
    returns = torch.tensor([3, 1, 2]).float()
    weights = torch.tensor([0.5, 0.25]).to(device, torch.float64)
""",
            expect=((5, "PYF201"), (5, "PYF205"), (6, "PYF201"), (6, "PYF205")),  # and a constant rebuilt
            fixed="""\
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
for update in range(1000):
    returns = torch.tensor([3, 1, 2], dtype=torch.float32)
    weights = torch.tensor([0.5, 0.25], dtype=torch.float64, device=device)
""",
            unsafe=True,
        ),
        Example(
            note="the two-statement form",
            code="""\
import torch


def init_hidden(x, n):
    h = torch.zeros(n, 64)
    if x.is_cuda:
        h = h.cuda()
    return h


def forward(self, x):
    return init_hidden(x, 1)
""",
            expect=((5, "PYF205"),),
            fixed="""\
import torch


def init_hidden(x, n):
    h = torch.zeros(n, 64, device=x.device)
    return h


def forward(self, x):
    return init_hidden(x, 1)
""",
            unsafe=True,
        ),
        Example(
            note="one constant repeated on the host, cast, then moved (no automatic fix)",
            code="""\
import torch


def never_done(obs):
    done = torch.Tensor([False]).repeat(len(obs)).bool().to(obs.device)
    return done[:, None]


def step(self, obs):
    return never_done(obs)
""",
            expect=((5, "PYF201"), (5, "PYF205")),  # the constant is rebuilt every call, too
        ),
        Example(
            note="created, reshaped, then moved in later statements (no automatic fix)",
            code="""\
import torch


class Agent:
    def act(self, obs, batched=False):
        x = torch.FloatTensor(obs)
        if not batched:
            x = x.unsqueeze(0)
        x = x.to(self.device)
        return self.policy(x)
""",
            expect=((6, "PYF205"),),
        ),
    )
    good = (
        Example(
            note="*_like, from_numpy, modules, .to(other_tensor), and a no-op cast",
            code="""\
import numpy as np
import torch

a = np.zeros(3)
ref = torch.ones(3)
x = torch.zeros_like(ref).to("cuda")
y = torch.from_numpy(a).to("cuda")
net = torch.nn.Linear(3, 3).to("cuda")
z = torch.zeros(3).to(ref)
w = torch.zeros(3).float()
v = torch.as_tensor(a).to("cuda")
""",
        ),
        Example(
            note="casts to the dtype Python numbers already give, and list data moved to a device",
            code="""\
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def batch(transitions, gamma: float):
    done_mask = torch.tensor([0.0 if t[4] else 1.0 for t in transitions]).float()
    discounts = torch.tensor([1.0, gamma, gamma * gamma]).float()
    index = torch.tensor([[0], [2], [1]]).long()
    ids = torch.LongTensor([3, 1, 2]).long()
    goal = torch.tensor([0.5, -0.2, 0.1]).to(device)
    return done_mask, discounts, index, ids, goal
""",
        ),
        Example(
            note="scalar data is filled on the host either way; a host tensor used before its move",
            code="""\
import numpy as np
import torch


class Learner:
    def update(self, batch, obs, temperature: float):
        if self.tune_entropy:
            alpha_loss = self.entropy_loss(batch)
        else:
            alpha_loss = torch.tensor(0.0).to(self.device)
        log_temp = torch.tensor(np.log(temperature)).to(self.device)
        x = torch.FloatTensor(obs)
        self.recent.append(x)
        x = x.to(self.device)
        if self.noisy:
            x = torch.randn(3)
        x = x.to(self.device)
        return alpha_loss, log_temp, x
""",
        ),
        Example(
            note="repeated data that is not one constant: a pattern, or a value known only at run time",
            code="""\
import torch


def tile(obs, row, n: int):
    pattern = torch.tensor([1.0, -1.0]).repeat(n).to(obs.device)
    rows = torch.tensor([row]).repeat(n, 1).to(obs.device)
    return pattern, rows
""",
        ),
        Example(
            note="unknown .to() argument",
            code="""\
import torch


def f(target):
    return torch.zeros(3).to(target)
""",
        ),
    )

    # ---------------------------------------------------------------------------------------
    def check(self, node: ast.AST, an: Analysis) -> Iterator[Finding]:
        if isinstance(node, ast.If):
            yield from self._check_two_statements(node, an)
            return
        assert isinstance(node, ast.Call)
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            yield from self._check_named(node, func, func.value, an)
            return
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Call):
            return
        factory_call = func.value
        factory = self._factory(an, factory_call)
        if factory is None:
            yield from self._check_repeated(node, func, an)
            return
        move = self._move(an, node, func.attr)
        if move is None:
            return
        device, dtype, dtype_name = move
        if device is not None and (_to_cpu(node, device) or not an.accelerator):
            # ``.to("cpu")`` of a host tensor returns it as it is; and in CPU code (target "cpu",
            # or nothing in the module says GPU) the device part gains nothing: only a cast is left
            device = None
            if dtype is None:
                return
        src_dtype = an.kind(factory_call).dtype or self._data_dtype(an, factory_call, factory)
        host_anyway = device is not None and self._built_on_host_anyway(an, factory_call, factory)
        if host_anyway and dtype is None:
            return  # list data is filled on the host and copied even with device=: nothing to save
        if dtype_name is not None and dtype_name == src_dtype and device is None:
            return  # casting to the dtype it already has: a no-op, not a copy
        if dtype_name is not None and dtype_name == src_dtype:
            dtype = None
        fix = self._fix_for(an, factory_call, factory, device, dtype, dtype_name, node)
        what = ", ".join(w for w, v in (("device=", device), ("dtype=", dtype)) if v is not None)
        heat = an.heat(node)
        if heat is None and an.runs_once(node):
            return  # the gain is per call: set-up code and a script's start are not worth it
        where = f" {heat}" if heat else ""
        shown = ast.unparse(factory_call.func)
        if dtype is None:
            gain = "saves an allocation and a copy; the device gain needs a GPU"
        elif device is None:
            gain = "saves an allocation and a pass over the data to cast it"
        elif host_anyway:
            gain = "saves the cast; list data is copied from the host either way"
        else:
            gain = "saves the cast, and a host allocation and copy; the device gain needs a GPU"
        yield self.report(
            node,
            f"`{shown}(...)` is created on the host and then moved/cast with `.{func.attr}()`{where}: "
            f"pass {what} to the factory ({gain})",
            fix,
        )

    @staticmethod
    def _data_dtype(an: Analysis, call: ast.Call, factory: str) -> str | None:
        """The dtype ``torch.tensor(data)`` infers from Python numbers: ``int64``, ``float32``
        (the default dtype, unless the module changes it) or ``bool``; ``None`` when unsure."""
        if factory != "tensor" or len(call.args) != 1 or call.keywords:
            return None
        found: set[str] = set()
        stack: list[ast.expr] = [call.args[0]]
        while stack:
            e = stack.pop()
            if isinstance(e, ast.List | ast.Tuple):
                if any(isinstance(x, ast.Starred) for x in e.elts):
                    return None
                stack.extend(e.elts)
                continue
            if isinstance(e, ast.ListComp):  # the comprehension's own names are unknown here
                stack.append(e.elt)
                continue
            if isinstance(e, ast.IfExp):
                stack.extend((e.body, e.orelse))
                continue
            if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub | ast.UAdd):
                e = e.operand
            if isinstance(e, ast.Constant):
                value = e.value
                py = "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else (
                    "float" if isinstance(value, float) else None)
            else:
                k = an.kind(e)
                py = k.dtype if k.is_python_scalar and k.dtype != "number" else None
            if py is None:
                return None
            found.add(py)
        if not found or "float" in found:
            if any(an.qualname(c.func) in _DEFAULT_DTYPE_SETTERS for s in an.scopes for c in s.calls):
                return None
            return "float32"  # torch.tensor([]) is float32 too
        return "bool" if found == {"bool"} else "int64"

    @staticmethod
    def _built_on_host_anyway(an: Analysis, call: ast.Call, factory: str) -> bool:
        """``torch.tensor([a, b])`` / ``torch.FloatTensor([a, b])``: PyTorch fills a host tensor from
        Python data and copies it to the device even when given ``device=``."""
        if factory != "tensor" and factory not in K.TORCH_LEGACY_CONSTRUCTORS:
            return False
        if len(call.args) != 1:
            return False
        data = call.args[0]
        if isinstance(data, ast.List | ast.Tuple):
            return True
        if factory != "tensor":
            return False  # a legacy constructor takes a torch.Size (a sequence) or an int as a shape
        # list data, and scalar data (`torch.tensor(0.0)`, a NumPy scalar): filled on the host as well
        return an.kind(data).base in (SEQUENCE, SCALAR) or const_number(data) is not None

    @staticmethod
    def _factory(an: Analysis, call: ast.Call) -> str | None:
        q = an.qualname(call.func)
        if q is None or not q.startswith("torch."):
            return None
        name = q[len("torch."):]
        if name == "as_tensor":
            return None  # as_tensor(a).to(d) copies once, exactly like as_tensor(a, device=d)
        known = (K.TORCH_DETERMINISTIC_FACTORIES, K.TORCH_RANDOM_FACTORIES, K.TORCH_LEGACY_CONSTRUCTORS)
        return name if any(name in table for table in known) else None

    @staticmethod
    def _move(an: Analysis, node: ast.Call, method: str) -> tuple[Any, Any, str | None] | None:
        """(device, dtype, dtype name) the call moves to; ``None`` if it is not a plain move."""
        device: Any = None
        dtype: Any = None
        if method in K.TORCH_CAST_METHODS and not node.args and not node.keywords:
            name = K.TORCH_CAST_METHODS[method]
            return None, ("cast", name), name
        if method == "cuda":
            if node.keywords or len(node.args) > 1:
                return None
            if not node.args:
                return ("literal", "cuda"), None, None
            n = const_number(node.args[0])
            if isinstance(n, int):
                return ("literal", f"cuda:{n}"), None, None
            if classify(an, node.args[0]) == "device":
                return ("arg", 0), None, None
            return None
        if method == "type":
            if len(node.args) == 1 and not node.keywords and classify(an, node.args[0]) == "dtype":
                return None, ("arg", 0), an.dtype_of(node.args[0])
            return None
        if method != "to":
            return None
        for i, arg in enumerate(node.args):
            kind = classify(an, arg)
            if kind == "device" and device is None:
                device = ("arg", i)
            elif kind == "dtype" and dtype is None:
                dtype = ("arg", i)
            else:
                return None
        for kw in node.keywords:
            if kw.arg == "device" and device is None:
                device = ("kw", "device")
            elif kw.arg == "dtype" and dtype is None:
                dtype = ("kw", "dtype")
            elif kw.arg == "non_blocking":
                continue
            else:
                return None
        if device is None and dtype is None:
            return None
        dtype_name = None
        if dtype is not None:
            src = node.args[dtype[1]] if dtype[0] == "arg" else keyword(node, "dtype")
            dtype_name = an.dtype_of(src)
        return device, dtype, dtype_name

    def _fix_for(self, an: Analysis, call: ast.Call, factory: str, device: Any, dtype: Any,
                 dtype_name: str | None, node: ast.AST) -> Fix | None:
        func = call.func
        prefix: Locator | None = None
        if isinstance(func, ast.Attribute) and an.qualname(func.value) == "torch":
            prefix = ("func", "value", "func", "value")
        reasons = []
        legacy: str | None = None
        legacy_dtype: str | None = None
        if factory in K.TORCH_RANDOM_FACTORIES and device is not None:
            reasons.append("a random factory on the device draws from another generator")
        if keyword(call, "requires_grad") is not None:
            reasons.append("the autograd leaf would change")
        if keyword(call, "pin_memory") is not None or keyword(call, "out") is not None:
            return None
        if dtype is not None and not self._exact_cast(call, factory):
            reasons.append("creating in the target dtype can round differently from casting afterwards")
        if factory in K.TORCH_LEGACY_CONSTRUCTORS:
            if prefix is None:
                return None
            default_dtype = K.TORCH_LEGACY_CONSTRUCTORS[factory]
            args = call.args
            if call.keywords or not args or any(isinstance(a, ast.Starred) for a in args):
                return None
            if all(isinstance(const_number(a), int) for a in args):
                legacy = "empty"
            elif len(args) == 1 and an.kind(args[0]).base in (NDARRAY, SEQUENCE):
                legacy = "tensor"
            elif len(args) == 1:
                legacy = "tensor"
                reasons.append("one argument of unknown kind may be a size for the legacy constructor")
            else:
                return None
            if factory == "Tensor":
                reasons.append("torch.Tensor follows the default dtype")
            legacy_dtype = dtype_name or default_dtype
            if dtype is not None and dtype_name is None:
                return None
        elif dtype is not None and dtype_name is None and dtype[0] == "cast":
            return None
        device_at, device_literal = _where(device)
        dtype_at, dtype_cast = _where(dtype)
        data = MoveFix(device=device_at, device_literal=device_literal, dtype=dtype_at, dtype_cast=dtype_cast,
                       prefix=prefix, legacy=legacy, legacy_dtype=legacy_dtype)
        return Fix(safe=not reasons, data=data, reason="; ".join(reasons))

    @staticmethod
    def _exact_cast(call: ast.Call, factory: str) -> bool:
        if factory in _EXACT_DTYPE_FACTORIES:
            return True
        if factory in ("arange", "full"):
            return all(isinstance(const_number(a), int) for a in call.args) and not call.keywords
        return False

    def _check_named(self, node: ast.Call, func: ast.Attribute, name: ast.Name, an: Analysis) -> Iterator[Finding]:
        """``x = torch.FloatTensor(obs)`` ... ``x = x.unsqueeze(0)`` ... ``x = x.to(device)``: a tensor
        made on the host, reshaped at most, then moved; reported at the factory (no automatic fix)."""
        move = self._move(an, node, func.attr)
        if move is None or move[0] is None or move[1] is not None:
            return  # only a plain device move: a cast of a named tensor may be wanted where it is
        if _to_cpu(node, move[0]) or not an.accelerator:
            return  # a move to the host, or CPU code: nothing to save
        chain: set[int] = {id(name)}
        bindings: set[int] = set()
        origin = self._origin(an, name, chain, bindings, 0)
        if origin is None:
            return
        factory = self._factory(an, origin)
        if (factory is None or keyword(origin, "device") is not None or keyword(origin, "out") is not None
                or self._built_on_host_anyway(an, origin, factory)):
            return
        if factory not in K.TORCH_LEGACY_CONSTRUCTORS and factory not in K.TORCH_DETERMINISTIC_FACTORIES:
            return  # a random factory on the device draws other numbers: leave the named form alone
        scope = an.scope_of(name)
        for load in scope.loads.get(name.id, ()):
            if id(load) not in chain and any(id(b) in bindings for b in an.bindings_of(load)):
                return  # the host tensor is used elsewhere too: creating it on the device changes that use
        heat = an.heat(node)
        if heat is None and an.runs_once(node):
            return  # the gain is per call: set-up code and a script's start are not worth it
        where = f" {heat}" if heat else ""
        shown = ast.unparse(origin.func)
        if factory in K.TORCH_LEGACY_CONSTRUCTORS:
            advice = (f"create it there, `torch.tensor(..., dtype=torch.{K.TORCH_LEGACY_CONSTRUCTORS[factory]}, "
                      f"device=...)` for data")
        else:
            advice = "pass device= to the factory"
        yield self.report(
            origin,
            f"`{shown}(...)` is created on the host and then moved with `.{func.attr}()` on line "
            f"{node.lineno}{where}: {advice} (saves a host allocation and copy; the gain needs a GPU)",
        )

    def _check_repeated(self, node: ast.Call, func: ast.Attribute, an: Analysis) -> Iterator[Finding]:
        """``torch.Tensor([False]).repeat(n).bool().to(device)``: a one-value constant repeated (and
        cast) on the host, then moved: ``torch.full((n,), value, dtype=..., device=...)`` makes it there."""
        move = self._move(an, node, func.attr)
        if move is None or move[0] is None or _to_cpu(node, move[0]) or not an.accelerator:
            return
        inner: ast.expr = func.value
        repeated = False
        while isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
            method = inner.func
            if method.attr in K.TORCH_CAST_METHODS and not inner.args and not inner.keywords:
                inner = method.value
            elif method.attr == "repeat" and inner.args and not inner.keywords and not repeated:
                repeated = True
                inner = method.value
            else:
                break
        if not repeated or not isinstance(inner, ast.Call) or len(inner.args) != 1 or inner.keywords:
            return
        factory = self._factory(an, inner)
        data = inner.args[0]
        if factory != "tensor" and factory not in K.TORCH_LEGACY_CONSTRUCTORS:
            return
        if not isinstance(data, ast.List | ast.Tuple) or len(data.elts) != 1:
            return
        value = data.elts[0]
        if not (isinstance(value, ast.Constant) and isinstance(value.value, bool | int | float)):
            return
        heat = an.heat(node)
        if heat is None and an.runs_once(node):
            return  # the gain is per call: set-up code and a script's start are not worth it
        where = f" {heat}" if heat else ""
        yield self.report(
            inner,
            f"`{ast.unparse(inner.func)}(...)` of one constant is repeated on the host and then moved with "
            f"`.{func.attr}()`{where}: `torch.full(size, value, dtype=..., device=...)` makes it on the device "
            f"(saves a host allocation and copy; the gain needs a GPU)",
        )

    def _origin(self, an: Analysis, name: ast.Name, chain: set[int], bindings: set[int],
                depth: int) -> ast.Call | None:
        """The one factory call that every value of ``name`` here comes from, through reshapes of the
        same name (``x = x.unsqueeze(0)``); ``None`` if there is no such single factory."""
        found: ast.Call | None = None
        bs = an.bindings_of(name)
        if not bs or depth > 4:
            return None
        for b in bs:
            v = b.value
            if b.how != "assign" or b.path or not isinstance(v, ast.Call):
                return None
            bindings.add(id(b))
            f = v.func
            origin: ast.Call | None
            if self._factory(an, v) is not None:
                origin = v
            elif (isinstance(f, ast.Attribute) and f.attr in _RESHAPES and isinstance(f.value, ast.Name)
                  and f.value.id == name.id):
                chain.add(id(f.value))
                origin = self._origin(an, f.value, chain, bindings, depth + 1)
            else:
                return None
            if origin is None or (found is not None and origin is not found):
                return None
            found = origin
        return found

    def _check_two_statements(self, node: ast.If, an: Analysis) -> Iterator[Finding]:
        test = node.test
        if node.orelse or len(node.body) != 1 or not (isinstance(test, ast.Attribute) and test.attr == "is_cuda"):
            return
        inner = node.body[0]
        if not (isinstance(inner, ast.Assign) and len(inner.targets) == 1 and isinstance(inner.targets[0], ast.Name)):
            return
        z = inner.targets[0].id
        v = inner.value
        if not (
            isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr in ("cuda", "to")
            and isinstance(v.func.value, ast.Name) and v.func.value.id == z and not v.keywords
        ):
            return
        if v.func.attr == "to" and not (len(v.args) == 1 and classify(an, v.args[0]) == "device"):
            return
        if v.func.attr == "cuda" and v.args:
            return
        parent = an.parent(node)
        block = None
        for field in ("body", "orelse", "finalbody"):
            b = getattr(parent, field, None)
            if isinstance(b, list) and node in b:
                block = b
        if block is None or block.index(node) == 0:
            return
        prev = block[block.index(node) - 1]
        if not (isinstance(prev, ast.Assign) and len(prev.targets) == 1 and isinstance(prev.targets[0], ast.Name)
                and prev.targets[0].id == z and isinstance(prev.value, ast.Call)):
            return
        factory = self._factory(an, prev.value)
        if factory is None or factory in K.TORCH_LEGACY_CONSTRUCTORS or keyword(prev.value, "device") is not None:
            return
        source = ast.unparse(test.value)
        yield self.report(
            prev.value,
            f"`{ast.unparse(prev.value.func)}(...)` is created on the host, then moved when "
            f"`{source}` is on CUDA: pass `device={source}.device`",
            Fix(safe=False, data=MoveFix(two_statement=True, source=("test", "value")),
                reason="device= also follows MPS/XPU tensors that the original left on the CPU",
                anchors=(self.anchor(node, "remove"),)),
        )

    # -- fix ----------------------------------------------------------------------------------
    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        data = fix.data
        assert isinstance(data, MoveFix)
        if data.two_statement:
            if anchor == "remove":
                # the engine applies a fix only if every anchor is rewritten: with a comment in the
                # `if`, neither half is applied and the finding stays reported
                return None if "#" in ctx.code(node) else ctx.cst.RemovalSentinel.REMOVE
            source = follow(ctx.anchored("remove"), data.source)
            return ctx.with_keyword(cast("cst.Call", node), "device", ctx.expr("{s}.device", s=source))
        move = cast("cst.Call", node)
        call = cast("cst.Call", cast("cst.Attribute", move.func).value)
        prefix = follow(node, data.prefix) if data.prefix is not None else None
        if data.legacy:
            assert prefix is not None
            call = call.with_changes(func=ctx.expr(f"{{p}}.{data.legacy}", p=prefix))
            call = ctx.with_keyword(call, "dtype", ctx.expr(f"{{p}}.{data.legacy_dtype}", p=prefix))
        elif data.dtype is not None:
            call = ctx.with_keyword(call, "dtype", follow(node, data.dtype))
        elif data.dtype_cast is not None:
            dtype = (ctx.expr(f"{{p}}.{data.dtype_cast}", p=prefix) if prefix is not None
                     else ctx.expr(f"torch.{data.dtype_cast}"))
            call = ctx.with_keyword(call, "dtype", dtype)
        if data.device is not None:
            call = ctx.with_keyword(call, "device", follow(node, data.device))
        elif data.device_literal is not None:
            call = ctx.with_keyword(call, "device", ctx.expr(f'"{data.device_literal}"'))
        return call.with_changes(lpar=move.lpar, rpar=move.rpar)


def _to_cpu(node: ast.Call, device: Any) -> bool:
    """Does the move name the host itself (``.to("cpu")``, ``.to(torch.device("cpu"))``)?"""
    how, where = device
    if how == "literal":
        return False  # .cuda()
    value = node.args[where] if how == "arg" else next((k.value for k in node.keywords if k.arg == where), None)
    if isinstance(value, ast.Call) and value.args and not value.keywords:
        func = value.func
        if (isinstance(func, ast.Attribute) and func.attr == "device") or (isinstance(func, ast.Name)
                                                                            and func.id == "device"):
            value = value.args[0]
    return isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value.split(":")[0] == "cpu"
