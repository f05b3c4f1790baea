"""The PYF rules: one module per rule, found and registered automatically.

Adding a rule means adding one file ``pyfNNN_<name>.py`` here with a :class:`~flake8_pyfast.rule.Rule`
subclass in it; the tests pick up its examples by themselves.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import lru_cache

from flake8_pyfast.rule import REGISTRY, Rule

_MODULE = re.compile(r"pyf\d{3}_\w+$")


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    """One instance of every rule, sorted by code."""
    for info in pkgutil.iter_modules(__path__):
        if _MODULE.match(info.name):
            importlib.import_module(f"{__name__}.{info.name}")
    return tuple(REGISTRY[code]() for code in sorted(REGISTRY))


def rule_by_code(code: str) -> Rule:
    for rule in all_rules():
        if rule.code == code:
            return rule
    raise KeyError(code)


def all_codes() -> tuple[str, ...]:
    return tuple(r.code for r in all_rules())


def default_ignored() -> tuple[str, ...]:
    return tuple(r.code for r in all_rules() if not r.default_enabled)


__all__ = ["Rule", "all_codes", "all_rules", "default_ignored", "rule_by_code"]
