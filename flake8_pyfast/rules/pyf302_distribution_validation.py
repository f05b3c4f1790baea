"""PYF302: a ``torch.distributions`` object built in hot code with argument validation on."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from flake8_pyfast.analysis.astutil import keyword
from flake8_pyfast.model import Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.rule import FixResult

#: the concrete distributions of ``torch.distributions`` (every one takes ``validate_args``); not
#: ``Independent``: it has no parameters of its own and its ``log_prob`` checks nothing (its base does)
DISTRIBUTIONS = frozenset({
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ContinuousBernoulli", "Dirichlet",
    "Exponential", "FisherSnedecor", "Gamma", "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy",
    "HalfNormal", "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace", "LogNormal",
    "LogisticNormal", "LowRankMultivariateNormal", "MixtureSameFamily", "Multinomial", "MultivariateNormal",
    "NegativeBinomial", "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
    "RelaxedBernoulli", "LogitRelaxedBernoulli", "RelaxedOneHotCategorical", "ExpRelaxedCategorical", "StudentT",
    "TransformedDistribution", "Uniform", "VonMises", "Weibull", "Wishart",
})
#: which measured pair speaks for a distribution (the others quote no factor in the message)
_FAMILY = {"Normal": "normal", "Categorical": "categorical"}
_SETTER = "set_default_validate_args"
_INIT = "__init__"


@dataclass(frozen=True)
class ValidateArgsFix(FixData):
    """Nothing to decide: the fix adds ``validate_args=False`` to the call it is found at."""


def torch_distribution(q: str | None) -> str | None:
    """``torch.distributions.normal.Normal`` / ``torch.distributions.Normal`` -> ``"Normal"``."""
    if q is None or not q.startswith("torch.distributions."):
        return None
    parts = q.split(".")
    if len(parts) not in (3, 4) or parts[-1] not in DISTRIBUTIONS:
        return None
    if len(parts) == 4 and not parts[2].islower():
        return None  # ``torch.distributions.Normal.something``
    return parts[-1]


class DistributionValidation(Rule):
    code = "PYF302"
    name = "distribution-validation-per-step"
    summary = ("`Normal(mu, std)` / `Categorical(logits=...)` built per step with argument validation on: "
               "pass `validate_args=False`")
    fixable = "unsafe"
    hot_only = True
    node_types = (ast.Call,)
    harness_phase = "policy"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "normal_act": Speedup(1.42, 1.31, 1.51),
        "normal_batch": Speedup(1.52, 1.38, 1.57),
        "categorical_act": Speedup(1.55, 1.45, 1.59),
        "categorical_batch": Speedup(1.64, 1.53, 1.7),
    }

    what = """
