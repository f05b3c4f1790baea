"""Shared fixtures: every rule example becomes a test case (see test_rule_examples.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flake8_pyfast.model import Example  # noqa: E402
from flake8_pyfast.rules import all_rules  # noqa: E402


@dataclass(frozen=True)
class Case:
    code: str  # the rule's code
    kind: str  # "bad" or "good"
    index: int
    example: Example

    @property
    def id(self) -> str:
        return f"{self.code}-{self.kind}{self.index}"


def all_cases() -> list[Case]:
    cases = []
    for rule in all_rules():
        for kind, examples in (("bad", rule.bad), ("good", rule.good)):
            for i, ex in enumerate(examples):
                cases.append(Case(rule.code, kind, i, ex))
    return cases


CASES = all_cases()


#: test modules that need torch / pybullet (they skip without them); ``-m "not harness"`` leaves them out
HARNESS_MODULES = ("test_harness.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in HARNESS_MODULES:
            item.add_marker(pytest.mark.harness)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c.id for c in CASES])
    if "fix_case" in metafunc.fixturenames:
        fixable = [c for c in CASES if c.example.fixed is not None]
        metafunc.parametrize("fix_case", fixable, ids=[c.id for c in fixable])
    if "run_case" in metafunc.fixturenames:
        runnable = [c for c in CASES if c.example.fixed is not None and c.example.run and not c.example.unsafe]
        metafunc.parametrize("run_case", runnable, ids=[c.id for c in runnable])
