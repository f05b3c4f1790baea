"""The shared analysis: names, reaching bindings, kinds, heat, no_grad, aliasing."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from flake8_pyfast.analysis import Analysis
from flake8_pyfast.analysis.alias import escapes_before
from flake8_pyfast.analysis.kinds import PY_FLOAT
from flake8_pyfast.checker import Settings, lint_source

INTEREST = frozenset({ast.Call, ast.Assign, ast.If})


def analyse(src: str) -> tuple[Analysis, ast.Module]:
    tree = ast.parse(textwrap.dedent(src))
    return Analysis(tree, Settings(), INTEREST), tree


def find(tree: ast.AST, text: str, line: int | None = None, nth: int = 0) -> ast.AST:
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.expr | ast.stmt) and (line is None or n.lineno == line)]
    hits = [n for n in nodes if isinstance(n, ast.expr) and ast.unparse(n) == text] or [
        n for n in nodes if isinstance(n, ast.stmt) and ast.unparse(n) == text]
    hits.sort(key=lambda n: (n.lineno, n.col_offset))
    assert len(hits) > nth, f"{text!r} not found"
    return hits[nth]


# -- names -----------------------------------------------------------------------------------

def test_qualified_names_through_aliases_and_from_imports():
    an, tree = analyse("""
        import numpy as np
        import torch.nn.functional as F
        from numpy import sqrt as s
        from torch.utils.data import sampler
        import torch as th
        G = th.nn.functional
        np.linalg.norm
        F.relu
        s
        sampler.BatchSampler
        G.relu
        len
        """)
    assert an.qualname(find(tree, "np.linalg.norm")) == "numpy.linalg.norm"
    assert an.qualname(find(tree, "F.relu")) == "torch.nn.functional.relu"
    assert an.qualname(find(tree, "s", line=10)) == "numpy.sqrt"
    assert an.qualname(find(tree, "sampler.BatchSampler")) == "torch.utils.data.sampler.BatchSampler"
    assert an.qualname(find(tree, "G.relu")) == "torch.nn.functional.relu"
    assert an.qualname(find(tree, "len")) == "builtins.len"


def test_a_parameter_shadows_the_import():
    an, tree = analyse("""
        import pybullet as p
        def f(params):
            for p in params:
                p.grad
            p.getJointState
        def g():
            return p.getJointState
        """)
    assert an.qualname(find(tree, "p.grad")) is None
    assert an.qualname(find(tree, "p.getJointState", line=8)) == "pybullet.getJointState"


def test_shadowed_builtin_is_not_the_builtin():
    an, tree = analyse("""
        def f(bounds):
            min, max = bounds
            return max
        """)
    assert an.qualname(find(tree, "max", line=4)) is None


def test_pybullet_clients_by_attribute_and_by_construction():
    an, tree = analyse("""
        import pybullet_utils.bullet_client as bc
        class Env:
            def __init__(self):
                self.sim = bc.BulletClient()
            def obs(self):
                self.sim.getBaseVelocity(1)
                self._p.getJointState(1, 2)
                self.task.physics_client.getLinkState(1, 2)
                self.tracker.getBaseVelocity(1)
        """)
    assert an.qualname(find(tree, "self.sim.getBaseVelocity")) == "pybullet.getBaseVelocity"
    assert an.qualname(find(tree, "self._p.getJointState")) == "pybullet.getJointState"
    assert an.qualname(find(tree, "self.task.physics_client.getLinkState")) == "pybullet.getLinkState"
    assert an.qualname(find(tree, "self.tracker.getBaseVelocity")) is None


# -- kinds -----------------------------------------------------------------------------------

def kind_of(src: str, text: str, line: int | None = None) -> tuple[str, str | None]:
    an, tree = analyse(src)
    k = an.kind(find(tree, text, line))
    return k.base, k.dtype


def test_flow_sensitive_rebinding():
    src = """
        import torch
        def act(obs):
            a = obs
            obs = torch.as_tensor(obs)
            b = obs
        """
    assert kind_of(src, "obs", line=4)[0] == "unknown"
    assert kind_of(src, "obs", line=6) == ("tensor", None)


def test_branches_join_and_disagreement_is_unknown():
    src = """
        import numpy as np
        def f(c):
            if c:
                x = np.zeros(3)
            else:
                x = 1.0
            y = x
            if c:
                z = 2.0
            else:
                z = 3
            w = z
        """
    assert kind_of(src, "x", line=8)[0] == "unknown"
    assert kind_of(src, "z", line=13) == ("scalar", "number")


def test_loop_carried_rebinding_is_solved():
    src = """
        import torch
        ret = torch.zeros(8)
        for t in range(10):
            ret = ret * 0.99
        total = 0
        for t in range(10):
            total = total + torch.ones(3)
        """
    assert kind_of(src, "ret", line=5) == ("tensor", "float32")
    # an int that becomes a tensor inside the loop is not an int anymore
    assert kind_of(src, "total", line=8)[0] == "unknown"


def test_tuple_unpacking_of_pybullet_getters_and_scalars():
    src = """
        import pybullet as p
        pos, orn = p.getBasePositionAndOrientation(1)
        x, y, z = pos
        q = p.getJointState(1, 2)[0]
        pos
        x
        q
        """
    an, tree = analyse(src)
    assert an.kind(find(tree, "pos", line=6)).from_pybullet
    assert an.kind(find(tree, "x", line=7)).is_scalar
    assert an.kind(find(tree, "q", line=8)).is_scalar


def test_class_wide_attribute_kinds():
    src = """
        import numpy as np
        class Walker:
            def __init__(self):
                self.theta = 0.0
                self.buf = np.zeros(3)
                self.mixed = 0.0
            def step(self):
                self.theta = float(self.theta) * 2.0
                self.mixed = np.zeros(2)
                return self.theta, self.buf, self.mixed
        """
    an, tree = analyse(src)
    assert an.kind(find(tree, "self.theta", line=11)).is_python_scalar
    assert an.kind(find(tree, "self.buf", line=11)).is_ndarray
    assert not an.kind(find(tree, "self.mixed", line=11)).known


def test_scalars_by_use_and_construction():
    src = """
        import math, time
        import numpy as np
        def f(t, a):
            u = [t.item(), float(a), len(a), math.pi, time.time(), np.random.uniform(-1, 1)]
            v = np.random.uniform(-1, 1, size=3)
        """
    an, tree = analyse(src)
    items = find(tree, "[t.item(), float(a), len(a), math.pi, time.time(), np.random.uniform(-1, 1)]")
    assert all(an.kind(e).is_scalar for e in items.elts)
    assert an.kind(find(tree, "np.random.uniform(-1, 1, size=3)")).is_ndarray


def test_indexing_tracks_rank():
    src = """
        import numpy as np
        import torch
        actions = np.zeros((100, 7))
        obs = np.array([1.0, 2.0, 3.0])
        t = torch.zeros(4, 5)
        actions[3]
        actions[3, 2]
        obs[0]
        t[0]
        actions[:, 0]
        """
    an, tree = analyse(src)
    assert (an.kind(find(tree, "actions[3]")).base, an.kind(find(tree, "actions[3]")).ndim) == ("ndarray", 1)
    assert an.kind(find(tree, "actions[3, 2]")).is_scalar
    assert an.kind(find(tree, "obs[0]")).is_scalar
    assert an.kind(find(tree, "t[0]")).is_tensor
    assert an.kind(find(tree, "actions[:, 0]")).ndim == 1


def test_annotations_and_return_annotations():
    src = """
        import numpy as np
        import torch
        def obs(self) -> np.ndarray: ...
        def f(x: torch.Tensor, y: "np.ndarray", z: float, w: int | None):
            o = obs(None)
            return x, y, z, w, o
        """
    an, tree = analyse(src)
    ret = find(tree, "(x, y, z, w, o)")
    kinds = [an.kind(e) for e in ret.elts]
    assert [k.base for k in kinds] == ["tensor", "ndarray", "scalar", "unknown", "ndarray"]


PARAM_SRC = """
    import numpy as np
    class Gait:
        def __init__(self, period=0.5):
            self.period = period
        def swing(self, phase, height=0.04):
            return np.cos(phase) * height
        def step(self, t):
            return self.swing(float(t) / 2.0) + self.swing(0.25, height=0.1)
        def mixed(self, x):
            return np.cos(x)
        def feed(self, obs):
            self.mixed(1.0)
            self.mixed(np.asarray(obs))
        def hook(self, y):
            return np.cos(y)
        def register(self, bus):
            self.hook(2.0)
            bus.append(self.hook)
        def spread(self, z):
            return np.cos(z)
        def call_spread(self, args):
            self.spread(3.0)
            self.spread(*args)
    def helper(v):
        return np.sqrt(v)
    helper(4.0)
    """


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("phase", 7, ("scalar", "float")),  # float(t) / 2.0, 0.25: a Python float at every call
        ("height", 7, ("scalar", "float")),  # the default and the keyword agree
        ("x", 11, ("unknown", None)),  # a float at one call, an array at the other
        ("y", 16, ("unknown", None)),  # handed out as a callback: called from anywhere
        ("z", 21, ("unknown", None)),  # a *args call: its arguments are not known
        ("v", 26, ("scalar", "float")),  # a module function called once, with a float
    ],
)
def test_parameter_kinds_from_the_module_call_sites(text: str, line: int, expected: tuple[str, str | None]) -> None:
    assert kind_of(PARAM_SRC, text, line) == expected


def test_parameter_kinds_need_every_caller(tmp_path: Path) -> None:
    """A method that another module of the project calls by name: its callers there are not read."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "gait.py").write_text(textwrap.dedent(PARAM_SRC))
    (tmp_path / "run.py").write_text("from gait import Gait\nGait().swing(np.zeros(3))\n")
    source = (tmp_path / "gait.py").read_text()
    tree = ast.parse(source)
    an = Analysis(tree, Settings(), path=str(tmp_path / "gait.py"))
    assert an.kind(find(tree, "phase", 7)).base == "unknown"
    assert an.kind(find(tree, "v", 26)) == PY_FLOAT  # helper() is called only here


