"""One record per metric name: how to compute it, which way is better, what it needs, its source.

The records themselves (everything but the computation) live in the torch-free
:mod:`vfibench.metrics.records`; this module adds each metric's compute function and the model it
prepares. Generic code (the suite, tables, rankings, the perception–distortion plane) reads these
records and never branches on a metric's name. Names are lower-case; lookups are case-insensitive.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType

import torch
from torch import Tensor

from vfibench.metrics.records import RECORDS, MetricRecord, metric_record
from vfibench.metrics import dists as _dists
from vfibench.metrics import flow_metrics as _flow
from vfibench.metrics import lpips_metric as _lpips
from vfibench.metrics.gmsd import gmsd
from vfibench.metrics.psnr import psnr
from vfibench.metrics.sharpness import sharpness_ratio
from vfibench.metrics.ssim import ssim

MetricFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True, kw_only=True)
class MetricInfo(MetricRecord):
    """A metric's record (:class:`~vfibench.metrics.records.MetricRecord`) with its computation.

    Attributes:
        compute: the per-frame function, (N, 3, H, W) × 2 in [0, 1] → (N,)
            (``compute(pred, gt, i0, i1)`` when :attr:`inputs`).
        prepare: builds (and caches) whatever model the metric runs on a device, so a missing or
            broken backbone fails before any work; None for weight-free metrics.
    """

    compute: Callable[..., Tensor] = field(repr=False, compare=False)
    prepare: Callable[[torch.device], object] | None = field(default=None, repr=False, compare=False)


#: name → (compute, prepare).
_COMPUTE: Mapping[str, tuple[Callable[..., Tensor], Callable[[torch.device], object] | None]] = {
    "psnr": (psnr, None),
    "ssim": (ssim, None),
    "lpips": (functools.partial(_lpips.lpips, net="alex"), functools.partial(_lpips.get_lpips, "alex")),
    "lpips-vgg": (functools.partial(_lpips.lpips, net="vgg"), functools.partial(_lpips.get_lpips, "vgg")),
    "dists": (_dists.dists, _dists.get_dists),
    "sharpness": (sharpness_ratio, None),
    "gmsd": (gmsd, None),
    "flolpips-dis": (_flow.flolpips_dis, functools.partial(_lpips.get_lpips, "alex")),
    "psnr-div": (_flow.psnr_div, None),
}
_MIN_SIZES = {"lpips": _lpips.MIN_SIZE, "lpips-vgg": _lpips.MIN_SIZE, "flolpips-dis": _lpips.MIN_SIZE,
              "dists": _dists.MIN_SIZE}
if any(metric_record(name).min_size != size for name, size in _MIN_SIZES.items()):  # pragma: no cover
    raise RuntimeError("vfibench.metrics.records disagrees with a metric module's MIN_SIZE")

METRICS: Mapping[str, MetricInfo] = MappingProxyType(
    {r.name: MetricInfo(**asdict(r), compute=_COMPUTE[r.name][0], prepare=_COMPUTE[r.name][1]) for r in RECORDS})


def metric_names() -> tuple[str, ...]:
    """Every registered metric name, in table order."""
    return tuple(METRICS)


def metric_info(name: str) -> MetricInfo:
    """The record for ``name`` (case-insensitive); an unknown name raises with the closest names."""
    return METRICS[metric_record(name).name]
