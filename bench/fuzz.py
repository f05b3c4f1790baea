"""Long fuzz run: ``python bench/fuzz.py --n 2000`` (the test suite runs a CI-sized version).

Half the programs come from hypothesmith's grammar (numpy/torch imports put in front), half are
mutations of the rules' own examples. For each: the linter must not raise, the fixer's output
must parse, and a second fix run must change nothing. Hypothesis shrinks the first failure it
finds to a small program, which is printed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fuzzing import PRELUDE, check_program, examples, mutate

COUNTS = {"grammar": 0, "mutations": 0, "skipped (not valid Python)": 0}


def main() -> int:
    import ast
    import warnings

    warnings.simplefilter("ignore", SyntaxWarning)  # generated code says odd things like 1()

    import hypothesmith
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="programs to check (half of each kind)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    half = max(1, args.n // 2)
    pool = examples()

    def counted(kind: str, src: str) -> str | None:
        try:
            ast.parse(src)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            COUNTS["skipped (not valid Python)"] += 1
            return None
        COUNTS[kind] += 1
        return check_program(src)

    @settings(max_examples=half, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(hypothesmith.from_grammar())
    def grammar(src: str) -> None:
        problem = counted("grammar", PRELUDE + src)
        assert problem is None, problem

    @settings(max_examples=half, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(pool), st.integers(1, 5), st.integers(0, 2**32))
    def mutations(src: str, steps: int, seed: int) -> None:
        mutated = mutate(src, random.Random(seed ^ args.seed), steps)
        problem = counted("mutations", mutated)
        assert problem is None, f"{problem}\n--- program ---\n{mutated}"

    start = time.perf_counter()
    failed = False
    for prop in (grammar, mutations):
        try:
            prop()
        except AssertionError as exc:
            failed = True
            print(f"FAILURE in {prop.__name__}:\n{exc}")
    total = COUNTS["grammar"] + COUNTS["mutations"]
    print(f"programs checked: {total} ({COUNTS['grammar']} from the grammar, {COUNTS['mutations']} mutated "
          f"examples; {COUNTS['skipped (not valid Python)']} generated programs skipped as invalid), "
          f"{time.perf_counter() - start:.0f} s")
    ok = "OK: the linter never raised, every fixed program parses, second runs changed nothing"
    print("FAILED" if failed else ok)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