# -- heat ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("src", "text", "expected"),
    [
        ("for i in range(3):\n    f(i)\n", "f(i)", "in a loop (line 1)"),
        ("[f(i) for i in range(3)]\n", "f(i)", "in a comprehension (line 1)"),
        ("while f(0):\n    pass\n", "f(0)", "in a while-loop condition (line 1)"),
        ("f(0)\n", "f(0)", None),
        ("class E:\n    def step(self):\n        f(0)\n", "f(0)", "in per-step method `step()`"),
        ("def _get_obs():\n    f(0)\n", "f(0)", "in per-step function `_get_obs()`"),
        ("class M:\n    def __init__(self):\n        for i in range(3):\n            f(i)\n", "f(i)", None),
        ("def layer_init(std=f(2)):\n    pass\nfor i in range(3):\n    layer_init()\n", "f(2)", None),
    ],
)
def test_heat(src, text, expected):
    an, tree = analyse(src)
    assert an.heat(find(tree, text)) == expected


def test_heat_follows_calls_in_the_same_module():
    an, tree = analyse("""
        class Env:
            def step(self, a):
                return self._bonus(a)
            def _bonus(self, a):
                return helper(a)
            def __init__(self):
                self._setup_thing()
            def _setup_thing(self):
                g(1)
        def helper(a):
            return f(a)
        """)
    assert an.heat(find(tree, "helper(a)")) == "in `_bonus()`, called from `step()` (line 4)"
    assert an.heat(find(tree, "f(a)")) == "in `helper()`, called from `_bonus()` (line 6)"
    assert an.heat(find(tree, "g(1)")) is None


