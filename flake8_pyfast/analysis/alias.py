"""Aliasing and autograd facts for in-place rewrites.

An out-of-place update ``x = x + y`` may become ``x += y`` only if nobody else holds the old
object: ``x`` must be fresh (made by a factory, arithmetic, fancy indexing, ``.clone()``...), and
its current value must not have escaped (stored, appended, aliased, returned, yielded, captured by
a closure, passed to a function we do not know) before the update. Outside ``torch.no_grad()``
the tensor must also be outside any autograd graph. When in doubt, the answer is "not safe".

:func:`escape_of` answers the question buffer advice needs: does a new array stay inside the
step (:data:`LOCAL`), go back to the caller (:data:`RETURNED`), or outlive the step (:data:`STORED`)?
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from flake8_pyfast.analysis import knowledge as K
from flake8_pyfast.analysis.astutil import keyword
from flake8_pyfast.analysis.kinds import NDARRAY, SCALAR, SEQUENCE, TENSOR, UNKNOWN_BASE

if TYPE_CHECKING:
    from flake8_pyfast.analysis.core import Analysis
    from flake8_pyfast.analysis.scopes import Binding, Scope

_NP_FRESH = K.NUMPY_FACTORIES | K.NUMPY_ELEMENTWISE | K.NUMPY_REDUCTIONS
_TORCH_VIEWS = frozenset({"reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute",
                          "t", "detach", "as_tensor", "from_numpy", "narrow", "select", "view_as_real",
                          "movedim", "swapaxes", "swapdims", "unflatten", "atleast_1d", "atleast_2d"})
_HARMLESS_BUILTINS = frozenset({"len", "float", "int", "bool", "str", "repr", "print", "isinstance",
                                "type", "id", "hash", "format", "abs", "sum", "round", "any", "all",
                                "range", "enumerate", "sorted"})


def _is_fancy_index(an: Analysis, index: ast.expr) -> bool:
    if isinstance(index, ast.Slice | ast.Tuple | ast.Constant):
        return False
    if isinstance(index, ast.List | ast.ListComp):
        return True
    return an.kind(index).base in (NDARRAY, TENSOR, SEQUENCE)


def is_fresh(an: Analysis, node: ast.expr, _seen: frozenset[int] = frozenset()) -> bool:
    """True if ``node`` certainly evaluates to a new object that nothing else references."""
    if isinstance(node, ast.BinOp | ast.Compare):
        return True
    if isinstance(node, ast.UnaryOp):
        return not isinstance(node.op, ast.UAdd)
    if isinstance(node, ast.IfExp):
        return is_fresh(an, node.body, _seen) and is_fresh(an, node.orelse, _seen)
    if isinstance(node, ast.Subscript):
        return _is_fancy_index(an, node.slice) and an.kind(node.value).base in (NDARRAY, TENSOR)
    if isinstance(node, ast.Attribute):  # ``.data`` of a temporary: nobody else holds the storage
        return node.attr == "data" and _fresh_temporary(an, node.value, _seen)
    if isinstance(node, ast.Call):
        return _call_is_fresh(an, node, _seen)
    if isinstance(node, ast.Name):
        if id(node) in _seen:
            return True
        bindings = an.bindings_of(node)
        if not bindings:
            return False
        seen = _seen | {id(node)}
        return all(_binding_is_fresh(an, b, seen) for b in bindings)
    return False


def _binding_is_fresh(an: Analysis, b: Binding, seen: frozenset[int]) -> bool:
    if b.how not in ("assign", "aug", "named") or b.value is None:
        return False
    value = b.value
    if b.how == "aug":  # ``x += y`` keeps x's object: as fresh as x was before
        assert isinstance(value, ast.BinOp)
        return is_fresh(an, value.left, seen)
    if b.path:
        if len(b.path) == 1 and isinstance(value, ast.Tuple | ast.List) and b.path[0] is not None:
            i = b.path[0]
            if i < len(value.elts) and not any(isinstance(e, ast.Starred) for e in value.elts):
                value = value.elts[i]
            else:
                return False
        elif isinstance(value, ast.Call):  # ``obs, adv = self.sample(idx)``: what the function returns
            rets = returned_values(an, value, b.path)
            return rets is not None and all(_returned_fresh(an, r, seen) for r in rets)
        else:
            return False
    if isinstance(value, ast.Name):
        return False  # ``y = x``: y is another name for x's object
    own = _self_view(value, b.name)
    if own is not None:  # ``x = x.detach()``: the name drops the old object for a view of it
        return is_fresh(an, own, seen)
    return is_fresh(an, value, seen)


def _self_view(value: ast.expr, name: str) -> ast.Name | None:
    """The load of ``name`` when ``value`` is a view of it, or it itself (``name.detach()``,
    ``name.view(-1)``, ``name.data``): rebinding ``name`` to it leaves the old object to the view alone."""
    node = value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
        node.func.attr in K.TENSOR_ALIASING_METHODS or node.func.attr in K.NUMPY_ALIASING
    ) and node.func.attr not in ("numpy", "requires_grad_"):
        node = node.func.value
    elif isinstance(node, ast.Attribute) and node.attr == "data":
        node = node.value
    else:
        return None
    return node if isinstance(node, ast.Name) and node.id == name else None


def _fresh_temporary(an: Analysis, node: ast.expr, seen: frozenset[int]) -> bool:
    """A fresh object that no name holds (so a view of it, or the object itself, is all there is)."""
    return not isinstance(node, ast.Name) and is_fresh(an, node, seen)


def returned_values(an: Analysis, call: ast.Call, path: tuple[int | None, ...] = ()) -> list[ast.expr] | None:
    """What a call of a plain function (or method on ``self``) of this module returns, or ``None``.

    One expression per ``return`` (its ``path[0]``-th element when the result is unpacked). ``None``
    when the function is not known, is a generator, may fall off its end, or returns something
    whose shape does not fit ``path``.
    """
    target = an.callee(call)
    fn = target.node if target is not None else None
    if not isinstance(fn, ast.FunctionDef) or not fn.body or not isinstance(fn.body[-1], ast.Return | ast.Raise):
        return None
    if len(path) > 1 or (path and path[0] is None):
        return None
    out: list[ast.expr] = []
    stack: list[ast.AST] = list(fn.body)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Yield | ast.YieldFrom | ast.Await):
            return None
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(n, ast.Return):
            value = n.value
            if value is None:
                return None
            if path:
                i = path[0]
                assert i is not None
                if (not isinstance(value, ast.Tuple | ast.List) or i >= len(value.elts)
                        or any(isinstance(e, ast.Starred) for e in value.elts)):
                    return None
                value = value.elts[i]
            out.append(value)
        stack.extend(ast.iter_child_nodes(n))
    return out or None


def _returned_fresh(an: Analysis, value: ast.expr, seen: frozenset[int]) -> bool:
    """A returned expression is a new object each call, and the function kept no reference to it."""
    if id(value) in seen:
        return False  # recursion
    seen = seen | {id(value)}
    if not is_fresh(an, value, seen):
        return False
    if isinstance(value, ast.Name):
        ret = an.stmt_of(value)
        return isinstance(ret, ast.stmt) and not escapes_before(an, value, ret, frozenset({id(value)}))
    return True


def _call_is_fresh(an: Analysis, node: ast.Call, seen: frozenset[int] = frozenset()) -> bool:
    q = an.qualname(node.func)
    if q is not None:
        mod, _, name = q.rpartition(".")
        if mod == "numpy":
            if name == "array":
                copy = keyword(node, "copy")
                return not (isinstance(copy, ast.Constant) and copy.value is False)
            return name in _NP_FRESH and keyword(node, "out") is None
        if mod in ("torch", "torch.nn.functional"):
            if name in ("as_tensor", "from_numpy") and node.args and keyword(node, "out") is None:
                # shares memory with its argument: fresh only if the argument is a temporary copy
                # (``torch.as_tensor(np.stack(rows))``), or a literal list that as_tensor copies
                arg = node.args[0]
                return _fresh_temporary(an, arg, seen) or (
                    name == "as_tensor" and isinstance(arg, ast.List | ast.Tuple))
            if name in _TORCH_VIEWS:
                return False
            fresh = (
                name in K.TORCH_DETERMINISTIC_FACTORIES
                or name in K.TORCH_RANDOM_FACTORIES
                or name in K.TORCH_LEGACY_CONSTRUCTORS
                or name.endswith("_like")
                or name in K.TORCH_TENSOR_FUNCTIONS
            )
            return fresh and keyword(node, "out") is None and name != "as_tensor"
        return False
    func = node.func
    if isinstance(func, ast.Attribute):
        recv = an.kind(func.value)
        if recv.base in (TENSOR, NDARRAY):
            if func.attr in ("clone", "copy"):
                return True
            if func.attr in K.TENSOR_ALIASING_METHODS or func.attr.endswith("_"):
                # ``x.clone().normal_()``, ``torch.zeros(n).view(-1)``: the temporary itself, or a view
                # of it, and nothing else holds the temporary
                return _fresh_temporary(an, func.value, seen)
            return func.attr in K.TENSOR_FRESH_METHODS
    rets = returned_values(an, node)  # a data function of this module: ``batch = self.sample(idx)``
    return rets is not None and all(_returned_fresh(an, r, seen) for r in rets)


# ---------------------------------------------------------------------------------------------
# escapes
# ---------------------------------------------------------------------------------------------

def _positions_before(a: ast.AST, b: ast.AST) -> bool:
    return (a.lineno, a.col_offset) < (b.lineno, b.col_offset)  # type: ignore[attr-defined]


def share_loop(an: Analysis, a: ast.AST, b: ast.AST) -> bool:
    """Do ``a`` and ``b`` run in the same loop (so one can run after the other, next iteration)?"""
    lb = an.loops_of(b)
    return any(loop in lb for loop in an.loops_of(a))


def escapes_before(an: Analysis, name: ast.Name, update: ast.stmt,
                   ignore: frozenset[int] = frozenset()) -> bool:
    """Could the object ``name`` refers to be held elsewhere when ``update`` runs?"""
    scope = an.scope_of(name).lookup(name.id)
    if scope is None:
        return True
    # captured by a closure defined in this scope: we cannot see when it runs
    for child in _nested(scope):
        if child.kind in ("function", "lambda") and name.id in child.loads and name.id not in child.bindings:
            return True
    for load in _loads(scope, name.id):
        if id(load) in ignore or load is name:
            continue
        if not _escaping_use(an, load):
            continue
        if _positions_before(load, update):
            return True
        if share_loop(an, load, update) and not _renewed_each_iteration(an, name, load, update):
            return True  # kept after the update, and the same object is updated again next iteration
    return False


def _renewed_each_iteration(an: Analysis, name: ast.Name, load: ast.AST, update: ast.stmt) -> bool:
    """Is the object ``name`` holds at ``update`` bound anew, before the update, in every iteration of
    each loop that also runs ``load``? Then what ``load`` kept is last iteration's object, not this one."""
    shared = [loop for loop in an.loops_of(load) if loop in an.loops_of(update)]
    bindings = an.bindings_of(name)
    return bool(bindings) and all(
        b.how in ("assign", "named") and _positions_before(b.stmt, update) and all(loop in b.loops for loop in shared)
        for b in bindings
    )


