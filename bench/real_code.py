"""Real code, kept honest: lint and fix copies of real RL packages and check that nothing breaks.

For stable-baselines3 2.9.2, cleanrl 0.4.8 and panda-gym 3.0.7 (downloaded into a cache by
corpus.py, copied to a temporary folder, never into the repository):

1. ``flake8 --select PYF``: findings per rule, no crash;
2. ``pyfast-fix --unsafe-fixes`` on the copy: no crash (exit 0 or 1), fixes per rule;
3. every output file compiles; pyflakes reports nothing new (messages compared per file, line
   numbers ignored); 4. a second ``pyfast-fix --unsafe-fixes`` run changes no byte.

Exit code 1 if any check fails. If the package index cannot be reached and nothing is cached, it
says so and exits 0 (``--require`` makes that a failure).

    python bench/real_code.py [--require] [--keep DIR]
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import CorpusUnavailable, corpus, python_files


def pyflakes_messages(source: str, filename: str) -> Counter[tuple[str, tuple[object, ...]]]:
    from pyflakes.checker import Checker

    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError:
        return Counter({("SyntaxError", ()): 1})
    return Counter((type(m).__name__, tuple(map(str, m.message_args))) for m in Checker(tree, filename).messages)


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in python_files(root)}


def run(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return proc, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--require", action="store_true", help="fail if the corpus cannot be downloaded")
    ap.add_argument("--keep", type=Path, help="copy the fixed trees here for inspection")
    args = ap.parse_args()
    try:
        sources = corpus()
    except CorpusUnavailable as exc:
        print(f"SKIPPED: the real-code corpus is unavailable ({exc})")
        return 1 if args.require else 0
    failures: list[str] = []
    total_lint: Counter[str] = Counter()
    total_fix: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="pyfast-real-") as tmp:
        for spec, src_dir in sources.items():
            work = Path(tmp) / spec.replace("==", "-")
            shutil.copytree(src_dir, work)
            files = python_files(work)
            n_lines = sum(len(f.read_bytes().splitlines()) for f in files)
            before = snapshot(work)
            lint, t_lint = run([sys.executable, "-m", "flake8", "--isolated", "--select", "PYF",
                                "--format=%(code)s", str(work)])
            if lint.returncode not in (0, 1) or lint.stderr.strip():
                failures.append(f"{spec}: flake8 crashed: {lint.stderr[-500:]}")
            lint_counts = Counter(line.strip() for line in lint.stdout.splitlines() if line.strip())
            fix, t_fix = run([sys.executable, "-m", "autofix.cli", "--unsafe-fixes", "--isolated",
                              "--output-format", "json", str(work)])
            if fix.returncode not in (0, 1):
                failures.append(f"{spec}: pyfast-fix exit {fix.returncode}: {fix.stderr[-800:]}")
                continue
            report = json.loads(fix.stdout)
            fix_counts = Counter(f["code"] for f in report["fixes"])
            for err in report["errors"]:
                failures.append(f"{spec}: {err['path']}: {err['message']}")
            after = snapshot(work)
            changed = [p for p in after if after[p] != before[p]]
            for p in changed:
                text = after[p].decode("utf-8")
                try:
                    compile(text, str(p), "exec")
                except SyntaxError as exc:
                    failures.append(f"{p}: does not compile after fixing: {exc}")
                    continue
                new = pyflakes_messages(text, str(p)) - pyflakes_messages(before[p].decode("utf-8"), str(p))
                if new:
                    failures.append(f"{p}: new pyflakes messages: {dict(new)}")
            again, t_again = run([sys.executable, "-m", "autofix.cli", "--unsafe-fixes", "--isolated", str(work)])
            if snapshot(work) != after:
                failures.append(f"{spec}: the second pyfast-fix run changed files")
            if again.returncode not in (0, 1):
                failures.append(f"{spec}: second run exit {again.returncode}: {again.stderr[-500:]}")
            total_lint += lint_counts
            total_fix += fix_counts
            print(f"{spec}: {len(files)} files, {n_lines} lines")
            print(f"  lint  {t_lint:5.2f} s  findings: {dict(sorted(lint_counts.items()))}")
            print(f"  fix   {t_fix:5.2f} s  fixes: {dict(sorted(fix_counts.items()))}  files changed: {len(changed)}")
            print(f"  again {t_again:5.2f} s  (must change nothing)")
            if args.keep:
                shutil.copytree(work, args.keep / work.name, dirs_exist_ok=True)
    print(f"total findings: {sum(total_lint.values())} {dict(sorted(total_lint.items()))}")
    print(f"total fixes (--unsafe-fixes): {sum(total_fix.values())} {dict(sorted(total_fix.items()))}")
    if failures:
        print("FAILURES:")
        for f in failures:
            print(f"  {f}")
        return 1
    print("OK: no crash, every fixed file compiles, no new pyflakes message, second run changes nothing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
