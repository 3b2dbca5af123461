"""Feature losses on an ImageNet VGG16: the Super SloMo / AdaCoF perceptual loss and FILM's VGG and style losses.

All three compare VGG16 ``features`` activations of the predicted and the true frame. The
network is torchvision's ``vgg16().features`` with verified ImageNet weights
(:func:`vfibench.backbones.load_features`), frozen and in eval mode; it is run only up to the
deepest layer a term needs, the target's features are computed without gradient, and gradients
flow to the predicted frame only.

One copy of the network is kept per (device, dtype) for the whole process
(:func:`vgg16_features`), so ``perc+vggfilm+style`` loads it once; it is not a submodule of the
loss terms, so it appears in no state dict and no optimiser.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfibench import backbones
from vfibench.backbones.architecture import IMAGENET_MEAN, IMAGENET_STD
from vfibench.data.triplets import Triplets
from vfibench.losses.registry import Param, register_term
from vfibench.model.prediction import Prediction

# --------------------------------------------------------------------------- VGG16 layer names

#: Convolutions per block of VGG16 (configuration "D").
VGG16_BLOCKS = (2, 2, 3, 3, 3)


def _vgg16_layer_indices() -> dict[str, int]:
    """Index in torchvision's ``vgg16().features`` of every named layer: conv{b}_{k}, relu{b}_{k}, pool{b}."""
    indices: dict[str, int] = {}
    index = 0
    for block, convs in enumerate(VGG16_BLOCKS, start=1):
        for k in range(1, convs + 1):
            indices[f"conv{block}_{k}"] = index
            indices[f"relu{block}_{k}"] = index + 1
            index += 2
        indices[f"pool{block}"] = index
        index += 1
    return indices


#: ``features[:VGG16_LAYERS[name] + 1]`` ends at ``name``: conv4_3 → 21 (``features[:22]``), relu4_3 → 22.
VGG16_LAYERS: dict[str, int] = _vgg16_layer_indices()
#: The layers ``perc`` accepts: every convolution (before its ReLU) and every ReLU output.
PERCEPTUAL_LAYERS: tuple[str, ...] = tuple(name for name in VGG16_LAYERS if not name.startswith("pool"))

#: Super SloMo re-implementation (avinashpaliwal/Super-SloMo train.py): Adobe-240fps channel mean, std 1.
SUPERSLOMO_MEAN = (0.429, 0.431, 0.397)
#: FILM (losses/vgg19_loss.py): input = [0, 1] · 255 minus this RGB mean, no std.
FILM_MEAN_255 = (123.68, 116.779, 103.939)
#: FILM's layers (conv{k}_2 after ReLU) and weights (Chen & Koltun's, from CQFIO/PhotographicImageSynthesis).
FILM_LAYERS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
FILM_WEIGHTS = (1.0 / 2.6, 1.0 / 4.8, 1.0 / 3.7, 1.0 / 5.6, 10.0 / 1.5)

NORMS = ("none", "imagenet", "superslomo")
DISTANCES = ("mse", "l1")

# --------------------------------------------------------------------------- the shared network

_FEATURES: dict[tuple[str, torch.dtype], nn.Sequential] = {}


def vgg16_features(device: torch.device | str, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """The verified, frozen VGG16 ``features`` on ``device`` in ``dtype``, loaded once per process.

    Raises :class:`~vfibench.errors.BackboneUnavailable` (with the command that fixes it) when no
    verified copy of the weights is present.
    """
    key = (str(torch.device(device)), dtype)
    if key not in _FEATURES:
        _FEATURES[key] = backbones.load_features("vgg16", device).to(dtype)
    return _FEATURES[key]


def vgg_activations(features: nn.Sequential, image: Tensor, indices: Sequence[int],
                    avg_pool: bool = False) -> list[Tensor]:
    """Activations of ``features`` at the given layer indices, running the network only as deep as needed.

    ReLUs are applied out of place (torchvision's are in-place, which would overwrite a stored
    convolution output). With ``avg_pool`` every max pooling is replaced by a 2×2 average
    pooling (stride 2; a partial window at an odd edge averages the pixels it covers, like
    TensorFlow's 'SAME' average pooling that FILM uses).

    Args:
        features: torchvision's ``vgg16().features`` (or any Sequential of Conv2d/ReLU/MaxPool2d).
        image: (N, 3, H, W), already normalised as the caller wants.
        indices: layer indices (see :data:`VGG16_LAYERS`), any order.

    Returns:
        One (N, C_l, H_l, W_l) tensor per index, in the order given.
    """
    wanted = set(indices)
    found: dict[int, Tensor] = {}
    x = image
    for index in range(max(indices) + 1):
        layer = features[index]
        if isinstance(layer, nn.ReLU):
            x = F.relu(x)
        elif isinstance(layer, nn.MaxPool2d) and avg_pool:
            x = F.avg_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
        else:
            x = layer(x)
        if index in wanted:
            found[index] = x
    return [found[index] for index in indices]


def _channel_constant(values: Sequence[float], like: Tensor) -> Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)


