"""Heat across a project: small multi-module projects written fresh into temporary folders."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from flake8_pyfast.analysis import project
from flake8_pyfast.checker import lint_source
from flake8_pyfast.model import Finding

BASE_ENV = """\
class TerrainEnvBase:
    def __init__(self, seed):
        self.seed = seed
        self.tick = 0

    def step(self, action):
        self.tick += 1
        self.applyTorques(action)
        obs = self.computeObs()
        return obs, self.rewardTerms(obs) + self.headingError(0.0)

    def applyTorques(self, action):
        pass

    def computeObs(self):
        raise NotImplementedError

    def rewardTerms(self, obs):
        return 0.0

    def headingError(self, yaw):
        return yaw
"""

HOPPER = """\
import numpy as np

from envs.base import TerrainEnvBase


class Smoother:
    def __init__(self, alpha):
        self.alpha = alpha

    def blend(self, value):
        return np.exp(-0.5 * float(value))


class PlanarHopper(TerrainEnvBase):
    def __init__(self, seed):
        super().__init__(seed)
        self.smoother = Smoother(0.3)
        self.gain = np.sqrt(float(seed))  # set-up: cold

    def computeObs(self):
        height = np.sqrt(float(self.tick))
        return self.smoother.blend(height) + self.headingError(0.1)

    def describeGait(self):
        return np.sqrt(float(self.tick))  # called by nothing hot
"""

HEADING = """\
import numpy as np

from envs.base import TerrainEnvBase


class HeadingMixinEnv(TerrainEnvBase):
    def headingError(self, yaw):
        return np.cos(float(yaw))
"""


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PYFAST_CACHE_DIR", str(folder))
    project.clear_memory()
    yield folder
    project.clear_memory()


def make(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def lint(path: Path, with_path: bool = True) -> list[Finding]:
    return lint_source(path.read_text(), path=str(path) if with_path else None)


def at(findings: list[Finding], line: int) -> list[Finding]:
    return [f for f in findings if f.line == line]


def env_project(tmp_path: Path) -> Path:
    return make(tmp_path / "proj", {
        "envs/__init__.py": "",
        "envs/base.py": BASE_ENV,
        "envs/hopper.py": HOPPER,
        "envs/heading.py": HEADING,
    })


def test_subclass_method_called_from_base_step_in_another_module(tmp_path: Path) -> None:
    root = env_project(tmp_path)
    hopper = root / "envs" / "hopper.py"
    found = lint(hopper)
    [obs] = at(found, 21)
    assert obs.code == "PYF101"
    assert "in `computeObs()`, called from `TerrainEnvBase.step()` (envs/base.py:9)" in obs.message
    # the module alone cannot see it
    assert at(lint(hopper, with_path=False), 21) == []
    # set-up code and code nothing hot calls stay quiet
    assert at(found, 18) == [] and at(found, 26) == []


def test_method_of_a_helper_object_on_self(tmp_path: Path) -> None:
    root = env_project(tmp_path)
    found = lint(root / "envs" / "hopper.py")
    [blend] = at(found, 11)
    assert "in `blend()`, called from `PlanarHopper.computeObs()` (line 22)" in blend.message


def test_override_of_a_method_the_base_calls_from_a_hot_method(tmp_path: Path) -> None:
    """``self.headingError()`` in a hot method reaches every override in the project."""
    root = env_project(tmp_path)
    [cos] = at(lint(root / "envs" / "heading.py"), 8)
    assert "in `headingError()`, called from `TerrainEnvBase.step()` (envs/base.py:10)" in cos.message


def test_module_function_called_per_update_from_another_modules_loop(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "learn/__init__.py": "",
        "learn/batching.py": """\
            import numpy as np


            def assemble_minibatch(transitions, discount):
                return np.power(float(discount), 2.0) * len(transitions)


            def describe(transitions):
                return np.sqrt(float(len(transitions)))
            """,
        "learn/trainer.py": """\
            from learn.batching import assemble_minibatch, describe


            def run_training(memory, updates):
                print(describe(memory))
                for _ in range(updates):
                    assemble_minibatch(memory, 0.99)
            """,
    })
    found = lint(root / "learn" / "batching.py")
    [power] = at(found, 5)
    assert "in `assemble_minibatch()`, called in a loop in `run_training()` (learn/trainer.py:7)" in power.message
    assert at(found, 9) == []  # called once, before the loop


def test_method_of_a_local_object_and_a_module_alias(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "stats.py": """\
            import numpy as np


            class RunningStats:
                def __init__(self):
                    self.var = 1.0

                def push(self, x):
                    return np.sqrt(float(x) + self.var)


            def squash(x):
                return np.tanh(float(x))
            """,
        "loop.py": """\
            import stats as st


            def collect(env, n):
                tracker = st.RunningStats()
                for _ in range(n):
                    tracker.push(env.read())
                    st.squash(env.read())
            """,
    })
    found = lint(root / "stats.py")
    assert "in `push()`, called in a loop in `collect()` (loop.py:7)" in at(found, 9)[0].message
    assert "in `squash()`, called in a loop in `collect()` (loop.py:8)" in at(found, 13)[0].message


def test_instances_passed_as_arguments_and_periodic_calls(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "storage.py": """\
            import numpy as np


            class Rollouts:
                def minibatches(self, n):
                    return np.sqrt(float(n))

                def summary(self):
                    return np.sqrt(float(len(self.items)))
            """,
        "agent.py": """\
            class Learner:
                def update(self, rollouts):
                    return rollouts.minibatches(4)

                def on_step(self, rollouts, n_calls):
                    if n_calls % 1000 == 0:
                        rollouts.summary()
            """,
        "main.py": """\
            from agent import Learner
            from storage import Rollouts


            def main(n):
                learner = Learner()
                rollouts = Rollouts()
                for i in range(n):
                    learner.update(rollouts)
                    learner.on_step(rollouts, i)
            """,
    })
    found = lint(root / "storage.py")
    assert "in `minibatches()`, called from `Learner.update()` (agent.py:3)" in at(found, 6)[0].message
    assert at(found, 9) == []  # once every thousand calls


PARAM_LAYER = """\
import math

