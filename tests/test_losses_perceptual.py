"""VGG terms: layer indices and input normalisations against torchvision's VGG16, FILM's losses, real weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from torch import nn

from tests.helpers import prediction_from, random_triplets
from tests.test_losses_fixtures import random_state, random_vgg, real_vgg, torchvision_vgg16_features  # noqa: F401
from vfibench import backbones
from vfibench.losses.perceptual import (
    FILM_WEIGHTS,
    VGG16_LAYERS,
    film_style_loss,
    film_vgg_loss,
    gram_matrix,
    perceptual_loss,
    vgg_activations,
)
from vfibench.losses.spec import parse_config

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
SUPERSLOMO = ([0.429, 0.431, 0.397], [1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def reference(random_state: dict[str, torch.Tensor]) -> nn.Sequential:  # noqa: F811
    """torchvision's VGG16 features with the random weights: the independent reference."""
    return torchvision_vgg16_features(random_state)


@pytest.fixture(scope="module")
def ours(random_state: dict[str, torch.Tensor]) -> nn.Sequential:  # noqa: F811
    """A second, separately built copy with the same weights, handed to the functions under test."""
    return torchvision_vgg16_features(random_state)


def _module(spec: str) -> nn.Module:
    (term,) = parse_config(spec).resolve()
    return term.info.factory(**term.params)


def test_layer_names_are_torchvision_indices() -> None:
    # features[:22] ends at conv4_3 before its ReLU, [:23] at relu4_3, [:9] at relu2_2.
    assert VGG16_LAYERS["conv4_3"] + 1 == 22
    assert VGG16_LAYERS["relu4_3"] + 1 == 23
    assert VGG16_LAYERS["relu2_2"] + 1 == 9
    assert [VGG16_LAYERS[f"relu{b}_2"] for b in range(1, 6)] == [3, 8, 13, 20, 27]
    assert VGG16_LAYERS["pool5"] == 30


@pytest.mark.parametrize(
    ("layer", "end"), [("conv4_3", 22), ("relu4_3", 23), ("relu2_2", 9), ("conv1_1", 1), ("relu5_3", 30)]
)
def test_perc_layer_equals_a_torchvision_prefix(reference: nn.Sequential, ours: nn.Sequential, layer: str,
                                                end: int) -> None:
    batch = random_triplets(n=2, size=16)
    expected = F.mse_loss(reference[:end](batch.i0), reference[:end](batch.it))
    value = perceptual_loss(batch.i0, batch.it, ours, layer=layer, dist="mse", norm="none")
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize(("norm", "stats"), [("none", None), ("imagenet", IMAGENET), ("superslomo", SUPERSLOMO)])
@pytest.mark.parametrize("dist", ["mse", "l1"])
def test_perc_norm_matches_torchvision_normalize(reference: nn.Sequential, ours: nn.Sequential, norm: str,
                                                 stats: tuple[list[float], list[float]] | None,
                                                 dist: str) -> None:
    batch = random_triplets(n=2, size=16, seed=2)

    def seen(x: torch.Tensor) -> torch.Tensor:
        return x if stats is None else TF.normalize(x, mean=stats[0], std=stats[1])

    distance = F.mse_loss if dist == "mse" else F.l1_loss
    expected = distance(reference[:22](seen(batch.i0)), reference[:22](seen(batch.it)))
    value = perceptual_loss(batch.i0, batch.it, ours, "conv4_3", dist, norm)
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


def test_perc_norms_give_different_values(ours: nn.Sequential) -> None:
    batch = random_triplets(n=1, size=16, seed=3)
    values = {norm: perceptual_loss(batch.i0, batch.it, ours, norm=norm).item()
              for norm in ("none", "imagenet", "superslomo")}
    assert len(set(values.values())) == 3


def test_perc_term_uses_the_shared_network_and_only_the_prediction_gets_gradients(
        random_vgg: nn.Sequential) -> None:  # noqa: F811
    batch = random_triplets(n=2, size=16)
    frame = batch.i0.clone().requires_grad_(True)
    value = _module("perc(layer=relu2_2,dist=l1)")(prediction_from(frame), batch)
    expected = F.l1_loss(random_vgg[:9](batch.i0), random_vgg[:9](batch.it))
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    value.backward()
    assert frame.grad is not None and frame.grad.abs().sum() > 0
    assert all(p.grad is None for p in random_vgg.parameters())


def test_perc_of_identical_frames_is_zero(random_vgg: nn.Sequential) -> None:  # noqa: F811
    batch = random_triplets(n=1, size=16)
    assert _module("perc")(prediction_from(batch.it), batch).item() == 0.0


# --------------------------------------------------------------------------- FILM


