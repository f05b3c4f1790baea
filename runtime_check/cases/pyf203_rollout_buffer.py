"""PYF203: observations grown by `np.concatenate` of the buffer every step, versus a list stacked once."""

import numpy as np

from runtime_check.workloads.kuka_ppo import KukaReachEnv

CODE = "PYF203"
REPS = 200


def setup(seed):
    np.random.seed(seed)
    env = KukaReachEnv()
    obs = env.reset()
    observations = []
    for _ in range(256):
        observations.append(obs)
        obs, _, done = env.step(np.random.uniform(-1, 1, len(env.joints)))
        if done:
            obs = env.reset()
    env.close()
    return {"observations": observations, "dim": obs.shape[0]}


def slow(state):
    obs_buf = np.empty((0, state["dim"]), dtype=np.float32)
    for obs in state["observations"]:
        obs_buf = np.concatenate((obs_buf, obs[None]))
    return obs_buf


def fast(state):
    obs_list = []
    for obs in state["observations"]:
        obs_list.append(obs)
    return np.stack(obs_list)


def equivalent(a, b):
    return a.dtype == b.dtype and np.array_equal(a, b), "exact"