import numpy as np
import torch
from torch import nn


class NoisyLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self.n_in = n_in
        self.reset()

    def reset(self):
        bound = np.sqrt(float(self.n_in))
        self.reset_parameters(bound)

    def reset_parameters(self, bound):
        scale = np.sqrt(1.0 / float(bound))
        nn.init.uniform_(self.weight, -scale, scale)

    def forward(self, x):
        return x @ self.weight.t() * np.sqrt(float(self.n_in))


class GridEnv:
    def reset(self):
        return np.sqrt(float(self.size))
"""


@pytest.mark.parametrize("with_path", [True, False])
def test_parameter_reinitialisation_is_cold(tmp_path: Path, with_path: bool) -> None:
    root = make(tmp_path / "proj", {"nets/layers.py": PARAM_LAYER, "nets/__init__.py": ""})
    found = lint(root / "nets" / "layers.py", with_path)
    assert at(found, 16) == [] and at(found, 20) == []  # reset() / reset_parameters() of a layer
    assert at(found, 24)  # forward() is per step
    assert at(found, 29)  # an environment's reset() is per episode: still a per-step name


def test_torch_module_found_through_a_project_base_class(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "nets/__init__.py": "",
        "nets/base.py": "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    pass\n",
        "nets/head.py": """\
            import numpy as np

            from nets.base import Block


            class ValueHead(Block):
                def reset(self):
                    self.scale = np.sqrt(float(self.width))
            """,
    })
    head = root / "nets" / "head.py"
    assert at(lint(head), 8) == []
    assert at(lint(head, with_path=False), 8)  # alone, the module cannot know Block is a torch module


def test_cache_is_shared_and_a_changed_file_invalidates_only_itself(tmp_path: Path, cache: Path) -> None:
    root = env_project(tmp_path)
    hopper = root / "envs" / "hopper.py"
    before = project.STATS.parsed
    assert at(lint(hopper), 21)
    assert project.STATS.parsed - before == 4  # every module parsed once for the index
    facts = [f for f in cache.rglob("*.json") if f.parent.name != "projects"]
    assert len(facts) == 4
    assert len(list((cache / "projects").glob("*.json"))) == 1  # the project's heat, whole
    project.clear_memory()  # a new process: the heat comes whole from the disk cache
    before, hits, whole = project.STATS.parsed, project.STATS.hits, project.STATS.summaries
    assert at(lint(hopper), 21)
    assert project.STATS.parsed == before and project.STATS.hits == hits
    assert project.STATS.summaries - whole == 1
    for summary in (cache / "projects").glob("*.json"):
        summary.unlink()
    project.clear_memory()  # without the summary: every module's facts from the disk cache
    before, hits = project.STATS.parsed, project.STATS.hits
    assert at(lint(hopper), 21)
    assert project.STATS.parsed == before and project.STATS.hits - hits == 4
    # the base class stops calling computeObs(): only that file is parsed again, the heat is gone
    base = root / "envs" / "base.py"
    base.write_text(BASE_ENV.replace("obs = self.computeObs()", "obs = None"))
    project.clear_memory()
    before, whole = project.STATS.parsed, project.STATS.summaries
    assert at(lint(hopper), 21) == []
    assert project.STATS.parsed - before == 1
    assert project.STATS.summaries == whole  # a changed file makes a new summary key
    # in one process, a change to the linted file itself rebuilds the index
    text = hopper.read_text()
    hopper.write_text(text + "\n\ndef step(seed):\n    env = PlanarHopper(seed)\n    return env.computeObs()\n")
    assert at(lint(hopper), 21)


def test_no_project_view_for_text_without_a_file(tmp_path: Path) -> None:
    assert project.project_for(tmp_path / "missing.py") is None
    assert lint_source(HOPPER, path=str(tmp_path / "missing.py")) == lint_source(HOPPER)


def test_a_loose_folder_is_indexed_without_its_subfolders(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    (loose / "deep").mkdir(parents=True)
    (loose / "a.py").write_text("x = 1\n")
    (loose / "deep" / "b.py").write_text("y = 2\n")
    found = project.project_for(loose / "a.py")
    assert found is not None
    assert set(found[0].by_rel) == {"a.py"}


def _clean_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFAST")}
    env["PYFAST_CACHE_DIR"] = str(cache)
    return env


def test_flake8_in_parallel_and_pyfast_fix_agree(tmp_path: Path, cache: Path) -> None:
    root = env_project(tmp_path)
    env = _clean_env(cache)
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "PYF", "-j", "2", "envs"],
        cwd=root, capture_output=True, text=True, check=False, env=env,
    )
    assert proc.returncode == 1, proc.stderr
    pattern = re.compile(r"^(.+?):(\d+):\d+: (PYF\d+) (.*)$")
    from_flake8 = set()
    for line in proc.stdout.splitlines():
        m = pattern.match(line)
        assert m, line
        from_flake8.add((Path(m[1]).as_posix(), int(m[2]), m[3], m[4]))
    fix = subprocess.run(
        [sys.executable, "-m", "autofix.cli", "--diff", "--output-format", "json", "-j", "2", "envs"],
        cwd=root, capture_output=True, text=True, check=False, env=env,
    )
    assert fix.returncode == 1, fix.stdout + fix.stderr
    report = json.loads(fix.stdout)
    from_fix = {(Path(f["path"]).as_posix(), f["line"], f["code"], f["message"])
                for f in report["findings"] + report["fixes"]}
    assert from_flake8 == from_fix
    assert any("(envs/base.py:9)" in msg for *_, msg in from_flake8)
    assert ("envs/heading.py", 8) in {(p, line) for p, line, *_ in from_flake8}


def test_a_damaged_project_summary_is_rebuilt(tmp_path: Path, cache: Path) -> None:
    root = env_project(tmp_path)
    hopper = root / "envs" / "hopper.py"
    assert at(lint(hopper), 21)
    (summary,) = (cache / "projects").glob("*.json")
    summary.write_text("{not json")
    project.clear_memory()
    whole = project.STATS.summaries
    assert at(lint(hopper), 21)
    assert project.STATS.summaries == whole
    assert json.loads(summary.read_text())  # written again, whole


SETUP_BASE = """\
    import numpy as np


    class RobotBase:
        def __init__(self, n):
            self.n = n
            self.space = self._observation_space()

        def step(self, action):
            return self.observe()
    """
SETUP_ROBOT = """\
    import numpy as np
    from robots.base import RobotBase


    class Arm(RobotBase):
        def _observation_space(self):
            low = np.zeros(0)
            for i in range(self.n):
                low = np.concatenate((low, np.full(3, -1.0)))
            return low

        def observe(self):
            return self._stack()

        def _stack(self):
            rows = np.zeros(0)
            for i in range(self.n):
                rows = np.concatenate((rows, np.zeros(3)))
            return rows

        def _limits(self):
            out = np.zeros(0)
            for i in range(self.n):
                out = np.concatenate((out, np.ones(2)))
            return out

        def reset_limits(self):
            self.lim = self._limits()


    def main():
        arm = Arm(3)
        for t in range(1000):
            arm.lim = arm._limits()
    """


def test_functions_only_set_up_code_calls_are_cold(tmp_path: Path) -> None:
    """``_observation_space`` runs once, from the base class's ``__init__`` in another module: its
    loop is set-up. ``_stack`` is per step. ``_limits`` is also called from a script's loop: hot."""
    root = make(tmp_path / "proj", {"robots/__init__.py": "", "robots/base.py": SETUP_BASE,
                                    "robots/arm.py": SETUP_ROBOT})
    found = lint(root / "robots" / "arm.py")
    assert at(found, 9) == []
    assert [f.code for f in at(found, 18)] == ["PYF203"]
    assert [f.code for f in at(found, 24)] == ["PYF203"]
    # alone, the module cannot see who calls _observation_space(): its loop is taken as hot
    assert [f.code for f in at(lint(root / "robots" / "arm.py", with_path=False), 9)] == ["PYF203"]


