"""One pass over the ``ast``: scopes, bindings, loops, ``no_grad`` context and parent links.

Nothing is written onto the ``ast`` nodes: parent links and per-statement facts live in side
tables (:class:`Tables`) keyed by ``id(node)``. Parent attributes would make every tree cyclic,
and flake8's trees would then wait for the cyclic garbage collector instead of being freed at
once (measured: that alone cost more than the analysis). Each statement maps to a
:class:`StmtInfo` (its scope, the chain of statement lists it sits in, the loops around it inside
its scope, and whether it runs under ``torch.no_grad()``); statements of one block share one.
"""

from __future__ import annotations

import ast
from ast import AST
from collections.abc import Callable, Iterable
from typing import Any

Pos = tuple[int, int]

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Binding:
    """One place where a name gets a value."""

    __slots__ = (
        "annotation",
        "blocks",
        "how",
        "loops",
        "name",
        "node",
        "path",
        "pos",
        "qualname",
        "scope",
        "stmt",
        "value",
    )

    def __init__(self, name: str, how: str, value: ast.expr | None, path: tuple[int | None, ...],
                 pos: Pos, stmt: ast.AST, blocks: tuple[int, ...], loops: tuple[ast.AST, ...],
                 scope: Scope, node: ast.AST | None = None, qualname: str | None = None,
                 annotation: ast.expr | None = None) -> None:
        self.name = name
        #: assign | aug | ann | for | comp | with | param | import | def | class | named |
        #: except | del | other
        self.how = how
        self.value = value
        self.path = path
        self.pos = pos
        self.stmt = stmt
        self.blocks = blocks
        self.loops = loops
        self.scope = scope
        self.node = node
        self.qualname = qualname
        self.annotation = annotation

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Binding({self.name!r}, {self.how}, line {self.pos[0]})"


class ClassInfo:
    __slots__ = ("attrs", "methods", "name", "node")

    def __init__(self, node: ast.ClassDef) -> None:
        self.node = node
        self.name = node.name
        #: ``self.<attr> = value`` anywhere in the class's methods
        self.attrs: dict[str, list[Binding]] = {}
        self.methods: dict[str, Scope] = {}


class Scope:
    __slots__ = ("bindings", "calls", "children", "cls", "declared", "hot_reason", "kind",
                 "loads", "name", "node", "nograd", "parent", "self_name", "setup")

    def __init__(self, kind: str, node: ast.AST, parent: Scope | None, name: str = "") -> None:
        self.kind = kind  # module | class | function | lambda | comprehension
        self.node = node
        self.parent = parent
        self.name = name
        self.bindings: dict[str, list[Binding]] = {}
        self.loads: dict[str, list[ast.Name]] = {}
        self.calls: list[ast.Call] = []
        self.children: list[Scope] = []
        self.cls: ClassInfo | None = None  # for methods: the class they belong to
        self.self_name: str | None = None
        self.declared: dict[str, str] = {}  # name -> "global" | "nonlocal"
        self.hot_reason: str | None = None
        self.setup = False  # a function only set-up code calls: cold, loops inside it too
        self.nograd = False

    @property
    def is_function(self) -> bool:
        return self.kind == "function"

    def function_scope(self) -> Scope:
        """The nearest enclosing function, class or module scope (skipping lambdas/comprehensions)."""
        s = self
        while s.kind in ("lambda", "comprehension") and s.parent is not None:
            s = s.parent
        return s

    def lookup(self, name: str) -> Scope | None:
        """The scope whose bindings a use of ``name`` here refers to (Python's LEGB, minus B)."""
        s: Scope | None = self
        first = True
        while s is not None:
            if s.kind == "class" and not first:
                s = s.parent
                continue
            decl = s.declared.get(name)
            if decl == "global":
                return _module_of(s)
            if name in s.bindings and decl != "nonlocal":
                return s
            first = False
            s = s.parent
        return None


class StmtInfo:
    __slots__ = ("blocks", "loops", "nograd", "scope")

    def __init__(self, scope: Scope, blocks: tuple[int, ...], loops: tuple[ast.AST, ...], nograd: bool) -> None:
        self.scope = scope
        self.blocks = blocks
        self.loops = loops
        self.nograd = nograd


