"""Aliasing and autograd facts for in-place rewrites.

An out-of-place update ``x = x + y`` may become ``x += y`` only if nobody else holds the old
object: ``x`` must be fresh (made by a factory, arithmetic, fancy indexing, ``.clone()``...), and
its current value must not have escaped (stored, appended, aliased, returned, yielded, captured by
a closure, passed to a function we do not know) before the update. Outside ``torch.no_grad()``
the tensor must also be outside any autograd graph. When in doubt, the answer is "not safe".
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from flake8_pyfast.analysis import knowledge as K
from flake8_pyfast.analysis.astutil import keyword
from flake8_pyfast.analysis.kinds import NDARRAY, SCALAR, SEQUENCE, TENSOR

if TYPE_CHECKING:
    from flake8_pyfast.analysis.core import Analysis
    from flake8_pyfast.analysis.scopes import Binding

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
    if isinstance(node, ast.Call):
        return _call_is_fresh(an, node)
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
        else:
            return False
    if isinstance(value, ast.Name):
        return False  # ``y = x``: y is another name for x's object
    return is_fresh(an, value, seen)


def _call_is_fresh(an: Analysis, node: ast.Call) -> bool:
    q = an.qualname(node.func)
    if q is not None:
        mod, _, name = q.rpartition(".")
        if mod == "numpy":
            if name == "array":
                copy = keyword(node, "copy")
                return not (isinstance(copy, ast.Constant) and copy.value is False)
            return name in _NP_FRESH and keyword(node, "out") is None
        if mod in ("torch", "torch.nn.functional"):
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
                return False
            return func.attr in K.TENSOR_FRESH_METHODS
    return False


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
        if _positions_before(load, update) or share_loop(an, load, update):
            return True
    return False


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
        if not bindings:
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
        recv = an.kind(func.value)
        if recv.base == TENSOR and (func.attr in K.TENSOR_FRESH_METHODS or func.attr in K.TENSOR_ALIASING_METHODS):
            return grad_free(an, func.value, seen) and all(grad_free(an, a, seen) for a in node.args)
    return False
