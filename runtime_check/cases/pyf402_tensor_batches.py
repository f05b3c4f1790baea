"""PYF402: DataLoader over a TensorDataset, versus indexing the tensors with randperm().split()."""

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from runtime_check.workloads.kuka_ppo import KukaReachEnv

CODE = "PYF402"
REPS = 20


def setup(seed):
    np.random.seed(seed)
    env = KukaReachEnv()
    rows = [env.reset()]
    for _ in range(255):
        obs, _, done = env.step(np.random.uniform(-1, 1, len(env.joints)))
        rows.append(env.reset() if done else obs)
    env.close()
    obs = torch.from_numpy(np.array(rows))
    returns = torch.from_numpy(np.random.uniform(-1, 0, len(rows))).float()
    return {"obs": obs, "returns": returns}


def slow(state):
    loader = DataLoader(TensorDataset(state["obs"], state["returns"]), batch_size=64, shuffle=True)
    return [(o, r) for o, r in loader]


def fast(state):
    obs, returns = state["obs"], state["returns"]
    return [(obs[idx], returns[idx]) for idx in torch.randperm(len(obs)).split(64)]


def equivalent(a, b):
    """Another permutation, so: the same batch sizes, and every sample exactly once."""
    if [len(o) for o, _ in a] != [len(o) for o, _ in b]:
        return False, "batch sizes differ"
    def rows(batches):
        o = torch.cat([x for x, _ in batches]).numpy()
        r = torch.cat([y for _, y in batches]).numpy()
        table = np.concatenate([o, r[:, None]], axis=1)
        return table[np.lexsort(table.T[::-1])]
    return np.array_equal(rows(a), rows(b)), "invariants"
