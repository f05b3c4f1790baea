"""Every speed factor a rule quotes comes from the recorded run of ``bench/pattern_speed.py``."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from flake8_pyfast.checker import lint_source
from flake8_pyfast.rule import SPEEDUPS_RECORDED, Speedup
from flake8_pyfast.rules import all_rules

ROOT = Path(__file__).resolve().parent.parent
RECORD = json.loads((ROOT / "bench" / "results" / "pattern_speed.json").read_text(encoding="utf-8"))
RULES = all_rules()
#: a speed factor as text: "23x", "1.58x", the "5.0x" of "4.2-5.0x"; not "3x3", "0x1f" or "max"
FACTOR = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)x\b")


def _bench_module():
    spec = importlib.util.spec_from_file_location("pattern_speed", ROOT / "bench" / "pattern_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)  # the module itself imports only the standard library
    return module


def _quoted_texts(rule) -> list[str]:
    """The rendered documentation and the messages of every bad example's findings."""
    messages = [f.message for ex in rule.bad for f in lint_source(ex.code) if f.code == rule.code]
    assert messages, f"{rule.code}: its bad examples produce no finding"
    return [type(rule).documentation(), *messages]


def test_the_record_says_when_where_and_how():
    assert RECORD["date"] == SPEEDUPS_RECORDED, "the constants come from another run than the record"
    for field in ("cpu", "cores", "python", "numpy", "torch"):
        assert RECORD["machine"][field], field
    assert RECORD["rounds"] >= 15, "the record is a full run, not --quick"
    for code, pairs in RECORD["pairs"].items():
        for key, r in pairs.items():
            assert r["min"] <= r["low"] <= r["median"] <= r["high"] <= r["max"], (code, key)


def test_the_record_covers_exactly_the_bench_pairs():
    pairs = {(p.code, p.key) for p in _bench_module().PAIRS}
    recorded = {(code, key) for code, ps in RECORD["pairs"].items() for key in ps}
    assert pairs == recorded, "bench/pattern_speed.py changed since the recorded run: re-run it with --json"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_constants_match_the_recorded_run(rule):
    recorded = RECORD["pairs"].get(rule.code, {})
    assert rule.speedups, f"{rule.code} quotes no measured factor"
    assert set(rule.speedups) == set(recorded)
    for key, speedup in rule.speedups.items():
        r = recorded[key]
        assert (speedup.low, speedup.high) == (r["low"], r["high"]), f"{rule.code} {key}"
        assert r["low"] <= speedup.median <= r["high"], f"{rule.code} {key}: median outside the recorded IQR"
        assert speedup.median == pytest.approx(r["median"], rel=0.05), f"{rule.code} {key}"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_every_quoted_factor_comes_from_a_constant(rule, monkeypatch):
    """With every constant replaced by a sentinel, the only factors left in the text are the sentinel's:
    a factor typed into a message or a doc would survive the swap."""
    sentinel = Speedup(777.0, 666.0, 888.0)
    monkeypatch.setattr(type(rule), "speedups", dict.fromkeys(rule.speedups, sentinel))
    for text in _quoted_texts(rule):
        stray = [m.group(0) for m in FACTOR.finditer(text) if float(m.group(1)) not in (666, 777, 888)]
        assert not stray, f"{rule.code}: hard-coded factor(s) {stray} in: {text[:300]}"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_every_constant_is_quoted_and_no_slowdown_is_called_a_gain(rule):
    texts = _quoted_texts(rule)
    doc = texts[0]
    for key, speedup in rule.speedups.items():
        assert speedup.describe() in doc, f"{rule.code}: the measured {key} is not in its documentation"
    for text in texts:
        for m in FACTOR.finditer(text):
            if float(m.group(1)) < 1:
                assert not text[m.end():].startswith(" faster"), f"{rule.code}: {text}"


def test_a_factor_is_worded_by_what_was_measured():
    assert Speedup(4.59, 4.32, 4.78).claim == "4.6x faster"
    assert Speedup(37.9, 34.8, 40.6).describe() == "38x faster (IQR 35-41x)"
    assert Speedup(0.826, 0.769, 0.871).claim == "slower (0.83x)"
    assert Speedup(0.826, 0.769, 0.871).describe() == "0.83x, i.e. slower (IQR 0.77-0.87x)"
    assert Speedup(1.06, 1.0, 1.15).claim == "no clear gain (1.06x)"
    assert Speedup(0.97, 0.9, 1.02).describe() == "0.97x, no clear gain (IQR 0.90-1.02x)"


def test_the_harness_report_quotes_the_recorded_run():
    pytest.importorskip("numpy")
    from runtime_check.report import recorded_factors

    text = recorded_factors(["PYF205", "PYF301"])
    assert "bench/pattern_speed.py" in text and RECORD["date"] in text
    for code in ("PYF205", "PYF301"):
        rule = next(r for r in RULES if r.code == code)
        for speedup in rule.speedups.values():
            assert speedup.claim in text


def test_the_benchmarks_page_shows_the_recorded_run():
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert _bench_module().table(RECORD) in page, "docs/benchmarks.md's pattern table is not the recorded run"
    assert RECORD["date"] in page
