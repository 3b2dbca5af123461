"""The manifest of a sweep: :func:`manifest_for` writes a plan's settings into it and
:func:`recorded_settings` reads them back for a resume, so the two stay each other's inverse."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from vfibench import backbones
from vfibench.data.sources import SYNTHETIC, content_overlap, describe_sources
from vfibench.errors import ResultsError, SpecError, VfiBenchError
from vfibench.losses.spec import parse_config
from vfibench.model.variants import variant_record
from vfibench.presets import DEFAULT_PRECISION, PRECISION_NOTES, SCORED_IN_FP32, RunPreset, preset_from_dict
from vfibench.provenance import metric_records, provenance
from vfibench.references import REFERENCES
from vfibench.results import schema
from vfibench.results.store import RunStore
from vfibench.sweep.data import split_options
from vfibench.sweep.unit import WARM_START_SPEC

if TYPE_CHECKING:
    from vfibench.sweep.plan import SweepPlan


def model_parameters(preset: RunPreset) -> int:
    """Trainable parameters of the preset's interpolator."""
    from vfibench.model.interpolator import build_interpolator, count_parameters

    return count_parameters(build_interpolator(width=preset.width, variant=preset.model))


def _config_outcomes(store: RunStore) -> dict[str, str]:
    """Each configuration's status in the run's summary.csv (complete, partial, diverged, failed, missing), once
    the sweep has written it; {} before."""
    try:
        return {row.config: row.status for row in schema.read_summary(store.path(schema.SUMMARY_FILE)).rows}
    except ResultsError:
        return {}


def manifest_for(plan: SweepPlan, store: RunStore, status: str, timings: dict[str, float]) -> dict[str, Any]:
    """Everything needed to trace a number in this run back to how it was made (read back by
    :func:`recorded_settings`)."""
    train, test = split_options(plan)
    outcomes = _config_outcomes(store) if status != schema.RUNNING else {}
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
             "status": schema.UNAVAILABLE if c.canonical in plan.unavailable_configs
             else outcomes.get(c.canonical, schema.PLANNED),
             "reason": plan.unavailable_configs.get(c.canonical, "")}
            for c in plan.configs
        ],
        "references": list(REFERENCES),
        "order": plan.order,
        "seeds": plan.seeds,
        "preset": plan.preset.to_dict(),
        "validation": {"samples": plan.val_samples,
                       "asked": plan.val_samples if plan.val_asked is None else plan.val_asked,
                       "every": plan.preset.log_every, "metrics":
                       [m for m in schema.HELD_OUT_METRICS if m in plan.metrics] if plan.val_samples else [],
                       "subset": f"the first {plan.val_samples} test scenes" if plan.val_samples else "none"},
        "warm_start": {"steps": plan.warm_start, "loss": WARM_START_SPEC if plan.warm_start else None,
                       "note": ("every configuration trains its first steps with plain l1, computed once per "
                                "seed and shared") if plan.warm_start else "none"},
        "precision": {"training": plan.precision,
                      "note": f"{PRECISION_NOTES[plan.precision]}; {SCORED_IN_FP32}"},
        "data": {"train": {"dataset": plan.train_data, "split": "train", "count": train["count"],
                           "loaded": plan.loaded.get("train"), "size": train["size"], "seed": plan.data_seed,
                           **_fingerprint(plan, "train")},
                 "test": {"dataset": plan.test_data, "split": "test", "count": test["count"],
                          "loaded": plan.loaded.get("test"), "size": test["size"], "seed": plan.data_seed,
                          **_fingerprint(plan, "test")},
                 # the synthetic scenes' settings as the test data was made (the per-sample attributes'), and
                 # the training data's where its spec sets others
                 "max_motion": test["max_motion"],
                 "ambiguity": test["ambiguity"],
                 **({"train_max_motion": train["max_motion"], "train_ambiguity": train["ambiguity"]}
                    if (train["max_motion"], train["ambiguity"]) != (test["max_motion"], test["ambiguity"])
                    else {}),
                 "attributes": {**schema.ATTRIBUTE_MEANINGS,
                                "known": f"synthetic data: all three exactly; real data: {schema.MOTION} estimated, "
                                         f"the others empty"},
                 "note": describe_sources(plan.train_data, plan.test_data),
                 # tested on content it trained on: the clause that says so (reports show it), else false
                 "same_source": content_overlap(plan.train_data, plan.test_data) or False},
        "model": {**variant_record(plan.preset.model), "width": plan.preset.width,
                  "parameters": model_parameters(plan.preset)},
        "metrics": metric_records(plan.metrics),
        "unavailable_metrics": plan.unavailable_metrics,
        "evaluation": ("predictions clamped to [0, 1], then predictions and ground truth quantised to 8 bits "
                       "(round(x*255)/255), as saved frames would be, before every metric; every metric per "
                       "frame, then averaged"),
        "executor": plan.executor,
        # the first session's (of a run recorded before the entry: the first resume's); each later one's is in
        # "resumed"
        "tensorboard": tensorboard_folder(plan),
        **provenance(plan.device, plan.backbone_hashes, timings,
                     all(backbones.is_reference(name, sha) for name, sha in plan.backbone_hashes.items()),
                     device_here=plan.device_here),
        **plan.kept_provenance,  # a resumed run keeps its first session's; each later one's is in "resumed"
    }


