"""PYF201: np.array([...]) of the goal every step, versus writing into a buffer allocated once."""

import numpy as np

from runtime_check.workloads.kuka_ppo import KukaReachEnv

CODE = "PYF201"
REPS = 20000


def setup(seed):
    np.random.seed(seed)
    env = KukaReachEnv()
    env.reset()
    return {"env": env, "goal": np.empty(3)}


def slow(state):
    env = state["env"]
    return np.array([env.goal_x, env.goal_y, env.goal_z])


def fast(state):
    env, goal = state["env"], state["goal"]
    goal[0], goal[1], goal[2] = env.goal_x, env.goal_y, env.goal_z
    return goal  # the workload only concatenates it, which copies


def equivalent(a, b):
    return np.array_equal(a, b), "exact"


def teardown(state):
    state["env"].close()
