"""Planning a sweep: everything checked before any work starts.

:func:`plan_sweep` checks everything that can be checked before any work starts (specs, presets,
backbones for losses and metrics, the output folder, the precision); :func:`plan_resume` rebuilds
the plan of an unfinished run from its manifest (:func:`~vfibench.sweep.manifest.recorded_settings`),
refusing options that would change what it computes.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from vfibench import backbones
from vfibench.data.sources import SYNTHETIC, absolute_spec, validate_dataset_spec
from vfibench.errors import BackboneUnavailable, SpecError, VfiBenchError
from vfibench.losses.catalog import REGISTRY  # noqa: F401  (registers the loss catalog)
from vfibench.losses.spec import LossConfig, Window, parse_sweep
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite
from vfibench.presets import DEFAULT_PRECISION, RunPreset
from vfibench.references import REFERENCES
from vfibench.results import atomic, schema
from vfibench.results.store import (RunStore, UnitKey, changed_releases, check_latest_is_a_link, environment_versions,
                                    git_commit)
from vfibench.sweep.data import check_same_data, data_fingerprints
from vfibench.sweep.manifest import recorded_settings
from vfibench.train import check_precision, idle_steps, progress_at
from vfibench.validation import VAL_SAMPLES
from vfibench.words import counted, plural


#: What a resumed run's manifest keeps of its first session; each later session's is in its ``resumed`` entry.
KEPT_PROVENANCE = ("git_commit", "device", "executor", "tensorboard")


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
    #: Triplets each split holds once loaded ("train", "test"): fewer than the count asked for when a
    #: folder or video has fewer (filled when the data is loaded).
    loaded: dict[str, int] = field(default_factory=dict)
    #: Held-out test scenes scored at every log row (:mod:`vfibench.validation`; 0: none).
    val_samples: int = VAL_SAMPLES
    #: The --val-samples asked for (None: val_samples), which the sweep caps at the test set's size.
    val_asked: int | None = None
    #: Whether --val-samples was given (its notes are for a value the user chose, not the default).
    val_given: bool = False
    #: Where each unit's log and sample frames go for TensorBoard (:mod:`vfibench.tensorboard_log`).
    tensorboard: Path | None = None
    #: Training precision: fp32, or bf16 / fp16 autocast (:data:`vfibench.presets.PRECISIONS`).
    precision: str = DEFAULT_PRECISION
    #: How the units were run (the executor's record, :meth:`Executor.record`), for the manifest.
    executor: dict[str, Any] = field(default_factory=dict)
    #: Whether ``device`` is this machine's (False on Ray, where units train on the nodes Ray picks).
    device_here: bool = True
    #: Each split's :func:`~vfibench.sweep.data.data_fingerprint` ("train", "test"; None: synthetic),
    #: taken by a resume when it is planned, by a new sweep once its data is loaded.
    fingerprints: dict[str, str | None] = field(default_factory=dict)
    #: What a resumed run's manifest says its data was — triplets loaded per split, each split's
    #: fingerprint — which the data must still be (:func:`~vfibench.sweep.data.check_same_data`).
    expected_data: dict[str, Any] = field(default_factory=dict)
    #: The first session's provenance a resume keeps in the manifest (:data:`KEPT_PROVENANCE`); each
    #: later session's own is in its ``resumed`` entry.
    kept_provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def trained(self) -> list[LossConfig]:
        return [c for c in self.configs if c.canonical not in self.unavailable_configs]

    @property
    def kinds(self) -> dict[str, str]:
        """Each row of the sweep's tables, in their order, and its kind: the configurations, then the references."""
        return {**dict.fromkeys((c.canonical for c in self.configs), schema.TRAINED),
                **dict.fromkeys(REFERENCES, schema.REFERENCE)}

    @property
    def order(self) -> list[str]:
        return list(self.kinds)

    def units(self) -> list[UnitKey]:
        """Every unit the sweep produces: per seed, the references then the trained configurations."""
        return [key for seed in self.seeds for key in
                [UnitKey(name, seed, schema.REFERENCE) for name in REFERENCES]
                + [UnitKey(c.canonical, seed) for c in self.trained]]


