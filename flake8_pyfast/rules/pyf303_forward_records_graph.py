"""PYF303: a policy / value network called in acting code outside ``torch.no_grad()``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from flake8_pyfast.model import Anchor, Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.analysis.scopes import Binding, ClassInfo, Scope
    from flake8_pyfast.rule import FixResult

_TORCH_MODULE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})
#: ``torch.nn`` classes that hold parameters (calling a parameter-free layer on an observation
#: records nothing)
_PARAMETRIC = frozenset({
    "Linear", "Bilinear", "Sequential", "ModuleList", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
    "ConvTranspose2d", "ConvTranspose3d", "LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell", "Embedding",
    "MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "LayerNorm", "BatchNorm1d", "BatchNorm2d",
})
#: methods of a module that return the module itself
_MODULE_SELF = frozenset({"to", "cuda", "cpu", "float", "double", "half", "train", "eval", "requires_grad_",
                          "share_memory"})
#: ``nn.Module`` methods that run no forward pass
_MODULE_API = frozenset({
    "parameters", "named_parameters", "buffers", "named_buffers", "children", "named_children", "modules",
    "named_modules", "state_dict", "load_state_dict", "zero_grad", "apply", "register_buffer",
    "register_parameter", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "add_module", "get_parameter", "get_submodule", "extra_repr", *_MODULE_SELF,
})
#: calls on a module-like object that prove it is a torch module
_EVIDENCE = frozenset({"parameters", "named_parameters", "state_dict", "load_state_dict"})
#: methods whose result no longer carries the graph: Python values, NumPy arrays, detached or
#: integer tensors, random draws
_FREE_METHODS = frozenset({"item", "tolist", "numpy", "detach", "argmax", "argmin", "size", "dim", "numel",
                           "sample", "multinomial", "eq", "ne", "gt", "lt", "ge", "le", "isnan", "isfinite",
                           "any", "all", "nonzero", "sign", "long", "int", "bool"})
#: methods that keep the graph: the result is followed further
_KEEP_METHODS = frozenset({"cpu", "cuda", "to", "float", "double", "squeeze", "unsqueeze", "view", "reshape",
                           "flatten", "contiguous", "clamp", "clip", "tanh", "exp", "softmax", "log_softmax",
                           "sigmoid", "max", "min", "mean", "sum", "gather", "expand", "permute", "transpose",
                           "t", "chunk", "split", "mul", "add", "sub", "div", "log_prob", "rsample", "entropy",
                           "cdf", "squeeze_", "unsqueeze_"})
#: attributes that carry no graph / keep it
_FREE_ATTRS = frozenset({"shape", "ndim", "dtype", "device", "is_cuda", "requires_grad", "data"})
_KEEP_ATTRS = frozenset({"mean", "mode", "stddev", "variance", "probs", "logits", "loc", "scale", "T"})
#: tensor-only methods: the output is a tensor (for methods of classes we cannot read)
_TENSOR_ONLY = frozenset({"detach", "cpu", "numpy", "data", "cuda"})
_CONVERTERS = frozenset({"builtins.float", "builtins.int", "builtins.bool", "torch.argmax", "torch.argmin",
                         "torch.multinomial"})
_UPDATE_CALLS = frozenset({"backward", "zero_grad"})
_DEPTH = 6


@dataclass(frozen=True)
class WrapFix(FixData):
    """``prefix``: how the module names torch (``torch``, ``th``); ``step``: the statement's column
    minus its block owner's, in characters (0: not known); ``line``: the statement's line, whose last
    ``step`` characters of indentation are the file's own indent unit there (spaces or tabs)."""

    prefix: str = "torch"
    step: int = 0
    line: int = 0


@dataclass
class _Flow:
    """Where a forward's output goes: only to graph-free ends (``ok``), the statements it passes
    through, and whether a tensor-only method proves it is a tensor."""

    ok: bool = True
    stmts: set[int] = field(default_factory=set)
    tensor: bool = False
    ends: set[str] = field(default_factory=set)


