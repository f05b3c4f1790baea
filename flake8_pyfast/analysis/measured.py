"""What a profiled run of the user's program measured about one file (``.pyfast/profile.json``).

``pyfast-check profile`` writes the file (see :mod:`runtime_check.profile.join`); the linter and the
fixer read it here, without NumPy, PyTorch or the profiler. For each file it holds the wall seconds
spent on each line and, for the expressions the analysis asked about, how many times each was
evaluated and what it held. A file whose content changed since the run is *stale*: its measurements
are ignored (one line on stderr says so) and the static analysis stands alone.

Measured facts refine the static ones, never the other way round:

* **kinds**: an expression the static analysis cannot type takes the kind it held in the run
  (only when every recorded value agrees on the kind);
* **heat**: a line whose instrumented expressions ran at least :data:`HOT_COUNT` times is hot
  ("ran 12,000 times in the profiled run"); one that ran, but fewer times, runs once per run (set-up)
  as far as the run can tell; a line the run never reached keeps its static heat;
* **cost**: the share of the run's wall time spent on a finding's lines ends its message: the lines'
  own time (with the library and C code they called), plus, for a rule whose fix speeds up the whole
  call (``Rule.cost_includes_callees``: a forward pass run without a graph), the time the lines waited
  for the user's own functions they called. Each line is stored as ``[seconds, native, under]``.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flake8_pyfast.analysis.kinds import (
    NDARRAY,
    NONE_KIND,
    SCALAR,
    SEQUENCE,
    STR_KIND,
    TENSOR,
    UNKNOWN,
    Kind,
    join_all,
)

#: where the profile lives, relative to the folder the program was profiled from
PROFILE_PATH = os.path.join(".pyfast", "profile.json")
PROFILE_VERSION = 1
#: a line evaluated at least this many times in the profiled run is hot; fewer (but at least
#: once) and it ran like set-up code
HOT_COUNT = 20

Position = tuple[int, int, int, int]  # line, col, end_line, end_col (ast's, UTF-8 byte columns)


def site_key(line: int, col: int, end_line: int, end_col: int) -> str:
    """How a position is written in the profile's ``sites`` table."""
    return f"{line}:{col}:{end_line}:{end_col}"


def position(node: ast.AST) -> Position | None:
    line = getattr(node, "lineno", None)
    end = getattr(node, "end_lineno", None)
    if line is None or end is None:
        return None
    return (line, node.col_offset, end, node.end_col_offset or 0)  # type: ignore[attr-defined]


_SCALARS = {"float": "float", "int": "int", "bool": "bool"}


def kind_of_descriptor(d: Any, depth: int = 0) -> Kind:
    """The :class:`Kind` of one recorded value (see ``runtime_check.profile.observe``)."""
    if not isinstance(d, dict):
        return UNKNOWN
    t = d.get("type")
    shape = d.get("shape")
    ndim = len(shape) if isinstance(shape, list) else None
    dtype = d.get("dtype") if isinstance(d.get("dtype"), str) else None
    if t == "tensor":
        return Kind(TENSOR, dtype, ndim=ndim)
    if t == "ndarray":
        return Kind(NDARRAY, dtype, ndim=ndim)
    if t == "numpy_scalar" and dtype:
        return Kind(SCALAR, "np." + dtype.removeprefix("np."))
    if t in _SCALARS:
        return Kind(SCALAR, _SCALARS[t])
    if t in ("list", "tuple"):
        items = d.get("items")
        elts = None
        if isinstance(items, list) and depth < 2 and len(items) == d.get("len"):
            elts = tuple(kind_of_descriptor(i, depth + 1) for i in items)
        return Kind(SEQUENCE, elts=elts)
    if t == "none":
        return NONE_KIND
    if t == "str":
        return STR_KIND
    return UNKNOWN


@dataclass
class FileMeasure:
    """One file's measurements (its content matched the profile's)."""

    #: the profile file it came from, relative name of this file in it
    profile: Path
    relpath: str
    wall_seconds: float
    #: seconds per line (main thread), the line's own (with the library and C code it called)
    line_seconds: dict[int, float] = field(default_factory=dict)
    #: seconds an outer line waited for a callee in the user's own code (a call line's cost with its
    #: callees is ``line_seconds`` plus this)
    line_under: dict[int, float] = field(default_factory=dict)
    #: kind and evaluation count per instrumented expression
    kinds: dict[Position, Kind] = field(default_factory=dict)
    counts: dict[Position, int] = field(default_factory=dict)
    use_kinds: bool = True
    _line_counts: dict[int, int] | None = None

    def kind_at(self, node: ast.AST) -> Kind | None:
        """What ``node`` held in the run, when it was recorded and every value agreed."""
        if not self.use_kinds:
            return None
        pos = position(node)
        k = self.kinds.get(pos) if pos is not None else None
        return k if k is not None and k.known else None

    def count_on_line(self, line: int) -> int | None:
        """How many times the most-run instrumented expression starting on ``line`` ran (``None``:
        nothing there was instrumented)."""
        if self._line_counts is None:
            by_line: dict[int, int] = {}
            for (ln, _c, _el, _ec), n in self.counts.items():
                by_line[ln] = max(n, by_line.get(ln, 0))
            self._line_counts = by_line
        return self._line_counts.get(line)

    def seconds(self, line: int, end_line: int, callees: bool = False) -> float:
        """The seconds on those lines; ``callees``: with the time in the user's own functions they called
        (the lines of one statement are never on the stack at once in one frame, so the sum holds)."""
        span = range(line, end_line + 1)
        own = sum(self.line_seconds.get(n, 0.0) for n in span)
        return own + sum(self.line_under.get(n, 0.0) for n in span) if callees else own

    def share(self, seconds: float) -> float:
        """``seconds`` as a share of the run's wall time."""
        return seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @staticmethod
    def cost(share: float) -> str:
        """``"3.4% of the profiled run"`` for a share of the run's wall time."""
        if share < 0.001:
            return "<0.1% of the profiled run"
        return f"{share:.1%} of the profiled run"


