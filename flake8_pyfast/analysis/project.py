"""The project a linted file belongs to: modules, classes, functions and the call graph between them.

Heat in one module (:mod:`.heat`) sees per-step names and calls inside that module. Real code calls
across modules: ``BaseEnv.step()`` in one file calls ``self.computeObs()`` that a subclass in
another file implements; a training loop calls a batch-assembly function imported from a helper
module; ``self.helper.update()`` runs a method of a class defined elsewhere. This module builds,
from ``ast`` alone, a small index of the whole project and propagates heat through it.

*Facts* are per file and independent of where the file lives (relative imports are kept as written),
so they are cached on disk keyed by a hash of the file's bytes: flake8's parallel workers and
``pyfast-fix`` share them, and a changed file invalidates only its own entry. The cache lives in
``$PYFAST_CACHE_DIR`` (default ``$XDG_CACHE_HOME/pyfast/index``, i.e. ``~/.cache/pyfast/index``):
outside the project, so linting never writes into a checkout (read-only trees, git noise), and
content keys make one entry serve every copy of a file. Resolution (imports, bases, call targets)
and heat are computed per process from the facts, in a few milliseconds.

The project root is the nearest folder upwards holding ``pyproject.toml``, ``setup.cfg``,
``setup.py`` or ``.git``; failing that, the topmost package (folders with ``__init__.py``) holding
the file; failing that, the file's folder.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flake8_pyfast.analysis.heat import compile_patterns

#: bump when the facts' shape changes: old cache entries are then ignored
FACTS_VERSION = 9
#: bump when the shape of a project's stored summary changes
SUMMARY_VERSION = 3
ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
#: folders never scanned
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"})
#: a "project" bigger than this (a home folder, a monorepo) is not indexed: heat stays per module
MAX_FILES = 3000
MAX_DEPTH = 8  # call chains longer than this are not followed
_RESET = re.compile(r"_*reset$")
_TORCH_MODULE = ("torch.nn.Module", "torch.nn.modules.module.Module")

#: [kind, a, b, line, in_loop (None: under a periodic ``if n % k == 0``), [[argument index, [classes]]]];
#: kinds: d(otted name), s(elf method), a(ttribute of self).method, v(ariable holding an
#: instance).method, p(arameter).method, u (super())
Call = list[Any]


# ----------------------------------------------------------------------------------------------
# facts of one file
# ----------------------------------------------------------------------------------------------
def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


_COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SKIP = (ast.ClassDef, ast.Import, ast.ImportFrom, ast.Constant, ast.Name, ast.Pass, ast.Load, ast.Store)


class _FunctionFacts:
    """Calls (with "inside a loop of this function") and local instance bindings of one function.

    An explicit stack instead of :class:`ast.NodeVisitor`: this runs over every file of a project
    when the cache is cold, and the visitor's dispatch doubled the cost of parsing.
    """

    def __init__(self, self_name: str | None, imports: dict[str, list[Any]], called: set[str]) -> None:
        self.self_name = self_name
        self.imports = imports
        self.called = called  # every name the file calls (``m`` of ``anything.m()``), shared
        self.calls: list[Call] = []
        #: what a name / ``self.<attr>`` may hold: the callables it was assigned the result of
        self.local_class: dict[str, list[str]] = {}
        self.attr_class: dict[str, list[str]] = {}
        self.params: list[str] = []

    def run(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        positional = [a.arg for a in node.args.posonlyargs + node.args.args]
        self.params = positional[1:] if self.self_name is not None else positional
        for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            if arg.annotation is not None:
                self._bind(self.local_class, arg.arg, _dotted(arg.annotation))
        self._walk(node.body)
        self.finish()

    def finish(self) -> None:
        """Resolve the recorded calls against the instance bindings seen (after the walk)."""
        calls: list[Call] = []
        for call in self.calls:
            # positional arguments that hold instances of known classes: [index, [classes]]
            call[5] = [[i, self.local_class[n]] for i, n in enumerate(call[5]) if self.local_class.get(n)]
            if call[0] == "v":
                # ``agent = PPO(...)`` in one branch, ``agent = A2C(...)`` in another: both
                held = self.local_class.get(call[1], ())
                calls.extend(["v", cls, *call[2:]] for cls in held)
                if not held and call[1] in self.params:
                    calls.append(["p", *call[1:]])  # a method of a parameter: resolved from callers
            else:
                calls.append(call)
        self.calls = calls

    @staticmethod
    def _bind(table: dict[str, list[str]], name: str, cls: str | None) -> None:
        if cls is not None and cls not in table.setdefault(name, []):
            table[name].append(cls)

    def _walk(self, body: Sequence[ast.AST], loop: bool = False) -> None:
        # (node, inside a loop, under a periodic ``if n % k == 0:``, inside a nested def/lambda)
        stack: list[tuple[ast.AST, bool, bool, bool]] = [(n, loop, False, False) for n in reversed(body)]
        push = stack.append
        while stack:
            node, loop, periodic, nested = stack.pop()
            if isinstance(node, _SKIP):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    _add_import(self.imports, node)
                continue
            if isinstance(node, ast.Call):
                before = len(self.calls)
                self._call(node, loop, periodic)
                if nested:  # runs when the nested function is called, not when this one runs
                    for call in self.calls[before:]:
                        call.append(True)
            elif isinstance(node, ast.For | ast.AsyncFor):
                for n in node.orelse:
                    push((n, loop, periodic, nested))
                for n in node.body:
                    push((n, True, periodic, nested))
                push((node.iter, loop, periodic, nested))
                continue
            elif isinstance(node, ast.While):
                for n in node.orelse:
                    push((n, loop, periodic, nested))
                for n in node.body:
                    push((n, True, periodic, nested))
                push((node.test, True, periodic, nested))
                continue
            elif isinstance(node, _COMPS):
                loop = True
            elif isinstance(node, ast.If):
                every = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod) for n in ast.walk(node.test))
                for n in node.orelse:
                    push((n, loop, periodic, nested))
                for n in node.body:
                    push((n, loop, periodic or every, nested))
                push((node.test, loop, periodic, nested))
                continue
            elif isinstance(node, _FUNCS):
                for n in node.body:  # a nested function runs when called, not where defined
                    push((n, False, False, True))
                continue
            elif isinstance(node, ast.Lambda):
                push((node.body, False, False, True))
                continue
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    self._assign(t, node.value)
            elif isinstance(node, ast.AnnAssign):
                self._assign(node.target, node.value, node.annotation)
            for child in ast.iter_child_nodes(node):
                push((child, loop, periodic, nested))

    def _assign(self, target: ast.expr, value: ast.expr | None, annotation: ast.expr | None = None) -> None:
        cls = _dotted(annotation) if annotation is not None else None
        if isinstance(value, ast.ListComp | ast.List | ast.Tuple):
            # ``ctrls = [Controller(...) for _ in range(n)]``: ``ctrls[i].compute()`` reaches
            # Controller.compute (the list itself has no such method, so nothing else is meant)
            elts = [value.elt] if isinstance(value, ast.ListComp) else value.elts
            if elts and all(isinstance(e, ast.Call) for e in elts):
                names = {_dotted(e.func) for e in elts}  # type: ignore[attr-defined]
                value = elts[0] if len(names) == 1 else None
        if cls is None and isinstance(value, ast.Call):
            cls = _dotted(value.func)
        if isinstance(target, ast.Name):
            self._bind(self.local_class, target.id, cls)
        elif (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
              and target.value.id == self.self_name):
            self._bind(self.attr_class, target.attr, cls)

    def _call(self, node: ast.Call, loop: bool, periodic: bool) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            self.called.add(func.attr)
        elif isinstance(func, ast.Name):
            self.called.add(func.id)
        line = node.lineno
        hot = None if periodic else loop  # None: heat does not flow through a periodic call
        args = [a.id if isinstance(a, ast.Name) else "" for a in node.args]
        if isinstance(func, ast.Attribute):
            base = func.value
            if isinstance(base, ast.Name) and base.id == self.self_name:
                self.calls.append(["s", func.attr, "", line, hot, args])
            elif (isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name)
                  and base.value.id == self.self_name):
                self.calls.append(["a", base.attr, func.attr, line, hot, args])
            elif isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                self.calls.append(["u", func.attr, "", line, hot, args])
            elif isinstance(base, ast.Name):
                self.calls.append(["v", base.id, func.attr, line, hot, args])
                self.calls.append(["d", f"{base.id}.{func.attr}", "", line, hot, list(args)])
            elif isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name):
                self.calls.append(["v", base.value.id, func.attr, line, hot, args])  # ``ctrls[i].m()``
            elif (isinstance(base, ast.Subscript) and isinstance(base.value, ast.Attribute)
                  and isinstance(base.value.value, ast.Name) and base.value.value.id == self.self_name):
                self.calls.append(["a", base.value.attr, func.attr, line, hot, args])  # ``self.ctrls[i].m()``
            else:
                dotted = _dotted(func)
                if dotted is not None:
                    self.calls.append(["d", dotted, "", line, hot, args])
        elif isinstance(func, ast.Name):
            self.calls.append(["d", func.id, "", line, hot, args])


def _add_import(out: dict[str, list[Any]], node: ast.Import | ast.ImportFrom) -> None:
    """local name -> [level, dotted] (the first binding in the file wins)."""
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.asname:
                out.setdefault(a.asname, [0, a.name])
            else:
                head = a.name.split(".")[0]
                out.setdefault(head, [0, head])
    else:
        for a in node.names:
            if a.name != "*":
                dotted = f"{node.module}.{a.name}" if node.module else a.name
                out.setdefault(a.asname or a.name, [node.level, dotted])


def _top_statements(body: list[ast.stmt]) -> Iterator[tuple[ast.stmt, bool]]:
    """Statements that run at import time (through if/try/with/loops), with 'inside a loop'."""
    stack: list[tuple[list[ast.stmt], bool]] = [(body, False)]
    while stack:
        stmts, loop = stack.pop()
        for s in stmts:
            yield s, loop
            if isinstance(s, ast.For | ast.AsyncFor | ast.While):
                stack.append((s.body, True))
                stack.append((s.orelse, loop))
            elif isinstance(s, ast.If):
                stack.append((s.body, loop))
                stack.append((s.orelse, loop))
            elif isinstance(s, ast.With | ast.AsyncWith):
                stack.append((s.body, loop))
            elif isinstance(s, ast.Try):
                for part in (s.body, s.orelse, s.finalbody, *(h.body for h in s.handlers)):
                    stack.append((part, loop))


def extract_facts(tree: ast.Module) -> dict[str, Any]:
    """The per-file facts: JSON-able, independent of the file's path."""
    classes: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    imports: dict[str, list[Any]] = {}
    called: set[str] = set()
    top = _FunctionFacts(None, imports, called)  # import-time code
    for stmt, loop in _top_statements(tree.body):
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            _add_import(imports, stmt)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            ff = _FunctionFacts(None, imports, called)
            ff.run(stmt)
            functions[stmt.name] = {"line": stmt.lineno, "params": ff.params, "calls": ff.calls}
        elif isinstance(stmt, ast.ClassDef):
            attrs: dict[str, list[str]] = {}
            methods = []
            for s in stmt.body:
                if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                static = any(_dotted(d) == "staticmethod" for d in s.decorator_list)
                params = s.args.posonlyargs + s.args.args
                ff = _FunctionFacts(params[0].arg if params and not static else None, imports, called)
                ff.run(s)
                functions[f"{stmt.name}.{s.name}"] = {"line": s.lineno, "params": ff.params, "calls": ff.calls}
                methods.append(s.name)
                for k, held in ff.attr_class.items():
                    for c in held:
                        _FunctionFacts._bind(attrs, k, c)
            classes[stmt.name] = {
                "line": stmt.lineno,
                "bases": [b for b in (_dotted(b) for b in stmt.bases) if b],
                "methods": methods,
                "attrs": {k: v for k, v in attrs.items() if v},
            }
        elif not isinstance(stmt, ast.If | ast.Try | ast.With | ast.AsyncWith):
            # a simple statement (or a loop's head): its calls run at import time, and a script's
            # objects (``ctrls = [Controller() ...]``) are known to the calls after them
            if isinstance(stmt, ast.For | ast.AsyncFor):
                top._walk([stmt.target, stmt.iter], loop)
            elif isinstance(stmt, ast.While):
                top._walk([stmt.test], True)
            else:
                top._walk([stmt], loop)
    top.finish()
    return {"v": FACTS_VERSION, "imports": imports, "classes": classes, "functions": functions,
            "module_calls": top.calls, "called": sorted(called)}


