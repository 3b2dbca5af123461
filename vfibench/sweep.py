"""A sweep: every loss configuration under every seed, evaluated beside the reference rows.

:func:`plan_sweep` checks everything that can be checked before any work starts (specs, presets,
backbones for losses and metrics, the output folder); :func:`run_sweep` then trains and evaluates
one (configuration, seed) unit at a time, writing each finished unit atomically so an interrupted
sweep keeps what it finished. :func:`plan_resume` rebuilds the plan of an interrupted run from its
manifest, and :func:`run_sweep` on that plan and run completes only what is missing: every unit is
trained from its seed alone, so the resumed tables equal those of an uninterrupted sweep.

Interruptions: inside :func:`stop_on_signals`, SIGINT and SIGTERM stop the sweep between two
operations; :func:`run_sweep` then rewrites the tables of the finished units, marks the manifest
"interrupted" and raises :class:`SweepInterrupted`, which says where the partial results are and
how to resume (exit code 128 + the signal number: 130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import contextlib
import math
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import torch

from vfibench import backbones
from vfibench.data.sources import (SYNTHETIC, dataset_attributes, describe_sources, open_dataset,
                                   parse_dataset_spec, validate_dataset_spec)
from vfibench.data.triplets import Triplets
from vfibench.errors import BackboneUnavailable, ResultsError, SpecError, VfiBenchError, describe_os_error
from vfibench.losses.catalog import REGISTRY  # noqa: F401  (registers the loss catalog)
from vfibench.losses.spec import LossConfig, Window, parse_config, parse_sweep
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite
from vfibench.model.variants import variant_record
from vfibench.presets import RunPreset, preset_from_dict
from vfibench.references import REFERENCES
from vfibench.results import atomic, schema
from vfibench.results.store import (DERIVED_TABLES, SAMPLE_ATTRIBUTES as ATTRIBUTES, COMPLETE, FAILED, INTERRUPTED, LOG_KEYS, RUNNING, SAMPLE_KEYS, RunStore, UnitKey,
                                    environment_versions, git_commit)
from vfibench.results.summary import summarise
from vfibench.results.tables import write_summary_files
from vfibench.train import TrainState, idle_steps, predict, progress_at, train_configuration
from vfibench.validation import VAL_METRICS, VAL_SAMPLES, Validation

WARM_START_SPEC = "l1"
#: Where the ``reason`` column (why a configuration diverged or is unavailable) goes in summary.csv.
REASON_COLUMN, REASON_POSITION = schema.REASON, schema.REASON_POSITION


class Interrupted(BaseException):
    """Raised by :func:`stop_on_signals` in the main thread when SIGINT or SIGTERM arrives.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SweepInterrupted(VfiBenchError):
    """A sweep stopped by a signal; its finished units are kept and the message says how to resume."""

    def __init__(self, message: str, signum: int, store: RunStore, resume: str) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum
        self.store = store
        self.resume = resume


