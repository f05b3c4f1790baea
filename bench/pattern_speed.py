"""How much faster is each rule's use-instead form than the pattern it reports? (issue #8)

Every speed factor a rule's message or documentation quotes comes from this script's recorded run
(``bench/results/pattern_speed.json``; the rules hold it in their ``speedups`` constants and
``tests/test_speed_claims.py`` checks that they match). Each pair is one rule's bad pattern
(``bad``) and the form its documentation recommends (``good``), timed like ``timeit``: the statement
inlined in a loop, garbage collection off, one sample ~``--target`` seconds. The two are
interleaved (bad, good, bad, good ...; who goes first alternates by round) and every pair takes its
turn in every round, so a busy machine slows both sides of a ratio alike. Per round, the ratio is
bad time / good time (above 1: the recommended form is faster); reported are the median over the
rounds and the interquartile range (the constants' ``low``/``high``), with the min-max in the JSON.

    python bench/pattern_speed.py [--rounds 31] [--target 0.04] [--only PYF101] [--json PATH]
    python bench/pattern_speed.py --quick                   # a short run while developing

NumPy and PyTorch are needed (the ``harness`` extra); PyBullet is not: a PyBullet getter's
result is a tuple of floats, and a stand-in tuple of the same shape is what is converted here.
Torch runs on the CPU with one thread.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
import timeit
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "pattern_speed.json"  # the committed record

COMMON = """
import math
import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, SubsetRandomSampler, TensorDataset
rng = np.random.default_rng(0)
"""


@dataclass(frozen=True)
class Pair:
    """One rule's bad pattern and its recommended form, sharing ``setup``."""

    code: str
    key: str
    what: str
    setup: str
    bad: str
    good: str