def _name_of(fkey: str) -> str:
    """``step`` of ``envs.base:BaseEnv.step`` and of ``envs.base:step``."""
    qual = fkey.partition(":")[2]
    return qual.rpartition(".")[2] if "." in qual else qual


# ----------------------------------------------------------------------------------------------
# the cache
# ----------------------------------------------------------------------------------------------
def cache_dir() -> Path:
    env = os.environ.get("PYFAST_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pyfast" / "index"


@dataclass
class CacheStats:
    hits: int = 0
    parsed: int = 0
    summaries: int = 0  # projects whose heat came whole from the disk


STATS = CacheStats()


def file_facts(data: bytes, cache: Path | None) -> dict[str, Any] | None:
    """Facts of a file's bytes, from the cache or parsed (and stored). ``None``: unparsable."""
    key = hashlib.blake2b(data, digest_size=16).hexdigest()
    entry = cache / key[:2] / f"{key}.json" if cache is not None else None
    if entry is not None:
        try:
            facts = json.loads(entry.read_bytes())
            if facts.get("v") == FACTS_VERSION:
                STATS.hits += 1
                return facts  # type: ignore[no-any-return]
        except (OSError, ValueError):
            pass
    STATS.parsed += 1
    try:
        facts = extract_facts(ast.parse(data))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        facts = None
    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(facts), encoding="utf-8")
            os.replace(tmp, entry)  # atomic: parallel workers never read half a file
        except OSError:
            pass  # a read-only cache only costs time
    return facts


