"""Score frames produced by any interpolation model against ground-truth frames on disk.

An evaluation is planned first: :func:`~vfibench.eval_plan.plan_evaluation` checks everything before
any metric runs. :func:`run_evaluation` then scores each predicted frame against its ground truth
with the same :class:`~vfibench.metrics.suite.MetricSuite` a sweep uses (8-bit frames, so the
quantisation is exact) and writes a run directory like a sweep's: ``per_sample.csv`` (one row per
model and file, with a ``file`` column), ``summary.csv`` / ``summary.md`` and ``manifest.json``
(kind ``"eval"``), which ``vfibench report`` reads like any run. The manifest records what identifies
each frame scored (:data:`~vfibench.results.frames.DIGESTS`: a digest of each file's bytes, taken from
the bytes decoded), so that a report shows a frame beside its scores only if it is still that frame.

The ground truth may also be a dataset spec (``--gt ucf101:PATH``, any spec of
:mod:`vfibench.data.sources`): predictions are then matched by the set's sample ids
(``DIR/<id>.png``), the metrics that need the input frames (``flolpips-dis``, ``psnr-div``) can
run, and ``per_sample.csv`` records each sample's motion (``motion_px``: the 99th percentile of the DIS
flow magnitude I0 → I1, as a sweep on real data records it), so the report breaks the gap down by motion.
With ``protocols``, PSNR and SSIM are also computed under each named protocol
(:mod:`vfibench.metrics.protocols`) into ``protocols.csv``; the report shows them side by side with
the spread per model (:func:`vfibench.results.report_tables.protocol_table`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vfibench.errors import DataError, StoppedBySignal, VfiBenchError
from vfibench.eval_plan import EvalPlan
from vfibench.metrics.suite import MetricSuite
from vfibench.results import atomic, schema
from vfibench.results.frames import DIGESTS, DIGESTS_NOTE, frame_digest, levels_digest, to_levels
from vfibench.results.schema import SAMPLE_KEYS
from vfibench.results.store import RunStore
from vfibench.results.summary import summarise
from vfibench.results.tables import write_summary_files
from vfibench.words import join_words

#: The ``kind`` of evaluated rows in per_sample.csv (:data:`vfibench.results.schema.KINDS`).
EVALUATED_KIND = schema.EVALUATED


def read_frame(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB, what the metrics score; a DataError naming the file when it
    cannot be decoded. 8-bit files are taken as they are; 16-bit greyscale and colour are rounded to
    the nearest of 256 levels (:func:`~vfibench.data.images.image_array` or
    :func:`~vfibench.data.images.wide_colour_array`, then ``round(255 · v)``)."""
    return read_scored_frame(path)[0]


def read_scored_frame(path: Path) -> tuple[np.ndarray, str]:
    """:func:`read_frame` of ``path`` and the :func:`~vfibench.results.frames.frame_digest` of the bytes
    decoded (the file is read once)."""
    from PIL import Image, UnidentifiedImageError

    from vfibench.data.images import WIDE_GREY_MODES, image_array, is_wide_colour, wide_colour_array

    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            if is_wide_colour(image):
                return np.round(wide_colour_array(path, data) * 255.0).astype(np.uint8), frame_digest(data)
            if image.mode in WIDE_GREY_MODES or image.mode == "F":  # image_array refuses float pixels
                return np.round(image_array(image) * 255.0).astype(np.uint8), frame_digest(data)
            return np.asarray(image.convert("RGB"), dtype=np.uint8).copy(), frame_digest(data)
    except PermissionError:
        raise DataError(f"Cannot read the frame '{path}': permission denied. Make it readable (e.g. chmod u+r "
                        f"'{path}'), or move it out of the folder.") from None
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as err:
        raise DataError(f"Cannot read the frame '{path}' as an image ({err}). Replace it with a valid PNG or JPEG "
                        f"file.") from None


def holds_wide_levels(path: Path) -> bool:
    """Whether the image file ``path`` has more than 8 bits per channel (16-bit PNG or TIFF, float
    TIFF), from its header; False when it cannot be opened (scoring names such a file)."""
    from PIL import Image, UnidentifiedImageError

    from vfibench.data.images import WIDE_GREY_MODES, is_wide_colour

    try:
        with Image.open(path) as image:
            return is_wide_colour(image) or image.mode in WIDE_GREY_MODES or image.mode == "F"
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
        return False