PAIRS = (
    # -- PYF101: NumPy math on a Python scalar --------------------------------------------------
    Pair("PYF101", "sqrt", "a float", "x = 2.7182", "np.sqrt(x)", "math.sqrt(x)"),
    Pair("PYF101", "exp", "a float", "x = 0.37", "np.exp(x)", "math.exp(x)"),
    Pair("PYF101", "abs", "a float", "x = -0.37", "np.abs(x)", "abs(x)"),
    Pair("PYF101", "clip", "a float, literal bounds", "x = 0.37", "np.clip(x, -1.0, 1.0)",
         "min(max(x, -1.0), 1.0)"),
    Pair("PYF101", "norm", "3 float scalars", "dx, dy, dz = 0.1, -0.2, 0.3", "np.linalg.norm([dx, dy, dz])",
         "math.hypot(dx, dy, dz)"),
    Pair("PYF101", "np_scalar_cos", "a NumPy float64 scalar (an array element)",
         "a = rng.random(8); x = a[3]", "np.cos(x)", "math.cos(x)"),
    Pair("PYF101", "np_scalar_sqrt", "a NumPy float64 scalar (an array element)",
         "a = rng.random(8); x = a[3]", "np.sqrt(x)", "math.sqrt(x)"),
    Pair("PYF101", "max_tuple", "two floats", "a, b = 0.37, -1.2", "np.max((a, b))", "max(a, b)"),
    Pair("PYF101", "maximum", "two floats", "a, b = 0.37, -1.2", "np.maximum(a, b)", "max(a, b)"),
    Pair("PYF101", "isclose", "a float against a literal 0", "x = 3e-9", "np.isclose(x, 0)",
         "abs(x) <= 1e-08"),
    # -- PYF102: a NumPy function where an operator does ------------------------------------------
    Pair("PYF102", "power", "float64 array of 8", "x = rng.random(8)", "np.power(x, 2.0)", "x ** 2"),
    Pair("PYF102", "power_large", "float64 array of 100k", "x = rng.random(100_000)", "np.power(x, 2.0)",
         "x ** 2"),
    Pair("PYF102", "float_exponent", "float64 array of 8", "x = rng.random(8)", "x ** 2.0", "x ** 2"),
    Pair("PYF102", "multiply", "float64 arrays of 8", "a = rng.random(8); b = rng.random(8)",
         "np.multiply(a, b)", "a * b"),
    # -- PYF103: a loop-invariant bool mask converted every step ----------------------------------
    Pair("PYF103", "mask", "float32 array of 4096",
         "x = rng.random(4096, dtype=np.float32); mask = x > 0.3; fmask = mask.astype(np.float32)",
         "x * mask", "x * fmask"),
    Pair("PYF103", "where", "float32 array of 4096 (np.where as the 'fix')",
         "x = rng.random(4096, dtype=np.float32); mask = x > 0.3",
         "x * mask", "np.where(mask, x, 0)"),
    # -- PYF201: an array built from a sequence every step ----------------------------------------
    Pair("PYF201", "prealloc", "4 attributes -> float32 observation, returning a copy",
         "class S:\n    x, y, vx, vy = 0.1, 0.2, 0.3, 0.4\ns = S()\nbuf = np.empty(4, dtype=np.float32)",
         "np.array([s.x, s.y, s.vx, s.vy], dtype=np.float32)",
         "obs = buf\nobs[0], obs[1], obs[2], obs[3] = s.x, s.y, s.vx, s.vy\nobs.copy()"),
    Pair("PYF201", "reuse", "4 attributes -> float32 observation, returning the buffer itself",
         "class S:\n    x, y, vx, vy = 0.1, 0.2, 0.3, 0.4\ns = S()\nbuf = np.empty(4, dtype=np.float32)",
         "np.array([s.x, s.y, s.vx, s.vy], dtype=np.float32)",
         "obs = buf\nobs[0], obs[1], obs[2], obs[3] = s.x, s.y, s.vx, s.vy"),
    Pair("PYF201", "numpy", "batch of 32 states (ndarrays of 4) -> float32 tensor",
         "states = [rng.random(4) for _ in range(32)]",
         "torch.tensor(states, dtype=torch.float32)",
         "torch.from_numpy(np.array(states, dtype=np.float32))"),
    Pair("PYF201", "numpy_floats", "4 Python floats -> float32 tensor",
         "a, b, c, d = 0.1, 0.2, 0.3, 0.4",
         "torch.tensor([a, b, c, d], dtype=torch.float32)",
         "torch.from_numpy(np.array([a, b, c, d], dtype=np.float32))"),
    # -- PYF202: a PyBullet getter's tuples converted to arrays -----------------------------------
    Pair("PYF202", "row", "position, orientation, 7 joint states (tuples of floats)",
         "pos = (0.1, 0.2, 0.3)\norn = (0.0, 0.0, 0.0, 1.0)\n"
         "joints = tuple((0.1 * j, 0.01 * j, (0.0,) * 6, 0.0) for j in range(7))\nbuf = np.empty(14)",
         "np.concatenate([np.array(pos), np.array(orn), np.array([s[0] for s in joints])])",
         "obs = buf\nobs[0:3] = pos\nobs[3:7] = orn\nfor i, s in enumerate(joints):\n    obs[7 + i] = s[0]\n"
         "obs.copy()"),
    Pair("PYF202", "single", "one position tuple (3 floats) used in the step: a new array vs a preallocated row",
         "pos = (0.1, 0.2, 0.3)\nbuf = np.empty(3)", "np.array(pos)", "buf[:] = pos\nbuf"),
    Pair("PYF202", "single_copy", "one position tuple (3 floats) returned: a new array vs a row and its copy",
         "pos = (0.1, 0.2, 0.3)\nbuf = np.empty(3)", "np.array(pos)", "buf[:] = pos\nbuf.copy()"),
    # -- PYF203: an array grown one step at a time ------------------------------------------------
    Pair("PYF203", "grow", "1000 steps of 8 floats: concatenate vs list then np.array",
         "row = rng.random(8)\nn = 1000",
         "x = np.empty((0, 8))\nfor t in range(n):\n    x = np.concatenate([x, row[None]])",
         "rows = []\nfor t in range(n):\n    rows.append(row)\nx = np.array(rows)"),
    Pair("PYF203", "prealloc", "1000 steps of 8 floats: list then np.array vs preallocated",
         "row = rng.random(8)\nn = 1000",
         "rows = []\nfor t in range(n):\n    rows.append(row)\nx = np.array(rows)",
         "x = np.empty((n, 8))\nfor t in range(n):\n    x[t] = row"),
    # -- PYF204: out-of-place updates -------------------------------------------------------------
    Pair("PYF204", "inplace", "float32 tensor of 65536",
         "x = torch.zeros(65536)\ny = torch.full((65536,), 1e-3)", "x = x + y", "x += y"),
    Pair("PYF204", "lerp", "soft target update of a 64-64 MLP's 6 tensors",
         "shapes = [(64, 8), (64,), (64, 64), (64,), (2, 64), (2,)]\n"
         "ps = [torch.randn(s) for s in shapes]\ntps = [torch.randn(s) for s in shapes]\ntau = 0.005",
         "for p, tp in zip(ps, tps):\n    tp.copy_(tau * p + (1 - tau) * tp)",
         "for p, tp in zip(ps, tps):\n    tp.lerp_(p, tau)"),
    Pair("PYF204", "polyak", "polyak update (mul_ then add_ of a product) of a 256-256 actor-critic's 18 tensors",
         "shapes = [(256, 17), (256,), (256, 256), (256,), (6, 256), (6,)]\n"
         "shapes += [(256, 23), (256,), (256, 256), (256,), (1, 256), (1,)] * 2\n"
         "ps = [torch.randn(s) for s in shapes]\ntps = [torch.randn(s) for s in shapes]\npolyak = 0.995",
         "for p, tp in zip(ps, tps):\n    tp.mul_(polyak)\n    tp.add_((1 - polyak) * p)",
         "for p, tp in zip(ps, tps):\n    tp.lerp_(p, 1 - polyak)"),
    Pair("PYF204", "whole", "running mean of 17 float64 (an observation filter)",
         "m = rng.random(17)\nx = rng.random(17)\nn = 5",
         "m[...] = m + (x - m) / n", "m += (x - m) / n"),
    # -- PYF205: a tensor created, then moved or cast (CPU: the device move is a no-op) -----------
    Pair("PYF205", "device", "zeros(64), device cpu",
         "device = torch.device('cpu')", "torch.zeros(64).to(device)", "torch.zeros(64, device=device)"),
    Pair("PYF205", "dtype", "arange(1000) to float32",
         "", "torch.arange(1000).float()", "torch.arange(1000, dtype=torch.float32)"),
    # -- PYF206: an ndarray copied into a tensor --------------------------------------------------
    Pair("PYF206", "small", "float32 observation of 8",
         "obs = rng.random(8, dtype=np.float32)", "torch.tensor(obs)", "torch.from_numpy(obs)"),
    Pair("PYF206", "large", "float32 array of 100k",
         "obs = rng.random(100_000, dtype=np.float32)", "torch.tensor(obs)", "torch.from_numpy(obs)"),
    Pair("PYF206", "legacy", "float32 observation of 8, torch.FloatTensor",
         "obs = rng.random(8, dtype=np.float32)", "torch.FloatTensor(obs)", "torch.from_numpy(obs).float()"),
    # -- PYF301: branching on a tensor (CPU: no device to wait for) -------------------------------
    Pair("PYF301", "clamp", "gradient clipping of 6 tensors, clipping active (CPU)",
         "shapes = [(64, 8), (64,), (64, 64), (64,), (2, 64), (2,)]\n"
         "grads = [torch.randn(s) for s in shapes]\nclip_coef = torch.tensor(0.99999)",
         "if clip_coef < 1:\n    for g in grads:\n        g.mul_(clip_coef)",
         "c = torch.clamp(clip_coef, max=1.0)\nfor g in grads:\n    g.mul_(c)"),
    Pair("PYF301", "clamp_inactive", "gradient clipping of 6 tensors, clipping inactive (CPU)",
         "shapes = [(64, 8), (64,), (64, 64), (64,), (2, 64), (2,)]\n"
         "grads = [torch.randn(s) for s in shapes]\nclip_coef = torch.tensor(1.5)",
         "if clip_coef < 1:\n    for g in grads:\n        g.mul_(clip_coef)",
         "c = torch.clamp(clip_coef, max=1.0)\nfor g in grads:\n    g.mul_(c)"),
    # -- PYF302: torch.distributions built with argument validation on (a 64-64 MLP policy's output) --
    Pair("PYF302", "normal_act", "Normal(mu, std) + sample + log_prob, 7-d action, batch 1 (acting, no_grad)",
         "from torch.distributions import Normal\nmu = torch.randn(1, 7)\nstd = torch.rand(1, 7) + 0.1",
         "with torch.no_grad():\n    d = Normal(mu, std)\n    a = d.sample()\n    d.log_prob(a).sum(-1)",
         "with torch.no_grad():\n    d = Normal(mu, std, validate_args=False)\n    a = d.sample()\n"
         "    d.log_prob(a).sum(-1)"),
    Pair("PYF302", "normal_batch", "Normal(mu, std) + log_prob + entropy, 7-d action, minibatch of 64 (with grad)",
         "from torch.distributions import Normal\nmu = torch.randn(64, 7, requires_grad=True)\n"
         "std = (torch.rand(64, 7) + 0.1).requires_grad_()\nact = torch.randn(64, 7)",
         "d = Normal(mu, std)\nd.log_prob(act).sum(-1)\nd.entropy()",
         "d = Normal(mu, std, validate_args=False)\nd.log_prob(act).sum(-1)\nd.entropy()"),
    Pair("PYF302", "categorical_act",
         "Categorical(logits=...) + sample + log_prob, 6 actions, batch 1 (acting, no_grad)",
         "from torch.distributions import Categorical\nlogits = torch.randn(1, 6)",
         "with torch.no_grad():\n    d = Categorical(logits=logits)\n    a = d.sample()\n    d.log_prob(a)",
         "with torch.no_grad():\n    d = Categorical(logits=logits, validate_args=False)\n    a = d.sample()\n"
         "    d.log_prob(a)"),
    Pair("PYF302", "categorical_batch", "Categorical(logits=...) + log_prob + entropy, 6 actions, minibatch of 64 "
         "(with grad)",
         "from torch.distributions import Categorical\nlogits = torch.randn(64, 6, requires_grad=True)\n"
         "act = torch.randint(0, 6, (64,))",
         "d = Categorical(logits=logits)\nd.log_prob(act)\nd.entropy()",
         "d = Categorical(logits=logits, validate_args=False)\nd.log_prob(act)\nd.entropy()"),
    # -- PYF303: an acting forward outside no_grad (a 64-64 MLP policy, 28-d observation, 7-d action) --
    Pair("PYF303", "no_grad", "64-64 MLP policy forward for one observation, output to NumPy: under torch.no_grad()",
         "net = torch.nn.Sequential(torch.nn.Linear(28, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), "
         "torch.nn.Tanh(), torch.nn.Linear(64, 7))\nobs = torch.randn(1, 28)",
         "net(obs).detach().numpy()",
         "with torch.no_grad():\n    net(obs).numpy()"),
    Pair("PYF303", "inference_mode", "64-64 MLP policy forward for one observation, output to NumPy: under "
         "torch.inference_mode()",
         "net = torch.nn.Sequential(torch.nn.Linear(28, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), "
         "torch.nn.Tanh(), torch.nn.Linear(64, 7))\nobs = torch.randn(1, 28)",
         "net(obs).detach().numpy()",
         "with torch.inference_mode():\n    net(obs).numpy()"),
    # -- PYF401/402: minibatches -----------------------------------------------------------------
    Pair("PYF401", "split", "2048 samples of 8, minibatches of 64, with indexing",
         "n = 2048\nobs = torch.randn(n, 8)",
         "for idx in BatchSampler(SubsetRandomSampler(range(n)), 64, drop_last=False):\n    obs[idx]",
         "for idx in torch.randperm(n).split(64):\n    obs[idx]"),
    Pair("PYF401", "split_numpy", "2048 samples of 8 in a NumPy array, minibatches of 64, with indexing",
         "n = 2048\nobs = rng.random((n, 8))",
         "for idx in BatchSampler(SubsetRandomSampler(range(n)), 64, drop_last=False):\n    obs[np.asarray(idx)]",
         "for idx in [b.numpy() for b in torch.randperm(n).split(64)]:\n    obs[idx]"),
    Pair("PYF401", "split_numpy_tensor_indices", "the same, indexed with the tensor indices",
         "n = 2048\nobs = rng.random((n, 8))",
         "for idx in BatchSampler(SubsetRandomSampler(range(n)), 64, drop_last=False):\n    obs[np.asarray(idx)]",
         "for idx in torch.randperm(n).split(64):\n    obs[np.asarray(idx)]"),
    Pair("PYF402", "index", "2048 samples, 3 tensors, minibatches of 64",
         "n = 2048\nobs, act, ret = torch.randn(n, 8), torch.randn(n, 2), torch.randn(n)",
         "for o, a, r in DataLoader(TensorDataset(obs, act, ret), batch_size=64, shuffle=True):\n    pass",
         "for idx in torch.randperm(n).split(64):\n    o, a, r = obs[idx], act[idx], ret[idx]"),
)


