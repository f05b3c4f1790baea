"""The flake8 front end: thin. flake8 parses; we analyse its tree once and yield findings."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from flake8_pyfast import __version__
from flake8_pyfast.analysis.heat import DEFAULT_COLD_FUNCTIONS, DEFAULT_HOT_FUNCTIONS
from flake8_pyfast.checker import DEFAULT_SETTINGS, Settings, lint_tree


class PyfastChecker:
    name = "flake8-pyfast"
    version = __version__
    settings: ClassVar[Settings] = DEFAULT_SETTINGS

    def __init__(self, tree: ast.Module, lines: Sequence[str]) -> None:
        self.tree = tree
        self.lines = lines

    @classmethod
    def add_options(cls, parser: Any) -> None:
        from flake8_pyfast.rules import default_ignored

        parser.add_option(
            "--pyfast-hot-functions",
            default=",".join(DEFAULT_HOT_FUNCTIONS),
            parse_from_config=True,
            comma_separated_list=True,
            help="Names (fnmatch patterns) of functions that run every step; code in them, and in "
            "the functions they call, counts as hot. (Default: %(default)s)",
        )
        parser.add_option(
            "--pyfast-extend-hot-functions",
            default="",
            parse_from_config=True,
            comma_separated_list=True,
            help="More per-step function names, added to --pyfast-hot-functions.",
        )
        parser.add_option(
            "--pyfast-cold-functions",
            default=",".join(DEFAULT_COLD_FUNCTIONS),
            parse_from_config=True,
            comma_separated_list=True,
            help="Set-up functions whose loops are not hot unless hot code calls them. "
            "(Default: %(default)s)",
        )
        ignored = default_ignored()
        if ignored:
            parser.extend_default_ignore(list(ignored))

    @classmethod
    def parse_options(cls, options: Any) -> None:
        hot = tuple(options.pyfast_hot_functions) + tuple(options.pyfast_extend_hot_functions)
        cls.settings = Settings(
            hot_functions=tuple(h for h in hot if h),
            cold_functions=tuple(c for c in options.pyfast_cold_functions if c),
        )

    def run(self) -> Iterator[tuple[int, int, str, type[Any]]]:
        for f in lint_tree(self.tree, self.lines, self.settings):
            yield f.line, f.col, f"{f.code} {f.message}", type(self)
