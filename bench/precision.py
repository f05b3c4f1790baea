"""Precision, useful rate and recall of pyfast on a judged set of public RL code nobody tuned on.

The judged sets live in ``bench/judged/<set>/`` as data (``heldout``: the measurement, repos read for
the first time after the rules were frozen; ``fresh`` and ``study``: repos earlier rounds read and tuned on):

- ``repos.tsv``: the repositories, each pinned to a commit, with its kind and its Python lines;
- ``findings.tsv``: every finding pyfast reported on those trees when they were judged, each read
  in context and labelled TP (a real slow pattern in code that runs often), LOWVALUE (a real
  pattern in code that runs once per run or per episode) or FP (wrong: not slow, wrong kind,
  unsafe advice, wrong heat), with a one-line reason;
- ``recall.tsv``: every slow pattern of the rule families found by reading clearly hot functions,
  flagged or not (family ``NEW``: slow patterns outside the families, not counted in recall).

The trees themselves are not in the repository. They are unpacked Python sources, one folder per
repository, named ``<owner>+<name>-<first 12 hex digits of the commit>``, in ``$PYFAST_JUDGED``
(default ``~/.cache/pyfast-judged``); ``--fetch-help`` prints how to rebuild them.

This script lints each tree with the pyfast of the checkout it lives in (through flake8, the way
users run it, or in-process with ``--in-process``), joins the findings with ``findings.tsv`` on
(repo, path, line, rule) and prints, per rule and overall: TP, LOWVALUE, FP, precision
TP / (TP + FP), useful TP / all, and recall (``recall.tsv`` entries of the rule's family that the
rule flags at that line / all entries of the family). It lists findings with no judgment yet and
judgments whose finding is no longer reported.

Exit status: 0; 1 when a finding has no judgment (``--allow-unjudged`` only warns: judge them
before you trust a number); 2 when the cache is missing or a tree differs from the judged one.
CI does not run this script: it needs the cache.

    python bench/precision.py [--set heldout|fresh|study] [--cache DIR] [--json] [--allow-unjudged] [--in-process]
    python bench/precision.py --fetch-help
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JUDGED = Path(__file__).resolve().parent / "judged"
#: the judged sets: ``heldout`` is the measurement (repos first read on 2026-12-01, the rules frozen at
#: the commit named in docs/judged.md); ``fresh`` was the measurement of the round before and has been
#: read and tuned on since, like ``study`` (both kept so that nothing true there is lost)
SETS = ("heldout", "fresh", "study")
LABELS = ("TP", "LOWVALUE", "FP")
FLAKE8_FORMAT = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"

#: (repo, path, line, rule): the join key of a finding and its judgment
Key = tuple[str, str, int, str]


@dataclass(frozen=True)
class Repo:
    name: str  # owner/name
    commit: str
    kind: str
    files: int
    lines: int

    @property
    def folder(self) -> str:
        return f"{self.name.replace('/', '+')}-{self.commit[:12]}"


@dataclass(frozen=True)
class Reported:
    repo: str
    path: str
    line: int
    col: int
    rule: str
    message: str

    @property
    def key(self) -> Key:
        return (self.repo, self.path, self.line, self.rule)


@dataclass(frozen=True)
class Judgment:
    repo: str
    commit: str
    path: str
    line: int
    rule: str
    label: str
    reason: str

    @property
    def key(self) -> Key:
        return (self.repo, self.path, self.line, self.rule)


@dataclass(frozen=True)
class Pattern:
    """A slow pattern found by reading a hot function (a row of recall.tsv)."""

    repo: str
    path: str
    function: str
    line: int
    family: str
    note: str

    @property
    def key(self) -> Key:
        return (self.repo, self.path, self.line, self.family)


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def load_repos(judged: Path) -> list[Repo]:
    rows = read_tsv(judged / "repos.tsv")
    return [Repo(r["repo"], r["commit"], r["kind"], int(r["files"]), int(r["lines"])) for r in rows]


def load_judgments(judged: Path) -> list[Judgment]:
    out = []
    for r in read_tsv(judged / "findings.tsv"):
        if r["label"] not in LABELS:
            raise SystemExit(f"findings.tsv: unknown label {r['label']!r} at {r['repo']} {r['path']}:{r['line']}")
        out.append(Judgment(r["repo"], r["commit"], r["path"], int(r["line"]), r["rule"], r["label"], r["reason"]))
    return out


def load_patterns(judged: Path) -> list[Pattern]:
    return [
        Pattern(r["repo"], r["path"], r["function"], int(r["line"]), r["family"], r["note"])
        for r in read_tsv(judged / "recall.tsv")
    ]


def fetch_help(repos: Iterable[Repo], cache: Path) -> str:
    lines = [
        f"Rebuild the judged trees under {cache} (only the Python files are needed):",
        "",
        f"  mkdir -p {cache}",
    ]
    for repo in repos:
        lines += [
            f"  git clone --filter=blob:none https://github.com/{repo.name}.git /tmp/src-{repo.folder}",
            f"  mkdir -p {cache}/{repo.folder}",
            f"  git -C /tmp/src-{repo.folder} archive {repo.commit} -- '*.py' | tar -x -C {cache}/{repo.folder}",
        ]
    lines += [
        "",
        "Any mirror holding the commit will do: `git archive <commit> -- '*.py' | tar -x` into",
        "`<owner>+<name>-<commit[:12]>`. The script checks each tree's count of .py files and lines.",
    ]
    return "\n".join(lines)


def python_files(tree: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath) / name


def tree_size(tree: Path) -> tuple[int, int]:
    files = lines = 0
    for path in python_files(tree):
        files += 1
        lines += path.read_bytes().count(b"\n")
    return files, lines


def check_cache(repos: list[Repo], cache: Path) -> list[str]:
    """Problems that make the numbers meaningless (missing or different trees)."""
    if not cache.is_dir():
        return [f"the cache folder {cache} does not exist"]
    problems = []
    for repo in repos:
        tree = cache / repo.folder
        if not tree.is_dir():
            problems.append(f"{repo.name}: {tree} is missing")
            continue
        size = tree_size(tree)
        if size != (repo.files, repo.lines):
            problems.append(
                f"{repo.name}: {tree} has {size[0]} .py files / {size[1]} lines, "
                f"the judged tree had {repo.files} / {repo.lines}"
            )
    return problems


def pyfast_env() -> dict[str, str]:
    """The environment in which flake8 imports this checkout's pyfast, not another installed one."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def lint_flake8(repo: Repo, tree: Path, extra: list[str]) -> list[Reported]:
    cmd = [sys.executable, "-m", "flake8", "--isolated", "--select", "PYF", f"--format={FLAKE8_FORMAT}", *extra, "."]
    proc = subprocess.run(cmd, cwd=tree, env=pyfast_env(), capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"flake8 failed on {tree} (exit {proc.returncode}):\n{proc.stderr}")
    out = []
    for row in proc.stdout.splitlines():
        path, line, col, code, message = row.split("\t", 4)
        path = path.removeprefix("./").replace(os.sep, "/")
        out.append(Reported(repo.name, path, int(line), int(col) - 1, code, message))
    return out


