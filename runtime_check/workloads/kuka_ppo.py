"""PPO on a PyBullet KUKA iiwa reaching task, written the way popular open-source RL code is.

Per-step `np.array` of PyBullet tuples, `torch.FloatTensor(obs).to(device)`, NumPy math on Python
floats, `BatchSampler(SubsetRandomSampler(...))` minibatches, the `if clip_coef < 1` gradient clip
and a soft-updated target critic: every PYF rule has an instance here, marked with its code. It is
not made slower than real code to inflate the gains: each pattern appears where real code has it.

It runs on its own, and with a fixed seed and thread count two runs of the same source give
bit-identical results:

    python -m runtime_check.workloads.kuka_ppo --epochs 2 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np
import pybullet as p
import pybullet_data
import torch
import torch.nn as nn
from torch.distributions import Normal
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.sampler import BatchSampler, SubsetRandomSampler

from runtime_check.recorder import Recorder

REST_POSE = [0.0, 0.4, 0.0, -1.2, 0.0, 1.0, 0.0]


class KukaReachEnv:
    """Move the end effector of a KUKA iiwa to a random goal (PyBullet, DIRECT mode)."""

    def __init__(self, max_steps=64, substeps=4):
        self.client = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self.client)
        p.setGravity(0, 0, -9.81, physicsClientId=self.client)
        p.loadURDF("plane.urdf", physicsClientId=self.client)
        self.robot = p.loadURDF("kuka_iiwa/model.urdf", useFixedBase=True, physicsClientId=self.client)
        self.joints = list(range(p.getNumJoints(self.robot, physicsClientId=self.client)))
        self.ee_link = self.joints[-1]
        self.joint_ok = np.ones(len(self.joints)) > 0  # joints that may move
        self.max_steps = max_steps
        self.substeps = substeps
        self.goal_x, self.goal_y, self.goal_z = 0.5, 0.0, 0.5
        self.t = 0

    def close(self):
        p.disconnect(physicsClientId=self.client)

    def reset(self):
        for j, q in zip(self.joints, REST_POSE):
            p.resetJointState(self.robot, j, q, physicsClientId=self.client)
        self.goal_x = float(np.random.uniform(0.3, 0.6))
        self.goal_y = float(np.random.uniform(-0.3, 0.3))
        self.goal_z = float(np.random.uniform(0.3, 0.7))
        self.t = 0
        return self._get_obs()

    def _get_obs(self):
        joint_pos = np.array([p.getJointState(self.robot, j, physicsClientId=self.client)[0]  # PYF202
                              for j in self.joints])
        joint_vel = np.array([p.getJointState(self.robot, j, physicsClientId=self.client)[1]  # PYF202
                              for j in self.joints])
        ee_pos = np.array(p.getLinkState(self.robot, self.ee_link, physicsClientId=self.client)[0])  # PYF202
        goal = np.array([self.goal_x, self.goal_y, self.goal_z])  # PYF201
        return np.concatenate([joint_pos, joint_vel, ee_pos, goal]).astype(np.float32)

    def _reward(self, effort: float):
        ee = p.getLinkState(self.robot, self.ee_link, physicsClientId=self.client)[0]
        dist = np.linalg.norm([ee[0] - self.goal_x, ee[1] - self.goal_y, ee[2] - self.goal_z])  # PYF101
        reward = np.clip(-dist - 0.01 * effort, -2.0, 0.0)  # PYF101
        return float(reward), float(dist)

    def step(self, action):
        action = np.asarray(action, dtype=np.float64)
        action = np.clip(action, -1.0, 1.0) * self.joint_ok  # PYF103
        q = [s[0] for s in p.getJointStates(self.robot, self.joints, physicsClientId=self.client)]
        targets = [qi + 0.1 * float(ai) for qi, ai in zip(q, action)]
        p.setJointMotorControlArray(self.robot, self.joints, p.POSITION_CONTROL, targetPositions=targets,
                                    forces=[200.0] * len(self.joints), physicsClientId=self.client)
        for _ in range(self.substeps):
            p.stepSimulation(physicsClientId=self.client)
        self.t += 1
        obs = self._get_obs()
        effort = float(np.power(action, 2).sum())  # PYF102
        reward, dist = self._reward(effort)
        done = dist < 0.05 or self.t >= self.max_steps
        return obs, reward, done


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden=64):
        super().__init__()
        self.pi = mlp([obs_dim, hidden, hidden, act_dim])
        self.v = mlp([obs_dim, hidden, hidden, 1])
        self.log_std = nn.Parameter(torch.zeros(act_dim) - 0.5)

    def forward(self, obs):
        return self.pi(obs), self.log_std.exp(), self.v(obs).squeeze(-1)


def normal_log_prob(x, mu, std):
    return -((x - mu) ** 2) / (2 * std ** 2) - std.log() - 0.9189385332046727


def act(policy: ActorCritic, obs, device, rec):
    with rec.phase("conversion"):
        obs_t = torch.FloatTensor(obs).to(device)  # PYF205
    with rec.phase("policy"):
        # minimalRL's and spinningup pg_math's acting step: the policy called outside torch.no_grad()
        mu, std, value = policy(obs_t)  # PYF303
        # the acting step of spinningup's and minimalRL's Gaussian PPO: a Normal built every step
        dist = Normal(mu, std)  # PYF302
        action = dist.sample()
        logp = dist.log_prob(action).sum()
    return action.cpu().numpy(), logp.item(), value.item()


def collect(env, policy, cfg, rec):
    act_list, rew_list, done_list, logp_list, val_list = [], [], [], [], []
    with rec.phase("simulation"):
        obs = env.reset()
    obs_buf = np.empty((0, obs.shape[0]), dtype=obs.dtype)
    for t in range(cfg.steps):
        action, logp, value = act(policy, obs, cfg.device, rec)
        with rec.phase("simulation"):
            next_obs, reward, done = env.step(action)
        obs_buf = np.concatenate((obs_buf, obs[None]))  # PYF203
        act_list.append(action)
        rew_list.append(reward)
        done_list.append(float(done))
        logp_list.append(logp)
        val_list.append(value)
        if done:
            with rec.phase("simulation"):
                next_obs = env.reset()
        obs = next_obs
    with rec.phase("conversion"):
        batch = {
            "obs": obs_buf,
            "actions": np.array(act_list),
            "rewards": np.array(rew_list, dtype=np.float64),
            "dones": np.array(done_list, dtype=np.float64),
            "logp": np.array(logp_list, dtype=np.float32),
            "values": np.array(val_list, dtype=np.float64),
        }
    _, _, last_value = act(policy, obs, cfg.device, rec)
    return batch, last_value


def compute_gae(rewards, values, dones, last_value, gamma, lam):
    adv = np.zeros(len(rewards))
    lastgaelam = 0.0
    for t in reversed(range(len(rewards))):
        next_value = last_value if t == len(rewards) - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * nonterminal - values[t]
        lastgaelam = delta + gamma * lam * nonterminal * lastgaelam
        adv[t] = lastgaelam
    return adv, adv + values


def clip_grad_norm(params, max_norm):
    grads = [q.grad for q in params if q.grad is not None]
    total_norm = torch.norm(torch.stack([torch.norm(g.detach(), 2.0) for g in grads]), 2.0)
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1:  # PYF301
        for g in grads:
            g.detach().mul_(clip_coef)
    return total_norm


def warm_start_critic(policy, optimizer, obs, returns, rec):
    """Fit the critic to the first batch of returns before the first PPO update."""
    loader = DataLoader(TensorDataset(torch.from_numpy(obs), torch.from_numpy(returns).float()),  # PYF402
                        batch_size=64, shuffle=True)
    for obs_b, ret_b in loader:
        v_loss = ((policy(obs_b)[2] - ret_b) ** 2).mean()
        optimizer.zero_grad()
        v_loss.backward()
        optimizer.step()
        rec.record("warm_start_loss", v_loss.item())


def ppo_update(policy, target_critic, optimizer, obs: np.ndarray, actions: np.ndarray, logp_old: np.ndarray,
               adv: np.ndarray, returns: np.ndarray, cfg, rec):
    n = obs.shape[0]
    for epoch in range(cfg.update_epochs):
        for idx in BatchSampler(SubsetRandomSampler(range(n)), cfg.minibatch, drop_last=True):  # PYF401
            rec.minibatch(idx)
            idx = np.asarray(idx)
            obs_b = torch.tensor(obs[idx])  # PYF206
            act_b = torch.tensor(actions[idx])  # PYF206
            logp_old_b = torch.tensor(logp_old[idx])  # PYF206
            ret_b = torch.tensor(returns[idx], dtype=torch.float32)  # PYF206
            adv_b = torch.tensor(adv[idx], dtype=torch.float32)  # PYF206
            adv_b = (adv_b - adv_b.mean()) / (adv_b.std() + 1e-8)  # PYF204
            mu, std, value = policy(obs_b)
            ratio = (normal_log_prob(act_b, mu, std).sum(-1) - logp_old_b).exp()
            pg_loss = -torch.min(ratio * adv_b, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * adv_b).mean()
            v_loss = ((value - ret_b) ** 2).mean()
            loss = pg_loss + 0.5 * v_loss
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm(list(policy.parameters()), cfg.max_grad_norm)
            optimizer.step()
            rec.record("loss", loss.item())
        with torch.no_grad():
            for q, tq in zip(policy.v.parameters(), target_critic.parameters()):
                tq.data.copy_(cfg.tau * q.data + (1 - cfg.tau) * tq.data)  # PYF204


class Config:
    def __init__(self, epochs=2, steps=256, update_epochs=4, minibatch=64, hidden=64, lr=3e-4, gamma=0.99,
                 lam=0.95, clip=0.2, max_grad_norm=0.5, tau=0.05, device="cpu", seed=0, threads=1,
                 warmup_epochs=0, trace=True, clock="wall"):
        self.epochs = epochs
        self.steps = steps
        self.update_epochs = update_epochs
        self.minibatch = minibatch
        self.hidden = hidden
        self.lr = lr
        self.gamma = gamma
        self.lam = lam
        self.clip = clip
        self.max_grad_norm = max_grad_norm
        self.tau = tau
        self.device = device
        self.seed = seed
        self.threads = threads
        self.warmup_epochs = warmup_epochs
        self.trace = trace
        self.clock = clock


def run(cfg):
    """Train for ``cfg.warmup_epochs + cfg.epochs`` epochs; return timings and the trace."""
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rec = Recorder(cfg.clock)
    env = KukaReachEnv()
    obs_dim = env.reset().shape[0]
    policy = ActorCritic(obs_dim, len(env.joints), cfg.hidden).to(cfg.device)
    target_critic = mlp([obs_dim, cfg.hidden, cfg.hidden, 1]).to(cfg.device)
    target_critic.load_state_dict(policy.v.state_dict())
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    for epoch in range(cfg.warmup_epochs + cfg.epochs):
        rec.start_epoch()
        batch, last_value = collect(env, policy, cfg, rec)
        with rec.phase("update"):
            with torch.no_grad():
                last_value = float(target_critic(torch.from_numpy(batch["obs"][-1:]).to(cfg.device)))
            adv, returns = compute_gae(batch["rewards"], batch["values"], batch["dones"], last_value,
                                       cfg.gamma, cfg.lam)
            if epoch == 0:
                warm_start_critic(policy, optimizer, batch["obs"], returns, rec)
            ppo_update(policy, target_critic, optimizer, batch["obs"], batch["actions"], batch["logp"], adv, returns,
                       cfg, rec)
        rec.end_epoch()
        if cfg.trace:
            rec.record("obs", batch["obs"])
            rec.record("rewards", batch["rewards"])
            rec.record("actions", batch["actions"])
    env.close()
    if cfg.trace:
        rec.record("params", torch.cat([q.detach().reshape(-1) for q in policy.parameters()]))
        rec.record("target_params", torch.cat([q.detach().reshape(-1) for q in target_critic.parameters()]))
    return {"epochs": rec.epochs[cfg.warmup_epochs:], "warmup": rec.epochs[:cfg.warmup_epochs], "trace": rec.trace}


def main(argv=None):
    ap = argparse.ArgumentParser(description="PPO on a PyBullet KUKA reaching task (the pyfast-check workload)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    result = run(Config(epochs=args.epochs, steps=args.steps, seed=args.seed, threads=args.threads,
                        device=args.device))
    params = result["trace"]["params"][-1]
    summary = {
        "epochs": args.epochs,
        "seconds": round(time.perf_counter() - start, 3),
        "epoch_seconds": [round(e["total"], 4) for e in result["epochs"]],
        "mean_reward": float(np.mean(result["trace"]["rewards"][-1])),
        "final_loss": result["trace"].get("loss", [None])[-1],  # None: fewer steps than one minibatch
        "param_checksum": float(np.sum(params.astype(np.float64))),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