def test_no_grad_context():
    an, tree = analyse("""
        import torch
        with torch.no_grad():
            a = 1
            def later():
                b = 2
        @torch.no_grad()
        def act():
            c = 3
        with torch.enable_grad():
            d = 4
        """)
    flags = {name: an.in_no_grad(find(tree, f"{name} = {v}")) for name, v in zip("abcd", "1234", strict=True)}
    assert flags == {"a": True, "b": False, "c": True, "d": False}


# -- aliasing --------------------------------------------------------------------------------

def test_freshness():
    an, tree = analyse("""
        import numpy as np
        import torch
        def f(p, buf, idx):
            a = torch.zeros(3)
            b = p
            c = buf[0]
            d = buf[idx]
            e = a.clone()
            g = a.view(-1)
            h = np.asarray(p)
            i = a
            return a, b, c, d, e, g, h, i
        """)
    ret = find(tree, "(a, b, c, d, e, g, h, i)")
    fresh = {e.id: an.is_fresh(e) for e in ret.elts}
    assert fresh == {"a": True, "b": False, "c": False, "d": False, "e": True, "g": False, "h": False, "i": False}


def test_fancy_indexing_with_a_known_index_is_fresh():
    an, tree = analyse("""
        import numpy as np
        import torch
        buf = torch.zeros(10)
        idx = np.arange(4)
        d = buf[idx]
        d
        """)
    assert an.is_fresh(find(tree, "d", line=7))


