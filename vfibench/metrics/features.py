"""Per-frame computations that several metrics share, and that a ground truth needs only once.

A metric that compares two frames through some function of each frame alone (a backbone's
activations, local moments, gradient energy, flows to the input frames) names that function here as a
*feature*. :class:`~vfibench.metrics.suite.MetricSuite` computes each named feature once per batch —
so LPIPS and FloLPIPS share one AlexNet pass — and a
:class:`~vfibench.metrics.suite.PreparedReference` keeps the ground truth's features, so scoring
many predictions against one test set computes them once. A feature is a batch-first structure:
a tensor, or a tuple/list/named tuple of them, whose first dimension is the frame.

======================  ==========================================================  ===================
feature                 of each frame                                               used by
======================  ==========================================================  ===================
``alexnet-lpips``       unit-normalised AlexNet activations, LPIPS v0.1 scaling     lpips, flolpips-dis
``vgg16-lpips``         unit-normalised VGG16 activations, LPIPS v0.1 scaling       lpips-vgg
``vgg16-dists``         DISTS representations with their channel means, variances   dists
``ssim-moments``        Gaussian-window local mean and mean of squares (float64)    ssim
``gradient-energy``     mean central-difference gradient magnitude (float64)        sharpness
``dis-flows``           DIS flows to I0 and to I1 (float64)                         flolpips-dis
======================  ==========================================================  ===================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor

from vfibench.metrics import dists as _dists
from vfibench.metrics import flow_metrics as _flow
from vfibench.metrics import lpips_metric as _lpips
from vfibench.metrics.sharpness import mean_gradient_magnitude
from vfibench.metrics.ssim import ssim_moments


@dataclass(frozen=True)
class Feature:
    """One shared per-frame computation.

    Attributes:
        name: key in :data:`FEATURES` and in a prepared reference.
        compute: frames (N, 3, H, W), quantised, on the suite's device (and I0, I1 when
            :attr:`inputs`) → a batch-first structure of tensors on that device.
        inputs: whether it also needs the input frames I0 and I1.
        pixels: the most pixels (frames × H × W) it should be given per call:
            :meth:`~vfibench.metrics.suite.MetricSuite.chunk_size` sizes every chunk to the smallest
            budget of the features it computes. On a CPU the large activations of deep backbones run
            faster in small batches that stay in cache (VGG16 fastest one 256×256 frame at a time,
            AlexNet two 448×256 frames); None: any batch.
    """

    name: str
    compute: Callable[..., Any]
    inputs: bool = False
    pixels: int | None = None

    def __call__(self, frames: Tensor, *inputs: Tensor) -> Any:
        """The feature of ``frames`` (and of the input frames when :attr:`inputs`)."""
        return self.compute(frames, *(inputs if self.inputs else ()))


def _lpips_features(net: str) -> Callable[[Tensor], list[Tensor]]:
    def compute(x: Tensor) -> list[Tensor]:
        return _lpips.lpips_features(x, _lpips.get_lpips(net, x.device))

    return compute


def _dists_features(x: Tensor) -> _dists.DistsFeatures:
    model = _dists.get_dists(x.device)
    with torch.no_grad():
        return model.features(x.to(next(model.parameters()).dtype))


FEATURES: Mapping[str, Feature] = MappingProxyType({feature.name: feature for feature in (
    Feature("alexnet-lpips", _lpips_features("alex"), pixels=1 << 18),
    Feature("vgg16-lpips", _lpips_features("vgg"), pixels=1 << 16),
    Feature("vgg16-dists", _dists_features, pixels=1 << 16),
    Feature("ssim-moments", ssim_moments),
    Feature("gradient-energy", mean_gradient_magnitude),
    Feature("dis-flows", _flow.flows_to_inputs, inputs=True),
)})


def map_tensors(value: Any, fn: Callable[[Tensor], Tensor]) -> Any:
    """``fn`` applied to every tensor of a feature structure (tuples, lists, named tuples kept)."""
    if isinstance(value, Tensor):
        return fn(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(map_tensors(v, fn) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(map_tensors(v, fn) for v in value)
    raise TypeError(f"a feature holds tensors, tuples and lists only, not {type(value).__name__}")


def concat(parts: list[Any]) -> Any:
    """Feature structures of consecutive batches joined along the frame dimension."""
    first = parts[0]
    if isinstance(first, Tensor):
        return torch.cat(parts)
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(concat([p[k] for p in parts]) for k in range(len(first))))
    return type(first)(concat([p[k] for p in parts]) for k in range(len(first)))
