"""Training one loss configuration under one seed.

Everything but the loss is fixed by the seed and the run preset: the initial weights
(:func:`~vfibench.model.interpolator.build_interpolator`), the order of the batches
(:func:`batch_order`) and the optimiser schedule (Adam, cosine decay). So two configurations of a
sweep see identical models and identical batches at every step until their losses differ.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from vfibench.data.triplets import Triplets
from vfibench.errors import VfiBenchError
from vfibench.losses.objective import Objective
from vfibench.losses.spec import LossConfig
from vfibench.model.interpolator import Interpolator, build_interpolator
from vfibench.presets import DEFAULT_PRECISION, PRECISIONS, RunPreset
from vfibench.results.schema import COMPLETE, DIVERGED, LEARNING_RATE, STEP, TOTAL
from vfibench.validation import HeldOut, held_out_scores

StepCallback = Callable[[int, float], None]

#: What was not finite when training diverged (``TrainResult.divergence``).
LOSS_NOT_FINITE = "the loss was NaN or infinite"
STATE_NOT_FINITE = ("Adam's state became NaN or infinite after a finite loss (a NaN or infinite gradient, or a "
                    "loss too large for float32: a weight too large?)")



@dataclass
class TrainState:
    """Model and optimiser at a given step: what a warm start hands over to each configuration."""

    step: int
    model: dict[str, Tensor]
    optimizer: dict[str, Any]


@dataclass
class TrainResult:
    """A trained model and what happened on the way.

    Attributes:
        model: the model after the last finished step, in eval mode.
        log: one row per ``log_every`` steps: step, lr, total and each term, averaged over the interval,
            and the held-out scores at that step (``val_psnr``…) when ``held_out`` was given.
        status: COMPLETE, or DIVERGED when the loss became NaN/inf or the optimiser's state overflowed
            (:mod:`vfibench.results.schema`).
        diverged_at: the step whose loss was not finite, or after which Adam's state was not.
        divergence: what was not finite, in words (``None`` while COMPLETE).
        last_finite_loss: the last finite total loss seen.
        seconds: wall time of the steps this call trained.
        optimizer_state: Adam's state after the last step (what a warm start hands on).
    """

    model: Interpolator
    log: list[dict[str, float]] = field(default_factory=list)
    status: str = COMPLETE
    diverged_at: int | None = None
    divergence: str | None = None
    last_finite_loss: float | None = None
    seconds: float = 0.0
    optimizer_state: dict[str, Any] | None = None


def batch_order(count: int, steps: int, batch_size: int, seed: int) -> Tensor:
    """Indices of the triplets each step trains on, shape (steps, batch_size).

    Epochs of seeded random permutations laid end to end: every triplet is seen once per epoch,
    and the order depends only on (count, seed) — never on the loss.
    """
    generator = torch.Generator().manual_seed(seed)
    needed = steps * batch_size
    epochs = [torch.randperm(count, generator=generator) for _ in range(math.ceil(needed / count))]
    return torch.cat(epochs)[:needed].view(steps, batch_size)


def progress_at(step: int, first_step: int, steps: int) -> float:
    """The point of training, in [0, 1), that step ``step`` (0-based) of a configuration is at.

    progress = (step − first_step) / (steps − first_step): schedule windows span the configuration's
    own steps, from ``first_step`` (the end of a warm start) to the end of training.
    """
    return (step - first_step) / max(steps - first_step, 1)


def idle_steps(config: LossConfig, steps: int, first_step: int = 0) -> list[tuple[int, int]]:
    """The 1-based, inclusive ranges of steps in which no term of ``config`` is active.

    Such a step has nothing to minimise (its loss has no gradient), so a sweep refuses the
    configuration before any work; see :func:`vfibench.sweep.plan_sweep`.
    """
    windows = [term.window for term in config.resolve()]
    ranges: list[tuple[int, int]] = []
    for step in range(first_step, steps):
        progress = progress_at(step, first_step, steps)
        if any(window.contains(progress) for window in windows):
            continue
        if ranges and ranges[-1][1] == step:
            ranges[-1] = (ranges[-1][0], step + 1)
        else:
            ranges.append((step + 1, step + 1))
    return ranges


def make_optimizer(model: torch.nn.Module, preset: RunPreset) -> tuple[torch.optim.Optimizer, Callable[[int], float]]:
    """Adam with a cosine learning-rate decay from ``lr`` to ``lr * lr_final_fraction`` over the preset's steps."""
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.lr)
    floor = preset.lr_final_fraction

    def lr_at(step: int) -> float:
        progress = min(step / max(preset.steps, 1), 1.0)
        return preset.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))

    return optimizer, lr_at