def _nested(scope: object) -> list:  # type: ignore[type-arg]
    out = []
    stack = list(scope.children)  # type: ignore[attr-defined]
    while stack:
        s = stack.pop()
        out.append(s)
        stack.extend(s.children)
    return out


def _loads(scope: object, name: str) -> list[ast.Name]:
    loads = list(scope.loads.get(name, ()))  # type: ignore[attr-defined]
    for child in scope.children:  # type: ignore[attr-defined]
        if child.kind == "comprehension" and name not in child.bindings:
            loads.extend(_loads(child, name))
    return loads


def _escaping_use(an: Analysis, load: ast.AST) -> bool:
    """Does this read hand the object (or a view of it) to something that may keep it?"""
    node = load
    while True:
        parent = an.parent(node)
        if parent is None:
            return True
        if isinstance(parent, ast.Attribute):
            if parent.attr in ("data", "T", "mT", "real", "grad"):
                node = parent
                continue
            call = an.parent(parent)
            if isinstance(call, ast.Call) and call.func is parent:
                meth = parent.attr
                if meth in K.TENSOR_ALIASING_METHODS or meth.endswith("_") or meth in ("split", "chunk", "unbind"):
                    node = call
                    continue
            return False  # x.sum(), x.shape, x.item(): the object itself goes nowhere
        if isinstance(parent, ast.Subscript):
            if parent.value is node:
                node = parent  # a basic slice is a view
                continue
            return False  # used as an index
        if isinstance(parent, ast.keyword):
            node = parent
            continue
        if isinstance(parent, ast.Call):
            if parent.func is node:
                return False
            q = an.qualname(parent.func)
            if q is not None:
                mod, _, fname = q.rpartition(".")
                if mod == "builtins":
                    if fname in _HARMLESS_BUILTINS:
                        return False
                    if fname in ("min", "max"):
                        node = parent
                        continue
                    return True
                if mod in ("numpy", "math") or mod.startswith(("torch", "numpy.")):
                    if fname in _TORCH_VIEWS or fname in K.NUMPY_ALIASING or fname in ("asarray", "as_tensor"):
                        node = parent
                        continue
                    # modules, optimizers, distributions and data utilities may keep what they get
                    keeps = ("torch.nn", "torch.utils", "torch.optim", "torch.distributions")
                    return mod.startswith(keeps) and mod != "torch.nn.functional"
            func = parent.func
            if isinstance(func, ast.Attribute):
                recv = an.kind(func.value)
                if recv.base in (TENSOR, NDARRAY) and (
                    func.attr in K.TENSOR_FRESH_METHODS or func.attr.endswith("_") or func.attr == "copy_"
                ):
                    return False
            return True
        if isinstance(parent, ast.Starred | ast.Tuple | ast.List | ast.Set | ast.Dict | ast.IfExp | ast.BoolOp):
            if isinstance(parent, ast.IfExp) and parent.test is node:
                return False
            node = parent
            continue
        if isinstance(parent, ast.Assign | ast.AnnAssign):
            if parent.value is not node:
                return False
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if (
                isinstance(load, ast.Name) and len(targets) == 1 and isinstance(targets[0], ast.Name)
                and targets[0].id == load.id and _self_view(parent.value, load.id) is load
                and an.scope_of(targets[0]) is an.scope_of(load)
            ):
                return False  # ``x = x.detach()``: the old object is left to the view the name now holds
            return not all(
                isinstance(t, ast.Subscript) and an.kind(t.value).base in (NDARRAY, TENSOR) for t in targets
            )
        if isinstance(parent, ast.AugAssign):
            return parent.value is node and an.kind(parent.target).base not in (NDARRAY, TENSOR, SCALAR)
        if isinstance(parent, ast.BinOp | ast.UnaryOp | ast.Compare | ast.FormattedValue | ast.JoinedStr):
            return False
        # discarded, tested or deleted: harmless. Anything else (return, yield, await, iteration,
        # whose items are views, a walrus) may keep the object.
        return not isinstance(parent, ast.Expr | ast.If | ast.While | ast.Assert | ast.Delete | ast.With | ast.withitem)


