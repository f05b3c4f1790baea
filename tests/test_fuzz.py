"""Generated programs (CI-sized; `python bench/fuzz.py --n 2000` for a long run)."""

from __future__ import annotations

import random

import hypothesmith
import pytest
from fuzzing import PRELUDE, check_program, examples, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = examples()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(hypothesmith.from_grammar())
def test_grammar_programs_never_break_the_linter_or_the_fixer(src):
    problem = check_program(PRELUDE + src)
    assert problem is None, problem


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.sampled_from(EXAMPLES), st.integers(min_value=1, max_value=4), st.integers(min_value=0, max_value=2**32))
def test_mutated_rule_examples_never_break_the_linter_or_the_fixer(src, steps, seed):
    mutated = mutate(src, random.Random(seed), steps)
    problem = check_program(mutated)
    assert problem is None, f"{problem}\n--- program ---\n{mutated}"


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_each_example_nested_everywhere(index):
    rng = random.Random(index)
    src = EXAMPLES[index]
    for mutator_steps in (1, 2, 3):
        assert check_program(mutate(src, rng, mutator_steps)) is None
