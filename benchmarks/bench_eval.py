"""Evaluation speed: vfibench's metrics beside the loops and libraries they replace, values checked equal.

Frames are real video: the centre of ``bikes.mp4`` (640×272, a camera recording; ``scripts/
fetch_real_clip.sh`` fetches it), cropped without resampling; the prediction is a Gaussian-blurred
copy (radius 1.5), both saved as 8-bit frames. Two parts, both on by default:

**metrics** — per-frame cost (ms) of each metric and of the whole default suite at 256×256 and
448×256 on ``--frames`` frames held in memory, after one warm-up call (models built, weights
loaded), median of ``--repeats``. Beside vfibench (batched; per frame; the default suite with and
without a prepared ground truth): the research loop (scikit-image PSNR and SSIM per frame, one
``lpips`` package call per frame), torchmetrics and piq where they implement the same metric. The
values are checked in the same run: vfibench's PSNR/SSIM against scikit-image's and its LPIPS
against the ``lpips`` package's to 1e-6, and its DISTS against the published values of the
original implementation on the five calibration pairs (``../shared/calibration``) to 1e-4; the
other libraries' differences are shown, not required. The ``lpips`` package and torchmetrics would
let torchvision download ImageNet AlexNet/VGG16 weights; here they get vfibench's verified
ImageNet ``features`` weights instead (the ``lpips`` package via ``pnet_rand=True`` and a load into
its trunk, torchmetrics through the same for LPIPS and a patched ``vgg16`` for DISTS). piq's LPIPS
and DISTS download their own weight files and are not run.

**eval** — time (wall, or CPU with ``--clock cpu``) of whole commands on ``--count`` frames of
448×256 in fresh processes, start-up included: the research loop as a script
(``benchmarks/research_loop.py``), ``vfibench eval --metrics psnr,ssim,lpips``, ``vfibench eval``
with the default metrics, and the default metrics for two models against one ground truth (its
features prepared once). Their PSNR, SSIM and LPIPS are checked against the research loop's,
frame by frame.

With ``--device cuda`` vfibench's metrics, the ``lpips`` model of the research loop and
torchmetrics run on the GPU, each timing waiting for the GPU's queued work; scikit-image's PSNR and
SSIM stay on the CPU, as they do in a researcher's loop.

It prints the tables and writes everything to ``--json``. Run (both cores, nothing else running)::

    bash scripts/fetch_real_clip.sh
    python benchmarks/bench_eval.py [--frames 8] [--count 240] [--parts metrics eval] [--pairs 5] [--device cuda] [--json bench_eval.json]

``--pairs N`` also runs ``eval --metrics psnr,ssim,lpips`` and the research loop in turn N times and
reports their ratio pair by pair: single runs move by 10–20% on a small machine, a ratio of pairs
much less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

import _timing

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / ".vfibench-home" / "clips" / "bikes.mp4"
SIZES = ((256, 256), (448, 256))
BLUR_RADIUS = 1.5
#: Required agreement of vfibench's values with the reference implementations.
EXACT = 1e-6
PUBLISHED_DISTS = (0.4742, 0.1424, 0.0683, 0.0287, 0.3123)  # calibration README, I03 I04 I06 I08 I19
CALIBRATION_IMAGES = ("I03", "I04", "I06", "I08", "I19")


# ----------------------------------------------------------------------------------------- frames
def clip_frames(clip: Path, count: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``count`` frames of ``clip``, centre crop of ``size`` = (width, height): (ground truth, blurred
    prediction), each (count, H, W, 3) uint8."""
    from PIL import Image, ImageFilter

    width, height = size
    truths, preds = [], []
    for rgb in decoded(clip):
        top, left = (rgb.shape[0] - height) // 2, (rgb.shape[1] - width) // 2
        if top < 0 or left < 0:
            raise SystemExit(f"{clip} is {rgb.shape[1]}×{rgb.shape[0]}, smaller than {width}×{height}")
        crop = np.ascontiguousarray(rgb[top:top + height, left:left + width])
        truths.append(crop)
        preds.append(np.asarray(Image.fromarray(crop).filter(ImageFilter.GaussianBlur(BLUR_RADIUS))))
        if len(truths) == count:
            break
    if len(truths) < count:
        raise SystemExit(f"{clip} has only {len(truths)} frames; ask for --count {len(truths)} or fewer")
    return np.stack(truths), np.stack(preds)