def is_grey(frame: np.ndarray) -> bool:
    """Whether an (H, W, 3) frame holds no colour: its three channels are equal everywhere."""
    return bool(np.array_equal(frame[..., 0], frame[..., 1]) and np.array_equal(frame[..., 1], frame[..., 2]))


#: EXIF orientations that turn an image by 90° (transposed, rotated 90° or 270°): upright, its sides swap.
TURNING_ORIENTATIONS = (5, 6, 7, 8)


def _turned_by_exif(files: Mapping[str, str | Path], sizes: Sequence[tuple[int, ...]]) -> str:
    """Why two frames whose sides are swapped (``sizes``: their shapes) differ, when one of ``files``
    (role → file) carries an EXIF orientation that turns it by 90°: vfibench reads frames as stored, while
    readers such as ``cv2.imread`` turn them upright. "" otherwise."""
    from PIL import Image

    first, second = sizes
    if first[:2] != second[1::-1]:
        return ""
    for role, file in files.items():
        try:
            with Image.open(file) as image:
                orientation = image.getexif().get(0x0112, 1)
        except (OSError, ValueError):
            continue
        if orientation in TURNING_ORIENTATIONS:
            return (f"The {role} carries EXIF orientation {orientation} (turned by 90°), which vfibench ignores: "
                    f"frames are scored as stored, while readers such as cv2.imread turn them upright first. "
                    f"Save both frames as stored, or both upright.")
    return ""


def is_greyscale_save(prediction: np.ndarray, truth: np.ndarray) -> bool:
    """Whether a prediction looks saved in greyscale: no colour where its ground truth has some, yet not a
    single flat level (a black, white or grey frame is a model's output to score, as on a fade)."""
    return is_grey(prediction) and not is_grey(truth) and bool((prediction != prediction.flat[0]).any())


