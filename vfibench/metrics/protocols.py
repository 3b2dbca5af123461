"""PSNR/SSIM as each VFI code base computes them: named protocols, so a table can show how far
the protocol alone moves the numbers.

Every protocol is a function ``(pred, gt) -> (psnr, ssim)`` over (N, 3, H, W) RGB frames in
[0, 1] returning two (N,) float64 tensors; a set is summarised by the mean of per-frame values in
every protocol. What each does to borders, rounding and colour:

==================  ==========================================================================  ===============================
protocol            PSNR / SSIM                                                                 follows
==================  ==========================================================================  ===============================
``vfibench``        RGB, capped at 100 dB / Gaussian σ 1.5 per channel, valid region            :mod:`vfibench.metrics.psnr`,
                                                                                                :mod:`vfibench.metrics.ssim`
``rife``            prediction rounded to 8 bits; RGB / ``ssim_matlab`` of the rounded          hzwer/ECCV2022-RIFE
                    prediction                                                                  ``benchmark/UCF101.py``,
                                                                                                ``Vimeo90K.py``
``ifrnet``          float prediction, no rounding; RGB / ``ssim_matlab``                        ltkong218/IFRNet ``metric.py``;
                                                                                                EMA-VFI ``Vimeo90K.py``
``film``            prediction clipped to [0, 1], no rounding; RGB, no cap / TF-style SSIM      google-research/frame-
                    (Gaussian 11×11 σ 1.5, valid, per channel)                                  interpolation ``eval/eval_cli.py``
                                                                                                (clip), ``losses/losses.py``
``y-channel``       BT.601 studio-range luma Y = (65.481 R + 128.553 G + 24.966 B + 16)/255,    BasicSR ``metrics/psnr_ssim.py``
                    not rounded / Gaussian SSIM on Y, valid region                              (``test_y_channel=True``)
``skimage-default`` RGB / ``structural_similarity(channel_axis=-1, data_range=1)`` with its     scikit-image defaults, as
                    defaults: 7×7 uniform window, sample covariance, 3-pixel border cropped     EMA-VFI ``benchmark/Xiph.py``
                                                                                                and softmax splatting's
                                                                                                ``benchmark_middlebury.py``,
                                                                                                ``benchmark_xiph.py`` call them
==================  ==========================================================================  ===============================

``rife`` follows RIFE's ``UCF101.py`` and ``Vimeo90K.py``, which both round the prediction to 8 bits
before both metrics. Softmax splatting's scripts round the prediction to 8 bits before calling
scikit-image. On saved 8-bit frames, which ``vfibench eval`` scores, the rounding changes nothing.

``ema-vfi`` names no protocol of its own: MCG-NJU/EMA-VFI's ``benchmark/`` scripts score each test
set their own way (:data:`EMA_VFI_PROTOCOLS`), so it stands for ``rife`` on ``ucf101``, ``ifrnet``
on ``vimeo90k`` and ``snufilm``, and ``skimage-default`` on ``xiph``; on Middlebury those scripts
report only the interpolation error (the ``ie`` metric).

``ssim_matlab`` (RIFE ``model/pytorch_msssim/__init__.py``, IFRNet ``metric.py``) treats the colour channels
as a third dimension: one 11×11×11 Gaussian window (σ = 1.5 in every direction) over (C, H, W),
every side replicate-padded by 5 (so the 3 channels become 13 and the output keeps the input's
shape), data range 1, the mean over every output value. Symmetric in the channel order, so RGB
and OpenCV's BGR give the same value.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import Tensor

from vfibench.errors import VfiBenchError
from vfibench.metrics._common import check_pair, levels_to_unit_
from vfibench.metrics.psnr import psnr as vfibench_psnr
from vfibench.metrics.ssim import K1, K2, SIGMA, gaussian_window, separable_blur, ssim as vfibench_ssim, ssim_map

ProtocolFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
#: BT.601 studio-range luma weights on [0, 1] RGB (ITU-R BT.601, as BasicSR's ``rgb2ycbcr``).
BT601_Y = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)
BT601_OFFSET = 16.0 / 255.0
#: scikit-image's default SSIM window side.
SKIMAGE_WINDOW = 7


def plain_psnr(pred: Tensor, gt: Tensor) -> Tensor:
    """−10·log10(mean squared error) per frame over every pixel and channel, data range 1, no cap."""
    mse = (pred.to(torch.float64) - gt.to(torch.float64)).square().flatten(1).mean(dim=1)
    return -10.0 * torch.log10(mse)


def _replicate_blur_channels(z: Tensor, weights: list[float]) -> Tensor:
    """The valid filtering by ``weights`` along dim 1 of (M, C, H, W), after replicating the first and
    last channel ``len(weights) // 2`` times; (M, C, H, W) out.

    With replicate padding, output channel j is Σ_k w_k · z[clamp(j + k − r, 0, C − 1)]: a C × C
    mixing of the channels, whose coefficients gather the taps that land on the same channel
    (C² weighted sums of planes, no padded copy)."""
    radius, channels = len(weights) // 2, z.shape[1]
    mixing = [[0.0] * channels for _ in range(channels)]
    for j in range(channels):
        for k, weight in enumerate(weights):
            mixing[j][min(max(j + k - radius, 0), channels - 1)] += weight
    out = torch.empty_like(z)
    for j in range(channels):
        torch.mul(z[:, 0], mixing[j][0], out=out[:, j])
        for i in range(1, channels):
            out[:, j].add_(z[:, i], alpha=mixing[j][i])
    return out


def ssim_matlab(pred: Tensor, gt: Tensor) -> Tensor:
    """The RIFE/IFRNet ``ssim_matlab`` per frame (module docstring): 3-D Gaussian over (C, H, W),
    replicate padding of 5, data range 1, mean of the whole map. (N, C, H, W) → (N,) float64.

    The 11×11×11 window is the outer product of one Gaussian, and replicate padding along one axis
    commutes with filtering along another: so the channels are filtered first (3 planes out of 13
    padded ones), then each plane is padded in H and W and blurred by the float64 shifted-view filter
    of :func:`~vfibench.metrics.ssim.separable_blur` — the same sums as the 3-D convolution, to
    float64 rounding, at 3·11 instead of 11³ products per voxel and without torch's slow float64
    ``conv3d`` (and its unfolded copies, gigabytes on large frames)."""
    taps = gaussian_window(SIGMA, dtype=torch.float64)  # 11 taps for σ = 1.5, read as Python floats below
    radius = taps.numel() // 2
    x, y = pred.to(torch.float64), gt.to(torch.float64)
    n, c, h, w = x.shape
    volumes = _replicate_blur_channels(torch.cat((x, y, x * x, y * y, x * y)), taps.tolist())
    planes = F.pad(volumes.reshape(5 * n * c, 1, h, w), (radius,) * 4, mode="replicate")
    blurred = separable_blur(planes, taps).reshape(5 * n, c, h, w)
    mu_x, mu_y, e_xx, e_yy, e_xy = blurred.split(n)
    var_x = e_xx - mu_x**2
    var_y = e_yy - mu_y**2
    cov = e_xy - mu_x * mu_y
    c1, c2 = K1**2, K2**2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return value.flatten(1).mean(dim=1)


def bt601_luma(x: Tensor) -> Tensor:
    """Studio-range BT.601 Y of [0, 1] RGB, (N, 3, H, W) → (N, 1, H, W), in [16/255, 235/255]."""
    weights = torch.tensor(BT601_Y, dtype=torch.float64, device=x.device).view(1, 3, 1, 1)
    return (x.to(torch.float64) * weights).sum(dim=1, keepdim=True) + BT601_OFFSET


def uniform_ssim(pred: Tensor, gt: Tensor, window: int = SKIMAGE_WINDOW) -> Tensor:
    """scikit-image's default SSIM per frame: ``window``² uniform window, sample covariance
    (×w²/(w²−1)), data range 1, the mean over the region ``window // 2`` from every border, then
    over channels."""
    n, c, h, w = pred.shape
    x = pred.to(torch.float64).reshape(n * c, 1, h, w)
    y = gt.to(torch.float64).reshape(n * c, 1, h, w)
    box = torch.full((window,), 1.0 / window, dtype=torch.float64)  # separable: 1/w²; read as Python floats
    mu_x, mu_y, e_xx, e_yy, e_xy = separable_blur(torch.cat((x, y, x * x, y * y, x * y)), box).chunk(5)
    norm = window**2 / (window**2 - 1)
    var_x, var_y, cov = norm * (e_xx - mu_x**2), norm * (e_yy - mu_y**2), norm * (e_xy - mu_x * mu_y)
    c1, c2 = K1**2, K2**2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return value.reshape(n, c, -1).mean(dim=2).mean(dim=1)


def _round8(x: Tensor) -> Tensor:
    return levels_to_unit_(torch.round(x.to(torch.float64) * 255.0))


def vfibench_protocol(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """vfibench's own PSNR and SSIM (:func:`~vfibench.metrics.psnr.psnr`, :func:`~vfibench.metrics.ssim.ssim`)."""
    return vfibench_psnr(pred, gt), vfibench_ssim(pred, gt)