def normalise_input(image: Tensor, norm: str) -> Tensor:
    """What the VGG sees for an image in [0, 1] under each ``norm`` of the ``perc`` term.

    - ``none``: the image unchanged (AdaCoF ``losses/vgg.py``: raw [0, 1] tensors);
    - ``imagenet``: (x − mean) / std with torchvision's ImageNet statistics (what the weights were
      trained with);
    - ``superslomo``: x − [0.429, 0.431, 0.397], std 1 (the Super SloMo re-implementation normalises
      its whole pipeline this way, so its VGG sees mean-subtracted frames).
    """
    if norm == "none":
        return image
    if norm == "imagenet":
        return (image - _channel_constant(IMAGENET_MEAN, image)) / _channel_constant(IMAGENET_STD, image)
    if norm == "superslomo":
        return image - _channel_constant(SUPERSLOMO_MEAN, image)
    raise ValueError(f"unknown VGG input normalisation {norm!r}; expected one of {', '.join(NORMS)}")


# --------------------------------------------------------------------------- perc (Super SloMo, AdaCoF)


def perceptual_loss(pred: Tensor, target: Tensor, features: nn.Sequential, layer: str = "conv4_3",
                    dist: str = "mse", norm: str = "none") -> Tensor:
    """Distance between VGG16 activations of Î and I_t at one layer.

    ::

        mse: mean (φ_l(n(Î)) − φ_l(n(I_t)))²        l1: mean |φ_l(n(Î)) − φ_l(n(I_t))|

    with φ_l = ``features[:index(layer) + 1]`` and n the input normalisation
    (:func:`normalise_input`). The defaults are what the Super SloMo re-implementation and AdaCoF
    use: ``vgg16().features[:22]`` (conv4_3 before its ReLU), MSE.

    Args:
        pred, target: (N, 3, H, W) in [0, 1], at least 2^(pooling layers before ``layer``) pixels.
        features: torchvision's VGG16 ``features`` (:func:`vgg16_features`).
        layer: a name from :data:`PERCEPTUAL_LAYERS`.
        dist: ``mse`` or ``l1``.
        norm: ``none``, ``imagenet`` or ``superslomo``.

    Reference: Johnson et al., "Perceptual Losses for Real-Time Style Transfer and Super-Resolution",
    ECCV 2016; avinashpaliwal/Super-SloMo ``train.py``; HyeongminLEE/AdaCoF-pytorch ``losses/vgg.py``.
    """
    if layer not in PERCEPTUAL_LAYERS:
        raise ValueError(f"unknown VGG16 layer {layer!r}; expected one of {', '.join(PERCEPTUAL_LAYERS)}")
    index = VGG16_LAYERS[layer]
    (fake,) = vgg_activations(features, normalise_input(pred, norm), [index])
    with torch.no_grad():
        (real,) = vgg_activations(features, normalise_input(target, norm), [index])
    if dist == "mse":
        return (fake - real).square().mean()
    if dist == "l1":
        return (fake - real).abs().mean()
    raise ValueError(f"unknown feature distance {dist!r}; expected one of {', '.join(DISTANCES)}")


class _VGGTerm(nn.Module):
    """Base of the VGG terms: fetches the shared network on the prediction's device and dtype."""

    def features_for(self, image: Tensor) -> nn.Sequential:
        return vgg16_features(image.device, image.dtype)


