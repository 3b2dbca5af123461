"""``video:PATH`` — any video file FFmpeg decodes, cut into triplets (k, k+stride, k+2·stride).

Decoding uses PyAV (the maintained FFmpeg binding; ``pip install 'vfibench[video]'``). The
first video stream is used; frames are numbered in decoding order from 0 and converted to
8-bit RGB. Indexing counts the stream's packets (no decoding); reading decodes the video once,
front to back, keeping only the frames that the asked-for triplets still need, so memory stays
bounded by a few frames beyond the selection itself. Each triplet is named after its middle frame's
number, six digits (``000001`` for frames 0, 1, 2): ``vfibench eval --gt video:PATH`` matches a
model's prediction of frame 1 saved as ``DIR/000001.png``.

A video has no train/test split: either split reads all of it, so use different videos for
training and testing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vfibench.data.frames import check_stride
from vfibench.data.triplet_source import Frames, TripletRef, TripletSource
from vfibench.errors import DataError
from vfibench.words import counted


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise DataError(
            "Reading video:PATH needs PyAV, which is not installed. Install it with "
            "`pip install 'vfibench[video]'` (or `pip install av`), or extract the frames to a folder and "
            "use frames:PATH."
        ) from None
    return av


def _open(path: Path) -> Any:
    av = _av()
    if not path.exists():
        raise DataError(f"The video {path} does not exist. Check the path after video:.")
    if not path.is_file():
        raise DataError(f"{path} is a folder; video:PATH needs a video file. For a folder of frames use frames:PATH.")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as err:
        raise DataError(
            f"The video {path} could not be opened ({err}). Check that it is a complete video file FFmpeg can "
            f"decode (e.g. with `ffprobe`)."
        ) from None
    if not container.streams.video:
        container.close()
        raise DataError(f"The file {path} holds no video stream.")
    return container


def frame_label(path: Path, number: int) -> str:
    """How a frame of a video is named in messages and provenance records."""
    return f"{path} frame {number}"


def count_frames(path: Path) -> tuple[int, int]:
    """(frames in the file, frames its header declares) of the first video stream: the first counted
    from its packets (no decoding), the second 0 where the container records none."""
    av = _av()
    container = _open(path)
    try:
        stream = container.streams.video[0]
        declared = max(int(stream.frames or 0), 0)
        return sum(1 for packet in container.demux(stream) if packet.size), declared
    except (av.FFmpegError, OSError) as err:
        raise DataError(f"The video {path} could not be read to the end ({err}); the file may be truncated.") from None
    finally:
        container.close()


def decode(path: Path, wanted: set[int], *, validating: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (number, float32 (H, W, 3) RGB frame) for the frame numbers in ``wanted``, in order; an error
    points to ``data validate`` unless ``validating`` (that command itself)."""
    av = _av()
    container = _open(path)
    last = max(wanted) if wanted else -1
    number = -1
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for number, frame in enumerate(container.decode(stream)):
            if number in wanted:
                yield number, frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
            if number >= last:
                return
    except (av.FFmpegError, OSError) as err:
        raise DataError(
            f"Decoding failed at {frame_label(path, number + 1)} ({err}); the file may be damaged."
            + ("" if validating else f" `vfibench data validate video:{path}` checks every frame.")
        ) from None
    finally:
        container.close()
    if number < last:
        raise DataError(
            f"The video {path} lists more frames than it decodes: frame {last} was asked for but decoding "
            f"stopped after frame {number}. Re-encode the video (e.g. `ffmpeg -i in.mp4 out.mp4`)."
        )


def cut_short_message(path: Path, held: int, declared: int) -> str:
    """Why a video may hold fewer frames than its header declares, and what to do."""
    used = "that frame is" if held == 1 else f"those {held} frames are"
    return (f"The video {path} holds {counted(held, 'frame')}, but its header declares {declared}: either the "
            f"file was cut short (an interrupted copy or recording), and only {used} used, or it records "
            f"dropped frames as empty entries (as AVI capture does), which hold no picture. If it was cut short, "
            f"restore the whole file.")


class VideoSource(TripletSource):
    """Triplets cut from the frames of one video file."""

    kind = "video"

    def __init__(self, path: Path, stride: int = 1) -> None:
        self.path = Path(path)
        self.stride = check_stride(stride)
        self.frame_count, declared = count_frames(self.path)
        #: What ``data inspect`` and ``data validate`` note: a file with fewer frames than its header says.
        self.notes: list[str] = []
        if declared > self.frame_count:
            self.notes.append(cut_short_message(self.path, self.frame_count, declared))
        span = 2 * self.stride
        refs = [
            TripletRef(
                f"{k + self.stride:06d}",
                (frame_label(self.path, k), frame_label(self.path, k + self.stride), frame_label(self.path, k + span)),
            )
            for k in range(self.frame_count - span)
        ]
        if not refs:
            raise DataError(
                f"The video {self.path} has {counted(self.frame_count, 'frame')}; with stride {self.stride} a "
                f"triplet needs {span + 1}. Use a longer video or a smaller stride."
                + "".join(f" {note}" for note in self.notes)
            )
        super().__init__(str(self.path), refs)

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, Frames]]:
        order = sorted(indices)
        needs = {i: (i, i + self.stride, i + 2 * self.stride) for i in order}
        wanted = {n for numbers in needs.values() for n in numbers}
        held: dict[int, np.ndarray] = {}
        pending = iter(order)
        current = next(pending, None)
        for number, frame in self._decode(wanted):
            held[number] = frame
            while current is not None and needs[current][2] <= number:
                a, b, c = needs[current]
                yield current, (held[a], held[b], held[c])
                current = next(pending, None)
                first_needed = current if current is not None else number + 1
                for old in [n for n in held if n < first_needed]:
                    del held[old]

    def _decode(self, wanted: set[int]) -> Iterator[tuple[int, np.ndarray]]:
        """:func:`decode`, whose errors also say when the file is shorter than its header declares."""
        try:
            yield from decode(self.path, wanted)
        except DataError as err:
            if not self.notes:
                raise
            raise DataError(" ".join([str(err), *self.notes])) from None