def manifest_for(plan: EvalPlan, store: RunStore, status: str, timings: Mapping[str, float],
                 suite: MetricSuite | None = None, digests: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to trace an evaluation's numbers back to how they were made; ``digests``: what
    identifies each frame scored (:func:`frame_record`), once scored."""
    from vfibench.provenance import metric_records, provenance

    return {
        "tool": "vfibench",
        "kind": schema.EVALUATION,
        "run": store.name,
        "status": status,
        "command": plan.command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "gt_dir": str(plan.gt.resolve()),
        "gt_spec": plan.gt_spec,
        "test_time_handling": _handling(plan),
        "protocols": plan.protocols,
        "sources": {name: str(path.resolve()) for name, path in plan.sources.items()},
        "files": plan.files,
        "order": list(plan.sources),
        "seeds": [0],
        "metrics": metric_records(plan.metrics),
        "unavailable_metrics": plan.unavailable_metrics,
        "evaluation": ("frames read as 8-bit RGB (PNG/JPEG), matched by "
                       + ("the set's sample ids (<id>.png)" if plan.gt_spec else "relative path")
                       + "; every metric on the exact 8-bit levels scaled to [0, 1]; PSNR and SSIM per frame, "
                         "then averaged"),
        **provenance(plan.device, plan.backbone_hashes, timings,
                     suite.reference_weights if suite is not None else None),
        **({DIGESTS: dict(digests)} if digests else {}),
    }


def frame_record(plan: EvalPlan, read: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """:data:`~vfibench.results.frames.DIGESTS` of an evaluation from the digests taken as each sample was
    read (``read``: per sample, ``{"sample": k, "gt": digest, "sources": {model: digest}}``, in any order)."""
    by_sample = sorted(read, key=lambda entry: int(entry["sample"]))
    return {"note": DIGESTS_NOTE, "gt": [entry["gt"] for entry in by_sample],
            "sources": {config: [entry["sources"][config] for entry in by_sample] for config in plan.sources}}


def _handling(plan: EvalPlan) -> str:
    if plan.gt_spec is None:
        return "frames scored as written, at the ground truth's size"
    from vfibench.data.sources import parse_dataset_spec
    from vfibench.data.standard_sets import native_frames

    return (f"ground truth read from {plan.gt_spec}: {native_frames(parse_dataset_spec(plan.gt_spec).kind)}; "
            f"predictions made elsewhere, scored as written at the ground truth's size")


#: One sample's ground truth before decoding: (sample, id, where, truth uint8 or its file, (I0, I1) uint8 or None).
GroundTruth = tuple[int, str, str, np.ndarray | Path, tuple[np.ndarray, np.ndarray] | None]
#: One sample read: (sample, id, truth uint8, (I0, I1) uint8 or None, model → (file, prediction uint8), digests
#: (:func:`frame_record`'s entry of the sample)).
Sample = tuple[int, str, np.ndarray, tuple[np.ndarray, np.ndarray] | None, dict[str, tuple[Path, np.ndarray]],
               dict[str, Any]]


def _ground_truth(plan: EvalPlan) -> Iterator[GroundTruth]:
    """(sample, id, where, truth, (I0, I1) uint8 or None) for every file, in order. The truth is its
    uint8 frame, or, in a folder of frames, its file (decoded by :func:`read_sample`, where the
    predictions are, so that readers in parallel decode both)."""
    if plan.gt_spec is None:
        for sample, name in enumerate(plan.files):
            yield sample, name, str(plan.gt / name), plan.gt / name, None
        return
    from vfibench.data.sources import open_source
    from vfibench.data.triplet_source import check_triplet

    source = open_source(plan.gt_spec, "test")
    order = {ref.name: k for k, ref in enumerate(source.refs)}
    indices = [order[name] for name in plan.files]
    for sample, (index, (i0, it, i1)) in enumerate(source.read(indices)):
        if index != indices[sample]:  # sources read in index order: the plan must list its files in that order
            raise RuntimeError(f"ground truth {source.refs[index].name} read for the sample {plan.files[sample]}")
        check_triplet(source.refs[index], (i0, it, i1))  # a damaged set is named as such, not blamed on a prediction
        eight = [to_levels(x) for x in (i0, it, i1)]
        yield sample, plan.files[sample], source.refs[index].frames[1], eight[1], (eight[0], eight[2])


@dataclass
class FrameBatch:
    """Consecutive samples of one frame size, decoded: the ground truth, the input frames (a dataset
    spec), and every model's predictions, as (B, 3, H, W) float64 tensors of exact 8-bit levels."""

    samples: list[int]
    names: list[str]
    gt: torch.Tensor
    inputs: tuple[torch.Tensor, torch.Tensor] | None
    preds: dict[str, torch.Tensor]
    paths: dict[str, list[Path]]
    #: Per sample, what identifies the frames read (:func:`frame_record`'s entries).
    digests: list[dict[str, Any]]


def _stack(frames: Sequence[np.ndarray]) -> torch.Tensor:
    """(H, W, 3) uint8 frames → contiguous (B, 3, H, W) float64 in [0, 1], exact 8-bit levels k / 255
    (transposed while still 8-bit, the cheap way round)."""
    levels = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()
    return levels.to(torch.float64).div_(255.0)


#: Pixels (frames × height × width) read and scored as one batch at most: with several models, the
#: batch's prepared ground truth (DISTS keeps 56 MB per 448×256 frame) is held while they are scored.
BATCH_PIXELS = 1 << 20


def batch_pixels(device: torch.device | str, lanes: int) -> int:
    """Pixels of one batch scored on ``device`` when ``lanes`` batches are scored at once: on a CPU
    :data:`BATCH_PIXELS` for up to two lanes, less beyond, so the frames and prepared features in
    flight stay about the same whatever the number of cores; on an accelerator one device chunk
    (:data:`~vfibench.metrics.suite.GPU_CHUNK_PIXELS`), each batch then a single round of kernels."""
    from vfibench.metrics._common import scores_in_device_chunks
    from vfibench.metrics.suite import GPU_CHUNK_PIXELS

    if scores_in_device_chunks(device):
        return GPU_CHUNK_PIXELS
    return BATCH_PIXELS * min(2, lanes) // max(1, lanes)


def read_sample(plan: EvalPlan, truth: GroundTruth) -> Sample:
    """One sample's ground truth and predictions, decoded, each prediction checked against its
    ground truth (a DataError naming both files where the sizes differ or only the prediction is
    greyscale), with the digests that identify them: of each file's bytes, or of a dataset's I0, It and I1
    as scored."""
    sample, name, where, frame, inputs = truth
    if isinstance(frame, Path):
        frame, truth_digest = read_scored_frame(frame)
    else:
        truth_digest = levels_digest([inputs[0], frame, inputs[1]] if inputs is not None else [frame])
    digests: dict[str, Any] = {"sample": sample, "gt": truth_digest, "sources": {}}
    predicted: dict[str, tuple[Path, np.ndarray]] = {}
    for config, directory in plan.sources.items():
        path = directory / (plan.pred_files[config][name] if plan.pred_files else name)
        prediction, digests["sources"][config] = read_scored_frame(path)
        if prediction.shape != frame.shape:
            turned = _turned_by_exif({"ground truth": where, "prediction": path}, (prediction.shape, frame.shape))
            raise DataError(
                f"The predicted frame '{path}' is {prediction.shape[1]}×{prediction.shape[0]} pixels but its ground "
                f"truth '{where}' is {frame.shape[1]}×{frame.shape[0]}. "
                + (turned or "Predictions must have the ground truth's size; write them at full resolution (no crop "
                             "or resize).")
            )
        if is_greyscale_save(prediction, frame):
            raise DataError(
                f"The predicted frame '{path}' is greyscale (its three channels are equal) but its ground truth "
                f"'{where}' is in colour: scored as it is, every metric would measure the missing colour, not "
                f"the interpolation. Write the model's output in colour (RGB), as the ground truth is."
            )
        predicted[config] = (path, prediction)
    return sample, name, frame, inputs, predicted, digests


def read_batches(plan: EvalPlan, batch_size: int, pixels: int = BATCH_PIXELS, readers: int = 1) -> Iterator[FrameBatch]:
    """The evaluation's frames in batches of consecutive samples of one size — at most ``batch_size``
    frames and, beyond the first, ``pixels`` pixels — each sample read by :func:`read_sample`,
    ``readers`` samples at once (:func:`vfibench.lanes.ordered_map`; the batches are the same)."""
    from vfibench.lanes import ordered_map

    pending: list[Sample] = []

    def flush() -> FrameBatch:
        batch = FrameBatch(
            samples=[item[0] for item in pending], names=[item[1] for item in pending],
            gt=_stack([item[2] for item in pending]),
            inputs=(_stack([item[3][0] for item in pending]), _stack([item[3][1] for item in pending]))  # type: ignore[index]
            if pending[0][3] is not None else None,
            preds={config: _stack([item[4][config][1] for item in pending]) for config in plan.sources},
            paths={config: [item[4][config][0] for item in pending] for config in plan.sources},
            digests=[item[5] for item in pending])
        pending.clear()
        return batch

    for item in ordered_map(functools.partial(read_sample, plan), _ground_truth(plan), readers):
        truth = item[2]
        if pending and (len(pending) >= batch_size or pending[0][2].shape != truth.shape
                        or (len(pending) + 1) * truth.shape[0] * truth.shape[1] > pixels):
            yield flush()
        pending.append(item)
    if pending:
        yield flush()


BatchScores = tuple[FrameBatch, dict[str, dict[str, torch.Tensor]],
                    dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]], list[float]]