def tensorboard_folder(plan: SweepPlan) -> str | None:
    """Where this session logs each unit for TensorBoard (``--tensorboard``), as an absolute path; None: nowhere."""
    return None if plan.tensorboard is None else os.path.abspath(plan.tensorboard)


def _fingerprint(plan: SweepPlan, split: str) -> dict[str, str]:
    """``{"fingerprint": …}`` for a split of real data (:func:`~vfibench.sweep.data.data_fingerprint`)."""
    value = plan.fingerprints.get(split)
    return {"fingerprint": value} if value else {}


def recorded_settings(manifest: dict[str, Any], where: str) -> dict[str, Any]:
    """The settings a sweep's manifest records (what :func:`manifest_for` wrote), validated; a
    ResultsError names what is missing or wrong. Runs recorded before a setting existed get its
    default (fp32 precision)."""
    kind = schema.run_kind(manifest)
    if kind != schema.SWEEP:
        command = manifest.get("command")
        again = f"run its command again: `{command}`" if command else "run it again"
        raise ResultsError(
            f"Cannot resume from {where}: it records {schema.RUN_NAMES.get(kind, repr(kind))}, not a sweep. Only "
            f"sweeps are resumed, unit by unit; to redo an evaluation, {again}."
        )
    try:
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
            "unavailable_configs": {str(e["config"]) for e in manifest["configs"]
                                    if e.get("status") == schema.UNAVAILABLE},
            "backbones": dict(manifest["backbones"]),
            "device": str(manifest["device"]).split(" (")[0],
            "precision": str(manifest.get("precision", {}).get("training", DEFAULT_PRECISION)),
            # the held-out scenes actually scored (the option, capped at the test set's size); none before
            # runs recorded it
            "val_samples": int(manifest.get("validation", {}).get("samples", 0)),
        }
        recorded["val_asked"] = int(manifest.get("validation", {}).get("asked", recorded["val_samples"]))
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
        try:
            canonical = parse_config(config).canonical
        except SpecError as err:
            raise ResultsError(
                f"Cannot resume from {where}: its configuration '{config}' is no longer accepted ({err}); the loss "
                f"catalog or its rules changed since the run started. Start a new sweep."
            ) from None
        if canonical != config:
            raise ResultsError(
                f"Cannot resume from {where}: its configuration '{config}' now reads as '{canonical}' (the loss "
                f"catalog changed since the run started). Start a new sweep."
            )
    return recorded
