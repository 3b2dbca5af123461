"""One record per metric name: how to compute it, which way is better, what it needs, its source.

The records themselves (everything but the computation) live in the torch-free
:mod:`vfibench.metrics.records`; this module adds each metric's compute function and the model it
prepares, and, for the metrics that compare per-frame features (:mod:`vfibench.metrics.features`),
which features and how. Generic code (the suite, tables, rankings, the perception–distortion plane) reads these
records and never branches on a metric's name. Names are lower-case; lookups are case-insensitive.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor

from vfibench.metrics.records import RECORDS, MetricRecord, metric_record
from vfibench.metrics import dists as _dists
from vfibench.metrics import flow_metrics as _flow
from vfibench.metrics import lpips_metric as _lpips
from vfibench.metrics.features import FEATURES
from vfibench.metrics.gmsd import gmsd
from vfibench.metrics.interpolation_error import interpolation_error
from vfibench.metrics.psnr import psnr
from vfibench.metrics.sharpness import EPS as SHARPNESS_EPS, sharpness_ratio
from vfibench.metrics.ssim import ssim, ssim_from_moments


@dataclass(frozen=True, kw_only=True)
class MetricInfo(MetricRecord):
    """A metric's record (:class:`~vfibench.metrics.records.MetricRecord`) with its computation.

    Attributes:
        compute: the per-frame function, (N, 3, H, W) × 2 in [0, 1] → (N,)
            (``compute(pred, gt, i0, i1)`` when :attr:`inputs`).
        prepare: builds (and caches) whatever model the metric runs on a device, so a missing or
            broken backbone fails before any work; None for weight-free metrics.
        features: the shared per-frame computations (:data:`~vfibench.metrics.features.FEATURES`)
            the metric compares; empty when it works on the frames directly.
        compare: the metric from those features, ``compare(pred, gt, feats_pred, feats_gt[, i0, i1])``
            with one entry per name of :attr:`features` in each tuple, → (N,) float64; equal to
            :attr:`compute`, which is the same computation in one call.
    """

    compute: Callable[..., Tensor] = field(repr=False, compare=False)
    prepare: Callable[[torch.device], object] | None = field(default=None, repr=False, compare=False)
    features: tuple[str, ...] = field(default=(), compare=False)
    compare: Callable[..., Tensor] | None = field(default=None, repr=False, compare=False)


def _lpips_compare(net: str) -> Callable[..., Tensor]:
    def compare(pred: Tensor, gt: Tensor, fp: tuple[Any, ...], fg: tuple[Any, ...]) -> Tensor:
        return _lpips.lpips_from_features(fp[0], fg[0], _lpips.get_lpips(net, pred.device))

    return compare


def _dists_compare(pred: Tensor, gt: Tensor, fp: tuple[Any, ...], fg: tuple[Any, ...]) -> Tensor:
    with torch.no_grad():
        return _dists.get_dists(pred.device).compare(fp[0], fg[0]).to(torch.float64)


def _ssim_compare(pred: Tensor, gt: Tensor, fp: tuple[Any, ...], fg: tuple[Any, ...]) -> Tensor:
    return ssim_from_moments(pred, gt, fp[0], fg[0])


def _sharpness_compare(pred: Tensor, gt: Tensor, fp: tuple[Any, ...], fg: tuple[Any, ...]) -> Tensor:
    return (fp[0] + SHARPNESS_EPS) / (fg[0] + SHARPNESS_EPS)


def _flolpips_compare(pred: Tensor, gt: Tensor, fp: tuple[Any, ...], fg: tuple[Any, ...], i0: Tensor,
                      i1: Tensor) -> Tensor:
    weight = _flow.flow_weight_from(fp[1], fg[1])
    return _flow.flolpips_from_features(fp[0], fg[0], weight, _lpips.get_lpips("alex", pred.device))


#: name → (compute, prepare).
_COMPUTE: Mapping[str, tuple[Callable[..., Tensor], Callable[[torch.device], object] | None]] = {
    "psnr": (psnr, None),
    "ssim": (ssim, None),
    "lpips": (functools.partial(_lpips.lpips, net="alex"), functools.partial(_lpips.get_lpips, "alex")),
    "lpips-vgg": (functools.partial(_lpips.lpips, net="vgg"), functools.partial(_lpips.get_lpips, "vgg")),
    "dists": (_dists.dists, _dists.get_dists),
    "sharpness": (sharpness_ratio, None),
    "gmsd": (gmsd, None),
    "ie": (interpolation_error, None),
    "flolpips-dis": (_flow.flolpips_dis, functools.partial(_lpips.get_lpips, "alex")),
    "psnr-div": (_flow.psnr_div, None),
}
#: name → (features, compare) for the metrics that compare per-frame features (:mod:`.features`).
_COMPARE: Mapping[str, tuple[tuple[str, ...], Callable[..., Tensor]]] = {
    "ssim": (("ssim-moments",), _ssim_compare),
    "lpips": (("alexnet-lpips",), _lpips_compare("alex")),
    "lpips-vgg": (("vgg16-lpips",), _lpips_compare("vgg")),
    "dists": (("vgg16-dists",), _dists_compare),
    "sharpness": (("gradient-energy",), _sharpness_compare),
    "flolpips-dis": (("alexnet-lpips", "dis-flows"), _flolpips_compare),
}
_MIN_SIZES = {"lpips": _lpips.MIN_SIZE, "lpips-vgg": _lpips.MIN_SIZE, "flolpips-dis": _lpips.MIN_SIZE,
              "dists": _dists.MIN_SIZE}
if any(metric_record(name).min_size != size for name, size in _MIN_SIZES.items()):  # pragma: no cover
    raise RuntimeError("vfibench.metrics.records disagrees with a metric module's MIN_SIZE")

METRICS: Mapping[str, MetricInfo] = MappingProxyType(
    {r.name: MetricInfo(**asdict(r), compute=_COMPUTE[r.name][0], prepare=_COMPUTE[r.name][1],
                        features=_COMPARE.get(r.name, ((), None))[0], compare=_COMPARE.get(r.name, ((), None))[1])
     for r in RECORDS})
if any(name not in FEATURES for info in METRICS.values() for name in info.features):  # pragma: no cover
    raise RuntimeError("a metric names a feature vfibench.metrics.features does not define")


def metric_names() -> tuple[str, ...]:
    """Every registered metric name, in table order."""
    return tuple(METRICS)


def metric_info(name: str) -> MetricInfo:
    """The record for ``name`` (case-insensitive); an unknown name raises with the closest names."""
    return METRICS[metric_record(name).name]
