"""Score frames produced by any interpolation model against ground-truth frames on disk.

:func:`plan_evaluation` checks everything before any metric runs: the folders exist, every
ground-truth frame (PNG or JPEG, found recursively) has a prediction at the same relative path in
every prediction folder, the metrics and their backbones are available. :func:`run_evaluation`
then scores each predicted frame against its ground truth with the same
:class:`~vfibench.metrics.suite.MetricSuite` a sweep uses (8-bit frames, so the quantisation is
exact) and writes a run directory like a sweep's: ``per_sample.csv`` (one row per model and
file, with a ``file`` column), ``summary.csv`` / ``summary.md`` and ``manifest.json`` (kind
``"eval"``), which ``vfibench report`` reads like any run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vfibench.errors import DataError, VfiBenchError
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite
from vfibench.results import atomic
from vfibench.results.store import SAMPLE_KEYS, RunStore, environment_versions, git_commit
from vfibench.results.summary import summarise
from vfibench.results.tables import write_summary_files

#: File name endings (lower-case) read as frames.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: The ``kind`` of evaluated rows in per_sample.csv (sweeps use "trained" and "reference").
EVALUATED_KIND = "evaluated"


@dataclass
class EvalPlan:
    """A validated evaluation, ready to run."""

    sources: dict[str, Path]
    gt: Path
    files: list[str]
    metrics: list[str]
    unavailable_metrics: dict[str, str]
    device: torch.device
    out: Path
    command: str = ""
    backbone_hashes: dict[str, str] = field(default_factory=dict)


def parse_predictions(values: Sequence[str]) -> dict[str, Path]:
    """``--pred`` values → model name → folder. ``NAME=DIR`` names a model; a bare ``DIR`` is named
    after its folder. Names must be distinct."""
    if not values:
        raise VfiBenchError("Give at least one folder of predicted frames with --pred DIR (or --pred NAME=DIR, "
                            "repeated to compare several models).")
    sources: dict[str, Path] = {}
    for value in values:
        name, sep, directory = value.partition("=")
        if not sep or not name.strip() or os.sep in name or (os.altsep and os.altsep in name):
            # no usable NAME=: the whole value is a folder
            name, directory = "", value
        if not directory.strip():
            raise VfiBenchError(f"--pred '{value}' names no folder. Use --pred DIR or --pred NAME=DIR.")
        path = Path(directory).expanduser()
        name = name.strip() or path.resolve().name or str(path)
        if name in sources:
            raise VfiBenchError(f"Two --pred folders are both called '{name}' ({sources[name]} and {path}). Name "
                                f"them explicitly: --pred A={sources[name]} --pred B={path}.")
        sources[name] = path
    return sources


def list_frames(directory: Path, role: str) -> list[str]:
    """Every PNG/JPEG below ``directory`` as sorted POSIX paths relative to it."""
    if not directory.is_dir():
        raise DataError(f"The {role} folder '{directory}' does not exist or is not a folder. Give the folder that "
                        f"holds the frames (PNG or JPEG, found in subfolders too).")
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"The {role} folder '{directory}' holds no PNG or JPEG frames ({', '.join(IMAGE_SUFFIXES)}, "
                        f"searched recursively).")
    return files


def match_frames(gt: Path, sources: Mapping[str, Path]) -> list[str]:
    """The ground-truth frames, after checking every model folder has each at the same relative path."""
    files = list_frames(gt, "ground-truth")
    for name, directory in sources.items():
        present = set(list_frames(directory, f"prediction ('{name}')"))
        missing = [f for f in files if f not in present]
        if missing:
            shown = ", ".join(f"'{directory / f}'" for f in missing[:5]) + (", …" if len(missing) > 5 else "")
            raise DataError(
                f"The predicted frame {shown} is missing: model '{name}' lacks {len(missing)} of the {len(files)} "
                f"ground-truth frames. Predicted frames are matched to '{gt}' by their path relative to each folder "
                f"(same subfolders, same file name and extension); write a prediction for every ground-truth frame "
                f"or remove the unmatched ground truth."
            )
    return files


def read_frame(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB; a DataError naming the file when it cannot be decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as err:
        raise DataError(f"Cannot read the frame '{path}' as an image ({err}). Replace it with a valid PNG or JPEG "
                        f"file.") from None


def to_tensor(frame: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 → (1, 3, H, W) float64 in [0, 1] (exact 8-bit levels)."""
    return torch.from_numpy(frame).permute(2, 0, 1).unsqueeze(0).to(torch.float64) / 255.0


