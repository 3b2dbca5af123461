"""The one data type every dataset yields and every loss and metric consumes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Triplets:
    """A batch of frame triplets.

    Attributes:
        i0, it, i1: float tensors in [0, 1], shape (N, 3, H, W), RGB.
        t: the time of ``it`` between ``i0`` (t=0) and ``i1`` (t=1), shape (N,).
    """

    i0: Tensor
    it: Tensor
    i1: Tensor
    t: Tensor

    def __len__(self) -> int:
        return int(self.i0.shape[0])

    def __getitem__(self, index: slice | Tensor | list[int]) -> "Triplets":
        return Triplets(self.i0[index], self.it[index], self.i1[index], self.t[index])

    def to(self, device: torch.device | str) -> "Triplets":
        return Triplets(self.i0.to(device), self.it.to(device), self.i1.to(device), self.t.to(device))


def noise_triplets(count: int, size: int, seed: int = 0) -> Triplets:
    """``count`` triplets of uniform noise at ``size``², t = 0.5: inputs for timing or counting a
    training step, never for training."""
    generator = torch.Generator().manual_seed(seed)
    frames = [torch.rand(count, 3, size, size, generator=generator) for _ in range(3)]
    return Triplets(frames[0], frames[1], frames[2], torch.full((count,), 0.5))