@pytest.mark.parametrize(
    ("body", "escaped"),
    [
        ("out.append(x)", True),
        ("self.last = x", True),
        ("y = x", True),
        ("buf[0] = x", False),
        ("print(x.sum())", False),
        ("z = x + 1", False),
        ("z = np.mean(x)", False),
        ("z = x.view(-1)", True),
        ("store(x)", True),
        ("z = torch.stack([x, x])", False),
    ],
)
def test_escapes(body, escaped):
    an, tree = analyse(f"""
        import numpy as np
        import torch
        def f(self, out, store):
            buf = torch.zeros(3, 3)
            x = torch.zeros(3)
            for t in range(3):
                {body}
                x = x * 2.0
        """)
    update = find(tree, "x = x * 2.0")
    load = update.value.left
    assert escapes_before(an, load, update, frozenset({id(load)})) is escaped


def test_closure_capture_escapes():
    an, tree = analyse("""
        import numpy as np
        def f():
            x = np.zeros(3)
            g = lambda: x
            for t in range(3):
                x = x + 1.0
        """)
    update = find(tree, "x = x + 1.0")
    assert escapes_before(an, update.value.left, update, frozenset({id(update.value.left)}))


def test_grad_free():
    an, tree = analyse("""
        import torch
        def forward(self, obs: torch.Tensor):
            a = torch.zeros(3)
            b = self.net(obs)
            c = b.detach() * 2
            d = torch.zeros(3, requires_grad=True)
            with torch.no_grad():
                e = self.net(obs)
            return a, b, c, d, e
        """)
    ret = find(tree, "(a, b, c, d, e)")
    assert [an.grad_free(e) for e in ret.elts] == [True, False, True, False, True]


def test_linting_leaves_no_cyclic_garbage():
    """flake8's trees must be freed by reference counting: a cycle through them costs a full GC."""
    import gc

    from flake8_pyfast.checker import lint_source
    from flake8_pyfast.rules import all_rules

    sources = [ex.code for rule in all_rules() for ex in (*rule.bad, *rule.good)]
    lint_source(sources[0])  # warm caches and imports
    gc.collect()
    gc.disable()
    try:
        for src in sources:
            lint_source(src)
        assert gc.collect() == 0
    finally:
        gc.enable()


# -- escapes: where a new array goes (buffer advice) ---------------------------------------------

def _escape(src: str, text: str, nth: int = 0) -> str:
    from flake8_pyfast.analysis.alias import escape_of

    an, tree = analyse(src)
    return escape_of(an, find(tree, text, nth=nth))


def test_escape_local_uses_are_local():
    src = """
        import numpy as np
        import pybullet as p

        class Env:
            def __init__(self):
                self.buf = np.zeros((4, 2))

            def is_fallen(self, body):
                orn = p.getBasePositionAndOrientation(body)[1]
                up = np.array(p.getMatrixFromQuaternion(orn)[6:])
                return np.dot(up, np.array([0.0, 0.0, 1.0])) < 0.85

            def place(self, body, x, y):
                pos = np.array([x, y, 0.5])
                pos += self.offset
                p.resetBasePositionAndOrientation(body, pos, (0, 0, 0, 1))
                self.buf[0] = np.array([x, y])
                return float(np.linalg.norm(pos))
        """
    assert _escape(src, "np.array(p.getMatrixFromQuaternion(orn)[6:])") == "local"
    assert _escape(src, "np.array([0.0, 0.0, 1.0])") == "local"
    assert _escape(src, "np.array([x, y, 0.5])") == "local"
    assert _escape(src, "np.array([x, y])") == "local"  # copied into an array attribute

