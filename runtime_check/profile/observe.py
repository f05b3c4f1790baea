"""Observe, while the user's program runs, what chosen expressions hold (issue 11, part 2).

The linter stays silent where it cannot infer a kind (is this argument of ``np.cos`` a Python float,
a NumPy scalar or an array? does this ``if`` test a tensor?). The join with the linter picks those
expressions as *sites* (exact ``ast`` positions); this module records, for each site, how often it
was evaluated and what the first few evaluations held.

How: an import hook in the manner of pytest's assertion rewriting. A ``sys.meta_path`` finder lets
the normal finders locate a module; when the file is one that has sites, the module is loaded by a
loader that parses the source, wraps each site's expression node in ``__pyfast_observe__(<n>,
<expr>)``, compiles the rewritten tree under the original file name and executes it. Every other
module is imported by the normal machinery, untouched. Rewritten modules never read or write
``.pyc`` files. The main script (or ``-m`` module, which also goes through the hook) is compiled
with :meth:`Observer.compile`.

``__pyfast_observe__`` lives in ``builtins`` while the observer is installed, so it resolves in
every scope (functions, class bodies, comprehensions, lambdas). Modules loaded through the hook
also hold it in their globals, so code of theirs that runs after :meth:`Observer.finish` (``atexit``
handlers, finalisers, daemon threads) still works; code compiled by :meth:`Observer.compile` has
only the builtin, so the caller should call ``finish()`` when the program is over.

The wrapper returns its argument unchanged, so evaluation order, short-circuiting, exceptions
(the wrapped node keeps its position, so tracebacks point at the user's line), generators,
``await`` and walrus behave as before. Nodes that cannot be wrapped without changing meaning or
validity (assignment and ``del`` targets, ``Starred`` itself, annotations, f-string parts and
format specs, slices, match patterns, docstrings, the ``super`` of a zero-argument ``super()``)
are reported as missed, like a position that matches no expression (the source changed).

The recorder is one list index and one increment per evaluation; a value is described only while
the site has fewer than ``max_records`` evaluations. Descriptions look at the value's type and
touch attributes only of real NumPy arrays/scalars and torch tensors, found through
``sys.modules`` (this module never imports NumPy or torch).
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

OBSERVE_NAME = "__pyfast_observe__"
MAX_ITEMS = 8  # list/tuple items described only when the container has at most this many
MAX_DEPTH = 2  # levels of list/tuple whose items are described

Span = tuple[int, int, int, int]

_MISSING = object()


class PayloadError(ValueError):
    """The payload handed to :func:`start` is malformed."""


# -- describing a value -------------------------------------------------------------------------


def _class_name(t: type) -> str:
    return f"{t.__module__}.{t.__qualname__}"


def describe(value: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON-able descriptor of ``value``'s kind (see the module notes and issue 11)."""
    t = type(value)
    if t is float:
        return {"type": "float"}
    if t is bool:
        return {"type": "bool"}
    if t is int:
        return {"type": "int"}
    if value is None:
        return {"type": "none"}
    if t is str:
        return {"type": "str"}
    if t is complex:
        return {"type": "complex"}
    np = sys.modules.get("numpy")
    if np is not None:
        ndarray = getattr(np, "ndarray", None)
        generic = getattr(np, "generic", None)
        if ndarray is not None and isinstance(value, ndarray):
            out: dict[str, Any] = {"type": "ndarray", "dtype": value.dtype.name, "shape": list(value.shape)}
            if t is not ndarray:
                out["class"] = _class_name(t)
            return out
        if generic is not None and isinstance(value, generic):  # np.float64 is also a float: test first
            return {"type": "numpy_scalar", "dtype": value.dtype.name}
    torch = sys.modules.get("torch")
    if torch is not None:
        tensor = getattr(torch, "Tensor", None)
        if tensor is not None and isinstance(value, tensor):
            out = {
                "type": "tensor",
                "dtype": str(value.dtype).removeprefix("torch."),
                "shape": [int(n) for n in value.shape],
                "device": str(value.device),
                "requires_grad": bool(value.requires_grad),
            }
            if t is not tensor:
                out["class"] = _class_name(t)  # e.g. torch.nn.parameter.Parameter
            return out
    if isinstance(value, (list, tuple)):
        out = {"type": "list" if isinstance(value, list) else "tuple", "len": len(value)}
        if len(value) <= MAX_ITEMS and depth < MAX_DEPTH:
            out["items"] = [describe(item, depth + 1) for item in value]
        if t is not list and t is not tuple:
            out["class"] = _class_name(t)  # namedtuples and other subclasses
        return out
    if isinstance(value, dict):
        out = {"type": "dict", "len": len(value)}
        if t is not dict:
            out["class"] = _class_name(t)
        return out
    return {"type": "object", "class": _class_name(t)}