class Tables:
    """Everything the pass learns about nodes, keyed by ``id(node)`` (the tree must stay alive)."""

    __slots__ = ("aug", "class_info", "keep", "node_scope", "own_scope", "parent", "stmt", "synthetic")

    def __init__(self) -> None:
        self.parent: dict[int, ast.AST] = {}
        self.stmt: dict[int, StmtInfo] = {}
        #: names, binding targets, parameters; other expressions are resolved and cached lazily
        self.node_scope: dict[int, Scope] = {}
        #: function / lambda / comprehension node -> the scope it opens
        self.own_scope: dict[int, Scope] = {}
        self.class_info: dict[int, ClassInfo] = {}
        #: ``x += y`` -> a synthetic ``x + y`` that stands for the value bound
        self.aug: dict[int, ast.BinOp] = {}
        self.synthetic: set[int] = set()
        self.keep: list[ast.AST] = []  # synthetic nodes, kept alive so that their ids stay unique


#: fields that never hold nodes worth visiting: contexts and operators are shared singletons
_SKIP_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "name", "asname", "module", "level",
                          "kind", "type_comment", "conversion", "is_async", "n", "s", "value_str"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    fields = tuple(f for f in cls._fields if f not in _SKIP_FIELDS)  # type: ignore[attr-defined]
    if cls is ast.Constant:
        fields = ()
    _CHILD_FIELDS[cls] = fields
    return fields


def _module_of(scope: Scope) -> Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


def _is_grad_context(expr: ast.expr) -> bool | None:
    """``True`` for ``torch.no_grad()``-like context managers, ``False`` for ``enable_grad()``."""
    if not isinstance(expr, ast.Call):
        return None
    func = expr.func
    attr = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if attr in ("no_grad", "inference_mode"):
        # inference_mode(False) turns it off
        return not (expr.args and isinstance(expr.args[0], ast.Constant) and expr.args[0].value is False)
    if attr == "enable_grad":
        return False
    if attr == "set_grad_enabled" and expr.args and isinstance(expr.args[0], ast.Constant):
        return not bool(expr.args[0].value)
    return None


def _decorator_nograd(decorators: Iterable[ast.expr]) -> bool:
    for d in decorators:
        if isinstance(d, ast.Call) and _is_grad_context(d):
            return True
        if isinstance(d, ast.Attribute | ast.Name):
            name = d.attr if isinstance(d, ast.Attribute) else d.id
            if name in ("no_grad", "inference_mode"):
                return True
    return False