def rife_protocol(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """RIFE ``benchmark/UCF101.py``: prediction rounded to 8-bit levels, RGB PSNR, ``ssim_matlab``."""
    out = _round8(pred)
    return plain_psnr(out, gt), ssim_matlab(gt, out)


def ifrnet_protocol(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """IFRNet ``metric.py`` / EMA-VFI ``Vimeo90K.py``, ``SNU_FILM.py``: float prediction, RGB PSNR, ``ssim_matlab``."""
    return plain_psnr(pred, gt), ssim_matlab(pred, gt)


def film_protocol(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """FILM ``losses/losses.py``: ``tf.image.psnr`` and ``tf.image.ssim`` with ``max_val=1`` on the
    prediction ``eval/eval_cli.py`` clipped to [0, 1] (Gaussian 11×11 σ 1.5, valid convolution, per
    channel, mean)."""
    out = pred.to(torch.float64).clamp(0.0, 1.0)
    return plain_psnr(out, gt), ssim_map(out, gt.to(torch.float64)).mean(dim=(1, 2, 3))


def y_channel_protocol(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """BasicSR ``psnr_ssim.py`` with ``test_y_channel=True``: PSNR and Gaussian SSIM on BT.601 luma."""
    y_pred, y_gt = bt601_luma(pred), bt601_luma(gt)
    return plain_psnr(y_pred, y_gt), ssim_map(y_pred, y_gt).mean(dim=(1, 2, 3))


def skimage_default_protocol(pred: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """scikit-image defaults (what EMA-VFI's ``benchmark/Xiph.py`` and softmax splatting's
    ``benchmark_middlebury.py`` and ``benchmark_xiph.py`` call): RGB PSNR, 7×7 uniform SSIM."""
    return plain_psnr(pred, gt), uniform_ssim(pred, gt)


@dataclass(frozen=True)
class Protocol:
    """One named way to compute PSNR and SSIM."""

    name: str
    description: str
    source: str
    compute: ProtocolFn


_RECORDS = (
    Protocol("vfibench", "RGB, 100 dB cap; Gaussian SSIM per channel (skimage gaussian_weights=True)",
             "vfibench.metrics.psnr / ssim", vfibench_protocol),
    Protocol("rife", "prediction rounded to 8 bits; RGB PSNR; 3-D ssim_matlab",
             "hzwer/ECCV2022-RIFE benchmark/UCF101.py", rife_protocol),
    Protocol("ifrnet", "float prediction; RGB PSNR; 3-D ssim_matlab (EMA-VFI on Vimeo-90K and SNU-FILM the same)",
             "ltkong218/IFRNet metric.py, MCG-NJU/EMA-VFI benchmark/Vimeo90K.py", ifrnet_protocol),
    Protocol("film", "clipped, not rounded; tf.image.psnr / tf.image.ssim (Gaussian 11x11, valid)",
             "google-research/frame-interpolation eval/eval_cli.py, losses/losses.py", film_protocol),
    Protocol("y-channel", "BT.601 luma Y; PSNR and Gaussian SSIM on Y",
             "BasicSR metrics/psnr_ssim.py (test_y_channel=True)", y_channel_protocol),
    Protocol("skimage-default", "RGB PSNR; skimage SSIM defaults: 7x7 uniform window, sample covariance",
             "skimage.metrics.structural_similarity; MCG-NJU/EMA-VFI benchmark/Xiph.py; sniklaus/softmax-splatting "
             "benchmark_middlebury.py, benchmark_xiph.py", skimage_default_protocol),
)
PROTOCOLS: Mapping[str, Protocol] = MappingProxyType({p.name: p for p in _RECORDS})
#: Other names accepted for a protocol.
ALIASES = MappingProxyType({"skimage": "skimage-default", "y": "y-channel"})
#: The protocol MCG-NJU/EMA-VFI's ``benchmark/<set>.py`` computes, per test set (dataset spec kind):
#: ``UCF101.py`` rounds the prediction, ``Vimeo90K.py`` and ``SNU_FILM.py`` do not, ``Xiph.py`` calls
#: scikit-image with its defaults. ``MiddleBury.py`` reports only the interpolation error (``ie``).
EMA_VFI_PROTOCOLS = MappingProxyType({"ucf101": "rife", "vimeo90k": "ifrnet", "snufilm": "ifrnet",
                                      "xiph": "skimage-default"})
#: Names whose protocol depends on the test set: name → (set kind → protocol).
SET_ALIASES = MappingProxyType({"ema-vfi": EMA_VFI_PROTOCOLS, "emavfi": EMA_VFI_PROTOCOLS})


def _set_alias(word: str, test_set: str | None) -> str:
    """The protocol a set-dependent name (``ema-vfi``) stands for on ``test_set``; a VfiBenchError when
    that code base publishes no PSNR/SSIM protocol for it (or the ground truth is a plain folder)."""
    table = SET_ALIASES[word]
    if test_set in table:
        return table[test_set]
    sets = "; ".join(f"{protocol} on {' and '.join(k for k, v in table.items() if v == protocol)}"
                     for protocol in dict.fromkeys(table.values()))
    given = test_set or "a plain folder of ground-truth frames"
    middlebury = (f" On middlebury its script reports only the interpolation error, which --metrics ie computes: "
                  f"leave out --protocols {word} to score as it does." if test_set == "middlebury" else "")
    raise VfiBenchError(f"--protocols {word} depends on the test set: EMA-VFI's benchmark scripts compute PSNR and "
                        f"SSIM differently per set ({sets}) and none on {given}.{middlebury} Name the protocol "
                        f"itself (e.g. --protocols ifrnet), or give --gt as one of those sets.")


def parse_protocols(text: str, test_set: str | None = None) -> list[str]:
    """``all`` or a comma-separated list of protocol names → canonical names in order.

    ``test_set`` is the kind of the ``--gt`` dataset spec (``"ucf101"``, …; None for a folder of
    frames), which a set-dependent name such as ``ema-vfi`` (:data:`SET_ALIASES`) needs."""
    words = [w.strip().lower() for w in text.split(",")]
    if not any(words):
        raise VfiBenchError("--protocols names no protocol; write all or e.g. vfibench,rife,y-channel.")
    if not all(words):
        raise VfiBenchError(f"--protocols {text!r} has an empty item (two commas in a row, or a comma at an end); "
                            f"write all or e.g. vfibench,rife,y-channel.")
    if words == ["all"]:
        return list(PROTOCOLS)
    if "all" in words:
        raise VfiBenchError(f"--protocols {text!r} names 'all' beside other protocols; write --protocols all "
                            f"alone, or list only the ones wanted (e.g. --protocols vfibench,rife,y-channel).")
    repeated = sorted({word for word in words if words.count(word) > 1})
    if repeated:
        raise VfiBenchError(f"--protocols {text!r} names {', '.join(repeated)} more than once; name each protocol once.")
    names: list[str] = []
    for word in words:  # an alias of one named beside it (rife and ema-vfi on ucf101) is computed once
        name = _set_alias(word, test_set) if word in SET_ALIASES else ALIASES.get(word, word)
        if name not in PROTOCOLS:
            close = difflib.get_close_matches(word, [*PROTOCOLS, *ALIASES, *SET_ALIASES], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise VfiBenchError(f"Unknown protocol {word!r}.{hint} Protocols: all, {', '.join(PROTOCOLS)}; "
                                f"ema-vfi stands for the one EMA-VFI uses on the --gt test set.")
        if name not in names:
            names.append(name)
    return names


def protocol_scores(pred: Tensor, gt: Tensor, names: list[str] | None = None) -> dict[str, tuple[Tensor, Tensor]]:
    """PSNR and SSIM of each frame under each protocol (all by default): name → ((N,), (N,)).

    One frame at a time: each protocol holds a few dozen float64 copies of its input (moments,
    padded planes, maps), so a batch at once would hold them for every frame (gigabytes at 4K).
    A frame's scores do not depend on the others in its batch."""
    check_pair(pred, gt, "protocols", min_size=11)
    chosen = names or list(PROTOCOLS)
    if pred.shape[0] == 0:
        empty = torch.empty(0, dtype=torch.float64, device=pred.device)
        return {name: (empty, empty) for name in chosen}
    frames = [{name: PROTOCOLS[name].compute(pred[k:k + 1], gt[k:k + 1]) for name in chosen}
              for k in range(pred.shape[0])]
    return {name: (torch.cat([frame[name][0] for frame in frames]), torch.cat([frame[name][1] for frame in frames]))
            for name in chosen}
