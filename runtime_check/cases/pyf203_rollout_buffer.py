"""PYF203: append observations to a list and np.array() it after the rollout, versus preallocating."""

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
    obs_list = []
    for obs in state["observations"]:
        obs_list.append(obs)
    return np.array(obs_list)


def fast(state):
    observations = state["observations"]
    batch = np.empty((len(observations), state["dim"]), dtype=np.float32)
    for t, obs in enumerate(observations):
        batch[t] = obs
    return batch


def equivalent(a, b):
    return a.dtype == b.dtype and np.array_equal(a, b), "exact"
