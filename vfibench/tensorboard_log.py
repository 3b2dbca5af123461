"""Optional TensorBoard logging of a sweep (``vfibench run --tensorboard DIR``).

One TensorBoard run per unit, ``DIR/<run>/<config>/seed<k>``, written when the unit finishes: every
row of its training log as scalars (``loss/total``, ``loss/<term>``, ``lr``, ``held_out/<metric>``,
the same values as ``train_log.csv``) and a few sample frames of the test data (the ground truth and
the trained model's output for the first :data:`FRAMES` test scenes) at the last step. Needs the
``tensorboard`` package (``pip install 'vfibench[tensorboard]'``); without it the sweep refuses to
start. ``tensorboard --logdir DIR`` shows it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vfibench.errors import VfiBenchError
from vfibench.results.schema import CONFIG, DISCRIMINATOR_ACCURACY, HELD_OUT_PREFIX, LEARNING_RATE, SEED, STEP

#: Sample frames written per unit.
FRAMES = 4
INSTALL = "pip install 'vfibench[tensorboard]'"
_KEYS = (CONFIG, SEED, STEP)


def check_available(directory: Path) -> None:
    """Raise a :class:`VfiBenchError` (before any training) when TensorBoard cannot be written."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise VfiBenchError(f"--tensorboard {directory}: the optional package 'tensorboard' is not installed. "
                            f"Install it with `{INSTALL}` (or `pip install tensorboard`), or drop "
                            f"--tensorboard; train_log.csv and the report's training curves hold the same "
                            f"values.") from None


def tag(column: str) -> str:
    """The TensorBoard tag of a train_log column: ``total`` → ``loss/total``, ``val_psnr`` → ``held_out/psnr``,
    a discriminator's accuracy (``adv_d_accuracy``, not a loss) → ``discriminator/adv_d_accuracy``."""
    if column == LEARNING_RATE:
        return "lr"
    if column.startswith(HELD_OUT_PREFIX):
        return "held_out/" + column.removeprefix(HELD_OUT_PREFIX)
    if column == DISCRIMINATOR_ACCURACY:
        return "discriminator/" + column
    return "loss/" + column


#: The longest configuration folder name; a longer one is cut and told apart by a hash (file systems
#: refuse names over 255 bytes).
MAX_FOLDER_NAME = 100


def unit_folder(root: Path, run: str, config: str, seed: int) -> Path:
    """``root/run/<config>/seed<k>``, the configuration made safe as a folder name; one longer than
    :data:`MAX_FOLDER_NAME` is cut and ends with a hash of the whole configuration."""
    safe = re.sub(r"[^A-Za-z0-9.+=,@_-]+", "_", config).strip("._") or "config"
    if len(safe) > MAX_FOLDER_NAME:
        safe = f"{safe[:MAX_FOLDER_NAME - 9]}-{hashlib.sha1(config.encode()).hexdigest()[:8]}"
    return root / run / safe / f"seed{seed}"


def write_unit(root: Path, run: str, config: str, seed: int, log: Sequence[Mapping[str, Any]],
               truth: Any = None, prediction: Any = None) -> Path:
    """Write one unit's scalars and sample frames (``truth``/``prediction``: (N, 3, H, W) in [0, 1])."""
    from torch.utils.tensorboard import SummaryWriter

    folder = unit_folder(root, run, config, seed)
    writer = SummaryWriter(log_dir=str(folder))
    try:
        last = 0
        for row in log:
            step = int(row[STEP])
            last = max(last, step)
            for column, value in row.items():
                if column not in _KEYS and value is not None and value == value:  # NaN: not logged at this step
                    writer.add_scalar(tag(column), float(value), step)
        if truth is not None and prediction is not None:
            writer.add_images("frames/ground_truth", truth[:FRAMES], last)
            writer.add_images("frames/prediction", prediction[:FRAMES].clamp(0, 1), last)
    finally:
        writer.close()
    return folder
