"""Each rule's own examples, linted in-process: exact codes at exact lines."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from flake8_pyfast.checker import lint_source
from flake8_pyfast.rule import EQUIVALENCE_MODES, HARNESS_PHASES
from flake8_pyfast.rules import all_rules

RULES = all_rules()


def test_example_reports_exactly_what_it_expects(case):
    found = sorted((f.line, f.code) for f in lint_source(case.example.code))
    assert found == sorted(case.example.expect)
    if case.kind == "good":
        assert case.code not in {code for _, code in found}
    else:
        assert case.code in {code for _, code in found}


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_is_complete(rule):
    assert re.fullmatch(r"PYF\d{3}", rule.code)
    module = Path(__import__(type(rule).__module__, fromlist=["x"]).__file__)
    assert module.name.startswith(rule.code.lower() + "_"), "one rule, one module named after its code"
    for field in ("name", "summary", "what", "why", "example", "use_instead", "fix_safety", "when_wrong"):
        assert getattr(rule, field).strip(), f"{rule.code} has no {field}"
    for snippet in (rule.example, rule.use_instead):
        ast.parse(snippet)  # the documentation's code must at least parse
    # the documented example shows the finding; what the documentation recommends instead shows none
    assert rule.code in {f.code for f in lint_source(rule.example)}, f"{rule.code}'s documented example is silent"
    assert [f.code for f in lint_source(rule.use_instead)] == [], f"{rule.code}'s `use_instead` is reported"
    # pyfast-check's metadata lives on the rule: a new rule without it fails here, not in CI with torch
    assert rule.harness_phase in HARNESS_PHASES, f"{rule.code}: harness_phase"
    assert rule.equivalence, f"{rule.code}: equivalence"
    assert set(rule.equivalence) <= set(EQUIVALENCE_MODES), f"{rule.code}: equivalence {rule.equivalence}"
    assert list(rule.equivalence) == sorted(rule.equivalence, key=EQUIVALENCE_MODES.index), "strictest first"
    assert rule.bad, "a rule needs examples it must report"
    assert rule.good, "a rule needs tricky negative examples"
    assert rule.fixable in ("no", "safe", "unsafe", "sometimes")
    if rule.fixable == "no":
        assert all(ex.fixed is None for ex in rule.bad)
    else:
        assert any(ex.fixed is not None for ex in rule.bad), "a fixable rule shows its fix"
    if rule.fixable == "unsafe":
        assert all(ex.unsafe for ex in rule.bad if ex.fixed is not None)


def test_codes_are_unique_and_sorted():
    codes = [r.code for r in RULES]
    assert codes == sorted(set(codes))
    assert len(codes) >= 12


def test_documentation_is_generated_and_current():
    from flake8_pyfast.docs import render_rules

    path = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    assert path.read_text(encoding="utf-8") == render_rules(), (
        "docs/rules.md is stale: run `python -m flake8_pyfast.docs`"
    )


def test_legacy_constructor_advice_promises_no_shared_memory_it_cannot_give() -> None:
    # `torch.FloatTensor(int64 array)` must cast: the tensor cannot share the array's memory; the gain
    # is leaving the legacy constructor. `torch.tensor(float32 array)` can share it.
    source = textwrap.dedent("""\
        import numpy as np
        import torch


        def act(env, steps):
            for _ in range(steps):
                idx = np.random.randint(0, 4, size=8)
                legacy = torch.FloatTensor(idx)
                frame = np.zeros(8, dtype=np.float32)
                shared = torch.tensor(frame)
                env.step(legacy, shared)
    """)
    found = {f.line: f.message for f in lint_source(source) if f.code == "PYF206"}
    assert set(found) == {8, 10}
    assert "legacy constructor's slow generic path" in found[8] and "torch.from_numpy(a).float()" in found[8]
    assert "shares its memory (" not in found[8]
    assert "`torch.from_numpy()` shares its memory" in found[10]