Finds a `torch.distributions` object (`Normal`, `Categorical`, `MultivariateNormal`, `Bernoulli`,
`Beta`, `TransformedDistribution`, `MixtureSameFamily`, ...; however it is imported: `Normal`,
`torch.distributions.Normal`, `D.Normal`, `torchd.normal.Normal`) constructed in hot code (a policy's
`forward`/`act`/`evaluate_actions`, anything called per step or per minibatch, a loop) without a
`validate_args` argument, in a module that does not call
`torch.distributions.Distribution.set_default_validate_args(...)`. A class of the same module that
subclasses a torch distribution counts too: without its own `__init__` it takes `validate_args` like
its parent; with one that builds distributions (or calls the parent's `__init__`) with validation
on, the construction is reported without a fix.
"""
    why = """
PyTorch validates distribution arguments by default: every construction checks each parameter
against its constraint (`scale > 0`, `logits` real, probabilities in the simplex), and every
`log_prob()` checks that its value lies in the support. Those checks are several small tensor
operations each, repeated on every env step and every minibatch, and on a GPU each check reads a
result back on the host, so it waits for the device (a synchronisation per check). In a policy
step the parameters come from the network and are valid by construction. Measured by
`bench/pattern_speed.py` on the CPU with a 64-64 MLP policy's output sizes: `Normal(mu, std)` +
`sample()` + `log_prob()` for one observation (acting), {speedup:normal_act}; `Normal` + `log_prob()` +
`entropy()` over a minibatch of 64, {speedup:normal_batch}; `Categorical(logits=...)` + `sample()` +
`log_prob()` for one observation, {speedup:categorical_act}; over a minibatch of 64,
{speedup:categorical_batch}.
"""
    example = """
from torch.distributions import Normal


class Actor(nn.Module):
    def forward(self, obs):
        mu = self.mu(obs)
        return Normal(mu, self.log_std.exp())
"""
    use_instead = """
from torch.distributions import Normal


class Actor(nn.Module):
    def forward(self, obs):
        mu = self.mu(obs)
        return Normal(mu, self.log_std.exp(), validate_args=False)
"""
    fix_safety = """
The fix adds `validate_args=False` to the call. It is **unsafe**: invalid parameters (a negative or
NaN `scale`, logits with NaN) and out-of-support `log_prob` values no longer raise a `ValueError`
where they are made; they give NaN or wrong numbers later instead. For valid arguments the results
are identical. Alternatively call `torch.distributions.Distribution.set_default_validate_args(False)`
once at start-up (the fix does not do this: it changes every distribution in the program).
"""
    when_wrong = """
Silent when the call passes `validate_args` (`False`, or `True`: the user asked for the checks), or
passes `**kwargs` (which may hold it); when the module calls `set_default_validate_args(...)`
anywhere; for `Independent(...)`, which checks nothing itself (the distribution it wraps is
checked, and reported where it is built); for construction in cold code (`__init__`, set-up
functions); for names that are not torch's (`scipy.stats.norm`, `np.random.normal`, a class of the
project called `Normal`) and for `Normal` used in annotations or `isinstance`. A
`set_default_validate_args(False)` call in *another* module of the program (the training script, a
package `__init__`) turns validation off everywhere and makes the finding moot: the rule sees only
the module it checks. Under `python -O` validation is off by default as well. A subclass defined in
another module is not recognised (silent). The factors are CPU measurements; on a GPU each check
also waits for the device, which is not measured here.
"""

    bad = (
        Example(
            note="a Gaussian policy's forward, imported by name; the fix is unsafe",
            code="""\
import torch
import torch.nn as nn
from torch.distributions import Normal


class Actor(nn.Module):
    def forward(self, obs):
        mu = self.mu(obs)
        std = self.log_std.exp()
        return Normal(mu, std)
""",
            expect=((10, "PYF302"),),
            fixed="""\
import torch
import torch.nn as nn
from torch.distributions import Normal


class Actor(nn.Module):
    def forward(self, obs):
        mu = self.mu(obs)
        std = self.log_std.exp()
        return Normal(mu, std, validate_args=False)
""",
            unsafe=True,
        ),
        Example(
            note="module aliases and submodule paths; Independent itself checks nothing, its base does",
            code="""\
import torch
import torch.distributions as D
from torch import distributions as td


def act(policy, obs):
    logits = policy(obs)
    action = D.Categorical(logits=logits).sample()
    mu, std = policy.gaussian(obs)
    dist = td.independent.Independent(td.normal.Normal(mu, std), 1)
    return action, dist.sample()
""",
            expect=((8, "PYF302"), (10, "PYF302")),
            fixed="""\
import torch
import torch.distributions as D
from torch import distributions as td


def act(policy, obs):
    logits = policy(obs)
    action = D.Categorical(logits=logits, validate_args=False).sample()
    mu, std = policy.gaussian(obs)
    dist = td.independent.Independent(td.normal.Normal(mu, std, validate_args=False), 1)
    return action, dist.sample()
""",
            unsafe=True,
        ),
        Example(
            note="a per-step loop over episodes, torch.distributions written out",
            code="""\
import torch


def rollout(env, net, steps: int):
    obs = env.reset()
    for _ in range(steps):
        probs = net(torch.as_tensor(obs))
        m = torch.distributions.Categorical(probs)
        obs, reward, done, info = env.step(m.sample().item())
""",
            expect=((8, "PYF302"),),
            fixed="""\
import torch


def rollout(env, net, steps: int):
    obs = env.reset()
    for _ in range(steps):
        probs = net(torch.as_tensor(obs))
        m = torch.distributions.Categorical(probs, validate_args=False)
        obs, reward, done, info = env.step(m.sample().item())
""",
            unsafe=True,
        ),
        Example(
            note="a subclass without its own __init__ takes validate_args like its parent",
            code="""\
import torch
import torch.nn as nn


class MaskedCategorical(torch.distributions.Categorical):
    def mode(self):
        return self.probs.argmax(dim=-1)


class Head(nn.Module):
    def forward(self, x):
        return MaskedCategorical(logits=self.linear(x))
""",
            expect=((12, "PYF302"),),
            fixed="""\
import torch
import torch.nn as nn


