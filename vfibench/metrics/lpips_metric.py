"""LPIPS (Zhang et al. 2018), version 0.1, on verified ImageNet backbones.

The network is the one of the ``lpips`` package (richzhang/PerceptualSimilarity), rebuilt here
module for module (:class:`LPIPSNetwork`): its [-1, 1] → ImageNet scaling layer, the AlexNet or
VGG16 trunk cut into the package's five slices, unit normalisation of each layer over channels,
the learned 1×1 linear layers, spatial averaging. The trunk gets the verified torchvision weights
from :mod:`vfibench.backbones`; the linear layers come from the weight files the ``lpips`` package
ships (``weights/v0.1/<net>.pth``), found without importing the package — its import pulls in
torchvision, more than a second of every command's start-up. Tests check the values equal the
package's own ``lpips.LPIPS`` on the same weights.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from vfibench.errors import VfiBenchError
from vfibench.metrics._common import check_pair, device_key, full_precision

#: LPIPS trunk name (as the ``lpips`` package spells it) → vfibench backbone name.
BACKBONE_OF: Mapping[str, str] = {"alex": "alexnet", "vgg": "vgg16"}
#: Smallest frame side the trunks accept (AlexNet's stride-4 stem and two poolings).
MIN_SIZE = 32
#: Where the ``lpips`` package cuts each trunk's ``features`` into its five compared slices
#: (the slice ends after relu1 … relu5).
SLICE_ENDS: Mapping[str, tuple[int, ...]] = {"alex": (2, 5, 8, 10, 12), "vgg": (4, 9, 16, 23, 30)}
#: The scaling layer's constants (``lpips.ScalingLayer``): ImageNet statistics in [-1, 1] units.
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
#: ``lpips.normalize_tensor``'s ε.
NORM_EPS = 1e-10


def _check_net(net: str) -> str:
    if net not in BACKBONE_OF:
        raise VfiBenchError(
            f"Unknown LPIPS network '{net}': choose one of {', '.join(sorted(BACKBONE_OF))} "
            "('alex' is the LPIPS v0.1 default)."
        )
    return net


def linear_weights_path(net: str) -> Path:
    """The learned linear-layer weights the ``lpips`` package ships for ``net`` (v0.1), found
    without importing the package."""
    _check_net(net)
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        raise VfiBenchError("LPIPS needs the learned linear weights the `lpips` package ships, and it is not "
                            "installed. Install it with `pip install lpips`.")
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "v0.1" / f"{net}.pth"
    if not path.is_file():
        raise VfiBenchError(f"The `lpips` package has no {path.name} at {path}; reinstall it with "
                            f"`pip install --force-reinstall lpips`.")
    return path


class ScalingLayer(nn.Module):
    """``(x − shift) / scale`` per channel: [-1, 1] inputs in the units of the ImageNet-trained trunk."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor(SHIFT)[None, :, None, None])
        self.register_buffer("scale", torch.tensor(SCALE)[None, :, None, None])

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.shift) / self.scale


class Trunk(nn.Module):
    """A backbone's ``features`` cut into five slices, each keeping its layers' original indices
    (``slice2.3`` is ``features[3]``); ``forward`` returns the five slices' outputs."""

    def __init__(self, features: nn.Sequential, ends: Sequence[int]) -> None:
        super().__init__()
        start = 0
        for k, end in enumerate(ends, start=1):
            block = nn.Sequential()
            for index in range(start, end):
                block.add_module(str(index), features[index])
            self.add_module(f"slice{k}", block)
            start = end

    def channels(self, k: int) -> int:
        """Channels of slice ``k``'s output (0-based): its last convolution's."""
        block = list(self.children())[k]
        return next(m.out_channels for m in reversed(list(block)) if isinstance(m, nn.Conv2d))

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs = []
        for block in self.children():
            x = block(x)
            outputs.append(x)
        return outputs