def decoded(clip: Path) -> Iterator[np.ndarray]:
    """The frames of ``clip`` as (H, W, 3) uint8 RGB, decoded with PyAV, or OpenCV where PyAV is absent."""
    import importlib.util

    if importlib.util.find_spec("av") is not None:
        import av

        with av.open(str(clip)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
        return
    import cv2

    capture = cv2.VideoCapture(str(clip))
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield np.ascontiguousarray(bgr[..., ::-1])
    finally:
        capture.release()


def write_folders(root: Path, clip: Path, count: int, size: tuple[int, int]) -> dict[str, Path]:
    """gt/, pred/ (blurred copy) and pred2/ (a second model: blurred copy, then one grey level of noise)."""
    from PIL import Image

    folders = {name: root / name for name in ("gt", "pred", "pred2")}
    if all(len(list(f.glob("*.png"))) == count for f in folders.values()):
        return folders
    truths, preds = clip_frames(clip, count, size)
    noise = np.random.default_rng(0).integers(-1, 2, size=preds.shape)
    second = np.clip(preds.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    for name, frames in (("gt", truths), ("pred", preds), ("pred2", second)):
        folders[name].mkdir(parents=True, exist_ok=True)
        for k, frame in enumerate(frames):
            Image.fromarray(frame).save(folders[name] / f"{k:05d}.png")
    return folders


def as_tensor(frames: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 → (N, 3, H, W) float64 in [0, 1], exact 8-bit levels (as `vfibench eval` reads)."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).to(torch.float64) / 255.0


# ----------------------------------------------------------------------------------------- implementations
def lpips_package_model() -> Any:
    """``lpips.LPIPS(net="alex")`` with vfibench's verified AlexNet trunk (see research_loop.py)."""
    from research_loop import alexnet_lpips

    return alexnet_lpips()


def torchmetrics_lpips() -> Any:
    """torchmetrics' LPIPS module (AlexNet, its own copy of the v0.1 linear layers) on the verified trunk."""
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    from vfibench.backbones import features_state_dict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _NoTrainLpips(net="alex", pnet_rand=True)
    features = features_state_dict("alexnet")
    state = {f"{slice_name}.{key}": features[key] for slice_name, block in model.net.named_children()
             for key, _ in block.named_parameters()}
    model.net.load_state_dict(state, strict=True)
    return model.eval()


def torchmetrics_dists() -> Any:
    """torchmetrics' DISTS network with torchvision's VGG16 built offline on the verified features."""
    import torchvision
    from torchmetrics.functional.image import dists as tm_dists

    from vfibench.backbones import features_state_dict

    def vgg16(weights: Any = None) -> torch.nn.Module:
        model = torchvision.models.vgg16(weights=None)
        model.features.load_state_dict(features_state_dict("vgg16"), strict=True)
        return model

    original = tm_dists.vgg16
    tm_dists.vgg16 = vgg16
    try:
        return tm_dists.DISTSNetwork().eval()
    finally:
        tm_dists.vgg16 = original


Impl = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def per_frame(fn: Callable[[np.ndarray, np.ndarray], float]) -> Impl:
    """A function of one (H, W, 3) float64 pair applied frame by frame, as a loop over images does."""
    def run(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        p = pred.permute(0, 2, 3, 1).numpy()
        g = gt.permute(0, 2, 3, 1).numpy()
        return torch.tensor([fn(p[k], g[k]) for k in range(len(p))], dtype=torch.float64)
    return run


def implementations(device: torch.device) -> dict[str, dict[str, Impl]]:
    """metric → implementation name → function (pred, gt) → (N,) values, the models on ``device``. The
    first is the reference."""
    import piq
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    lpips_model = lpips_package_model()
    tm_lpips_model = torchmetrics_lpips()
    tm_dists_model = torchmetrics_dists()

    lpips_model.to(device), tm_lpips_model.to(device), tm_dists_model.to(device)

    def lpips_loop(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.tensor([lpips_model(pred[k:k + 1].to(device).float() * 2 - 1,
                                             gt[k:k + 1].to(device).float() * 2 - 1).item()
                                 for k in range(len(pred))], dtype=torch.float64)

    def tm_lpips(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return tm_lpips_model(pred.to(device).float(), gt.to(device).float(), normalize=True).reshape(-1).double().cpu()

    def tm_dists(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return tm_dists_model(pred.to(device).float(), gt.to(device).float()).reshape(-1).double().cpu()

    def on_device(fn: Impl) -> Impl:
        return lambda p, g: fn(p.to(device), g.to(device)).cpu()

    return {
        "psnr": {
            "scikit-image (loop)": per_frame(lambda p, g: peak_signal_noise_ratio(g, p, data_range=1.0)),
            "torchmetrics": on_device(lambda p, g: tm_psnr(p, g, data_range=1.0, reduction="none", dim=(1, 2, 3))),
            "piq": on_device(lambda p, g: piq.psnr(p, g, data_range=1.0, reduction="none")),
        },
        "ssim": {
            "scikit-image (loop)": per_frame(lambda p, g: structural_similarity(
                g, p, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                data_range=1.0)),
            "torchmetrics": on_device(lambda p, g: tm_ssim(p, g, gaussian_kernel=True, sigma=1.5, kernel_size=11,
                                                           data_range=1.0, reduction="none")),
            "torchmetrics (float32)": on_device(lambda p, g: tm_ssim(
                p.float(), g.float(), gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=1.0,
                reduction="none").double()),
            "piq": on_device(lambda p, g: piq.ssim(p, g, data_range=1.0, kernel_size=11, kernel_sigma=1.5,
                                                   downsample=False, reduction="none")),
            "piq (float32)": on_device(lambda p, g: piq.ssim(p.float(), g.float(), data_range=1.0, kernel_size=11,
                                                             kernel_sigma=1.5, downsample=False,
                                                             reduction="none").double()),
        },
        "lpips": {"lpips package (loop)": lpips_loop, "torchmetrics": tm_lpips},
        "dists": {"torchmetrics": tm_dists},
    }


# ----------------------------------------------------------------------------------------- timing
#: What a timing measures: wall time (the default, for a quiet machine), or this process's CPU time
#: (user + system, all its threads), steadier on a shared core when run with one thread.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]
#: Where the metrics run (``--device``).
device = torch.device("cpu")


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function over ``repeats`` rounds that call every function once, in turn
    (so a slow patch of a shared machine hits all of them alike), after one warm-up call each
    (models built, weights loaded, kernels chosen)."""
    for fn in fns.values():
        fn()
        _timing.synchronize(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(_timing.seconds(fn, device, clock))
    return {name: statistics.median(values) for name, values in times.items()}


def check_dists_calibration() -> dict[str, Any]:
    """vfibench's DISTS on the five calibration pairs against the original implementation's values."""
    from PIL import Image

    from vfibench.metrics.suite import MetricSuite

    folder = Path(os.environ.get("VFIBENCH_CALIBRATION", ROOT.parent / "shared" / "calibration")) / "tid2013"
    if not folder.is_dir():
        return {"checked": False, "why": f"calibration folder {folder} not found"}
    load = lambda kind: as_tensor(np.stack([np.asarray(Image.open(folder / kind / f"{i}.png").convert("RGB"))  # noqa: E731
                                            for i in CALIBRATION_IMAGES]))
    got = MetricSuite(["dists"], device=device)(load("dist"), load("ref"))["dists"]
    diff = float((got - torch.tensor(PUBLISHED_DISTS, dtype=torch.float64)).abs().max())
    return {"checked": True, "max_abs_diff": diff, "tolerance": 1e-4, "ok": diff <= 1e-4}


def metrics_part(args: argparse.Namespace) -> dict[str, Any]:
    from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite

    impls = implementations(device)
    # the reference values come from the CPU: on a GPU the lpips package runs TF32 convolutions by
    # default, which move its values by about 1e-5
    references = impls if device.type == "cpu" else implementations(torch.device("cpu"))
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for size in SIZES:
        label = f"{size[0]}x{size[1]}"
        truths, preds = clip_frames(args.clip, args.frames, size)
        gt, pred = as_tensor(truths), as_tensor(preds)
        n = len(gt)

        def measure(metric: str, entries: list[tuple[str, Callable[[], object], torch.Tensor | None]],
                    reference: torch.Tensor | None = None, checked: tuple[str, ...] = ()) -> None:
            """Time one metric's implementations against each other; compare their values with ``reference``."""
            seconds = interleaved_medians({impl: fn for impl, fn, _ in entries}, args.repeats)
            for impl, _, values in entries:
                ms = seconds[impl] / n * 1000
                diff = float((values - reference).abs().max()) if values is not None and reference is not None else None
                if impl in checked and diff is not None and diff > EXACT:
                    failures.append(f"{metric} {impl} at {label}: differs by {diff:.2e} (> {EXACT:g})")
                rows.append({"size": label, "metric": metric, "implementation": impl, "ms_per_frame": round(ms, 3),
                             "max_abs_diff": diff, "checked": impl in checked})
                print(f"  {label:>8} {metric:<16} {impl:<36} {ms:9.2f} ms/frame"
                      + (f"   |Δ| {diff:.1e}" if diff is not None else ""), flush=True)

        for metric in DEFAULT_METRICS:
            suite = MetricSuite([metric], device=device)
            ours = suite(pred, gt)[metric]
            singles = torch.cat([suite(pred[k:k + 1], gt[k:k + 1])[metric] for k in range(n)])
            others = impls.get(metric, {})
            # the reference: scikit-image (PSNR, SSIM), the lpips package (LPIPS); otherwise vfibench itself
            reference = next(iter(references[metric].values()))(pred, gt) if metric in ("psnr", "ssim", "lpips") \
                else ours
            entries = [("vfibench (batched)", lambda suite=suite: suite(pred, gt), ours),
                       ("vfibench (one frame per call)",
                        lambda suite=suite: [suite(pred[k:k + 1], gt[k:k + 1]) for k in range(n)], singles)]
            entries += [(impl, lambda fn=fn: fn(pred, gt), fn(pred, gt)) for impl, fn in others.items()]
            checked = ("vfibench (batched)", "vfibench (one frame per call)") if metric in ("psnr", "ssim", "lpips") else ()
            measure(metric, entries, reference, checked)
        suite = MetricSuite(DEFAULT_METRICS, device=device)
        prepared = suite.prepare(gt, device=device)
        plain, shared = suite(pred, gt), suite(pred, reference=prepared)
        if not all(torch.equal(plain[m], shared[m]) for m in suite.names):
            failures.append(f"prepared-reference scores differ from plain scores at {label}")
        measure("default suite", [("vfibench", lambda: suite(pred, gt), None),
                                  ("vfibench, ground truth prepared", lambda: suite(pred, reference=prepared), None),
                                  ("vfibench, preparing the ground truth", lambda: suite.prepare(gt), None)])
        research = (impls["psnr"]["scikit-image (loop)"], impls["ssim"]["scikit-image (loop)"],
                    impls["lpips"]["lpips package (loop)"])
        quick = MetricSuite(["psnr", "ssim", "lpips"], device=device)
        measure("psnr+ssim+lpips", [("research loop", lambda: [f(pred, gt) for f in research], None),
                                    ("vfibench", lambda: quick(pred, gt), None)])
    calibration = check_dists_calibration()
    if calibration.get("checked") and not calibration["ok"]:
        failures.append(f"DISTS differs from the published calibration values by {calibration['max_abs_diff']:.2e}")
    return {"rows": rows, "dists_calibration": calibration, "failures": failures}


# ----------------------------------------------------------------------------------------- end to end
def timed_command(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the child) of one command, which must succeed."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def research_loop(folders: dict[str, Path], csv: Path, on: torch.device) -> list[str]:
    """The command of ``research_loop.py`` on the benchmark's frames, its LPIPS on ``on``, scores to ``csv``."""
    return [sys.executable, str(ROOT / "benchmarks" / "research_loop.py"), "--gt", str(folders["gt"]),
            "--pred", str(folders["pred"]), "--csv", str(csv), "--device", str(on)]


def eval_part(args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd

    work = Path(args.workdir)
    folders = write_folders(work / f"frames-{args.count}", args.clip, args.count, (448, 256))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
           "COLUMNS": "120"}
    out = Path(tempfile.mkdtemp(prefix="bench-eval-", dir=work))
    research_csv = out / "research.csv"
    vfibench = [sys.executable, "-m", "vfibench.cli"]
    common = ["--gt", str(folders["gt"]), "--device", str(device)]  # the command as a user types it: report and image grids included
    commands = {
        "research loop (psnr, ssim, lpips)": research_loop(folders, research_csv, device),
        "vfibench eval --metrics psnr,ssim,lpips": [*vfibench, "eval", "--pred", str(folders["pred"]), *common,
                                                    "--metrics", "psnr,ssim,lpips", "--out", str(out / "quick")],
        "vfibench eval (default metrics)": [*vfibench, "eval", "--pred", str(folders["pred"]), *common,
                                            "--out", str(out / "default")],
        "vfibench eval (default metrics, 2 models)": [*vfibench, "eval", "--pred", f"a={folders['pred']}",
                                                      "--pred", f"b={folders['pred2']}", *common,
                                                      "--out", str(out / "two")],
    }
    results: dict[str, Any] = {}
    for name, command in commands.items():
        wall, cpu = timed_command(command, env)
        seconds = wall if args.clock == "wall" else cpu
        results[name] = {"seconds": round(seconds, 2), "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                         "ms_per_frame": round(seconds / args.count * 1000, 1)}
        print(f"  {name:<44} {seconds:8.1f} s ({args.clock})  {seconds / args.count * 1000:8.1f} ms/frame", flush=True)
    if device.type != "cpu":  # the reference values: the research loop on the CPU (untimed), as in metrics_part
        research_csv = out / "research-cpu.csv"
        timed_command(research_loop(folders, research_csv, torch.device("cpu")), env)
    research = pd.read_csv(research_csv).set_index("file")
    failures = []
    for run, model in (("quick", None), ("default", None), ("two", "a")):  # model a of "two" = the same folder
        ours = pd.read_csv((out / run / "latest").resolve() / "per_sample.csv")
        ours = (ours if model is None else ours[ours["config"] == model]).set_index("file")
        for metric in ("psnr", "ssim", "lpips"):
            diff = float((ours[metric] - research.loc[ours.index, metric]).abs().max())
            results[f"max |Δ| {metric} ({run} vs research loop)"] = diff
            if diff > EXACT:
                failures.append(f"eval ({run}) {metric} differs from the research loop by {diff:.2e}")
    base = results["research loop (psnr, ssim, lpips)"]["seconds"]
    results["speed-up of eval --metrics psnr,ssim,lpips over the research loop"] = round(
        base / results["vfibench eval --metrics psnr,ssim,lpips"]["seconds"], 2)
    results["speed-up of eval (default metrics) over the research loop"] = round(
        base / results["vfibench eval (default metrics)"]["seconds"], 2)
    if args.pairs:
        results["pairs: eval --metrics psnr,ssim,lpips / research loop"] = paired_ratio(
            commands["vfibench eval --metrics psnr,ssim,lpips"], commands["research loop (psnr, ssim, lpips)"],
            env, args.pairs, args.clock)
    results["2 models / 1 model (default metrics)"] = round(
        results["vfibench eval (default metrics, 2 models)"]["seconds"]
        / results["vfibench eval (default metrics)"]["seconds"], 2)
    shutil.rmtree(out, ignore_errors=True)
    return {"frames": args.count, "size": "448x256", "commands": {k: " ".join(v) for k, v in commands.items()},
            "results": results, "failures": failures}


def paired_ratio(command: list[str], baseline: list[str], env: dict[str, str], pairs: int,
                 clock_name: str = "wall") -> dict[str, float]:
    """Times (``clock_name``: wall or CPU) of ``command`` and ``baseline`` run in turn ``pairs`` times after
    one warm-up of each, and the ratio taken pair by pair: a drift of the machine's speed during the runs
    moves both members of a pair alike. Returns the medians and the median, lowest and highest ratio."""
    which = 0 if clock_name == "wall" else 1  # timed_command gives (wall, CPU)
    timed_command(command, env), timed_command(baseline, env)  # warm-up: file cache, first imports
    times = [(timed_command(command, env)[which], timed_command(baseline, env)[which]) for _ in range(pairs)]
    ratios = [a / b for a, b in times]
    print(f"  {pairs} pairs ({clock_name} time): eval {statistics.median(a for a, _ in times):.2f} s, research loop "
          f"{statistics.median(b for _, b in times):.2f} s, ratio {statistics.median(ratios):.3f} "
          f"({min(ratios):.3f}–{max(ratios):.3f})", flush=True)
    return {"pairs": pairs, "clock": clock_name, "median_seconds": round(statistics.median(a for a, _ in times), 2),
            "baseline_median_seconds": round(statistics.median(b for _, b in times), 2),
            "median_ratio": round(statistics.median(ratios), 3), "lowest_ratio": round(min(ratios), 3),
            "highest_ratio": round(max(ratios), 3)}


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The per-frame costs as a Markdown table: one row per metric and implementation, one column per size."""
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    keys = list(dict.fromkeys((r["metric"], r["implementation"]) for r in rows))
    cell = {(r["metric"], r["implementation"], r["size"]): r for r in rows}
    lines = ["| metric | implementation | " + " | ".join(f"{s} ms/frame" for s in sizes) + " | max abs. difference |",
             "|---|---|" + "---:|" * len(sizes) + "---|"]
    for metric, impl in keys:
        found = [cell.get((metric, impl, s)) for s in sizes]
        diffs = [r["max_abs_diff"] for r in found if r and r["max_abs_diff"] is not None]
        costs = " | ".join(f"{r['ms_per_frame']:.1f}" if r else "" for r in found)
        lines.append(f"| {metric} | {impl} | {costs} | {f'{max(diffs):.1e}' if diffs else ''} |")
    return "\n".join(lines)


def missing_comparisons() -> list[str]:
    """The packages this benchmark compares against that are not installed."""
    import importlib.util

    decoder = ("av",) if importlib.util.find_spec("cv2") is None else ()  # OpenCV decodes the clip without PyAV
    return [name for name in ("lpips", "torchmetrics", "piq", *decoder) if importlib.util.find_spec(name) is None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=CLIP, help="the video (default: bikes.mp4 of fetch_real_clip.sh)")
    parser.add_argument("--parts", nargs="+", choices=("metrics", "eval"), default=["metrics", "eval"])
    parser.add_argument("--frames", type=int, default=8, help="frames per metric timing (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per metric timing (default 3)")
    parser.add_argument("--count", type=int, default=240, help="frames of the end-to-end runs (default 240)")
    parser.add_argument("--pairs", type=int, default=0,
                        help="also run eval --metrics psnr,ssim,lpips and the research loop in turn this many "
                             "times and report their ratio pair by pair (the figure to quote; default 0: off)")
    parser.add_argument("--workdir", default=str(ROOT / ".vfibench-home" / "bench-eval"),
                        help="where the frame folders are kept")
    parser.add_argument("--json", type=Path, default=Path("bench_eval.json"), help="results file")
    parser.add_argument("--device", default="cpu",
                        help="where vfibench's metrics, the lpips and torchmetrics models run: cpu (default) or cuda; "
                             "scikit-image's PSNR and SSIM always run on the CPU")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="wall time (default) or CPU time (user + system; steadier on a shared core, one thread)")
    args = parser.parse_args()
    missing = missing_comparisons()
    if missing:
        sys.exit(f"bench_eval needs {', '.join(missing)}, not installed here (torchmetrics and piq are compared "
                 f"against; av decodes the clip). Install the benchmark's extra: pip install -e '.[bench]'.")
    global clock, device
    clock = CLOCKS[args.clock]
    device = torch.device(args.device)
    if not args.clip.is_file():
        raise SystemExit(f"{args.clip} not found: run `bash scripts/fetch_real_clip.sh` first (or give --clip)")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                    "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                    "python": platform.python_version()},
        "clip": str(args.clip), "blur_radius": BLUR_RADIUS, "clock": args.clock,
    }
    failures: list[str] = []
    if "metrics" in args.parts:
        print(f"Per-frame cost ({args.clock} time), {args.frames} frames, median of {args.repeats}, torch "
              f"{torch.__version__}, {torch.get_num_threads()} threads:")
        report["metrics"] = metrics_part(args)
        failures += report["metrics"]["failures"]
        print(markdown_table(report["metrics"]["rows"]))
    if "eval" in args.parts:
        print(f"Whole commands on {args.count} frames of 448×256 (fresh processes, start-up included):")
        report["eval"] = eval_part(args)
        failures += report["eval"]["failures"]
        for key, value in report["eval"]["results"].items():
            if not isinstance(value, dict):
                print(f"  {key}: {value:.3g}" if isinstance(value, float) else f"  {key}: {value}")
    report["failures"] = failures
    args.json.write_text(json.dumps(report, indent=2))
    print(f"written {args.json}")
    if failures:
        print("VALUE CHECKS FAILED:\n  " + "\n  ".join(failures))
        raise SystemExit(1)
    checked = []
    if "metrics" in args.parts:
        checked.append(f"vfibench PSNR/SSIM = scikit-image, LPIPS = lpips package (≤ {EXACT:g})")
        calibration = report["metrics"]["dists_calibration"]
        checked.append("DISTS = published (≤ 1e-4)" if calibration.get("checked")
                       else f"DISTS not checked ({calibration.get('why')})")
    if "eval" in args.parts:
        checked.append(f"eval's PSNR/SSIM/LPIPS = the research loop's, frame by frame (≤ {EXACT:g})")
    print("values checked: " + "; ".join(checked))


if __name__ == "__main__":
    main()