@register_term(
    "perc",
    kind="perceptual",
    formula="mean (φ_l(Î) − φ_l(I_t))² (or |·|), φ_l = VGG16 features up to layer l (default conv4_3)",
    params=(
        Param("layer", "conv4_3", "VGG16 layer: convK_J is the convolution before its ReLU, reluK_J after it; "
              "conv4_3 = features[:22] as in Super SloMo and AdaCoF", choices=PERCEPTUAL_LAYERS),
        Param("dist", "mse", "distance between the feature maps", choices=DISTANCES),
        Param("norm", "none", "VGG input normalisation: none = raw [0, 1] (AdaCoF), imagenet = torchvision's "
              "mean/std, superslomo = minus the Adobe-240fps mean [0.429, 0.431, 0.397]", choices=NORMS),
    ),
    backbones=("vgg16",),
    source="Super SloMo re-implementation (avinashpaliwal/Super-SloMo train.py: vgg16().features[:22], "
           "MSELoss) and AdaCoF (HyeongminLEE/AdaCoF-pytorch losses/vgg.py: the same, on raw [0, 1] input)",
)
class Perceptual(_VGGTerm):
    """VGG16 perceptual loss: compares deep features of the predicted and the true frame.

    Pixel-wise losses reward the average of all plausible frames, which is blurry; a feature
    loss rewards frames whose textures and edges produce the same VGG activations. Which layer
    and which input normalisation are used changes what it rewards: Super SloMo's
    re-implementation and AdaCoF take conv4_3 *before* its ReLU (``vgg16().features[:22]``; relu4_3
    would be ``[:23]``) and no ImageNet std scaling.

    Frames in [0, 1]. Defaults: layer conv4_3, MSE, norm none (AdaCoF feeds raw [0, 1] frames;
    the Super SloMo preset uses norm=superslomo, its pipeline's mean subtraction). A squared
    feature distance scales with about the square of the pixel range, so a weight written for
    [0, 255] pixels is about 255² times this one. Sources: avinashpaliwal/Super-SloMo train.py
    (``vgg16_conv_4_3``, ``MSELoss``), HyeongminLEE/AdaCoF-pytorch losses/vgg.py (``VGG``).
    """

    def __init__(self, layer: str = "conv4_3", dist: str = "mse", norm: str = "none") -> None:
        super().__init__()
        self.layer, self.dist, self.norm = str(layer), str(dist), str(norm)

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        features = self.features_for(prediction.frame)
        return perceptual_loss(prediction.frame, triplets.it, features, self.layer, self.dist, self.norm)

    def extra_repr(self) -> str:
        return f"layer={self.layer}, dist={self.dist}, norm={self.norm}"


# --------------------------------------------------------------------------- FILM's VGG and style losses


def film_activations(image: Tensor, features: nn.Sequential) -> list[Tensor]:
    """FILM's feature extraction on VGG16: input [0, 1] · 255 − RGB mean, average pooling, conv{1..5}_2 after ReLU."""
    scaled = image * 255.0 - _channel_constant(FILM_MEAN_255, image)
    return vgg_activations(features, scaled, [VGG16_LAYERS[name] for name in FILM_LAYERS], avg_pool=True)


def film_vgg_loss(pred: Tensor, target: Tensor, features: nn.Sequential) -> Tensor:
    """FILM's VGG feature loss: (Σ_l w_l · mean |φ_l(Î) − φ_l(I_t)|) / 255.

    φ_l: the activations after the ReLU of conv1_2, conv2_2, conv3_2, conv4_2, conv5_2 of a VGG
    whose max poolings are replaced by average poolings, fed [0, 1] · 255 minus the RGB mean
    [123.68, 116.779, 103.939]; w = (1/2.6, 1/4.8, 1/3.7, 1/5.6, 10/1.5).

    Args:
        pred, target: (N, 3, H, W) in [0, 1], at least 16×16.
        features: VGG16 ``features`` (FILM uses VGG19; see the term's deviation).

    Reference: Reda et al., "FILM: Frame Interpolation for Large Motion", ECCV 2022,
    google-research/frame-interpolation ``losses/vgg19_loss.py`` (``vgg_loss``).
    """
    fakes = film_activations(pred, features)
    with torch.no_grad():
        reals = film_activations(target, features)
    total = pred.new_zeros(())
    for weight, fake, real in zip(FILM_WEIGHTS, fakes, reals):
        total = total + weight * (fake - real).abs().mean()
    return total / 255.0


def gram_matrix(feature: Tensor) -> Tensor:
    """Gram matrix FᵀF / (h·w) of an (N, C, h, w) feature map, shape (N, C, C), in float32 at least.

    The product sums h·w terms before the division, more than float16 holds (FILM's conv2_2 features
    of a 256² scikit-image photograph reach 1.7e5 on the diagonal; float16 stops at 65504), so it runs
    with autocast off, in float32 or the features' own wider type, as FILM's float32 TensorFlow code
    computes it: under float16 autocast the step stays finite.
    """
    n, c, h, w = feature.shape
    # autocast exists for these two; on another device type there is none to switch off
    no_autocast = (torch.autocast(feature.device.type, enabled=False) if feature.device.type in ("cpu", "cuda")
                   else contextlib.nullcontext())
    with no_autocast:
        flat = feature.reshape(n, c, h * w).to(torch.promote_types(feature.dtype, torch.float32))
        return flat @ flat.transpose(1, 2) / float(h * w)


