"""DISTS (Ding et al. 2020): deep image structure and texture similarity, on the verified VGG16.

A small re-implementation of the authors' PyTorch code (``DISTS_pytorch/DISTS_pt.py`` of
dingkeyan93/DISTS, package ``DISTS_pytorch`` 0.1), which cannot be used as is because its
constructor downloads VGG16 through torchvision. Here the VGG16 ``features`` come from
:mod:`vfibench.backbones` and the learned weights α, β from ``dists_weights.pt`` beside this file.

``dists_weights.pt`` is the file ``DISTS_pytorch/weights.pt`` of the ``DISTS_pytorch`` 0.1 wheel,
byte for byte (SHA-256 :data:`WEIGHTS_SHA256`), redistributed under its MIT licence:
Copyright (c) 2020 Keyan Ding. Permission is hereby granted, free of charge, to any person
obtaining a copy of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights to use, copy,
modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions: The
above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS
OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
IN THE SOFTWARE.
"""

from __future__ import annotations

import copy
import io
import functools
import hashlib
from importlib import resources
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfibench.backbones.architecture import IMAGENET_MEAN, IMAGENET_STD
from vfibench.errors import VfiBenchError
from vfibench.metrics._common import check_pair, device_key, full_precision

WEIGHTS_FILE = "dists_weights.pt"
WEIGHTS_SHA256 = "f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218"
#: Channels of the six representations compared: the image and VGG16's relu1_2 … relu5_3.
CHANNELS = (3, 64, 128, 256, 512, 512)
#: VGG16 ``features`` index ranges of the five stages; the max-pool before stages 2–5 (indices
#: 4, 9, 16, 23) is replaced by L2 pooling. Index 30 (the last max-pool) is not used.
STAGES = ((0, 4), (5, 9), (10, 16), (17, 23), (24, 30))
C1 = 1e-6
C2 = 1e-6
#: Smallest frame side accepted (four ×2 poolings leave at least 2×2 for relu5_3).
MIN_SIZE = 32


