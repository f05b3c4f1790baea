"""``[tool.pyfast]`` in the nearest ``pyproject.toml``: found, read and checked once for every front end.

The flake8 plugin, ``pyfast-fix`` and the libcst codemod commands all read the table through this
module (no libcst here: the flake8 path stays light), so the same key means the same thing in each::

    [tool.pyfast]
    hot-functions = ["step", "tick"]      # replaces the default per-step function names
    extend-hot-functions = ["rollout_*"]  # added to them (to the defaults, or to hot-functions)
    cold-functions = ["__init__"]         # replaces the default set-up function names
    extend-cold-functions = ["warmup"]    # added to them
    target = "cpu"                        # where the code runs: "cpu", "gpu" or "auto" (default)
    profile = false                       # ignore .pyfast/profile.json (default: use it)

flake8's own options (``--pyfast-hot-functions`` ..., on the command line or in flake8's config)
win over the table key by key; the table wins over the defaults. ``select``, ``ignore``,
``unsafe-fixes``, ``exclude`` and ``per-file-ignores`` are ``pyfast-fix``'s (checked in
``autofix.config``; flake8 has its own). Unknown keys are errors that name them.

Old spelling (deprecated, one release): ``hot-functions`` / ``cold-functions`` used to *add* to the
defaults. A ``hot-functions`` list that names none of the default patterns, in a table without
``extend-hot-functions``, is still read as ``extend-hot-functions``, with a one-line warning on
stderr that names the file and says what to write (the same for cold).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from flake8_pyfast.analysis.settings import DEFAULT_SETTINGS, TARGETS, Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

HEAT_KEYS = ("hot-functions", "extend-hot-functions", "cold-functions", "extend-cold-functions")
FIX_KEYS = ("select", "ignore", "unsafe-fixes", "exclude", "per-file-ignores")
KNOWN_KEYS = FIX_KEYS + HEAT_KEYS + ("target", "profile")


class ConfigError(ValueError):
    """The configuration is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class HeatOptions:
    """Which functions are per-step (hot) and set-up (cold); ``None``: not given here."""

    hot_functions: tuple[str, ...] | None = None
    extend_hot_functions: tuple[str, ...] | None = None
    cold_functions: tuple[str, ...] | None = None
    extend_cold_functions: tuple[str, ...] | None = None
    target: str | None = None  # "cpu" | "gpu" | "auto"
    profile: bool | None = None  # read .pyfast/profile.json (default: yes)

    def overridden_by(self, other: HeatOptions) -> HeatOptions:
        """These options, with every value that ``other`` gives taking precedence."""
        given = {f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) is not None}
        return replace(self, **given)

    def settings(self) -> Settings:
        """The full lists: a replacing list (or the default one) plus the extension."""
        hot = DEFAULT_SETTINGS.hot_functions if self.hot_functions is None else self.hot_functions
        cold = DEFAULT_SETTINGS.cold_functions if self.cold_functions is None else self.cold_functions
        return Settings(
            hot_functions=_unique(hot + (self.extend_hot_functions or ())),
            cold_functions=_unique(cold + (self.extend_cold_functions or ())),
            target=self.target or DEFAULT_SETTINGS.target,
            profile=DEFAULT_SETTINGS.profile if self.profile is None else self.profile,
        )


@dataclass(frozen=True)
class PyfastTable:
    """A checked ``[tool.pyfast]`` table; ``path`` is None when there is none."""

    path: Path | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    heat: HeatOptions = field(default_factory=HeatOptions)
    #: one line per deprecated spelling found (already printed on stderr by :func:`load_table`)
    warnings: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.path}: [tool.pyfast]"


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.pyfast]`` table, from folder ``start`` upwards.

    A ``pyproject.toml`` that cannot be read or parsed is returned too: loading it reports the problem.
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        try:
            stat = candidate.stat()
        except OSError:
            continue
        if _has_table(candidate, stat.st_mtime_ns, stat.st_size):
            return candidate
    return None


@lru_cache(maxsize=256)
def _has_table(path: Path, mtime_ns: int, size: int) -> bool:
    """Whether ``path`` has ``[tool.pyfast]``, or cannot be read (parsed once per version of the file)."""
    if not path.is_file():
        return False
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True
    return "pyfast" in data.get("tool", {})


def load_table(path: Path | None, warn: bool = True) -> PyfastTable:
    """Read and check ``[tool.pyfast]`` of ``path`` (``None``: no configuration)."""
    if path is None:
        return PyfastTable()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("pyfast", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.pyfast] must be a table")
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown [tool.pyfast] key(s): {', '.join(unknown)} "
                          f"(known: {', '.join(KNOWN_KEYS)})")
    where = f"{path}: [tool.pyfast]"
    got = {key: strings(table[key], f"{where} {key}") for key in HEAT_KEYS if key in table}
    notes = []
    for kind, defaults in (("hot", DEFAULT_SETTINGS.hot_functions), ("cold", DEFAULT_SETTINGS.cold_functions)):
        key, extend = f"{kind}-functions", f"extend-{kind}-functions"
        if key in got and extend not in got and not set(got[key]) & set(defaults):
            # the old meaning (added to the defaults), for one more release
            got[extend] = got.pop(key)
            listed = ", ".join(f'"{name}"' for name in got[extend])
            notes.append(f"{path}: warning: [tool.pyfast] {key} now replaces the default list; read as "
                         f"extend-{kind}-functions this release: write extend-{kind}-functions = [{listed}] "
                         f"to add to the defaults (or add extend-{kind}-functions = [] to replace them)")
    if warn:
        for note in notes:
            print(f"pyfast: {note}", file=sys.stderr)
    heat = HeatOptions(**{key.replace("-", "_"): value for key, value in got.items()},
                       target=check_target(table["target"], f"{where} target") if "target" in table else None,
                       profile=check_bool(table["profile"], f"{where} profile") if "profile" in table else None)
    return PyfastTable(path=path, data=table, heat=heat, warnings=tuple(notes))


def check_target(value: Any, where: str) -> str:
    """``"cpu"``, ``"gpu"`` or ``"auto"``; anything else is a :class:`ConfigError`."""
    if value not in TARGETS:
        raise ConfigError(f"{where} must be one of {', '.join(repr(t) for t in TARGETS)}, not {value!r}")
    return str(value)


def check_bool(value: Any, where: str) -> bool:
    """``true`` or ``false``; anything else is a :class:`ConfigError`."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    return value


def strings(value: Any, where: str) -> tuple[str, ...]:
    """A list of strings (one string stands for a list of one); anything else is a :class:`ConfigError`."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))


_TABLES: dict[Path, PyfastTable | ConfigError] = {}
_NEAREST: dict[str, Path | None] = {}


def table_for(filename: str | Path) -> PyfastTable:
    """The ``[tool.pyfast]`` table nearest to ``filename`` (cached per folder and per file: cheap).

    Raises :class:`ConfigError` (the same one each time) when that table is wrong.
    """
    folder = os.path.dirname(filename) or "."
    if folder not in _NEAREST:
        _NEAREST[folder] = find_pyproject(Path(folder))
    return cached_table(_NEAREST[folder])


def cached_table(path: Path | None) -> PyfastTable:
    """:func:`load_table`, once per file per process: every front end reads a table through here, so
    it is parsed, and its deprecation notes are printed, once however many files it governs."""
    if path is None:
        return PyfastTable()
    if path not in _TABLES:
        try:
            _TABLES[path] = load_table(path)
        except ConfigError as exc:
            _TABLES[path] = exc
    loaded = _TABLES[path]
    if isinstance(loaded, ConfigError):
        raise loaded
    return loaded