class MaskedCategorical(torch.distributions.Categorical):
    def mode(self):
        return self.probs.argmax(dim=-1)


class Head(nn.Module):
    def forward(self, x):
        return MaskedCategorical(logits=self.linear(x), validate_args=False)
""",
            unsafe=True,
        ),
        Example(
            note="a subclass whose own __init__ builds its base with validation on: no automatic fix",
            code="""\
import torch.nn as nn
from torch import distributions as dist


class TanhNormal(dist.TransformedDistribution):
    def __init__(self, loc, scale):
        self.base = dist.Normal(loc, scale)
        super().__init__(self.base, [dist.transforms.TanhTransform(cache_size=1)])


class Actor(nn.Module):
    def forward(self, obs):
        mu, log_std = self.trunk(obs).chunk(2, dim=-1)
        return TanhNormal(mu, log_std.exp())
""",
            expect=((14, "PYF302"),),
        ),
    )
    good = (
        Example(
            note="validate_args given either way, or **kwargs that may hold it",
            code="""\
import torch.nn as nn
from torch.distributions import Categorical, Normal


class Actor(nn.Module):
    def forward(self, obs, **dist_kwargs):
        mu = self.mu(obs)
        fast = Normal(mu, self.std, validate_args=False)
        checked = Categorical(logits=self.logits(obs), validate_args=True)
        custom = Normal(mu, self.std, **dist_kwargs)
        return fast, checked, custom
""",
        ),
        Example(
            note="validation switched off for the whole module",
            code="""\
import torch
from torch.distributions import Normal

torch.distributions.Distribution.set_default_validate_args(False)


def act(policy, obs):
    mu, std = policy(obs)
    return Normal(mu, std).sample()
""",
        ),
        Example(
            note="not torch's: SciPy, NumPy, and a project class that happens to be called Normal",
            code="""\
import numpy as np
from scipy import stats


class Normal:
    def __init__(self, mu, sigma):
        self.mu, self.sigma = mu, sigma


def step(obs, rng):
    noise = np.random.normal(0.0, 0.1, size=3)
    prior = stats.norm(0.0, 1.0)
    ref = Normal(obs.mean(), obs.std())
    return noise, prior.pdf(obs), ref, rng.normal()
""",
        ),
        Example(
            note="cold code, annotations and isinstance",
            code="""\
import torch
from torch.distributions import Normal


class Policy(torch.nn.Module):
    def __init__(self, act_dim: int):
        super().__init__()
        self.prior = Normal(torch.zeros(act_dim), torch.ones(act_dim))

    def forward(self, dist: Normal) -> Normal:
        if isinstance(dist, Normal):
            return dist
        raise TypeError(type(dist).__name__)
""",
        ),
        Example(
            note="a subclass whose __init__ already turns validation off",
            code="""\
import torch.nn as nn
from torch import distributions as pyd


class ClippedNormal(pyd.Normal):
    def __init__(self, loc, scale, low=-1.0, high=1.0):
        super().__init__(loc, scale, validate_args=False)
        self.low, self.high = low, high


class Actor(nn.Module):
    def forward(self, obs):
        return ClippedNormal(self.mu(obs), self.std)
