"""Training one configuration: what every configuration of a sweep shares, and divergence."""

from __future__ import annotations

import dataclasses
import math
import os

import pytest
import torch
import torch.utils.deterministic

from vfibench.data.triplets import Triplets
from vfibench.losses.objective import Objective
from vfibench.losses.spec import parse_config
from vfibench.presets import get_preset
from vfibench.losses.catalog import REGISTRY
from vfibench.train import (STATE_NOT_FINITE, TrainState, batch_order, make_optimizer, optimizer_state_finite,
                            predict, reproducible_kernels, train_configuration)
from helpers import needs_cuda, random_triplets, skip_without_backbones

PRESET = get_preset("smoke").with_overrides(steps=4, log_every=2)


class RecordingTriplets(Triplets):
    """Triplets that remember which indices each training step asked for."""

    def __init__(self, base: Triplets) -> None:
        super().__init__(base.i0, base.it, base.i1, base.t)
        object.__setattr__(self, "asked", [])

    def __getitem__(self, index):  # type: ignore[override]
        self.asked.append(torch.as_tensor(index).tolist())
        return Triplets(self.i0[index], self.it[index], self.i1[index], self.t[index])


def test_a_batch_taken_from_triplets_keeps_each_frame_in_its_role() -> None:
    data = random_triplets(n=5, size=8)
    data = Triplets(data.i0, data.it, data.i1, torch.arange(5, dtype=torch.float32) / 10)
    index = torch.tensor([3, 0, 3])
    batch = data[index]
    assert len(batch) == 3 and torch.equal(batch.t, data.t[index])
    assert torch.equal(batch.i0, data.i0[index]) and torch.equal(batch.it, data.it[index])
    assert torch.equal(batch.i1, data.i1[index])


def test_batch_order_is_a_seeded_sequence_of_epochs() -> None:
    order = batch_order(count=10, steps=7, batch_size=3, seed=5)
    assert order.shape == (7, 3)
    flat = order.flatten().tolist()
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:20]) == list(range(10))
    assert torch.equal(order, batch_order(10, 7, 3, seed=5))
    assert not torch.equal(order, batch_order(10, 7, 3, seed=6))


def test_configurations_share_initial_weights_and_batches_per_seed() -> None:
    data = random_triplets(n=12, size=16)
    initial = {}
    asked = {}
    for spec in ("l1", "l2+0.1*smooth"):
        untrained = train_configuration(parse_config(spec), data, PRESET, seed=3, stop_at=0)
        initial[spec] = {k: v.clone() for k, v in untrained.model.state_dict().items()}
        recording = RecordingTriplets(data)
        train_configuration(parse_config(spec), recording, PRESET, seed=3)
        asked[spec] = recording.asked
    first, second = initial.values()
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    assert asked["l1"] == asked["l2+0.1*smooth"] == batch_order(12, PRESET.steps, PRESET.batch_size, 3).tolist()
    other = train_configuration(parse_config("l1"), data, PRESET, seed=4, stop_at=0).model.state_dict()
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_same_seed_gives_bit_identical_training() -> None:
    data = random_triplets(n=8, size=16)
    runs = [train_configuration(parse_config("l1"), data, PRESET, seed=1) for _ in range(2)]
    assert runs[0].log == runs[1].log
    assert all(torch.equal(a, b) for a, b in zip(runs[0].model.state_dict().values(),
                                                  runs[1].model.state_dict().values()))


def test_reproducible_kernels_switch_deterministic_algorithms_on_for_a_gpu_only_and_restore_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from vfibench.train import DETERMINISTIC_WORKSPACE, WORKSPACE_VARIABLE

    monkeypatch.delenv(WORKSPACE_VARIABLE, raising=False)  # an earlier sweep in this process sets it for good
    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic, cudnn.benchmark)
    with reproducible_kernels(torch.device("cpu")):
        assert (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic, cudnn.benchmark) == before
        assert WORKSPACE_VARIABLE not in os.environ
    with reproducible_kernels(torch.device("cuda", 0)):
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert cudnn.deterministic and not cudnn.benchmark
        assert not torch.utils.deterministic.fill_uninitialized_memory  # a kernel per allocation, no result
        assert os.environ[WORKSPACE_VARIABLE] == DETERMINISTIC_WORKSPACE == ":4096:8"
    assert (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic, cudnn.benchmark) == before
    assert torch.utils.deterministic.fill_uninitialized_memory
    assert WORKSPACE_VARIABLE not in os.environ  # set for the block, removed after it

    monkeypatch.setenv(WORKSPACE_VARIABLE, ":16:8")  # the user's own choice is kept, inside and after
    with reproducible_kernels(torch.device("cuda", 0)):
        assert os.environ[WORKSPACE_VARIABLE] == ":16:8"
    assert os.environ[WORKSPACE_VARIABLE] == ":16:8"