class ProfileError(ValueError):
    """The profile file cannot be used; the message names it and says why."""


@dataclass
class _Loaded:
    root: Path
    wall_seconds: float
    files: dict[str, Any]


_CACHE: dict[Path, tuple[tuple[int, int], _Loaded | ProfileError]] = {}
_FOUND: dict[str, Path | None] = {}
_WARNED: set[tuple[Path, str]] = set()


def find_profile(folder: str) -> Path | None:
    """The nearest ``.pyfast/profile.json`` at or above ``folder`` (cached per folder)."""
    if folder in _FOUND:
        return _FOUND[folder]
    found = None
    here = Path(folder).resolve()
    for d in (here, *here.parents):
        candidate = d / PROFILE_PATH
        if candidate.is_file():
            found = candidate
            break
        if (d / ".git").exists() or (d / "pyproject.toml").is_file():
            break  # the project's root: a profile above it belongs to something else
    _FOUND[folder] = found
    return found


def load(profile: Path) -> _Loaded:
    """Read and check a profile file (cached by its size and modification time)."""
    try:
        st = profile.stat()
    except OSError as exc:
        raise ProfileError(f"{profile}: cannot read: {exc.strerror or exc}") from None
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _CACHE.get(profile)
    if hit is not None and hit[0] == stamp:
        if isinstance(hit[1], ProfileError):
            raise hit[1]
        return hit[1]
    try:
        try:
            data = json.loads(profile.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProfileError(f"{profile}: not a pyfast profile: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != PROFILE_VERSION or not isinstance(
                data.get("files"), dict):
            raise ProfileError(f"{profile}: not a pyfast profile of version {PROFILE_VERSION} "
                               "(run `pyfast-check profile` again)")
        # the folder profiled from: the one holding ``.pyfast/`` (the project may have moved since),
        # or, for a profile kept elsewhere, the folder it names
        root = profile.parent.parent if profile.parent.name == ".pyfast" else Path(str(data.get("root", "")))
        loaded = _Loaded(root, float(data.get("wall_seconds") or 0.0), data["files"])
    except ProfileError as exc:
        _CACHE[profile] = (stamp, exc)
        raise
    _CACHE[profile] = (stamp, loaded)
    return loaded


def _warn_once(profile: Path, text: str) -> None:
    if (profile, text) not in _WARNED:
        _WARNED.add((profile, text))
        print(f"pyfast: {text}", file=sys.stderr)


def text_sha256(text: str) -> str:
    """The digest a profile records for a source text: line endings and a BOM do not count, so the
    text flake8 hands over, the fixer's and the file's bytes all give the same one."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def file_sha256(path: str) -> str | None:
    """:func:`text_sha256` of a source file (decoded as Python would), ``None`` if unreadable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return text_sha256(data.decode(encoding))
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
        return None


def measure_for(path: str, text: str | None = None, profile: Path | None = None,
                use_kinds: bool = True) -> FileMeasure | None:
    """The measurements of the file at ``path`` whose source is ``text`` (default: as on disk), from
    ``profile`` (default: the nearest ``.pyfast/profile.json``); ``None`` when there are none, or when
    they were taken on another text (stale file, or a fix in progress)."""
    if profile is None:
        profile = find_profile(os.path.dirname(os.path.abspath(path)))
        if profile is None:
            return None
    try:
        loaded = load(profile)
    except ProfileError as exc:
        _warn_once(profile, f"{exc}; linting without it")
        return None
    try:
        rel = Path(os.path.abspath(path)).resolve().relative_to(loaded.root.resolve()).as_posix()
    except ValueError:
        return None
    entry = loaded.files.get(rel)
    if not isinstance(entry, dict):
        return None
    digest = file_sha256(path) if text is None else text_sha256(text)
    if entry.get("sha256") != digest:
        if text is not None and file_sha256(path) == entry.get("sha256"):
            return None  # the text being linted is a rewrite of the profiled file (a fix): no measure
        _warn_once(profile, f"{rel} changed since it was profiled ({profile}): its profile is ignored "
                            "(run `pyfast-check profile` again)")
        return None
    m = FileMeasure(profile, rel, loaded.wall_seconds, use_kinds=use_kinds)
    lines = entry.get("lines")
    if isinstance(lines, dict):
        for key, value in lines.items():
            seconds = value[0] if isinstance(value, list) and value else value
            if isinstance(seconds, int | float) and str(key).isdigit():
                m.line_seconds[int(key)] = float(seconds)
                under = value[2] if isinstance(value, list) and len(value) > 2 else 0.0
                if isinstance(under, int | float) and under > 0:
                    m.line_under[int(key)] = float(under)
    sites = entry.get("sites")
    if isinstance(sites, dict):
        for key, site in sites.items():
            try:
                pos = tuple(int(p) for p in str(key).split(":"))
            except ValueError:
                continue
            if len(pos) != 4 or not isinstance(site, dict):
                continue
            p4: Position = (pos[0], pos[1], pos[2], pos[3])
            count = site.get("count")
            if isinstance(count, int):
                m.counts[p4] = count
            kinds = site.get("kinds")
            if isinstance(kinds, list) and kinds:
                k = join_all([kind_of_descriptor(d) for d in kinds])
                if k.known:
                    m.kinds[p4] = k
    return m