def train_configuration(
    config: LossConfig,
    data: Triplets,
    preset: RunPreset,
    seed: int,
    device: torch.device | str = "cpu",
    *,
    start: TrainState | None = None,
    stop_at: int | None = None,
    on_step: StepCallback | None = None,
    held_out: HeldOut | None = None,
    precision: str = DEFAULT_PRECISION,
) -> TrainResult:
    """Train the fixed interpolator with ``config``'s loss for the preset's steps.

    Args:
        config: the loss configuration.
        data: the training triplets (kept on the CPU; each batch is moved to ``device``).
        preset: steps, batch size, learning-rate schedule, model width.
        seed: sets the initial weights, the batch order and any randomness inside loss terms.
        device: where to train.
        start: continue from this state (a shared warm start) instead of the seed's initial weights.
            The configuration's schedule windows (``40*style@0.5``) then span its own steps, from
            ``start.step`` to the end, so a warm start never swallows a scheduled phase.
        stop_at: stop after this step instead of ``preset.steps`` (to produce a warm start).
        on_step: called after every step with (step, total loss).
        held_out: scores the model at every log row (:mod:`vfibench.validation`); it does not change
            training: weights and random streams are bit-identical with and without it.
        precision: "fp32" (float32, PyTorch's defaults), "bf16" or "fp16" (:data:`PRECISIONS`): the model's
            forward pass and the loss run under ``torch.autocast`` in that type, while weights,
            gradients and Adam stay float32 (mixed precision, Micikevicius et al., ICLR 2018); fp16
            scales the loss with a ``GradScaler`` and needs CUDA. Auxiliary networks (a
            discriminator) and held-out scoring run in float32.

    Raises:
        VfiBenchError: an unknown precision, or fp16 on a device other than CUDA (:func:`check_precision`).
    """
    device = torch.device(device)
    model = build_interpolator(width=preset.width, seed=seed, variant=preset.model).to(device)
    optimizer, lr_at = make_optimizer(model, preset)
    first_step = 0
    if start is not None:
        model.load_state_dict(start.model)
        # Optimizer.load_state_dict keeps the given tensors when device and dtype already match, so
        # Adam's steps would update the shared warm start in place: every configuration after the
        # first would start from another state. A private copy keeps the warm start shared and fixed.
        optimizer.load_state_dict(copy.deepcopy(start.optimizer))
        first_step = start.step
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        objective = Objective(config).to(device)
        with reproducible_kernels(device):
            result = _run_steps(model, optimizer, lr_at, objective, data, preset, seed, device,
                                first_step, preset.steps if stop_at is None else stop_at, on_step, held_out,
                                _Precision(precision, device))
    return result


