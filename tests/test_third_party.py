"""bench/third_party.py's logic on a tiny fake package: hand fixes, trace comparison, shadowing, summaries.

No network and no timing: the real packages and the measured numbers are the bench's business.
"""

from __future__ import annotations

import importlib.util
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
