"""bench/third_party.py's logic on a tiny fake package: hand fixes, trace comparison, shadowing, summaries.

No network and no timing: the real packages and the measured numbers are the bench's business.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("third_party", ROOT / "bench" / "third_party.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


tp = _bench()


def _fake_package(root: Path) -> Path:
    pkg = root / "fakepkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("def step(x):\n    return x * 2\n")
    return pkg


def test_hand_fix_replaces_once_and_reports_a_missing_pattern(tmp_path: Path) -> None:
    _fake_package(tmp_path)
    fix = tp.HandFix("fakepkg", "__init__.py", "    return x * 2\n", "    return x + x\n", "why")
    assert tp.apply_hand_fixes(tmp_path, [fix]) == ["fakepkg/__init__.py"]
    assert (tmp_path / "fakepkg" / "__init__.py").read_text() == "def step(x):\n    return x + x\n"
    # applying it again finds the result already there and says so instead of failing
    assert tp.apply_hand_fixes(tmp_path, [fix]) == ["fakepkg/__init__.py (already made by pyfast-fix)"]
    stale = tp.HandFix("fakepkg", "__init__.py", "    return x * 3\n", "    return 3 * x\n", "why")
    with pytest.raises(tp.BenchError, match=r"fakepkg/__init__.py: hand fix expected its pattern exactly once"):
        tp.apply_hand_fixes(tmp_path, [stale])


def test_every_real_hand_fix_names_its_reason() -> None:
    for fix in tp.HAND_FIXES:
        assert fix.old != fix.new and fix.old.endswith("\n") and len(fix.why) > 80, fix.path


def test_trace_comparison_exact_tolerance_and_different() -> None:
    base = {"obs": np.array([1.0, 2.0, 3.0]), "done": np.array([False, True])}
    same = tp.compare_traces(base, {k: v.copy() for k, v in base.items()})
    assert same["equivalent"] and same["how"] == "exact" and same["max_abs_diff"] == 0.0
    close = tp.compare_traces(base, {**base, "obs": base["obs"] + np.array([0.0, 1e-6, 0.0])})
    assert close["equivalent"] and close["how"] == "tolerance"
    assert close["max_abs_diff"] == pytest.approx(1e-6) and close["max_abs_diff_at"] == "obs"
    far = tp.compare_traces(base, {**base, "obs": np.array([1.0, 2.5, 3.0])})
    assert not far["equivalent"] and far["how"] == "different" and far["max_abs_diff"] == pytest.approx(0.5)
    flipped = tp.compare_traces(base, {**base, "done": np.array([False, False])})
    assert not flipped["equivalent"] and "done" in flipped["detail"]


def test_summary_ratios_are_original_over_variant_and_a_changed_trace_is_never_confirmed() -> None:
    times = {"original": [2.0, 2.2, 2.1], "original2": [2.0, 2.2, 2.1], "fixed": [1.0, 1.1, 1.05],
             "hand": [1.0, 1.1, 1.05]}
    ok = {"equivalent": True, "how": "exact", "detail": "", "max_abs_diff": 0.0, "max_abs_diff_at": ""}
    bad = {**ok, "equivalent": False, "how": "different"}
    out = tp.summarise(times, 100, {"original2": ok, "fixed": ok, "hand": bad})
    assert out["fixed"]["ratio"] == pytest.approx(2.0) and out["fixed"]["verdict"] == "confirmed"
    assert out["original2"]["ratio"] == pytest.approx(1.0) and out["original2"]["verdict"] == "no gain"
    assert out["hand"]["verdict"] == "changes results"
    assert out["original"]["steps_per_s"]["median"] == pytest.approx(100 / 2.1)


def test_child_refuses_a_package_imported_from_outside_the_copy(tmp_path: Path) -> None:
    copy, elsewhere = tmp_path / "copy", tmp_path / "installed"
    copy.mkdir()
    _fake_package(elsewhere)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
            "from pathlib import Path; import third_party as tp;"
            "tp._check_origin(['fakepkg'], Path(sys.argv[3]))")
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "bench"), str(elsewhere), str(copy)],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert proc.returncode != 0
    assert "fakepkg was imported from" in proc.stderr and "not from the copy" in proc.stderr
    _fake_package(copy)
    ok = subprocess.run([sys.executable, "-c", code.replace("sys.argv[2]", "sys.argv[3]"),
                         str(ROOT / "bench"), str(elsewhere), str(copy)],
                        capture_output=True, text=True, check=False, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


def _fake_distribution(site: Path) -> Path:
    """A distribution 'fakedist' whose RECORD lists fakepkg's one file with its hash, as a wheel does."""
    import base64
    import hashlib

    pkg = _fake_package(site)
    data = (pkg / "__init__.py").read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    info = site / "fakedist-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakedist\nVersion: 1.0\n")
    (info / "RECORD").write_text(f"fakepkg/__init__.py,sha256={digest},{len(data)}\n"
                                 "fakedist-1.0.dist-info/RECORD,,\n")
    return pkg