class L2Pooling(nn.Module):
    r"""L2 pooling of Hénaff & Simoncelli: :math:`\sqrt{g * x^2 + 10^{-12}}`, stride 2, per channel.

    :math:`g` is the normalised 3×3 outer product of a Hann window (``numpy.hanning(5)[1:-1]`` =
    [0.5, 1, 0.5]), zero padding 1 — as ``L2pooling`` in the authors' code.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = np.hanning(5)[1:-1]
        window = torch.tensor(taps[:, None] * taps[None, :], dtype=torch.float32)
        window = window / window.sum()
        self.register_buffer("window", window[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        out = F.conv2d(x * x, self.window, stride=2, padding=1, groups=x.shape[1])
        return (out + 1e-12).sqrt()


class DistsFeatures(NamedTuple):
    """One set of frames as DISTS sees it: for the image and each of the five VGG16 stages, the
    representation (N, C, H, W), its spatial mean and population variance per channel (N, C, 1, 1)."""

    reps: list[Tensor]
    means: list[Tensor]
    variances: list[Tensor]


class DISTS(nn.Module):
    r"""DISTS as a module: VGG16 stages with L2 pooling, and the learned weights α, β.

    .. math::
        D(x, y) = 1 - \sum_{i=0}^{5} \sum_{j=1}^{n_i} \left(
            \alpha_{ij} \frac{2\mu^x_{ij}\mu^y_{ij} + c_1}{(\mu^x_{ij})^2 + (\mu^y_{ij})^2 + c_1}
          + \beta_{ij} \frac{2\sigma^{xy}_{ij} + c_2}{(\sigma^x_{ij})^2 + (\sigma^y_{ij})^2 + c_2}
          \right)

    over the image itself (i = 0) and VGG16's relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
    (i = 1…5), with global spatial means μ, population variances σ² and covariance σ^{xy} per
    channel j, c1 = c2 = 1e-6, and α, β normalised to sum to 1 together. Inputs are normalised with
    the ImageNet mean and standard deviation before the first stage. The structure terms lie in
    [0, 1] (the image and ReLU features are non-negative) and the texture terms in [−1, 1], so
    D ∈ [0, 1 + Σβ] with Σβ = 0.124. In float32 an exact match scores within a few 1e-7 of 0, on
    either side; values below 0 are clamped to 0 (the authors' code returns them as they fall).

    Args:
        features: torchvision ``vgg16().features`` (31 layers) with the weights to use; it is
            copied, not modified.
        alpha, beta: the learned weights, shape (1, 1475, 1, 1).
    """

    def __init__(self, features: nn.Sequential, alpha: Tensor, beta: Tensor) -> None:
        super().__init__()
        if len(features) != 31 or any(not isinstance(features[i], nn.MaxPool2d) for i in (4, 9, 16, 23)):
            raise VfiBenchError(
                "DISTS needs torchvision's vgg16().features (31 layers, max-pooling at 4, 9, 16, 23); "
                f"got a module of {len(features)} layers."
            )
        total = sum(CHANNELS)
        for label, weight in (("alpha", alpha), ("beta", beta)):
            if tuple(weight.shape) != (1, total, 1, 1):
                raise VfiBenchError(
                    f"DISTS {label} must have shape (1, {total}, 1, 1), got {tuple(weight.shape)}."
                )
        features = copy.deepcopy(features)
        stages = []
        for k, (start, stop) in enumerate(STAGES):
            layers = [] if k == 0 else [L2Pooling(CHANNELS[k])]
            layers += [features[i] for i in range(start, stop)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.register_buffer("alpha", alpha.detach().clone().float())
        self.register_buffer("beta", beta.detach().clone().float())

    def representations(self, x: Tensor) -> list[Tensor]:
        """The image and its five stage outputs (relu1_2 … relu5_3)."""
        outputs = [x]
        # channels-last: the same values, computed about 1.5× faster by oneDNN on CPU
        h = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        for stage in self.stages:
            h = stage(h)
            outputs.append(h)
        return outputs

    def features(self, x: Tensor) -> DistsFeatures:
        """What DISTS compares of one set of frames: the six representations and their per-channel
        spatial means μ and population variances σ² (each a list of six tensors, batch first)."""
        with full_precision(x.device):
            reps = self.representations(x)
        means = [f.mean([2, 3], keepdim=True) for f in reps]
        variances = [((f - m) ** 2).mean([2, 3], keepdim=True) for f, m in zip(reps, means)]
        return DistsFeatures(reps, means, variances)

    def compare(self, fx: DistsFeatures, fy: DistsFeatures) -> Tensor:
        """DISTS from two sets of :meth:`features` (N frames each) → (N,)."""
        w_sum = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / w_sum, CHANNELS, dim=1)
        betas = torch.split(self.beta / w_sum, CHANNELS, dim=1)
        structure = texture = 0
        for k, (alpha, beta) in enumerate(zip(alphas, betas)):
            mean_x, mean_y = fx.means[k], fy.means[k]
            s1 = (2 * mean_x * mean_y + C1) / (mean_x**2 + mean_y**2 + C1)
            structure = structure + (alpha * s1).sum(1, keepdim=True)
            cov_xy = (fx.reps[k] * fy.reps[k]).mean([2, 3], keepdim=True) - mean_x * mean_y
            s2 = (2 * cov_xy + C2) / (fx.variances[k] + fy.variances[k] + C2)
            texture = texture + (beta * s2).sum(1, keepdim=True)
        # identical frames give 1 - (structure + texture) within a few float32 steps of 0, on either side
        # (the weights' sum and the covariance round): clamped below, so no distance is negative
        return (1 - (structure + texture)).clamp_min(0).reshape(-1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """DISTS between each pair of images (N, 3, H, W) in [0, 1] → (N,)."""
        return self.compare(self.features(x), self.features(y))


def load_alpha_beta() -> tuple[Tensor, Tensor]:
    """The authors' learned α and β from ``dists_weights.pt``, after checking the file's SHA-256."""
    data = resources.files("vfibench.metrics").joinpath(WEIGHTS_FILE).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise VfiBenchError(
            f"The DISTS weights file {WEIGHTS_FILE} in the vfibench package is damaged (SHA-256 {digest}, "
            f"expected {WEIGHTS_SHA256}). Reinstall vfibench."
        )

    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return state["alpha"], state["beta"]


def build_dists(features: nn.Sequential | None = None, device: torch.device | str = "cpu") -> DISTS:
    """A fresh DISTS model on ``device``, in eval mode with gradients disabled.

    Args:
        features: VGG16 ``features`` to use; None loads the verified ImageNet ones with
            :func:`vfibench.backbones.load_features`, which raises
            :class:`~vfibench.errors.BackboneUnavailable` (with the fix) when they are absent.
            Anything else (random weights in a test) does not give real DISTS values.
        device: where the model lives.
    """
    if features is None:
        from vfibench import backbones

        features = backbones.load_features("vgg16")
    alpha, beta = load_alpha_beta()
    model = DISTS(features, alpha, beta).to(device=device, memory_format=torch.channels_last)
    return model.eval().requires_grad_(False)


@functools.lru_cache(maxsize=4)
def _cached_dists(device: str) -> DISTS:
    return build_dists(device=device)


def get_dists(device: torch.device | str = "cpu") -> DISTS:
    """The process-wide DISTS model for ``device`` with the verified backbone, built once."""
    return _cached_dists(device_key(device))


def clear_cache() -> None:
    """Forget the cached DISTS models (they are rebuilt on next use)."""
    _cached_dists.cache_clear()


def dists(pred: Tensor, gt: Tensor, model: nn.Module | None = None) -> Tensor:
    r"""DISTS of each predicted frame to its ground truth (formula in :class:`DISTS`).

    Conventions: RGB in [0, 1], ImageNet normalisation inside, **no resize** (the authors' code
    offers an optional resize of the short side to 256; the calibration values are without it,
    and so is this), float32, no gradients. Unlike LPIPS it compares global statistics of each
    feature map, so it tolerates texture that is resampled rather than reproduced pixel for pixel.

    Args:
        pred: predicted frames, (N, 3, H, W), values in [0, 1], at least 32×32.
        gt: ground-truth frames, same shape.
        model: a :class:`DISTS` to use instead of the cached one with verified weights (on the
            inputs' device).

    Returns:
        (N,) float64 tensor on the inputs' device, ≈ 0 for identical frames; lower is better.

    Example:
        >>> gt = torch.rand(2, 3, 64, 64)
        >>> dists(gt, gt)  # doctest: +SKIP
        tensor([0., 0.], dtype=torch.float64)

    Reference: K. Ding, K. Ma, S. Wang, E. P. Simoncelli, "Image quality assessment: unifying
    structure and texture similarity", IEEE TPAMI 44(5), 2020; code dingkeyan93/DISTS.
    """
    check_pair(pred, gt, "dists", min_size=MIN_SIZE)
    if model is None:
        model = get_dists(pred.device)
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        distance = model(pred.to(dtype), gt.to(dtype))
    return distance.to(torch.float64)
