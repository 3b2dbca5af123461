"""Estimated work of a sweep's units, so that an executor running several at once starts the longest first.

When units run ``capacity`` at a time (``--jobs``, Ray), the order they start in decides when the
sweep ends. Started in the plan's order, the default sweep's costly configurations (``l1+perc``,
``superslomo``: a VGG16 pass per step) start last and one of them trains alone at the end.
Longest-processing-time-first (Graham, "Bounds on multiprocessing timing anomalies", SIAM J. Appl.
Math. 17(2), 1969: within 4/3 of the best possible makespan) starts them first and fills the
gaps with the cheap ones.

The estimate of a unit is the floating-point work of one training step — torch's FLOP counter
(:class:`torch.utils.flop_counter.FlopCounterMode`: convolutions and matrix products, forward and
backward, of the model, the loss and any auxiliary network such as a discriminator) on one
crop of the preset's size — times the steps the unit trains; a reference row trains nothing. It is
deterministic and the same on every machine, so a sweep always starts its units in the same order.
It orders units, it does not predict seconds: element-wise work is not counted, so on a CPU the
ratios are smaller than the FLOP ratios (measured on ``quick``, one thread per unit: FLOPs per step
l1 4.8 G, l1+adv 20.8 G, l1+perc 59.5 G; training 103 s, 187 s, 293 s), but the order is the same.
Where a unit runs and what it computes are unchanged; only when it starts depends on the estimate.
"""

from __future__ import annotations

import math
from functools import cache

import torch

from vfibench.data.triplets import Triplets
from vfibench.losses.spec import LossConfig, parse_config
from vfibench.presets import RunPreset
from vfibench.sweep.unit import REFERENCE, WARM_START, WARM_START_SPEC, UnitSpec


@cache
def step_flops(config: str, preset: RunPreset) -> int:
    """FLOPs of one training step of ``config`` (a canonical loss spec) on one crop of the preset's
    size, on the CPU: convolutions and matrix products of the model's forward and backward pass, the
    loss, and any auxiliary network's update (torch's FLOP counter). Counted on one torch thread,
    so that it does not compete with the units running meanwhile."""
    from torch.utils.flop_counter import FlopCounterMode

    from vfibench.train import train_configuration

    generator = torch.Generator().manual_seed(0)
    frames = [torch.rand(1, 3, preset.crop, preset.crop, generator=generator) for _ in range(3)]
    data = Triplets(frames[0], frames[1], frames[2], torch.full((1,), 0.5))
    probe = preset.with_overrides(steps=1, batch_size=1)
    loss: LossConfig = parse_config(config)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the count does not depend on it, and the executor's units use the cores
    try:
        with FlopCounterMode(display=False) as counter:
            train_configuration(loss, data, probe, seed=0, device="cpu")
    finally:
        torch.set_num_threads(threads)
    return int(counter.get_total_flops())


def unit_cost(spec: UnitSpec) -> float:
    """Estimated work of ``spec``: FLOPs per step × the steps it trains (0 for a reference row).

    A configuration whose step cannot be run here gets an infinite estimate: its unit will fail with
    the same error wherever it runs (recorded as its result), and starting it first reports that at once.
    """
    if spec.kind == REFERENCE:
        return 0.0
    config, steps = ((WARM_START_SPEC, spec.warm_start) if spec.kind == WARM_START
                     else (spec.config, spec.preset.steps - spec.warm_start))
    try:
        return float(step_flops(config, spec.preset) * steps)
    except Exception:  # the unit itself raises this and is recorded as failed; only its start order is ours
        return math.inf