# ----------------------------------------------------------------------------------------------
# the project
# ----------------------------------------------------------------------------------------------
_ROOTS: dict[Path, tuple[Path, Path, bool]] = {}


def find_root(path: Path) -> tuple[Path, Path, bool]:
    """(folder to scan, folder module names are relative to, scan sub-folders too) for ``path``."""
    folder = path.parent
    found = _ROOTS.get(folder)
    if found is None:
        found = _ROOTS[folder] = _find_root(folder)
    return found


def _find_root(folder: Path) -> tuple[Path, Path, bool]:
    for d in (folder, *folder.parents):
        if any((d / m).exists() for m in ROOT_MARKERS):
            return d, d, True
    top = None
    d = folder
    while (d / "__init__.py").exists():
        top = d
        if d.parent == d:
            break
        d = d.parent
    if top is not None:
        return top, top.parent, True
    return folder, folder, False  # a loose folder (/tmp, Downloads): its own files only


def _python_files(root: Path, recursive: bool) -> list[Path] | None:
    if not recursive:
        try:
            return [root / n for n in os.listdir(root) if n.endswith(".py")][: MAX_FILES]
        except OSError:
            return None
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS
                       and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg"))]
        out.extend(Path(dirpath, f) for f in filenames if f.endswith(".py"))
        if len(out) > MAX_FILES:
            return None
    return out