class ForwardRecordsGraph(Rule):
    code = "PYF303"
    name = "acting-forward-with-autograd"
    summary = "a policy network called per env step outside `torch.no_grad()`, its output only converted"
    fixable = "unsafe"
    hot_only = True
    cost_includes_callees = True  # the fix speeds up the whole forward, in the user's own module code
    node_types = (ast.Call,)
    harness_phase = "policy"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "no_grad": Speedup(1.24, 1.17, 1.33),
        "inference_mode": Speedup(1.23, 1.14, 1.36),
    }

    what = """
Finds a call of a torch network (an `nn.Module` the module can recognise: an instance of a class
of the module deriving from `nn.Module`, an `nn.Sequential`/`nn.Linear`/..., or a name or `self.`
attribute whose `.parameters()`/`.state_dict()` the module uses; also a method of such a network
that runs its forward, or a helper function of the module that returns a forward's output) in hot
code (a loop, a per-step function) outside `torch.no_grad()` / `torch.inference_mode()`, when
everything that comes out of it is only detached (`.detach()`, `.data`), converted (`.item()`,
`.tolist()`, `.numpy()`, `float(...)`), sampled from (`Categorical(probs).sample()`), arg-maxed,
indexed or reshaped before one of those, or handed to `env.step(...)`: acting code.
"""
    why = """
Outside `no_grad`, every operation on a tensor that requires grad records a node of the autograd
graph (and keeps its inputs alive for the backward pass). Acting code throws the graph away: the
action goes to the environment as a number or an array. Recording it costs time on every env step.
Measured by `bench/pattern_speed.py` on the CPU, a 64-64 MLP policy's forward for one 28-d
observation, output to NumPy: under `torch.no_grad()` {speedup:no_grad}; under
`torch.inference_mode()` {speedup:inference_mode}.
"""
    example = """
import torch

policy = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.Tanh(), torch.nn.Linear(64, 4))
for step in range(num_steps):
    logits = policy(torch.as_tensor(obs))
    action = logits.argmax().item()
    obs, reward, done, info = env.step(action)
"""
    use_instead = """
import torch

policy = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.Tanh(), torch.nn.Linear(64, 4))
for step in range(num_steps):
    with torch.no_grad():
        logits = policy(torch.as_tensor(obs))
    action = logits.argmax().item()
    obs, reward, done, info = env.step(action)
"""
    fix_safety = """
When the forward's call sits in one simple statement (an assignment, an expression or a `return`)
and the module imports torch, the fix wraps that statement in `with torch.no_grad():`. When the
outputs go on to later statements (a distribution built from them, a sample, `.item()`), only the
forward's statement is wrapped: what is computed from outputs that do not require grad records
nothing, and other tensors in the later statements keep their graph. It is **unsafe**: the
rule follows the output only inside its function; a helper whose result a caller in another module
feeds to a loss would lose its gradient, and a network whose forward changes state with grad
enabled (rare) would behave differently. In an `else`/`finally` block, in a compound statement's
header, or without a plain `import torch`, there is no automatic fix: wrap the acting step by hand
(`torch.inference_mode()` measured no faster than `no_grad` here, and its tensors cannot be used in
autograd later).
"""
    when_wrong = """
Silent when the output (or anything computed from it) may reach a loss: returned while still a
tensor, stored on `self`, in a list, a buffer or a container, passed to any call other than
`env.step` or a conversion, or used in arithmetic that is kept; when the function calls
`.backward()` or `zero_grad()` (update code); when the call is under `no_grad`/`inference_mode` (a
`with` block or a decorator) or its function is called under `no_grad` in the module; and in cold
code. A helper whose callers in *other* modules wrap it in `no_grad` is still reported (the rule
sees one module): suppress with `# noqa: PYF303`. A method of a network class defined in another
module is recognised only when a tensor-only method (`.detach()`, `.cpu()`, `.numpy()`) proves its
output is a tensor; a method that itself runs under `no_grad` there is then reported wrongly.
"""

    bad = (
        Example(
            note="a greedy Q-network action per env step, one statement: the fix wraps it",
            code="""\
import torch
import torch.nn as nn


class QNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


def run(env, steps: int):
    q = QNet()
    obs = env.reset()
    for _ in range(steps):
        action = q(torch.as_tensor(obs)).argmax().item()
        obs, reward, done, info = env.step(action)
""",
            expect=((18, "PYF303"),),
            fixed="""\
import torch
import torch.nn as nn


class QNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


def run(env, steps: int):
    q = QNet()
    obs = env.reset()
    for _ in range(steps):
        with torch.no_grad():
            action = q(torch.as_tensor(obs)).argmax().item()
        obs, reward, done, info = env.step(action)
""",
            unsafe=True,
        ),
        Example(
            note="probabilities from a method of the network, sampled and logged as numbers over two statements: "
                 "the fix wraps the forward's statement only",
            code="""\
import torch
import torch.nn as nn
from torch.distributions import Categorical


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 64)
        self.head = nn.Linear(64, 2)

    def pi(self, x):
        return torch.softmax(self.head(torch.relu(self.body(x))), dim=-1)


def collect(env, model: ActorCritic, memory, horizon: int):
    s = env.reset()
    for t in range(horizon):
        prob = model.pi(torch.from_numpy(s).float())
        a = Categorical(prob).sample().item()
        s_next, r, done, info = env.step(a)
        memory.append((s, a, r, prob[a].item()))
        s = s_next


def main(env):
    model = ActorCritic()
    collect(env, model, [], 128)
""",
            expect=((19, "PYF303"), (20, "PYF302")),
            fixed="""\
import torch
import torch.nn as nn
from torch.distributions import Categorical


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 64)
        self.head = nn.Linear(64, 2)

    def pi(self, x):
        return torch.softmax(self.head(torch.relu(self.body(x))), dim=-1)


def collect(env, model: ActorCritic, memory, horizon: int):
    s = env.reset()
    for t in range(horizon):
        with torch.no_grad():
            prob = model.pi(torch.from_numpy(s).float())
        a = Categorical(prob, validate_args=False).sample().item()
        s_next, r, done, info = env.step(a)
        memory.append((s, a, r, prob[a].item()))
        s = s_next


def main(env):
    model = ActorCritic()
    collect(env, model, [], 128)
""",
            unsafe=True,
        ),
        Example(
            note="a Gaussian acting step: mean, std and value feed a distribution, a sample and two numbers "
                 "over several statements; only the forward's statement is wrapped",
            code="""\
import torch
import torch.nn as nn
from torch.distributions import Normal


class Policy(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int):
        super().__init__()
        self.mu = nn.Linear(obs_dim, act_dim)
        self.v = nn.Linear(obs_dim, 1)
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def forward(self, x):
        return self.mu(x), self.log_std.exp(), self.v(x).squeeze(-1)


def rollout(env, policy: Policy, steps: int):
    obs = env.reset()
    logps, values = [], []
    for _ in range(steps):
        mu, std, value = policy(torch.as_tensor(obs, dtype=torch.float32))
        dist = Normal(mu, std, validate_args=False)
        action = dist.sample()
        logps.append(dist.log_prob(action).sum().item())
        values.append(value.item())
        obs, reward, done, info = env.step(action.numpy())
    return logps, values
""",
            expect=((21, "PYF303"),),
            fixed="""\
import torch
import torch.nn as nn
from torch.distributions import Normal


class Policy(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int):
        super().__init__()
        self.mu = nn.Linear(obs_dim, act_dim)
        self.v = nn.Linear(obs_dim, 1)
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def forward(self, x):
        return self.mu(x), self.log_std.exp(), self.v(x).squeeze(-1)


def rollout(env, policy: Policy, steps: int):
    obs = env.reset()
    logps, values = [], []
    for _ in range(steps):
        with torch.no_grad():
            mu, std, value = policy(torch.as_tensor(obs, dtype=torch.float32))
        dist = Normal(mu, std, validate_args=False)
        action = dist.sample()
        logps.append(dist.log_prob(action).sum().item())
        values.append(value.item())
        obs, reward, done, info = env.step(action.numpy())
    return logps, values
""",
            unsafe=True,
        ),
        Example(
            note="an attribute network recognised by its optimizer; the action detached and copied to NumPy",
            code="""\
import torch
from torch.optim import Adam

from .nets import Actor


class Agent:
    def __init__(self, obs_dim, act_dim):
        self.actor = Actor(obs_dim, act_dim)
        self.opt = Adam(self.actor.parameters(), lr=3e-4)

    def get_action(self, state):
        state = torch.FloatTensor(state.reshape(1, -1))
        return self.actor(state).cpu().data.numpy().flatten()
""",
            expect=((14, "PYF303"),),
            fixed="""\
import torch
from torch.optim import Adam

from .nets import Actor


class Agent:
    def __init__(self, obs_dim, act_dim):
        self.actor = Actor(obs_dim, act_dim)
        self.opt = Adam(self.actor.parameters(), lr=3e-4)

    def get_action(self, state):
        state = torch.FloatTensor(state.reshape(1, -1))
        with torch.no_grad():
            return self.actor(state).cpu().data.numpy().flatten()
""",
            unsafe=True,
        ),
        Example(
            note="a helper that returns the policy's distribution, sampled per step: the call of the helper",
            code="""\
import torch
import torch.nn as nn
from torch.distributions import Categorical


def train(env, epochs: int):
    net = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))

    def policy(obs):
        return Categorical(logits=net(obs), validate_args=False)

    def act(obs):
        return policy(torch.as_tensor(obs, dtype=torch.float32)).sample().item()

    obs = env.reset()
    for _ in range(epochs):
        obs, rew, done, info = env.step(act(obs))
""",
            expect=((13, "PYF303"),),
            fixed="""\
import torch
import torch.nn as nn
from torch.distributions import Categorical


def train(env, epochs: int):
    net = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))

    def policy(obs):
        return Categorical(logits=net(obs), validate_args=False)

    def act(obs):
        with torch.no_grad():
            return policy(torch.as_tensor(obs, dtype=torch.float32)).sample().item()

    obs = env.reset()
    for _ in range(epochs):
        obs, rew, done, info = env.step(act(obs))
""",
            unsafe=True,
        ),
    )
    good = (
        Example(
            note="already under no_grad / inference_mode, or in a decorated function",
            code="""\
import torch
import torch.nn as nn

policy = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 2))


@torch.no_grad()
def act(obs):
    return policy(torch.as_tensor(obs)).numpy()


def rollout(env, steps: int):
    obs = env.reset()
    for _ in range(steps):
        with torch.inference_mode():
            a = policy(torch.as_tensor(obs)).numpy()
        obs, r, done, info = env.step(a)
        with torch.no_grad():
            b = act(obs)
""",
        ),
        Example(
            note="a rollout that stores the log-probability tensor for a later loss, and returns the value",
            code="""\
import torch
import torch.nn as nn
from torch.distributions import Normal


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(3, 1)
        self.log_std = nn.Parameter(torch.zeros(1))


def rollout(env, policy: Policy, buffer, steps: int):
    obs = env.reset()
    for _ in range(steps):
        mu = policy.mu(torch.as_tensor(obs))
        dist = Normal(mu, policy.log_std.exp(), validate_args=False)
        action = dist.sample()
        buffer.log_probs.append(dist.log_prob(action))
        obs, reward, done, info = env.step(action.numpy())


def value_of(critic: nn.Linear, obs):
    for _ in range(3):
        v = critic(obs)
    return v
""",
        ),
        Example(
            note="update code: a detached target inside a step that calls backward",
            code="""\
import torch
import torch.nn as nn

q = nn.Linear(4, 2)
q_target = nn.Linear(4, 2)
opt = torch.optim.Adam(q.parameters())


def update(batches):
    for s, a, r, s2 in batches:
        target = r + 0.99 * q_target(s2).max(1)[0].detach()
        loss = ((q(s).gather(1, a) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
""",
        ),
        Example(
            note="outputs kept as tensors: stored on self, passed to another function, accumulated",
            code="""\
import torch
import torch.nn as nn


class Agent:
    def __init__(self):
        self.net = nn.Linear(4, 2)
        self.values = []

    def step(self, env, obs):
        out = self.net(obs)
        self.last = out
        v = self.net(obs)
        self.values.append(v)
        w = self.net(obs)
        total = self.loss_fn(w)
        return env.step(out.argmax().item()), total
""",
        ),
        Example(
            note="not a network: a plain function, a parameter-free layer, a project class with no evidence",
            code="""\
import torch
import torch.nn as nn

from .models import Planner


def rollout(env, model_fn, steps: int):
    act = nn.Softmax(dim=-1)
    planner = Planner()
    obs = env.reset()
    for _ in range(steps):
        a = model_fn(torch.as_tensor(obs)).argmax().item()
        p = act(torch.as_tensor(obs)).numpy()
        b = planner.plan(obs).item()
        obs, r, done, info = env.step(a)
""",
        ),
        Example(
            note="the acting step over several statements, but the log-probability is returned as a tensor "
                 "(a later loss may use it): silent",
            code="""\
import torch
import torch.nn as nn
from torch.distributions import Normal


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(6, 2)
        self.v = nn.Linear(6, 1)
        self.log_std = nn.Parameter(torch.zeros(2))

    def forward(self, x):
        return self.mu(x), self.log_std.exp(), self.v(x)


def act(policy: Policy, obs):
    mu, std, value = policy(torch.as_tensor(obs, dtype=torch.float32))
    dist = Normal(mu, std, validate_args=False)
    action = dist.sample()
    return action.numpy(), dist.log_prob(action).sum(), value.item()


def rollout(env, policy: Policy, steps: int):
    obs = env.reset()
    for _ in range(steps):
        action, logp, value = act(policy, obs)
        obs, reward, done, info = env.step(action)
""",
        ),
        Example(
            note="a helper the module only calls under no_grad",
            code="""\
import torch
import torch.nn as nn


class Agent:
    def __init__(self):
        self.actor = nn.Linear(3, 1)

    def _act(self, obs):
        return self.actor(obs).numpy()

    def step(self, env, obs):
        with torch.no_grad():
            a = self._act(obs)
        return env.step(a)
""",
        ),
    )

    # ---------------------------------------------------------------------------------------
    def check(self, node: ast.AST, an: Analysis) -> Iterator[Finding]:
        assert isinstance(node, ast.Call)
        if an.in_no_grad(node):
            return
        what = self._network_call(an, node, 0)
        if what is None:
            return
        heat = an.heat(node)
        if heat is None:
            return
        fscope = an.scope_of(node).function_scope()
        loops = an.loops_of(node)
        if self._update_code(fscope, loops[-1] if loops else None) or self._called_under_no_grad(an, fscope):
            return
        flow = _Flow()
        self._follow(an, node, flow, 0)
        if not flow.ok:
            return
        if what == "method?" and not flow.tensor:
            return  # a method of a class we cannot read: only when its output is evidently a tensor
        shown = ast.unparse(node.func)
        nog, inf = self.speedups["no_grad"], self.speedups["inference_mode"]
        ends = ", ".join(sorted(flow.ends)) or "nothing"
        message = (f"`{shown}(...)` {heat} runs outside `torch.no_grad()` and its output only goes to {ends}: "
                   f"it records an autograd graph every call for nothing; run it under `torch.no_grad()` "
                   f"({nog.claim} for a 64-64 MLP forward on the CPU; `torch.inference_mode()` {inf.claim})")
        yield self.report(node, message, self._fix(an, node, flow))

    # -- is it a network? ----------------------------------------------------------------------
    def _network_call(self, an: Analysis, call: ast.Call, depth: int) -> str | None:
        """"call" (the network itself), "method" (a method of it that runs a forward), "method?"
        (a method of a class we cannot read), "helper" (a function returning a forward's output)."""
        func = call.func
        if self._is_network(an, func, depth):
            return "call"
        if isinstance(func, ast.Attribute) and func.attr not in _MODULE_API and not func.attr.startswith("_"):
            cls = self._network_class(an, func.value, depth)
            if cls is not None:
                method = cls.methods.get(func.attr)
                if method is None:
                    return None  # inherited from torch or elsewhere: not known to run a forward
                return "method" if self._runs_forward(an, method, depth + 1) else None
            if self._is_network(an, func.value, depth):
                return "method?"
        if isinstance(func, ast.Name) and depth < 2:
            helper = an.callee(call)
            if helper is not None and not helper.nograd and self._returns_forward(an, helper, depth + 1):
                return "helper"
        return None

    def _is_network(self, an: Analysis, expr: ast.expr, depth: int) -> bool:
        """Does ``expr`` (a name or ``self.attr``) hold a torch module with parameters?"""
        if depth > _DEPTH:
            return False
        bindings = self._bindings(an, expr)
        if bindings is None:
            return False
        if any(b.value is not None and self._module_value(an, b.value, depth + 1) for b in bindings):
            return True
        if any(b.how == "param" and b.annotation is not None and self._module_class_expr(an, b.annotation, depth + 1)
               for b in bindings):
            return True
        return self._evidence(an, expr)

    def _bindings(self, an: Analysis, expr: ast.expr) -> list[Binding] | None:
        if isinstance(expr, ast.Name):
            scope = an.scope_of(expr).lookup(expr.id)
            return scope.bindings[expr.id] if scope is not None else None
        if isinstance(expr, ast.Attribute) and an.is_self(expr.value):
            cls = an.class_of(expr)
            return cls.attrs.get(expr.attr) if cls is not None else None
        return None

    def _network_class(self, an: Analysis, expr: ast.expr, depth: int) -> ClassInfo | None:
        """The class of this module (deriving from ``nn.Module``) ``expr`` is an instance of."""
        if isinstance(expr, ast.Name) and an.is_self(expr):
            cls = an.class_of(expr)
            return cls if cls is not None and self._torch_class(an, cls.node, 0) else None
        bindings = self._bindings(an, expr)
        if not bindings:
            return None
        found = None
        for b in bindings:
            v = b.value
            while isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr in _MODULE_SELF:
                v = v.func.value
            node = None
            if isinstance(v, ast.Call):
                node = self._local_class(an, v.func)
            elif b.how == "param" and b.annotation is not None:
                node = self._local_class(an, b.annotation)
            if node is None or not self._torch_class(an, node, 0):
                return None
            info = next((c for c in an.classes if c.node is node), None)
            if info is None or (found is not None and info is not found):
                return None
            found = info
        return found

    @staticmethod
    def _local_class(an: Analysis, func: ast.AST) -> ast.ClassDef | None:
        if not isinstance(func, ast.Name):
            return None
        scope = an.scope_of(func).lookup(func.id) if id(func) in an.tables.parent else an.module.lookup(func.id)
        if scope is None:
            return None
        bs = scope.bindings[func.id]
        if len(bs) != 1 or bs[0].how != "class" or not isinstance(bs[0].node, ast.ClassDef):
            return None
        return bs[0].node

    def _torch_class(self, an: Analysis, cls: ast.ClassDef, depth: int) -> bool:
        if depth > 4:
            return False
        for base in cls.bases:
            if an.qualname(base) in _TORCH_MODULE:
                return True
            parent = self._local_class(an, base)
            if parent is not None and self._torch_class(an, parent, depth + 1):
                return True
        return False

    def _module_class_expr(self, an: Analysis, expr: ast.expr, depth: int) -> bool:
        """Is ``expr`` (a constructor or an annotation) a torch module class with parameters?"""
        q = an.qualname(expr) if id(expr) in an.tables.parent else None
        if q is not None and q.startswith("torch.nn.") and q.rpartition(".")[2] in _PARAMETRIC:
            return True
        node = self._local_class(an, expr)
        return node is not None and self._torch_class(an, node, depth)

    def _module_value(self, an: Analysis, value: ast.expr, depth: int) -> bool:
        """Does ``value`` build (or move) a torch module with parameters?"""
        if depth > _DEPTH or not isinstance(value, ast.Call):
            return False
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr in _MODULE_SELF:
            return self._module_value(an, func.value, depth + 1) or self._is_network(an, func.value, depth + 1)
        if (an.qualname(func) or "") == "copy.deepcopy" and value.args:
            return self._is_network(an, value.args[0], depth + 1)
        if self._module_class_expr(an, func, depth):
            return True
        builder = an.callee(value)
        if builder is None or not isinstance(builder.node, ast.FunctionDef):
            return False
        returns = [n.value for n in ast.walk(builder.node) if isinstance(n, ast.Return) and n.value is not None]
        return bool(returns) and all(self._module_value(an, r, depth + 1) for r in returns)

    def _evidence(self, an: Analysis, expr: ast.expr) -> bool:
        """Does the module call ``.parameters()``/``.state_dict()``/... on the same name or attribute?"""
        text = ast.unparse(expr)
        target = self._bindings(an, expr)
        for s in an.scopes:
            for c in s.calls:
                f = c.func
                if not (isinstance(f, ast.Attribute) and f.attr in _EVIDENCE) or ast.unparse(f.value) != text:
                    continue
                other = self._bindings(an, f.value)
                if other is not None and target is not None and other is target:
                    return True
        return False

    def _runs_forward(self, an: Analysis, method: Scope, depth: int) -> bool:
        """Does a method of a network class run a forward outside ``no_grad``?"""
        if method.nograd or depth > 3 or self._update_code(method):
            return False
        if method.name == "forward":
            return True
        for c in self._calls_in(an, method):
            if an.in_no_grad(c):
                continue
            f = c.func
            if isinstance(f, ast.Name) and an.is_self(f):
                return True  # self(x)
            if isinstance(f, ast.Attribute) and an.is_self(f.value):
                if f.attr == "forward" or self._is_network(an, f, depth):
                    return True
                cls = method.cls
                other = cls.methods.get(f.attr) if cls is not None else None
                if other is not None and other is not method and self._runs_forward(an, other, depth + 1):
                    return True
        return False

    @staticmethod
    def _calls_in(an: Analysis, scope: Scope) -> list[ast.Call]:
        out = list(scope.calls)
        todo = [c for c in scope.children if c.kind in ("lambda", "comprehension")]
        while todo:
            s = todo.pop()
            out.extend(s.calls)
            todo.extend(c for c in s.children if c.kind in ("lambda", "comprehension"))
        return out

    def _returns_forward(self, an: Analysis, helper: Scope, depth: int) -> bool:
        """Does every ``return`` of ``helper`` give a forward's output (or a distribution over it)?"""
        node = helper.node
        if not isinstance(node, ast.FunctionDef):
            return False
        returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
        if not returns or any(an.scope_of(r).function_scope() is not helper for r in returns):
            return False
        if self._update_code(helper):
            return False
        for r in returns:
            v = r.value
            if isinstance(v, ast.Call) and (an.qualname(v.func) or "").startswith("torch.distributions."):
                # a distribution over the forward's output: ``Categorical(logits=net(obs))``
                params = [*v.args, *(k.value for k in v.keywords if k.arg in ("logits", "probs"))]
                v = params[0] if len(params) == 1 else None
            if isinstance(v, ast.Name):
                bs = an.bindings_of(v)
                v = bs[0].value if len(bs) == 1 and bs[0].how == "assign" and bs[0].scope is helper else None
            if not (isinstance(v, ast.Call) and not an.in_no_grad(v) and self._network_call(an, v, depth) is not None):
                return False
        return True

    # -- is it acting code? --------------------------------------------------------------------
    @staticmethod
    def _update_code(fscope: Scope, loop: ast.AST | None = None) -> bool:
        """Does the function (or, given, the innermost loop around the call) call ``.backward()`` /
        ``zero_grad()`` or step an optimizer?"""
        calls = [n for n in ast.walk(loop) if isinstance(n, ast.Call)] if loop is not None else fscope.calls
        for c in calls:
            f = c.func
            if not isinstance(f, ast.Attribute):
                continue
            if f.attr in _UPDATE_CALLS:
                return True
            if f.attr == "step" and "optim" in ast.unparse(f.value).lower().replace("_", ""):
                return True
            if f.attr == "step" and ast.unparse(f.value).lower().endswith(("opt", "optimizer")):
                return True
        return False

    @staticmethod
    def _called_under_no_grad(an: Analysis, fscope: Scope) -> bool:
        """Is the function called in this module, at least once, under ``no_grad``?"""
        if fscope.kind != "function":
            return False
        for s in an.scopes:
            for c in s.calls:
                f = c.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name == fscope.name and an.callee(c) is fscope and an.in_no_grad(c):
                    return True
        return False

    # -- where does the output go? ------------------------------------------------------------
    def _follow(self, an: Analysis, node: ast.expr, flow: _Flow, depth: int) -> None:
        """Follow the value of ``node`` (a tensor that may carry the graph) to its ends."""
        if not flow.ok:
            return
        if depth > 12:
            flow.ok = False
            return
        flow.stmts.add(id(an.stmt_of(node)))
        parent = an.parent(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            user = an.parent(parent)
            if isinstance(user, ast.Call) and user.func is parent:
                attr = parent.attr
                if attr == "numpy":
                    # ``.numpy()`` raises on a tensor that requires grad: this code evidently runs
                    # without grad already (its callers use no_grad, or the network is frozen)
                    flow.ok = False
                    return
                if attr in _TENSOR_ONLY:
                    flow.tensor = True
                if attr in _FREE_METHODS:
                    flow.ends.add(f"`.{attr}()`")
                    return
                if attr in _KEEP_METHODS:
                    self._follow(an, user, flow, depth + 1)
                    return
                flow.ok = False
                return
            if parent.attr in _FREE_ATTRS:
                if parent.attr == "data":
                    flow.tensor = True
                    flow.ends.add("`.data`")
                return
            if parent.attr in _KEEP_ATTRS:
                self._follow(an, parent, flow, depth + 1)
                return
            flow.ok = False
            return
        if isinstance(parent, ast.Subscript) and parent.value is node:
            self._follow(an, parent, flow, depth + 1)
            return
        if isinstance(parent, ast.Call) and node in parent.args:
            q = an.qualname(parent.func) or ""
            if q in _CONVERTERS:
                flow.ends.add(f"`{ast.unparse(parent.func)}()`")
                return
            if q.startswith("torch.distributions."):
                self._follow(an, parent, flow, depth + 1)
                return
            f = parent.func
            if isinstance(f, ast.Attribute) and f.attr == "step" and "env" in ast.unparse(f.value).lower():
                flow.ends.add(f"`{ast.unparse(f)}()`")
                return
            flow.ok = False
            return
        if isinstance(parent, ast.keyword) and parent.arg in ("logits", "probs"):
            call = an.parent(parent)
            if isinstance(call, ast.Call) and (an.qualname(call.func) or "").startswith("torch.distributions."):
                self._follow(an, call, flow, depth + 1)
                return
            flow.ok = False
            return
        if isinstance(parent, ast.Compare):
            flow.ends.add("a comparison")
            return
        if isinstance(parent, ast.BinOp | ast.UnaryOp) or (isinstance(parent, ast.IfExp) and parent.test is not node):
            self._follow(an, parent, flow, depth + 1)
            return
        if isinstance(parent, ast.Expr):
            flow.ends.add("nowhere")
            return
        if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1:
            target = parent.targets[0]
            names = [target] if isinstance(target, ast.Name) else (
                list(target.elts) if isinstance(target, ast.Tuple) and depth == 0 else [])
            if not names or not all(isinstance(n, ast.Name) for n in names):
                flow.ok = False
                return
            for n in names:
                self._follow_name(an, cast("ast.Name", n), parent, flow, depth + 1)
            return
        flow.ok = False

    def _follow_name(self, an: Analysis, target: ast.Name, stmt: ast.Assign, flow: _Flow, depth: int) -> None:
        scope = an.scope_of(target).lookup(target.id)
        if scope is None:
            flow.ok = False
            return
        if scope.kind != "function" and scope is not an.scope_of(target):
            flow.ok = False
            return
        mine = [b for b in scope.bindings[target.id] if b.stmt is stmt]
        if not mine:
            flow.ok = False
            return
        for s in an.scopes:
            for load in s.loads.get(target.id, ()):
                if s.lookup(target.id) is not scope:
                    continue
                if any(b in mine for b in an.bindings_of(load)):
                    if s is not scope and s.kind == "function":
                        flow.ok = False  # read by a closure: who knows when
                        return
                    self._follow(an, load, flow, depth)
                    if not flow.ok:
                        return

    # -- fix -----------------------------------------------------------------------------------
    def _fix(self, an: Analysis, call: ast.Call, flow: _Flow) -> Fix | None:
        stmt = an.stmt_of(call)
        if not isinstance(stmt, ast.Assign | ast.Expr | ast.Return):
            return None
        if flow.stmts != {id(stmt)} and not isinstance(stmt, ast.Assign):
            return None
        # When the outputs go on to later statements (a distribution built from them, sampled,
        # converted), wrapping the forward's statement alone is enough: operations on tensors that
        # do not require grad record nothing. The later statements stay outside the block, so any
        # other tensor they touch keeps its graph; ``flow`` proved that every use of the outputs
        # ends in a graph-free value.
        parent = an.parent(stmt)
        body = getattr(parent, "body", None)
        if not isinstance(body, list) or stmt not in body:
            return None  # in an else/orelse/finally block: keep it simple
        prefix = self._torch_name(an)
        if prefix is None:
            return None
        line_anchor = Anchor("line", "SimpleStatementLine", stmt.lineno, stmt.col_offset,
                             stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
        step = stmt.col_offset - parent.col_offset if isinstance(parent, ast.stmt) else 0
        return Fix(safe=False, data=WrapFix(prefix, max(step, 0), stmt.lineno), anchors=(line_anchor,),
                   reason="the output could still reach a loss elsewhere and would lose its gradient")

    @staticmethod
    def _torch_name(an: Analysis) -> str | None:
        for name, bs in an.module.bindings.items():
            if len(bs) == 1 and bs[0].how == "import" and bs[0].qualname == "torch":
                return name
        return None

    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        assert isinstance(fix.data, WrapFix)
        if anchor == "main":
            return node
        c: Any = ctx.cst
        line = cast("cst.SimpleStatementLine", node)
        if len(line.body) != 1:
            return None
        inner = line.with_changes(leading_lines=())
        own = ctx.line_indent(fix.data.line)
        unit = own[len(own) - fix.data.step:] if 0 < fix.data.step <= len(own) else ""
        if not unit:
            unit = "\t" if own.startswith("\t") else "    "
        return c.With(
            items=[c.WithItem(item=ctx.expr(f"{fix.data.prefix}.no_grad()"))],
            body=c.IndentedBlock(body=[inner], indent=unit),
            leading_lines=line.leading_lines,
        )