def test_functions_only_set_up_code_calls_in_one_module() -> None:
    src = textwrap.dedent("""\
        import numpy as np


        class Arm:
            def __init__(self, n):
                self.n = n
                self.space = self._observation_space()

            def _observation_space(self):
                low = np.zeros(0)
                for i in range(self.n):
                    low = np.concatenate((low, np.full(3, -1.0)))
                return low

            def _grow(self):
                out = np.zeros(0)
                for i in range(self.n):
                    out = np.concatenate((out, np.ones(2)))
                return out

            def configure(self, callbacks):
                self.g = self._grow()
                callbacks.append(self._grow)
        """)
    found = lint_source(src)
    assert at(found, 12) == []
    assert [f.code for f in at(found, 18)] == ["PYF203"]  # handed out as a callback: may run anywhere


def test_methods_of_objects_kept_in_a_list(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "ctrl.py": """\
            import numpy as np


            class Controller:
                def compute(self, yaw):
                    return np.array([np.cos(yaw), np.sin(yaw), 0.0]) @ np.ones(3)
            """,
        "run.py": """\
            from ctrl import Controller

            ctrls = [Controller() for _ in range(4)]
            for t in range(1000):
                for j in range(4):
                    ctrls[j].compute(0.1 * t)
            """,
    })
    [display] = [f for f in lint(root / "ctrl.py") if f.code == "PYF201"]
    assert "in `compute()`, called in a loop (run.py:6)" in display.message


def test_a_callback_made_in_set_up_code_is_not_set_up(tmp_path: Path) -> None:
    """``make_agent()`` (set-up) builds a closure that the planner calls every iteration: what the
    closure calls is not set-up code, though its only caller sits inside a set-up function."""
    root = make(tmp_path / "proj", {
        "model.py": """\
            import numpy as np


            class Model:
                def rollout_cost(self, plans):
                    total = np.zeros(0)
                    for p in plans:
                        total = np.concatenate((total, p))
                    return total
            """,
        "agent.py": """\
            from model import Model


            def make_agent(model: Model):
                def objective(plans):
                    return model.rollout_cost(plans)
                return objective
            """,
    })
    assert [f.code for f in at(lint(root / "model.py"), 8)] == ["PYF203"]
