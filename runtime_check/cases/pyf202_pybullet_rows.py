"""PYF202: PyBullet getter tuples -> np.array every step, versus one write into a preallocated row."""

import numpy as np
import pybullet as p

from runtime_check.workloads.kuka_ppo import KukaReachEnv

CODE = "PYF202"
REPS = 400


def setup(seed):
    np.random.seed(seed)
    env = KukaReachEnv()
    env.reset()
    for _ in range(5):
        env.step(np.full(len(env.joints), 0.5))
    return {"env": env, "row": np.empty(2 * len(env.joints) + 3)}


def slow(state):
    env = state["env"]
    joint_pos = np.array([p.getJointState(env.robot, j, physicsClientId=env.client)[0] for j in env.joints])
    joint_vel = np.array([p.getJointState(env.robot, j, physicsClientId=env.client)[1] for j in env.joints])
    ee_pos = np.array(p.getLinkState(env.robot, env.ee_link, physicsClientId=env.client)[0])
    return np.concatenate([joint_pos, joint_vel, ee_pos])


def fast(state):
    env, row = state["env"], state["row"]
    n = len(env.joints)
    for i, s in enumerate(p.getJointStates(env.robot, env.joints, physicsClientId=env.client)):
        row[i] = s[0]
        row[n + i] = s[1]
    row[2 * n:] = p.getLinkState(env.robot, env.ee_link, physicsClientId=env.client)[0]
    return row.copy()  # the caller keeps the observation


def equivalent(a, b):
    return np.array_equal(a, b), "exact"


def teardown(state):
    state["env"].close()
