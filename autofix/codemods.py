"""Each fix as a libcst codemod command, for ``python -m libcst.tool codemod``.

    python -m libcst.tool codemod -x autofix.codemods.AllFixes src/
    python -m libcst.tool codemod -x autofix.codemods.PYF204 --unsafe-fixes src/

The commands run the same engine as ``pyfast-fix`` (lint, fix, verify) on each module libcst hands
them, restricted to one rule (``PYFnnn``) or all of them (``AllFixes``).
"""

from __future__ import annotations

import argparse

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand

from autofix.engine import FixError, SourceError, fix_source
from autofix.selection import Selection
from flake8_pyfast.rules import all_rules


class _PyfastCommand(VisitorBasedCodemodCommand):
    CODES: tuple[str, ...] = ("PYF",)
    DESCRIPTION = "Apply pyfast's fixes."

    def __init__(self, context: CodemodContext, unsafe_fixes: bool = False) -> None:
        super().__init__(context)
        self.unsafe = unsafe_fixes

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument("--unsafe-fixes", dest="unsafe_fixes", action="store_true",
                                help="also apply fixes that can change behaviour")

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        try:
            outcome = fix_source(tree.code, Selection(self.CODES), unsafe=self.unsafe, path=self.context.filename)
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
