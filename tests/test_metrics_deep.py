"""LPIPS and DISTS: equal to the reference code on the same backbone, batched, cached, offline."""

from __future__ import annotations

import socket
import warnings

import lpips as lpips_pkg
import pytest
import torch
import torchvision

from vfibench import backbones
from vfibench.errors import VfiBenchError
from vfibench.metrics import dists as dists_module
from vfibench.metrics import lpips_metric
from vfibench.metrics.dists import DISTS, build_dists, dists, load_alpha_beta
from vfibench.metrics.lpips_metric import build_lpips, get_lpips, lpips
from vfibench.metrics.records import metric_record
from vfibench.metrics.registry import metric_info, metric_names
from vfibench.metrics.suite import MetricSuite

from helpers import DEVICES, missing_backbones, needs_backbone, needs_cuda, skip_without_backbones


def random_features(name: str, seed: int = 0) -> torch.nn.Sequential:
    """torchvision ``<name>().features`` with random (non-ImageNet) weights, as a stand-in backbone."""
    with torch.device("meta"):
        features = getattr(torchvision.models, name)(weights=None).features
    features = features.to_empty(device="cpu")
    gen = torch.Generator().manual_seed(seed)
    for layer in features:
        if isinstance(layer, torch.nn.Conv2d):
            fan_in = layer.weight[0].numel()
            layer.weight.data.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=gen)
            layer.bias.data.normal_(0.0, 0.01, generator=gen)
    return features.eval().requires_grad_(False)


