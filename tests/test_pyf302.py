"""PYF302 (distributions built per step with argument validation on): the shapes around the examples."""

from __future__ import annotations

import textwrap

import pytest

from autofix.engine import fix_source
from autofix.selection import Selection
from flake8_pyfast.checker import lint_source
from flake8_pyfast.rules.pyf302_distribution_validation import torch_distribution


def _lines(code: str) -> list[int]:
    return sorted(f.line for f in lint_source(textwrap.dedent(code)) if f.code == "PYF302")


ACT = """
    import torch
    from torch.distributions import Normal
    {setting}

    def act(policy, obs):
        mu, std = policy(obs)
        return Normal(mu, std).sample()
"""


@pytest.mark.parametrize(("setting", "lines"), [
    ("", [8]),
    ("torch.distributions.Distribution.set_default_validate_args(True)", [8]),  # asked for: still on
    ("torch.distributions.Distribution.set_default_validate_args(False)", []),
    ("from torch.distributions import Distribution as Dist; Dist.set_default_validate_args(__debug__ and False)", []),
])
def test_the_module_wide_switch_decides(setting, lines):
    assert _lines(ACT.format(setting=setting)) == lines


def test_the_switch_in_a_function_of_the_module_counts_too():
    code = """
        import torch
        from torch.distributions import Categorical

        def main(fast: bool):
            torch.distributions.Distribution.set_default_validate_args(not fast)

        def act(net, obs):
            return Categorical(logits=net(obs)).sample()
    """
    assert _lines(code) == []


def test_names_resolve_to_torch_only():
    assert torch_distribution("torch.distributions.Normal") == "Normal"
    assert torch_distribution("torch.distributions.normal.Normal") == "Normal"
    assert torch_distribution("torch.distributions.one_hot_categorical.OneHotCategorical") == "OneHotCategorical"
    assert torch_distribution("torch.distributions.Independent") is None  # checks nothing itself
    assert torch_distribution("torch.distributions.kl_divergence") is None
    assert torch_distribution("torch.distributions.transforms.TanhTransform") is None
    assert torch_distribution("torch.distributions.Normal.arg_constraints") is None
    assert torch_distribution("pyro.distributions.Normal") is None
    assert torch_distribution(None) is None


def test_a_local_rebinding_of_the_name_is_not_torchs():
    code = """
        from torch.distributions import Normal

        def act(policy, obs, Normal=None):
            mu, std = policy(obs)
            return Normal(mu, std)
    """
    assert _lines(code) == []


def test_subclasses_through_the_module():
    code = """
        import torch
        from torch import distributions as td

        class Base(td.Normal):
            def entropy_sum(self):
                return self.entropy().sum(-1)

        class Child(Base):
            pass

        class TakesFlag(td.Normal):
            def __init__(self, loc, scale, validate_args=None):
                super().__init__(loc, scale, validate_args=validate_args)

        class Quiet(td.Beta):
            def __init__(self, a, b):
                super().__init__(a, b, validate_args=False)

        class Loud(Quiet):
            pass

        class NotADistribution(torch.nn.Module):
            pass

        def step(net, obs):
            a, b = net(obs)
            return Child(a, b), TakesFlag(a, b), Loud(a, b), NotADistribution()
    """
    assert _lines(code) == [28]
    (f,) = [f for f in lint_source(textwrap.dedent(code)) if f.code == "PYF302"]
    assert f.col == 11 and f.fix is not None and "Normal measured" in f.message


def test_the_init_of_a_subclass_is_not_reported_itself_even_when_hot():
    code = """
        from torch import distributions as pyd

        class Squashed(pyd.TransformedDistribution):
            def __init__(self, loc, scale):
                self.base = pyd.Normal(loc, scale)
                super().__init__(self.base, [pyd.transforms.TanhTransform()])

        def act(mu, std):
            return Squashed(mu, std)
    """
    found = [f for f in lint_source(textwrap.dedent(code)) if f.code == "PYF302"]
    assert [f.line for f in found] == [10]
    assert found[0].fix is None and "line 5" in found[0].message


def test_update_code_in_a_loop_is_hot_and_cold_set_up_is_not():
    code = """
        import torch
        from torch.distributions import MultivariateNormal

        def build_prior(dim):
            return MultivariateNormal(torch.zeros(dim), torch.eye(dim))

        def train(policy, batches):
            for obs, act in batches:
                mu, cov = policy(obs)
                loss = -MultivariateNormal(mu, scale_tril=cov).log_prob(act).mean()
                loss.backward()
    """
    assert _lines(code) == [11]


def test_the_fix_needs_unsafe_fixes_and_keeps_other_arguments():
    code = textwrap.dedent(ACT.format(setting=""))
    assert fix_source(code, Selection(("PYF302",))).fixed == code
    fixed = fix_source(code, Selection(("PYF302",)), unsafe=True).fixed
    assert "Normal(mu, std, validate_args=False).sample()" in fixed
    assert _lines(fixed) == []


def test_validate_args_false_gives_the_same_numbers():
    torch = pytest.importorskip("torch")
    from torch.distributions import Categorical, Normal

    mu, std = torch.randn(64, 7), torch.rand(64, 7) + 0.1
    logits = torch.randn(64, 6)
    torch.manual_seed(0)
    a = Normal(mu, std).sample()
    c = Categorical(logits=logits).sample()
    torch.manual_seed(0)
    b = Normal(mu, std, validate_args=False).sample()
    d = Categorical(logits=logits, validate_args=False).sample()
    assert torch.equal(a, b) and torch.equal(c, d)
    assert torch.equal(Normal(mu, std).log_prob(a), Normal(mu, std, validate_args=False).log_prob(a))
    with pytest.raises(ValueError):
        Normal(mu, -std)  # what the fix gives up: invalid parameters no longer raise
    assert Normal(mu, -std, validate_args=False).log_prob(a).isnan().any()