class LinearLayer(nn.Module):
    """One learned layer weight: dropout (inactive in eval) and a 1×1 convolution to one channel,
    without bias, under the package's names (``model.1.weight``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, kernel_size=1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class LPIPSNetwork(nn.Module):
    """The LPIPS v0.1 network: ``scaling_layer``, ``net`` (the five-slice trunk) and ``lins`` (one
    :class:`LinearLayer` per slice), the attributes :func:`lpips_features` and
    :func:`lpips_from_features` use — which an ``lpips.LPIPS`` also has, so either can be passed."""

    def __init__(self, net: str = "alex") -> None:
        from vfibench import backbones

        super().__init__()
        self.scaling_layer = ScalingLayer()
        self.net = Trunk(backbones.features_architecture(BACKBONE_OF[_check_net(net)]), SLICE_ENDS[net])
        self.lins = nn.ModuleList(LinearLayer(self.net.channels(k)) for k in range(len(SLICE_ENDS[net])))

    def forward(self, pred: Tensor, gt: Tensor) -> Tensor:
        """LPIPS of [0, 1] frames, (N,) float64 (:func:`lpips`)."""
        return lpips_from_features(lpips_features(pred, self), lpips_features(gt, self), self)


def trunk_state(trunk: nn.Module, features_state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map torchvision ``features`` weights (keys ``"<index>.weight"``) onto an LPIPS trunk's names.

    The ``lpips`` package splits torchvision's ``features`` into ``slice1`` … ``slice5`` and keeps
    each layer under its original index (``slice2.3`` is ``features[3]``), so the index in a key
    names the layer to fill. Every key must be used and every parameter of the trunk filled, with
    matching shapes; otherwise a VfiBenchError says what does not fit.

    Returns:
        state dict keyed like the trunk's own (``"slice2.3.weight"``), float32 copies.
    """
    targets: dict[str, tuple[str, tuple[int, ...]]] = {}
    for slice_name, block in trunk.named_children():
        for name, param in block.named_parameters():
            targets[name] = (f"{slice_name}.{name}", tuple(param.shape))
    missing = sorted(set(targets) - set(features_state))
    extra = sorted(set(features_state) - set(targets))
    if missing or extra:
        raise VfiBenchError(
            f"The backbone weights do not fit the LPIPS trunk: missing {missing or 'none'}, "
            f"unexpected {extra or 'none'}. Expected torchvision `features` keys such as '0.weight'."
        )
    state: dict[str, Tensor] = {}
    for name, (key, shape) in targets.items():
        source = features_state[name]
        if tuple(source.shape) != shape:
            raise VfiBenchError(
                f"The backbone weight '{name}' has shape {tuple(source.shape)}, the LPIPS trunk "
                f"expects {shape}."
            )
        state[key] = source.detach().to("cpu", torch.float32).clone()
    return state


def build_lpips(net: str = "alex", features_state: Mapping[str, Tensor] | None = None,
                device: torch.device | str = "cpu") -> LPIPSNetwork:
    """A fresh :class:`LPIPSNetwork` (version 0.1) with a given or the verified ImageNet trunk.

    Built on the ``meta`` device (no memory, no random initialisation), then every tensor is
    supplied explicitly and checked by a strict load: the trunk from ``features_state``, the
    linear layers from the ``lpips`` package's ``weights/v0.1/<net>.pth``, the scaling constants
    from a fresh :class:`ScalingLayer`.

    Args:
        net: ``"alex"`` (LPIPS default) or ``"vgg"``.
        features_state: torchvision ``features`` weights to use; None takes the verified ones
            from :func:`vfibench.backbones.features_state_dict`, which raises
            :class:`~vfibench.errors.BackboneUnavailable` (with the fix) when they are absent.
            Anything else (random weights in a test) does not give real LPIPS values.
        device: where the model lives.

    Returns:
        the model in eval mode with gradients disabled, its weights channels-last (the layout
        :func:`lpips_features` feeds it: otherwise every convolution converts its weights again on
        every call, about 9% of AlexNet's time on one CPU thread; the values are bit for bit the
        same). Never touches the network.
    """
    _check_net(net)
    if features_state is None:
        from vfibench import backbones

        features_state = backbones.features_state_dict(BACKBONE_OF[net])
    with torch.device("meta"):
        model = LPIPSNetwork(net)
    state = {f"net.{key}": value for key, value in trunk_state(model.net, features_state).items()}
    state.update({f"scaling_layer.{k}": v for k, v in ScalingLayer().state_dict().items()})
    linear = torch.load(linear_weights_path(net), map_location="cpu", weights_only=True)
    for k in range(len(model.lins)):
        state[f"lins.{k}.model.1.weight"] = linear[f"lin{k}.model.1.weight"]
    model.load_state_dict(state, strict=True, assign=True)
    return model.to(device=device, memory_format=torch.channels_last).eval().requires_grad_(False)


@functools.lru_cache(maxsize=8)
def _cached_lpips(net: str, device: str) -> LPIPSNetwork:
    return build_lpips(net, device=device)


def get_lpips(net: str = "alex", device: torch.device | str = "cpu") -> LPIPSNetwork:
    """The process-wide LPIPS model for (net, device) with the verified backbone, built once."""
    return _cached_lpips(_check_net(net), device_key(device))


def clear_cache() -> None:
    """Forget the cached LPIPS models (they are rebuilt on next use)."""
    _cached_lpips.cache_clear()


def normalize_channels(x: Tensor, eps: float = NORM_EPS) -> Tensor:
    r"""Each position's feature vector scaled to unit length, :math:`x / (\lVert x \rVert_2 + ε)` over
    channels (``lpips.normalize_tensor``, the same operations in the same order)."""
    return x / (torch.sqrt(torch.sum(x ** 2, dim=1, keepdim=True)) + eps)