def lint_in_process(repo: Repo, tree: Path) -> list[Reported]:
    from flake8_pyfast.checker import lint_source

    out: list[Reported] = []
    for path in python_files(tree):
        source = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(tree).as_posix()
        try:
            found = lint_source(source, filename=str(path))
        except SyntaxError:
            continue  # flake8 reports E999 there, not a PYF finding
        out.extend(Reported(repo.name, rel, f.line, f.col, f.code, f.message) for f in found)
    return out


def join(
    reported: list[Reported], judgments: list[Judgment]
) -> tuple[list[tuple[Reported, Judgment]], list[Reported], list[Judgment]]:
    """Pair findings with judgments on their key; several on one key pair up in column order."""
    by_key: dict[Key, list[Judgment]] = defaultdict(list)
    for j in judgments:
        by_key[j.key].append(j)
    pairs, unjudged = [], []
    for r in sorted(reported, key=lambda r: (r.key, r.col)):
        waiting = by_key.get(r.key)
        if waiting:
            pairs.append((r, waiting.pop(0)))
        else:
            unjudged.append(r)
    stale = [j for js in by_key.values() for j in js]
    return pairs, unjudged, stale


def ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def table(
    pairs: list[tuple[Reported, Judgment]], reported: list[Reported], patterns: list[Pattern]
) -> dict[str, dict[str, float | int | None]]:
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for r, j in pairs:
        labels[r.rule][j.label] += 1
    flagged_at = Counter(r.key for r in reported)
    wanted = Counter(p.key for p in patterns if p.family != "NEW")
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for key, n in wanted.items():
        total[key[3]] += n
        found[key[3]] += min(n, flagged_at[key])
    rows: dict[str, dict[str, float | int | None]] = {}
    for rule in sorted(set(labels) | set(total)):
        rows[rule] = row(labels[rule], found[rule], total[rule])
    rows["overall"] = row(sum(labels.values(), Counter()), sum(found.values()), sum(total.values()))
    return rows


def row(labels: Counter[str], found: int, total: int) -> dict[str, float | int | None]:
    tp, low, fp = (labels[k] for k in LABELS)
    return {
        "TP": tp,
        "LOWVALUE": low,
        "FP": fp,
        "precision": ratio(tp, tp + fp),
        "useful": ratio(tp, tp + low + fp),
        "recall_found": found,
        "recall_total": total,
        "recall": ratio(found, total),
    }