def _timer(pair: Pair, stmt: str) -> timeit.Timer:
    return timeit.Timer(stmt, setup=COMMON + pair.setup)


def _number(timer: timeit.Timer, target: float) -> int:
    """Loops per sample so that one sample takes about ``target`` seconds (after a warm-up: a first
    call can pay for lazy initialisation, which would make the samples far too short)."""
    for _ in range(3):
        timer.timeit(1)
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target / 5 or number >= 10**7:
            return max(1, round(number * target / max(elapsed, 1e-9)))
        number *= 10


def machine() -> dict[str, Any]:
    import numpy as np
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(terse=True),
        "python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def _round(v: float) -> float:
    return float(f"{v:.3g}")


def run(pairs: tuple[Pair, ...], rounds: int, target: float, log: Any = print) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    timers = [(p, _timer(p, p.bad), _timer(p, p.good)) for p in pairs]
    numbers = {}
    for p, bad, good in timers:
        numbers[(p.code, p.key)] = (_number(bad, target), _number(good, target))
    ratios: dict[tuple[str, str], list[float]] = {(p.code, p.key): [] for p in pairs}
    per_call: dict[tuple[str, str], tuple[list[float], list[float]]] = {(p.code, p.key): ([], []) for p in pairs}
    load_before = os.getloadavg()
    start = time.perf_counter()
    for r in range(rounds):
        for p, bad, good in timers:
            nb, ng = numbers[(p.code, p.key)]
            if r % 2 == 0:
                tb = bad.timeit(nb) / nb
                tg = good.timeit(ng) / ng
            else:
                tg = good.timeit(ng) / ng
                tb = bad.timeit(nb) / nb
            ratios[(p.code, p.key)].append(tb / tg)
            per_call[(p.code, p.key)][0].append(tb)
            per_call[(p.code, p.key)][1].append(tg)
        log(f"round {r + 1}/{rounds} done ({time.perf_counter() - start:.0f} s)")
        gc.collect()
    results: dict[str, dict[str, Any]] = {}
    for p in pairs:
        rs = sorted(ratios[(p.code, p.key)])
        q = statistics.quantiles(rs, n=4, method="inclusive") if len(rs) > 1 else [rs[0]] * 3
        tb, tg = per_call[(p.code, p.key)]
        results.setdefault(p.code, {})[p.key] = {
            "what": p.what, "bad": p.bad, "good": p.good,
            "median": _round(statistics.median(rs)), "low": _round(q[0]), "high": _round(q[2]),
            "min": _round(rs[0]), "max": _round(rs[-1]),
            "bad_us": _round(statistics.median(tb) * 1e6), "good_us": _round(statistics.median(tg) * 1e6),
        }
    return {
        "command": "python bench/pattern_speed.py " + " ".join(sys.argv[1:]),
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "method": (f"{rounds} rounds, samples of ~{target * 1e3:.0f} ms, bad/good interleaved (order alternating "
                   "by round); ratio = bad time / good time per round; median, interquartile range (low-high), "
                   "min-max"),
        "load_average": {"before": [round(x, 2) for x in load_before],
                         "after": [round(x, 2) for x in os.getloadavg()]},
        "rounds": rounds,
        "pairs": results,
    }


