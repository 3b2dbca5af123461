"""Builders shared by the loss tests: VGG16 features with random or real weights, a tiny model, scenes.

This module holds no tests; the loss test modules import its fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torchvision
from torch import nn

from vfibench import backbones
from vfibench.data.triplets import Triplets
from vfibench.losses import perceptual
from helpers import skip_without_backbones


def torchvision_vgg16_features(state: dict[str, torch.Tensor]) -> nn.Sequential:
    """``torchvision.models.vgg16(weights=None).features`` with ``state`` loaded: the independent reference.

    Built on the meta device first (VGG16's classifier alone has 120M parameters), then
    materialised on the CPU and filled with ``state``.
    """
    with torch.device("meta"):
        model = torchvision.models.vgg16(weights=None)
    features = model.features.to_empty(device="cpu")
    features.load_state_dict(state, strict=True)
    return features.eval().requires_grad_(False)


def random_vgg16_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random VGG16 ``features`` weights (He-normal convolutions, small biases), deterministic in ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    shapes = backbones.expected_shapes("vgg16")
    state = {}
    for key, shape in shapes.items():
        if key.endswith("weight"):
            fan_in = shape[1] * shape[2] * shape[3]
            state[key] = torch.randn(shape, generator=generator) * (2.0 / fan_in) ** 0.5
        else:
            state[key] = 0.01 * torch.randn(shape, generator=generator)
    return state


@pytest.fixture(scope="module")
def random_state() -> dict[str, torch.Tensor]:
    return random_vgg16_state()


@pytest.fixture
def random_vgg(random_state: dict[str, torch.Tensor], monkeypatch: pytest.MonkeyPatch) -> Iterator[nn.Sequential]:
    """Random VGG16 features injected as the loss terms' shared network (CPU, float32), for plumbing tests."""
    features = torchvision_vgg16_features(random_state)
    monkeypatch.setattr(perceptual, "_FEATURES", {("cpu", torch.float32): features})
    yield features


@pytest.fixture
def real_vgg(monkeypatch: pytest.MonkeyPatch) -> Iterator[nn.Sequential]:
    """The verified ImageNet VGG16 features, loaded the way the loss terms load them; skips when absent."""
    skip_without_backbones("vgg16")
    monkeypatch.setattr(perceptual, "_FEATURES", {})
    yield perceptual.vgg16_features("cpu")


def shifted_scene(size: int = 24, shift: int = 2, n: int = 1, seed: int = 0) -> tuple[Triplets, int]:
    """Triplets of a textured square moving right by ``shift`` px per half-interval on a flat background.

    I0 = T(x), It = T(x − shift), I1 = T(x − 2·shift): the true flows are F0→1 = +2·shift,
    F1→0 = −2·shift, Ft→0 = −shift, Ft→1 = +shift (x component), exactly, with no border effects
    because the texture stays at least ``2·shift`` pixels inside the frame.
    """
    generator = torch.Generator().manual_seed(seed)
    base = torch.full((n, 3, size, size), 0.5)
    margin = 3 * shift
    patch = torch.rand(n, 3, size - 2 * margin, size - 2 * margin, generator=generator)
    frames = []
    for k in range(3):
        frame = base.clone()
        left = margin - shift + k * shift
        frame[:, :, margin : size - margin, left : left + patch.shape[-1]] = patch
        frames.append(frame)
    return Triplets(frames[0], frames[1], frames[2], torch.full((n,), 0.5)), shift