# ---------------------------------------------------------------------------------------------
# where a new object goes: the escape query behind buffer advice
# ---------------------------------------------------------------------------------------------

#: the object is used inside the function and dropped (arithmetic, a read-only call, copied into an array)
LOCAL = "local"
#: the function returns it (or something holding it): the caller may keep it
RETURNED = "returned"
#: kept beyond this step: stored on an attribute, in a list/dict/set, a global, a closure, a yield,
#: or read again in a later iteration of a loop (``prev = x`` ... ``x - prev``)
STORED = "stored"
_ESCAPE_RANK = {LOCAL: 0, RETURNED: 1, STORED: 2}
#: name prefixes of methods that keep what they are given: the containers' own (``append``,
#: ``appendleft``, ``extend``, ``add``, ``put_nowait``, ``push``, ``setdefault``, ``insert``) and those
#: of unknown objects (a replay buffer's ``add_sample``/``store_transition``, a path builder's
#: ``add_all``, ``set_array_at_key``): an array passed to them may be kept past this step, so it must
#: not become a reused buffer
_STORING_PREFIXES = ("add", "append", "store", "push", "put", "insert", "set", "save", "record", "remember",
                     "register", "memorize", "cache", "extend", "enqueue", "write", "log")
#: builtins whose result may be (or hold) their argument
_PASSING_BUILTINS = frozenset({"min", "max", "list", "tuple", "zip", "enumerate", "reversed", "iter", "next",
                               "sorted", "dict", "set", "frozenset", "filter", "map"})
