"""pyfast-check, CI-sized: a few steps per epoch, real processes, real PyBullet and PyTorch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("torch")
pytest.importorskip("pybullet")

from runtime_check.check import WORKLOADS, CheckOptions, _judge, plan, run_check, to_json  # noqa: E402
from runtime_check.equivalence import compare  # noqa: E402
from runtime_check.runner import load_trace, run_child, run_pair  # noqa: E402
from runtime_check.stats import bootstrap_median, bootstrap_nested, verdict  # noqa: E402

SOURCE = WORKLOADS["kuka_ppo"].read_text()
TINY = {"epochs": 2, "warmup_epochs": 0, "steps": 64, "update_epochs": 1, "seed": 0, "threads": 1}


def run_source(tmp_path: Path, name: str, source: str, config: dict | None = None) -> dict[str, np.ndarray]:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    trace = tmp_path / f"{name}.npz"
    run_child("run_workload", {"path": str(path), "module": f"test_{name}", "config": config or TINY,
                               "trace_path": str(trace)})
    return load_trace(trace)


def test_the_workload_runs_on_its_own():
    proc = subprocess.run([sys.executable, "-m", "runtime_check.workloads.kuka_ppo", "--epochs", "1", "--steps",
                           "32", "--seed", "0"], capture_output=True, text=True, check=True)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["epochs"] == 1 and len(summary["epoch_seconds"]) == 1


def test_two_runs_of_the_same_source_are_bit_identical(tmp_path):
    a = run_source(tmp_path, "a", SOURCE)
    b = run_source(tmp_path, "b", SOURCE)
    assert {"obs/0", "rewards/0", "actions/0", "params/0", "minibatch_indices"} <= set(a)
    assert compare(a, b, ("exact",)).equivalent


def test_every_rule_has_an_instance_in_the_workload():
    from flake8_pyfast.rules import all_codes

    findings, variants, _ = plan(SOURCE)
    assert set(findings) == set(all_codes())
    assert {"PYF101", "PYF102", "PYF204", "PYF205", "PYF206", "PYF301", "PYF401", "all"} <= set(variants)


def test_a_planted_wrong_variant_is_caught(tmp_path):
    base = run_source(tmp_path, "base", SOURCE)
    wrong_source = SOURCE.replace("-dist - 0.01 * effort", "-dist - 0.02 * effort")
    assert wrong_source != SOURCE
    wrong = run_source(tmp_path, "wrong", wrong_source)
    result = compare(base, wrong, ("exact", "tolerance", "invariants"), minibatch=64, samples=64)
    assert not result.equivalent and result.how == "different"
    shuffled = SOURCE.replace("torch.manual_seed(cfg.seed)", "torch.manual_seed(cfg.seed + 1)")
    other = run_source(tmp_path, "other", shuffled)
    assert not compare(base, other, ("exact", "tolerance"), minibatch=64, samples=64).equivalent


def test_a_fix_variant_passes_its_allowed_check(tmp_path):
    from autofix.engine import fix_source
    from autofix.selection import Selection

    base = run_source(tmp_path, "base", SOURCE)
    fixed = run_source(tmp_path, "fixed", fix_source(SOURCE, Selection(("PYF206",)), unsafe=True).fixed)
    assert compare(base, fixed, ("exact",)).equivalent


def _planted(seconds: float) -> str:
    """The workload with a sleep in every PPO update (the 'update' phase)."""
    return SOURCE.replace("    n = obs.shape[0]\n", f"    n = obs.shape[0]\n    time.sleep({seconds})\n", 1)


@pytest.mark.parametrize(("base_sleep", "var_sleep", "expected"), [(0.0, 0.05, "slower"), (0.05, 0.0, "confirmed")])
def test_statistics_find_a_planted_slowdown_and_speedup(tmp_path, base_sleep, var_sleep, expected):
    cfg = {**TINY, "epochs": 3, "trace": False}
    paths = {}
    for name, secs in (("base", base_sleep), ("var", var_sleep)):
        paths[name] = tmp_path / f"{name}.py"
        paths[name].write_text(_planted(secs) if secs else SOURCE)
    rounds = []
    for r in range(2):
        jobs = [{"path": str(paths[n]), "module": f"planted_{n}", "config": cfg} for n in ("base", "var")]
        if r % 2:
            var, base = run_pair(jobs[1], jobs[0])
        else:
            base, var = run_pair(jobs[0], jobs[1])
        rounds.append((base["epochs"], var["epochs"]))
    from runtime_check.equivalence import Equivalence

    result = _judge("PYF204", "fix", 1, rounds, "update", Equivalence(True, "exact"))
    assert result.verdict == expected, (result.speedup, result.ci)


def test_verdicts_and_bootstrap():
    assert verdict(1.05, 1.2, True) == "confirmed"
    assert verdict(0.8, 0.95, True) == "slower"
    assert verdict(0.9, 1.1, True) == "no gain"
    assert verdict(2.0, 3.0, False) == "changes results"
    med, lo, hi = bootstrap_median([1.1, 1.2, 1.15, 1.12, 1.18])
    assert 1.1 <= lo <= med <= hi <= 1.2
    med, lo, hi = bootstrap_nested([[1.0, 1.02], [0.98, 1.01], [1.03, 0.99]])
    assert lo < 1.0 < hi
    with pytest.raises(ValueError):
        bootstrap_nested([])


def test_invariants_accept_another_permutation_and_reject_a_repeated_sample():
    first = {"obs/0": np.arange(6.0), "rewards/0": np.ones(3)}
    base = {"minibatch_indices": np.arange(8).reshape(2, 4), "x": np.zeros(3), **first}
    other = {"minibatch_indices": np.array([[3, 1, 0, 2], [7, 5, 4, 6]]), "x": np.ones(3), **first}
    assert compare(base, other, ("exact", "invariants"), minibatch=4, samples=8).how == "invariants"
    bad = {**other, "minibatch_indices": np.array([[3, 3, 0, 2], [7, 5, 4, 6]])}
    assert not compare(base, bad, ("invariants",), minibatch=4, samples=8).equivalent
    other_rollout = {**other, "rewards/0": np.full(3, 2.0)}
    assert "first rollout" in compare(base, other_rollout, ("invariants",), minibatch=4, samples=8).detail


def test_a_tiny_check_writes_the_documented_json_and_a_chart(tmp_path):
    from runtime_check.report import write_json, write_plot

    options = CheckOptions(rounds=1, epochs=1, steps=64, rules=("PYF206",), case_rounds=2, case_scale=0.05)
    report = run_check(options)
    out = tmp_path / "out.json"
    write_json(report, out)
    data = json.loads(out.read_text())
    assert isinstance(data["device"], str) and data["device"].startswith("cpu")
    assert isinstance(data["python"], str)
    (rule,) = [r for r in data["rules"] if r["code"] == "PYF206"]
    assert rule["kind"] == "fix" and rule["equivalent"] is True and len(rule["ci"]) == 2
    assert rule["verdict"] in ("confirmed", "no gain", "slower", "changes results")
    assert isinstance(rule["speedup"], float)
    assert set(data["overall"]) >= {"speedup", "ci", "equivalent"}
    assert data["baseline_reproducible"] is True
    png = tmp_path / "out.png"
    write_plot(report, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert to_json(report)["control"]["code"] == "control"


def test_doctor_without_cpufreq_and_with_it(tmp_path):
    from runtime_check.doctor import check_governor, check_python, format_items, run_doctor

    missing = check_governor(tmp_path / "nothing-here")
    assert missing.fast is None and "not exposed" in missing.found
    for cpu, gov in (("cpu0", "performance"), ("cpu1", "powersave")):
        f = tmp_path / cpu / "cpufreq" / "scaling_governor"
        f.parent.mkdir(parents=True)
        f.write_text(gov + "\n")
    mixed = check_governor(tmp_path)
    assert mixed.fast is False and "powersave (1 cores)" in mixed.found and "cpupower" in mixed.advice
    assert "PGO on, LTO on" in check_python("'--enable-optimizations' '--with-lto'").found
    assert "PGO off" in check_python("").found
    text = format_items(run_doctor())
    assert "Python build" in text and "PyTorch" in text
    proc = subprocess.run([sys.executable, "-m", "runtime_check.cli", "doctor"], capture_output=True, text=True)
    assert proc.returncode == 0 and "CPU frequency governor" in proc.stdout


def test_compare_proves_a_fix_and_fails_clearly(tmp_path):
    from runtime_check.compare import CompareError
    from runtime_check.compare import compare as compare_fn

    f = tmp_path / "reward.py"
    f.write_text(textwrap.dedent("""\
        import numpy as np


        def shaped(xs):
            out = 0.0
            for x in xs:
                out += float(np.clip(float(x), -1.0, 1.0))
            return out
        """))
    res = compare_fn(f"{f}::shaped", setup="args = ([0.5, -3.0, 2.0] * 20,)", rounds=3)
    assert res.equivalent and res.fixes == ["PYF101:7"]
    with pytest.raises(CompareError, match="no function 'missing'"):
        compare_fn(f"{f}::missing", rounds=1)
    clean = tmp_path / "clean.py"
    clean.write_text("def f():\n    return 1\n")
    with pytest.raises(CompareError, match="nothing to fix"):
        compare_fn(f"{clean}::f", rounds=1)
    broken = tmp_path / "broken.py"
    broken.write_text("import numpy as np\nimport not_a_module_xyz\nfor t in range(3):\n    a = np.abs(float(t)) < 1\n")
    with pytest.raises(CompareError, match="importing it failed"):
        compare_fn(f"{broken}::f", rounds=1)
    with pytest.raises(CompareError, match=r"expected path/to/file\.py::function"):
        compare_fn(str(f), rounds=1)
    proc = subprocess.run([sys.executable, "-m", "runtime_check.cli", "compare", f"{clean}::f"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "nothing to fix" in proc.stderr
