"""The run-level tables of a sweep, gathered from its finished units.

A sweep's results live in its units (``units/<unit>/``); :func:`gather` derives the run's
``per_sample.csv``, ``train_log.csv`` and ``summary.csv`` / ``summary.md`` from whatever units have
finished, in the plan's order, so the tables are the same whichever executor ran the units and in
whatever order they finished. :func:`rebuild_tables` restores a lost table from the units.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import torch

from vfibench.losses.spec import parse_sweep
from vfibench.results import atomic, schema
from vfibench.results.schema import LOG_KEYS, SAMPLE_KEYS
from vfibench.results.store import MANIFEST, RunStore, UnitKey
from vfibench.results.summary import summarise
from vfibench.results.tables import run_facts, write_summary_files
from vfibench.results.view import run_title
from vfibench.sweep.manifest import recorded_settings
from vfibench.sweep.plan import SweepPlan
from vfibench.train import STATE_NOT_FINITE


def stacked(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The units' tables one under another, or an empty table of ``columns`` when no unit has a row.
    A table without rows (a unit that failed before its first) is left out: it adds nothing, but its
    object columns drew a FutureWarning from pandas 2.1 to 2.x and, from pandas 3, made the run's
    integer columns (``step``) object columns."""
    kept = [frame for frame in frames if not frame.empty]
    return pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=columns)


def gather(store: RunStore, plan: SweepPlan) -> None:
    """Rewrite the run-level tables from the finished units (atomically, in the plan's order)."""
    samples, logs, status = [], [], dict.fromkeys(plan.unavailable_configs, schema.UNAVAILABLE)
    reasons: dict[str, list[str]] = {name: [reason] for name, reason in plan.unavailable_configs.items()}
    finished: dict[str, int] = {}
    for seed in plan.seeds:
        for config, kind in plan.kinds.items():
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
                frame = store.read_unit_table(key, table, info)
                if frame is not None:
                    into.append(frame)
    for config, count in finished.items():
        if count < len(plan.seeds) and config not in status:
            status[config] = schema.PARTIAL
            reasons.setdefault(config, []).append(f"{count} of {len(plan.seeds)} seeds finished; "
                                                   f"resume the run to complete it")
    metrics = plan.metrics + list(plan.unavailable_metrics)
    per_sample = stacked(samples, [*SAMPLE_KEYS, *metrics])
    train_log = stacked(logs, list(LOG_KEYS))
    atomic.write_csv(store.path(schema.PER_SAMPLE_FILE), per_sample)
    atomic.write_csv(store.path(schema.TRAIN_LOG_FILE), train_log)
    summary = summarise(per_sample, metrics, plan.kinds, status)
    why = ["; ".join(reasons.get(config, [])) for config in summary[schema.CONFIG]]
    summary.insert(schema.REASON_POSITION, schema.REASON, why)
    manifest = store.read_manifest()
    write_summary_files(store, summary, metrics, plan.unavailable_metrics, title=run_title(store.name, manifest),
                        run_notes=run_facts(manifest))


def rebuild_tables(store: RunStore) -> list[str]:
    """Rewrite a sweep's derived tables from its units when any is missing; return those that were missing.

    The units hold every result, so a lost ``summary.csv`` (or any other gathered table) is rebuilt
    exactly as :func:`gather` wrote it. Runs of another kind are left alone.
    """
    missing = store.missing_derived_tables()
    if not missing:
        return []
    manifest = store.read_manifest()
    where = f"the manifest '{store.path(MANIFEST)}'"
    recorded = recorded_settings(manifest, where)
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
    """``"at step 7 of 12 (seed 0), last finite loss 0.0123"`` from a diverged unit's record, or, when
    the loss stayed finite but Adam's state did not, ``"at step 1 of 12 (seed 0), loss 2.4e+34: Adam's…"``."""
    last = info.get("last_finite_loss")
    finite = isinstance(last, (int, float)) and math.isfinite(last)
    where = f"at step {info.get('diverged_at')} of {info.get('steps')} (seed {info.get('seed')})"
    if info.get("divergence") == STATE_NOT_FINITE and finite:
        return f"{where}, loss {last:.6g}: {STATE_NOT_FINITE}"
    return f"{where}, {f'last finite loss {last:.6g}' if finite else 'no finite loss before it'}"
