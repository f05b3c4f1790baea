"""Locators: how a detector points its fix at a sub-node of the finding's node.

A locator is a path of steps from the finding's node (or an anchor's) down to a sub-expression.
The detector computes it on the ``ast`` (:func:`locate`); the fix follows it on the libcst node
found at the same place (:func:`follow`), so the fix re-uses the user's own concrete syntax and
their text survives byte for byte. The same path means the same child in both trees:

==================  ==========================  ======================================
step                ``ast``                     libcst
==================  ==========================  ======================================
``"args", i``       ``Call.args[i]``            ``Call.args[i].value``
``"kw", name``      keyword ``name``'s value    the ``Arg`` with that keyword's value
``"targets", i``    ``Assign.targets[i]``       ``Assign.targets[i].target``
``"elts", i``       ``List/Tuple.elts[i]``      ``elements[i].value``
``"comparators", i`` ``Compare.comparators[i]`` ``Comparison.comparisons[i].comparator``
``"operand"``       ``UnaryOp.operand``         ``UnaryOperation.expression``
other names         the attribute               the attribute of the same name
==================  ==========================  ======================================

This module never imports libcst: it tells the trees apart by ``isinstance(node, ast.AST)``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

#: a path of steps: attribute names, each of ``INDEXED`` followed by an index or keyword name
Locator = tuple[str | int, ...]

#: steps that take an argument (an index, or a keyword's name for ``"kw"``)
INDEXED = frozenset({"args", "kw", "targets", "elts", "comparators"})
#: plain attributes with the same name in both trees
PLAIN = frozenset({"func", "value", "left", "right", "test", "target", "operand"})


class LocatorError(LookupError):
    """A locator does not lead anywhere in this tree."""


def follow(node: Any, path: Locator) -> Any:
    """The node reached from ``node`` (an ``ast`` or a libcst node) along ``path``."""
    is_ast = isinstance(node, ast.AST)
    steps = iter(path)
    for step in steps:
        if step in INDEXED:
            try:
                arg = next(steps)
            except StopIteration:
                raise LocatorError(f"{step!r} needs an index in {path!r}") from None
            node = _indexed(node, str(step), arg, is_ast)
        elif step in PLAIN:
            name = "expression" if step == "operand" and not is_ast else str(step)
            try:
                node = getattr(node, name)
            except AttributeError:
                raise LocatorError(f"no {step!r} on {type(node).__name__} in {path!r}") from None
        else:
            raise LocatorError(f"unknown step {step!r} in {path!r}")
    return node


def _indexed(node: Any, step: str, arg: str | int, is_ast: bool) -> Any:
    try:
        if step == "kw":
            if is_ast:
                return next(kw.value for kw in node.keywords if kw.arg == arg)
            return next(a.value for a in node.args if a.keyword is not None and a.keyword.value == arg)
        assert isinstance(arg, int)
        if step == "args":
            return node.args[arg] if is_ast else node.args[arg].value
        if step == "targets":
            return node.targets[arg] if is_ast else node.targets[arg].target
        if step == "elts":
            return node.elts[arg] if is_ast else node.elements[arg].value
        return node.comparators[arg] if is_ast else node.comparisons[arg].comparator
    except (AttributeError, IndexError, StopIteration, AssertionError):
        raise LocatorError(f"no {step}[{arg!r}] on {type(node).__name__}") from None


def _children(node: ast.AST) -> Iterator[tuple[Locator, ast.AST]]:
    """The steps :func:`follow` knows from ``node``, with the child each leads to."""
    if isinstance(node, ast.Call):
        yield ("func",), node.func
        for i, a in enumerate(node.args):
            if isinstance(a, ast.Starred):
                return  # positions after a starred argument mean different things in the two trees
            yield ("args", i), a
        for kw in node.keywords:
            if kw.arg is not None:
                yield ("kw", kw.arg), kw.value
        return
    if isinstance(node, ast.Assign):
        for i, t in enumerate(node.targets):
            yield ("targets", i), t
    if isinstance(node, ast.List | ast.Tuple):
        for i, e in enumerate(node.elts):
            if not isinstance(e, ast.Starred):
                yield ("elts", i), e
    if isinstance(node, ast.Compare):
        for i, c in enumerate(node.comparators):
            yield ("comparators", i), c
    for name in PLAIN:
        child = getattr(node, name, None)
        if isinstance(child, ast.AST):
            yield (name,), child


def locate(root: ast.AST, target: ast.AST) -> Locator | None:
    """The locator of ``target`` inside ``root`` (``()`` for ``root`` itself); ``None`` if
    ``target`` is not reachable with the steps :func:`follow` knows."""
    if target is root:
        return ()
    stack: list[tuple[Locator, ast.AST]] = [((), root)]
    while stack:
        path, node = stack.pop()
        for step, child in _children(node):
            if child is target:
                return path + step
            stack.append((path + step, child))
    return None