_COPYING_METHODS = frozenset({"copy", "clone", "tolist", "item", "cpu_copy"})
_MAX_CALL_DEPTH = 3


def escape_of(an: Analysis, node: ast.expr) -> str:
    """Where the object ``node`` evaluates to can end up: :data:`LOCAL`, :data:`RETURNED` or :data:`STORED`.

    Buffer advice depends on it: an array that only lives inside the step can be a reused buffer; one
    that is returned may be kept by the caller (a copy is needed); one that is stored, appended,
    yielded, captured or read again next iteration must be a new object every step. The uses are
    followed through names (every load a binding reaches), views and in-place methods, containers,
    tuple unpacking, ``x += ...``, and calls: functions of this module by their parameter, known
    read-only libraries (NumPy, math, PyTorch ops, PyBullet) as reads, container methods
    (``append``, ``add``, ``put``, ...) as storage, and other calls by following their result (which
    may hold the argument). The worst use wins; anything not understood counts as :data:`STORED`.
    """
    return _escape(an, [node], set(), 0)


def _escape(an: Analysis, work: list[ast.expr], seen: set[int], depth: int) -> str:
    result = LOCAL
    while work:
        r = _escape_use(an, work.pop(), work, seen, depth)
        if _ESCAPE_RANK[r] > _ESCAPE_RANK[result]:
            result = r
            if result == STORED:
                break
    return result