def _module_name(rel: Path) -> tuple[str, bool]:
    parts = list(rel.with_suffix("").parts)
    package = parts[-1] == "__init__"
    if package:
        parts.pop()
    return ".".join(parts), package


@dataclass
class Module:
    name: str
    rel: str  # posix path relative to the project root, for messages
    package: bool
    facts: dict[str, Any]


@dataclass
class ModuleHeat:
    """What the project says about one module: heat reasons and torch-module classes."""

    reasons: dict[str, str]  # qualified name in the module ("f", "Cls.m") -> phrase
    param_resets: frozenset[str]  # "Cls.reset" methods that re-initialise a torch module
    #: names of the module's functions and methods that other modules of the project call by that
    #: name (whatever the receiver): their arguments cannot be read from this module's call sites
    called_elsewhere: frozenset[str] = frozenset()
    #: functions only set-up code calls (see :meth:`ProjectIndex.setup_functions`): cold
    setup: frozenset[str] = frozenset()


@dataclass
class Hot:
    """Why a function is hot: how ("name", "from", "loop"), the calling function and the call."""

    how: str
    caller: str | None = None  # function key, or "module:<name>" for import-time code
    line: int = 0
    depth: int = 0


@dataclass
class ProjectIndex:
    root: Path
    modules: dict[str, Module] = field(default_factory=dict)
    by_rel: dict[str, str] = field(default_factory=dict)  # relative path -> module name
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # relative path -> mtime, size
    _suffix: dict[str, str | None] = field(default_factory=dict)
    _heat: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, Hot]] = field(default_factory=dict)
    _edges: list[tuple[str, list[str], int, bool]] | None = None
    #: functions called from inside a nested function or lambda (a callback: when it runs is unknown)
    _from_nested: set[str] = field(default_factory=set)
    _subclasses: dict[str, list[str]] = field(default_factory=dict)
    _torch: dict[str, bool] = field(default_factory=dict)
    _per_module: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, ModuleHeat]] = field(
        default_factory=dict)

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def build(cls, scan: Path, base: Path, recursive: bool, cache: Path | None) -> ProjectIndex | None:
        files = _python_files(scan, recursive)
        if files is None:
            return None
        index = cls(scan)
        files.sort()
        # flake8's workers start together on a cold cache: each reads the files from its own end
        # (by process id), finds what the other one already stored, and parses only what is left
        read_order = files[::-1] if os.getpid() % 2 else files
        found: dict[Path, tuple[os.stat_result, dict[str, Any]]] = {}
        for f in read_order:
            try:
                st = f.stat()
                data = f.read_bytes()
            except OSError:
                continue
            facts = file_facts(data, cache)
            if facts is not None:
                found[f] = (st, facts)
        for f in files:  # modules in one order, whoever read them: heat reasons are deterministic
            if f not in found:
                continue
            st, facts = found[f]
            try:
                name, package = _module_name(f.relative_to(base))
            except ValueError:
                continue
            rel = f.relative_to(scan).as_posix()
            index.modules[name] = Module(name, rel, package, facts)
            index.by_rel[rel] = name
            index.stats[rel] = (st.st_mtime_ns, st.st_size)
        for name in index.modules:
            parts = name.split(".")
            for i in range(1, len(parts)):
                suffix = ".".join(parts[i:])
                index._suffix[suffix] = None if suffix in index._suffix else name
        return index

    # -- resolution ----------------------------------------------------------------------------
    def find_module(self, dotted: str) -> str | None:
        if dotted in self.modules:
            return dotted
        return self._suffix.get(dotted)

    def _absolute(self, mod: Module, level: int, dotted: str) -> str:
        if not level:
            return dotted
        parts = mod.name.split(".")
        if not mod.package:
            parts = parts[:-1]
        parts = parts[: max(0, len(parts) - (level - 1))]
        return ".".join([*parts, dotted]) if parts else dotted

    def resolve(self, modname: str, dotted: str, depth: int = 0) -> tuple[str, str] | None:
        """What ``dotted`` names in module ``modname``: ("class"|"func"|"module"|"external", key)."""
        mod = self.modules.get(modname)
        if mod is None or depth > 6:
            return None
        head, _, rest = dotted.partition(".")
        facts = mod.facts
        if head in facts["classes"]:
            if not rest:
                return "class", f"{modname}:{head}"
            if "." not in rest and f"{head}.{rest}" in facts["functions"]:
                return "func", f"{modname}:{head}.{rest}"
            return None
        if head in facts["functions"]:
            return ("func", f"{modname}:{head}") if not rest else None
        imp = facts["imports"].get(head)
        if imp is None:
            return None
        full = self._absolute(mod, imp[0], imp[1]) + (f".{rest}" if rest else "")
        return self.resolve_absolute(full, depth + 1)

    def resolve_absolute(self, full: str, depth: int = 0) -> tuple[str, str] | None:
        parts = full.split(".")
        for i in range(len(parts), 0, -1):
            found = self.find_module(".".join(parts[:i]))
            if found is not None:
                rest = ".".join(parts[i:])
                if not rest:
                    return "module", found
                return self.resolve(found, rest, depth + 1)
        return "external", full

    def class_facts(self, key: str) -> dict[str, Any]:
        modname, _, name = key.partition(":")
        return self.modules[modname].facts["classes"][name]  # type: ignore[no-any-return]

    def bases(self, key: str) -> list[str]:
        modname = key.partition(":")[0]
        out = []
        for b in self.class_facts(key)["bases"]:
            r = self.resolve(modname, b)
            if r is not None and r[0] == "class" and r[1] != key:
                out.append(r[1])
        return out

    def mro(self, key: str) -> list[str]:
        out: list[str] = []
        todo = [key]
        while todo and len(out) < 50:
            k = todo.pop(0)
            if k not in out:
                out.append(k)
                todo.extend(self.bases(k))
        return out

    def is_torch_module(self, key: str) -> bool:
        known = self._torch.get(key)
        if known is not None:
            return known
        self._torch[key] = False  # cycle guard
        modname = key.partition(":")[0]
        result = False
        for b in self.class_facts(key)["bases"]:
            r = self.resolve(modname, b)
            if r is None:
                continue
            if (r[0] == "external" and r[1] in _TORCH_MODULE) or (r[0] == "class" and self.is_torch_module(r[1])):
                result = True
        self._torch[key] = result
        return result

    def lookup_method(self, cls_key: str, method: str) -> str | None:
        for k in self.mro(cls_key):
            if method in self.class_facts(k)["methods"]:
                return f"{k}.{method}"
        return None

    def _overrides(self, cls_key: str, method: str) -> list[str]:
        out = []
        todo = list(self._subclasses.get(cls_key, ()))
        seen = set()
        while todo:
            k = todo.pop()
            if k in seen:
                continue
            seen.add(k)
            if method in self.class_facts(k)["methods"]:
                out.append(f"{k}.{method}")
            todo.extend(self._subclasses.get(k, ()))
        return out

    def _attr_classes(self, cls_key: str, attr: str) -> list[str]:
        for k in self.mro(cls_key):
            dotted = self.class_facts(k)["attrs"].get(attr)
            if dotted:
                found = (self.resolve(k.partition(":")[0], d) for d in dotted)
                return [r[1] for r in found if r is not None and r[0] == "class"]
        return []

    def _targets(self, modname: str, cls_key: str | None, call: Call) -> list[str]:
        kind, a, b = call[0], call[1], call[2]
        if kind == "d":
            r = self.resolve(modname, a)
            return [r[1]] if r is not None and r[0] == "func" else []
        if kind == "v":
            r = self.resolve(modname, a)
            if r is None or r[0] != "class":
                return []
            m = self.lookup_method(r[1], b)
            return [m] if m else []
        if cls_key is None:
            return []
        if kind == "s":
            m = self.lookup_method(cls_key, a)
            return ([m] if m else []) + self._overrides(cls_key, a)
        if kind == "a":
            out = []
            for k in self._attr_classes(cls_key, a):
                m = self.lookup_method(k, b)
                out.extend(([m] if m else []) + self._overrides(k, b))
            return out
        if kind == "u":
            for base in self.bases(cls_key):
                m = self.lookup_method(base, a)
                if m:
                    return [m]
        return []

    def _pass_arguments(self, modname: str, targets: list[str], args: list[Any],
                        param_classes: dict[tuple[str, str], list[str]]) -> None:
        """Record the classes of instances passed as positional arguments to ``targets``."""
        for target in targets:
            tmod, _, tqual = target.partition(":")
            params = self.modules[tmod].facts["functions"][tqual]["params"]
            for i, classes in args:
                if i < len(params):
                    held = param_classes.setdefault((target, params[i]), [])
                    for dotted in classes:
                        r = self.resolve(modname, dotted)
                        if r is not None and r[0] == "class" and r[1] not in held:
                            held.append(r[1])

    def edges(self) -> list[tuple[str, list[str], int, bool]]:
        """(caller key, callee keys, line, call inside a loop of the caller) for every call."""
        if self._edges is not None:
            return self._edges
        for modname, mod in self.modules.items():
            for cname in mod.facts["classes"]:
                for base in self.bases(f"{modname}:{cname}"):
                    self._subclasses.setdefault(base, []).append(f"{modname}:{cname}")
        edges: list[tuple[str, list[str], int, bool]] = []
        param_classes: dict[tuple[str, str], list[str]] = {}  # (function, parameter) -> classes
        deferred = []
        for modname, mod in self.modules.items():
            for qual, fn in mod.facts["functions"].items():
                cls_key = f"{modname}:{qual.partition('.')[0]}" if "." in qual else None
                caller = f"{modname}:{qual}"
                for call in fn["calls"]:
                    if call[4] is None:
                        continue  # a periodic call (``if n % k == 0:``) does not make its callee hot
                    if call[0] == "p":
                        deferred.append((caller, cls_key, call))
                        continue
                    targets = self._targets(modname, cls_key, call)
                    if targets:
                        edges.append((caller, targets, call[3], bool(call[4])))
                        self._pass_arguments(modname, targets, call[5], param_classes)
                        if len(call) > 6:
                            self._from_nested.update(targets)
            for call in mod.facts["module_calls"]:  # import-time code: a script's loop
                if call[4] is None or call[0] == "p":
                    continue
                targets = self._targets(modname, None, call)
                if targets:
                    edges.append((f"module:{modname}", targets, call[3], bool(call[4])))
                    self._pass_arguments(modname, targets, call[5], param_classes)
                    if len(call) > 6:
                        self._from_nested.update(targets)
        for caller, _cls_key, call in deferred:  # ``def update(self, storage): storage.batches()``
            targets = []
            for k in param_classes.get((caller, call[1]), ()):
                m = self.lookup_method(k, call[2])
                targets.extend(([m] if m else []) + self._overrides(k, call[2]))
            if targets:
                edges.append((caller, targets, call[3], bool(call[4])))
                if len(call) > 6:
                    self._from_nested.update(targets)
        self._edges = edges
        return edges

    # -- heat ----------------------------------------------------------------------------------
    def heat(self, hot_patterns: tuple[str, ...], cold_patterns: tuple[str, ...]) -> dict[str, Hot]:
        """Function key -> why it is hot, for every hot function of the project."""
        cache_key = (hot_patterns, cold_patterns)
        done = self._heat.get(cache_key)
        if done is not None:
            return done
        hot_re, cold_re = compile_patterns(hot_patterns), compile_patterns(cold_patterns)

        name_of = _name_of

        def cold(fkey: str) -> bool:
            return fkey.startswith("module:") or cold_re.match(name_of(fkey)) is not None

        result: dict[str, Hot] = {}
        frontier: list[str] = []
        for modname, mod in self.modules.items():
            for qual in mod.facts["functions"]:
                fkey = f"{modname}:{qual}"
                name = name_of(fkey)
                if hot_re.match(name) and not cold_re.match(name) and not self.param_reset(fkey):
                    result[fkey] = Hot("name")
                    frontier.append(fkey)
        edges = self.edges()
        by_caller: dict[str, list[tuple[list[str], int]]] = {}
        for caller, targets, line, in_loop in edges:
            by_caller.setdefault(caller, []).append((targets, line))
            if in_loop and (caller.startswith("module:") or not cold(caller)):
                for t in targets:
                    if t not in result and not cold(t):
                        result[t] = Hot("loop", caller, line, 1)
                        frontier.append(t)
        depth = 1
        while frontier and depth <= MAX_DEPTH:
            nxt = []
            for caller in frontier:
                for targets, line in by_caller.get(caller, ()):
                    for t in targets:
                        if t not in result and not cold(t):
                            result[t] = Hot("from", caller, line, depth)
                            nxt.append(t)
            frontier = nxt
            depth += 1
        self._heat[cache_key] = result
        return result

    def setup_functions(self, hot_patterns: tuple[str, ...], cold_patterns: tuple[str, ...]) -> set[str]:
        """Functions that only set-up code calls: ``__init__`` calls ``self._observation_space()``,
        which loops over the robot's joints once. Not hot, not named cold, called at least once,
        and every caller is a set-up function (named cold, or itself only called by those); a call
        from module level (a script's ``main()``) does not count as set-up."""
        hot = self.heat(hot_patterns, cold_patterns)
        cold_re = compile_patterns(cold_patterns)
        callers: dict[str, set[str]] = {}
        for caller, targets, _line, _loop in self.edges():
            for t in targets:
                callers.setdefault(t, set()).add(caller)

        def named_cold(fkey: str) -> bool:
            return cold_re.match(_name_of(fkey)) is not None or self.param_reset(fkey)

        setup: set[str] = set()
        changed = True
        while changed:
            changed = False
            for fkey, by in callers.items():
                if fkey in setup or fkey in hot or named_cold(fkey) or fkey in self._from_nested:
                    continue
                if all(not c.startswith("module:") and c not in hot and (named_cold(c) or c in setup) for c in by):
                    setup.add(fkey)
                    changed = True
        return setup

    def module_heat(self, modname: str, hot_patterns: tuple[str, ...],
                    cold_patterns: tuple[str, ...]) -> ModuleHeat:
        """Heat reasons for the functions of one module (all modules' answers found at once)."""
        key = (hot_patterns, cold_patterns)
        per_module = self._per_module.get(key)
        if per_module is None:
            reasons: dict[str, dict[str, str]] = {}
            for fkey, hot in self.heat(hot_patterns, cold_patterns).items():
                mod, _, qual = fkey.partition(":")
                text = self.describe(fkey, hot, self.modules[mod].rel)
                if text is not None:
                    reasons.setdefault(mod, {})[qual] = text
            callers = self.callers_by_name()
            setup = self.setup_functions(hot_patterns, cold_patterns)
            per_module = self._per_module[key] = {
                mod: ModuleHeat(
                    reasons.get(mod, {}),
                    frozenset(q for q in m.facts["functions"] if self.param_reset(f"{mod}:{q}")),
                    frozenset(name for name in {q.rpartition(".")[2] for q in m.facts["functions"]}
                              if callers.get(name, set()) - {mod}),
                    frozenset(q for q in m.facts["functions"] if f"{mod}:{q}" in setup))
                for mod, m in self.modules.items()
            }
        return per_module[modname]

    def callers_by_name(self) -> dict[str, set[str]]:
        """Called name (the last part: ``m`` of ``x.y.m()``) -> the modules whose code calls it."""
        out: dict[str, set[str]] = {}
        for modname, mod in self.modules.items():
            for name in mod.facts["called"]:
                out.setdefault(name, set()).add(modname)
        return out

    def param_reset(self, fkey: str) -> bool:
        """``reset()`` of a torch module re-initialises parameters: code run once, not per step."""
        modname, _, qual = fkey.partition(":")
        cls, _, method = qual.rpartition(".")
        return bool(cls) and _RESET.match(method) is not None and self.is_torch_module(f"{modname}:{cls}")

    def describe(self, fkey: str, hot: Hot, here: str) -> str | None:
        """The message phrase for a function made hot from elsewhere (``None`` for heat by name)."""
        if hot.how == "name" or hot.caller is None:
            return None
        qual = fkey.partition(":")[2]
        name = qual.rpartition(".")[2]
        if hot.caller.startswith("module:"):
            modname = hot.caller.partition(":")[2]
            caller_name = None
        else:
            modname, _, caller_name = hot.caller.partition(":")
        rel = self.modules[modname].rel
        where = f"line {hot.line}" if rel == here else f"{rel}:{hot.line}"
        if caller_name is None:
            return f"in `{name}()`, called in a loop ({where})"
        if hot.how == "loop":
            return f"in `{name}()`, called in a loop in `{caller_name}()` ({where})"
        return f"in `{name}()`, called from `{caller_name}()` ({where})"