""",
        ),
    )

    # ---------------------------------------------------------------------------------------
    def check(self, node: ast.AST, an: Analysis) -> Iterator[Finding]:
        assert isinstance(node, ast.Call)
        if keyword(node, "validate_args") is not None or any(k.arg is None for k in node.keywords):
            return
        name, subclass = self._distribution(an, node)
        if name is None:
            return
        if self._in_own_init(an, node):
            return  # a distribution subclass building its parts: reported where the subclass is made
        heat = an.heat(node)
        if heat is None or self._switched_off(an):
            return
        shown = ast.unparse(node.func)
        family = _FAMILY.get(name)
        gain = ""
        if family is not None:
            act, batch = self.speedups[f"{family}_act"], self.speedups[f"{family}_batch"]
            gain = (f" ({name} measured {act.claim} for one observation, {batch.claim} per minibatch of 64 "
                    f"on the CPU)")
        if subclass is not None:
            init = subclass.lineno
            yield self.report(
                node,
                f"`{shown}(...)` {heat} subclasses `torch.distributions.{name}` and its `__init__` (line {init}) "
                f"builds it with argument validation on, checked on every construction and `log_prob()` "
                f"(a GPU sync each): pass `validate_args=False` to the distributions and the parent "
                f"`__init__` there{gain}",
            )
            return
        yield self.report(
            node,
            f"`{shown}(...)` {heat} validates its arguments on every construction and `log_prob()` "
            f"(PyTorch's default; a GPU sync per check): pass `validate_args=False`{gain}",
            Fix(safe=False, data=ValidateArgsFix(), reason="invalid parameters no longer raise where they are made"),
        )

    # -- what the call builds ------------------------------------------------------------------
    def _distribution(self, an: Analysis, call: ast.Call) -> tuple[str | None, ast.FunctionDef | None]:
        """The torch distribution ``call`` builds, and the ``__init__`` of the module's subclass that
        builds it with validation on (``None`` when the call takes ``validate_args`` as it is);
        ``(None, None)`` when it builds no torch distribution, or one whose validation is handled."""
        name = torch_distribution(an.qualname(call.func))
        if name is not None:
            return name, None
        cls = self._local_class(an, call.func)
        if cls is None:
            return None, None
        return self._subclass(an, cls, 0)

    @staticmethod
    def _local_class(an: Analysis, func: ast.AST) -> ast.ClassDef | None:
        if not isinstance(func, ast.Name):
            return None
        scope = an.scope_of(func).lookup(func.id)
        if scope is None:
            return None
        bs = scope.bindings[func.id]
        if len(bs) != 1 or bs[0].how != "class" or not isinstance(bs[0].node, ast.ClassDef):
            return None
        return bs[0].node

    def _base_distribution(self, an: Analysis, cls: ast.ClassDef, depth: int = 0) -> str | None:
        """The torch distribution ``cls`` derives from (through classes of this module), if any."""
        if depth > 4 or len(cls.bases) != 1 or cls.keywords:
            return None
        base = cls.bases[0]
        name = torch_distribution(an.qualname(base))
        if name is not None:
            return name
        parent = self._local_class(an, base)
        return self._base_distribution(an, parent, depth + 1) if parent is not None else None

    def _subclass(self, an: Analysis, cls: ast.ClassDef, depth: int) -> tuple[str | None, ast.FunctionDef | None]:
        """(the torch distribution, the ``__init__`` that validates) for constructing ``cls``."""
        name = self._base_distribution(an, cls)
        if name is None or depth > 4:
            return None, None
        own = next((s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == _INIT), None)
        if own is None:
            parent = self._local_class(an, cls.bases[0])
            if parent is None:
                return name, None  # the torch class's own __init__, which takes validate_args
            return self._subclass(an, parent, depth + 1)
        params = own.args
        named = {a.arg for a in (*params.posonlyargs, *params.args, *params.kwonlyargs)}
        if "validate_args" in named or params.kwarg is not None:
            return None, None  # it takes validate_args (or passes **kwargs on): not ours to tell what it does
        if self._validates(an, own):
            return name, own
        return None, None

    @staticmethod
    def _validates(an: Analysis, init: ast.FunctionDef) -> bool:
        """Does the subclass' ``__init__`` build a distribution, or call its parent's ``__init__``,
        without ``validate_args``?"""
        for n in ast.walk(init):
            if not isinstance(n, ast.Call) or keyword(n, "validate_args") is not None:
                continue
            if any(k.arg is None for k in n.keywords):
                continue
            f = n.func
            if isinstance(f, ast.Attribute) and f.attr == _INIT:
                return True
            if torch_distribution(an.qualname(f)) is not None:
                return True
        return False

    def _in_own_init(self, an: Analysis, call: ast.Call) -> bool:
        """Is ``call`` in the ``__init__`` of a distribution subclass of this module?"""
        fscope = an.scope_of(call).function_scope()
        if fscope.cls is None or fscope.name != _INIT or not isinstance(fscope.cls.node, ast.ClassDef):
            return False
        return self._base_distribution(an, fscope.cls.node) is not None

    @staticmethod
    def _switched_off(an: Analysis) -> bool:
        """Does the module call ``Distribution.set_default_validate_args(...)`` anywhere (with
        anything but a literal ``True``)?"""
        for s in an.scopes:
            for c in s.calls:
                f = c.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                if name != _SETTER:
                    continue
                arg = c.args[0] if c.args else keyword(c, "value")
                if not (isinstance(arg, ast.Constant) and arg.value is True):
                    return True
        return False

    # -- fix ----------------------------------------------------------------------------------
    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        return ctx.with_keyword(cast("cst.Call", node), "validate_args", ctx.expr("False"))