def _score_batch(plan: EvalPlan, suite: MetricSuite, batch: FrameBatch,
                 extras: dict[str, list[dict[str, Any]]] | None) -> BatchScores:
    """One batch scored: (the batch, model → metric → per-frame scores, model → protocol → (PSNR,
    SSIM), each sample's motion where the input frames are known). With several models the ground
    truth is prepared once and shared."""
    from vfibench.metrics.classical_flow import largest_motion
    from vfibench.metrics.protocols import protocol_scores

    motion = largest_motion(*batch.inputs).tolist() if batch.inputs is not None else []
    scores: dict[str, dict[str, torch.Tensor]] = {}
    protocols: dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {}
    reference = None
    for config in plan.sources:
        try:
            if reference is None and len(plan.sources) > 1:
                reference = suite.prepare(batch.gt, batch.inputs, device=suite.device)
            scores[config] = (suite(batch.preds[config], reference=reference) if reference is not None
                              else suite(batch.preds[config], batch.gt, inputs=batch.inputs))
            if extras is not None and plan.protocols:
                protocols[config] = protocol_scores(batch.preds[config], batch.gt, plan.protocols)
        except VfiBenchError as err:
            raise DataError(f"Cannot score the predicted frame '{batch.paths[config][0]}': {err}") from None
        except torch.cuda.OutOfMemoryError:
            raise out_of_memory(suite, batch.gt.shape) from None
    return batch, scores, protocols, motion