def plan_evaluation(predictions: Sequence[str] | Mapping[str, Path], gt: Path, *, out: Path,
                    metrics: Sequence[str] = DEFAULT_METRICS, skip_unavailable: bool = False,
                    device: str = "auto", command: str = "") -> EvalPlan:
    """Validate an evaluation completely before any frame is scored; raise a VfiBenchError otherwise.

    Args:
        predictions: ``--pred`` values (``DIR`` or ``NAME=DIR``) or a name → folder mapping.
        gt: the ground-truth folder.
        out: where the run directory is created.
        metrics: metric names; a missing backbone stops here with its fix unless ``skip_unavailable``.
        skip_unavailable: mark metrics whose backbone is missing "unavailable" instead of stopping.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        command: the command line, recorded in the manifest.
    """
    from vfibench import backbones
    from vfibench.results.atomic import check_writable_folder
    from vfibench.sweep import resolve_device

    sources = dict(predictions) if isinstance(predictions, Mapping) else parse_predictions(predictions)
    sources = {str(k): Path(v) for k, v in sources.items()}
    files = match_frames(gt, sources)
    check_writable_folder(Path(out), "--out")
    resolved = resolve_device(device)
    suite = MetricSuite(list(metrics), device=resolved, skip_unavailable=skip_unavailable)
    hashes = {name: backbones.locate(name).sha256 or "" for name in sorted(MetricSuite.required_backbones(suite.names))}
    return EvalPlan(sources, gt, files, list(suite.names), dict(suite.unavailable), resolved, out, command, hashes)


def manifest_for(plan: EvalPlan, store: RunStore, status: str, timings: Mapping[str, float],
                 suite: MetricSuite | None = None) -> dict[str, Any]:
    """Everything needed to trace an evaluation's numbers back to how they were made."""
    from vfibench.metrics.registry import metric_info

    return {
        "tool": "vfibench",
        "kind": "eval",
        "run": store.name,
        "status": status,
        "command": plan.command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "gt_dir": str(plan.gt.resolve()),
        "sources": {name: str(path.resolve()) for name, path in plan.sources.items()},
        "files": plan.files,
        "order": list(plan.sources),
        "seeds": [0],
        "metrics": [{"name": m, "label": metric_info(m).label, "higher_is_better": metric_info(m).higher_is_better,
                     "description": metric_info(m).description} for m in plan.metrics],
        "unavailable_metrics": plan.unavailable_metrics,
        "evaluation": ("frames read as 8-bit RGB (PNG/JPEG), matched by relative path; every metric on the exact "
                       "8-bit levels scaled to [0, 1]; PSNR and SSIM per frame, then averaged"),
        "reference_weights": suite.reference_weights if suite is not None else None,
        "backbones": plan.backbone_hashes,
        "device": str(plan.device) + (f" ({torch.cuda.get_device_name(plan.device)})"
                                      if plan.device.type == "cuda" else ""),
        "versions": environment_versions(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "timings_seconds": dict(timings),
    }


def score_frames(plan: EvalPlan, suite: MetricSuite,
                 on_file: Callable[[int, str], None] | None = None) -> pd.DataFrame:
    """Per-sample scores of every model on every file: columns config, kind, seed, sample, file, metrics."""
    rows: list[dict[str, Any]] = []
    for sample, name in enumerate(plan.files):
        truth = read_frame(plan.gt / name)
        for config, directory in plan.sources.items():
            path = directory / name
            predicted = read_frame(path)
            if predicted.shape != truth.shape:
                raise DataError(
                    f"The predicted frame '{path}' is {predicted.shape[1]}×{predicted.shape[0]} pixels but its ground "
                    f"truth '{plan.gt / name}' is {truth.shape[1]}×{truth.shape[0]}. Predictions must have the "
                    f"ground truth's size; write them at full resolution (no crop or resize)."
                )
            try:
                scores = suite(to_tensor(predicted), to_tensor(truth))
            except VfiBenchError as err:
                raise DataError(f"Cannot score the predicted frame '{path}': {err}") from None
            rows.append({"config": config, "kind": EVALUATED_KIND, "seed": 0, "sample": sample, "file": name,
                         **{m: float(v[0]) for m, v in scores.items()}})
        if on_file is not None:
            on_file(sample, name)
    frame = pd.DataFrame(rows, columns=[*SAMPLE_KEYS, "file", *suite.names])
    for metric in plan.unavailable_metrics:
        frame[metric] = float("nan")
    return frame


def run_evaluation(plan: EvalPlan, on_file: Callable[[int, str], None] | None = None) -> RunStore:
    """Score every file and write the run directory (manifest last, then ``<out>/latest``)."""
    started = time.perf_counter()
    suite = MetricSuite(plan.metrics, device=plan.device)
    store = RunStore.create(plan.out)
    store.write_manifest(manifest_for(plan, store, "running", {}, suite))
    per_sample = score_frames(plan, suite, on_file)
    metrics = plan.metrics + list(plan.unavailable_metrics)
    atomic.write_csv(store.path("per_sample.csv"), per_sample)
    summary = summarise(per_sample, metrics, list(plan.sources))
    write_summary_files(store, summary, metrics, plan.unavailable_metrics)
    timings = {"total": round(time.perf_counter() - started, 3)}
    store.write_manifest(manifest_for(plan, store, "complete", timings, suite))
    store.mark_latest()
    return store