@contextlib.contextmanager
def reproducible_kernels(device: torch.device) -> Iterator[None]:
    """On a GPU, PyTorch's deterministic algorithms for the block, so that a seed trains to the same
    weights every time; restored after. On the CPU a no-op: its kernels already are deterministic.

    By default several CUDA kernels accumulate with atomic additions in an order that changes from
    run to run (``grid_sample``'s backward, cuDNN's backward convolutions): two trainings of the
    same configuration and seed drifted apart by up to 1e-2 in the weights within 30 steps. With
    ``torch.use_deterministic_algorithms`` on, cuDNN picks deterministic convolutions,
    :func:`~vfibench.model.warp.backward_warp` its gather form, and cuBLAS a fixed workspace
    (``CUBLAS_WORKSPACE_CONFIG``, unless already set; cuBLAS reads it when a process first uses it).
    An operation without a deterministic CUDA implementation warns instead of stopping the run
    (``warn_only``). Every setting, the variable included, is restored after the block.
    """
    if device.type != "cuda":
        yield
        return
    import torch.utils.deterministic as settings

    # read when the process first uses cuBLAS; a sweep set it before its first unit, so this serves direct calls
    set_here = WORKSPACE_VARIABLE not in os.environ
    if set_here:
        os.environ[WORKSPACE_VARIABLE] = DETERMINISTIC_WORKSPACE
    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              cudnn.deterministic, cudnn.benchmark, settings.fill_uninitialized_memory)
    torch.use_deterministic_algorithms(True, warn_only=True)
    cudnn.deterministic, cudnn.benchmark = True, False
    # a debugging aid of the deterministic mode (NaN written into every new tensor, one more kernel per
    # allocation) that changes no result: the training step is launch-bound on a GPU
    settings.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        cudnn.deterministic, cudnn.benchmark, settings.fill_uninitialized_memory = before[2:]
        if set_here:
            os.environ.pop(WORKSPACE_VARIABLE, None)


#: cuBLAS's workspace setting, which a deterministic matrix product needs (PyTorch's reproducibility notes).
WORKSPACE_VARIABLE = "CUBLAS_WORKSPACE_CONFIG"
DETERMINISTIC_WORKSPACE = ":4096:8"


def fix_cublas_workspace() -> None:
    """Give cuBLAS, for this whole process, the fixed workspace deterministic matrix products need,
    unless the environment already names one. cuBLAS reads the variable once, when the process first
    uses it: :func:`reproducible_kernels` sets it for its block, which is too late if anything used
    cuBLAS before (a reference unit's scoring), so a sweep (:func:`~vfibench.sweep.run_sweep`, whose
    ``--jobs`` workers inherit it) and each Ray task call this before any CUDA work."""
    os.environ.setdefault(WORKSPACE_VARIABLE, DETERMINISTIC_WORKSPACE)


def check_precision(precision: str, device: torch.device) -> str:
    """``precision`` when it can train on ``device``; a VfiBenchError otherwise.

    fp32 trains as always; bf16 autocasts the forward pass and the loss (CPU or CUDA); fp16 does
    too with a gradient scaler, which only CUDA provides.
    """
    if precision not in PRECISIONS:
        raise VfiBenchError(f"Unknown --precision '{precision}'. Use one of {', '.join(PRECISIONS)}.")
    if precision == "fp16" and device.type != "cuda":
        raise VfiBenchError(f"--precision fp16 trains with a CUDA gradient scaler, but the device is {device}. "
                            f"Use --precision bf16 (CPU and CUDA) or fp32, or train on a GPU (--device cuda).")
    return precision


