"""``[tool.pyfast]`` in the nearest ``pyproject.toml``.

```toml
[tool.pyfast]
select = ["PYF"]                 # codes or prefixes
ignore = ["PYF301"]
unsafe-fixes = false
exclude = ["third_party", "*_pb2.py"]
per-file-ignores = { "tests/*" = ["PYF2"] }
hot-functions = ["tick"]         # added to the default per-step function names
cold-functions = ["warmup"]      # added to the default set-up function names
```
Unknown keys and unknown codes are errors that name them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autofix.selection import Selection, SelectionError, check_codes
from flake8_pyfast.analysis.heat import DEFAULT_COLD_FUNCTIONS, DEFAULT_HOT_FUNCTIONS
from flake8_pyfast.checker import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

KNOWN_KEYS = ("select", "ignore", "unsafe-fixes", "exclude", "per-file-ignores", "hot-functions",
              "cold-functions")


class ConfigError(ValueError):
    """The configuration is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    select: tuple[str, ...] = ("PYF",)
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    hot_functions: tuple[str, ...] = ()
    cold_functions: tuple[str, ...] = ()
    root: Path = field(default_factory=Path.cwd)

    def selection(self, select: tuple[str, ...] | None = None, ignore: tuple[str, ...] | None = None) -> Selection:
        return Selection(select or self.select, self.ignore + (ignore or ()), self.per_file_ignores)

    def settings(self) -> Settings:
        return Settings(
            hot_functions=DEFAULT_HOT_FUNCTIONS + self.hot_functions,
            cold_functions=DEFAULT_COLD_FUNCTIONS + self.cold_functions,
        )


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.pyfast]`` table, from ``start`` upwards."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
                return candidate  # let load_config report the problem
            if "pyfast" in data.get("tool", {}):
                return candidate
    return None


def load_config(path: Path | None) -> Config:
    try:
        return _load_config(path)
    except SelectionError as exc:
        raise ConfigError(str(exc)) from None


def _load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
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
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{where} per-file-ignores must be a table of pattern = [codes]")
    return Config(
        path=path,
        select=check_codes(_strings(table, "select", where), f"{where} select") or ("PYF",),
        ignore=check_codes(_strings(table, "ignore", where), f"{where} ignore"),
        unsafe_fixes=_bool(table, "unsafe-fixes", where),
        exclude=_strings(table, "exclude", where),
        per_file_ignores=tuple(
            (pattern, check_codes(_as_strings(codes, f"{where} per-file-ignores.{pattern}"),
                                  f"{where} per-file-ignores.{pattern}"))
            for pattern, codes in per_file.items()
        ),
        hot_functions=_strings(table, "hot-functions", where),
        cold_functions=_strings(table, "cold-functions", where),
        root=path.parent,
    )


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    return _as_strings(table.get(key, []), f"{where} {key}")


def _as_strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _bool(table: dict[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where} {key} must be true or false")
    return value
