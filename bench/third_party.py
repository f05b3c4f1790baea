"""Proof on third-party code: real RL packages, unmodified, against their pyfast-fixed copies.

panda-gym 3.0.7 (PyBullet robot environments) and stable-baselines3 2.9.2 (a PPO training loop
on a panda-gym environment) come from the package index through corpus.py's cache;
``pybullet_envs`` (PyBullet's own locomotion environments) is copied from the installed
``pybullet`` wheel, every file checked against the wheel's RECORD hashes first. Four copies
of the packages are made side by side:

* ``original``  - the downloaded source, unmodified;
* ``original2`` - a second unmodified copy: the A/A control (same code, another folder);
* ``fixed``     - ``pyfast-fix --unsafe-fixes --isolated`` applied to the copy (fixes recorded per rule);
* ``hand``      - ``fixed`` plus the HAND_FIXES below: reproducible string replacements for the
                  hot-path patterns a profile shows and no automatic fix covers (each says why).

Each workload runs every copy in its own process (the copy imported through ``PYTHONPATH``; the
child checks ``module.__file__``), in interleaved rounds whose order rotates, with the same seed
and the same action sequence (drawn from a seeded NumPy generator independent of the
environment). Workloads:

* ``panda-gym``: steps several environment ids for ``--steps`` steps each, resetting at episode
  ends; records observations, rewards, terminations and truncations;
* ``stable-baselines3``: PPO (MultiInputPolicy, one torch thread) on PandaReachDense-v3 for
  ``--steps`` environment steps; records the rollouts' observations and rewards, every logged
  training loss and the final network parameters;
* ``pybullet-envs``: the Hopper, Walker2D, HalfCheetah and Ant locomotion environments, classes
  instantiated directly (no ``gym.make``, no wrappers: the old-API ``gym`` 0.26 is needed only for
  ``gym.Env`` and its spaces), seeded once, ``--steps`` steps each, resetting when done; records
  observations, rewards and done flags. Their robots read joint and link states and apply
  per-joint torques in Python every step, so Python is a large share of a step.

Only the stepping / ``learn()`` loop is timed (imports and construction are not). Every trace is
compared with the first ``original`` run: bit-identical, else within runtime_check's tolerance
with the largest difference printed, else "changes results". Throughput ratios per round
(original time / variant time) are summarised by runtime_check.stats: median with a bootstrap
95% interval and a verdict. Run the timed form under the shared lock:

    flock /tmp/pyfast-timing.lock python bench/third_party.py [--package NAME] [--rounds N]
        [--steps N] [--json PATH] [--keep DIR] [--require]

If the package index cannot be reached (and nothing is cached) or a dependency is missing, it
prints SKIPPED with the reason and exits 0 (``--require``: exit 1).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from corpus import BENCH_ENV, CorpusUnavailable, corpus  # noqa: E402

#: import name -> the pinned distribution corpus.py downloads
SPECS = {"panda_gym": "panda-gym==3.0.7", "stable_baselines3": "stable-baselines3==2.9.2"}
#: import name -> the installed distribution whose copy of it is used (checked against its RECORD)
INSTALLED = {"pybullet_envs": "pybullet"}
#: the packages each workload imports: each is copied, and fixed, in every variant
IMPORTS = {"panda-gym": ("panda_gym",), "stable-baselines3": ("panda_gym", "stable_baselines3"),
           "pybullet-envs": ("pybullet_envs",)}
#: third-party modules each workload needs installed (not copied: they are not under test)
NEEDS = {"panda-gym": ("gymnasium", "pybullet", "scipy"), "stable-baselines3": ("gymnasium", "pybullet", "torch"),
         "pybullet-envs": ("gym", "pybullet", "pybullet_envs")}
VARIANTS = ("original", "original2", "fixed", "hand")
ENV_IDS = ("PandaReach-v3", "PandaPush-v3", "PandaPickAndPlaceJoints-v3")
PPO_ENV = "PandaReachDense-v3"
PPO_N_STEPS = 256
#: pybullet_envs.gym_locomotion_envs classes; Hopper and Walker2D fall (done) every 11-15 random steps
LOCOMOTION_ENVS = ("HopperBulletEnv", "Walker2DBulletEnv", "HalfCheetahBulletEnv", "AntBulletEnv")
#: top-level modules pybullet_envs imports from its own folder (it puts that folder on sys.path)
LOCOMOTION_MODULES = ("pybullet_envs", "pybullet_envs.gym_locomotion_envs", "robot_locomotors", "robot_bases")
DEFAULT_STEPS = {"panda-gym": 500, "stable-baselines3": 1024, "pybullet-envs": 500}
SEED = 0


@dataclass(frozen=True)
class HandFix:
    package: str  # import name
    path: str  # relative to the package folder
    old: str
    new: str
    why: str  # what it saves, and why no automatic fix does it


HAND_FIXES: tuple[HandFix, ...] = (
    HandFix(
        "panda_gym", "pybullet.py",
        "        self.physics_client = bc.BulletClient(connection_mode=self.connection_mode, options=options)\n",
        "        self.physics_client = bc.BulletClient(connection_mode=self.connection_mode, options=options)\n"
        "        _getattr = type(self.physics_client).__getattr__\n"
        "        for _name in ('stepSimulation', 'getLinkState', 'getJointState', 'getBasePositionAndOrientation',\n"
        "                      'getBaseVelocity', 'calculateInverseKinematics', 'setJointMotorControlArray',\n"
        "                      'resetJointState', 'resetBasePositionAndOrientation', 'getEulerFromQuaternion'):\n"
        "            setattr(self.physics_client, _name, _getattr(self.physics_client, _name))\n",
        "pybullet_utils' BulletClient resolves every call through __getattr__ (getattr on the pybullet "
        "module, inspect.isbuiltin, a new functools.partial): ~30 times per env step, 20 of them "
        "stepSimulation. Binding the partials once per client is equivalent only because nothing "
        "rebinds pybullet's functions or the client id later, which the linter cannot see: the "
        "class and its dynamic __getattr__ live in another package.",
    ),
    HandFix(
        "stable_baselines3", "common/distributions.py",
        "        self.distribution = Normal(mean_actions, action_std)\n",
        "        self.distribution = Normal(mean_actions, action_std, validate_args=False)\n",
        "PYF302's pattern (a torch.distributions object built per step with argument validation "
        "on), not reported here: proba_distribution() is called per step only from other modules "
        "(policies.py), and the per-module heat does not cross modules. Unsafe by nature: "
        "invalid parameters (NaN means) no longer raise.",
    ),
    HandFix(
        "stable_baselines3", "common/vec_env/dummy_vec_env.py",
        "        return dict_to_obs(self.observation_space, deepcopy(self.buf_obs))\n",
        "        return dict_to_obs(self.observation_space,\n"
        "                           type(self.buf_obs)((k, v.copy()) for k, v in self.buf_obs.items()))\n",
        "copy.deepcopy of a dict of NumPy arrays every env step, where a copy of each array is the "
        "same value: deepcopy walks its memo machinery per item. Equivalent only because "
        "buf_obs holds numeric arrays (no object arrays, no nested containers), which follows "
        "from the observation space built at run time, not from the source.",
    ),
    HandFix(
        "pybullet_envs", "env_bases.py",
        "      self.physicsClientId = self._p._client\n",
        "      self.physicsClientId = self._p._client\n"
        "      for _name in ('stepSimulation', 'getBasePositionAndOrientation', 'getLinkState', 'getJointState',\n"
        "                    'getBaseVelocity', 'getContactPoints', 'setJointMotorControl2'):\n"
        "        setattr(self._p, _name, getattr(self._p, _name))\n",
        "the same BulletClient.__getattr__ cost as in panda-gym, larger here: ~26 (Hopper) to ~47 (Ant) "
        "client calls per env step, each a getattr on the pybullet module, inspect.isbuiltin and a new "
        "functools.partial. Binding the per-step functions once per client is equivalent only because "
        "nothing rebinds pybullet's functions or the client id later (disconnect, which resets the id, "
        "is left dynamic), which the linter cannot see: the class lives in another package.",
    ),
    HandFix(
        "pybullet_envs", "robot_locomotors.py",
        "    parts_xyz = np.array([p.pose().xyz() for p in self.parts.values()]).flatten()\n",
        "    parts_xyz = np.array([p._p.getBasePositionAndOrientation(p.bodies[p.bodyIndex])[0]\n"
        "                          if p.bodyPartIndex == -1\n"
        "                          else p._p.getLinkState(p.bodies[p.bodyIndex], p.bodyPartIndex)[0]\n"
        "                          for p in self.parts.values()]).flatten()\n",
        "PYF202's finding at robot_bases.py:281 (np.array of a getter's tuple) seen from its caller: "
        "every body part's position goes through four methods and two classes (pose().xyz() -> "
        "current_position() -> get_pose() -> state_fields_of_pose_of()), builds a 7-float array to "
        "slice 3 off it, then one array of those arrays: 13 (Hopper) to 24 (Ant) parts per step. "
        "Reading the getter's position tuple directly gives the same float64 values. Not automatic: "
        "it inlines methods of another module's classes, equivalent only while no subclass overrides "
        "them; PYF202's own fix (a preallocated row) would keep the call chain and most of the cost.",
    ),
    HandFix(
        "pybullet_envs", "robot_locomotors.py",
        "    for n, j in enumerate(self.ordered_joints):\n"
        "      j.set_motor_torque(self.power * j.power_coef * float(min(max(a[n], -1), +1)))\n",
        "    for n, j in enumerate(self.ordered_joints):\n"
        "      j._p.setJointMotorControl2(bodyIndex=j.bodies[j.bodyIndex], jointIndex=j.jointIndex,\n"
        "                                 controlMode=pybullet.TORQUE_CONTROL,\n"
        "                                 force=self.power * j.power_coef * float(min(max(a[n], -1), +1)))\n",
        "after pyfast-fix's PYF101 fix on this line (np.clip of one action component -> min(max())): "
        "the torque still goes through two Joint methods (set_motor_torque -> set_torque) per joint "
        "per step; the same pybullet call made here. Not automatic: it inlines another module's "
        "class methods, equivalent only while no subclass overrides them.",
    ),
)


class BenchError(RuntimeError):
    """A copy, a fix or a child run failed: the message names the file or the variant and why."""


# -- copies and fixes ---------------------------------------------------------------------------

def make_copies(sources: dict[str, Path], root: Path) -> dict[str, Path]:
    """One folder per variant, each holding a copy of every package (import name -> source)."""
    dirs = {}
    for variant in VARIANTS:
        d = root / variant
        for name, src in sources.items():
            shutil.copytree(src, d / name, ignore=shutil.ignore_patterns("__pycache__"))
        dirs[variant] = d
    return dirs


def installed_source(package: str) -> Path:
    """The folder of an installed package, once every ``.py`` file in it has been checked against its
    distribution's RECORD: same hash, and no file the wheel did not ship (the copies must be the
    released code, unmodified)."""
    import base64
    import hashlib
    from importlib import metadata

    dist_name = INSTALLED[package]
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise BenchError(f"{package}: the {dist_name} distribution is not installed") from None
    folder = Path(str(dist.locate_file(package))).resolve()
    recorded = set()
    for file in dist.files or ():
        if file.parts[0] != package or file.hash is None:
            continue
        path = Path(str(dist.locate_file(file))).resolve()
        recorded.add(path)
        data = path.read_bytes() if path.is_file() else b""
        digest = base64.urlsafe_b64encode(hashlib.new(file.hash.mode, data).digest()).rstrip(b"=").decode()
        if digest != file.hash.value:
            raise BenchError(f"{path}: missing or different from {dist_name} {dist.version}'s RECORD "
                             "(modified after installation?); reinstall the wheel")
    extra = sorted(p for p in folder.rglob("*.py") if p.resolve() not in recorded)
    if not recorded or extra:
        raise BenchError(f"{folder}: " + (f"{extra[0]} is not part of {dist_name} {dist.version}'s RECORD"
                                          if extra else f"no files recorded for it in {dist_name}'s RECORD"))
    return folder


def apply_fixer(target: Path) -> dict[str, Any]:
    """``pyfast-fix --unsafe-fixes --isolated`` on a folder: the fixes applied, per rule and one by one."""
    proc = subprocess.run(
        [sys.executable, "-m", "autofix.cli", "--unsafe-fixes", "--isolated", "--output-format", "json", str(target)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    if proc.returncode not in (0, 1):
        raise BenchError(f"pyfast-fix on {target} exited {proc.returncode}: {proc.stderr.strip()[-1500:]}")
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise BenchError(f"pyfast-fix on {target}: unreadable JSON report ({exc})") from None
    applied = [f for f in report["fixes"] if f.get("fix", {}).get("applied", True)]
    per_package: dict[str, Counter[str]] = {}
    for f in applied:
        per_package.setdefault(Path(f["path"]).relative_to(target).parts[0], Counter())[f["code"]] += 1
    return {
        "per_rule": dict(sorted(Counter(f["code"] for f in applied).items())),
        "per_package": {k: dict(sorted(v.items())) for k, v in sorted(per_package.items())},
        "fixes": [f"{Path(f['path']).relative_to(target)}:{f['line']} {f['code']}" for f in applied],
        "flagged_only": dict(sorted(Counter(f["code"] for f in report["findings"]).items())),
        "errors": [f"{e['path']}: {e['message'][:300]}" for e in report["errors"]],
    }


def apply_hand_fixes(root: Path, fixes: Sequence[HandFix] = HAND_FIXES) -> list[str]:
    """Apply the string replacements under ``root`` (one folder per package); each must match exactly once."""
    done = []
    for fix in fixes:
        path = root / fix.package / fix.path
        if not path.is_file():
            continue  # the package is not part of this run
        text = path.read_text(encoding="utf-8")
        count = text.count(fix.old)
        if count == 0 and fix.new in text:
            done.append(f"{fix.package}/{fix.path} (already made by pyfast-fix)")
            continue
        if count != 1:
            raise BenchError(f"{path}: hand fix expected its pattern exactly once, found it {count} times: "
                             f"{fix.old.strip()[:80]!r}")
        _write_atomic(path, text.replace(fix.old, fix.new))
        done.append(f"{fix.package}/{fix.path}")
    return done


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# -- comparison ---------------------------------------------------------------------------------

def max_differences(base: dict[str, Any], other: dict[str, Any]) -> tuple[float, str]:
    """The largest absolute difference over the float arrays both traces share, and where."""
    import numpy as np

    worst, where = 0.0, ""
    for key in sorted(set(base) & set(other)):
        a, b = base[key], other[key]
        if a.shape != b.shape or a.dtype.kind not in "fc":
            continue
        if a.size:
            d = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
            if d > worst or (d != d):  # NaN counts as the worst
                worst, where = d, key
    return worst, where


def compare_traces(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Exact first, then runtime_check's tolerance; the largest difference either way."""
    from runtime_check.equivalence import compare

    eq = compare(base, other, ("exact", "tolerance"))
    worst, where = max_differences(base, other)
    return {"equivalent": eq.equivalent, "how": eq.how, "detail": eq.detail,
            "max_abs_diff": worst, "max_abs_diff_at": where}


