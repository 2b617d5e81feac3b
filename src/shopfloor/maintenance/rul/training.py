"""Training loop of the sequence network: deterministic, CPU, bounded threads."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from shopfloor.maintenance.rul.network import RulConvNet

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrainingPlan:
    epochs: int = 25
    samples_per_epoch: int = 4096  # windows drawn (without replacement) per epoch
    batch_size: int = 256
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    hidden: int = 32
    dropout: float = 0.2
    num_threads: int | None = None  # None: one thread (see torch_threads)


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Use ``count`` intra-op threads (default 1), then restore the previous setting.

    The network is small (batches of a few hundred windows of a few dozen steps):
    extra threads gain little, and on a shared machine OpenMP threads that wait for
    each other made a 2-thread training 60x slower than a 1-thread one (measured on
    a loaded 2-core box).  Parallelism belongs to the caller (folds, processes).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, count if count is not None else 1))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_network(
    windows: npt.NDArray[np.float32], target: FloatArray, plan: TrainingPlan, seed: int
) -> RulConvNet:
    """Fit a :class:`RulConvNet` to ``target`` (already scaled to about 0..1)."""
    with torch_threads(plan.num_threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        net = RulConvNet(windows.shape[2], hidden=plan.hidden, dropout=plan.dropout)
        x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
        y = torch.from_numpy(np.asarray(target, dtype=np.float32))
        optimiser = torch.optim.AdamW(
            net.parameters(), lr=plan.learning_rate, weight_decay=plan.weight_decay
        )
        # Neighbouring windows of a unit are nearly identical, so a random slice of
        # them per epoch teaches as much as all of them at a fraction of the cost.
        per_epoch = min(len(x), plan.samples_per_epoch)
        steps_per_epoch = max(1, math.ceil(per_epoch / plan.batch_size))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser,
            max_lr=plan.learning_rate,
            total_steps=plan.epochs * steps_per_epoch,
            pct_start=0.2,
        )
        loss_fn = nn.MSELoss()
        net.train()
        for _epoch in range(plan.epochs):
            permutation = torch.randperm(len(x), generator=generator)[:per_epoch]
            for start in range(0, per_epoch, plan.batch_size):
                batch = permutation[start : start + plan.batch_size]
                optimiser.zero_grad()
                loss = loss_fn(net(x[batch]), y[batch])
                loss.backward()
                optimiser.step()
                schedule.step()
        net.eval()
    return net


def predict_network(
    net: RulConvNet, windows: npt.NDArray[np.float32], num_threads: int | None = None
) -> FloatArray:
    out = []
    with torch_threads(num_threads), torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
        for start in range(0, len(x), 4096):
            out.append(net(x[start : start + 4096]).numpy())
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)
