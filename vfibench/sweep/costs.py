"""Estimated work of a sweep's units, so that an executor running several at once starts the longest first.

When units run ``capacity`` at a time (``--jobs``, Ray), the order they start in decides when the
sweep ends: started in the plan's order, the default sweep's costly configurations (``l1+perc``,
``superslomo``: a VGG16 pass per step) come last and one of them trains alone at the end.
Longest-processing-time-first (Graham, "Bounds on multiprocessing timing anomalies", SIAM J. Appl.
Math. 17(2), 1969: within 4/3 of the best possible makespan) starts them first and fills the
gaps with the cheap ones.

The estimate of a unit is the floating-point work of its training steps: torch's FLOP counter
(:class:`torch.utils.flop_counter.FlopCounterMode`: convolutions and matrix products, forward and
backward, of the model, the loss and any auxiliary network such as a discriminator) on one step of
one crop of the preset's size, for each stretch of training with the same active terms (a term
scheduled over part of training, ``40*style@0.5``, counts for that part), times the steps the unit
trains; a reference row trains nothing. It is deterministic, so a sweep starts its units in the
same order every time. It orders units, it does not predict seconds: element-wise work is not
counted, so on a CPU the time ratios are smaller than the FLOP ratios, but the order is the same
(README, *Longest first*). Where a unit runs and what it computes are unchanged; only when it
starts depends on the estimate.
"""

from __future__ import annotations

import math
from functools import cache

import torch

from vfibench.data.triplets import noise_triplets
from vfibench.errors import VfiBenchError
from vfibench.losses.spec import LossConfig, TermSpec, Window, parse_config
from vfibench.presets import RunPreset
from vfibench.sweep.unit import REFERENCE, WARM_START, WARM_START_SPEC, UnitSpec


def step_flops(config: LossConfig, preset: RunPreset) -> int:
    """FLOPs of one training step of ``config`` (every term active) on one crop of the preset's size,
    on the CPU: convolutions and matrix products of the model's forward and backward pass, the loss,
    and any auxiliary network's update (torch's FLOP counter). Counted on one torch thread, so that
    it takes one core from the units running meanwhile, not all of them."""
    from torch.utils.flop_counter import FlopCounterMode

    from vfibench.train import train_configuration

    data = noise_triplets(1, preset.crop)
    probe = preset.with_overrides(steps=1, batch_size=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with FlopCounterMode(display=False) as counter:
            train_configuration(config, data, probe, seed=0, device="cpu")
    finally:
        torch.set_num_threads(threads)
    return int(counter.get_total_flops())


def stretches(config: LossConfig) -> list[tuple[float, LossConfig | None]]:
    """(fraction of training, the terms active throughout it as an unscheduled configuration — None
    when no term is) for each stretch of training between the terms' window boundaries."""
    terms = config.resolve()
    bounds = sorted({0.0, 1.0} | {b for t in terms for b in (t.window.start, t.window.end) if 0.0 < b < 1.0})
    found = []
    for start, end in zip(bounds, bounds[1:]):
        active = [t for t in terms if t.window.contains((start + end) / 2)]
        specs = tuple(TermSpec(t.info.name, t.weight, tuple(t.params.items()), Window()) for t in active)
        found.append((end - start, LossConfig(specs, config.registry) if specs else None))
    return found


@cache
def flops_per_step(config: str, preset: RunPreset) -> float | None:
    """Mean FLOPs of a training step of ``config`` (a canonical loss spec) over its training: each
    stretch's :func:`step_flops` weighted by its length. None when a step of it cannot be run here:
    its unit then fails with the same error where it runs, and records it."""
    try:
        return sum(length * step_flops(active, preset) for length, active in stretches(parse_config(config))
                   if active is not None)
    except (VfiBenchError, ValueError, RuntimeError):  # what building or running a configuration raises
        return None


def unit_cost(spec: UnitSpec) -> float:
    """Estimated work of ``spec``: FLOPs per step × the steps it trains (0 for a reference row; infinite
    for a configuration that cannot be run, so that its failure is reported at once)."""
    if spec.kind == REFERENCE:
        return 0.0
    config, steps = ((WARM_START_SPEC, spec.warm_start) if spec.kind == WARM_START
                     else (spec.config, spec.preset.steps - spec.warm_start))
    per_step = flops_per_step(config, spec.preset)
    return math.inf if per_step is None else per_step * steps