def _film_reference(pred: torch.Tensor, target: torch.Tensor, features: nn.Sequential) -> tuple[float, float]:
    """FILM's vgg_loss and style_loss on a copy of ``features`` whose max poolings are average poolings."""
    net = nn.Sequential(*[nn.AvgPool2d(2, 2, ceil_mode=True) if isinstance(m, nn.MaxPool2d) else m
                          for m in features[:28]])
    mean = torch.tensor([123.68, 116.779, 103.939]).view(1, 3, 1, 1)

    def taps(image: torch.Tensor) -> list[torch.Tensor]:
        out, x = [], image * 255.0 - mean
        for index, layer in enumerate(net):
            x = layer(x)
            if index in (3, 8, 13, 20, 27):  # relu1_2, relu2_2, relu3_2, relu4_2, relu5_2
                out.append(x.clone())
        return out

    fake, real = taps(pred), taps(target)
    vgg = sum(w * (a - b).abs().mean() for w, a, b in zip(FILM_WEIGHTS, real, fake)) / 255.0

    def gram(f: torch.Tensor) -> torch.Tensor:
        n, c, h, w = f.shape
        flat = f.reshape(n, c, h * w).transpose(1, 2)  # (B, h·w, C), as FILM reshapes NHWC
        return torch.einsum("bpc,bpd->bcd", flat, flat) / (h * w)

    style = sum(w * ((gram(a / 255.0) - gram(b / 255.0)) ** 2).mean() for w, a, b in zip(FILM_WEIGHTS, real, fake))
    return float(vgg), float(style)


def test_film_vgg_and_style_match_a_direct_reimplementation(reference: nn.Sequential, ours: nn.Sequential) -> None:
    batch = random_triplets(n=2, size=18, seed=4)  # 18 → 9 → 5 → 3 → 2: odd edges exercise 'SAME' pooling
    vgg, style = _film_reference(batch.i0, batch.it, reference)
    assert film_vgg_loss(batch.i0, batch.it, ours).item() == pytest.approx(vgg, rel=1e-5)
    assert film_style_loss(batch.i0, batch.it, ours).item() == pytest.approx(style, rel=1e-4)


def test_film_weights_are_chen_and_koltuns() -> None:
    assert FILM_WEIGHTS == pytest.approx((1 / 2.6, 1 / 4.8, 1 / 3.7, 1 / 5.6, 10 / 1.5))


def test_average_pooling_of_an_odd_edge_averages_only_the_pixels_it_covers() -> None:
    x = torch.arange(9.0).view(1, 1, 3, 3)
    (pooled,) = vgg_activations(nn.Sequential(nn.MaxPool2d(2, 2)), x, [0], avg_pool=True)
    assert pooled[0, 0].tolist() == [[2.0, 3.5], [6.5, 8.0]]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_the_gram_matrix_under_autocast_is_float32_and_does_not_overflow(dtype: torch.dtype) -> None:
    """FᵀF of a 256² map of 2s sums to 262,144 before the division, beyond float16's 65,504: under
    float16 autocast the product was inf, and the style term's step was reported as diverged."""
    feature = torch.full((1, 2, 256, 256), 2.0)
    with torch.autocast("cpu", dtype=dtype):
        gram = gram_matrix(feature.to(dtype))
    assert gram.dtype == torch.float32
    assert torch.equal(gram, torch.full((1, 2, 2), 4.0))


def test_the_gram_matrix_of_a_device_without_autocast_is_computed_all_the_same() -> None:
    assert gram_matrix(torch.empty(1, 2, 4, 4, device="meta")).shape == (1, 2, 2)


def test_gram_matrix_and_style_of_identical_features(ours: nn.Sequential) -> None:
    feature = torch.randn(2, 4, 3, 5, generator=torch.Generator().manual_seed(0))
    flat = feature.reshape(2, 4, 15)
    expected = torch.stack([f @ f.T for f in flat]) / 15
    assert torch.allclose(gram_matrix(feature), expected, atol=1e-6)
    batch = random_triplets(n=1, size=16)
    assert film_style_loss(batch.it, batch.it, ours).item() == 0.0
    assert film_vgg_loss(batch.it, batch.it, ours).item() == 0.0


def test_terms_share_one_network_per_device(random_vgg: nn.Sequential) -> None:  # noqa: F811
    batch = random_triplets(n=1, size=16)
    prediction = prediction_from(batch.i0)
    for spec in ("perc", "vggfilm", "style"):
        assert torch.isfinite(_module(spec)(prediction, batch))
    from vfibench.losses import perceptual

    assert list(perceptual._FEATURES.values()) == [random_vgg]


# --------------------------------------------------------------------------- real weights


def test_real_weights_are_the_verified_imagenet_vgg16(real_vgg: nn.Sequential) -> None:  # noqa: F811
    state = {k: v for k, v in real_vgg.state_dict().items()}
    assert backbones.is_reference("vgg16", backbones.tensor_sha256(state))
    assert not real_vgg.training and not any(p.requires_grad for p in real_vgg.parameters())


def test_real_weights_perceptual_terms_rank_a_blur_as_a_loss(real_vgg: nn.Sequential) -> None:  # noqa: F811
    coarse = random_triplets(n=1, size=8, seed=6)  # smooth random scenes: noise upsampled ×4
    scenes = type(coarse)(*(F.interpolate(x, scale_factor=4, mode="bicubic").clamp(0, 1)
                            for x in (coarse.i0, coarse.it, coarse.i1)), coarse.t)
    blurred = F.avg_pool2d(F.pad(scenes.it, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    independent = torchvision_vgg16_features(backbones.features_state_dict("vgg16"))[:22]
    expected = F.mse_loss(independent(blurred), independent(scenes.it))
    perc = _module("perc")(prediction_from(blurred), scenes)
    assert perc.item() == pytest.approx(expected.item(), rel=1e-5) and perc.item() > 0
    for spec in ("perc", "vggfilm", "style"):
        assert _module(spec)(prediction_from(scenes.it), scenes).item() == 0.0
        assert _module(spec)(prediction_from(blurred), scenes).item() > 0.0
