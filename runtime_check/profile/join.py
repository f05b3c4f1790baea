"""The profile meets the linter: what to watch in a run, ``.pyfast/profile.json``, findings by cost.

Before the run, :func:`prepare` lints the user's files the way a profile needs (every rule as if
all code were hot, see :func:`flake8_pyfast.checker.collect_sites`) and lists the expressions the
observer (:mod:`.observe`) should instrument: one per place a rule would report (its evaluation
count says how hot the place is) and each expression a rule asked the kind of and got no answer
(what it held says whether the rule applies).

After the run, :func:`write_profile` stores what the sampler and the observer measured, per file and
keyed by the file's content, in ``.pyfast/profile.json`` (the folder ignores itself, like
``.pytest_cache``); :func:`analyse` lints the files again *with* it (measured kinds and heat, see
:mod:`flake8_pyfast.analysis.measured`) and ranks the findings by the seconds their lines took.
"""

from __future__ import annotations

import ast
import datetime
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flake8_pyfast.analysis.astutil import is_value
from flake8_pyfast.analysis.measured import (
    PROFILE_PATH,
    PROFILE_VERSION,
    Position,
    measure_for,
    position,
    site_key,
    text_sha256,
)
from flake8_pyfast.analysis.settings import Settings
from flake8_pyfast.checker import collect_sites, is_relevant, lint_tree
from flake8_pyfast.config import ConfigError, table_for
from flake8_pyfast.model import Finding
from runtime_check.profile.model import write_text_atomic

#: more instrumented expressions than this in one file and the rest are left out (cost bound)
MAX_SITES_PER_FILE = 400
_FACTOR = re.compile(r"(\d+(?:\.\d+)?)x faster")


@dataclass
class Prepared:
    """What :func:`prepare` found: the observer's payload and the files it looked at."""

    root: Path
    files: list[Path] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def user_files(root: Path, extra: Sequence[Path] = (), exclude: Sequence[str] = ()) -> list[Path]:
    """The Python files of the user's code under ``root`` (and the ``extra`` folders): the folders a
    fixer skips (virtual environments, build output, caches) are left out."""
    from autofix.files import discover

    seen: dict[Path, None] = {}
    for top in (root, *extra):
        for found in discover([str(top)], top, exclude):
            if not found.note:
                seen[Path(found.path).resolve()] = None
    return list(seen)


def _read(path: Path) -> str | None:
    from autofix.files import FileError, read_source

    try:
        return read_source(path).text
    except (FileError, OSError):
        return None


def _lintable(path: Path, errors: list[str] | None = None) -> tuple[str, ast.Module, Settings] | None:
    """``path``'s text, tree and settings when pyfast lints it with a profile: readable, mentioning
    NumPy/PyTorch/PyBullet, parsable, and ``[tool.pyfast] profile`` not off. A broken configuration
    is added to ``errors`` when given."""
    text = _read(path)
    if text is None or not is_relevant(text):
        return None
    try:
        tree = ast.parse(text, filename=str(path))
        settings = table_for(path).heat.settings()
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the program cannot import it either; nothing to observe
    except ConfigError as exc:
        if errors is not None:
            errors.append(str(exc))
        return None
    return (text, tree, settings) if settings.profile else None


def _expression_at(tree: ast.Module, found: Iterable[Finding]) -> list[Position]:
    """For each finding, the expression whose evaluations count how often its place runs: the node
    itself when it is an expression, else the statement's first expression on its first line."""
    wanted = {(f.line, f.col, f.end_line, f.end_col) for f in found}
    out: list[Position] = []
    for node in ast.walk(tree):
        pos = position(node)
        if pos is None or pos not in wanted:
            continue
        wanted.discard(pos)
        if is_value(node):
            out.append(pos)
            continue
        for sub in ast.walk(node):
            sp = position(sub)
            if sub is not node and sp is not None and sp[0] == pos[0] and is_value(sub):
                out.append(sp)
                break
    return out


def prepare(root: Path, extra: Sequence[Path] = (), exclude: Sequence[str] = ()) -> Prepared:
    """Lint the user's files under ``root`` for what a profiled run should observe."""
    prep = Prepared(root.resolve())
    sites: list[dict[str, Any]] = []
    for path in user_files(prep.root, extra, exclude):
        got = _lintable(path, prep.errors)
        if got is None:
            continue
        _text, tree, settings = got
        found, unknown = collect_sites(tree, settings, str(path))
        positions = list(dict.fromkeys([*_expression_at(tree, found), *unknown]))[:MAX_SITES_PER_FILE]
        if not positions:
            continue
        prep.files.append(path)
        for line, col, end_line, end_col in positions:
            sites.append({"id": len(sites), "path": str(path), "line": line, "col": col,
                          "end_line": end_line, "end_col": end_col})
    prep.payload = {"sites": sites, "max_records": 5}
    return prep


