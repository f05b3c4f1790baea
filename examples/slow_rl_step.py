"""A PyBullet reaching task and a PPO-style update, written the way RL code usually is.

Nothing here is contrived: each slow line is a pattern found in popular open-source RL code.
See what pyfast says about it:

    flake8 --select PYF examples/slow_rl_step.py
"""

import numpy as np
import pybullet as p
import pybullet_data
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.sampler import BatchSampler, SubsetRandomSampler


class ReachEnv:
    def __init__(self, device="cpu"):
        self.client = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.robot = p.loadURDF("kuka_iiwa/model.urdf", useFixedBase=True)
        self.joints = list(range(p.getNumJoints(self.robot)))
        self.gx, self.gy, self.gz = 0.5, 0.0, 0.5
        self.torque_ok = np.ones(len(self.joints)) > 0
        self.device = device

    def _get_obs(self):
        joint_pos = np.array([p.getJointState(self.robot, j)[0] for j in self.joints])
        ee_pos = np.array(p.getLinkState(self.robot, 6)[0])
        return np.concatenate([joint_pos, ee_pos, np.array([self.gx, self.gy, self.gz])])

    def _reward(self):
        ee = p.getLinkState(self.robot, 6)[0]
        dist = np.linalg.norm([ee[0] - self.gx, ee[1] - self.gy, ee[2] - self.gz])
        return float(np.clip(-dist, -1.0, 0.0))

    def step(self, action):
        action = np.asarray(action, dtype=np.float64)
        action = np.clip(action, -1.0, 1.0) * self.torque_ok
        for j in self.joints:
            p.setJointMotorControl2(self.robot, j, p.POSITION_CONTROL, targetPosition=float(action[j]))
        p.stepSimulation()
        return self._get_obs(), self._reward()

    def act(self, policy, obs):
        obs_t = torch.FloatTensor(obs).to(self.device)
        with torch.no_grad():
            return policy(obs_t).numpy()


def collect(env, policy, num_steps):
    obs = env._get_obs()
    obs_list = []
    for t in range(num_steps):
        action = env.act(policy, obs)
        obs, reward = env.step(action)
        obs_list.append(obs)
    return np.array(obs_list)


def clip_grad_norm(params, max_norm):
    total_norm = torch.norm(torch.stack([torch.norm(q.grad.detach()) for q in params]))
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1:
        for q in params:
            q.grad.detach().mul_(clip_coef)


def ppo_update(policy, target, optimizer, obs, returns, epochs=4, batch_size=64, tau=0.005):
    obs = np.asarray(obs, dtype=np.float32)
    n = obs.shape[0]
    for epoch in range(epochs):
        for idx in BatchSampler(SubsetRandomSampler(range(n)), batch_size, drop_last=True):
            idx = np.asarray(idx)
            obs_b = torch.tensor(obs[idx])
            loss = np.power(returns[idx] - policy(obs_b).detach().numpy(), 2).mean()
            optimizer.zero_grad()
            clip_grad_norm(list(policy.parameters()), 0.5)
            optimizer.step()
        with torch.no_grad():
            for q, tq in zip(policy.parameters(), target.parameters()):
                tq.data.copy_(tau * q.data + (1 - tau) * tq.data)
    return loss


def pretrain(policy, obs, targets):
    loader = DataLoader(TensorDataset(obs, targets), batch_size=64, shuffle=True)
    for x, y in loader:
        running = torch.zeros(1)
        running = running * 0.9