_INDEXES: dict[Path, ProjectIndex | None] = {}


def _locate(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result, tuple[Path, Path, bool], str] | None:
    """(resolved path, its stat, :func:`find_root`'s answer, path relative to the scanned root), or
    ``None`` for a path that is not a file on disk."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None
    if not p.is_file():
        return None
    p = p.resolve()
    root = find_root(p)
    return p, st, root, p.relative_to(root[0]).as_posix()


def project_for(path: str | os.PathLike[str], cache: Path | None = None) -> tuple[ProjectIndex, str] | None:
    """The index of the project holding ``path`` (kept for this process, rebuilt when the linted
    file changed on disk since), and the file's path relative to the project; ``None`` when the
    file is not on disk or the project is too big to index."""
    found = _locate(path)
    if found is None:
        return None
    _p, st, (scan, base, recursive), rel = found
    index = _INDEXES.get(scan)
    if scan not in _INDEXES or (index is not None and index.stats.get(rel) != (st.st_mtime_ns, st.st_size)):
        index = _INDEXES[scan] = ProjectIndex.build(scan, base, recursive,
                                                    cache if cache is not None else cache_dir())
    if index is None:
        return None
    return (index, rel) if rel in index.by_rel else None


def clear_memory() -> None:
    """Forget the indexes built in this process (the disk cache stays)."""
    _INDEXES.clear()
    _ROOTS.clear()
    _SUMMARIES.clear()


@dataclass
class _Summary:
    """Every module's heat for one project and one set of patterns, with the file stats it was
    computed from: what a worker needs, without the facts or the call graph."""

    stats: dict[str, tuple[int, int]]
    heat: dict[str, ModuleHeat]


_SUMMARIES: dict[tuple[Path, tuple[str, ...], tuple[str, ...]], _Summary] = {}


def _summary_key(scan: Path, stats: dict[str, tuple[int, int]], hot: tuple[str, ...],
                 cold: tuple[str, ...]) -> str:
    text = json.dumps([FACTS_VERSION, SUMMARY_VERSION, str(scan), hot, cold, sorted(stats.items())])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _summary_file(cache: Path, key: str) -> Path:
    return cache / "projects" / f"{key}.json"


def _load_summary(path: Path, stats: dict[str, tuple[int, int]]) -> _Summary | None:
    try:
        doc = json.loads(path.read_bytes())
        heat = {rel: ModuleHeat(dict(reasons), frozenset(resets), frozenset(elsewhere), frozenset(setup))
                for rel, (reasons, resets, elsewhere, setup) in doc.items()}
    except (OSError, ValueError, TypeError):
        return None
    return _Summary(stats, heat)


def _store_summary(path: Path, summary: _Summary) -> None:
    doc = {rel: [h.reasons, sorted(h.param_resets), sorted(h.called_elsewhere), sorted(h.setup)]
           for rel, h in summary.heat.items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _project_stats(scan: Path, recursive: bool) -> dict[str, tuple[int, int]] | None:
    files = _python_files(scan, recursive)
    if files is None:
        return None
    stats = {}
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        stats[f.relative_to(scan).as_posix()] = (st.st_mtime_ns, st.st_size)
    return stats


def module_heat(path: str | os.PathLike[str], hot_patterns: tuple[str, ...],
                cold_patterns: tuple[str, ...]) -> ModuleHeat | None:
    """The project's heat for the module at ``path``.

    The answer for every module of the project is kept on disk too, keyed by the project's file
    stats (path, mtime, size) and the patterns: a flake8 worker on an unchanged project reads one
    file instead of every module's facts; any change to any file (or to the patterns) makes a new
    key, and the facts, keyed by content, rebuild it. In one process the summary is reused while
    the linted file is unchanged (like the index)."""
    found = _locate(path)
    if found is None:
        return None
    p, st, (scan, _base, recursive), rel = found
    mem_key = (scan, hot_patterns, cold_patterns)
    summary = _SUMMARIES.get(mem_key)
    if summary is None or summary.stats.get(rel) != (st.st_mtime_ns, st.st_size):
        summary = _summary(p, scan, recursive, hot_patterns, cold_patterns)
        if summary is None:
            return None
        _SUMMARIES[mem_key] = summary
    return summary.heat.get(rel)


def _summary(path: Path, scan: Path, recursive: bool, hot: tuple[str, ...],
             cold: tuple[str, ...]) -> _Summary | None:
    cache = cache_dir()
    stats = _project_stats(scan, recursive)
    if stats is None:
        return None
    stored = _summary_file(cache, _summary_key(scan, stats, hot, cold))
    summary = _load_summary(stored, stats)
    if summary is not None:
        STATS.summaries += 1
        return summary
    found = project_for(path, cache)
    if found is None:
        return None
    index = found[0]
    heat = {m.rel: index.module_heat(name, hot, cold) for name, m in index.modules.items()}
    summary = _Summary(dict(index.stats), heat)
    _store_summary(_summary_file(cache, _summary_key(scan, index.stats, hot, cold)), summary)
    return summary