class ScopeBuilder:
    """Walks the tree once. ``interest`` names the node classes the rules want collected."""

    def __init__(self, interest: frozenset[type[ast.AST]]) -> None:
        self.interest = interest
        self.collected: dict[type[ast.AST], list[ast.AST]] = {t: [] for t in interest}
        self.classes: list[ClassInfo] = []
        self.scopes: list[Scope] = []
        self.tables = Tables()
        self._parent = self.tables.parent
        self._block_counter = 0
        self._blocks: tuple[int, ...] = ()
        self._loops: tuple[ast.AST, ...] = ()
        self._nograd = False
        self._scope: Scope
        self._stmt: ast.AST

    # -- entry ------------------------------------------------------------------------------
    def build(self, tree: ast.Module) -> Scope:
        module = Scope("module", tree, None, "<module>")
        self.scopes.append(module)
        self._scope = module
        self._stmt = tree
        self.tables.node_scope[id(tree)] = module
        self._block(tree.body, tree)
        return module

    # -- helpers ----------------------------------------------------------------------------
    def _block(self, stmts: list[ast.stmt], parent: ast.AST) -> None:
        saved = self._blocks
        self._block_counter += 1
        self._blocks = saved + (self._block_counter,)
        info = StmtInfo(self._scope, self._blocks, self._loops, self._nograd)
        parents, infos = self._parent, self.tables.stmt
        for s in stmts:
            key = id(s)
            parents[key] = parent
            infos[key] = info
            saved_stmt = self._stmt
            self._stmt = s
            self._visit(s)
            self._stmt = saved_stmt
        self._blocks = saved

    def _child(self, node: ast.AST, parent: ast.AST) -> None:
        self._parent[id(node)] = parent
        self._visit(node)

    def _children(self, nodes: Iterable[ast.AST | None], parent: ast.AST) -> None:
        for n in nodes:
            if n is not None:
                self._parent[id(n)] = parent
                self._visit(n)

    def _visit(self, node: ast.AST) -> None:
        cls = type(node)
        if cls in self.interest:
            self.collected[cls].append(node)
        handler = _HANDLERS.get(cls) or _handler_for(cls)
        handler(self, node)

    def _generic(self, node: ast.AST) -> None:
        """Visit ``node``'s children without recursion: an expression 5,000 levels deep (a long
        ``a + b + ...`` chain in generated code) must not hit Python's recursion limit. Only nodes
        that open a scope or bind names go through their own (recursive) handlers."""
        parents = self._parent
        interest, collected = self.interest, self.collected
        stack = [node]
        while stack:
            current = stack.pop()
            fields = _CHILD_FIELDS.get(type(current))
            if fields is None:
                fields = _child_fields(type(current))
            children: list[ast.AST] = []
            for field in fields:
                value = getattr(current, field, None)
                if value is None:
                    continue
                if type(value) is list:
                    for item in value:
                        if isinstance(item, AST):
                            children.append(item)
                elif isinstance(value, AST):
                    children.append(value)
            children.reverse()
            for child in children:
                parents[id(child)] = current
                cls = type(child)
                if cls in interest:
                    collected[cls].append(child)
                if cls is ast.Call:  # v_Call, without its recursion
                    self._scope.calls.append(child)  # type: ignore[arg-type]
                    stack.append(child)
                    continue
                handler = _HANDLERS.get(cls) or _handler_for(cls)
                if handler is ScopeBuilder._generic:
                    stack.append(child)
                else:
                    handler(self, child)

    def _tag(self, node: ast.AST, scope: Scope | None = None) -> None:
        self.tables.node_scope[id(node)] = scope or self._scope

    def _bind(self, name: str, how: str, value: ast.expr | None, pos: Pos,
              path: tuple[int | None, ...] = (), node: ast.AST | None = None,
              qualname: str | None = None, loops: tuple[ast.AST, ...] | None = None,
              annotation: ast.expr | None = None, scope: Scope | None = None) -> None:
        scope = scope or self._scope
        decl = scope.declared.get(name)
        if decl == "global":
            scope = _module_of(scope)
        elif decl == "nonlocal":
            s = scope.parent
            while s is not None and (s.kind == "class" or name not in s.bindings):
                s = s.parent
            scope = s or scope
        b = Binding(name, how, value, path, pos, self._stmt, self._blocks,
                    self._loops if loops is None else loops, scope, node, qualname, annotation)
        scope.bindings.setdefault(name, []).append(b)

    def _bind_target(self, target: ast.expr, how: str, value: ast.expr | None, pos: Pos,
                     path: tuple[int | None, ...] = (), loops: tuple[ast.AST, ...] | None = None,
                     annotation: ast.expr | None = None) -> None:
        self._tag(target)
        if isinstance(target, ast.Name):
            self._bind(target.id, how, value, pos, path, target, loops=loops, annotation=annotation)
        elif isinstance(target, ast.Tuple | ast.List):
            for i, elt in enumerate(target.elts):
                self._parent[id(elt)] = target
                if isinstance(elt, ast.Starred):
                    self._parent[id(elt.value)] = elt
                    self._bind_target(elt.value, how, value, pos, path + (None,), loops)
                else:
                    self._bind_target(elt, how, value, pos, path + (i,), loops)
        elif isinstance(target, ast.Starred):
            self._parent[id(target.value)] = target
            self._bind_target(target.value, how, value, pos, path + (None,), loops)
        elif isinstance(target, ast.Attribute):
            self._parent[id(target.value)] = target
            self._visit(target.value)
            fscope = self._scope.function_scope()
            if (
                isinstance(target.value, ast.Name)
                and fscope.cls is not None
                and target.value.id == fscope.self_name
            ):
                b = Binding(target.attr, how, value, path, pos, self._stmt, self._blocks,
                            self._loops if loops is None else loops, self._scope, target,
                            annotation=annotation)
                fscope.cls.attrs.setdefault(target.attr, []).append(b)
        elif isinstance(target, ast.Subscript):
            self._children((target.value, target.slice), target)

    # -- statements ------------------------------------------------------------------------
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        self._parent[id(args)] = node
        self._children(args.defaults, args)
        self._children(args.kw_defaults, args)
        if not isinstance(node, ast.Lambda):
            self._children(node.decorator_list, node)
            for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if a is not None and a.annotation is not None:
                    self._parent[id(a)] = args
                    self._child(a.annotation, a)
            if node.returns is not None:
                self._child(node.returns, node)
            self._bind(node.name, "def", None, (node.lineno, node.col_offset), node=node)
        parent = self._scope
        kind = "lambda" if isinstance(node, ast.Lambda) else "function"
        name = "<lambda>" if isinstance(node, ast.Lambda) else node.name
        scope = Scope(kind, node, parent, name)
        parent.children.append(scope)
        self.scopes.append(scope)
        self.tables.own_scope[id(node)] = scope
        positional = [*args.posonlyargs, *args.args]
        if parent.kind == "class" and not isinstance(node, ast.Lambda):
            deco = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
            cls_info = self.tables.class_info[id(parent.node)]
            cls_info.methods.setdefault(node.name, scope)
            scope.cls = cls_info
            if positional and "staticmethod" not in deco and "classmethod" not in deco:
                scope.self_name = positional[0].arg
        elif parent.kind in ("function", "lambda", "comprehension"):
            outer = parent.function_scope()
            scope.cls = outer.cls  # closures inside methods still see ``self``
            scope.self_name = outer.self_name
        saved = (self._scope, self._blocks, self._loops, self._nograd)
        self._scope, self._blocks, self._loops = scope, (), ()
        if isinstance(node, ast.Lambda):
            self._nograd = False
        else:
            self._nograd = _decorator_nograd(node.decorator_list)
            scope.nograd = self._nograd
        pos = (node.lineno, node.col_offset)
        for a in (*positional, args.vararg, *args.kwonlyargs, args.kwarg):
            if a is not None:
                self._tag(a, scope)
                self._bind(a.arg, "param", None, pos, node=a, annotation=a.annotation)
        if isinstance(node, ast.Lambda):
            self._child(node.body, node)
        else:
            self._block(node.body, node)
        self._scope, self._blocks, self._loops, self._nograd = saved

    v_FunctionDef = _function
    v_AsyncFunctionDef = _function
    v_Lambda = _function

    def v_ClassDef(self, node: ast.ClassDef) -> None:
        self._children(node.decorator_list, node)
        self._children(node.bases, node)
        self._children(node.keywords, node)
        self._bind(node.name, "class", None, (node.lineno, node.col_offset), node=node)
        info = ClassInfo(node)
        self.tables.class_info[id(node)] = info
        self.classes.append(info)
        scope = Scope("class", node, self._scope, node.name)
        self._scope.children.append(scope)
        self.scopes.append(scope)
        saved = (self._scope, self._blocks, self._loops)
        self._scope, self._blocks, self._loops = scope, (), ()
        self._block(node.body, node)
        self._scope, self._blocks, self._loops = saved

    def v_Assign(self, node: ast.Assign) -> None:
        self._child(node.value, node)
        pos = (node.end_lineno or node.lineno, node.end_col_offset or 0)
        for t in node.targets:
            self._parent[id(t)] = node
            self._bind_target(t, "assign", node.value, pos)

    def v_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._child(node.annotation, node)
        self._parent[id(node.target)] = node
        if node.value is not None:
            self._child(node.value, node)
            pos = (node.end_lineno or node.lineno, node.end_col_offset or 0)
            self._bind_target(node.target, "assign", node.value, pos, annotation=node.annotation)
        elif not isinstance(node.target, ast.Name):
            self._child(node.target, node)

    def v_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        self._child(node.value, node)
        # the target is read, then written: model it as ``target = target <op> value``
        load: ast.expr
        if isinstance(target, ast.Name):
            load = ast.Name(id=target.id, ctx=ast.Load())
        else:
            load = target
        ast.copy_location(load, target)
        load.end_lineno, load.end_col_offset = target.end_lineno, target.end_col_offset
        synthetic = ast.BinOp(left=load, op=node.op, right=node.value)
        ast.copy_location(synthetic, node)
        synthetic.end_lineno, synthetic.end_col_offset = node.end_lineno, node.end_col_offset
        tables = self.tables
        tables.keep.extend((synthetic, load))
        tables.synthetic.add(id(synthetic))
        tables.aug[id(node)] = synthetic
        self._parent[id(synthetic)] = node
        self._tag(synthetic)
        if isinstance(target, ast.Name):
            self._parent[id(load)] = synthetic
            self._visit(load)
        pos = (node.end_lineno or node.lineno, node.end_col_offset or 0)
        self._parent[id(target)] = node
        self._bind_target(target, "aug", synthetic, pos)

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        self._child(node.iter, node)
        loops = self._loops + (node,)
        body_pos = (node.body[0].lineno, node.body[0].col_offset) if node.body else (node.lineno, 0)
        self._parent[id(node.target)] = node
        self._bind_target(node.target, "for", node.iter, body_pos, loops=loops)
        saved = self._loops
        self._loops = loops
        self._block(node.body, node)
        self._loops = saved
        self._block(node.orelse, node)

    v_For = _for
    v_AsyncFor = _for

    def v_While(self, node: ast.While) -> None:
        saved = self._loops
        self._loops = saved + (node,)
        self._child(node.test, node)
        self._block(node.body, node)
        self._loops = saved
        self._block(node.orelse, node)

    def v_If(self, node: ast.If) -> None:
        self._child(node.test, node)
        self._block(node.body, node)
        self._block(node.orelse, node)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        saved = self._nograd
        body_pos = (node.body[0].lineno, node.body[0].col_offset) if node.body else (node.lineno, 0)
        for item in node.items:
            self._parent[id(item)] = node
            self._child(item.context_expr, item)
            flag = _is_grad_context(item.context_expr)
            if flag is not None:
                self._nograd = flag
            if item.optional_vars is not None:
                self._parent[id(item.optional_vars)] = item
                self._bind_target(item.optional_vars, "with", item.context_expr, body_pos)
        self._block(node.body, node)
        self._nograd = saved

    v_With = _with
    v_AsyncWith = _with

    def _try(self, node: ast.Try) -> None:
        self._block(node.body, node)
        for h in node.handlers:
            self._parent[id(h)] = node
            self._tag(h)
            if h.type is not None:
                self._child(h.type, h)
            if h.name:
                pos = (h.body[0].lineno, h.body[0].col_offset) if h.body else (h.lineno, 0)
                self._bind(h.name, "except", None, pos, node=h)
            self._block(h.body, h)
        self._block(node.orelse, node)
        self._block(node.finalbody, node)

    v_Try = _try
    v_TryStar = _try

    def v_Match(self, node: Any) -> None:
        self._child(node.subject, node)
        for case in node.cases:
            self._parent[id(case)] = node
            self._tag(case)
            self._child(case.pattern, case)
            if case.guard is not None:
                self._child(case.guard, case)
            self._block(case.body, case)

    def _pattern_name(self, node: Any) -> None:
        name = getattr(node, "name", None) or getattr(node, "rest", None)
        if name:
            self._bind(name, "other", None, (node.lineno, node.col_offset), node=node)
        self._generic(node)

    v_MatchAs = _pattern_name
    v_MatchStar = _pattern_name
    v_MatchMapping = _pattern_name

    def v_Import(self, node: ast.Import) -> None:
        pos = (node.end_lineno or node.lineno, node.end_col_offset or 0)
        for alias in node.names:
            if alias.asname:
                self._bind(alias.asname, "import", None, pos, node=node, qualname=alias.name)
            else:
                top = alias.name.partition(".")[0]
                self._bind(top, "import", None, pos, node=node, qualname=top)

    def v_ImportFrom(self, node: ast.ImportFrom) -> None:
        pos = (node.end_lineno or node.lineno, node.end_col_offset or 0)
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                continue
            self._bind(alias.asname or alias.name, "import", None, pos, node=node,
                       qualname=f"{module}.{alias.name}" if module else alias.name)

    def v_Global(self, node: ast.Global) -> None:
        for name in node.names:
            self._scope.declared[name] = "global"

    def v_Nonlocal(self, node: ast.Nonlocal) -> None:
        for name in node.names:
            self._scope.declared[name] = "nonlocal"

    def v_Delete(self, node: ast.Delete) -> None:
        pos = (node.end_lineno or node.lineno, node.end_col_offset or 0)
        for t in node.targets:
            self._parent[id(t)] = node
            if isinstance(t, ast.Name):
                self._tag(t)
                self._bind(t.id, "del", None, pos, node=t)
            else:
                self._visit(t)

    # -- expressions -----------------------------------------------------------------------
    def v_Name(self, node: ast.Name) -> None:
        self.tables.node_scope[id(node)] = self._scope  # names are what rules resolve most
        if type(node.ctx) is ast.Load:
            self._scope.loads.setdefault(node.id, []).append(node)
        elif isinstance(node.ctx, ast.Store):  # a target we did not model: bind, know nothing
            self._bind(node.id, "other", None, (node.lineno, node.col_offset), node=node)

    def v_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._child(node.value, node)
        scope = self._scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        self._parent[id(node.target)] = node
        self._tag(node.target)
        pos = (node.end_lineno or node.lineno, node.end_col_offset or 0)
        self._bind(node.target.id, "named", node.value, pos, node=node.target, scope=scope)

    def v_Call(self, node: ast.Call) -> None:
        self._scope.calls.append(node)
        self._generic(node)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        gens = node.generators
        first = gens[0]
        self._parent[id(first)] = node
        self._child(first.iter, first)
        parent = self._scope
        scope = Scope("comprehension", node, parent, "<comprehension>")
        parent.children.append(scope)
        self.scopes.append(scope)
        self.tables.own_scope[id(node)] = scope
        saved = (self._scope, self._loops)
        self._scope = scope
        self._loops = (node,)
        pos = (node.lineno, node.col_offset)
        for i, gen in enumerate(gens):
            self._parent[id(gen)] = node
            if i:
                self._child(gen.iter, gen)
            self._parent[id(gen.target)] = gen
            self._bind_target(gen.target, "comp", gen.iter, pos, loops=(node,))
            self._children(gen.ifs, gen)
        if isinstance(node, ast.DictComp):
            self._child(node.key, node)
            self._child(node.value, node)
        else:
            self._child(node.elt, node)
        self._scope, self._loops = saved

    v_ListComp = _comprehension
    v_SetComp = _comprehension
    v_GeneratorExp = _comprehension
    v_DictComp = _comprehension


#: node class -> unbound ``ScopeBuilder`` method (bound methods cached on the builder would make
#: it a reference cycle that keeps the whole tree alive until the cyclic GC runs)
_HANDLERS: dict[type, Callable[[ScopeBuilder, Any], None]] = {}


def _handler_for(cls: type) -> Callable[[ScopeBuilder, Any], None]:
    handler: Callable[[ScopeBuilder, Any], None] = getattr(ScopeBuilder, "v_" + cls.__name__, ScopeBuilder._generic)
    _HANDLERS[cls] = handler
    return handler


def release(scopes: list[Scope], classes: list[ClassInfo]) -> None:
    """Break the scope graph's cycles so that it, and the tree it points into, is freed at once."""
    for scope in scopes:
        scope.bindings.clear()
        scope.loads.clear()
        scope.calls.clear()
        scope.children.clear()
        scope.parent = None
        scope.cls = None
    for cls in classes:
        cls.attrs.clear()
        cls.methods.clear()