def fmt(value: float | int | None) -> str:
    return "-" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def print_report(
    rows: dict[str, dict[str, float | int | None]],
    unjudged: list[Reported],
    stale: list[Judgment],
    new_patterns: int,
    pyfast: str,
) -> None:
    print(f"pyfast from {pyfast}")
    print(f"| {'rule':8} | {'TP':>4} | {'LOW':>4} | {'FP':>4} | precision | useful | recall          |")
    print(f"|{'-' * 10}|{'-' * 6}|{'-' * 6}|{'-' * 6}|{'-' * 11}|{'-' * 8}|{'-' * 17}|")
    for rule, v in rows.items():
        rec = f"{fmt(v['recall'])} ({v['recall_found']}/{v['recall_total']})" if v["recall_total"] else "-"
        print(
            f"| {rule:8} | {v['TP']:>4} | {v['LOWVALUE']:>4} | {v['FP']:>4} | {fmt(v['precision']):>9} "
            f"| {fmt(v['useful']):>6} | {rec:15} |"
        )
    print(f"slow patterns outside the families (NEW, not in recall): {new_patterns}")
    if unjudged:
        print(f"\n{len(unjudged)} finding(s) with no judgment yet (add them to bench/judged/findings.tsv):")
        for r in unjudged:
            print(f"  {r.repo} {r.path}:{r.line}:{r.col + 1} {r.rule} {r.message}")
    if stale:
        print(f"\n{len(stale)} judged finding(s) no longer reported:")
        for j in stale:
            print(f"  {j.repo} {j.path}:{j.line} {j.rule} [{j.label}] {j.reason}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--cache", type=Path, help="folder of the judged trees (default: $PYFAST_JUDGED or ~/.cache/pyfast-judged)"
    )
    ap.add_argument("--set", choices=SETS, default="heldout", help="judged set under bench/judged/")
    ap.add_argument("--judged", type=Path, help="folder of repos.tsv, findings.tsv, recall.tsv (overrides --set)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--allow-unjudged", action="store_true", help="warn about unjudged findings instead of failing")
    ap.add_argument("--in-process", action="store_true", help="lint with flake8_pyfast.checker.lint_source, not flake8")
    ap.add_argument("--flake8-arg", action="append", default=[], help="extra flake8 argument (repeatable)")
    ap.add_argument("--fetch-help", action="store_true", help="print how to rebuild the cache and exit")
    ap.add_argument("--missed", action="store_true", help="also list the recall entries no finding covers")
    args = ap.parse_args()

    cache = args.cache or Path(os.environ.get("PYFAST_JUDGED", Path.home() / ".cache" / "pyfast-judged"))
    if args.judged is None:
        args.judged = JUDGED / args.set
    repos = load_repos(args.judged)
    if args.fetch_help:
        print(fetch_help(repos, cache))
        return 0
    problems = check_cache(repos, cache)
    if problems:
        print("the judged trees are not usable:", *problems, sep="\n  ", file=sys.stderr)
        print("run `python bench/precision.py --fetch-help` for how to rebuild them", file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))
    import flake8_pyfast

    pyfast = str(Path(flake8_pyfast.__file__).parent)
    reported: list[Reported] = []
    for repo in repos:
        tree = cache / repo.folder
        reported += lint_in_process(repo, tree) if args.in_process else lint_flake8(repo, tree, args.flake8_arg)
    judgments = load_judgments(args.judged)
    commits = {r.name: r.commit for r in repos}
    wrong = [j for j in judgments if commits.get(j.repo) != j.commit]
    if wrong:
        raise SystemExit(f"findings.tsv: {len(wrong)} judgment(s) of a repo/commit not in repos.tsv, e.g. {wrong[0]}")
    patterns = load_patterns(args.judged)
    pairs, unjudged, stale = join(reported, judgments)
    rows = table(pairs, reported, patterns)
    new_patterns = sum(p.family == "NEW" for p in patterns)
    if args.json:
        doc = {
            "pyfast": pyfast,
            "repos": [r.__dict__ for r in repos],
            "rules": rows,
            "new_patterns": new_patterns,
            "unjudged": [r.__dict__ for r in unjudged],
            "no_longer_reported": [j.__dict__ for j in stale],
        }
        print(json.dumps(doc, indent=2))
    else:
        print_report(rows, unjudged, stale, new_patterns, pyfast)
    if args.missed:
        flagged = Counter(r.key for r in reported)
        print("\nslow patterns in hot functions that no finding covers:")
        for p in patterns:
            if p.family != "NEW" and not flagged[p.key]:
                print(f"  {p.family} {p.repo} {p.path}:{p.line} {p.function}: {p.note}")
    if unjudged and not args.allow_unjudged:
        print(f"\n{len(unjudged)} unjudged finding(s): judge them before trusting the numbers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