@contextlib.contextmanager
def stop_on_signals(signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM raises :class:`Interrupted` (later ones are ignored,
    so the clean-up that follows is not cut short). Outside the main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if not fired:
            fired.append(signum)
            raise Interrupted(signum)

    previous = {number: signal.signal(number, handler) for number in signals}
    try:
        yield
    finally:
        for number, before in previous.items():
            signal.signal(number, before)


class SweepListener(Protocol):
    """What the sweep tells its caller while it works (the CLI draws progress bars from it).

    ``sweep_started`` once the data is loaded: the units still to train and their training steps
    in all (warm starts included); ``phase`` a stage, with ``total`` parts when it counts them
    (each then reported by ``advance``); ``unit_started``/``step``/``unit_finished`` per unit, the
    outcome naming its time and headline metrics.
    """

    def sweep_started(self, units: int, steps: int) -> None: ...
    def phase(self, message: str, total: int | None = None) -> None: ...
    def advance(self) -> None: ...
    def unit_started(self, label: str, steps: int) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def unit_finished(self, label: str, outcome: str) -> None: ...


class SilentListener:
    """A listener that ignores everything (library use, tests)."""

    def sweep_started(self, units: int, steps: int) -> None: ...
    def phase(self, message: str, total: int | None = None) -> None: ...
    def advance(self) -> None: ...
    def unit_started(self, label: str, steps: int) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def unit_finished(self, label: str, outcome: str) -> None: ...


@dataclass
class SweepPlan:
    """A validated sweep, ready to run."""

    configs: list[LossConfig]
    preset: RunPreset
    seeds: list[int]
    data_seed: int
    device: torch.device
    metrics: list[str]
    unavailable_metrics: dict[str, str]
    unavailable_configs: dict[str, str]
    warm_start: int
    out: Path
    store: RunStore | None = None
    command: str = ""
    backbone_hashes: dict[str, str] = field(default_factory=dict)
    skip_unavailable: bool = False
    train_data: str = SYNTHETIC
    test_data: str = SYNTHETIC
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    resumed: list[dict[str, str]] = field(default_factory=list)
    #: Per test sample ambiguity, motion and occlusion (filled when the data is loaded).
    attributes: pd.DataFrame | None = None
    #: Held-out test scenes scored at every log row (:mod:`vfibench.validation`; 0: none).
    val_samples: int = VAL_SAMPLES
    #: Where each unit's log and sample frames go for TensorBoard (:mod:`vfibench.tensorboard_log`).
    tensorboard: Path | None = None

    @property
    def trained(self) -> list[LossConfig]:
        return [c for c in self.configs if c.canonical not in self.unavailable_configs]

    @property
    def order(self) -> list[str]:
        return [c.canonical for c in self.configs] + list(REFERENCES)

    def units(self) -> list[UnitKey]:
        """Every unit the sweep produces: per seed, the references then the trained configurations."""
        return [key for seed in self.seeds for key in
                [UnitKey(name, seed, schema.REFERENCE) for name in REFERENCES]
                + [UnitKey(c.canonical, seed) for c in self.trained]]


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    name = name.lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise VfiBenchError("--device cuda was requested but PyTorch sees no CUDA GPU on this machine. "
                            "Use --device cpu or --device auto.")
    try:
        return torch.device(name)
    except RuntimeError:
        raise VfiBenchError(f"Unknown device '{name}'. Use auto, cpu, cuda or cuda:N.") from None


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` → [0, 1, 2]; also ``"0-4"``. Duplicates and negatives are errors."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                low, high = part.split("-", 1)
                seeds.extend(range(int(low), int(high) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise VfiBenchError(f"Invalid --seeds '{text}': give whole numbers separated by commas, e.g. 0,1,2 "
                            f"or a range such as 0-4.") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise VfiBenchError(f"Invalid --seeds '{text}': seeds must be distinct non-negative whole numbers.")
    return seeds


def plan_sweep(
    losses: str,
    preset: RunPreset,
    seeds: Sequence[int],
    *,
    out: Path,
    device: str = "auto",
    metrics: Sequence[str] = DEFAULT_METRICS,
    skip_unavailable: bool = False,
    warm_start: int | None = None,
    data_seed: int = 0,
    command: str = "",
    train_data: str = SYNTHETIC,
    test_data: str = SYNTHETIC,
    val_samples: int = VAL_SAMPLES,
    tensorboard: Path | None = None,
) -> SweepPlan:
    """Validate a sweep completely before any training starts; raise a VfiBenchError if anything is wrong.

    ``train_data`` and ``test_data`` are dataset specs (:mod:`vfibench.data.sources`), checked here
    (grammar, options, that the path exists) and recorded in canonical form.
    """
    configs = parse_sweep(losses)
    warm_start = preset.warm_start if warm_start is None else warm_start
    train_data = validate_dataset_spec(train_data, "--train-data", "train")
    test_data = validate_dataset_spec(test_data, "--test-data", "test")
    if warm_start < 0 or warm_start >= preset.steps:
        raise VfiBenchError(
            f"--warm-start {warm_start} must be between 0 and the preset's {preset.steps} steps (exclusive of "
            f"the end): the warm start trains that many plain-L1 steps before each configuration's own loss."
        )
    for config in configs:
        check_every_step_trains(config, preset, warm_start)
    atomic.check_writable_folder(out, "--out")
    if tensorboard is not None:
        from vfibench import tensorboard_log

        tensorboard_log.check_available(tensorboard)
        atomic.check_writable_folder(tensorboard, "--tensorboard")
    resolved_device = resolve_device(device)
    unavailable_configs = _unavailable_configs(configs, skip_unavailable)
    suite = MetricSuite(metrics, device=resolved_device, skip_unavailable=skip_unavailable)
    used = {name for c in configs if c.canonical not in unavailable_configs for name in c.backbones()}
    used |= MetricSuite.required_backbones(suite.names)
    hashes = {name: backbones.locate(name).sha256 or "" for name in sorted(used)}
    return SweepPlan(
        configs=configs,
        preset=preset,
        seeds=list(seeds),
        data_seed=data_seed,
        device=resolved_device,
        metrics=list(suite.names),
        unavailable_metrics=dict(suite.unavailable),
        unavailable_configs=unavailable_configs,
        warm_start=warm_start,
        out=out,
        command=command,
        backbone_hashes=hashes,
        skip_unavailable=skip_unavailable,
        train_data=train_data,
        test_data=test_data,
        val_samples=val_samples,
        tensorboard=tensorboard,
    )


def check_every_step_trains(config: LossConfig, preset: RunPreset, warm_start: int) -> None:
    """A SpecError naming ``config`` and its steps without an active term (they would have nothing to
    minimise); schedule windows span the steps after the warm start (:func:`vfibench.train.progress_at`)."""
    idle = idle_steps(config, preset.steps, warm_start)
    if not idle:
        return
    shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in idle)
    count = sum(b - a + 1 for a, b in idle)
    after = f" (its windows span steps {warm_start + 1}-{preset.steps}, after the {warm_start}-step warm start)" \
        if warm_start else ""
    first, last = idle[0]
    gap = Window(math.floor(progress_at(first - 1, warm_start, preset.steps) * 1e4) / 1e4,
                 1.0 if last == preset.steps else math.ceil(progress_at(last, warm_start, preset.steps) * 1e4) / 1e4)
    used = {term.name for term in config.terms}
    filler = next(name for name in ("l1", "l2", "charbonnier") if name not in used)
    raise SpecError(
        f"The loss configuration '{config.canonical}' has no active term in step(s) {shown} of the "
        f"{preset.steps} steps of preset {preset.name}{after}: {count} step(s) would have nothing to minimise. "
        f"Nothing was trained. Make the schedule windows cover all of training, e.g. add a term for the gap: "
        f"'{config.canonical}+{filler}{gap}'."
    )


def plan_resume(
    store: RunStore,
    *,
    device: str | None = None,
    losses: str | None = None,
    preset: RunPreset | None = None,
    seeds: Sequence[int] | None = None,
    warm_start: int | None = None,
    metrics: Sequence[str] | None = None,
    skip_unavailable: bool | None = None,
    train_data: str | None = None,
    test_data: str | None = None,
    command: str = "",
) -> SweepPlan:
    """The plan of the run in ``store``, rebuilt from its manifest, to finish what is missing.

    The keyword arguments are the options a user gave along with ``--resume`` (None: not given).
    Each must agree with the manifest — resuming never changes what a run computes — or a
    :class:`VfiBenchError` lists every conflict. ``device`` may differ (the numbers of units finished
    on another device then differ within floating-point tolerance; the manifest records it). The
    backbones, and which metrics and configurations are unavailable, must also be as they were.
    """
    manifest = store.read_manifest()
    where = f"the manifest '{store.path('manifest.json')}'"
    recorded = _recorded_settings(manifest, where)
    conflicts = []
    if losses is not None:
        given = [c.canonical for c in parse_sweep(losses)]
        if given != recorded["configs"]:
            conflicts.append(f"--losses gives {', '.join(given)}; the run has {', '.join(recorded['configs'])}")
    run_preset: RunPreset = recorded["preset"]
    if preset is not None:
        if preset.name != run_preset.name:
            conflicts.append(f"--preset {preset.name}; the run used {run_preset.name}")
        elif preset.steps != run_preset.steps:
            conflicts.append(f"{preset.steps} steps; the run trains {run_preset.steps}")
        elif preset.model != run_preset.model:
            conflicts.append(f"--model {preset.model}; the run trains the {run_preset.model} interpolator")
        elif preset.ambiguity != run_preset.ambiguity:
            conflicts.append(f"--ambiguity {preset.ambiguity:g}; the run's data has {run_preset.ambiguity:g}")
    for option, value, expected in (("--seeds", seeds, recorded["seeds"]),
                                    ("--warm-start", warm_start, recorded["warm_start"]),
                                    ("--metrics", metrics, recorded["metrics"]),
                                    ("--skip-unavailable", skip_unavailable, recorded["skip_unavailable"]),
                                    ("--train-data", train_data and parse_dataset_spec(train_data).canonical,
                                     recorded["train_data"]),
                                    ("--test-data", test_data and parse_dataset_spec(test_data).canonical,
                                     recorded["test_data"])):
        if value is not None and (list(value) if isinstance(value, (list, tuple)) else value) != expected:
            shown = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
            wanted = ",".join(map(str, expected)) if isinstance(expected, list) else expected
            conflicts.append(f"{option} {shown}; the run has {wanted}")
    if conflicts:
        raise VfiBenchError(
            f"Cannot resume '{store.root}': the options given conflict with {where}: {'; '.join(conflicts)}. "
            f"--resume takes every setting from the manifest, so that the finished run equals an uninterrupted "
            f"one; drop those options, or start a new sweep without --resume."
        )
    plan = plan_sweep(", ".join(recorded["configs"]), run_preset, recorded["seeds"], out=store.root.parent,
                      device=device or recorded["device"], metrics=recorded["metrics"],
                      skip_unavailable=recorded["skip_unavailable"], warm_start=recorded["warm_start"],
                      data_seed=recorded["data_seed"], command=str(manifest.get("command", "")),
                      train_data=recorded["train_data"], test_data=recorded["test_data"])
    drift = []
    if plan.backbone_hashes != recorded["backbones"]:
        drift.append(f"backbones {plan.backbone_hashes or 'none'} now, {recorded['backbones'] or 'none'} then")
    if set(plan.unavailable_metrics) != set(recorded["unavailable_metrics"]):
        drift.append(f"unavailable metrics {sorted(plan.unavailable_metrics) or 'none'} now, "
                     f"{sorted(recorded['unavailable_metrics']) or 'none'} then")
    if set(plan.unavailable_configs) != set(recorded["unavailable_configs"]):
        drift.append(f"unavailable configurations {sorted(plan.unavailable_configs) or 'none'} now, "
                     f"{sorted(recorded['unavailable_configs']) or 'none'} then")
    if drift:
        raise VfiBenchError(
            f"Cannot resume '{store.root}': the environment changed since the run started ({'; '.join(drift)}), so "
            f"its remaining units would not be comparable with the finished ones. Restore the backbones it used "
            f"(`vfibench weights status`), or start a new sweep."
        )
    plan.created = str(manifest.get("created", plan.created))
    previous = manifest.get("resumed")
    plan.resumed = [*(previous if isinstance(previous, list) else []),
                    {"command": command, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "device": str(plan.device),
                     "from_status": str(manifest.get("status"))}]
    return plan


def _recorded_settings(manifest: dict[str, Any], where: str) -> dict[str, Any]:
    """The settings a sweep's manifest records, validated; a ResultsError names what is missing or wrong."""
    try:
        if manifest.get("kind") != schema.SWEEP:
            raise ValueError(f"its kind is {manifest.get('kind')!r}, not '{schema.SWEEP}'")
        configs = [str(entry["config"]) for entry in manifest["configs"]]
        recorded = {
            "configs": configs,
            "preset": preset_from_dict(manifest["preset"], where),
            "seeds": [int(seed) for seed in manifest["seeds"]],
            "data_seed": int(manifest["data"]["train"]["seed"]),
            "train_data": str(manifest["data"]["train"].get("dataset", SYNTHETIC)),
            "test_data": str(manifest["data"]["test"].get("dataset", SYNTHETIC)),
            "warm_start": int(manifest["warm_start"]["steps"]),
            "metrics": [str(m["name"]) for m in manifest["metrics"]] + list(manifest["unavailable_metrics"]),
            "unavailable_metrics": dict(manifest["unavailable_metrics"]),
            "unavailable_configs": {str(e["config"]) for e in manifest["configs"] if e.get("status") == schema.UNAVAILABLE},
            "backbones": dict(manifest["backbones"]),
            "device": str(manifest["device"]).split(" (")[0],
        }
        recorded["skip_unavailable"] = bool(manifest.get(
            "skip_unavailable", recorded["unavailable_metrics"] or recorded["unavailable_configs"]))
    except VfiBenchError as err:
        raise ResultsError(str(err)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        problem = f"it lacks the entry {err}" if isinstance(err, KeyError) else str(err)
        raise ResultsError(
            f"Cannot resume from {where}: {problem}. It was damaged, edited or written by another tool or "
            f"version; resume only runs started by `vfibench run`, or start a new sweep."
        ) from None
    for config in configs:
        canonical = parse_config(config).canonical
        if canonical != config:
            raise ResultsError(
                f"Cannot resume from {where}: its configuration '{config}' now reads as '{canonical}' (the loss "
                f"catalog changed since the run started). Start a new sweep."
            )
    return recorded


def _unavailable_configs(configs: list[LossConfig], skip_unavailable: bool) -> dict[str, str]:
    missing: dict[str, str] = {}
    for config in configs:
        for name in sorted(config.backbones()):
            status = backbones.locate(name)
            foreign = backbones.foreign_weights_message(status)
            if status.found and foreign is None:
                continue
            reason = (f"the loss configuration '{config.canonical}' needs the ImageNet {name.upper()} backbone, "
                      + (f"but {foreign[0].lower()}{foreign[1:].rstrip('.')}" if foreign else
                         f"which was not found (looked in: {', '.join(map(str, status.searched))}); fix: "
                         f"`{status.fix}`"))
            if not skip_unavailable:
                raise BackboneUnavailable(
                    f"Cannot start the sweep: {reason}. Nothing was trained. Or run with --skip-unavailable "
                    f"to train the other configurations and mark this one unavailable."
                )
            missing[config.canonical] = reason
    return missing


def data_for(plan: SweepPlan, loaded: Callable[[], None] | None = None) -> tuple[Triplets, Triplets]:
    """The training and test triplets of a plan (deterministic in the preset and the data seed).

    The preset gives the counts and sizes (training crops, test frames); options written in a
    dataset spec override them.
    """
    preset = plan.preset
    train = open_dataset(plan.train_data, "train", count=preset.train_count, size=preset.crop, seed=plan.data_seed,
                         max_motion=preset.max_motion, ambiguity=preset.ambiguity)
    if loaded is not None:  # progress: the training data is ready
        loaded()
    test = open_dataset(plan.test_data, "test", count=preset.test_count, size=preset.test_size, seed=plan.data_seed,
                        max_motion=preset.max_motion, ambiguity=preset.ambiguity)
    return train, test


def attributes_of_test_data(plan: SweepPlan, test: Triplets) -> pd.DataFrame:
    """Per test sample: its ambiguity, motion and occluded fraction. Synthetic scenes know all three;
    for real data the motion is estimated with a classical optical flow (:func:`largest_motion`) and
    the other two stay NaN (no ground truth knows them)."""
    from vfibench.metrics.classical_flow import largest_motion

    preset = plan.preset
    known = dataset_attributes(plan.test_data, "test", count=preset.test_count, seed=plan.data_seed,
                               max_motion=preset.max_motion, ambiguity=preset.ambiguity)
    frame = pd.DataFrame(known, columns=list(ATTRIBUTES))
    if len(frame) == len(test) and frame[schema.MOTION].isna().all():
        frame[schema.MOTION] = largest_motion(test.i0, test.i1).numpy()
    return frame


def model_parameters(preset: RunPreset) -> int:
    """Trainable parameters of the preset's interpolator."""
    from vfibench.model.interpolator import build_interpolator, count_parameters

    return count_parameters(build_interpolator(width=preset.width, variant=preset.model))


def manifest_for(plan: SweepPlan, store: RunStore, status: str, timings: dict[str, float]) -> dict[str, Any]:
    """Everything needed to trace a number in this run back to how it was made."""
    from vfibench.metrics.registry import metric_info

    return {
        "tool": "vfibench",
        "kind": schema.SWEEP,
        "run": store.name,
        "status": status,
        "command": plan.command,
        "created": plan.created,
        "resumed": plan.resumed,
        "skip_unavailable": plan.skip_unavailable,
        "configs": [
            {"config": c.canonical, "expanded": c.expanded,
             "terms": [{"term": t.info.name, "label": t.label, "weight": t.weight, "params": t.params,
                        "window": [t.window.start, t.window.end], "verified": t.info.verified}
                       for t in c.resolve()],
             "status": schema.UNAVAILABLE if c.canonical in plan.unavailable_configs else schema.PLANNED,
             "reason": plan.unavailable_configs.get(c.canonical, "")}
            for c in plan.configs
        ],
        "references": list(REFERENCES),
        "order": plan.order,
        "seeds": plan.seeds,
        "preset": plan.preset.to_dict(),
        "validation": {"samples": plan.val_samples, "every": plan.preset.log_every, "metrics":
                       [m for m in VAL_METRICS if m in plan.metrics] if plan.val_samples else [],
                       "subset": f"the first {plan.val_samples} test scenes"},
        "warm_start": {"steps": plan.warm_start, "loss": WARM_START_SPEC if plan.warm_start else None,
                       "note": ("every configuration trains its first steps with plain l1, computed once per "
                                "seed and shared") if plan.warm_start else "none"},
        "data": {"train": {"dataset": plan.train_data, "split": "train", "count": plan.preset.train_count,
                           "size": plan.preset.crop, "seed": plan.data_seed},
                 "test": {"dataset": plan.test_data, "split": "test", "count": plan.preset.test_count,
                          "size": plan.preset.test_size, "seed": plan.data_seed},
                 "max_motion": plan.preset.max_motion,
                 "ambiguity": plan.preset.ambiguity,
                 "attributes": {**schema.ATTRIBUTE_MEANINGS,
                                "known": f"synthetic data: all three exactly; real data: {schema.MOTION} estimated, "
                                         f"the others empty"},
                 "note": describe_sources(plan.train_data, plan.test_data)},
        "model": {**variant_record(plan.preset.model), "width": plan.preset.width,
                  "parameters": model_parameters(plan.preset)},
        "metrics": [
            {"name": m, "label": metric_info(m).label, "higher_is_better": metric_info(m).higher_is_better,
             "description": metric_info(m).description}
            for m in plan.metrics
        ],
        "unavailable_metrics": plan.unavailable_metrics,
        "evaluation": ("predictions clamped to [0, 1], then predictions and ground truth quantised to 8 bits "
                       "(round(x*255)/255), as saved frames would be, before every metric; every metric per "
                       "frame, then averaged"),
        "backbones": plan.backbone_hashes,
        "reference_weights": all(backbones.is_reference(name, sha) for name, sha in plan.backbone_hashes.items()),
        "device": str(plan.device) + (f" ({torch.cuda.get_device_name(plan.device)})"
                                      if plan.device.type == "cuda" else ""),
        "versions": environment_versions(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "timings_seconds": timings,
    }


def run_sweep(plan: SweepPlan, listener: SweepListener | None = None, store: RunStore | None = None) -> RunStore:
    """Train and evaluate every unit of ``plan``; ``store`` continues an existing run (resume).

    The run directory is locked for the whole sweep (:meth:`RunStore.lock`). Only once every unit is
    finished is the manifest marked complete and ``<out>/latest`` pointed at the run. A SIGINT
    (KeyboardInterrupt) or an :class:`Interrupted` from :func:`stop_on_signals` rewrites the tables
    of the finished units, marks the manifest "interrupted" and raises :class:`SweepInterrupted`.
    """
    listener = listener or SilentListener()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    listener.phase(f"Loading the training data ({plan.train_data}) and test data ({plan.test_data})", total=2)
    data = data_for(plan, listener.advance)  # before the run directory exists: bad data leaves nothing behind
    listener.advance()
    plan.val_samples = min(plan.val_samples, len(data[1]))  # the held-out subset the manifest records
    plan.attributes = attributes_of_test_data(plan, data[1])
    timings["data"] = time.perf_counter() - started
    if store is None:
        atomic.check_writable_folder(plan.out, "--out")
        try:
            store = RunStore.create(plan.out)
        except OSError as err:
            raise ResultsError(describe_os_error(err, "creating the run directory")) from None
    else:
        atomic.check_writable_folder(store.root, "The run directory")
    plan.store = store
    try:
        with store.lock():
            try:
                store.remove_temporaries()
                store.write_manifest(manifest_for(plan, store, RUNNING, timings))
                try:
                    _run_units(plan, store, listener, timings, data, started)
                except (KeyboardInterrupt, Interrupted) as stop:
                    signum = stop.signum if isinstance(stop, Interrupted) else int(signal.SIGINT)
                    gather(store, plan)
                    store.write_manifest(manifest_for(plan, store, INTERRUPTED, timings))
                    raise interruption(plan, store, signum) from None
                store.write_manifest(manifest_for(plan, store, COMPLETE, timings))
                store.mark_latest()
            except OSError as err:
                raise _write_failure(plan, store, timings, err) from None
    except OSError as err:  # the lock file itself could not be opened
        raise ResultsError(describe_os_error(err, f"locking the run '{store.root}'")) from None
    return store


def _write_failure(plan: SweepPlan, store: RunStore, timings: dict[str, float], err: OSError) -> ResultsError:
    """Mark the manifest failed with the file-system error as its reason (if the disk still allows it),
    and return the error that tells the user what happened and how to finish the run."""
    message = describe_os_error(err, f"writing the run '{store.root}'")
    with contextlib.suppress(OSError):
        store.write_manifest({**manifest_for(plan, store, FAILED, timings), "reason": message})
    return ResultsError(f"{message} The units finished so far are kept; once fixed, finish the run with: "
                        f"{resume_command(plan, store)}")


def resume_command(plan: SweepPlan, store: RunStore) -> str:
    """The exact command that finishes ``store`` (run from the same working directory)."""
    return shlex.join(["vfibench", "run", "--resume", store.name, "--out", str(plan.out)])


def interruption(plan: SweepPlan, store: RunStore, signum: int) -> SweepInterrupted:
    """The error that reports an interrupted sweep: what is kept, where, and how to resume."""
    units = plan.units()
    done = sum(store.unit_info(key) is not None for key in units)
    name = signal.Signals(signum).name + (" (Ctrl-C)" if signum == signal.SIGINT else "")
    command = resume_command(plan, store)
    return SweepInterrupted(
        f"The sweep was interrupted by {name}. {done} of {len(units)} units (configuration × seed, references "
        f"included) finished and are kept in '{store.root}'; its summary.csv lists them and marks the rest "
        f"missing. Nothing unfinished is taken for a result. To finish only what is missing, run: {command}",
        signum, store, command,
    )


def _run_units(plan: SweepPlan, store: RunStore, listener: SweepListener, timings: dict[str, float],
               data: tuple[Triplets, Triplets], started: float) -> None:
    train, test = data
    suite = MetricSuite(plan.metrics, device=plan.device)
    held_out = Validation.of(test, plan.metrics, plan.device, plan.preset.eval_batch_size, plan.val_samples)
    listener.sweep_started(*_remaining_work(plan, store))
    for seed in plan.seeds:
        _evaluate_references(plan, store, suite, test, seed, listener)
        warm = _warm_start_state(plan, store, train, seed, listener) if plan.warm_start else None
        for config in plan.trained:
            key = UnitKey(config.canonical, seed)
            if store.unit_info(key) is not None:
                continue
            try:
                _train_unit(plan, store, suite, config, train, test, seed, warm, listener, held_out)
            except OSError:
                raise  # the disk or folder, not the unit: the whole run fails (see run_sweep)
            except Exception as err:  # one unit's failure is recorded as its result; the sweep goes on
                _record_failure(store, key, plan, err, listener)
            gather(store, plan)
    timings["total"] = time.perf_counter() - started
    gather(store, plan)


def _remaining_work(plan: SweepPlan, store: RunStore) -> tuple[int, int]:
    """(trained units still to run, their training steps in all, warm starts still to train included)."""
    units, steps = 0, 0
    for seed in plan.seeds:
        todo = [c for c in plan.trained if store.unit_info(UnitKey(c.canonical, seed)) is None]
        units += len(todo)
        steps += len(todo) * (plan.preset.steps - plan.warm_start)
        if todo and plan.warm_start and not (store.root / "warm_start" / f"seed{seed}.pt").is_file():
            steps += plan.warm_start
    return units, steps


def _evaluate_references(plan: SweepPlan, store: RunStore, suite: MetricSuite, test: Triplets, seed: int,
                         listener: SweepListener) -> None:
    pending = [name for name in REFERENCES if store.unit_info(UnitKey(name, seed, kind=schema.REFERENCE)) is None]
    if pending:
        listener.phase(f"Evaluating the references {', '.join(pending)} (seed {seed})", total=len(pending))
    for name in pending:
        key = UnitKey(name, seed, kind=schema.REFERENCE)
        frames = REFERENCES[name](test)
        store.write_unit(key, {schema.STATUS: schema.COMPLETE}, _per_sample(suite, frames, test, key, plan))
        listener.advance()


def _warm_start_state(plan: SweepPlan, store: RunStore, train: Triplets, seed: int,
                      listener: SweepListener) -> TrainState:
    """The shared plain-L1 warm start of ``seed``: trained once, cached in the run directory."""
    path = store.root / "warm_start" / f"seed{seed}.pt"
    if path.is_file():
        try:
            return TrainState(**torch.load(path, map_location="cpu", weights_only=True))
        except Exception as err:  # any unpickling failure means the same thing: a damaged file
            raise ResultsError(
                f"The cached warm start '{path}' cannot be loaded ({type(err).__name__}: {err}). It was damaged "
                f"or replaced; delete it to have `vfibench run --resume {store.name}` train it again."
            ) from None
    label = f"warm start ({WARM_START_SPEC}, {plan.warm_start} steps), seed {seed}"
    listener.unit_started(label, plan.warm_start)
    result = train_configuration(parse_config(WARM_START_SPEC), train, plan.preset, seed, plan.device,
                                 stop_at=plan.warm_start, on_step=listener.step)
    state = TrainState(plan.warm_start, {k: v.cpu() for k, v in result.model.state_dict().items()},
                       result.optimizer_state or {})
    atomic.write_torch(path, vars(state))
    listener.unit_finished(label, f"{result.seconds:.0f}s")
    return state


def _train_unit(plan: SweepPlan, store: RunStore, suite: MetricSuite, config: LossConfig, train: Triplets,
                test: Triplets, seed: int, warm: TrainState | None, listener: SweepListener,
                held_out: Validation | None = None) -> None:
    key = UnitKey(config.canonical, seed)
    label = f"{config.canonical} (seed {seed})"
    listener.unit_started(label, plan.preset.steps - (warm.step if warm else 0))
    result = train_configuration(config, train, plan.preset, seed, plan.device, start=warm, on_step=listener.step,
                                 held_out=held_out)
    rows = [{schema.CONFIG: config.canonical, schema.SEED: seed, **row} for row in result.log]
    log = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(LOG_KEYS))
    info: dict[str, Any] = {schema.STATUS: result.status, "train_seconds": round(result.seconds, 3),
                            "steps": plan.preset.steps, "warm_start": plan.warm_start}
    if result.status == schema.DIVERGED:
        info |= {"diverged_at": result.diverged_at, "last_finite_loss": result.last_finite_loss}
        store.write_unit(key, info, None, log)
        listener.unit_finished(label, f"diverged at step {result.diverged_at}")
        return
    started = time.perf_counter()
    frames = predict(result.model, test, plan.preset.eval_batch_size, plan.device)
    per_sample = _per_sample(suite, frames, test, key, plan)
    info["eval_seconds"] = round(time.perf_counter() - started, 3)
    store.write_unit(key, info, per_sample, log, {k: v.cpu() for k, v in result.model.state_dict().items()})
    if plan.tensorboard is not None:
        from vfibench import tensorboard_log

        tensorboard_log.write_unit(plan.tensorboard, store.name, config.canonical, seed, result.log,
                                   test.it[: tensorboard_log.FRAMES], frames[: tensorboard_log.FRAMES])
    listener.unit_finished(label, _headline(per_sample, result.seconds, info["eval_seconds"]))


def _headline(per_sample: pd.DataFrame, train_seconds: float, eval_seconds: float) -> str:
    """``PSNR 30.44 dB, LPIPS 0.043; trained 12s, scored 1s``: what a finished unit reports."""
    parts = [f"{label} {per_sample[name].mean():{fmt}}{unit}" for name, label, fmt, unit in
             (("psnr", "PSNR", ".2f", " dB"), ("lpips", "LPIPS", ".4f", ""), ("dists", "DISTS", ".4f", ""))
             if name in per_sample and per_sample[name].notna().any()]
    return ", ".join(parts) + f"; trained {train_seconds:.0f}s, scored {eval_seconds:.0f}s"


def _record_failure(store: RunStore, key: UnitKey, plan: SweepPlan, err: Exception,
                    listener: SweepListener) -> None:
    """Write ``key`` as a finished unit with status "failed" and the error as its reason."""
    reason = f"{type(err).__name__}: {err}".strip()
    store.write_unit(key, {schema.STATUS: schema.FAILED, schema.REASON: reason, "steps": plan.preset.steps,
                           "warm_start": plan.warm_start}, None)
    listener.unit_finished(f"{key.config} (seed {key.seed})", f"failed ({reason[:200]})")


def _per_sample(suite: MetricSuite, frames: torch.Tensor, test: Triplets, key: UnitKey,
                plan: SweepPlan) -> pd.DataFrame:
    values: dict[str, list[float]] = {name: [] for name in suite.names}
    batch = plan.preset.eval_batch_size
    for begin in range(0, len(test), batch):
        inputs = (test.i0[begin : begin + batch], test.i1[begin : begin + batch]) if suite.needs_inputs else None
        scores = suite(frames[begin : begin + batch].to(plan.device), test.it[begin : begin + batch].to(plan.device),
                       inputs)
        for name in suite.names:
            values[name].extend(scores[name].tolist())
    attributes = plan.attributes if plan.attributes is not None else pd.DataFrame(columns=list(ATTRIBUTES))
    frame = pd.DataFrame({schema.CONFIG: key.config, schema.KIND: key.kind, schema.SEED: key.seed,
                          schema.SAMPLE: range(len(test)), **values})
    for name in plan.unavailable_metrics:
        frame[name] = float("nan")
    for name in ATTRIBUTES:
        frame[name] = attributes[name].to_numpy() if len(attributes) == len(frame) else float("nan")
    return frame


def gather(store: RunStore, plan: SweepPlan) -> None:
    """Rewrite the run-level tables from the finished units (atomically, in the plan's order)."""
    samples, logs, status = [], [], dict.fromkeys(plan.unavailable_configs, schema.UNAVAILABLE)
    reasons: dict[str, list[str]] = {name: [reason] for name, reason in plan.unavailable_configs.items()}
    finished: dict[str, int] = {}
    for seed in plan.seeds:
        for config in plan.order:
            kind = schema.REFERENCE if config in REFERENCES else schema.TRAINED
            key = UnitKey(config, seed, kind)
            info = store.unit_info(key)
            if info is None:
                continue
            finished[config] = finished.get(config, 0) + 1
            if info.get(schema.STATUS) == schema.DIVERGED:
                status[config] = schema.DIVERGED
                reasons.setdefault(config, []).append(divergence_text(info))
            elif info.get(schema.STATUS) == schema.FAILED:
                status[config] = schema.FAILED
                reasons.setdefault(config, []).append(
                    f"seed {seed} failed: {info.get(schema.REASON)}; delete '{store.unit_dir(key)}' and resume the run "
                    f"to retry it")
            for table, into in ((schema.PER_SAMPLE_FILE, samples), (schema.TRAIN_LOG_FILE, logs)):
                frame = store.read_unit_table(key, table)
                if frame is not None:
                    into.append(frame)
    for config, count in finished.items():
        if count < len(plan.seeds) and config not in status:
            status[config] = schema.PARTIAL
            reasons.setdefault(config, []).append(f"{count} of {len(plan.seeds)} seeds finished; "
                                                   f"resume the run to complete it")
    metrics = plan.metrics + list(plan.unavailable_metrics)
    per_sample = pd.concat(samples, ignore_index=True) if samples else pd.DataFrame(
        columns=[*SAMPLE_KEYS, *metrics])
    train_log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame(columns=list(LOG_KEYS))
    atomic.write_csv(store.path(schema.PER_SAMPLE_FILE), per_sample)
    atomic.write_csv(store.path(schema.TRAIN_LOG_FILE), train_log)
    summary = summarise(per_sample, metrics, plan.order, status)
    summary.insert(REASON_POSITION, REASON_COLUMN, ["; ".join(reasons.get(c, [])) for c in summary[schema.CONFIG]])
    write_summary_files(store, summary, metrics, plan.unavailable_metrics,
                        title=f"{store.name} — preset {plan.preset.name}, device {plan.device}")




def rebuild_tables(store: RunStore) -> list[str]:
    """Rewrite a sweep's derived tables from its units when any is missing; return those that were missing.

    The units hold every result, so a lost ``summary.csv`` (or any other gathered table) is rebuilt
    exactly as :func:`gather` wrote it. Runs of another kind are left alone.
    """
    missing = [name for name in DERIVED_TABLES if not store.path(name).is_file()]
    manifest = store.read_manifest()
    if not missing or manifest.get("kind") != schema.SWEEP:
        return []
    where = f"the manifest '{store.path('manifest.json')}'"
    recorded = _recorded_settings(manifest, where)
    plan = SweepPlan(
        configs=parse_sweep(", ".join(recorded["configs"])), preset=recorded["preset"], seeds=recorded["seeds"],
        data_seed=recorded["data_seed"], device=torch.device(recorded["device"]),
        metrics=[str(m["name"]) for m in manifest["metrics"]], unavailable_metrics=recorded["unavailable_metrics"],
        unavailable_configs={str(e["config"]): str(e.get("reason", "")) for e in manifest["configs"]
                             if e.get("status") == schema.UNAVAILABLE},
        warm_start=recorded["warm_start"], out=store.root.parent, store=store)
    with store.lock():
        gather(store, plan)
    return missing


def divergence_text(info: dict[str, Any]) -> str:
    """``"at step 7 of 12 (seed 0), last finite loss 0.0123"`` from a diverged unit's record."""
    last = info.get("last_finite_loss")
    loss = f"last finite loss {last:.6g}" if isinstance(last, (int, float)) and math.isfinite(last) \
        else "no finite loss before it"
    return f"at step {info.get('diverged_at')} of {info.get('steps')} (seed {info.get('seed')}), {loss}"