def resolve_device(name: str, *, here: bool = True) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is an error.

    ``here=False``: the units run on other machines (a Ray cluster), so this one's GPUs say
    nothing; the name is only checked for its form (``auto`` must then be resolved by the caller).
    """
    given, name = name, name.strip().lower()
    if name == "auto" and here:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda") or (device.type == "cpu" and device.index is not None):
        raise VfiBenchError(f"Unknown device '{given}'. Use auto, cpu, cuda or cuda:N (vfibench trains and scores on "
                            f"a CPU or a CUDA GPU).")
    if here and device.type == "cuda":
        if not torch.cuda.is_available():
            raise VfiBenchError(f"--device {given} was requested but PyTorch sees no CUDA GPU on this machine. "
                                f"Use --device cpu or --device auto.")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            which = "one CUDA GPU, cuda:0" if count == 1 else f"{count} CUDA GPUs, cuda:0 to cuda:{count - 1}"
            raise VfiBenchError(f"--device {given}: this machine has {which}. Give one of them, or --device cuda.")
    return device


#: The largest seed: every random generator a run seeds (torch, NumPy, the data's) accepts it.
MAX_SEED = 2**31 - 1
#: The most seeds one sweep trains (each trains every configuration once).
MAX_SEEDS = 10_000


def _seed_number(text: str) -> int:
    """A seed as written: ASCII digits, with a sign to be refused by name; a ValueError for anything else
    ``int`` would take (``1_0`` for 10, other scripts' digits)."""
    if not re.fullmatch(r"\s*-?[0-9]+\s*", text):
        raise ValueError(text)
    return int(text)


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` → [0, 1, 2]; also ``"0-4"``. Duplicates, negatives and seeds above :data:`MAX_SEED`
    are errors."""
    bounds: list[tuple[int, int]] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                low, high = part.split("-", 1)
                bounds.append((_seed_number(low), _seed_number(high)))
            else:
                bounds.append((_seed_number(part), _seed_number(part)))
    except ValueError:
        raise VfiBenchError(f"Invalid --seeds '{text}': give whole numbers separated by commas, e.g. 0,1,2 "
                            f"or a range such as 0-4.") from None
    backwards = next(((low, high) for low, high in bounds if low > high >= 0), None)
    if backwards is not None:
        low, high = backwards
        raise VfiBenchError(f"Invalid --seeds '{text}': the range {low}-{high} runs backwards; write the smaller "
                            f"seed first, e.g. {high}-{low}.")
    if any(high > MAX_SEED for _, high in bounds):
        raise VfiBenchError(f"Invalid --seeds '{text}': a seed is at most {MAX_SEED} (the random generators of "
                            f"torch, NumPy and the data take 31-bit seeds); use smaller numbers, e.g. 0,1,2.")
    if sum(max(high - low + 1, 0) for low, high in bounds) > MAX_SEEDS:
        raise VfiBenchError(f"Invalid --seeds '{text}': that is more than {MAX_SEEDS} seeds, each of which trains "
                            f"every configuration; give a shorter list or range, e.g. 0-4.")
    return check_seeds([seed for low, high in bounds for seed in range(low, high + 1)], f"--seeds '{text}'")


def check_seeds(seeds: object, what: str = "seeds") -> list[int]:
    """``seeds`` as a list when it is a non-empty sequence of distinct whole numbers in 0…:data:`MAX_SEED`;
    a VfiBenchError naming ``what`` otherwise."""
    values = list(seeds) if isinstance(seeds, Sequence) and not isinstance(seeds, str) else None
    whole = bool(values) and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED
                                 for s in values)  # before any set or count: they need hashable values
    if not whole or len(values) > MAX_SEEDS or len(set(values)) != len(values):
        repeated = sorted(s for s, n in Counter(values).items() if n > 1) if whole else []
        why = f" ({', '.join(map(str, repeated))} more than once)" if repeated else ""
        shown = "" if what.startswith("--") else f"; got {seeds!r:.80}"  # an option's text is in `what`
        example = "0,1,2" if what.startswith("--") else "[0, 1, 2]"
        raise VfiBenchError(f"Invalid {what}{why}: seeds must be a non-empty list of distinct whole numbers from 0 "
                            f"to {MAX_SEED} (at most {MAX_SEEDS} of them), e.g. {example}{shown}.")
    return values


#: How the command line names the ambiguity and the two data specs in its messages (the API names its arguments).
AMBIGUITY_NAMES = ("--ambiguity", "--train-data", "--test-data")


def check_ambiguity_applies(ambiguity: float, train_data: str, test_data: str,
                            names: tuple[str, str, str] = AMBIGUITY_NAMES) -> None:
    """A :class:`VfiBenchError` when ``ambiguity`` would change nothing (no split is synthetic) or
    contradicts the ambiguity a synthetic split's spec writes (the spec's would win for that split);
    ``names`` are how the caller named the ambiguity and the training and test data."""
    from vfibench.data.sources import parse_dataset_spec

    option, train_option, test_option = names
    specs = {train_option: parse_dataset_spec(train_data), test_option: parse_dataset_spec(test_data)}
    synthetic = {name: spec for name, spec in specs.items() if spec.kind == SYNTHETIC}
    if not synthetic:
        raise VfiBenchError(f"{option} {ambiguity:g} sets how synthetic scenes move, but neither {train_option} "
                            f"({train_data}) nor {test_option} ({test_data}) is synthetic, so it would change nothing. "
                            f"Drop {option}, or use synthetic data for a split.")
    for name, spec in synthetic.items():
        written = spec.options.get("ambiguity")
        if written is not None and float(written) != ambiguity:
            raise VfiBenchError(f"{option} {ambiguity:g} contradicts the ambiguity={written:g} written in {name} "
                                f"'{spec.canonical}', which would win for that split. Give the ambiguity in one place.")


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
    val_samples: int | None = None,
    tensorboard: Path | None = None,
    precision: str = DEFAULT_PRECISION,
    device_here: bool = True,
) -> SweepPlan:
    """Validate a sweep completely before any training starts; raise a VfiBenchError if anything is wrong.

    ``train_data`` and ``test_data`` are dataset specs (:mod:`vfibench.data.sources`), checked here
    (grammar, options, that the path exists) and recorded in canonical form. ``precision`` is the
    training precision (:func:`~vfibench.train.check_precision`). ``device_here=False`` when the units run on other
    machines (a Ray cluster): ``device`` is then taken as given, and the metrics' backbones are
    checked on this machine's CPU.
    """
    configs = parse_sweep(losses)
    seeds = sorted(check_seeds(seeds))  # the tables do not depend on the order the seeds were given in
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
    check_latest_is_a_link(out)
    if tensorboard is not None:
        from vfibench import tensorboard_log

        tensorboard_log.check_available(tensorboard)
        atomic.check_writable_folder(tensorboard, "--tensorboard")
    resolved_device = resolve_device(device, here=device_here)
    check_precision(precision, resolved_device)
    unavailable_configs = _unavailable_configs(configs, skip_unavailable)
    # The plan needs the metrics' names, availability and backbone hashes, and loads the backbones only to
    # find a broken file before any training: on the CPU, so that a coordinator that only dispatches units
    # (--jobs, Ray, --dry-run) holds no GPU memory that the units' own copies would compete with.
    suite = MetricSuite(metrics, device="cpu", skip_unavailable=skip_unavailable)
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
        val_samples=VAL_SAMPLES if val_samples is None else val_samples,
        val_given=val_samples is not None,
        tensorboard=tensorboard,
        precision=precision,
        device_here=device_here,
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
    example = config.gap_example(gap)
    raise SpecError(
        f"The loss configuration '{config.canonical}' has no active term in "
        f"{plural('step', count)} {shown} of the {preset.steps} steps of preset {preset.name}{after}: "
        f"{counted(count, 'step')} would have nothing to minimise. "
        f"Nothing was trained. Make the schedule windows cover all of training"
        + (f", e.g. add a term for the gap: {example}." if example else ": add a term for the gap.")
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
    precision: str | None = None,
    val_samples: int | None = None,
    preset_overrides: Mapping[str, Any] | None = None,
    command: str = "",
    device_here: bool = True,
) -> SweepPlan:
    """The plan of the run in ``store``, rebuilt from its manifest, to finish what is missing.

    The keyword arguments are the options a user gave along with ``--resume`` (None: not given);
    ``preset_overrides`` (``steps``, ``model``, ``ambiguity``, ``log_every``) given without ``preset`` are
    applied to the run's own preset and checked like one.
    Each must agree with the manifest — resuming never changes what a run computes — or a
    :class:`VfiBenchError` lists every conflict. ``device`` may differ — an explicit choice, recorded
    per session in the manifest; units trained on another device differ by floating-point
    differences that training compounds, as with another thread count — and so may the executor that
    runs the rest (:mod:`vfibench.sweep.executors`), which trains CPU units with the run's threads.
    The backbones, and which metrics and configurations are unavailable, must also be as they were.
    """
    check_latest_is_a_link(store.root.parent)
    manifest = store.read_manifest()
    where = f"the manifest '{store.path('manifest.json')}'"
    recorded = recorded_settings(manifest, where)
    conflicts = []
    if losses is not None:
        given = [c.canonical for c in parse_sweep(losses)]
        if given != recorded["configs"]:
            conflicts.append(f"--losses gives {', '.join(given)}; the run has {', '.join(recorded['configs'])}")
    run_preset: RunPreset = recorded["preset"]
    if preset is None and any(v is not None for v in (preset_overrides or {}).values()):
        preset = run_preset.with_overrides(**preset_overrides)  # --steps, --model… without --preset: the run's own
    if preset is not None:
        if preset.name != run_preset.name:  # its other settings differ with it
            conflicts.append(f"--preset {preset.name}; the run used {run_preset.name}")
        else:
            given = preset_overrides or {}

            def as_given(field: str, shown: object) -> str:
                """``--steps 7`` as given, or ``--preset smoke (--steps 12)`` where the preset set it."""
                name = f"--{field.replace('_', '-')} {shown}"
                return name if given.get(field) is not None else f"--preset {preset.name} ({name})"

            for differs, conflict in (
                    (preset.steps != run_preset.steps,
                     f"{as_given('steps', preset.steps)}; the run trains {run_preset.steps} steps"),
                    (preset.model != run_preset.model,
                     f"{as_given('model', preset.model)}; the run trains the {run_preset.model} interpolator"),
                    (preset.ambiguity != run_preset.ambiguity,
                     f"{as_given('ambiguity', f'{preset.ambiguity:g}')}; the run's data has {run_preset.ambiguity:g}"),
                    (preset.log_every != run_preset.log_every,
                     f"{as_given('log_every', preset.log_every)}; the run logs every {run_preset.log_every} steps")):
                if differs:
                    conflicts.append(conflict)
    if val_samples is not None and val_samples == recorded["val_samples"]:
        val_samples = recorded["val_asked"]  # the value scored (capped at the test set's size) is no conflict
    if not any(metric in recorded["metrics"] for metric in schema.HELD_OUT_METRICS):
        val_samples = None  # the run scores no held-out metric: any --val-samples leaves it as it is
    for option, value, expected in (("--seeds", seeds and sorted(seeds), sorted(recorded["seeds"])),
                                    ("--warm-start", warm_start, recorded["warm_start"]),
                                    ("--metrics", metrics, recorded["metrics"]),
                                    ("--skip-unavailable", skip_unavailable, recorded["skip_unavailable"]),
                                    ("--train-data", train_data and absolute_spec(train_data).canonical,
                                     absolute_spec(recorded["train_data"]).canonical),
                                    ("--test-data", test_data and absolute_spec(test_data).canonical,
                                     absolute_spec(recorded["test_data"]).canonical),
                                    ("--precision", precision, recorded["precision"]),
                                    ("--val-samples", val_samples, recorded["val_asked"])):
        if value is not None and (list(value) if isinstance(value, (list, tuple)) else value) != expected:
            if isinstance(value, bool):  # a flag: named as it is written
                no = option.replace("--", "--no-", 1)
                conflicts.append(f"{option if value else no}; the run was made with {no if value else option}")
                continue
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
                      train_data=recorded["train_data"], test_data=recorded["test_data"],
                      precision=recorded["precision"], device_here=device_here)
    drift = []
    if plan.backbone_hashes != recorded["backbones"]:
        drift.append(f"backbones {plan.backbone_hashes or 'none'} now, {recorded['backbones'] or 'none'} then")
    if set(plan.unavailable_metrics) != set(recorded["unavailable_metrics"]):
        drift.append(f"unavailable metrics {sorted(plan.unavailable_metrics) or 'none'} now, "
                     f"{sorted(recorded['unavailable_metrics']) or 'none'} then")
    if set(plan.unavailable_configs) != set(recorded["unavailable_configs"]):
        drift.append(f"unavailable configurations {sorted(plan.unavailable_configs) or 'none'} now, "
                     f"{sorted(recorded['unavailable_configs']) or 'none'} then")
    then = manifest.get("versions") if isinstance(manifest.get("versions"), dict) else {}
    now = environment_versions()
    changed = changed_releases(then, now)
    if drift or changed:
        restore = (["the backbones it used (`vfibench weights status`)"] if drift else []) + (
            [f"the versions it ran with (pip install {' '.join(f'{p}=={then[p]}' for p in changed)})"] if changed else [])
        found = drift + [f"{package} {now.get(package)} now, {then[package]} then" for package in changed]
        raise VfiBenchError(
            f"Cannot resume '{store.root}': the environment changed since the run started ({'; '.join(found)}), so "
            f"its remaining units would not be comparable with the finished ones. Restore {' and '.join(restore)}, "
            f"or start a new sweep."
        )
    plan.val_samples, plan.val_asked = recorded["val_samples"], recorded["val_asked"]
    plan.created = str(manifest.get("created", plan.created))
    data = manifest.get("data", {})
    plan.expected_data = {**{split: data[split].get("loaded") for split in ("train", "test")},
                          **{f"{split} fingerprint": data[split].get("fingerprint") for split in ("train", "test")},
                          **{f"{split} size": data[split]["size"] for split in ("train", "test")
                             if "size" in data[split]}}
    plan.fingerprints = data_fingerprints(plan)
    check_same_data(plan)  # the fingerprints now (--dry-run too); the triplet counts once the data is loaded
    plan.kept_provenance = {key: manifest.get(key) for key in KEPT_PROVENANCE}
    if not isinstance(manifest.get("executor"), dict):  # a run from before the record: this session's stands
        del plan.kept_provenance["executor"]
    if "tensorboard" not in manifest:  # a run from before the record: this session's folder stands at the top too
        del plan.kept_provenance["tensorboard"]
    previous = manifest.get("resumed")
    plan.resumed = [*(previous if isinstance(previous, list) else []),
                    {"command": command, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "device": str(plan.device),
                     "from_status": str(manifest.get("status")),
                     "git_commit": git_commit(Path(__file__).resolve().parent)}]
    return plan


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
