"""Input checks and small helpers shared by every per-frame metric.

Every metric takes a prediction and a ground truth of shape (N, 3, H, W), RGB, floating point,
values in [0, 1], on any device, and returns one value per frame, shape (N,). The checks raise a
:class:`~vfibench.errors.VfiBenchError` that states what was expected and what was given; they
are real exceptions, not ``assert`` statements, so they survive ``python -O``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import ContextManager

import torch
from torch import Tensor

from vfibench.errors import VfiBenchError

#: MATLAB's ``rgb2gray`` weights (ITU-R BT.601 luma as MATLAB rounds it).
MATLAB_GREY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def check_pair(pred: Tensor, gt: Tensor, metric: str, min_size: int = 1, check_range: bool = True) -> None:
    """Raise a VfiBenchError unless ``pred`` and ``gt`` are matching (N, 3, H, W) images in [0, 1].

    Args:
        pred: predicted frames.
        gt: ground-truth frames.
        metric: the metric's name, used in the message.
        min_size: the smallest height and width the metric can handle.
        check_range: also check every value lies in [0, 1] (a pass over both tensors); callers that
            clamp the frames themselves skip it.
    """
    for role, x in (("prediction", pred), ("ground truth", gt)):
        if not isinstance(x, Tensor):
            raise VfiBenchError(
                f"{metric}: the {role} must be a torch.Tensor of shape (N, 3, H, W), got {type(x).__name__}."
            )
        if x.ndim != 4 or x.shape[1] != 3:
            raise VfiBenchError(
                f"{metric}: the {role} must have shape (N, 3, H, W) (a batch of RGB frames), "
                f"got shape {tuple(x.shape)}."
            )
        if not x.is_floating_point():
            raise VfiBenchError(
                f"{metric}: the {role} must be a floating-point tensor with values in [0, 1], got dtype "
                f"{x.dtype}. Divide 8-bit frames by 255 first."
            )
    if pred.shape != gt.shape:
        raise VfiBenchError(
            f"{metric}: the prediction and the ground truth must have the same shape, got "
            f"{tuple(pred.shape)} and {tuple(gt.shape)}."
        )
    if pred.device != gt.device:
        raise VfiBenchError(
            f"{metric}: the prediction and the ground truth must be on the same device, got "
            f"{pred.device} and {gt.device}."
        )
    height, width = pred.shape[-2:]
    if min(height, width) < min_size:
        raise VfiBenchError(
            f"{metric}: frames must be at least {min_size}×{min_size} pixels, got {width}×{height} (width × height)."
        )
    if pred.shape[0] == 0 or not check_range:
        return
    lo = torch.minimum(pred.min(), gt.min()).item()
    hi = torch.maximum(pred.max(), gt.max()).item()
    if not (lo >= 0.0 and hi <= 1.0):  # also catches NaN
        raise VfiBenchError(
            f"{metric}: values must lie in [0, 1], got values from {lo:g} to {hi:g}. Clamp the prediction "
            "(vfibench.metrics.quantize_8bit does, and rounds to 8-bit levels as a saved frame would)."
        )


def matlab_grey(x: Tensor) -> Tensor:
    """Grey levels as MATLAB's ``rgb2gray`` gives them for an 8-bit image, rescaled to [0, 1].

    ``Y = round(0.298936·R + 0.587043·G + 0.114021·B)`` on the 0–255 scale, divided by 255. This is
    the grey image the original MATLAB implementations of SSIM and GMSD see when given an 8-bit RGB
    file. Shape (N, 3, H, W) → (N, 1, H, W).
    """
    weights = torch.tensor(MATLAB_GREY_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return levels_to_unit_(torch.round((x * 255.0 * weights).sum(dim=1, keepdim=True)))


def levels_to_unit_(levels: Tensor) -> Tensor:
    """8-bit levels k → k / 255 in place, each correctly rounded in the dtype on every device.

    A CUDA GPU divides by a Python number as a multiplication by its reciprocal, 1 ulp off for some
    k (on a GPU, quantised frames then differed from the CPU's, and float32 PSNR with them by up to
    1.7e-6 dB); a divisor that is a tensor on the levels' device it divides by exactly.
    """
    return levels.div_(torch.full((), 255.0, dtype=levels.dtype, device=levels.device))


#: How far outside [0, 1] a frame may reach and still be taken for a [0, 1] frame that overshoots (and is
#: clamped, as saving it would): beyond this it is on another scale.
SCALE_SLACK = 0.5


def check_scale(x: Tensor, role: str, metric: str) -> None:
    """Raise a VfiBenchError when frames ``x`` (the ``role``) are plainly not on the [0, 1] scale (values
    below −:data:`SCALE_SLACK` or above 1 + :data:`SCALE_SLACK`): frames of 0–255 or of [−1, 1] would
    otherwise be clamped into nonsense scores. A small overshoot of a prediction is clamped, not refused."""
    if x.numel() == 0:
        return
    lo, hi = (v.item() for v in torch.aminmax(x.detach()))
    if lo < -SCALE_SLACK or hi > 1.0 + SCALE_SLACK:
        raise VfiBenchError(
            f"{metric}: the {role} holds values from {lo:g} to {hi:g}, but frames are scored in [0, 1]. "
            f"Divide frames of 0–255 by 255, map frames of [−1, 1] by (x + 1) / 2."
        )


def scores_in_device_chunks(device: torch.device | str) -> bool:
    """Whether frames on ``device`` are scored the GPU way — a whole device chunk per call, every SSIM
    plane of a batch filtered at once, since there each call is a round of small kernel launches
    whatever its size — rather than in a CPU's cache-sized pieces: on every device but a CPU. The
    one place the batching rules tell the two apart."""
    return torch.device(device).type != "cpu"


def device_key(device: torch.device | str) -> str:
    """The name a model loaded once per device is cached under: a GPU named without its index is the
    current one (``cuda`` → ``cuda:0``). A suite is built for the device a user names (``cuda``) and
    its frames live on an indexed one (``cuda:0``); one key makes both find the same model instead of
    loading a second copy onto the GPU."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return str(device)


def full_precision(device: torch.device | str) -> ContextManager[None]:
    """Convolutions in IEEE float32 while metrics run on ``device``: on a CUDA GPU, cuDNN's TF32
    convolutions (on by default in PyTorch) are switched off for the block and restored after.

    TF32 keeps 10 mantissa bits instead of 23: on an H200, LPIPS moved by up to 9e-6 and DISTS by
    1.8e-5 from the CPU values on real photographs, against 3e-8 and 1.8e-7 in IEEE float32
    (tested to 1e-6). On the CPU this is a no-op. Training is not affected.
    """
    if torch.device(device).type != "cuda":
        return nullcontext()
    return _ieee_convolutions()


@contextmanager
def _ieee_convolutions() -> Iterator[None]:
    cudnn = torch.backends.cudnn
    with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic,
                     allow_tf32=False):
        yield