def test_escape_by_return_through_names_views_and_tuples():
    src = """
        import numpy as np

        class Env:
            def _get_obs(self):
                obs = np.array([self.x, self.y])
                return obs.reshape(1, -1)

            def sample(self):
                s, a = np.array(self.s_lst), np.array([self.a])
                return s, a

            def info(self):
                d = {"pos": np.array([self.x, self.y])}
                return 1.0, d
        """
    assert _escape(src, "np.array([self.x, self.y])") == "returned"
    assert _escape(src, "np.array(self.s_lst)") == "returned"
    assert _escape(src, "np.array([self.a])") == "returned"
    assert _escape(src, "np.array([self.x, self.y])", nth=1) == "returned"


def test_escape_by_storage():
    src = """
        import numpy as np
        import pybullet as p

        class Env:
            def step(self, body):
                self.last_pos = np.array(p.getBasePositionAndOrientation(body)[0])
                self.history.append(np.array([self.x, self.y]))
                row = np.array([self.vx, self.vy])
                self.rows[self.i] = row
                point = np.array([self.a, self.b])
                self.active.extend([point])
                yield np.array([self.c])

        def collect(env):
            prev = None
            for t in range(100):
                cur = np.array([env.x, env.y])
                if prev is not None:
                    delta = cur - prev
                prev = cur
        """
    assert _escape(src, "np.array(p.getBasePositionAndOrientation(body)[0])") == "stored"
    assert _escape(src, "np.array([self.x, self.y])") == "stored"
    assert _escape(src, "np.array([self.vx, self.vy])") == "stored"  # self.rows: kind unknown, maybe a list
    assert _escape(src, "np.array([self.a, self.b])") == "stored"
    assert _escape(src, "np.array([self.c])") == "stored"
    assert _escape(src, "np.array([env.x, env.y])") == "stored"  # kept as prev, differenced next step


def test_escape_through_a_function_of_the_module_and_a_closure():
    src = """
        import numpy as np

        def norm2(v):
            return float(v @ v)

        def keep(v, out):
            out.append(v)

        def same(v):
            return v

        def step(env, log):
            a = norm2(np.array([env.x, env.y]))
            keep(np.array([env.vx]), log)
            b = same(np.array([env.z]))
            return b

        def later(env):
            v = np.array([env.w])
            return lambda: v.sum()
        """
    assert _escape(src, "np.array([env.x, env.y])") == "local"
    assert _escape(src, "np.array([env.vx])") == "stored"
    assert _escape(src, "np.array([env.z])") == "returned"
    assert _escape(src, "np.array([env.w])") == "stored"


# -- fresh data tensors, data functions, renewal per iteration (PYF204) --------------------------

def test_freshness_of_data_tensors():
    an, tree = analyse("""
        import numpy as np
        import torch
        def f(rows, arr, act: torch.Tensor, buf):
            a = torch.as_tensor(np.stack(rows))
            b = torch.from_numpy(arr)
            c = torch.from_numpy(buf[2:4])
            d = torch.as_tensor([1.0, 2.0])
            e = act.clone().data.normal_(0, 0.1)
            g = act.data.normal_(0, 0.1)
            h = torch.zeros(4, 2).view(-1)
            return a, b, c, d, e, g, h
        """)
    ret = find(tree, "(a, b, c, d, e, g, h)")
    fresh = {e.id: an.is_fresh(e) for e in ret.elts}
    assert fresh == {"a": True, "b": False, "c": False, "d": True, "e": True, "g": False, "h": True}