def out_of_memory(suite: MetricSuite, shape: Sequence[int]) -> VfiBenchError:
    """The error for a GPU that ran out of memory scoring a batch of frames of ``shape`` (N, C, H, W)."""
    frames, _, height, width = shape
    deep = [name for name in suite.names if MetricSuite.required_backbones([name])]
    lighter = f", or score {join_words(deep)} each in a call of its own (--metrics)" if len(deep) > 1 else ""
    return VfiBenchError(
        f"The GPU ({suite.device}) ran out of memory scoring {frames} frame{'s' if frames != 1 else ''} of "
        f"{width}×{height} with {', '.join(suite.names)}. Free the GPU of other work{lighter}, or score on "
        f"the CPU with --device cpu (slower, with the same values).")


def score_frames(plan: EvalPlan, suite: MetricSuite, on_file: Callable[[int, str], None] | None = None,
                 extras: dict[str, list[dict[str, Any]]] | None = None) -> pd.DataFrame:
    """Per-sample scores of every model on every file: columns config, kind, seed, sample, file, metrics.

    Frames are scored in batches (:func:`read_batches`); on a CPU several batches at once, one per
    core, each in its own lane with one intra-op thread (:func:`vfibench.lanes.map_in_lanes`), the
    next batch read while the others are scored; on an accelerator one batch at a time, as large
    as a device chunk (:data:`~vfibench.metrics.suite.GPU_CHUNK_PIXELS`), its files decoded by
    several reader threads (:func:`vfibench.lanes.reader_threads`) while the device scores the
    batch before (the predictions, and a folder's ground truth; a dataset's triplets are read in
    the order its source reads them). With several models, each batch's ground truth
    is prepared once (:meth:`~vfibench.metrics.suite.MetricSuite.prepare`: its backbone features,
    SSIM moments, …) and every model's predictions are scored against it. Scores are those of
    scoring each frame alone: batching changes no float64 metric, and a backbone's at most by float32
    rounding (oneDNN may pick another kernel for a batch of one small frame). A batch is scored by
    one thread from start to end, so its scores do not depend on which lane took it.

    With a dataset spec as ground truth the table also has each sample's motion (:data:`schema.MOTION`,
    :func:`~vfibench.metrics.classical_flow.largest_motion` of its input frames). ``extras``, if given,
    receives the rows of ``protocols`` (one per model, file and protocol) and, where it has the key
    ``digests``, each sample's digests (:func:`frame_record`'s entries)."""
    from vfibench.lanes import cpu_lanes, map_in_lanes, reader_threads

    rows: list[dict[str, Any]] = []
    lanes = cpu_lanes(suite.device)
    batches = read_batches(plan, suite.batch_size, batch_pixels(suite.device, lanes), reader_threads(suite.device))
    scored = map_in_lanes(batches, lambda batch: _score_batch(plan, suite, batch, extras), lanes,
                          lowest_priority=suite.device.type == "cpu")
    motion_by_sample: dict[int, float] = {}
    for batch, scores, protocols, motion in scored:
        motion_by_sample.update(zip(batch.samples, motion))
        if extras is not None and DIGESTS in extras:
            extras[DIGESTS] += batch.digests
        for k, (sample, name) in enumerate(zip(batch.samples, batch.names)):
            for config in plan.sources:
                for protocol, pair in protocols.get(config, {}).items():  # (PSNR, SSIM) per frame
                    scored_k = dict(zip(schema.PROTOCOL_SCORES, (float(values[k]) for values in pair)))
                    extras["protocols"].append({schema.CONFIG: config, schema.SAMPLE: sample, schema.FILE: name,  # type: ignore[index]
                                                schema.PROTOCOL: protocol, **scored_k})
                rows.append({schema.CONFIG: config, schema.KIND: EVALUATED_KIND, schema.SEED: 0, schema.SAMPLE: sample,
                             schema.FILE: name,
                             **{m: float(v[k]) for m, v in scores[config].items()}})
            if on_file is not None:
                on_file(sample, name)
    frame = pd.DataFrame(rows, columns=[*SAMPLE_KEYS, *schema.SAMPLE_LABELS, *suite.names])
    for metric in plan.unavailable_metrics:
        frame[metric] = float("nan")
    if motion_by_sample:
        frame[schema.MOTION] = frame[schema.SAMPLE].map(motion_by_sample)
    return frame