def relpath(path: str | Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (absolute when it lies outside)."""
    p = Path(path)
    p = p if p.is_absolute() else root / p
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return p.resolve().as_posix()


def write_profile(root: Path, command: Sequence[str], wall_seconds: float, lines: Iterable[Any],
                  payload: dict[str, Any] | None = None, observed: dict[str, Any] | None = None,
                  under: Iterable[Any] = ()) -> Path:
    """Store the run's measurements in ``root/.pyfast/profile.json`` (atomically) and return its path.

    ``lines``: the sampler's main-thread lines (objects with ``path``, ``line``, ``seconds``,
    ``native_seconds``; paths relative to ``root`` or absolute); ``payload``/``observed``: what
    :func:`prepare` asked the observer to watch and what it saw (``observe.Observer.finish()``);
    ``under``: per outer line, the seconds it waited for a callee of the user's own. Each line is stored
    as ``[seconds, native_seconds, seconds_under]``."""
    root = root.resolve()
    files: dict[str, dict[str, Any]] = {}

    def entry(rel: str) -> dict[str, Any] | None:
        if rel not in files:
            text = _read(root / rel) if not os.path.isabs(rel) else None
            if text is None:
                return None
            files[rel] = {"sha256": text_sha256(text), "lines": {}, "sites": {}}
        return files[rel]

    for ls in lines:
        e = entry(relpath(ls.path, root))
        if e is not None:
            e["lines"][str(ls.line)] = [round(ls.seconds, 6), round(ls.native_seconds, 6), 0.0]
    for ls in under:
        e = entry(relpath(ls.path, root))
        if e is not None:
            e["lines"].setdefault(str(ls.line), [0.0, 0.0, 0.0])[2] = round(ls.seconds, 6)
    seen_sites = (observed or {}).get("sites", {})
    for site in (payload or {}).get("sites", []):
        got = seen_sites.get(str(site["id"]))
        if not isinstance(got, dict):
            continue
        e = entry(relpath(site["path"], root))
        if e is not None:
            e["sites"][site_key(site["line"], site["col"], site["end_line"], site["end_col"])] = {
                "count": int(got.get("count", 0)), "kinds": list(got.get("kinds", []))}
    data = {
        "version": PROFILE_VERSION,
        "root": str(root),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": list(command),
        "wall_seconds": wall_seconds,
        "files": files,
    }
    target = root / PROFILE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    ignore = target.parent / ".gitignore"
    if not ignore.exists():
        write_text_atomic(ignore, "# written by pyfast-check profile\n*\n")
    write_text_atomic(target, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return target


def factor(f: Finding) -> float | None:
    """The speed factor the finding's message quotes (from the rule's committed benchmark, for this
    shape of the pattern); ``None`` when it quotes none (a gain that needs a GPU, or none measured)."""
    m = _FACTOR.search(f.message)
    return float(m.group(1)) if m is not None else None


def estimated_saving(f: Finding) -> float | None:
    """Seconds the fix would save: the seconds on the finding's lines times ``1 - 1/factor``. An
    upper bound of sorts: the line may do more than the pattern (``None``: no factor quoted)."""
    x = factor(f)
    if x is None or f.seconds is None:
        return None
    return f.seconds * (1 - 1 / x) if x > 1 else 0.0


def analyse(root: Path, files: Iterable[Path | str], profile: Path | None = None) -> list[dict[str, Any]]:
    """Lint ``files`` with the profile (default ``root/.pyfast/profile.json``); the findings as the
    report's dictionaries (schema in ``docs/profile.md``), costliest first."""
    root = root.resolve()
    profile = profile or root / PROFILE_PATH
    out: list[dict[str, Any]] = []
    for path in files:
        p = Path(path)
        p = p if p.is_absolute() else root / p
        got = _lintable(p)
        if got is None:
            continue
        text, tree, settings = got
        measure = measure_for(str(p), text, profile)
        found = lint_tree(tree, text.splitlines(keepends=True), settings, path=str(p), measure=measure)
        rel = relpath(p, root)
        for f in found:
            saving = estimated_saving(f)
            out.append({
                "code": f.code, "path": rel, "line": f.line, "col": f.col + 1, "end_line": f.end_line,
                "message": f.message, "seconds": round(f.seconds or 0.0, 6), "share": round(f.share or 0.0, 6),
                "factor": factor(f), "estimated_saving_seconds": None if saving is None else round(saving, 6),
                "kind_source": f.kind_source, "fixable": f.fix is not None,
                "fix_safe": bool(f.fix is not None and f.fix.safe),
            })
    out.sort(key=lambda d: (-d["seconds"], d["path"], d["line"], d["code"]))
    return out


def covered(findings: Iterable[dict[str, Any]]) -> set[tuple[str, int]]:
    """The (path, line) pairs some finding spans: a hot line outside them is one no rule covers."""
    return {(f["path"], n) for f in findings for n in range(f["line"], f.get("end_line", f["line"]) + 1)}
