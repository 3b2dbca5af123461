"""Throughput of the datasets: triplets per second to render or load, and their memory.

Synthetic scenes are rendered at the given sizes; the real-data loaders read a clip written to
a temporary folder first (``--frames`` PNG frames of Vimeo-90K's 448×256, and the same frames
as a lossless video), loaded at native resolution and resized to 64. Run:

    python benchmarks/bench_data.py [--count 128] [--sizes 64 96] [--frames 48] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vfibench.data.sources import open_dataset
from vfibench.data.triplets import Triplets

WIDTH, HEIGHT = 448, 256


def clip_frames(count: int) -> list[np.ndarray]:
    """``count`` textured 448×256 frames, the texture moving 3 px per frame."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (HEIGHT // 4, (WIDTH + 3 * count) // 4, 3), dtype=np.uint8)
    wide = np.asarray(Image.fromarray(base).resize(((WIDTH + 3 * count), HEIGHT), Image.BILINEAR))
    return [np.ascontiguousarray(wide[:, 3 * k : 3 * k + WIDTH]) for k in range(count)]


def write_clip(folder: Path, frames: list[np.ndarray]) -> Path:
    for k, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{k:05d}.png")
    return folder


def write_video(path: Path, frames: list[np.ndarray]) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("png", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "rgb24"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def timed(label: str, load: Callable[[], Triplets]) -> None:
    start = time.perf_counter()
    batch = load()
    seconds = time.perf_counter() - start
    mib = sum(x.numel() * x.element_size() for x in (batch.i0, batch.it, batch.i1)) / 2**20
    shape = "x".join(str(s) for s in batch.i0.shape[-2:][::-1])
    print(f"{label:<38} {len(batch):>6} {shape:>9} {len(batch) / seconds:>10.1f} {mib:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=128, help="synthetic triplets per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96])
    parser.add_argument("--frames", type=int, default=48, help="frames of the real-data clip")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1 avoids oversubscription on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU, {torch.get_num_threads()} threads")
    print(f"{'dataset':<38} {'count':>6} {'frame':>9} {'trip/s':>10} {'MiB':>9}")
    start = time.perf_counter()
    open_dataset("synthetic", "train", count=1, size=32)  # loads and packs the photographs once
    print(f"(synthetic cold start, photographs loaded once per process: {time.perf_counter() - start:.1f} s)")
    for size in args.sizes:
        timed(f"synthetic train {size}", lambda: open_dataset("synthetic", "train", count=args.count, size=size))
    with tempfile.TemporaryDirectory() as tmp:
        frames = clip_frames(args.frames)
        folder = write_clip(Path(tmp), frames)
        video = write_video(Path(tmp) / "clip.mov", frames)
        timed("frames 448x256 native", lambda: open_dataset(f"frames:{folder}", "test"))
        timed("frames 448x256 resized to 64", lambda: open_dataset(f"frames:{folder}", "test", size=64))
        timed("video 448x256 native", lambda: open_dataset(f"video:{video}", "test"))
        timed("video 448x256 resized to 64", lambda: open_dataset(f"video:{video}", "test", size=64))


if __name__ == "__main__":
    main()