def _escape_use(an: Analysis, node: ast.AST, work: list[ast.expr], seen: set[int], depth: int) -> str:
    """Walk up from ``node`` through what keeps the object; queue names and results to follow."""
    came_from: ast.AST = node
    while True:
        parent = an.parent(node)
        if parent is None:
            return STORED
        if isinstance(parent, ast.Attribute):
            if parent.attr in ("data", "T", "mT", "real", "imag", "flat"):
                node = parent
                continue
            call = an.parent(parent)
            if isinstance(call, ast.Call) and call.func is parent:
                meth = parent.attr
                if meth in _COPYING_METHODS:
                    return LOCAL
                if (meth in K.TENSOR_ALIASING_METHODS or meth in K.NUMPY_ALIASING or meth.endswith("_")
                        or meth in ("split", "chunk", "unbind", "view", "astype", "__iter__")):
                    node = call  # a view, or the object itself (``.float()`` of a float tensor, ``x.add_()``)
                    continue
            return LOCAL  # x.sum(), x.shape, x.dot(y): the object itself goes nowhere
        if isinstance(parent, ast.Subscript):
            if parent.value is node and not _is_fancy_index(an, parent.slice):
                node = parent  # a basic index: a view (or an element)
                continue
            return LOCAL
        if isinstance(parent, ast.keyword | ast.Starred | ast.BoolOp | ast.Set | ast.Dict
                      | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            came_from, node = node, parent
            continue
        if isinstance(parent, ast.Tuple | ast.List):
            if isinstance(parent.ctx, ast.Store):
                return STORED  # not expected: a load inside a target
            came_from, node = node, parent
            continue
        if isinstance(parent, ast.IfExp):
            if parent.test is node:
                return LOCAL
            node = parent
            continue
        if isinstance(parent, ast.comprehension):
            if node is not parent.iter:
                return LOCAL  # a condition
            comp = an.parent(parent)
            if comp is None:
                return STORED
            node = comp  # the items (views of the rows) may end up in the result
            continue
        if isinstance(parent, ast.NamedExpr):
            r = _follow_target(an, parent.target, work, seen)
            if r != LOCAL:
                return r
            node = parent
            continue
        if isinstance(parent, ast.Call):
            if parent.func is node:
                return LOCAL
            return _escape_call(an, parent, node, came_from, work, seen, depth)
        if isinstance(parent, ast.Assign | ast.AnnAssign):
            if parent.value is not node:
                return STORED
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            result = LOCAL
            for t in targets:
                r = _assign_target(an, t, node, came_from, work, seen)
                if _ESCAPE_RANK[r] > _ESCAPE_RANK[result]:
                    result = r
            return result
        if isinstance(parent, ast.AugAssign):
            if parent.value is node:  # ``total += x``: into an array or a number is a copy, into a list is not
                return LOCAL if an.kind(parent.target).base in (NDARRAY, TENSOR, SCALAR) else STORED
            return STORED
        if isinstance(parent, ast.BinOp):
            if an.is_synthetic(parent):  # ``x += y`` on our object: in place, the name now holds it
                aug = an.parent(parent)
                if isinstance(aug, ast.AugAssign) and isinstance(aug.target, ast.Name):
                    return _follow_target(an, aug.target, work, seen)
                return LOCAL
            if isinstance(node, ast.List | ast.Tuple):
                node = parent  # ``lst + [x]``, ``(x,) * 2``: a container that holds it
                continue
            return LOCAL
        if isinstance(parent, ast.UnaryOp | ast.Compare | ast.FormattedValue | ast.JoinedStr):
            return LOCAL
        if isinstance(parent, ast.Return):
            return RETURNED
        if isinstance(parent, ast.For | ast.AsyncFor):
            if parent.iter is not node:
                return STORED
            return _assign_target(an, parent.target, node, node, work, seen)
        if isinstance(parent, ast.Expr | ast.If | ast.While | ast.Assert | ast.Delete | ast.With | ast.withitem):
            return LOCAL
        return STORED  # yield, await, raise, a lambda's body, a default value...


def _assign_target(an: Analysis, target: ast.expr, value: ast.AST, came_from: ast.AST,
                   work: list[ast.expr], seen: set[int]) -> str:
    """``target = value`` where ``value`` holds the object (``came_from`` is the element it arrived in)."""
    if isinstance(target, ast.Tuple | ast.List):
        if (
            isinstance(value, ast.Tuple | ast.List)
            and came_from in value.elts
            and len(value.elts) == len(target.elts)
            and not any(isinstance(e, ast.Starred) for e in (*value.elts, *target.elts))
        ):
            return _assign_target(an, target.elts[value.elts.index(came_from)], came_from, came_from, work, seen)
        result = LOCAL
        for elt in target.elts:
            r = _assign_target(an, elt, value, value, work, seen)
            if _ESCAPE_RANK[r] > _ESCAPE_RANK[result]:
                result = r
        return result
    if isinstance(target, ast.Starred):
        return _assign_target(an, target.value, value, value, work, seen)
    if isinstance(target, ast.Name):
        return _follow_target(an, target, work, seen)
    if isinstance(target, ast.Subscript):
        # written into an array or a tensor: copied. Into a list, a dict, anything else: kept.
        return LOCAL if an.kind(target.value).base in (NDARRAY, TENSOR) else STORED
    return STORED  # an attribute


def _follow_target(an: Analysis, target: ast.Name, work: list[ast.expr], seen: set[int]) -> str:
    """Queue every load the binding made at ``target`` reaches; decide what makes the name itself escape."""
    scope = an.scope_of(target)
    home = scope.lookup(target.id)
    if home is None or home.kind == "class":
        return STORED
    binding = next((b for b in home.bindings.get(target.id, ()) if b.node is target), None)
    if binding is None:
        return STORED
    return _follow_binding(an, binding, home, work, seen)


def _follow_binding(an: Analysis, binding: Binding, home: Scope, work: list[ast.expr], seen: set[int]) -> str:
    if id(binding) in seen:
        return LOCAL
    seen.add(id(binding))
    name = binding.name
    if home.declared.get(name) in ("global", "nonlocal"):
        return STORED
    for child in _nested(home):  # read by a function defined here (or any function, for a global)
        if child.kind in ("function", "lambda") and name in child.loads and child.lookup(name) is home:
            return STORED
    for load in _loads(home, name):
        if binding not in an.bindings_of(load):
            continue
        if (load.lineno, load.col_offset) < binding.pos and binding.how != "param":
            return STORED  # reached through a loop's back edge: the value is read again next iteration
        work.append(load)
    return LOCAL


def _escape_call(an: Analysis, call: ast.Call, node: ast.AST, came_from: ast.AST, work: list[ast.expr],
                 seen: set[int], depth: int) -> str:
    """``node`` (holding the object) is an argument of ``call``."""
    q = an.qualname(call.func)
    if q is not None:
        mod, _, fname = q.rpartition(".")
        if mod == "builtins":
            if fname in _HARMLESS_BUILTINS:
                return LOCAL
            if fname in _PASSING_BUILTINS:
                work.append(call)
                return LOCAL
            return STORED
        if mod == "pybullet" or mod.startswith("pybullet."):
            return LOCAL  # the simulator reads its arguments; getters return new tuples
        if mod in ("numpy", "math") or mod.startswith(("torch", "numpy.")):
            if fname in _TORCH_VIEWS or fname in K.NUMPY_ALIASING or fname in ("asarray", "as_tensor", "asanyarray"):
                work.append(call)
                return LOCAL
            if mod.startswith(("torch.nn", "torch.utils", "torch.optim", "torch.distributions")) and (
                mod != "torch.nn.functional"
            ):
                work.append(call)  # a module, distribution or dataset may hold it: follow that object
            return LOCAL
    callee = an.callee(call)
    if callee is not None and depth < _MAX_CALL_DEPTH:
        param = _parameter_for(an, call, callee, node)
        if param is not None:
            r = _param_escape(an, param, callee, seen, depth + 1)
            if r == RETURNED:
                work.append(call)
                return LOCAL
            return r
    func = call.func
    if isinstance(func, ast.Attribute):
        meth = func.attr
        if meth == "update" and (isinstance(node, ast.keyword) or isinstance(came_from, ast.Dict)
                                 or isinstance(node, ast.Dict)):
            return STORED  # ``d.update({"k": x})``
        if meth.lower().lstrip("_").startswith(_STORING_PREFIXES):
            return STORED  # named for keeping its argument: ``buf.add_sample(obs=x)``, ``self.set_item(k, x)``
        return LOCAL  # a method of some object (``env.step(a)``, ``policy.act(x)``): assumed to read
    work.append(call)  # a function or class we cannot see: its result may hold the argument
    return LOCAL


def _parameter_for(an: Analysis, call: ast.Call, callee: Scope, node: ast.AST) -> Binding | None:
    """The parameter binding of ``callee`` that receives ``node`` at ``call``."""
    fn = callee.node
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    positional = [*fn.args.posonlyargs, *fn.args.args]
    if callee.self_name is not None and isinstance(call.func, ast.Attribute):
        positional = positional[1:]
    arg: ast.arg | None = None
    if isinstance(node, ast.keyword):
        if node.arg is None:
            return None
        arg = next((a for a in (*positional, *fn.args.kwonlyargs) if a.arg == node.arg), None)
    elif node in call.args:
        i = call.args.index(node)  # type: ignore[arg-type]
        if any(isinstance(a, ast.Starred) for a in call.args[: i + 1]) or i >= len(positional):
            return None
        arg = positional[i]
    if arg is None:
        return None
    return next((b for b in callee.bindings.get(arg.arg, ()) if b.how == "param" and b.node is arg), None)


def _param_escape(an: Analysis, param: Binding, callee: Scope, seen: set[int], depth: int) -> str:
    work: list[ast.expr] = []
    r = _follow_binding(an, param, callee, work, seen)
    if r == STORED:
        return r
    return _escape(an, work, seen, depth)


# ---------------------------------------------------------------------------------------------
# autograd
# ---------------------------------------------------------------------------------------------

_DETACHING_METHODS = frozenset({"detach", "item", "numpy", "tolist", "size", "dim", "numel"})


def grad_free(an: Analysis, node: ast.AST | None, _seen: frozenset[int] = frozenset()) -> bool:
    """True if the value of ``node`` cannot be part of an autograd graph."""
    if node is None:
        return True
    k = an.kind(node)
    if k.base in (NDARRAY, "str", "none", "dtype", "device") or k.is_python_scalar:
        return True  # NumPy and Python values never carry autograd history
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        if id(node) in _seen:
            return True
        bindings = an.bindings_of(node)
        if not bindings or _made_to_require_grad(an, node):
            return False
        seen = _seen | {id(node)}
        return all(_binding_grad_free(an, b, seen) for b in bindings)
    if isinstance(node, ast.Attribute):
        if node.attr in ("data", "grad"):
            return True
        return an.qualname(node) is not None and not an.is_self(node.value)
    if isinstance(node, ast.BinOp):
        return grad_free(an, node.left, _seen) and grad_free(an, node.right, _seen)
    if isinstance(node, ast.UnaryOp):
        return grad_free(an, node.operand, _seen)
    if isinstance(node, ast.Compare):
        return True  # comparisons are never differentiable
    if isinstance(node, ast.BoolOp):
        return all(grad_free(an, v, _seen) for v in node.values)
    if isinstance(node, ast.IfExp):
        return grad_free(an, node.body, _seen) and grad_free(an, node.orelse, _seen)
    if isinstance(node, ast.Subscript):
        return grad_free(an, node.value, _seen)
    if isinstance(node, ast.Tuple | ast.List):
        return all(grad_free(an, e, _seen) for e in node.elts)
    if isinstance(node, ast.Call):
        return _call_grad_free(an, node, _seen)
    return False


def _made_to_require_grad(an: Analysis, name: ast.Name) -> bool:
    """Is the name, anywhere in its scope, switched into autograd (``x.requires_grad_()``,
    ``x.requires_grad = True``)? Then no binding of it is grad-free, whatever made it."""
    scope = an.scope_of(name).lookup(name.id)
    if scope is None:
        return True
    for load in _loads(scope, name.id):
        parent = an.parent(load)
        if not isinstance(parent, ast.Attribute) or parent.attr not in ("requires_grad_", "requires_grad"):
            continue
        if isinstance(parent.ctx, ast.Store):
            return True
        call = an.parent(parent)
        if isinstance(call, ast.Call) and call.func is parent and not (
            call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value is False
        ):
            return True
    return False


def _binding_grad_free(an: Analysis, b: Binding, seen: frozenset[int]) -> bool:
    if b.how == "param":
        return an.binding_kind(b).is_python_scalar
    if b.how == "import":
        return True
    if b.how in ("for", "comp"):
        return grad_free(an, b.value, seen)
    if b.how not in ("assign", "aug", "named") or b.value is None:
        return False
    if an.in_no_grad(b.stmt) and not isinstance(b.value, ast.Name | ast.Attribute | ast.Subscript):
        return True  # computed under no_grad: the result does not require grad
    return grad_free(an, b.value, seen)


def _call_grad_free(an: Analysis, node: ast.Call, seen: frozenset[int]) -> bool:
    rg = keyword(node, "requires_grad")
    if rg is not None and not (isinstance(rg, ast.Constant) and rg.value is False):
        return False
    q = an.qualname(node.func)
    if q is not None:
        mod, _, name = q.rpartition(".")
        if mod in ("numpy", "math", "builtins", "random", "time") or mod.startswith("numpy."):
            return True
        if mod == "torch":
            if name in ("tensor", "from_numpy") or name in K.TORCH_LEGACY_CONSTRUCTORS:
                return True
            if name in K.TORCH_DETERMINISTIC_FACTORIES or name in K.TORCH_RANDOM_FACTORIES:
                return all(grad_free(an, a, seen) for a in node.args)
            if name in K.TORCH_TENSOR_FUNCTIONS or name.endswith("_like"):
                return all(grad_free(an, a, seen) for a in node.args) and all(
                    grad_free(an, kw.value, seen) for kw in node.keywords
                )
        if mod == "torch.nn.functional":
            return all(grad_free(an, a, seen) for a in node.args)
        return False
    func = node.func
    if isinstance(func, ast.Attribute):
        if func.attr in _DETACHING_METHODS:
            return True
        if func.attr == "requires_grad_" and not (
            node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is False
        ):
            return False  # ``x.requires_grad_()``: from here on, x is part of a graph
        recv = an.kind(func.value)
        tensor_method = func.attr in K.TENSOR_FRESH_METHODS or func.attr in K.TENSOR_ALIASING_METHODS or (
            func.attr.endswith("_") and not func.attr.startswith("_"))
        # a receiver of unknown kind counts when it is grad-free itself (what a data function returned)
        if tensor_method and (recv.base == TENSOR or (recv.base == UNKNOWN_BASE and grad_free(an, func.value, seen))):
            return grad_free(an, func.value, seen) and all(grad_free(an, a, seen) for a in node.args) and all(
                grad_free(an, kw.value, seen) for kw in node.keywords)
    # a data function of this module (``batch = self.sample(idx)``): grad-free if all it returns is
    rets = returned_values(an, node)
    if rets is None or any(id(r) in seen for r in rets):
        return False
    seen = seen | {id(r) for r in rets}
    return all(grad_free(an, r, seen) for r in rets)
