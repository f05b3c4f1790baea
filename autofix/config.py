"""``pyfast-fix``'s view of ``[tool.pyfast]`` (found, read and checked by :mod:`flake8_pyfast.config`).

```toml
[tool.pyfast]
select = ["PYF"]                    # codes or prefixes
ignore = ["PYF301"]
unsafe-fixes = false
exclude = ["third_party", "*_pb2.py"]
per-file-ignores = { "tests/*" = ["PYF2"] }
extend-hot-functions = ["tick"]     # added to the default per-step function names
extend-cold-functions = ["warmup"]  # added to the default set-up function names
# hot-functions / cold-functions replace the default lists (flake8 reads the same keys)
```
Unknown keys and unknown codes are errors that name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autofix.selection import Selection, SelectionError, check_codes
from flake8_pyfast.analysis.settings import Settings
from flake8_pyfast.config import (
    ConfigError,
    HeatOptions,
    PyfastTable,
    cached_table,
    find_pyproject,
    strings,
    table_for,
)

__all__ = ["Config", "ConfigError", "config_for", "find_pyproject", "load_config"]


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    select: tuple[str, ...] = ("PYF",)
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    heat: HeatOptions = field(default_factory=HeatOptions)
    root: Path = field(default_factory=Path.cwd)

    def selection(self, select: tuple[str, ...] | None = None, ignore: tuple[str, ...] | None = None) -> Selection:
        return Selection(select or self.select, self.ignore + (ignore or ()), self.per_file_ignores)

    def settings(self) -> Settings:
        return self.heat.settings()


def load_config(path: Path | None) -> Config:
    """The configuration in ``path`` (``None``: the defaults); :class:`ConfigError` names what is wrong."""
    return from_table(cached_table(path))


def config_for(filename: str | Path) -> Config:
    """The configuration nearest to ``filename`` (cached per folder; for the codemod commands)."""
    return from_table(table_for(filename))


def from_table(table: PyfastTable) -> Config:
    try:
        return _from_table(table)
    except SelectionError as exc:
        raise ConfigError(str(exc)) from None


def _from_table(table: PyfastTable) -> Config:
    if table.path is None:
        return Config()
    data, where = table.data, table.where
    per_file = data.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{where} per-file-ignores must be a table of pattern = [codes]")
    return Config(
        path=table.path,
        select=check_codes(_strings(data, "select", where), f"{where} select") or ("PYF",),
        ignore=check_codes(_strings(data, "ignore", where), f"{where} ignore"),
        unsafe_fixes=_bool(data, "unsafe-fixes", where),
        exclude=_strings(data, "exclude", where),
        per_file_ignores=tuple(
            (pattern, check_codes(strings(codes, f"{where} per-file-ignores.{pattern}"),
                                  f"{where} per-file-ignores.{pattern}"))
            for pattern, codes in per_file.items()
        ),
        heat=table.heat,
        root=table.path.parent,
    )


def _strings(table: Any, key: str, where: str) -> tuple[str, ...]:
    return strings(table.get(key, []), f"{where} {key}")


def _bool(table: Any, key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where} {key} must be true or false")
    return value
