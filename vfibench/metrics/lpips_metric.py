"""LPIPS (Zhang et al. 2018) through the ``lpips`` package, on verified ImageNet backbones.

The ``lpips`` package normally lets torchvision download the ImageNet AlexNet/VGG16 weights when
it is constructed. Here it is constructed with ``pnet_rand=True`` (no download) and
``pretrained=True``; its trunk gets the verified weights from :mod:`vfibench.backbones` and its
learned linear layers come from the files the package ships (:func:`build_lpips`). Everything else — the [-1, 1] → ImageNet scaling layer, unit
normalisation of each feature, the learned 1×1 linear layers, spatial averaging — is the
package's own code.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from vfibench.errors import VfiBenchError
from vfibench.metrics._common import check_pair

if TYPE_CHECKING:
    import lpips as lpips_pkg

#: LPIPS trunk name (as the ``lpips`` package spells it) → vfibench backbone name.
BACKBONE_OF: Mapping[str, str] = {"alex": "alexnet", "vgg": "vgg16"}
#: Smallest frame side the trunks accept (AlexNet's stride-4 stem and two poolings).
MIN_SIZE = 32


def _check_net(net: str) -> str:
    if net not in BACKBONE_OF:
        raise VfiBenchError(
            f"Unknown LPIPS network '{net}': choose one of {', '.join(sorted(BACKBONE_OF))} "
            "('alex' is the LPIPS v0.1 default)."
        )
    return net


def linear_weights_path(net: str) -> Path:
    """The learned linear-layer weights the ``lpips`` package ships for ``net`` (v0.1)."""
    import lpips as lpips_pkg

    return Path(inspect.getfile(lpips_pkg.LPIPS)).parent / "weights" / "v0.1" / f"{_check_net(net)}.pth"


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
                device: torch.device | str = "cpu") -> lpips_pkg.LPIPS:
    """A fresh ``lpips.LPIPS`` (version 0.1) with a given or the verified ImageNet trunk.

    The package's module is constructed as ``lpips.LPIPS(net=net, version="0.1",
    pretrained=True, pnet_rand=True, verbose=False)`` on the ``meta`` device (no memory, no
    random initialisation of torchvision's unused classifier, no download), then every tensor is
    supplied explicitly and checked by a strict load: the trunk from ``features_state``, the
    linear layers from the package's own ``weights/v0.1/<net>.pth``, and the constants of its
    scaling layer from a fresh ``ScalingLayer``.

    Args:
        net: ``"alex"`` (LPIPS default) or ``"vgg"``.
        features_state: torchvision ``features`` weights to use; None takes the verified ones
            from :func:`vfibench.backbones.features_state_dict`, which raises
            :class:`~vfibench.errors.BackboneUnavailable` (with the fix) when they are absent.
            Anything else (random weights in a test) does not give real LPIPS values.
        device: where the model lives.

    Returns:
        the model in eval mode with gradients disabled. Never touches the network.
    """
    import lpips as lpips_pkg  # imports torchvision: loaded only when LPIPS is built

    _check_net(net)
    if features_state is None:
        from vfibench import backbones

        features_state = backbones.features_state_dict(BACKBONE_OF[net])
    with warnings.catch_warnings(), torch.device("meta"):
        # torchvision's notice for the deprecated ``pretrained=`` argument lpips passes, and
        # torch's notice that loading the linear layers into meta tensors is a no-op.
        warnings.simplefilter("ignore", UserWarning)
        model = lpips_pkg.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    state = {f"net.{key}": value for key, value in trunk_state(model.net, features_state).items()}
    state.update({f"scaling_layer.{k}": v for k, v in type(model.scaling_layer)().state_dict().items()})
    linear = torch.load(linear_weights_path(net), map_location="cpu", weights_only=True)
    for k in range(len(model.lins)):
        weight = linear[f"lin{k}.model.1.weight"]
        state[f"lin{k}.model.1.weight"] = weight
        state[f"lins.{k}.model.1.weight"] = weight  # the same module, registered twice by lpips
    model.load_state_dict(state, strict=True, assign=True)
    return model.to(device).eval().requires_grad_(False)


@functools.lru_cache(maxsize=8)
def _cached_lpips(net: str, device: str) -> lpips_pkg.LPIPS:
    return build_lpips(net, device=device)


def get_lpips(net: str = "alex", device: torch.device | str = "cpu") -> lpips_pkg.LPIPS:
    """The process-wide LPIPS model for (net, device) with the verified backbone, built once."""
    return _cached_lpips(_check_net(net), str(torch.device(device)))


def clear_cache() -> None:
    """Forget the cached LPIPS models (they are rebuilt on next use)."""
    _cached_lpips.cache_clear()


def lpips_features(x: Tensor, model: nn.Module) -> list[Tensor]:
    """The unit-normalised trunk activations LPIPS compares, one (N, C_l, H_l, W_l) tensor per layer.

    Frames (N, 3, H, W) in [0, 1] are scaled to [-1, 1] and through the package's scaling layer
    and trunk, then each layer is normalised over channels with the package's ``normalize_tensor``:
    exactly the ``feats0`` / ``feats1`` of ``lpips.LPIPS.forward``. Computed once per frame, they
    can be compared with any number of other frames' (:func:`lpips_from_features`).
    """
    from lpips import normalize_tensor

    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        # channels-last: the same values (to float32 rounding), computed faster by oneDNN on CPU
        scaled = model.scaling_layer(x.to(dtype) * 2 - 1).contiguous(memory_format=torch.channels_last)
        return [normalize_tensor(out) for out in model.net(scaled)]


def lpips_from_features(feats_pred: list[Tensor], feats_gt: list[Tensor], model: nn.Module) -> Tensor:
    """LPIPS from two frames' :func:`lpips_features`: the rest of ``lpips.LPIPS.forward`` (squared
    differences, learned 1×1 linear layers, spatial average, sum over layers, in its order).

    Returns:
        (N,) float64.
    """
    from lpips.lpips import spatial_average

    with torch.no_grad():
        value: Tensor | int = 0
        for k, linear in enumerate(model.lins):
            value = value + spatial_average(linear((feats_pred[k] - feats_gt[k]) ** 2), keepdim=True)
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
