"""A sweep: every loss configuration under every seed, evaluated beside the reference rows.

:func:`plan_sweep` checks everything that can be checked before any work starts (specs, presets,
backbones for losses and metrics, the output folder); :func:`run_sweep` then trains and evaluates
one (configuration, seed) unit at a time, writing each finished unit atomically so an interrupted
sweep keeps what it finished and ``--resume`` completes only what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import torch

from vfibench import backbones
from vfibench.data.synthetic import make_synthetic
from vfibench.data.triplets import Triplets
from vfibench.errors import BackboneUnavailable, VfiBenchError
from vfibench.losses.catalog import REGISTRY  # noqa: F401  (registers the loss catalog)
from vfibench.losses.spec import LossConfig, parse_config, parse_sweep
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite
from vfibench.presets import RunPreset
from vfibench.references import REFERENCES
from vfibench.results import atomic
from vfibench.results.store import LOG_KEYS, SAMPLE_KEYS, RunStore, UnitKey, environment_versions, git_commit
from vfibench.results.summary import summarise
from vfibench.results.tables import write_summary_files
from vfibench.train import TrainState, predict, train_configuration

WARM_START_SPEC = "l1"


class SweepListener(Protocol):
    """What the sweep tells its caller while it works (the CLI draws progress bars from it)."""

    def phase(self, message: str) -> None: ...
    def unit_started(self, label: str, steps: int) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def unit_finished(self, label: str, outcome: str) -> None: ...


class SilentListener:
    """A listener that ignores everything (library use, tests)."""

    def phase(self, message: str) -> None: ...
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

    @property
    def trained(self) -> list[LossConfig]:
        return [c for c in self.configs if c.canonical not in self.unavailable_configs]

    @property
    def order(self) -> list[str]:
        return [c.canonical for c in self.configs] + list(REFERENCES)


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
    warm_start: int = 0,
    data_seed: int = 0,
    command: str = "",
) -> SweepPlan:
    """Validate a sweep completely before any training starts; raise a VfiBenchError if anything is wrong."""
    configs = parse_sweep(losses)
    if warm_start < 0 or warm_start >= preset.steps:
        raise VfiBenchError(
            f"--warm-start {warm_start} must be between 0 and the preset's {preset.steps} steps (exclusive of "
            f"the end): the warm start trains that many plain-L1 steps before each configuration's own loss."
        )
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
    )


def _unavailable_configs(configs: list[LossConfig], skip_unavailable: bool) -> dict[str, str]:
    missing: dict[str, str] = {}
    for config in configs:
        for name in sorted(config.backbones()):
            status = backbones.locate(name)
            if status.found:
                continue
            reason = (f"the loss configuration '{config.canonical}' needs the ImageNet {name.upper()} backbone, "
                      f"which was not found (looked in: {', '.join(map(str, status.searched))}); fix: "
                      f"`{status.fix}`")
            if not skip_unavailable:
                raise BackboneUnavailable(
                    f"Cannot start the sweep: {reason}. Nothing was trained. Or run with --skip-unavailable "
                    f"to train the other configurations and mark this one unavailable."
                )
            missing[config.canonical] = reason
    return missing


def data_for(plan: SweepPlan) -> tuple[Triplets, Triplets]:
    """The training and test triplets of a plan (deterministic in the preset and the data seed)."""
    preset = plan.preset
    train = make_synthetic("train", preset.train_count, size=preset.crop, seed=plan.data_seed,
                           max_motion=preset.max_motion)
    test = make_synthetic("test", preset.test_count, size=preset.test_size, seed=plan.data_seed,
                          max_motion=preset.max_motion)
    return train, test


def manifest_for(plan: SweepPlan, store: RunStore, status: str, timings: dict[str, float]) -> dict[str, Any]:
    """Everything needed to trace a number in this run back to how it was made."""
    from vfibench.metrics.registry import metric_info

    return {
        "tool": "vfibench",
        "kind": "sweep",
        "run": store.name,
        "status": status,
        "command": plan.command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "configs": [
            {"config": c.canonical, "expanded": c.expanded,
             "terms": [{"term": t.info.name, "label": t.label, "weight": t.weight, "params": t.params,
                        "window": [t.window.start, t.window.end], "verified": t.info.verified}
                       for t in c.resolve()],
             "status": "unavailable" if c.canonical in plan.unavailable_configs else "planned",
             "reason": plan.unavailable_configs.get(c.canonical, "")}
            for c in plan.configs
        ],
        "references": list(REFERENCES),
        "order": plan.order,
        "seeds": plan.seeds,
        "preset": plan.preset.to_dict(),
        "warm_start": {"steps": plan.warm_start, "loss": WARM_START_SPEC if plan.warm_start else None,
                       "note": ("every configuration trains its first steps with plain l1, computed once per "
                                "seed and shared") if plan.warm_start else "none"},
        "data": {"train": {"dataset": "synthetic", "split": "train", "count": plan.preset.train_count,
                           "size": plan.preset.crop, "seed": plan.data_seed},
                 "test": {"dataset": "synthetic", "split": "test", "count": plan.preset.test_count,
                          "size": plan.preset.test_size, "seed": plan.data_seed},
                 "max_motion": plan.preset.max_motion},
        "metrics": [
            {"name": m, "label": metric_info(m).label, "higher_is_better": metric_info(m).higher_is_better,
             "description": metric_info(m).description}
            for m in plan.metrics
        ],
        "unavailable_metrics": plan.unavailable_metrics,
        "evaluation": ("predictions clamped to [0, 1] and quantised to 8 bits (round(x*255)/255), as saved "
                       "frames would be, before every metric; PSNR and SSIM per frame, then averaged"),
        "backbones": plan.backbone_hashes,
        "device": str(plan.device) + (f" ({torch.cuda.get_device_name(plan.device)})"
                                      if plan.device.type == "cuda" else ""),
        "versions": environment_versions(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "timings_seconds": timings,
    }


def run_sweep(plan: SweepPlan, listener: SweepListener | None = None, store: RunStore | None = None) -> RunStore:
    """Train and evaluate every unit of ``plan``; ``store`` continues an existing run (resume)."""
    listener = listener or SilentListener()
    store = store or RunStore.create(plan.out)
    plan.store = store
    timings: dict[str, float] = {}
    store.write_manifest(manifest_for(plan, store, "running", timings))
    started = time.perf_counter()
    listener.phase("Building the synthetic train and test scenes")
    train, test = data_for(plan)
    timings["data"] = time.perf_counter() - started
    suite = MetricSuite(plan.metrics, device=plan.device)
    for seed in plan.seeds:
        _evaluate_references(plan, store, suite, test, seed, listener)
        warm = _warm_start_state(plan, store, train, seed, listener) if plan.warm_start else None
        for config in plan.trained:
            key = UnitKey(config.canonical, seed)
            if store.unit_info(key) is not None:
                continue
            _train_unit(plan, store, suite, config, train, test, seed, warm, listener)
            gather(store, plan)
    timings["total"] = time.perf_counter() - started
    gather(store, plan)
    store.write_manifest(manifest_for(plan, store, "complete", timings))
    store.mark_latest()
    return store


def _evaluate_references(plan: SweepPlan, store: RunStore, suite: MetricSuite, test: Triplets, seed: int,
                         listener: SweepListener) -> None:
    for name, make_frames in REFERENCES.items():
        key = UnitKey(name, seed, kind="reference")
        if store.unit_info(key) is not None:
            continue
        listener.phase(f"Evaluating the reference '{name}' (seed {seed})")
        frames = make_frames(test)
        store.write_unit(key, {"status": "complete"}, _per_sample(suite, frames, test, key, plan))


def _warm_start_state(plan: SweepPlan, store: RunStore, train: Triplets, seed: int,
                      listener: SweepListener) -> TrainState:
    """The shared plain-L1 warm start of ``seed``: trained once, cached in the run directory."""
    path = store.root / "warm_start" / f"seed{seed}.pt"
    if path.is_file():
        return TrainState(**torch.load(path, map_location="cpu", weights_only=False))
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
                test: Triplets, seed: int, warm: TrainState | None, listener: SweepListener) -> None:
    key = UnitKey(config.canonical, seed)
    label = f"{config.canonical} (seed {seed})"
    listener.unit_started(label, plan.preset.steps - (warm.step if warm else 0))
    result = train_configuration(config, train, plan.preset, seed, plan.device, start=warm, on_step=listener.step)
    log = pd.DataFrame([{"config": config.canonical, "seed": seed, **row} for row in result.log])
    info: dict[str, Any] = {"status": result.status, "train_seconds": round(result.seconds, 3),
                            "steps": plan.preset.steps, "warm_start": plan.warm_start}
    if result.status == "diverged":
        info |= {"diverged_at": result.diverged_at, "last_finite_loss": result.last_finite_loss}
        store.write_unit(key, info, None, log)
        listener.unit_finished(label, f"diverged at step {result.diverged_at}")
        return
    started = time.perf_counter()
    frames = predict(result.model, test, plan.preset.eval_batch_size, plan.device)
    per_sample = _per_sample(suite, frames, test, key, plan)
    info["eval_seconds"] = round(time.perf_counter() - started, 3)
    store.write_unit(key, info, per_sample, log, {k: v.cpu() for k, v in result.model.state_dict().items()})
    psnr = per_sample["psnr"].mean() if "psnr" in per_sample else float("nan")
    listener.unit_finished(label, f"PSNR {psnr:.2f} dB, {result.seconds:.0f}s")


def _per_sample(suite: MetricSuite, frames: torch.Tensor, test: Triplets, key: UnitKey,
                plan: SweepPlan) -> pd.DataFrame:
    values: dict[str, list[float]] = {name: [] for name in suite.names}
    batch = plan.preset.eval_batch_size
    for begin in range(0, len(test), batch):
        scores = suite(frames[begin : begin + batch].to(plan.device), test.it[begin : begin + batch].to(plan.device))
        for name in suite.names:
            values[name].extend(scores[name].tolist())
    frame = pd.DataFrame({"config": key.config, "kind": key.kind, "seed": key.seed,
                          "sample": range(len(test)), **values})
    for name in plan.unavailable_metrics:
        frame[name] = float("nan")
    return frame


def gather(store: RunStore, plan: SweepPlan) -> None:
    """Rewrite the run-level tables from the finished units (atomically, in the plan's order)."""
    samples, logs, status = [], [], dict.fromkeys(plan.unavailable_configs, "unavailable")
    for seed in plan.seeds:
        for config in plan.order:
            kind = "reference" if config in REFERENCES else "trained"
            key = UnitKey(config, seed, kind)
            info = store.unit_info(key)
            if info is None:
                continue
            if info.get("status") == "diverged":
                status[config] = "diverged"
            for table, into in (("per_sample.csv", samples), ("train_log.csv", logs)):
                frame = store.read_unit_table(key, table)
                if frame is not None:
                    into.append(frame)
    metrics = plan.metrics + list(plan.unavailable_metrics)
    per_sample = pd.concat(samples, ignore_index=True) if samples else pd.DataFrame(
        columns=[*SAMPLE_KEYS, *metrics])
    train_log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame(columns=list(LOG_KEYS))
    atomic.write_csv(store.path("per_sample.csv"), per_sample)
    atomic.write_csv(store.path("train_log.csv"), train_log)
    summary = summarise(per_sample, metrics, plan.order, status)
    write_summary_files(store, summary, metrics, plan.unavailable_metrics)
