"""Small builders shared by tests: a fake prediction, triplets of a given size, the calibration folder,
and the marks that skip a test whose calibration images, backbone weights or GPU are absent."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import torch

from vfibench import backbones
from vfibench.data.triplets import Triplets
from vfibench.model.prediction import Prediction

#: Five TID2013 reference/distorted pairs with the values the original metric implementations give
#: (``tid2013/ref/IXX.png``, ``tid2013/dist/IXX.png``). They live outside the repository, by default
#: in ``../shared/calibration`` beside the checkout; ``VFIBENCH_CALIBRATION`` points elsewhere. Tests
#: that need them skip with a reason when the folder is absent.
CALIBRATION = Path(os.environ.get("VFIBENCH_CALIBRATION",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "calibration"))

#: Skips a test where the calibration images are absent.
needs_calibration = pytest.mark.skipif(
    not (CALIBRATION / "tid2013").is_dir(),
    reason=f"calibration images not found at {CALIBRATION} (they live outside the project)")


def missing_backbones(*names: str) -> list[str]:
    """The named backbones whose verified weights are not present."""
    return [name for name in names if not backbones.locate(name).found]


def _missing_backbones_reason(missing: list[str]) -> str:
    fetch = f"vfibench weights fetch{' ' + missing[0] if len(missing) == 1 else ''}"
    return f"verified {', '.join(missing)} weights not present; run `{fetch}`"


def needs_backbone(*names: str) -> pytest.MarkDecorator:
    """Skips a test unless the verified weights of every named backbone are present."""
    missing = missing_backbones(*names)
    return pytest.mark.skipif(bool(missing), reason=_missing_backbones_reason(missing))


def skip_without_backbones(*names: str) -> None:
    """Skips the running test unless the verified weights of every named backbone are present (for a
    test that learns which backbones it needs only from its parameters)."""
    __tracebackhide__ = True  # the skip is reported at the test's line, not this one
    missing = missing_backbones(*names)
    if missing:
        pytest.skip(_missing_backbones_reason(missing))


TestFunction = TypeVar("TestFunction", bound=Callable[..., object])
_skip_without_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def needs_cuda(test: TestFunction) -> TestFunction:
    """Marks ``test`` as a GPU check: skipped without a CUDA GPU; ``pytest -m cuda`` runs only these."""
    return pytest.mark.cuda(_skip_without_cuda(test))


#: The marks of a GPU check, for a parameter (``pytest.param(..., marks=CUDA_MARKS)``).
CUDA_MARKS = [pytest.mark.cuda, _skip_without_cuda]

#: The devices a test runs on: the CPU, and CUDA as a GPU check (see :func:`needs_cuda`).
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA_MARKS)]


def random_triplets(n: int = 2, size: int = 16, seed: int = 0, dtype: torch.dtype = torch.float32) -> Triplets:
    g = torch.Generator().manual_seed(seed)
    frames = [torch.rand(n, 3, size, size, generator=g, dtype=dtype) for _ in range(3)]
    return Triplets(frames[0], frames[1], frames[2], torch.full((n,), 0.5, dtype=dtype))


def prediction_from(frame: torch.Tensor, seed: int = 1) -> Prediction:
    """A Prediction whose frame is ``frame`` and whose other fields are random but well-formed."""
    g = torch.Generator().manual_seed(seed)
    n, _, h, w = frame.shape

    def flow() -> torch.Tensor:
        return torch.randn(n, 2, h, w, generator=g, dtype=frame.dtype)

    vis = torch.rand(n, 1, h, w, generator=g, dtype=frame.dtype)
    return Prediction(frame=frame, flow_01=flow(), flow_10=flow(), flow_t0_approx=flow(), flow_t1_approx=flow(),
                      flow_t0=flow(), flow_t1=flow(), warped_0=frame.detach().clone(),
                      warped_1=frame.detach().clone(), visibility_0=vis, visibility_1=1 - vis,
                      blended=frame.detach().clone())


def noisy_frame_folders(root: Path, count: int, height: int, width: int,
                        noise: dict[str, int], seed: int) -> dict[str, Path]:
    """Folders of ``count`` PNG frames under ``root``, one per name of ``noise``: random frames (the
    ground truth, at noise 0) plus uniform integer noise of ±noise[name], clipped to 8 bits."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    folders = {name: root / name for name in noise}
    for index in range(count):
        truth = rng.integers(0, 256, size=(height, width, 3))
        for name, amount in noise.items():
            folders[name].mkdir(exist_ok=True)
            frame = np.clip(truth + rng.integers(-amount, amount + 1, size=truth.shape), 0, 255).astype(np.uint8)
            Image.fromarray(frame).save(folders[name] / f"f{index}.png")
    return folders


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux /proc; False where there is none)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
