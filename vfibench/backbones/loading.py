"""Verified weights handed out: as a ``features`` state dict, or as torchvision's ``features`` network, frozen.

Both raise :class:`~vfibench.errors.BackboneUnavailable` when the lookup
(:mod:`~vfibench.backbones.lookup`) finds no verified copy; neither uses the network.
"""

from __future__ import annotations

import torch

from vfibench.backbones.architecture import features_architecture
from vfibench.backbones.hashing import key_order
from vfibench.backbones.lookup import verified_weights, unavailable_message
from vfibench.errors import BackboneUnavailable


def features_state_dict(name: str) -> dict[str, torch.Tensor]:
    """Verified ImageNet weights of torchvision's ``<name>().features``, keys ``"0.weight"``, ….

    Returns fresh copies of the tensors (float32, CPU). Raises :class:`BackboneUnavailable`
    naming the backbone, where it looked and the fix command when no verified copy exists.
    """
    status, state = verified_weights(name)
    if state is None:
        raise BackboneUnavailable(unavailable_message(status))
    return {key: state[key].clone() for key in sorted(state, key=key_order)}


def load_features(name: str, device: torch.device | str = "cpu") -> torch.nn.Sequential:
    """torchvision's ``<name>(weights=None).features`` with the verified weights, in eval mode, frozen.

    Example:
        >>> vgg = load_features("vgg16")  # doctest: +SKIP
        >>> relu4_3 = vgg[:23](torch.rand(1, 3, 224, 224))  # doctest: +SKIP
    """
    status, state = verified_weights(name)
    if state is None:
        raise BackboneUnavailable(unavailable_message(status))
    with torch.device("meta"):
        features = features_architecture(name)
    # The meta parameters are replaced by copies of the cached weights (the cache stays untouched).
    # Not ``to_empty``: allocating from meta tensors runs torch's Python reference kernels, whose
    # first use imports torch.fx's symbolic shapes (0.45 s of every command that loads a backbone).
    copies = {key: value.to(device=device, copy=True) for key, value in state.items()}
    features.load_state_dict(copies, strict=True, assign=True)
    return features.eval().requires_grad_(False)
