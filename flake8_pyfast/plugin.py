"""The flake8 front end: thin. flake8 parses; we analyse its tree once and yield findings.

What counts as hot comes from ``[tool.pyfast]`` in the ``pyproject.toml`` nearest to each linted
file (see :mod:`flake8_pyfast.config`), with flake8's own ``--pyfast-*`` options, where given,
taking precedence key by key.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from flake8_pyfast import __version__
from flake8_pyfast.analysis.settings import DEFAULT_SETTINGS, TARGETS, Settings
from flake8_pyfast.checker import lint_tree
from flake8_pyfast.config import HeatOptions, table_for
from flake8_pyfast.rules import default_ignored

#: flake8 names standard input like this (or as --stdin-display-name says)
_STDIN = ("stdin", "-")


class PyfastChecker:
    name = "flake8-pyfast"
    version = __version__
    #: the --pyfast-* options flake8 was given (None where not given)
    options: ClassVar[HeatOptions] = HeatOptions()
    #: resolved settings per [tool.pyfast] file (None: no file)
    _settings: ClassVar[dict[Any, Settings]] = {}

    def __init__(self, tree: ast.Module, lines: Sequence[str], filename: str = "stdin") -> None:
        self.tree = tree
        self.lines = lines
        self.settings = self.settings_for(filename)
        #: heat follows calls across the file's project when the file is on disk
        self.path = None if filename in _STDIN else filename

    @classmethod
    def settings_for(cls, filename: str) -> Settings:
        """Defaults < ``[tool.pyfast]`` nearest to ``filename`` < flake8's options."""
        table = table_for("./-" if filename in _STDIN else filename)  # a ConfigError names the file
        settings = cls._settings.get(table.path)
        if settings is None:
            settings = cls._settings[table.path] = table.heat.overridden_by(cls.options).settings()
        return settings

    @classmethod
    def add_options(cls, parser: Any) -> None:
        defaults = DEFAULT_SETTINGS
        parser.add_option(
            "--pyfast-hot-functions",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Names (fnmatch patterns) of functions that run every step; code in them, and in the "
            "functions they call, counts as hot. Replaces the default list and [tool.pyfast] hot-functions. "
            f"(Default: {','.join(defaults.hot_functions)})",
        )
        parser.add_option(
            "--pyfast-extend-hot-functions",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="More per-step function names, added to the hot list (replaces [tool.pyfast] "
            "extend-hot-functions).",
        )
        parser.add_option(
            "--pyfast-cold-functions",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Set-up functions whose loops are not hot unless hot code calls them. Replaces the "
            f"default list and [tool.pyfast] cold-functions. (Default: {','.join(defaults.cold_functions)})",
        )
        parser.add_option(
            "--pyfast-extend-cold-functions",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="More set-up function names, added to the cold list (replaces [tool.pyfast] "
            "extend-cold-functions).",
        )
        parser.add_option(
            "--pyfast-target",
            default=None,
            parse_from_config=True,
            choices=TARGETS,
            help="Where the code runs: cpu (findings whose gain needs a GPU are not reported), gpu, or "
            "auto: modules that mention CUDA/MPS or take a device are taken to run on one (replaces "
            "[tool.pyfast] target; default: auto).",
        )
        ignored = default_ignored()
        if ignored:
            parser.extend_default_ignore(list(ignored))

    @classmethod
    def parse_options(cls, options: Any) -> None:
        def given(value: Sequence[str] | None) -> tuple[str, ...] | None:
            return None if value is None else tuple(v for v in value if v)

        cls.options = HeatOptions(
            hot_functions=given(options.pyfast_hot_functions),
            extend_hot_functions=given(options.pyfast_extend_hot_functions),
            cold_functions=given(options.pyfast_cold_functions),
            extend_cold_functions=given(options.pyfast_extend_cold_functions),
            target=options.pyfast_target,
        )
        cls._settings = {}

    def run(self) -> Iterator[tuple[int, int, str, type[Any]]]:
        for f in lint_tree(self.tree, self.lines, self.settings, path=self.path):
            yield f.line, f.col, f"{f.code} {f.message}", type(self)
