"""Is linting and fixing linear in file size? 10,000 vs 100,000 generated lines.

A module is generated from functions written like RL code (NumPy on floats in a loop, a
PyBullet-style reward, out-of-place tensor updates), repeated to the requested size. The
plugin's own time (what flake8 hands it: a parsed tree) and ``pyfast-fix --diff`` are timed,
median of several runs; the ratio between the sizes should be close to 10.

    python bench/scaling.py [--runs 5]
"""

from __future__ import annotations

import argparse
import ast
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCK = '''

def step_{i}(self, action):
    x = float(action[0])
    total = 0.0
    for t in range(10):
        total += np.sqrt(abs(x)) + np.clip(x, -1.0, 1.0)
        obs = np.array([x, total, float(t)])
    buf = torch.zeros(8)
    for t in range(4):
        buf = buf * 0.5
    return total, obs, np.abs(x) < 1.0
'''


def generate(lines: int) -> str:
    header = "import numpy as np\nimport torch\n"
    per_block = BLOCK.count("\n")
    return header + "".join(BLOCK.format(i=i) for i in range(max(1, (lines - 2) // per_block)))


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    from flake8_pyfast.checker import lint_tree

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (10_000, 100_000):
            src = generate(size)
            path = Path(tmp) / f"gen_{size}.py"
            path.write_text(src)
            lines = src.splitlines(keepends=True)

            def lint(src: str = src, lines: list[str] = lines) -> None:
                lint_tree(ast.parse(src), lines)

            def parse_only(src: str = src) -> None:
                ast.parse(src)

            def fix(path: Path = path) -> None:
                subprocess.run([sys.executable, "-m", "autofix.cli", "--diff", "--isolated", "-j", "1", str(path)],
                               capture_output=True, check=False)

            plugin = median_time(lint, args.runs) - median_time(parse_only, args.runs)
            results[size] = (len(lines), plugin, median_time(fix, max(1, args.runs // 2)))
    print(f"{'lines':>8s} {'plugin (s)':>11s} {'pyfast-fix --diff (s)':>22s}")
    for n, plugin, fix_t in results.values():
        print(f"{n:8d} {plugin:11.3f} {fix_t:22.3f}")
    small, big = results[10_000], results[100_000]
    print(f"ratio 100k/10k: plugin {big[1] / small[1]:.1f}x, fixer {big[2] / small[2]:.1f}x (linear: ~10x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
