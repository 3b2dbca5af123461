"""One unit of a sweep: its description, and the one function that runs it anywhere.

A sweep is a set of independent units — a trained (configuration, seed), a reference row under a
seed, or a seed's shared plain-l1 warm start. :class:`UnitSpec` describes one completely and is
frozen and picklable, so it can be handed to another process or machine; :func:`run_unit` trains,
predicts and scores it and returns a :class:`UnitResult` (tables, log, model state, timings,
status) without touching the run directory or the terminal. Writing results, resuming and progress
are the coordinator's (:mod:`vfibench.sweep.coordinator`); where a unit runs is an executor's
(:mod:`vfibench.sweep.executors`).

A unit's result depends only on its spec and its inputs (the training and test data, the warm
start), never on where or when it ran: on one machine with the same number of torch threads its
tables are bit-identical under every executor.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from vfibench.data.sources import SYNTHETIC
from vfibench.data.triplets import Triplets
from vfibench.losses.spec import parse_config
from vfibench.metrics.suite import MetricSuite, PreparedReference, batch_slices, scoring_batch_size
from vfibench.presets import DEFAULT_PRECISION, RunPreset
from vfibench.references import REFERENCES
from vfibench.results import schema
from vfibench.results.schema import LOG_KEYS, SAMPLE_KEYS
from vfibench.results.store import UnitKey
from vfibench.train import StepCallback, TrainState, predict, train_configuration

#: The kinds of unit: a configuration trained under a seed, an untrained reference row, and a
#: seed's shared warm start (its state is handed to the trained units of that seed).
TRAINED, REFERENCE, WARM_START = schema.TRAINED, schema.REFERENCE, "warm_start"
#: The loss of the shared warm start.
WARM_START_SPEC = "l1"
#: What a unit's ``status`` may be (the statuses a finished unit's record takes).
COMPLETE, DIVERGED, FAILED = schema.COMPLETE, schema.DIVERGED, schema.FAILED


@dataclass(frozen=True)
class UnitSpec:
    """Everything needed to run one unit, anywhere.

    Attributes:
        config: the configuration's canonical string (a reference's name; the warm start's loss).
        seed: initial weights, batch order and any randomness inside loss terms.
        kind: :data:`TRAINED`, :data:`REFERENCE` or :data:`WARM_START`.
        preset: steps, batch, sizes, schedule, model.
        warm_start: steps of the shared warm start the unit continues from (a trained unit; 0: none),
            or trains (the warm start itself).
        metrics: the metrics computed; ``unavailable_metrics`` are written as empty columns.
        device: where the unit trains and scores (``cpu``, ``cuda``, ``cuda:N``).
        precision: training precision (:data:`vfibench.presets.PRECISIONS`).
        threads: torch intra-op threads the executor gives the unit (None: the process's setting).
        val_samples: held-out scenes scored at every training-log row (:mod:`vfibench.validation`).
        preview_frames: predicted frames to hand back with the result (for TensorBoard; 0: none).
        train_data, test_data, data_seed: the dataset specs and seed the data comes from, so a worker
            that is given no data can load it itself (:func:`run_unit`).
    """

    config: str
    seed: int
    kind: str
    preset: RunPreset
    warm_start: int = 0
    metrics: tuple[str, ...] = ()
    unavailable_metrics: tuple[str, ...] = ()
    device: str = "cpu"
    precision: str = DEFAULT_PRECISION
    threads: int | None = None
    val_samples: int = 0
    preview_frames: int = 0
    train_data: str = SYNTHETIC
    test_data: str = SYNTHETIC
    data_seed: int = 0

    @property
    def key(self) -> UnitKey:
        """The unit's key in the run directory (a warm start has none of its own: it is cached per seed)."""
        return UnitKey(self.config, self.seed, REFERENCE if self.kind == REFERENCE else TRAINED)

    @property
    def label(self) -> str:
        """How progress names the unit: ``l1 (seed 0)``, ``warm start (l1, 500 steps), seed 0``."""
        if self.kind == WARM_START:
            return f"warm start ({WARM_START_SPEC}, {self.warm_start} steps), seed {self.seed}"
        return f"{self.config} (seed {self.seed})"


@dataclass
class UnitResult:
    """What running a unit produced; the coordinator writes it.

    Attributes:
        spec: the unit.
        status: :data:`COMPLETE`, :data:`DIVERGED` or :data:`FAILED` (``error`` then says why).
        info: the unit's record as ``unit.json`` stores it (status, seconds, steps, divergence…).
        per_sample: one row per test sample (config, kind, seed, sample, every metric); None when the
            unit has no scores (diverged, failed, a warm start).
        train_log: the loss curves (a trained unit that got to train).
        model_state: the trained weights, on the CPU.
        warm_state: the state a warm start hands on (a warm start that completed).
        log_rows: the training log as rows (for TensorBoard).
        preview: the first ``spec.preview_frames`` predicted frames, on the CPU.
        seconds: training seconds.
        error: ``Type: message`` of what made the unit fail.
        worker: ``host:pid`` of the process that ran it.
        started_at, finished_at: wall-clock times (seconds since the epoch).
    """

    spec: UnitSpec
    status: str
    info: dict[str, Any] = field(default_factory=dict)
    per_sample: pd.DataFrame | None = None
    train_log: pd.DataFrame | None = None
    model_state: dict[str, Tensor] | None = None
    warm_state: TrainState | None = None
    log_rows: list[dict[str, float]] = field(default_factory=list)
    preview: Tensor | None = None
    seconds: float = 0.0
    error: str | None = None
    worker: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0


class UnitResources:
    """What a process builds once and reuses for every unit of the same sweep: the metric suite and
    held-out validation (building them loads backbones), and the test set's ground truth prepared
    for scoring (:meth:`MetricSuite.prepare`: its backbone features, SSIM moments, …).

    The ground truth is the same for every configuration and reference row of a sweep, so each
    process computes its features once per test set — one process for the in-process executor, one
    per worker for ``--jobs`` and per Ray worker process — instead of once per unit; nothing is
    shipped between processes (the features of a test set are several times its size).
    """

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._value: tuple[MetricSuite, Any] | None = None
        self._prepared: list[PreparedReference] | None = None

    def for_spec(self, spec: UnitSpec, test: Triplets) -> tuple[MetricSuite, Any]:
        """(suite, held-out validation or None) for ``spec``'s metrics, device and test data."""
        from vfibench.validation import Validation

        key = (spec.metrics, spec.device, spec.val_samples, spec.preset, spec.test_data, spec.data_seed)
        if self._value is None or key != self._key:
            device = torch.device(spec.device)
            suite = MetricSuite(list(spec.metrics), device=device, batch_size=unit_batch_size(spec, test))
            held_out = Validation.of(test, list(spec.metrics), device, spec.preset.eval_batch_size, spec.val_samples)
            self._key, self._value, self._prepared = key, (suite, held_out), None
        return self._value

    def prepared(self, spec: UnitSpec, test: Triplets) -> list[PreparedReference]:
        """The test set's ground truth prepared for ``spec``'s suite, in the scoring batches of
        :func:`score_predictions` (computed on first use, then reused)."""
        suite, _ = self.for_spec(spec, test)
        if self._prepared is None:
            self._prepared = prepare_ground_truth(suite, test, batch_size=suite.batch_size,
                                                  device=spec.device)
        return self._prepared


def run_unit(spec: UnitSpec, train: Triplets | None, test: Triplets | None,
             warm_start_state: TrainState | None = None, *, resources: UnitResources | None = None,
             on_step: StepCallback | None = None) -> UnitResult:
    """Run one unit: train (from ``warm_start_state`` when the unit continues a warm start), predict
    the test frames and score them; return the result. Nothing is written and nothing is printed.

    ``train`` and ``test`` are the sweep's data; None loads it from the spec's dataset specs (a
    worker that can read the data itself). An exception inside the unit becomes its ``failed``
    result with the error; KeyboardInterrupt and other BaseExceptions propagate.
    """
    began, wall = time.perf_counter(), time.time()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        if train is None or test is None:
            from vfibench.sweep.data import load_data

            train, test = load_data(spec.train_data, spec.test_data, spec.preset, spec.data_seed)
        if spec.kind == WARM_START:
            result = _warm_start(spec, train, on_step)
        elif spec.kind == REFERENCE:
            result = _reference(spec, test, resources or UnitResources())
        elif spec.kind == TRAINED:
            result = _trained(spec, train, test, warm_start_state, resources or UnitResources(), on_step)
        else:
            raise ValueError(f"unknown unit kind {spec.kind!r}")
    except Exception as err:  # the unit's failure is its result; the sweep goes on
        result = failed_result(spec, failure_reason(err))
    if result.status == FAILED and torch.cuda.is_initialized():
        # the error and its frames are gone now: hand the memory they held back, for the units that share the GPU
        torch.cuda.empty_cache()
    result.worker, result.started_at, result.finished_at = worker, wall, wall + time.perf_counter() - began
    return result


def failure_reason(err: Exception) -> str:
    """What a failed unit records: the error, and for a GPU out of memory what to change."""
    reason = f"{type(err).__name__}: {err}".strip()
    if isinstance(err, torch.cuda.OutOfMemoryError):
        reason += (" — the GPU ran out of memory: run fewer units on it at once (fewer --jobs; on Ray, "
                   "--gpus-per-unit 1), then --resume; or start a new run with a smaller preset")
    return reason


def failed_result(spec: UnitSpec, reason: str) -> UnitResult:
    """The result of a unit that could not finish, with ``reason`` as its error."""
    info: dict[str, Any] = {schema.STATUS: FAILED, schema.REASON: reason}
    if spec.kind != REFERENCE:
        info |= {"steps": spec.preset.steps, "warm_start": spec.warm_start}
    return UnitResult(spec, FAILED, info, error=reason)


def unit_batch_size(spec: UnitSpec, test: Triplets) -> int:
    """Test frames a unit scores per call: the preset's ``eval_batch_size`` on a CPU, one device chunk
    on a GPU (:func:`~vfibench.metrics.suite.scoring_batch_size`): a sweep's quick test set of 128
    frames of 96² is then one round of kernels there instead of eight. Same spec and test set, same
    batches, so every executor scores a unit alike."""
    return scoring_batch_size(spec.device, *test.it.shape[-2:], spec.preset.eval_batch_size)


#: The largest share of a GPU's free memory a prepared test set may take there. A process keeps it for
#: every unit it scores (the ``full`` preset's default metrics: about 22 MB per 192² frame, 5.6 GB).
PREPARED_GPU_SHARE = 0.25


def reference_storage(device: torch.device | str, nbytes: int) -> torch.device:
    """Where a prepared ground truth of ``nbytes`` is kept: on ``device``, unless that is a GPU with less
    than ``nbytes`` / :data:`PREPARED_GPU_SHARE` free when it is prepared (what other processes hold,
    ``--jobs`` workers or Ray units sharing the GPU, counts as taken) — then in host memory, copied to
    the GPU a scoring batch at a time: the same scores, a copy per unit instead of GPU memory held
    through the training of every later unit of the process. Memory this process's allocator keeps
    cached but unused (after a unit's training, say) counts as free: the prepared tensors reuse it."""
    device = torch.device(device)
    if device.type != "cuda":
        return device
    free, _ = torch.cuda.mem_get_info(device)
    free += torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    return device if nbytes <= PREPARED_GPU_SHARE * free else torch.device("cpu")


def prepare_ground_truth(suite: MetricSuite, test: Triplets, *, batch_size: int,
                         device: torch.device | str) -> list[PreparedReference]:
    """``test.it`` (with the input frames where a metric needs them) prepared for scoring, one
    :class:`PreparedReference` per scoring batch of :func:`score_predictions`, computed on the suite's
    device and kept on ``device`` or, when the whole would not fit there, in host memory
    (:func:`reference_storage`, the whole estimated from the first batch)."""
    slices = batch_slices(len(test), batch_size)
    if not slices:
        return []
    head, rest = slices[0], slice(slices[0].stop, None)
    first = suite.prepare_batches(test.it[head], (test.i0[head], test.i1[head]), batch_size, device)[0]
    keep = reference_storage(device, first.nbytes * len(test) // len(first))
    return [first.to(keep), *suite.prepare_batches(test.it[rest], (test.i0[rest], test.i1[rest]), batch_size, keep)]


def score_predictions(suite: MetricSuite, frames: Tensor, test: Triplets,
                      reference: list[PreparedReference] | None = None, *,
                      batch_size: int, device: torch.device | str) -> dict[str, list[float]]:
    """Per test sample, every metric of ``suite``: ``frames`` (N, 3, H, W) scored against ``test.it``.

    Frames are scored in batches of ``batch_size`` on ``device``; the metrics that need the input
    frames get ``(test.i0, test.i1)``. ``reference`` is the ground truth prepared once per test set
    (:func:`prepare_ground_truth`, the same batches), shared by every unit that scores against it;
    the scores are bit-identical with and without it, only the ground truth's features are not
    computed again.
    """
    if reference is not None:
        scores = suite.score_prepared(frames, reference, batch_size)
        return {name: scores[name].tolist() for name in suite.names}
    values: dict[str, list[float]] = {name: [] for name in suite.names}
    for chunk in batch_slices(len(test), batch_size):
        inputs = (test.i0[chunk], test.i1[chunk]) if suite.needs_inputs else None
        batch = suite(frames[chunk].to(device), test.it[chunk].to(device), inputs)
        for name in suite.names:
            values[name].extend(batch[name].tolist())
    return values


def per_sample_table(spec: UnitSpec, scores: dict[str, list[float]], samples: int) -> pd.DataFrame:
    """The unit's rows of per_sample.csv: its keys, every metric, and the unavailable metrics empty."""
    key = spec.key
    frame = pd.DataFrame({SAMPLE_KEYS[0]: key.config, SAMPLE_KEYS[1]: key.kind, SAMPLE_KEYS[2]: key.seed,
                          SAMPLE_KEYS[3]: range(samples), **scores})
    for name in spec.unavailable_metrics:
        frame[name] = float("nan")
    return frame


def _reference(spec: UnitSpec, test: Triplets, resources: UnitResources) -> UnitResult:
    suite, _ = resources.for_spec(spec, test)
    frames = REFERENCES[spec.config](test)
    scores = score_predictions(suite, frames, test, resources.prepared(spec, test),
                               batch_size=suite.batch_size, device=spec.device)
    return UnitResult(spec, COMPLETE, {schema.STATUS: COMPLETE}, per_sample_table(spec, scores, len(test)))


def _warm_start(spec: UnitSpec, train: Triplets, on_step: StepCallback | None) -> UnitResult:
    result = train_configuration(parse_config(WARM_START_SPEC), train, spec.preset, spec.seed, spec.device,
                                 stop_at=spec.warm_start, on_step=on_step, precision=spec.precision)
    info: dict[str, Any] = {schema.STATUS: result.status, "train_seconds": round(result.seconds, 3)}
    if result.status != COMPLETE:
        info |= {"diverged_at": result.diverged_at, "divergence": result.divergence,
                 "last_finite_loss": result.last_finite_loss}
        return UnitResult(spec, result.status, info, seconds=result.seconds,
                          error=f"the warm start diverged at step {result.diverged_at}")
    state = TrainState(spec.warm_start, {k: v.cpu() for k, v in result.model.state_dict().items()},
                       _on_cpu(result.optimizer_state or {}))
    return UnitResult(spec, COMPLETE, info, warm_state=state, seconds=result.seconds)


def _trained(spec: UnitSpec, train: Triplets, test: Triplets, warm: TrainState | None,
             resources: UnitResources, on_step: StepCallback | None) -> UnitResult:
    if spec.warm_start and warm is None:
        raise ValueError(f"the unit continues a {spec.warm_start}-step warm start, but none was given")
    suite, held_out = resources.for_spec(spec, test)
    device = torch.device(spec.device)
    result = train_configuration(parse_config(spec.config), train, spec.preset, spec.seed, device, start=warm,
                                 on_step=on_step, held_out=held_out, precision=spec.precision)
    rows = [{schema.CONFIG: spec.config, schema.SEED: spec.seed, **row} for row in result.log]
    log = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(LOG_KEYS))
    info: dict[str, Any] = {schema.STATUS: result.status, "train_seconds": round(result.seconds, 3),
                            "steps": spec.preset.steps, "warm_start": spec.warm_start}
    if result.status == DIVERGED:
        info |= {"diverged_at": result.diverged_at, "divergence": result.divergence,
                 "last_finite_loss": result.last_finite_loss}
        return UnitResult(spec, DIVERGED, info, train_log=log, log_rows=result.log, seconds=result.seconds)
    started = time.perf_counter()
    frames = predict(result.model, test, spec.preset.eval_batch_size, device)
    scores = score_predictions(suite, frames, test, resources.prepared(spec, test),
                               batch_size=suite.batch_size, device=device)
    info["eval_seconds"] = round(time.perf_counter() - started, 3)
    return UnitResult(spec, COMPLETE, info, per_sample_table(spec, scores, len(test)), log,
                      {k: v.cpu() for k, v in result.model.state_dict().items()}, log_rows=result.log,
                      preview=frames[: spec.preview_frames].clone() if spec.preview_frames else None,
                      seconds=result.seconds)


def _on_cpu(value: Any) -> Any:
    """``value`` (nested dicts and lists of tensors, e.g. an optimiser state) with every tensor on the CPU."""
    if isinstance(value, Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value
