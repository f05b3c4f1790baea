"""PYF202: a PyBullet getter's tuple converted to an array."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.alias import RETURNED, STORED, escape_of
from flake8_pyfast.analysis.astutil import COMPREHENSIONS
from flake8_pyfast.analysis.knowledge import CONVERTERS
from flake8_pyfast.model import Example, Finding
from flake8_pyfast.rule import Rule, Speedup
from flake8_pyfast.rules._shared import describe

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis

_JOINERS = frozenset({"numpy.concatenate", "numpy.hstack", "numpy.stack", "numpy.vstack",
                      "numpy.float32", "numpy.float64", "numpy.asarray_chkfinite"})


class PybulletTupleToArray(Rule):
    code = "PYF202"
    name = "pybullet-tuple-to-array"
    summary = "A PyBullet getter's tuple turned into a new array: write into a preallocated row"
    hot_only = False
    supersedes = ("PYF201",)
    node_types = (ast.Call,)
    harness_phase = "simulation"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "row": Speedup(1.68, 1.58, 1.71),
        # one tuple on its own: used in the step it gains little; returned (a row and its copy) it loses
        "single": Speedup(1.23, 1.20, 1.25),
        "single_copy": Speedup(0.653, 0.633, 0.663),
    }

    what = """
Finds `np.array`, `np.asarray`, `np.concatenate`, `torch.tensor`, ... applied to what a PyBullet
getter returned (`getBasePositionAndOrientation`, `getBaseVelocity`, `getJointState(s)`,
`getLinkState(s)`, `getContactPoints`, `getEulerFromQuaternion`, ...), directly, by indexing, through
a name (tuple unpacking included) or a comprehension, on `pybullet`, a `BulletClient` or the usual
client attributes (`self._p`, `self.physics_client`, ...). Reported anywhere: these getters are
called every simulation step. Not reported where the new array is kept beyond the step (stored on
an attribute such as `self.last_pos`, appended, put in a dict that is kept, read again next step):
that array must be a new object every step. Where it is returned the advice includes the copy
the caller needs, except for one tuple's array on its own, returned: there the row and its copy
cost more than the new array, so it is not reported.
"""
    why = """
PyBullet returns nested Python tuples. Converting them allocates a new array, and the usual
observation code does it for the position, the orientation, the velocities and every joint, then
concatenates. Writing the values into a row of an array allocated once (and returning a copy)
measured {speedup:row} for a position, an orientation and seven joint states, the copy included
(`bench/pattern_speed.py`), so the advice holds for a returned observation too. One tuple on its
own gains less: {speedup:single} for a 3-float position used within the step, and a row plus its
copy, returned, is {speedup:single_copy} (not reported). When PyBullet
and PyTorch share a loop this is often the largest per-step cost outside the physics itself.
"""
    example = """
import numpy as np


class Env:
    def _get_obs(self):
        pos, orn = self._p.getBasePositionAndOrientation(self.robot)
        joints = [self._p.getJointState(self.robot, j)[0] for j in self.joints]
        return np.concatenate([np.array(pos), np.array(orn), np.array(joints)])
"""
    use_instead = """
import numpy as np


class Env:
    def _get_obs(self):
        pos, orn = self._p.getBasePositionAndOrientation(self.robot)
        obs = self._obs                     # np.empty(7 + n_joints), allocated in __init__
        obs[0:3] = pos
        obs[3:7] = orn
        for i, state in enumerate(self._p.getJointStates(self.robot, self.joints)):
            obs[7 + i] = state[0]
        return obs.copy()
"""
    fix_safety = "No automatic fix: the buffer layout is yours to choose."
    when_wrong = """
If the array is computed once (at reset, for a static object) the cost is paid once; add
`# noqa: PYF202` there. A call the analysis cannot see into is assumed to read its argument;
`append`/`add`/`put`/`push`-style methods are assumed to keep it. When this rule and PYF201
match the same call only PYF202 is reported.
"""

    bad = (
        Example(
            code="""\
