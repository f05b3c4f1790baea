"""PYF204 on shapes seen in real RL code: what it now reports, and the neighbours it must leave alone."""

from __future__ import annotations

import textwrap

from flake8_pyfast.checker import lint_source
from flake8_pyfast.model import Finding


def _found(code: str) -> list[Finding]:
    return [f for f in lint_source(textwrap.dedent(code)) if f.code == "PYF204"]


def _lines(code: str) -> list[int]:
    return sorted(f.line for f in _found(code))


def test_ema_of_a_planner_under_a_no_grad_decorator_is_reported_with_lerp():
    code = """
        import torch

        class Planner:
            @torch.no_grad()
            def optimize(self, horizon, act_dim, score, iters):
                mu = torch.zeros(horizon, act_dim)
                for i in range(iters):
                    pop = mu + torch.randn(64, *mu.shape)
                    elite = pop[score(pop).topk(8).indices]
                    mu = self.alpha * mu + (1 - self.alpha) * elite.mean(dim=0)
                return mu
    """
    (f,) = _found(code)
    assert f.line == 11 and "lerp_" in f.message
    assert f.fix is not None and not f.fix.safe  # lerp_ rounds differently


def test_ema_of_a_callers_tensor_outside_no_grad_is_left_alone():
    # x0 may require grad (the clone then does too): in place could break a backward() nobody here sees
    code = """
        import torch

        class Planner:
            def optimize(self, x0, score, iters):
                mu = x0.clone()
                for i in range(iters):
                    pop = mu + torch.randn(64, *mu.shape)
                    elite = pop[score(pop).topk(8).indices]
                    mu = self.alpha * mu + (1 - self.alpha) * elite.mean(dim=0)
                return mu
    """
    assert _lines(code) == []


def test_conjugate_gradient_direction_handed_to_a_callback_is_left_alone():
    code = """
        import torch

        def cg(avp, b, steps):
            with torch.no_grad():
                x = torch.zeros_like(b)
                r = b.clone()
                p = b.clone()
                rr = torch.dot(r, r)
                for i in range(steps):
                    ap = avp(p)
                    alpha = rr / torch.dot(p, ap)
                    x += alpha * p
                    r -= alpha * ap
                    new_rr = torch.dot(r, r)
                    p = r + (new_rr / rr) * p
                    rr = new_rr
            return x
    """
    assert _lines(code) == []


def test_polyak_forms():
    code = """
        import torch

        def train(net, targ, tau, steps):
            for it in range(steps):
                with torch.no_grad():
                    for p, tp in zip(net.parameters(), targ.parameters()):
                        tp.mul_(1 - tau)
                        tp.add_(tau * p)
                    for p, tp in zip(net.parameters(), targ.parameters()):
                        tp.mul_(1 - tau)
                        tp.add_(p, alpha=tau)
                    for p, tp in zip(net.parameters(), targ.parameters()):
                        tp.mul_(1 - tau)
                        print(tp.norm())
                        tp.add_(tau * p)
                    for p, tp in zip(net.parameters(), targ.parameters()):
                        tp.mul_(1 - tau)
                        tp.add_(0.5 * p)
    """
    (f,) = _found(code)  # the alpha= form has no temporary; the others are not one update
    assert f.line == 9 and "`tp.lerp_(p, tau)`" in f.message
    assert f.fix is not None and not f.fix.safe and [a.tag for a in f.fix.anchors] == ["remove"]


def test_whole_write_fix_is_unsafe_when_the_operand_dtype_is_unknown():
    code = """
        import numpy as np

        class Stat:
            def __init__(self):
                self.m = np.zeros(5)

            def step(self, x):
                self.m[...] = self.m + x
    """
    (f,) = _found(code)
    assert f.fix is not None and not f.fix.safe and "complex" in f.fix.reason


def test_self_view_keeps_freshness_only_if_nothing_held_the_old_object():
    code = """
        import torch

        def targets(batches, q):
            kept = []
            for r in batches:
                with torch.no_grad():
                    t = torch.as_tensor(r, dtype=torch.float32) + q
                    kept.append(t)
                    t = t.detach()
                    t = torch.clamp(t, -1.0, 1.0)
            return kept
    """
    assert _lines(code) == []


def test_a_tensor_switched_into_autograd_is_never_grad_free():
    code = """
        import torch

        def fit(steps):
            for it in range(steps):
                w = torch.randn(4) * 0.1
                w.requires_grad = True
                w = w * 0.5
                v = torch.randn(4) * 0.1
                v = v.requires_grad_()
                v = v.clamp(-1.0, 1.0)
                u = torch.randn(4) * 0.1
                u.requires_grad_(False)
                u = u.clamp(-1.0, 1.0)
    """
    assert _lines(code) == [14]


def test_clamp_needs_a_floating_tensor():
    code = """
        import torch

        def loop(n, lo, hi, net, obs):
            with torch.no_grad():
                for t in range(n):
                    k = torch.randint(0, 10, (4,)) * 2
                    k = torch.clamp(k, 0.0, 5.5)
                    f = torch.randint(0, 10, (4,)) * 0.5
                    f = torch.clamp(f, lo, hi)
                    g = (torch.randint(0, 10, (4,)) + 1) / 3
                    g = g.clamp(0.0, 1.0)
    """
    # the int tensor keeps clamp (an int clamp_ with float bounds would fail); the others are floating
    found = {f.line: f for f in _found(code)}
    assert sorted(found) == [10, 12]
    assert found[12].fix is not None and found[12].fix.safe
    assert found[10].fix is not None and not found[10].fix.safe  # bounds of unknown kind