def summarise(times: dict[str, list[float]], steps: int, equal: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per variant: steps/s (median, min, max); ratio to ``original`` per round: median, bootstrap CI, verdict."""
    import numpy as np

    from runtime_check.stats import bootstrap_median, paired_speedups, verdict

    out: dict[str, Any] = {}
    for variant, ts in times.items():
        rates = [steps / t for t in ts]
        row: dict[str, Any] = {"seconds": ts, "steps_per_s": {
            "median": float(np.median(rates)), "min": min(rates), "max": max(rates)}}
        if variant != "original":
            ratios = paired_speedups(times["original"], ts)
            median, lo, hi = bootstrap_median(ratios)
            eq = equal[variant]
            row.update(ratios=ratios, ratio=median, ci=[lo, hi], equivalence=eq,
                       verdict=verdict(lo, hi, eq["equivalent"]))
        out[variant] = row
    return out


# -- children -----------------------------------------------------------------------------------

def _check_origin(modules: Sequence[str], root: Path) -> dict[str, str]:
    """The imported packages must be the copies under ``root``, not an installed one."""
    import importlib

    files = {}
    for name in modules:
        module = importlib.import_module(name)
        file = Path(module.__file__ or "").resolve()
        if root.resolve() not in file.parents:
            raise BenchError(f"{name} was imported from {file}, not from the copy under {root} "
                             "(an installed package shadows it?)")
        files[name] = str(file)
    return files


def child_envs(root: Path, steps: int, seed: int) -> tuple[dict[str, Any], float, int, dict[str, str]]:
    import time

    import gymnasium as gym
    import numpy as np

    files = _check_origin(IMPORTS["panda-gym"], root)
    rng = np.random.default_rng(seed)
    trace: dict[str, Any] = {}
    elapsed = 0.0
    for env_id in ENV_IDS:
        env = gym.make(env_id)
        shape = env.action_space.shape or ()
        actions = rng.uniform(-1.0, 1.0, size=(steps, *shape)).astype(np.float32)
        episode = 0
        obs, _ = env.reset(seed=seed)
        rec: dict[str, list[Any]] = {k: [obs[k]] for k in obs}
        rewards, terms, truncs = [], [], []
        start = time.perf_counter()
        for action in actions:
            obs, reward, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                episode += 1  # panda-gym reseeds its task from the OS on reset(seed=None): pass one
                obs, _ = env.reset(seed=seed + episode)
            for k in rec:
                rec[k].append(obs[k])
            rewards.append(reward)
            terms.append(terminated)
            truncs.append(truncated)
        elapsed += time.perf_counter() - start
        env.close()
        for k, items in rec.items():
            trace[f"{env_id}/{k}"] = np.stack(items)
        trace[f"{env_id}/reward"] = np.asarray(rewards, dtype=np.float64)
        trace[f"{env_id}/terminated"] = np.asarray(terms, dtype=bool)
        trace[f"{env_id}/truncated"] = np.asarray(truncs, dtype=bool)
    return trace, elapsed, steps * len(ENV_IDS), files


def child_ppo(root: Path, steps: int, seed: int) -> tuple[dict[str, Any], float, int, dict[str, str]]:
    import time

    import gymnasium as gym
    import numpy as np
    import torch
    import torch._dynamo  # torch.optim imports it on first use: 2.5 s, inside the timed loop otherwise

    torch.set_num_threads(1)
    files = _check_origin(IMPORTS["stable-baselines3"], root)
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import KVWriter, Logger

    losses: dict[str, list[float]] = {}
    rewards: list[Any] = []
    observations: list[Any] = []

    class Keep(KVWriter):
        def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
            for k, v in key_values.items():
                if k.startswith("train/"):
                    losses.setdefault(k, []).append(float(v))

    class Record(BaseCallback):
        def _on_step(self) -> bool:
            rewards.append(np.array(self.locals["rewards"], copy=True))
            observations.append(np.array(self.locals["new_obs"]["observation"], copy=True))
            return True

    class SeededResets(gym.Wrapper[Any, Any, Any, Any]):
        """Every reset gets a seed: panda-gym reseeds its task from the OS on ``reset(seed=None)``,
        which is how SB3's vectorised env resets at episode ends."""

        def __init__(self, env: gym.Env[Any, Any]) -> None:
            super().__init__(env)
            self.episode = 0

        def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
            self.episode += 1
            return self.env.reset(seed=seed if seed is not None else SEED + self.episode, options=options)

    total = max(PPO_N_STEPS, steps - steps % PPO_N_STEPS)
    model = PPO("MultiInputPolicy", SeededResets(gym.make(PPO_ENV)), n_steps=PPO_N_STEPS, batch_size=64, n_epochs=4,
                seed=seed, device="cpu", verbose=0)
    model.set_logger(Logger(None, [Keep()]))
    start = time.perf_counter()
    model.learn(total, callback=Record())
    elapsed = time.perf_counter() - start
    trace: dict[str, Any] = {f"loss/{k}": np.asarray(v) for k, v in losses.items()}
    trace["rollout/reward"] = np.stack(rewards)
    trace["rollout/observation"] = np.stack(observations)
    params = [p.detach().numpy().ravel() for p in model.policy.parameters()]
    trace["final/parameters"] = np.concatenate(params)
    return trace, elapsed, total, files


def _old_gym_registry() -> None:
    """pybullet_envs' ``__init__`` registers its ids through ``registry.env_specs`` (gym < 0.22);
    gym 0.26's registry is a plain dict. Give it that attribute (the harness's shim: the copied
    source stays unmodified; the ids are registered but never made)."""
    import gym.envs.registration as registration

    class Registry(dict):  # type: ignore[type-arg]
        @property
        def env_specs(self) -> Registry:
            return self

    if not hasattr(registration.registry, "env_specs"):
        registration.registry = Registry(registration.registry)


def child_locomotion(root: Path, steps: int, seed: int) -> tuple[dict[str, Any], float, int, dict[str, str]]:
    import time
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")  # gym 0.26 on NumPy 2, pkg_resources: once per process, to the log
    _old_gym_registry()
    files = _check_origin(LOCOMOTION_MODULES, root)
    from pybullet_envs import gym_locomotion_envs

    rng = np.random.default_rng(seed)
    trace: dict[str, Any] = {}
    elapsed = 0.0
    for name in LOCOMOTION_ENVS:
        env = getattr(gym_locomotion_envs, name)()
        env.seed(seed)
        actions = rng.uniform(-1.0, 1.0, size=(steps, *env.action_space.shape)).astype(np.float32)
        obs = env.reset()
        observations, rewards, dones = [obs], [], []
        start = time.perf_counter()
        for action in actions:
            obs, reward, done, _ = env.step(action)
            if done:
                obs = env.reset()
            observations.append(obs)
            rewards.append(reward)
            dones.append(done)
        elapsed += time.perf_counter() - start
        env.close()
        trace[f"{name}/observation"] = np.stack(observations)
        trace[f"{name}/reward"] = np.asarray(rewards, dtype=np.float64)
        trace[f"{name}/done"] = np.asarray(dones, dtype=bool)
    return trace, elapsed, steps * len(LOCOMOTION_ENVS), files


CHILDREN = {"panda-gym": child_envs, "stable-baselines3": child_ppo, "pybullet-envs": child_locomotion}


class Child:
    """One process per copy, started once; it runs the workload when told to, so the copies take
    turns and only one is ever timed at a time. The protocol runs on a private duplicate of stdout
    (PyBullet prints to file descriptor 1)."""

    def __init__(self, workload: str, root: Path, steps: int, out: Path) -> None:
        env = {**BENCH_ENV, "PYTHONPATH": str(root), "PYTHONHASHSEED": "0"}
        self.name = f"{workload} on the {root.name} copy"
        self.out = out
        self.log = out.with_suffix(".log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", workload, "--child-root", str(root),
             "--steps", str(steps), "--child-out", str(out)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, cwd=root)

    def send(self, message: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(message + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            self.log.flush()
            err = self.out.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
            raise BenchError(f"{self.name}: the child exited ({self.proc.returncode}):\n{err.strip()[-2500:]}")
        return json.loads(line)  # type: ignore[no-any-return]

    def run(self, round_no: int) -> tuple[float, int, dict[str, Any]]:
        self.send(f"run {round_no}")
        result = self.receive()
        return float(result["seconds"]), int(result["steps"]), load_trace(Path(result["trace"]))

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def child_main(workload: str, root: Path, steps: int, out: Path) -> int:
    import numpy as np

    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the packages print goes to the log, not into the protocol
    sys.stdout = sys.stderr
    for line in sys.stdin:
        command = line.split()
        if command[:1] != ["run"]:
            break
        trace, seconds, n, files = CHILDREN[workload](root, steps, SEED)
        path = Path(f"{out}-{command[1]}.npz")
        np.savez(path, **trace)
        channel.write(json.dumps({"seconds": seconds, "steps": n, "files": files, "trace": str(path)}) + "\n")
        channel.flush()
    return 0


def load_trace(path: Path) -> dict[str, Any]:
    import numpy as np

    with np.load(path) as data:
        return {k: data[k] for k in data.files}


# -- the run ------------------------------------------------------------------------------------

def missing_dependencies(workloads: Sequence[str]) -> list[str]:
    names = sorted({m for w in workloads for m in NEEDS[w]})
    return [m for m in names if importlib.util.find_spec(m) is None]


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": f"{platform.python_implementation()} {platform.python_version()}"}
    for dist in ("numpy", "torch", "pybullet", "gymnasium", "gym", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out.update({spec.split("==")[0]: spec.split("==")[1] + " (copied source)" for spec in SPECS.values()})
    out.update({name: f"from the installed {dist} {out.get(dist, '?')} wheel (copied source, checked against "
                      "its RECORD)" for name, dist in INSTALLED.items()})
    return out


def run_workload(workload: str, dirs: dict[str, Path], rounds: int, steps: int, scratch: Path) -> dict[str, Any]:
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    traces: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    n_steps = 0
    children = {v: Child(workload, dirs[v], steps, scratch / f"{workload}-{v}") for v in VARIANTS}
    try:
        for child in children.values():  # warm-up, all at once (not timed, not kept)
            child.send("run warmup")
        for child in children.values():
            child.receive()
        for r in range(rounds):
            order = VARIANTS[r % len(VARIANTS):] + VARIANTS[:r % len(VARIANTS)]
            for variant in order:
                seconds, n_steps, trace = children[variant].run(r)
                times[variant].append(seconds)
                traces[variant].append(trace)
            print(f"  round {r + 1}/{rounds}: " + ", ".join(
                f"{v} {n_steps / times[v][-1]:.0f}/s" for v in VARIANTS), flush=True)
    finally:
        for child in children.values():
            child.close()
    base = traces["original"][0]
    equal: dict[str, dict[str, Any]] = {}
    for variant in VARIANTS:
        runs = traces[variant][1:] if variant == "original" else traces[variant]
        checks = [compare_traces(base, t) for t in runs]
        bad = [c for c in checks if not c["equivalent"]]
        worst = max(checks, key=lambda c: c["max_abs_diff"]) if checks else compare_traces(base, base)
        equal[variant] = bad[0] if bad else worst
    summary = summarise(times, n_steps, equal)
    summary["original"]["repeatable"] = equal["original"]
    return {"steps_per_run": n_steps, "variants": summary}


def report(workload: str, result: dict[str, Any]) -> None:
    rows = result["variants"]
    print(f"{workload}: {result['steps_per_run']} steps per run, steps/s median (min-max), "
          "ratio to original: median [95% CI]")
    for variant in VARIANTS:
        row = rows[variant]
        sps = row["steps_per_s"]
        line = f"  {variant:10s} {sps['median']:8.1f} ({sps['min']:.1f}-{sps['max']:.1f})"
        if variant == "original":
            rep = row["repeatable"]
            line += f"  repeat runs: {rep['how']} (max abs diff {rep['max_abs_diff']:.3g})"
        else:
            eq = row["equivalence"]
            line += (f"  x{row['ratio']:.3f} [{row['ci'][0]:.3f}, {row['ci'][1]:.3f}]  {row['verdict']:15s} "
                     f"trajectories: {eq['how']}, max abs diff {eq['max_abs_diff']:.3g}"
                     + (f" at {eq['max_abs_diff_at']}" if eq["max_abs_diff"] else ""))
            if not eq["equivalent"]:
                line += f"\n      DIFFERENT: {eq['detail']}"
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", choices=sorted(IMPORTS), action="append",
                    help="workload(s) to run (default: all)")
    ap.add_argument("--rounds", type=int, default=8, help="interleaved rounds (default 8)")
    ap.add_argument("--steps", type=int,
                    help=f"env steps per environment id, or PPO timesteps (rounded to {PPO_N_STEPS}); "
                         f"default {DEFAULT_STEPS}")
    ap.add_argument("--json", type=Path, help="write the results here (atomically)")
    ap.add_argument("--keep", type=Path, help="keep the four copies and the traces in this folder")
    ap.add_argument("--require", action="store_true", help="fail instead of skipping when something is unavailable")
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--child-root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child, args.child_root, args.steps, args.child_out)
    if args.rounds < 2 or (args.steps is not None and args.steps < 1):
        ap.error("--rounds must be at least 2 and --steps at least 1")
    workloads = args.package or sorted(IMPORTS)
    missing = missing_dependencies(workloads)
    if missing:
        print(f"SKIPPED: not installed: {', '.join(missing)} (pip install {' '.join(missing)})")
        return 1 if args.require else 0
    specs = sorted({SPECS[name] for w in workloads for name in IMPORTS[w] if name in SPECS})
    try:
        found = corpus(tuple(specs))
    except CorpusUnavailable as exc:
        print(f"SKIPPED: the package index cannot be reached and nothing is cached ({exc})")
        return 1 if args.require else 0
    sources = {path.name: path for path in found.values()}
    try:
        sources.update({name: installed_source(name) for w in workloads for name in IMPORTS[w] if name in INSTALLED})
    except BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    keep = args.keep
    tmp = None if keep else tempfile.TemporaryDirectory(prefix="pyfast-third-party-")
    root = keep if keep else Path(tmp.name)  # type: ignore[union-attr]
    try:
        if keep and any(root.iterdir() if root.exists() else ()):
            raise BenchError(f"{root}: --keep needs an empty or new folder")
        root.mkdir(parents=True, exist_ok=True)
        dirs = make_copies(sources, root)
        fixes = apply_fixer(dirs["fixed"])
        apply_fixer(dirs["hand"])
        hand = apply_hand_fixes(dirs["hand"])
        print(f"pyfast-fix --unsafe-fixes: {sum(fixes['per_rule'].values())} fixes {fixes['per_rule']}; "
              f"flagged only: {fixes['flagged_only']}")
        for line in fixes["fixes"]:
            print(f"  fixed {line}")
        for err in fixes["errors"]:
            print(f"  pyfast-fix error: {err}")
        print(f"hand fixes: {len(hand)} ({', '.join(hand)})")
        scratch = root / "traces"
        scratch.mkdir()
        results = {}
        for workload in workloads:
            print(f"{workload}: {args.rounds} interleaved rounds of {', '.join(VARIANTS)}", flush=True)
            steps = args.steps or DEFAULT_STEPS[workload]
            results[workload] = run_workload(workload, dirs, args.rounds, steps, scratch)
            report(workload, results[workload])
    except BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        try:
            record = merge_record(args.json, workloads, results, fixes, argv)
        except BenchError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        args.json.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(args.json, json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def merge_record(path: Path, workloads: Sequence[str], results: dict[str, Any], fixes: dict[str, Any],
                 argv: Sequence[str] | None) -> dict[str, Any]:
    """This run's record, keeping the workloads an earlier record at ``path`` holds and this run did
    not rerun (each workload carries its own date, command, versions and fixes)."""
    from runtime_check.doctor import cpu_model

    command = "flock /tmp/pyfast-timing.lock python bench/third_party.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    today = datetime.date.today().isoformat()
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()}
    earlier: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            earlier = dict(old["workloads"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"{path}: cannot keep the earlier results, unreadable record ({exc}); "
                             "move it away to start a new one") from None
        for row in earlier.values():  # a record from before per-workload metadata: take its top level
            for key in ("date", "command", "machine", "versions", "fixes"):
                row.setdefault(key, old.get(key))
    kept = {name: row for name, row in earlier.items() if name not in workloads}
    packages = {name for w in workloads for name in IMPORTS[w]}
    own_fixes = {
        "per_rule": dict(sorted(Counter(line.split()[-1] for line in fixes["fixes"]
                                        if line.split("/")[0] in packages).items())),
        "per_package": {k: v for k, v in fixes["per_package"].items() if k in packages},
        "fixes": [line for line in fixes["fixes"] if line.split("/")[0] in packages],
        "flagged_only_all_packages": fixes["flagged_only"],
        "errors": fixes["errors"],
    }
    new = {w: {"date": today, "command": command, "machine": machine, "versions": versions(),
               "fixes": own_fixes, **results[w]} for w in workloads}
    return {
        "date": today,
        "machine": machine,
        "seed": SEED, "env_ids": list(ENV_IDS), "ppo_env": PPO_ENV, "locomotion_envs": list(LOCOMOTION_ENVS),
        "tolerance": _tolerance(),
        "hand_fixes": [{"file": f"{h.package}/{h.path}", "why": h.why} for h in HAND_FIXES],
        "workloads": {**kept, **new},
    }


def _tolerance() -> str:
    from runtime_check.expectations import ATOL, RTOL

    return f"exact, else numpy.allclose(rtol={RTOL:g}, atol={ATOL:g})"


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # runtime_check, in the parent (children do not import it)
    raise SystemExit(main())