def test_installed_source_accepts_the_released_files_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = _fake_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(tp.INSTALLED, "fakepkg", "fakedist")
    assert tp.installed_source("fakepkg") == pkg.resolve()
    (pkg / "extra.py").write_text("x = 1\n")  # a file the wheel did not ship
    with pytest.raises(tp.BenchError, match=r"extra.py is not part of fakedist 1.0's RECORD"):
        tp.installed_source("fakepkg")
    (pkg / "extra.py").unlink()
    (pkg / "__init__.py").write_text("def step(x):\n    return x + x\n")  # edited after installation
    with pytest.raises(tp.BenchError, match=r"__init__.py: missing or different from fakedist 1.0's RECORD"):
        tp.installed_source("fakepkg")
    monkeypatch.setitem(tp.INSTALLED, "fakepkg", "no-such-dist-here")
    with pytest.raises(tp.BenchError, match="no-such-dist-here distribution is not installed"):
        tp.installed_source("fakepkg")


def test_json_record_keeps_workloads_this_run_did_not_rerun(tmp_path: Path) -> None:
    path = tmp_path / "third_party.json"
    earlier = {"date": "2026-01-02", "command": "old command", "machine": {"cpu": "x"}, "versions": {},
               "fixes": {"per_rule": {"PYF101": 1}},
               "workloads": {"panda-gym": {"steps_per_run": 10, "variants": {}},
                             "pybullet-envs": {"steps_per_run": 5, "variants": {}}}}
    path.write_text(json.dumps(earlier))
    fixes = {"per_rule": {"PYF101": 2, "PYF302": 1}, "per_package": {"pybullet_envs": {"PYF101": 2},
                                                                     "stable_baselines3": {"PYF302": 1}},
             "fixes": ["pybullet_envs/a.py:3 PYF101", "pybullet_envs/b.py:4 PYF101", "stable_baselines3/c.py:5 PYF302"],
             "flagged_only": {}, "errors": []}
    record = tp.merge_record(path, ["pybullet-envs"], {"pybullet-envs": {"steps_per_run": 8, "variants": {}}},
                             fixes, ["--package", "pybullet-envs"])
    kept, new = record["workloads"]["panda-gym"], record["workloads"]["pybullet-envs"]
    assert kept["steps_per_run"] == 10 and kept["date"] == "2026-01-02" and kept["command"] == "old command"
    assert new["steps_per_run"] == 8 and new["command"].endswith("third_party.py --package pybullet-envs")
    assert new["fixes"]["per_rule"] == {"PYF101": 2} and new["fixes"]["per_package"] == {"pybullet_envs": {"PYF101": 2}}
    path.write_text("{not json")
    with pytest.raises(tp.BenchError, match=r"third_party\.json: cannot keep the earlier results"):
        tp.merge_record(path, ["pybullet-envs"], {"pybullet-envs": {}}, fixes, [])


def test_locomotion_child_steps_the_copy_reproducibly(tmp_path: Path) -> None:
    """The locomotion workload on a copy of the installed pybullet_envs, 3 steps per env, twice."""
    if importlib.util.find_spec("gym") is None or importlib.util.find_spec("pybullet_envs") is None:
        pytest.skip("gym and pybullet (with pybullet_envs) are not installed")
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tp.installed_source("pybullet_envs"), copy / "pybullet_envs",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); from pathlib import Path; import numpy as np;"
            "import third_party as tp; root = Path(sys.argv[2]);"
            "a, _, n, files = tp.child_locomotion(root, 3, 0); b, _, _, _ = tp.child_locomotion(root, 3, 0);"
            "print(json.dumps({'n': n, 'files': files, 'shapes': {k: list(v.shape) for k, v in a.items()},"
            "'same': all(np.array_equal(a[k], b[k]) for k in a)}))")
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "bench"), str(copy)], capture_output=True,
                          text=True, check=False, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(copy)},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["n"] == 3 * len(tp.LOCOMOTION_ENVS) and out["same"]
    assert all(str(copy.resolve()) in f for f in out["files"].values())
    assert sorted(out["files"]) == sorted(tp.LOCOMOTION_MODULES)
    assert out["shapes"]["AntBulletEnv/observation"] == [4, 28] and out["shapes"]["HopperBulletEnv/reward"] == [3]