def film_style_loss(pred: Tensor, target: Tensor, features: nn.Sequential) -> Tensor:
    """FILM's style loss: Σ_l w_l · mean (G(φ_l(Î)/255) − G(φ_l(I_t)/255))², G the Gram matrix.

    Same layers, pooling, input scaling and weights as :func:`film_vgg_loss`; the Gram matrix is
    FᵀF / (h·w) (:func:`gram_matrix`) and the mean runs over batch and both channel axes.

    Reference: google-research/frame-interpolation ``losses/vgg19_loss.py`` (``style_loss``);
    Gatys et al., "A Neural Algorithm of Artistic Style", 2015.
    """
    fakes = film_activations(pred, features)
    with torch.no_grad():
        reals = [gram_matrix(real / 255.0) for real in film_activations(target, features)]
    total = pred.new_zeros(())
    for weight, fake, real in zip(FILM_WEIGHTS, fakes, reals):
        total = total + weight * (gram_matrix(fake / 255.0) - real).square().mean()
    return total


_FILM_DEVIATION = ("FILM uses VGG19 (MatConvNet imagenet-vgg-verydeep-19.mat); only VGG16 is available, so "
                   "VGG16's same-named layers (conv1_2 … conv5_2 after ReLU) are used with torchvision's weights. "
                   "FILM's input convention (255·x minus the RGB mean, no std) is kept; torchvision's weights were "
                   "trained on (x − mean)/std, so they see about 255·0.226 ≈ 58× their usual input scale, where "
                   "the biases matter less")


@register_term(
    "vggfilm",
    kind="perceptual",
    formula="Σ_l w_l · mean |φ_l(Î) − φ_l(I_t)| / 255, φ = conv{1..5}_2+ReLU, avg-pool VGG, input 255·x − mean",
    backbones=("vgg16",),
    source="FILM (Reda et al., ECCV 2022): vgg_loss in google-research/frame-interpolation losses/vgg19_loss.py",
    deviation=_FILM_DEVIATION,
)
class FilmVGG(_VGGTerm):
    """FILM's VGG feature loss: weighted L1 over five depths of an average-pooled VGG.

    Layer weights 1/2.6, 1/4.8, 1/3.7, 1/5.6, 10/1.5 (Chen & Koltun's normalisation), inputs on
    the 0–255 scale minus the ImageNet RGB mean, the sum divided by 255. FILM trains with
    ``l1 + vggfilm`` and lowers the VGG weight to 0.25 half-way (preset ``film-vgg``).

    Frames in [0, 1] (scaled to 0–255 inside). Max poolings are replaced by 2×2 average poolings
    (TensorFlow 'SAME': a partial window at an odd edge averages the pixels it covers). Source:
    google-research/frame-interpolation losses/vgg19_loss.py (``vgg_loss``); weights from Chen &
    Koltun, ICCV 2017.
    """

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        return film_vgg_loss(prediction.frame, triplets.it, self.features_for(prediction.frame))


@register_term(
    "style",
    kind="perceptual",
    formula="Σ_l w_l · mean (G(φ_l(Î)/255) − G(φ_l(I_t)/255))², G = FᵀF/(h·w), FILM's layers and weights",
    backbones=("vgg16",),
    source="FILM (Reda et al., ECCV 2022): style_loss in google-research/frame-interpolation "
           "losses/vgg19_loss.py",
    deviation=_FILM_DEVIATION,
)
class FilmStyle(_VGGTerm):
    """FILM's style (Gram-matrix) loss: matches feature correlations, i.e. texture statistics.

    It ignores where a texture is and rewards having the right one, which sharpens large-motion
    regions that other losses blur. FILM switches it on, with weight 40, half-way through
    training (preset ``film-style``).

    Same input scaling, pooling, layers and weights as ``vggfilm``; Gram = FᵀF/(h·w) of the
    features divided by 255; mean squared difference over batch and both channel axes. Frames in
    [0, 1]. Source: google-research/frame-interpolation losses/vgg19_loss.py (``style_loss``).
    """

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        return film_style_loss(prediction.frame, triplets.it, self.features_for(prediction.frame))
