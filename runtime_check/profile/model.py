"""Data of a profile: what the child measured (``RawResult``) and what the report shows (``Report``).

Both are plain dataclasses with ``to_json()``; paths are relative to the directory the program ran in
(absolute when a file lies outside it). No third-party imports: the runner, the child and the
linter's join all read these.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class LineStat:
    """Wall time that the sampler charged to one line of the user's code (main thread)."""

    path: str
    line: int
    seconds: float
    native_seconds: float
    function: str
    code: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ThreadStat:
    """Another Python thread: its sampled wall time and its own hot lines (never mixed into main's)."""

    name: str
    ident: int
    seconds: float
    lines: list[LineStat] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ident": self.ident, "seconds": self.seconds,
                "lines": [ln.to_json() for ln in self.lines]}


@dataclass
class RawResult:
    """What the child writes: the program's exit, the sampler's per-line and per-stack totals."""

    command: list[str]
    python: str
    cwd: str
    wall_seconds: float
    samples: int
    interval_ms: float
    sampler: str
    exit_code: int
    stopped: bool = False  # stopped by the parent after --duration
    lines: list[LineStat] = field(default_factory=list)
    # outer lines of the user's code: ``seconds`` is the time they waited for a callee of the user's own
    # (a call line's cost with its callees: its ``lines`` seconds plus these)
    under: list[LineStat] = field(default_factory=list)
    other_seconds: float = 0.0  # main-thread time with no user frame on the stack
    threads: list[ThreadStat] = field(default_factory=list)
    # speedscope: frames are [function, path, line]; stacks are (frame indices outermost first, seconds)
    frames: list[list[Any]] = field(default_factory=list)
    stacks: list[list[Any]] = field(default_factory=list)
    handler_seconds: float = 0.0  # time spent in the sampler itself, measured by itself
    observe: dict[str, Any] | None = None
    error: str | None = None

    @property
    def sampled_seconds(self) -> float:
        """Main-thread seconds the sampler saw: user lines plus time with no user frame."""
        return sum(ln.seconds for ln in self.lines) + self.other_seconds

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawResult:
        data = {k: v for k, v in data.items() if k != "schema"}
        data["lines"] = [LineStat(**ln) for ln in data.get("lines", [])]
        data["under"] = [LineStat(**ln) for ln in data.get("under", [])]
        data["threads"] = [ThreadStat(name=t["name"], ident=t["ident"], seconds=t["seconds"],
                                      lines=[LineStat(**ln) for ln in t.get("lines", [])])
                           for t in data.get("threads", [])]
        return cls(**data)


@dataclass
class LineReport:
    path: str
    line: int
    seconds: float
    share: float
    native_share: float
    code: str
    function: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "seconds": round(self.seconds, 6),
                "share": round(self.share, 6), "native_share": round(self.native_share, 4),
                "code": self.code, "function": self.function}


@dataclass
class Report:
    """The profile as the user sees it (terminal and ``--json``)."""

    command: list[str]
    python: str
    wall_seconds: float
    samples: int
    interval_ms: float
    exit_code: int
    sampler: str
    stopped: bool
    lines: list[LineReport]
    findings: list[dict[str, Any]]
    uncovered: list[dict[str, Any]]
    threads: list[dict[str, Any]]
    sampled_seconds: float
    overhead_share: float
    min_share: float
    hidden_lines: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command, "python": self.python, "wall_seconds": round(self.wall_seconds, 6),
            "samples": self.samples, "interval_ms": self.interval_ms, "exit_code": self.exit_code,
            "sampler": self.sampler, "stopped": self.stopped,
            "sampled_seconds": round(self.sampled_seconds, 6),
            "sampler_overhead_share": round(self.overhead_share, 6), "min_share": self.min_share,
            "lines": [ln.to_json() for ln in self.lines],
            "findings": self.findings, "uncovered": self.uncovered, "threads": self.threads,
            "notes": self.notes,
        }


def relative_path(path: str, cwd: str) -> str:
    """``path`` relative to ``cwd`` when it lies under it, else absolute."""
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(Path(path), json.dumps(data, indent=1) + "\n")


def _umask() -> int:
    mask = os.umask(0o022)  # read it the only way there is: set and restore
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    try:  # keep the mode of the file it replaces; a new file gets what open() would give it
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)  # mkstemp's 0600 would leave a report only its owner can read
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