def lpips_features(x: Tensor, model: nn.Module) -> list[Tensor]:
    """The unit-normalised trunk activations LPIPS compares, one (N, C_l, H_l, W_l) tensor per layer.

    Frames (N, 3, H, W) in [0, 1] are scaled to [-1, 1] and through the scaling layer and trunk,
    then each layer is normalised over channels (:func:`normalize_channels`):
    exactly the ``feats0`` / ``feats1`` of ``lpips.LPIPS.forward``. Computed once per frame, they
    can be compared with any number of other frames' (:func:`lpips_from_features`).
    """
    dtype = next(model.parameters()).dtype
    with torch.no_grad(), full_precision(x.device):
        # channels-last, like build_lpips's weights: the same values (to float32 rounding), computed
        # faster by oneDNN on a CPU
        scaled = model.scaling_layer(x.to(dtype) * 2 - 1).contiguous(memory_format=torch.channels_last)
        return [normalize_channels(out) for out in model.net(scaled)]


def lpips_layer_maps(feats_pred: list[Tensor], feats_gt: list[Tensor], model: nn.Module) -> list[Tensor]:
    """Each layer's LPIPS difference map w_l · (f̂^l − f^l)², one (N, 1, H_l, W_l) tensor per layer,
    from two frames' :func:`lpips_features`: the squared differences through the learned 1×1 linear
    layers of ``lpips.LPIPS.forward``, in IEEE float32 on a GPU too (:func:`full_precision`).
    LPIPS averages them spatially (:func:`lpips_from_features`); FloLPIPS weights them by flow."""
    with torch.no_grad(), full_precision(feats_pred[0].device):
        return [linear((pred - gt) ** 2) for linear, pred, gt in zip(model.lins, feats_pred, feats_gt)]


def lpips_from_features(feats_pred: list[Tensor], feats_gt: list[Tensor], model: nn.Module) -> Tensor:
    """LPIPS from two frames' :func:`lpips_features`: the rest of ``lpips.LPIPS.forward`` (the layer
    maps of :func:`lpips_layer_maps`, each averaged spatially, summed over layers in its order).

    Returns:
        (N,) float64.
    """
    value: Tensor | int = 0
    for layer_map in lpips_layer_maps(feats_pred, feats_gt, model):
        value = value + layer_map.mean([2, 3], keepdim=True)
    return value.reshape(-1).to(torch.float64)  # type: ignore[union-attr]


def lpips(pred: Tensor, gt: Tensor, net: str = "alex", model: nn.Module | None = None) -> Tensor:
    r"""LPIPS distance of each predicted frame to its ground truth (v0.1).

    .. math::
        \mathrm{LPIPS}(\hat I, I) = \sum_{l} \frac{1}{H_l W_l} \sum_{h,w}
            \left\| w_l \odot \left(\hat f^l_{hw} - f^l_{hw}\right) \right\|_2^2

    where :math:`f^l` are the unit-normalised (over channels) activations of layer :math:`l` of the
    ImageNet trunk and :math:`w_l` the learned linear weights of LPIPS v0.1.

    Conventions: RGB inputs in [0, 1], scaled to [-1, 1] (``2x − 1``) as the package expects; no
    resizing; computed in the model's precision (float32) without gradients; the result is the
    package's ``LPIPS.forward`` value for each frame, computed in two halves
    (:func:`lpips_features` of each frame, then :func:`lpips_from_features`) so a ground truth's
    features can be computed once and compared with many predictions.

    Args:
        pred: predicted frames, (N, 3, H, W), values in [0, 1], at least 32×32.
        gt: ground-truth frames, same shape.
        net: ``"alex"`` (default, the LPIPS paper's recommended metric) or ``"vgg"``; ignored
            when ``model`` is given.
        model: an ``lpips.LPIPS`` to use instead of the cached one with verified weights (on the
            inputs' device).

    Returns:
        (N,) float64 tensor on the inputs' device, ≥ 0; lower is better.

    Example:
        >>> gt = torch.rand(2, 3, 64, 64)
        >>> lpips(gt, gt)  # doctest: +SKIP
        tensor([0., 0.], dtype=torch.float64)

    Reference: R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The unreasonable
    effectiveness of deep features as a perceptual metric", CVPR 2018; package ``lpips``
    (richzhang/PerceptualSimilarity).
    """
    check_pair(pred, gt, f"lpips ({net})", min_size=MIN_SIZE)
    if model is None:
        model = get_lpips(net, pred.device)
    return lpips_from_features(lpips_features(pred, model), lpips_features(gt, model), model)