def direct_lpips(net: str, features: torch.nn.Sequential) -> lpips_pkg.LPIPS:
    """``lpips.LPIPS`` built directly, its trunk slices pointed at the given torchvision layers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = lpips_pkg.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    for k in range(1, 6):
        block = getattr(model.net, f"slice{k}")
        for index, _ in list(block.named_children()):
            setattr(block, index, features[int(index)])
    return model.eval()


def frames(n: int, size: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    gt = torch.rand(n, 3, size, size, generator=gen)
    pred = (gt + 0.1 * torch.randn(n, 3, size, size, generator=gen)).clamp(0, 1)
    return pred, gt


# --------------------------------------------------------------------------- LPIPS


@pytest.mark.parametrize("n", [1, 5])
def test_lpips_equals_package_on_same_backbone(n):
    features = random_features("alexnet")
    ours_model = build_lpips("alex", features_state=features.state_dict())
    reference = direct_lpips("alex", features)
    pred, gt = frames(n)
    with torch.no_grad():
        expected = reference(pred * 2 - 1, gt * 2 - 1).reshape(-1).double()
    got = lpips(pred, gt, model=ours_model)
    assert got.shape == (n,) and got.dtype == torch.float64
    assert torch.allclose(got, expected, atol=1e-6, rtol=0)
    assert torch.equal(ours_model(pred, gt), got)  # the module's own forward: the same values


def test_lpips_vgg_equals_package_on_same_backbone():
    features = random_features("vgg16")
    reference = direct_lpips("vgg", features)
    pred, gt = frames(3)
    with torch.no_grad():
        expected = reference(pred * 2 - 1, gt * 2 - 1).reshape(-1).double()
    got = lpips(pred, gt, net="vgg", model=build_lpips("vgg", features_state=features.state_dict()))
    assert torch.allclose(got, expected, atol=1e-6, rtol=0)


@needs_backbone("vgg16")
def test_lpips_vgg_metric_equals_package_on_verified_vgg16():
    from vfibench.metrics.suite import quantize_8bit

    reference = direct_lpips("vgg", backbones.load_features("vgg16"))
    pred, gt = (quantize_8bit(x) for x in frames(2, size=64, seed=3))  # the suite scores 8-bit frames
    with torch.no_grad():
        expected = reference(pred * 2 - 1, gt * 2 - 1).reshape(-1).double()
    got = MetricSuite(["lpips-vgg"])(pred, gt)["lpips-vgg"]
    assert torch.allclose(got, expected, atol=1e-6, rtol=0)


@needs_backbone("alexnet")
@pytest.mark.parametrize("n", [1, 6])
def test_lpips_default_equals_package_on_verified_alexnet(n):
    reference = direct_lpips("alex", backbones.load_features("alexnet"))
    pred, gt = frames(n, size=64, seed=n)
    with torch.no_grad():
        expected = reference(pred * 2 - 1, gt * 2 - 1).reshape(-1).double()
    got = lpips(pred, gt)
    assert torch.allclose(got, expected, atol=1e-6, rtol=0)
    singles = torch.cat([lpips(pred[k:k + 1], gt[k:k + 1]) for k in range(n)])
    assert torch.allclose(got, singles, atol=1e-6, rtol=0)


@needs_backbone("alexnet")
def test_lpips_model_is_built_once_per_net_and_device():
    assert get_lpips("alex") is get_lpips("alex", torch.device("cpu"))
    model = get_lpips("alex")
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_a_gpu_named_with_or_without_its_index_shares_one_cached_model(monkeypatch):
    """A suite is built for ``cuda`` while its frames report ``cuda:0``: both must find one model,
    not load LPIPS and DISTS twice onto the GPU (checked without a GPU: building is recorded)."""
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    built = []
    monkeypatch.setattr(lpips_metric, "build_lpips", lambda net, device: built.append(("lpips", net, device)) or object())
    monkeypatch.setattr(dists_module, "build_dists", lambda device: built.append(("dists", device)) or object())
    lpips_metric.clear_cache()
    dists_module.clear_cache()
    try:
        assert get_lpips("alex", "cuda") is get_lpips("alex", torch.device("cuda", 0))
        assert dists_module.get_dists(torch.device("cuda")) is dists_module.get_dists("cuda:0")
        assert get_lpips("alex", "cpu") is not get_lpips("alex", "cuda")
        assert built == [("lpips", "alex", "cuda:0"), ("dists", "cuda:0"), ("lpips", "alex", "cpu")]
    finally:
        lpips_metric.clear_cache()
        dists_module.clear_cache()


def test_lpips_weights_are_channels_last_and_give_the_same_values():
    """The trunk is built in the layout its inputs arrive in, so no convolution converts its weights on
    every call; the values equal those of the same weights left in the default layout, bit for bit."""
    features = random_features("alexnet")
    model = build_lpips("alex", features_state=features.state_dict())
    convolutions = [m for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convolutions and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convolutions)
    default_layout = build_lpips("alex", features_state=features.state_dict()).to(memory_format=torch.contiguous_format)
    assert not getattr(default_layout.net.slice2, "3").weight.is_contiguous(memory_format=torch.channels_last)
    pred, gt = frames(3, size=96, seed=4)
    assert torch.equal(lpips(pred, gt, model=model), lpips(pred, gt, model=default_layout))


def test_lpips_rejects_unknown_net_and_mismatched_backbone():
    with pytest.raises(VfiBenchError, match="Unknown LPIPS network 'squeeze'"):
        build_lpips("squeeze", features_state={})
    with pytest.raises(VfiBenchError, match="do not fit the LPIPS trunk"):
        build_lpips("alex", features_state=random_features("vgg16").state_dict())


def test_lpips_refuses_frames_smaller_than_its_trunk_takes():
    model = build_lpips("alex", features_state=random_features("alexnet").state_dict())
    pred, gt = frames(1, size=32)
    assert lpips(pred, gt, model=model).shape == (1,)
    with pytest.raises(VfiBenchError, match=r"lpips \(alex\): frames must be at least 32×32 pixels, "
                                            r"got 32×31"):
        lpips(pred[..., :31, :], gt[..., :31, :], model=model)


def test_a_backbone_weight_of_the_wrong_shape_is_named_with_both_shapes():
    state = random_features("alexnet").state_dict()
    state["3.weight"] = state["3.weight"][:, :32]
    with pytest.raises(VfiBenchError, match=r"'3.weight' has shape \(192, 32, 5, 5\), the LPIPS trunk "
                                            r"expects \(192, 64, 5, 5\)"):
        build_lpips("alex", features_state=state)


# --------------------------------------------------------------------------- DISTS


def test_dists_identical_is_zero_and_batching_does_not_matter():
    model = build_dists(features=random_features("vgg16"))
    pred, gt = frames(3, size=32)
    assert torch.allclose(dists(gt, gt, model=model), torch.zeros(3, dtype=torch.float64), atol=1e-6)
    assert (dists(gt, gt, model=model) >= 0).all()  # never a negative distance from rounding
    batch = dists(pred, gt, model=model)
    singles = torch.cat([dists(pred[k:k + 1], gt[k:k + 1], model=model) for k in range(3)])
    assert batch.shape == (3,) and torch.allclose(batch, singles, atol=1e-6)
    assert (batch > 0).all()


def test_dists_feeds_vgg_the_frame_normalised_by_imagenet_statistics():
    """DISTS (Ding et al., ``DISTS_pytorch``) subtracts ImageNet's mean (0.485, 0.456, 0.406) and divides by
    its standard deviation (0.229, 0.224, 0.225) before VGG16; the frame itself is the zeroth representation."""
    features = random_features("vgg16")
    model = build_dists(features=features)
    x = frames(1, size=16)[0].float()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    image, first, *_ = model.representations(x)
    assert torch.equal(image, x)
    torch.testing.assert_close(first, features[:4]((x - mean) / std), rtol=1e-4, atol=1e-5)  # channels-last sums


def test_dists_weights_are_the_authors_and_checked(monkeypatch):
    alpha, beta = load_alpha_beta()
    assert alpha.shape == beta.shape == (1, 1475, 1, 1)
    # the largest DISTS, 1 + the normalised Σβ (every texture term -1), is the record's upper bound
    largest = 1 + (beta.sum() / (alpha.sum() + beta.sum())).item()
    assert largest <= metric_record("dists").valid_range[1] < largest + 1e-3
    with pytest.raises(VfiBenchError, match="vgg16\\(\\).features"):
        DISTS(random_features("alexnet"), alpha, beta)
    monkeypatch.setattr(dists_module, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(VfiBenchError, match="damaged"):
        load_alpha_beta()


def test_dists_refuses_a_31_layer_trunk_without_vgg16_s_max_pooling():
    alpha, beta = load_alpha_beta()
    features = random_features("vgg16")
    features[9] = torch.nn.ReLU()
    with pytest.raises(VfiBenchError, match="max-pooling at 4, 9, 16, 23"):
        DISTS(features, alpha, beta)


# --------------------------------------------------------------------------- every registered name


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", metric_names())
def test_every_registered_metric_through_the_suite(name, device):
    info = metric_info(name)
    skip_without_backbones(*info.needs)
    suite = MetricSuite([name], device=device)
    pred, gt = frames(3, size=64)
    inputs = (pred.flip(-1), gt.flip(-2)) if info.inputs else None  # the metrics that also read I0 and I1
    scores = suite(pred, gt, inputs=inputs)[name]
    same = suite(gt, gt, inputs=inputs)[name]
    assert scores.shape == (3,) and scores.dtype == torch.float64 and scores.device.type == "cpu"
    assert torch.isfinite(scores).all()
    best = info.target if info.higher_is_better is None else None
    if best is not None:
        assert torch.allclose(same, torch.full_like(same, best))
    else:
        # identical frames score at least as well as distorted ones
        assert (info.goodness(same) >= info.goodness(scores) - 1e-6).all()
    assert suite.reference_weights is all(backbones.is_reference(b, backbones.locate(b).sha256) for b in info.needs)


# --------------------------------------------------------------------------- offline


def test_lpips_and_dists_never_touch_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    pred, gt = frames(2, size=48)
    # construction through the lpips package and DISTS, with stand-in weights: always runs
    assert lpips(pred, gt, model=build_lpips("alex", features_state=random_features("alexnet").state_dict())).shape == (2,)
    assert dists(pred, gt, model=build_dists(features=random_features("vgg16"))).shape == (2,)
    # and the real path, when the verified weights are present
    if not missing_backbones("alexnet", "vgg16"):
        lpips_metric.clear_cache()
        dists_module.clear_cache()
        scores = MetricSuite(["lpips", "dists"])(pred, gt)
        assert set(scores) == {"lpips", "dists"}


def test_lpips_without_the_package_weights_names_the_install_command(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(VfiBenchError, match="pip install lpips"):
        lpips_metric.linear_weights_path("alex")


# --------------------------------------------------------------------------- GPU precision


def test_full_precision_switches_tf32_convolutions_off_on_cuda_only_and_restores_them():
    from vfibench.metrics._common import full_precision

    cudnn = torch.backends.cudnn
    before = cudnn.allow_tf32
    with full_precision("cpu"):
        assert cudnn.allow_tf32 == before
    with full_precision(torch.device("cuda", 0)):
        assert cudnn.allow_tf32 is False
    assert cudnn.allow_tf32 == before


@needs_cuda
@needs_backbone("alexnet", "vgg16")
@pytest.mark.parametrize("name", ["lpips", "dists", "lpips-vgg", "flolpips-dis"])
def test_deep_metrics_on_a_gpu_equal_the_cpu_to_float32_rounding(name):
    """On these photographs (an H200) TF32 convolutions, PyTorch's GPU default, moved LPIPS by 9e-6,
    LPIPS-VGG by 1.1e-5 and DISTS by 1.8e-5; in IEEE float32 by at most 1.8e-7. FloLPIPS weights
    LPIPS's layer maps, so its learned 1×1 layers must run in IEEE float32 too (its flows are
    OpenCV's, on the CPU, either way); its input frames are the photographs shifted by 4 pixels."""
    import numpy as np
    from PIL import Image, ImageFilter
    from skimage import data

    photos = [np.asarray(Image.fromarray(p).resize((448, 256)))
              for p in (data.astronaut(), data.chelsea(), data.coffee(), data.rocket())]
    blurred = [np.asarray(Image.fromarray(p).filter(ImageFilter.GaussianBlur(1.5))) for p in photos]
    as_tensor = lambda frames: torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).double() / 255  # noqa: E731
    pred, gt = as_tensor(blurred), as_tensor(photos)
    inputs = (torch.roll(gt, 4, dims=-1), torch.roll(gt, -4, dims=-1)) if name == "flolpips-dis" else None
    on_cpu = MetricSuite([name], device="cpu")(pred, gt, inputs)[name]
    on_gpu = MetricSuite([name], device="cuda")(pred, gt, inputs)[name]
    assert float((on_cpu - on_gpu).abs().max()) <= 1e-6