def run_evaluation(plan: EvalPlan, on_file: Callable[[int, str], None] | None = None) -> RunStore:
    """Score every file and write the run directory (manifest last, then ``<out>/latest``).

    An evaluation that stops while scoring (a frame that cannot be read, an interrupt) has no
    results and cannot be resumed: its directory is removed, so no run is left saying it is
    running. One that fails while writing its tables keeps them, its manifest saying ``failed``
    (or ``interrupted``, for a KeyboardInterrupt) and why. Inside :func:`~vfibench.sweep.interruption.stop_on_signals`
    (the command line), a signal that arrives while the tables are written is deferred until the run is
    complete: the caller's :func:`~vfibench.sweep.interruption.raise_if_stopped` then raises it."""
    from vfibench.sweep.interruption import stops_deferred

    started = time.perf_counter()
    suite = MetricSuite(plan.metrics, device=plan.device)
    made = [folder for folder in (plan.out, *plan.out.parents) if not folder.exists()]  # deepest first
    store = RunStore.create(plan.out)
    extras: dict[str, list[dict[str, Any]]] = {"protocols": [], DIGESTS: []}
    try:
        store.write_manifest(manifest_for(plan, store, schema.RUNNING, {}, suite))
        per_sample = score_frames(plan, suite, on_file, extras)
    except BaseException:
        shutil.rmtree(store.root, ignore_errors=True)
        with contextlib.suppress(OSError):  # the folders made for this run alone are not left behind empty
            for folder in made:
                folder.rmdir()
        raise
    try:
        with stops_deferred():
            return _write_evaluation(plan, store, suite, per_sample, extras, started)
    except BaseException as err:
        stopped = schema.FAILED if isinstance(err, Exception) else schema.INTERRUPTED  # Ctrl-C, a caught SIGTERM
        with contextlib.suppress(OSError):  # the disk refused the tables: the error raised says why
            store.write_manifest({**manifest_for(plan, store, stopped, {}, suite), "reason": repr(err)})
        raise


class EvaluationInterrupted(StoppedBySignal):
    """An evaluation stopped by a signal; :func:`interrupted_evaluation` says what it kept."""


def interrupted_evaluation(signum: int, plan: EvalPlan, store: RunStore | None,
                           grid_samples: int) -> EvaluationInterrupted:
    """The error of an evaluation stopped by ``signum``: while it scored (``store`` None: its run was
    removed), or once its run was complete (``store``, kept: while its report was written or printed)."""
    from vfibench.processes import signal_name
    from vfibench.results.store import report_command

    name = signal_name(signum)
    if store is not None:
        return EvaluationInterrupted(
            f"The evaluation was stopped by {name} once it had finished: the run is kept, complete, in "
            f"'{store.root}'. Write and show its report with: {report_command(store)} --samples {grid_samples}", signum)
    again = f": {plan.command}" if plan.command else "."
    return EvaluationInterrupted(
        f"The evaluation was stopped by {name} before it finished, so it has no results (an evaluation cannot be "
        f"resumed, and nothing it scored is taken for a result). Run it again{again}", signum)


def _write_evaluation(plan: EvalPlan, store: RunStore, suite: MetricSuite, per_sample: pd.DataFrame,
                      extras: dict[str, list[dict[str, Any]]], started: float) -> RunStore:
    """The tables, summary, complete manifest and ``latest`` link of a scored evaluation."""
    metrics = plan.metrics + list(plan.unavailable_metrics)
    atomic.write_csv(store.path(schema.PER_SAMPLE_FILE), per_sample)
    if extras["protocols"]:
        atomic.write_csv(store.path(schema.PROTOCOLS_FILE), pd.DataFrame(extras["protocols"]))
    summary = summarise(per_sample, metrics, dict.fromkeys(plan.sources, EVALUATED_KIND))
    write_summary_files(store, summary, metrics, plan.unavailable_metrics)
    timings = {"total": round(time.perf_counter() - started, 3)}
    digests = frame_record(plan, extras[DIGESTS])
    store.write_manifest(manifest_for(plan, store, schema.COMPLETE, timings, suite, digests))
    store.mark_latest()
    return store
