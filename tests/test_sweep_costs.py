"""Longest first: an executor that runs several units at once gets the costly ones first, and the
order changes when units start, never what they compute."""

from __future__ import annotations

from pathlib import Path

import pytest

from vfibench.presets import get_preset
from vfibench.results.store import RunStore
from vfibench.sweep import LocalExecutor, plan_sweep, run_sweep
from vfibench.sweep.costs import flops_per_step, unit_cost
from vfibench.sweep.unit import REFERENCE, TRAINED, WARM_START, UnitSpec

PRESET = get_preset("smoke").with_overrides(steps=3, log_every=1)
WARM = 1


def spec(config: str, kind: str = TRAINED) -> UnitSpec:
    return UnitSpec(config=config, seed=0, kind=kind, preset=PRESET, warm_start=WARM)


def test_estimates_order_configurations_by_the_work_of_their_training_step() -> None:
    l1, l2, adversarial, perceptual = (flops_per_step(c, PRESET) for c in ("l1", "l2", "l1+adv", "l1+perc"))
    # The same model and no network in the loss: the same work; a discriminator adds its two passes,
    # a VGG16 pass adds more (the order of their measured training times; README, Longest first).
    assert l1 == l2 > 0
    assert perceptual > adversarial > l1
    assert unit_cost(spec("l1+perc")) == perceptual * (PRESET.steps - WARM)
    assert unit_cost(spec("l1", WARM_START)) == l1 * WARM
    assert unit_cost(spec("blend", REFERENCE)) == 0.0
    assert unit_cost(spec("no_such_loss")) == float("inf")  # fails at once where it runs: start it first


def test_a_term_scheduled_over_part_of_training_counts_for_that_part() -> None:
    l1, perceptual = flops_per_step("l1", PRESET), flops_per_step("l1+perc", PRESET)
    assert flops_per_step("l1+perc@0.5", PRESET) == pytest.approx((l1 + perceptual) / 2)
    assert flops_per_step("l1+perc@:0.25", PRESET) == pytest.approx(0.25 * perceptual + 0.75 * l1)


class Concurrent(LocalExecutor):
    """Runs units in this process, but takes two at a time, and records the order it was given them."""

    capacity = 2

    def __init__(self) -> None:
        super().__init__()
        self.started: list[str] = []

    def submit(self, spec: UnitSpec, warm: object = None) -> int:
        self.started.append(spec.config if spec.kind != WARM_START else "warm start")
        return super().submit(spec, warm)


class InOrder(Concurrent):
    capacity = 1


def test_several_at_once_start_longest_first_with_the_same_tables(tmp_path: Path) -> None:
    def sweep(executor: Concurrent, out: Path) -> RunStore:
        plan = plan_sweep("l1,l1+adv,l1+perc", PRESET, [0], out=out, device="cpu", metrics=["psnr"], warm_start=WARM)
        return run_sweep(plan, executor=executor)

    one, two = InOrder(), Concurrent()
    in_order, longest_first = sweep(one, tmp_path / "one"), sweep(two, tmp_path / "two")
    assert one.started == ["blend", "nearest", "warm start", "l1", "l1+adv", "l1+perc"]
    assert two.started == ["warm start", "blend", "l1+perc", "l1+adv", "l1", "nearest"]
    for table in ("summary.csv", "per_sample.csv", "train_log.csv"):
        assert longest_first.path(table).read_bytes() == in_order.path(table).read_bytes(), table


def test_estimating_a_unit_leaves_the_process_s_threads_as_they_were() -> None:
    """The estimate counts on one thread; the sweep's own units then train with the threads they had."""
    import torch

    from vfibench.losses.spec import parse_config
    from vfibench.sweep.costs import step_flops

    before = torch.get_num_threads()
    torch.set_num_threads(before + 1)
    try:
        step_flops(parse_config("l1"), PRESET)
        assert torch.get_num_threads() == before + 1
    finally:
        torch.set_num_threads(before)


def test_a_step_that_cannot_be_counted_leaves_the_unit_to_fail_where_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error while counting a step (torch raises RuntimeError) must not stop the sweep before any unit runs."""
    from vfibench.sweep import costs

    def broken(*args: object) -> int:
        raise RuntimeError("not enough memory")

    monkeypatch.setattr(costs, "step_flops", broken)
    preset = PRESET.with_overrides(steps=5)  # estimates are cached per preset: one no other test asks for
    try:
        assert costs.flops_per_step("l1", preset) is None
        assert unit_cost(UnitSpec(config="l1", seed=0, kind=TRAINED, preset=preset)) == float("inf")
    finally:
        costs.flops_per_step.cache_clear()