class _Precision:
    """The autocast context and loss scaling of one training precision (fp32: neither)."""

    def __init__(self, precision: str, device: torch.device) -> None:
        self.name = check_precision(precision, device)
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward_and_step(self, total: Tensor, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            total.backward()
            optimizer.step()
            return
        self.scaler.scale(total).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


def _run_steps(
    model: Interpolator,
    optimizer: torch.optim.Optimizer,
    lr_at: Callable[[int], float],
    objective: Objective,
    data: Triplets,
    preset: RunPreset,
    seed: int,
    device: torch.device,
    first_step: int,
    last_step: int,
    on_step: StepCallback | None,
    held_out: HeldOut | None = None,
    precision: "_Precision | None" = None,
) -> TrainResult:
    precision = precision or _Precision(DEFAULT_PRECISION, device)
    order = batch_order(len(data), preset.steps, preset.batch_size, seed)
    result = TrainResult(model=model)
    window = _LogWindow()
    started = time.perf_counter()
    model.train()
    for step in range(first_step, last_step):
        progress = progress_at(step, first_step, preset.steps)
        lr = lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = data[order[step]].to(device)
        with precision.autocast():
            prediction = model(batch.i0, batch.i1, batch.t)
            value = objective(prediction, batch, progress)
        total = float(value.total.detach())
        if not math.isfinite(total):
            result.status, result.diverged_at, result.divergence = DIVERGED, step + 1, LOSS_NOT_FINITE
            break
        optimizer.zero_grad(set_to_none=True)
        precision.backward_and_step(value.total, optimizer)
        if not optimizer_state_finite(optimizer):
            result.status, result.diverged_at = DIVERGED, step + 1
            result.divergence, result.last_finite_loss = STATE_NOT_FINITE, total
            break
        auxiliary = objective.auxiliary_step(_detached(prediction, float32=precision.dtype is not None), batch,
                                             progress)
        result.last_finite_loss = total
        window.add(total, {k: float(v.detach()) for k, v in value.terms.items()} | auxiliary)
        if (step + 1) % preset.log_every == 0 or step + 1 == last_step:
            row = {STEP: step + 1, LEARNING_RATE: lr} | window.flush()
            if held_out is not None:
                row |= held_out_scores(model, held_out, device)
            result.log.append(row)
        if on_step is not None:
            on_step(step + 1, total)
    result.seconds = time.perf_counter() - started
    result.optimizer_state = optimizer.state_dict()
    model.eval()
    return result


def optimizer_state_finite(optimizer: torch.optim.Optimizer) -> bool:
    """Whether every floating-point tensor the optimiser keeps beside a parameter is finite.

    A finite loss can still break Adam: its second moment holds squared gradients, which overflow
    float32 above |g| ≈ 1.8e19 (a loss weight of 1e37, say), and a NaN gradient makes its moments NaN.
    Adam's step m / (√v + ε) is then 0 or NaN, and the model stops learning while every loss stays
    finite. Only state on its parameter's device is read (Adam keeps its step counter on the CPU
    beside CUDA moments), one concatenation and one host sync per device.
    """
    by_device: dict[torch.device, list[Tensor]] = {}
    for param, state in optimizer.state.items():
        for value in state.values():
            if isinstance(value, Tensor) and value.is_floating_point() and value.device == param.device:
                by_device.setdefault(value.device, []).append(value.reshape(-1))
    return all(bool(torch.isfinite(torch.cat(tensors)).all()) for tensors in by_device.values())


def _detached(prediction: Any, float32: bool = False) -> Any:
    """The prediction without its graph; ``float32`` also casts autocast's half-precision outputs back."""
    if float32:
        return type(prediction)(**{k: v.detach().float() for k, v in vars(prediction).items()})
    return type(prediction)(**{k: v.detach() for k, v in vars(prediction).items()})


class _LogWindow:
    """Averages logged values over the steps between two log rows.

    Each value is averaged over the steps that reported it, so a term switched on by its schedule
    part-way through a window is logged at its own mean, not diluted by the steps before it.
    """

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, total: float, terms: dict[str, float]) -> None:
        for key, value in {TOTAL: total, **terms}.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
            self.counts[key] = self.counts.get(key, 0) + 1

    def flush(self) -> dict[str, float]:
        row = {key: value / self.counts[key] for key, value in self.sums.items()}
        self.sums, self.counts = {}, {}
        return row


@torch.no_grad()
def predict(model: Interpolator, triplets: Triplets, batch_size: int, device: torch.device | str) -> Tensor:
    """The model's middle frames for ``triplets``, clamped to [0, 1], on the CPU."""
    model.eval()
    frames = [
        model(chunk.i0, chunk.i1, chunk.t).frame.clamp(0, 1).cpu()
        for chunk in _chunks(triplets, batch_size, device)
    ]
    return torch.cat(frames)


def _chunks(triplets: Triplets, batch_size: int, device: torch.device | str) -> Iterator[Triplets]:
    for begin in range(0, len(triplets), batch_size):
        yield triplets[begin : begin + batch_size].to(device)