def test_what_a_data_function_returns_is_fresh_and_grad_free_unless_it_keeps_it():
    an, tree = analyse("""
        import numpy as np
        import torch
        class Buffer:
            def __init__(self, n):
                self.adv = np.zeros(n, dtype=np.float32)
            def sample(self, idx):
                adv = torch.tensor(self.adv[idx], dtype=torch.float32)
                ret = torch.tensor(self.adv[idx], dtype=torch.float32)
                return adv, ret
            def kept(self, idx):
                adv = torch.tensor(self.adv[idx], dtype=torch.float32)
                self.last = adv
                return adv
            def view(self, i):
                return torch.from_numpy(self.adv[i:i + 4])
            def gen(self, idx):
                yield torch.tensor(self.adv[idx])
            def values(self, obs):
                return self.net(obs)
            def train(self, idx, obs):
                adv, ret = self.sample(idx)
                k = self.kept(idx)
                v = self.view(1)
                g = self.gen(idx)
                q = self.values(obs)
                return adv, ret, k, v, g, q
        """)
    ret = find(tree, "(adv, ret, k, v, g, q)")
    assert [an.is_fresh(e) for e in ret.elts] == [True, True, False, False, False, False]
    assert [an.grad_free(e) for e in ret.elts] == [True, True, True, True, False, False]


@pytest.mark.parametrize(
    ("loop", "escaped"),
    [
        # a new object every iteration: what was stored after the update is last iteration's object
        ("x = torch.zeros(3)\n    x = x * 2.0\n    out.append(x)", False),
        # the same object is updated again next iteration after it was stored
        ("x = x * 2.0\n    out.append(x)", True),
        # stored before the update in the same iteration
        ("x = torch.zeros(3)\n    out.append(x)\n    x = x * 2.0", True),
        # bound only sometimes: the old object may reach the update
        ("if t:\n        x = torch.zeros(3)\n    x = x * 2.0\n    out.append(x)", True),
    ],
)
def test_escape_after_the_update_matters_only_for_the_same_object(loop, escaped):
    an, tree = analyse(
        "import torch\n"
        "def f(out):\n"
        "  x = torch.zeros(3)\n"
        "  for t in range(3):\n"
        "    " + loop + "\n"
    )
    update = find(tree, "x = x * 2.0")
    load = update.value.left
    assert escapes_before(an, load, update, frozenset({id(load)})) is escaped


def test_numpy_scalars_from_elements_unpacking_iteration_and_reductions():
    src = """
        import numpy as np
        class Env:
            def step(self, q):
                roll, pitch, yaw = self._pybullet_client.getEulerFromQuaternion(q)
                v = np.array([1.0, 2.0, 3.0])
                vx, vy, vz = v
                m = np.zeros((3, 4))
                for e in v:
                    e
                for row in m:
                    row
                m.sum(), np.max(m), m[1, 2], v[0]
                vx, yaw
        """
    an, tree = analyse(src)
    for text in ("vx", "e", "m.sum()", "np.max(m)", "m[1, 2]", "v[0]"):
        k = an.kind(find(tree, text, line=14 if text == "vx" else None))
        assert k.is_scalar and not k.is_python_scalar, text  # a NumPy scalar, not a Python float
        assert k.dtype == "np.float64", text
    assert an.kind(find(tree, "yaw", line=14)).is_python_scalar  # pybullet getters give Python floats
    row = an.kind(find(tree, "row", line=12))
    assert (row.base, row.ndim) == ("ndarray", 1)


def test_unpacking_an_array_of_unknown_rank_says_nothing():
    src = """
        import numpy as np
        def f(obs):
            a = np.asarray(obs)
            x, y = a
            for r in a:
                r
            x
        """
    an, tree = analyse(src)
    assert not an.kind(find(tree, "x", line=8)).known
    assert not an.kind(find(tree, "r", line=7)).known


def test_a_walk_over_a_networks_submodules_is_not_a_hot_loop() -> None:
    # `for m in net.modules():` visits each layer once (initialisation); a loop over parameters or a
    # batch still repeats per call, and a per-step function stays hot whatever loop it holds
    source = textwrap.dedent("""\
        import numpy as np
        import torch.nn as nn


        def orthogonalize(net):
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.orthogonal_(m.weight, gain=np.sqrt(2))
            for name, child in net.named_children():
                child.scale = np.sqrt(2)


        def update(net, batch):
            for p in net.parameters():
                p.data.mul_(np.sqrt(0.5))


        def step(self, net):
            for m in net.modules():
                m.gain = np.sqrt(2)
    """)
    found = sorted(f.line for f in lint_source(source) if f.code == "PYF101")
    assert found == [15, 20]
