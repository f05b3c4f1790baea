"""Each fix as a libcst codemod command, for ``python -m libcst.tool codemod``.

    python -m libcst.tool codemod --no-format -x autofix.codemods.AllFixes src/
    python -m libcst.tool codemod --no-format -x autofix.codemods.PYF204 --unsafe-fixes src/

(``--no-format``: libcst otherwise runs black on every file it visits.) The commands run the same
engine as ``pyfast-fix`` (lint, fix, verify) on each module libcst hands them, restricted to one
rule (``PYFnnn``) or all of them (``AllFixes``), with the ``[tool.pyfast]`` table nearest to that
module: its hot/cold functions, ``ignore``, ``per-file-ignores`` and ``unsafe-fixes``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand

from autofix.config import config_for
from autofix.engine import FixError, SourceError, fix_source
from autofix.selection import Selection
from flake8_pyfast.rules import all_rules


class _PyfastCommand(VisitorBasedCodemodCommand):
    #: the rules this command fixes (None: those [tool.pyfast] selects, by default all)
    CODES: tuple[str, ...] | None = None
    DESCRIPTION = "Apply pyfast's fixes."

    def __init__(self, context: CodemodContext, unsafe_fixes: bool = False) -> None:
        super().__init__(context)
        self.unsafe = unsafe_fixes

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument("--unsafe-fixes", dest="unsafe_fixes", action="store_true",
                                help="also apply fixes that can change behaviour")

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        filename = self.context.filename or "-"
        config = config_for(filename if filename != "-" else "./-")  # a ConfigError names the file
        try:
            rel = Path(filename).resolve().relative_to(config.root.resolve()).as_posix()
        except (ValueError, OSError):
            rel = filename
        selection = Selection(self.CODES or config.select, config.ignore, config.per_file_ignores)
        try:
            outcome = fix_source(tree.code, selection, unsafe=self.unsafe or config.unsafe_fixes,
                                 settings=config.settings(), path=rel)
        except (SourceError, FixError) as exc:
            raise SkipFile(str(exc)) from exc
        return cst.parse_module(outcome.fixed) if outcome.changed else tree


class AllFixes(_PyfastCommand):
    DESCRIPTION = "Apply every pyfast fix (safe ones; --unsafe-fixes for the rest)."


def _command(code: str, summary: str) -> type[_PyfastCommand]:
    return type(code, (_PyfastCommand,), {"CODES": (code,), "DESCRIPTION": f"{code}: {summary}",
                                          "__module__": __name__})


# one importable class per fixable rule: autofix.codemods.PYF101, autofix.codemods.PYF204, ...
for _rule in all_rules():
    if _rule.fixable != "no":
        globals()[_rule.code] = _command(_rule.code, _rule.summary)