def test_a_sweep_fixes_the_cublas_workspace_before_any_cuda_work_and_keeps_a_users_choice(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cuBLAS reads its workspace setting once per process, so a sweep (the CLI's and the Python API's
    alike) sets it before its first unit, not only inside each training, where a reference unit's
    scoring may already have used cuBLAS."""
    from vfibench.errors import VfiBenchError
    from vfibench.sweep import coordinator, plan_sweep, run_sweep
    from vfibench.train import fix_cublas_workspace

    seen: list[str | None] = []

    def data_loading(*args, **kwargs):
        seen.append(os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
        raise VfiBenchError("stopped by the test")

    monkeypatch.setattr(coordinator, "data_for", data_loading)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")  # so that the test's own change is undone after it
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    plan = plan_sweep("l1", PRESET, [0], out=tmp_path, device="cpu", metrics=["psnr"])
    with pytest.raises(VfiBenchError, match="stopped by the test"):
        run_sweep(plan)
    assert seen == [":4096:8"]
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    fix_cublas_workspace()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


@needs_cuda
@pytest.mark.parametrize("name", sorted(REGISTRY.terms))
def test_a_seed_trains_to_bit_identical_weights_on_a_gpu(name: str) -> None:
    """With PyTorch's defaults two such trainings drift apart (atomic additions in grid_sample's and
    cuDNN's backward); every loss term must reproduce, with no operation left without a
    deterministic kernel."""
    import warnings

    skip_without_backbones(*REGISTRY.terms[name].backbones)
    data = random_triplets(n=8, size=32)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*does not have a deterministic implementation.*")
        runs = [train_configuration(parse_config(name), data, PRESET, seed=1, device="cuda") for _ in range(2)]
    assert runs[0].log == runs[1].log
    assert all(torch.equal(a, b) for a, b in zip(runs[0].model.state_dict().values(),
                                                  runs[1].model.state_dict().values()))


def test_non_finite_loss_stops_training_and_records_step_and_last_finite_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    original = Objective.forward

    def blow_up_at_third_step(self, prediction, batch, progress):  # type: ignore[no-untyped-def]
        value = original(self, prediction, batch, progress)
        calls["n"] += 1
        if calls["n"] == 3:
            return dataclasses.replace(value, total=value.total * float("inf"))
        return value

    monkeypatch.setattr(Objective, "forward", blow_up_at_third_step)
    seen: list[tuple[int, float]] = []
    result = train_configuration(parse_config("l1"), random_triplets(n=8, size=16), PRESET, seed=0,
                                 on_step=lambda step, loss: seen.append((step, loss)))
    assert result.status == "diverged"
    assert result.diverged_at == 3
    assert [step for step, _ in seen] == [1, 2]
    assert result.last_finite_loss == seen[-1][1] and math.isfinite(result.last_finite_loss)
    assert all(math.isfinite(v) for p in result.model.parameters() for v in p.detach().flatten().tolist())


def test_absurd_weight_diverges_at_the_first_step() -> None:
    result = train_configuration(parse_config("1e40*l2"), random_triplets(n=8, size=16), PRESET, seed=0)
    assert (result.status, result.diverged_at, result.last_finite_loss) == ("diverged", 1, None)
    assert result.log == []


def test_a_finite_loss_that_overflows_adams_state_is_divergence_not_a_stalled_complete_run() -> None:
    """1e37·L2 keeps every loss finite, but its squared gradients overflow Adam's float32 second
    moment: from then on Adam's steps are 0 or NaN and the model would never learn."""
    data = random_triplets(n=8, size=16)
    result = train_configuration(parse_config("1e37*l2"), data, PRESET, seed=0)
    assert (result.status, result.diverged_at, result.divergence) == ("diverged", 1, STATE_NOT_FINITE)
    assert result.last_finite_loss is not None and 1e30 < result.last_finite_loss < math.inf
    healthy = train_configuration(parse_config("1e4*l2"), data, PRESET, seed=0)
    assert healthy.status == "complete" and healthy.divergence is None


def test_the_state_check_reads_only_what_lies_beside_each_parameter() -> None:
    """Adam keeps its step counter on the CPU beside CUDA moments: a tensor on another device than its
    parameter (here the meta device, which cannot be read) is not concatenated with the others."""
    layer = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(layer.parameters())
    layer(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    assert optimizer_state_finite(optimizer)
    first = optimizer.state[layer.weight]
    first["elsewhere"] = torch.empty(3, device="meta")
    assert optimizer_state_finite(optimizer)
    first["exp_avg"][0, 0] = math.nan
    assert not optimizer_state_finite(optimizer)


def test_log_averages_a_term_over_the_steps_it_was_active() -> None:
    """A term scheduled on half-way through a log window is logged at its own mean, not diluted."""
    config = parse_config("l1+l2@0.5")
    data = random_triplets(8, size=32)
    every_step = dataclasses.replace(get_preset("smoke"), steps=4, log_every=1)
    one_row = dataclasses.replace(every_step, log_every=4)
    per_step = train_configuration(config, data, every_step, seed=0, device="cpu").log
    (row,) = train_configuration(config, data, one_row, seed=0, device="cpu").log
    l2 = next(name for name in row if name.startswith("l2"))
    active = [r[l2] for r in per_step if l2 in r]
    assert len(active) == 2
    assert row[l2] == pytest.approx(sum(active) / 2, rel=1e-9)
    assert row["l1"] == pytest.approx(sum(r["l1"] for r in per_step) / 4, rel=1e-9)


def test_schedule_windows_span_the_steps_after_a_warm_start() -> None:
    """With a warm start, 'l2@:0.5' is active in the first half of the configuration's own steps."""
    data = random_triplets(8, size=32)
    preset = dataclasses.replace(get_preset("smoke"), steps=6, log_every=1)
    warm = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu", stop_at=2)
    state = TrainState(2, warm.model.state_dict(), warm.optimizer_state or {})
    log = train_configuration(parse_config("l1+l2@:0.5"), data, preset, seed=0, device="cpu", start=state).log
    active = [row["step"] for row in log if any(name.startswith("l2") for name in row)]
    assert active == [3, 4]


def test_a_shared_warm_start_is_not_changed_by_the_configurations_trained_from_it() -> None:
    """Every configuration continues from the same warm start, whatever was trained from it before."""
    data = random_triplets(8, size=32)
    preset = dataclasses.replace(get_preset("smoke"), steps=4, log_every=1)
    warm = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu", stop_at=2)
    state = TrainState(2, warm.model.state_dict(), warm.optimizer_state or {})
    alone = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu", start=state)
    train_configuration(parse_config("l2"), data, preset, seed=0, device="cpu", start=state)
    after_l2 = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu", start=state)
    for name, value in alone.model.state_dict().items():
        assert torch.equal(value, after_l2.model.state_dict()[name]), name


def test_the_learning_rate_follows_a_cosine_from_lr_down_to_its_final_fraction() -> None:
    """Adam starts at the preset's lr, is at the mean of lr and its floor half-way, and ends at
    lr · lr_final_fraction."""
    preset = dataclasses.replace(get_preset("smoke"), steps=100, lr=2e-3, lr_final_fraction=0.1)
    _, lr_at = make_optimizer(torch.nn.Linear(1, 1), preset)
    floor = preset.lr * preset.lr_final_fraction
    assert lr_at(0) == pytest.approx(preset.lr, rel=1e-12)
    assert lr_at(25) == pytest.approx(floor + (preset.lr - floor) * (1 + math.cos(math.pi / 4)) / 2, rel=1e-12)
    assert lr_at(50) == pytest.approx((preset.lr + floor) / 2, rel=1e-12)
    assert lr_at(100) == pytest.approx(floor, rel=1e-12)
    assert lr_at(150) == pytest.approx(floor, rel=1e-12)  # never below the floor


def test_each_step_trains_at_the_learning_rate_its_log_row_records() -> None:
    data = random_triplets(8, size=32)
    preset = dataclasses.replace(get_preset("smoke"), steps=4, log_every=1)
    _, lr_at = make_optimizer(torch.nn.Linear(1, 1), preset)
    result = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu")
    assert [row["lr"] for row in result.log] == [lr_at(step) for step in range(4)]
    assert result.optimizer_state is not None
    assert [group["lr"] for group in result.optimizer_state["param_groups"]] == [lr_at(3)]
    assert lr_at(3) < preset.lr


def test_the_last_step_gets_a_log_row_when_the_steps_are_not_a_multiple_of_log_every() -> None:
    """Curves end at the step the model was trained to: the last row averages the steps since the
    row before, whether training ends at the preset's steps or stops early for a warm start."""
    data = random_triplets(8, size=16)
    preset = dataclasses.replace(get_preset("smoke"), steps=5, log_every=2)
    every_step = dataclasses.replace(preset, log_every=1)
    log = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu").log
    totals = [row["total"] for row in train_configuration(parse_config("l1"), data, every_step, seed=0).log]
    assert [row["step"] for row in log] == [2, 4, 5]
    assert log[-1]["total"] == pytest.approx(totals[4], rel=1e-9)
    assert log[1]["total"] == pytest.approx((totals[2] + totals[3]) / 2, rel=1e-9)
    warm = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu", stop_at=3).log
    assert [row["step"] for row in warm] == [2, 3]


def test_continuing_a_warm_start_trains_the_weights_of_one_uninterrupted_training() -> None:
    """A warm start hands on the model and Adam's state: l1 continued from it ends bit-identical to l1 trained straight
    through, each step's update computed from that step's gradient alone."""
    data = random_triplets(8, size=32)
    preset = dataclasses.replace(get_preset("smoke"), steps=4, log_every=1)
    straight = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu")
    warm = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu", stop_at=2)
    state = TrainState(2, warm.model.state_dict(), warm.optimizer_state or {})
    continued = train_configuration(parse_config("l1"), data, preset, seed=0, device="cpu", start=state)
    assert [row["step"] for row in continued.log] == [3, 4]
    assert continued.log == straight.log[2:]
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, continued.model.state_dict()[name]), name


def test_training_leaves_the_global_random_stream_where_it_was() -> None:
    data = random_triplets(8, size=16)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_configuration(parse_config("l1+0.01*adv"), data, PRESET, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_loss_terms_draw_their_random_initialisation_from_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adversarial term's discriminator starts alike for one seed and differently for another, so seeds are
    independent repeats of the whole training."""
    built: list[Objective] = []

    class Recorded(Objective):
        def __init__(self, config) -> None:  # type: ignore[no-untyped-def]
            super().__init__(config)
            built.append(self)

    monkeypatch.setattr("vfibench.train.Objective", Recorded)
    data = random_triplets(4, size=16)
    for seed in (1, 1, 2):
        train_configuration(parse_config("l1+0.01*adv"), data, PRESET, seed=seed, stop_at=0)
    first, again, other = ([v.clone() for v in objective.state_dict().values()] for objective in built)
    assert first and all(torch.equal(a, b) for a, b in zip(first, again))
    assert any(not torch.equal(a, b) for a, b in zip(first, other))


def test_predicted_frames_are_clamped_to_the_unit_range() -> None:
    """predict hands on frames a saved image could hold: a model that overshoots gives 1, not more."""
    from vfibench.model.interpolator import build_interpolator

    model = build_interpolator(width=8, seed=0)
    with torch.no_grad():
        model.synthesis_net.out.bias.copy_(torch.tensor([2.0, -2.0, 0.0]))
    data = random_triplets(3, size=16)
    assert model(data.i0, data.i1, data.t).frame[:, 0].min() > 1
    frames = predict(model, data, batch_size=2, device="cpu")
    assert frames.shape == (3, 3, 16, 16)
    assert torch.equal(frames[:, 0], torch.ones_like(frames[:, 0]))
    assert torch.equal(frames[:, 1], torch.zeros_like(frames[:, 1]))
    assert 0 <= frames.min() and frames.max() <= 1