# -- choosing the nodes to wrap -----------------------------------------------------------------

#: fields whose whole subtree is never wrapped: annotations (``from __future__ import annotations``
#: would turn the wrapper into the annotation's text) and f-string format specs
_BLOCKED_FIELDS = {
    (ast.arg, "annotation"),
    (ast.FunctionDef, "returns"),
    (ast.AsyncFunctionDef, "returns"),
    (ast.AnnAssign, "annotation"),
    (ast.FormattedValue, "format_spec"),
}
_TYPE_ALIAS = getattr(ast, "TypeAlias", None)  # 3.12+: lazily evaluated in an annotation scope


def _is_docstring(node: ast.AST, parent: ast.AST | None, field: str) -> bool:
    return (
        isinstance(node, ast.Expr)
        and field == "body"
        and isinstance(parent, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and bool(parent.body)
        and parent.body[0] is node
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _why_not_wrappable(node: ast.expr, parent: ast.AST | None) -> str | None:
    """Why ``node`` (not inside a blocked subtree) cannot be wrapped, or None when it can."""
    ctx = getattr(node, "ctx", None)
    if isinstance(ctx, (ast.Store, ast.Del)):
        return "an assignment or del target"
    if isinstance(node, ast.Starred):
        return "a starred expression (its value can be observed)"
    if isinstance(node, ast.Slice):
        return "a slice (its bounds can be observed)"
    if isinstance(node, ast.Tuple) and any(isinstance(e, ast.Slice) for e in node.elts):
        return "a tuple of slices"
    if isinstance(parent, ast.JoinedStr):
        return "a part of an f-string (the expression inside the braces can be observed)"
    if (
        isinstance(parent, ast.Call)
        and parent.func is node
        and isinstance(node, ast.Name)
        and node.id == "super"
        and not parent.args
        and not parent.keywords
    ):
        return "the super of a zero-argument super()"
    return None


def _scan(
    tree: ast.AST,
) -> tuple[dict[Span, list[ast.expr]], dict[Span, str]]:
    """Every expression node by span, outermost first, and, per span, why a node of it was blocked."""
    wrappable: dict[Span, list[ast.expr]] = {}
    blocked: dict[Span, str] = {}

    def span_of(node: ast.expr) -> Span | None:
        end_line, end_col = node.end_lineno, node.end_col_offset
        if end_line is None or end_col is None:
            return None
        return (node.lineno, node.col_offset, end_line, end_col)

    def visit(node: ast.AST, parent: ast.AST | None, field: str, blocked_by: str | None) -> None:
        if _is_docstring(node, parent, field):
            blocked_by = "a docstring"
        if isinstance(node, ast.pattern):
            blocked_by = blocked_by or "a match pattern"
        if isinstance(node, ast.expr):
            span = span_of(node)
            if span is not None:
                why = blocked_by or _why_not_wrappable(node, parent)
                if why is None:
                    wrappable.setdefault(span, []).append(node)
                else:
                    blocked.setdefault(span, why)
        for name, value in ast.iter_fields(node):
            child_block = blocked_by
            if child_block is None:
                if (type(node), name) in _BLOCKED_FIELDS:
                    child_block = "an annotation" if name != "format_spec" else "an f-string format spec"
                elif name == "type_params" or (_TYPE_ALIAS is not None and isinstance(node, _TYPE_ALIAS)):
                    child_block = "a type parameter or type alias"
            if isinstance(value, ast.AST):
                visit(value, node, name, child_block)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        visit(item, node, name, child_block)

    visit(tree, None, "", None)
    return wrappable, blocked


class _Wrapper(ast.NodeTransformer):
    """Wraps the chosen nodes (innermost first, so nested sites both work)."""

    def __init__(self, chosen: dict[int, list[int]]) -> None:
        self.chosen = chosen

    def visit(self, node: ast.AST) -> ast.AST:
        node = self.generic_visit(node)
        slots = self.chosen.get(id(node))
        if slots is None:
            return node
        assert isinstance(node, ast.expr)
        wrapped: ast.expr = node
        for slot in slots:
            call = ast.Call(
                func=ast.Name(id=OBSERVE_NAME, ctx=ast.Load()),
                args=[ast.Constant(value=slot), wrapped],
                keywords=[],
            )
            for new in (call, call.func, call.args[0]):
                ast.copy_location(new, node)
            wrapped = call
        return wrapped


def rewrite(tree: ast.Module, sites: Sequence[tuple[int, Span]]) -> tuple[list[int], list[tuple[int, str]]]:
    """Wrap, in place, the expression of each ``(slot, span)`` of ``sites``.

    Returns the slots wrapped and, for the others, ``(slot, reason)``. Where several nodes share a
    span (an f-string and its parts on Python < 3.12), the outermost wrappable one is taken."""
    wrappable, blocked = _scan(tree)
    chosen: dict[int, list[int]] = {}
    done: list[int] = []
    missed: list[tuple[int, str]] = []
    for slot, span in sites:
        nodes = wrappable.get(span)
        if nodes:
            chosen.setdefault(id(nodes[0]), []).append(slot)
            done.append(slot)
        elif span in blocked:
            missed.append((slot, f"the expression there is {blocked[span]}, which cannot be wrapped"))
        else:
            missed.append((slot, "no expression node has this position (the source changed?)"))
    if chosen:
        _Wrapper(chosen).visit(tree)
    return done, missed


# -- the observer -------------------------------------------------------------------------------


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


class _Finder(importlib.abc.MetaPathFinder):
    """Lets the other finders find a module; takes over loading only for files that have sites."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.rpartition(".")[2] not in self.observer._stems:
            return None  # the common case: one set lookup, then the normal machinery
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is None:
                continue
            origin = spec.origin
            if (
                origin is None
                or not isinstance(spec.loader, importlib.machinery.SourceFileLoader)
                or not spec.has_location
            ):
                return None
            key = self.observer._keys.get(_norm(origin))
            if key is None:
                return None
            spec.loader = _Loader(fullname, origin, self.observer, key)
            return spec
        return None


class _Loader(importlib.machinery.SourceFileLoader):
    """Loads a file that has sites from its source, rewritten; never reads or writes bytecode."""

    def __init__(self, fullname: str, path: str, observer: Observer, key: str) -> None:
        super().__init__(fullname, path)
        self._observer = observer
        self._key = key

    def get_code(self, fullname: str) -> types.CodeType:
        path = self.get_filename(fullname)
        return self._observer._compile_file(self._key, path, self.get_data(path))

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__[OBSERVE_NAME] = self._observer._recorder  # still resolves after finish()
        super().exec_module(module)


class Observer:
    """Records the sites' values while installed; see :func:`start`."""

    def __init__(self, sites: Sequence[dict[str, Any]], max_records: int) -> None:
        self.max_records = max_records
        self._ids: list[int] = []  # slot -> site id
        self._by_path: dict[str, list[tuple[int, Span]]] = {}  # payload path -> (slot, span)
        self._keys: dict[str, str] = {}  # normalised path -> payload path
        for slot, site in enumerate(sites):
            self._ids.append(site["id"])
            span = (site["line"], site["col"], site["end_line"], site["end_col"])
            self._by_path.setdefault(site["path"], []).append((slot, span))
        for path in self._by_path:
            self._keys[_norm(path)] = path
        self._stems = set()
        for path in self._by_path:
            stem = os.path.splitext(os.path.basename(path))[0]
            self._stems.add(os.path.basename(os.path.dirname(path)) if stem == "__init__" else stem)
        self._counts = [0] * len(self._ids)
        self._kinds: list[list[dict[str, Any]]] = [[] for _ in self._ids]
        self._files: dict[str, dict[str, Any]] = {}
        self._errors: list[str] = []
        self._recorder = self._make_recorder()
        self._finder = _Finder(self)
        self._installed = False
        self._saved_builtin: Any = _MISSING

    def _make_recorder(self) -> Callable[[int, Any], Any]:
        counts = self._counts
        limit = self.max_records
        record = self._record

        def __pyfast_observe__(slot: int, value: Any) -> Any:
            n = counts[slot]
            counts[slot] = n + 1
            if n < limit:
                record(slot, value)
            return value

        return __pyfast_observe__

    def _record(self, slot: int, value: Any) -> None:
        try:
            kind = describe(value)
        except Exception as exc:  # a value whose attributes raise: keep the run going
            kind = {"type": "object", "class": _class_name(type(value))}
            self._errors.append(f"site {self._ids[slot]}: could not describe a {kind['class']}: {exc!r}")
        kinds = self._kinds[slot]
        if kind not in kinds:
            kinds.append(kind)

    # -- installing ---------------------------------------------------------------------------

    def _install(self) -> None:
        self._saved_builtin = getattr(builtins, OBSERVE_NAME, _MISSING)
        if self._saved_builtin is not _MISSING:
            raise RuntimeError(f"builtins.{OBSERVE_NAME} is already set: is another observer running?")
        setattr(builtins, OBSERVE_NAME, self._recorder)
        sys.meta_path.insert(0, self._finder)
        self._installed = True
        for name, module in list(sys.modules.items()):
            filename = getattr(module, "__file__", None)
            if isinstance(filename, str) and _norm(filename) in self._keys:
                self._errors.append(
                    f"{self._keys[_norm(filename)]}: module {name!r} was imported before the observer "
                    "started; its sites are observed only if it is imported again"
                )

    def finish(self) -> dict[str, Any]:
        """Uninstall the hook and the builtin; return the results (JSON-able)."""
        if self._installed:
            self._installed = False
            while self._finder in sys.meta_path:
                sys.meta_path.remove(self._finder)
            if getattr(builtins, OBSERVE_NAME, None) is self._recorder:
                delattr(builtins, OBSERVE_NAME)
        sites = {
            str(site_id): {"count": self._counts[slot], "kinds": [dict(k) for k in self._kinds[slot]]}
            for slot, site_id in enumerate(self._ids)
        }
        return {
            "sites": sites,
            "files": {path: dict(info) for path, info in self._files.items()},
            "errors": list(self._errors),
        }

    # -- compiling ----------------------------------------------------------------------------

    def compile(self, path: str, source: str | bytes) -> types.CodeType:
        """Compile the main script (or any file) at ``path``, with its sites wrapped if it has any.

        A ``str`` source is hashed as its UTF-8 encoding; pass the bytes as read to get the file's
        hash. Syntax errors are raised as ``compile`` raises them."""
        key = self._keys.get(_norm(path))
        if key is None:
            return compile(source, path, "exec", dont_inherit=True)
        return self._compile_file(key, path, source)

    def _compile_file(self, key: str, path: str, source: str | bytes) -> types.CodeType:
        data = source.encode("utf-8") if isinstance(source, str) else source
        sites = self._by_path[key]
        info: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest(), "instrumented": 0, "missed": len(sites)}
        try:
            tree = ast.parse(source, path)
        except (SyntaxError, ValueError):
            code = compile(source, path, "exec", dont_inherit=True)  # raises what Python would
            self._errors.append(f"{key}: ast could not parse what compile() accepts; ran uninstrumented")
            self._files[key] = info
            return code
        done, missed = rewrite(tree, sites)
        try:
            code = compile(ast.fix_missing_locations(tree), path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, TypeError) as exc:  # a wrapping this module did wrong
            self._errors.append(f"{key}: the instrumented module did not compile ({exc}); ran uninstrumented")
            self._files[key] = info
            return compile(source, path, "exec", dont_inherit=True)
        info["instrumented"] = len(done)
        info["missed"] = len(missed)
        self._files[key] = info
        spans = dict(sites)
        for slot, reason in missed:
            span = spans[slot]
            self._errors.append(f"{key}:{span[0]}:{span[1]}: site {self._ids[slot]} missed: {reason}")
        return code


def _check_payload(payload: Any) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(payload, dict):
        raise PayloadError(f"observe payload: expected a dict, got {type(payload).__name__}")
    max_records = payload.get("max_records", 5)
    if not isinstance(max_records, int) or isinstance(max_records, bool) or max_records < 0:
        raise PayloadError(f"observe payload: max_records must be a non-negative int, got {max_records!r}")
    sites = payload.get("sites", [])
    if not isinstance(sites, list):
        raise PayloadError("observe payload: 'sites' must be a list")
    seen: set[int] = set()
    for i, site in enumerate(sites):
        if not isinstance(site, dict):
            raise PayloadError(f"observe payload: site #{i} is not a dict")
        for field in ("id", "line", "col", "end_line", "end_col"):
            value = site.get(field)
            if not isinstance(value, int) or isinstance(value, bool):
                raise PayloadError(f"observe payload: site #{i} needs an int {field!r}, got {value!r}")
        path = site.get("path")
        if not isinstance(path, str) or not os.path.isabs(path):
            raise PayloadError(f"observe payload: site {site['id']} needs an absolute 'path', got {path!r}")
        if site["id"] in seen:
            raise PayloadError(f"observe payload: site id {site['id']} appears twice")
        seen.add(site["id"])
    return sites, max_records


def start(payload: dict[str, Any]) -> Observer:
    """Install the observer for ``payload`` (see the module notes): call before the user's program runs.

    Raises :class:`PayloadError` for a malformed payload, before installing anything."""
    sites, max_records = _check_payload(payload)
    observer = Observer(sites, max_records)
    observer._install()
    return observer