def _fmt(v: float) -> str:
    return f"{v:.0f}" if v >= 10 else f"{v:.1f}" if v >= 2 else f"{v:.2f}"


def table(result: dict[str, Any]) -> str:
    """The Markdown table of ``docs/benchmarks.md``."""
    rows = ["| Rule | Pair | Measured on | Pattern (µs) | Use instead (µs) | Speedup (median) | IQR | min-max |",
            "|---|---|---|---|---|---|---|---|"]
    for code, pairs in result["pairs"].items():
        for key, v in pairs.items():
            rows.append(f"| {code} | `{key}` | {v['what']} | {v['bad_us']:g} | {v['good_us']:g} | "
                        f"**{_fmt(v['median'])}x** | {_fmt(v['low'])}-{_fmt(v['high'])}x | "
                        f"{_fmt(v['min'])}-{_fmt(v['max'])}x |")
    return "\n".join(rows)


def constants(result: dict[str, Any]) -> str:
    """Each rule's ``speedups`` constant, as it belongs in the rule module."""
    lines = []
    for code, pairs in result["pairs"].items():
        items = ", ".join(f'"{k}": Speedup({v["median"]}, {v["low"]}, {v["high"]})' for k, v in pairs.items())
        lines.append(f"{code}: speedups = {{{items}}}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=31)
    ap.add_argument("--target", type=float, default=0.04, help="seconds per sample (default 0.04)")
    ap.add_argument("--quick", action="store_true", help="5 rounds of ~5 ms samples: a smoke test, not a record")
    ap.add_argument("--only", action="append", default=[], help="a rule code (repeatable)")
    ap.add_argument("--json", type=Path, help="write the results here (the record: bench/results/pattern_speed.json)")
    args = ap.parse_args(argv)
    rounds, target = (5, 0.005) if args.quick else (args.rounds, args.target)
    pairs = tuple(p for p in PAIRS if not args.only or p.code in args.only)
    if not pairs:
        ap.error(f"no pairs for {args.only}")
    result = run(pairs, rounds, target, log=lambda s: print(s, file=sys.stderr))
    m = result["machine"]
    print(f"{result['date']}: {m['cpu']} ({m['cores']} cores), Python {m['python']}, numpy {m['numpy']}, "
          f"torch {m['torch']} ({m['torch_threads']} thread); {result['method']}")
    print(table(result))
    print()
    print(constants(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
