"""The ``features`` layers of AlexNet and VGG16, built without torchvision, and the check a state dict must pass.

A state dict is accepted only with exactly the keys and shapes of torchvision's ``features``, in
floating point (:func:`validate_state`), wherever it comes from: a cache, a staged file or a
converted archive.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

import torch

from vfibench.backbones.catalogue import BACKBONES, fix_command
from vfibench.backbones.hashing import key_order
from vfibench.errors import BackboneUnavailable, VfiBenchError

#: The normalisation of [0, 1] RGB that ImageNet-trained torchvision networks (and these weights) expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Indices of the convolutions in torchvision's ``features`` Sequential, in network order.
CONV_INDICES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "alexnet": (0, 3, 6, 8, 10),
        "vgg16": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
    }
)

#: The layers of torchvision's VGG16 ``features`` (configuration "D" of Simonyan & Zisserman 2015):
#: output channels of each 3×3 convolution (each followed by a ReLU), "M" a 2×2 max-pooling.
VGG16_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                                       512, 512, 512, "M")


@functools.cache
def expected_shapes(name: str) -> Mapping[str, tuple[int, ...]]:
    """Parameter shapes of torchvision's ``<name>().features``, built on the meta device (no memory)."""
    with torch.device("meta"):
        features = features_architecture(name)
    return MappingProxyType({k: tuple(v.shape) for k, v in features.state_dict().items()})


def features_architecture(name: str) -> torch.nn.Sequential:
    """A freshly built, untrained ``features`` Sequential of AlexNet or VGG16, layer for layer (types,
    hyper-parameters, indices) torchvision's ``alexnet().features`` / ``vgg16().features``, so their
    state dicts load into it. Built here rather than through torchvision, whose import costs more
    than a second of every command's start-up (a test checks the two agree)."""
    from torch import nn

    if name == "alexnet":  # Krizhevsky (2014) "one weird trick" variant torchvision ships
        return nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
    if name != "vgg16":
        raise VfiBenchError(f"No backbone architecture named '{name}'; choose one of {', '.join(BACKBONES)}.")
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = int(item)
    return nn.Sequential(*layers)


def validate_state(name: str, state: Mapping[str, torch.Tensor], where: str) -> None:
    """Raise unless ``state`` has exactly the keys and shapes of torchvision's ``features``."""
    expected = expected_shapes(name)
    if set(state) != set(expected):
        missing = sorted(set(expected) - set(state), key=key_order)
        extra = sorted(set(state) - set(expected))
        raise BackboneUnavailable(
            f"The {name} weights in {where} do not have torchvision's {name}.features layout "
            f"(missing keys: {missing or 'none'}; unexpected keys: {extra[:5] or 'none'}). "
            f"Delete the file and run `{fix_command(name)}`."
        )
    for key, shape in expected.items():
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != shape:
            got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise BackboneUnavailable(
                f"The {name} weights in {where} have {key} of shape {got}, but torchvision's "
                f"{name}.features expects {shape}. Delete the file and run `{fix_command(name)}`."
            )
        if not tensor.dtype.is_floating_point:
            raise BackboneUnavailable(
                f"The {name} weights in {where} hold {key} as {tensor.dtype}, not floating point. "
                f"Delete the file and run `{fix_command(name)}`."
            )