import numpy as np
import pybullet as p


def get_obs(robot):
    pos, orn = p.getBasePositionAndOrientation(robot)
    vel = np.array(p.getBaseVelocity(robot)[0])
    return np.concatenate([np.array(pos), orn, vel])
""",
            expect=((7, "PYF202"), (8, "PYF202"), (8, "PYF202")),
        ),
        Example(
            note="a client attribute, a comprehension over joints",
            code="""\
import numpy as np


class KukaEnv:
    def _observation(self):
        q = np.array([self._p.getJointState(self.uid, j)[0] for j in range(7)])
        return q
""",
            expect=((6, "PYF202"),),
        ),
        Example(
            note="a BulletClient object kept in an attribute with another name; one tuple used in the step",
            code="""\
import numpy as np
from pybullet_utils import bullet_client


class Sim:
    def __init__(self):
        self.sim = bullet_client.BulletClient()

    def ee_dist(self, body, goal):
        ee = np.array(self.sim.getLinkState(body, 6)[0])
        return float(np.sum((ee - goal) ** 2))
""",
            expect=((10, "PYF202"),),
        ),
    )
    good = (
        Example(
            note="one tuple's array returned: a preallocated row would need a copy, slower than the new array",
            code="""\
import numpy as np
from pybullet_utils import bullet_client


class Sim:
    def __init__(self):
        self.sim = bullet_client.BulletClient()

    def ee_pos(self, body):
        return np.array(self.sim.getLinkState(body, 6)[0])
""",
        ),
        Example(
            note="the getter's result used as it is, or something that is not a pybullet client",
            code="""\
import numpy as np
import pybullet as p


def get_obs(robot, tracker):
    pos, orn = p.getBasePositionAndOrientation(robot)
    p.resetBasePositionAndOrientation(robot, pos, orn)
    img = np.array(p.getCameraImage(64, 64)[2])
    other = np.array(tracker.getBasePositionAndOrientation())
    return pos
""",
        ),
        Example(
            note="kept for the next step: a reused row would make the difference zero",
            code="""\
import numpy as np


class Hopper:
    def step(self, action):
        self._p.stepSimulation()
        pos = np.array(self._p.getBasePositionAndOrientation(self.body)[0])
        speed = (pos - self.last_pos) / self.dt
        self.last_pos = pos
        self.trajectory.append(np.array(self._p.getBaseVelocity(self.body)[0]))
        return float(speed[0])
""",
        ),
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        if not node.args or isinstance(node.args[0], ast.Starred):
            return
        q = an.qualname(node.func)
        if q not in CONVERTERS and q not in _JOINERS:
            return
        arg = node.args[0]
        sources = list(arg.elts) if isinstance(arg, ast.List | ast.Tuple) and q in _JOINERS else [arg]
        for source in sources:
            if an.kind(source).from_pybullet:
                escape = escape_of(an, node)
                if escape == STORED:
                    return  # kept beyond the step (an attribute, a list, next step's `prev`): a new array is needed
                lone = (q not in _JOINERS and not self._joined(node, an)
                        and not isinstance(source, (ast.List, ast.Tuple, *COMPREHENSIONS)))
                if lone and escape == RETURNED:
                    return  # one tuple returned: a row plus its copy is slower than the new array (single_copy)
                where = " and return a copy" if escape == RETURNED else ""
                factor = self.speedups["single" if lone else "row"]
                yield self.report(
                    node,
                    f"`{describe(q)}()` of a PyBullet getter's tuple (runs every step): "
                    f"write the values into a preallocated row instead{where} ({factor.claim})",
                )
                return

    @staticmethod
    def _joined(node: ast.Call, an: Analysis) -> bool:
        """Is ``node`` one of the parts an ``np.concatenate([...])`` (or hstack, ...) joins?"""
        parent = an.parent(node)
        if isinstance(parent, ast.List | ast.Tuple):
            parent = an.parent(parent)
        return isinstance(parent, ast.Call) and an.qualname(parent.func) in _JOINERS
