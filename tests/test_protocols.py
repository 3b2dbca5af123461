"""Each PSNR/SSIM protocol equals an independent computation (NumPy/SciPy re-derivations, scikit-image)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage
from skimage.metrics import structural_similarity

from vfibench.errors import VfiBenchError
from vfibench.metrics.protocols import PROTOCOLS, parse_protocols, protocol_scores
from helpers import CALIBRATION, needs_calibration

TID_PSNR = {"I03": 21.1136, "I04": 20.9872, "I06": 27.0139, "I08": 23.3003, "I19": 21.6187}


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    """A float prediction (not on 8-bit levels, slightly outside [0, 1] before clipping) and an 8-bit truth."""
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 256, size=(2, 24, 30, 3)).astype(np.float64) / 255.0
    pred = np.clip(gt + rng.normal(0, 0.05, size=gt.shape), 0.0, 1.0)
    return pred, gt


def tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).permute(0, 3, 1, 2)


def np_psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(-10 * np.log10(np.mean((a - b) ** 2)))


def np_ssim_matlab(a: np.ndarray, b: np.ndarray) -> float:
    """RIFE/IFRNet's 3-D SSIM re-derived: an 11^3 Gaussian (σ 1.5) over (C, H, W), edges replicated."""
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    g /= g.sum()
    window = g[:, None, None] * g[None, :, None] * g[None, None, :]
    a, b = a.transpose(2, 0, 1), b.transpose(2, 0, 1)

    def blur(z: np.ndarray) -> np.ndarray:
        return ndimage.correlate(z, window, mode="nearest")

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    return float(np.mean((2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))))


def gaussian_skimage(a: np.ndarray, b: np.ndarray, channel_axis: int | None = -1) -> float:
    return structural_similarity(b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1,
                                 channel_axis=channel_axis)


def expected(name: str, pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    if name == "vfibench":
        return np_psnr(pred, gt), gaussian_skimage(pred, gt)
    if name == "rife":
        out = np.round(pred * 255) / 255
        return np_psnr(out, gt), np_ssim_matlab(gt, out)
    if name == "ifrnet":
        return np_psnr(pred, gt), np_ssim_matlab(pred, gt)
    if name == "film":
        return np_psnr(pred, gt), gaussian_skimage(pred, gt)
    if name == "y-channel":
        y = lambda x: x @ np.array([65.481, 128.553, 24.966]) / 255 + 16 / 255  # noqa: E731
        return np_psnr(y(pred), y(gt)), gaussian_skimage(y(pred), y(gt), channel_axis=None)
    assert name == "skimage-default"
    return np_psnr(pred, gt), structural_similarity(gt, pred, channel_axis=-1, data_range=1)


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_protocol_equals_an_independent_computation(name, pair):
    pred, gt = pair
    psnr, ssim = PROTOCOLS[name].compute(tensor(pred), tensor(gt))
    for k in range(len(gt)):
        want_psnr, want_ssim = expected(name, pred[k], gt[k])
        assert psnr[k].item() == pytest.approx(want_psnr, abs=1e-9)
        assert ssim[k].item() == pytest.approx(want_ssim, abs=1e-9)


def test_protocols_differ_where_their_conventions_do(pair):
    pred, gt = pair
    scores = {k: (p.mean().item(), s.mean().item()) for k, (p, s) in protocol_scores(tensor(pred), tensor(gt)).items()}
    assert scores["rife"][0] != scores["ifrnet"][0]  # rounding the prediction moves PSNR
    assert scores["y-channel"][0] > scores["vfibench"][0] + 1  # luma averages out per-channel noise
    assert scores["skimage-default"][1] != pytest.approx(scores["vfibench"][1], abs=1e-5)


def test_ssim_matlab_ignores_channel_order(pair):
    pred, gt = pair
    _, rgb = PROTOCOLS["ifrnet"].compute(tensor(pred), tensor(gt))
    _, bgr = PROTOCOLS["ifrnet"].compute(tensor(pred[..., ::-1].copy()), tensor(gt[..., ::-1].copy()))
    assert torch.allclose(rgb, bgr, atol=1e-12)


def test_parse_protocols():
    assert parse_protocols("all") == list(PROTOCOLS)
    assert parse_protocols("Y, rife,y-channel") == ["y-channel", "rife"]
    with pytest.raises(VfiBenchError, match="Did you mean 'rife'"):
        parse_protocols("rif")
    with pytest.raises(VfiBenchError, match="'all' beside other protocols; write --protocols all alone"):
        parse_protocols("all,rife")
    with pytest.raises(VfiBenchError, match="names rife more than once"):
        parse_protocols("rife,vfibench,rife")
    with pytest.raises(VfiBenchError, match="names no protocol"):
        parse_protocols("")
    for listed in ("rife,", ",rife", "rife,,vfibench"):  # as --metrics refuses them, not read as "rife" alone
        with pytest.raises(VfiBenchError, match="has an empty item"):
            parse_protocols(listed)


def test_one_protocol_has_no_spread_row_and_several_have_one():
    import pandas as pd

    from vfibench.results.report_tables import SPREAD_ROW, protocol_means, protocol_table

    rows = pd.DataFrame({"config": ["a", "a", "a", "a"], "sample": [0, 1, 0, 1], "file": ["x", "y", "x", "y"],
                         "protocol": ["rife", "rife", "vfibench", "vfibench"], "psnr": [30.0, 32.0, 31.0, 33.0],
                         "ssim": [0.9, 0.8, 0.91, 0.81]})
    alone = protocol_means(rows[rows["protocol"] == "rife"], ["a"])
    assert list(alone.index) == ["rife"] and "spread" not in protocol_table(alone).caption
    both = protocol_means(rows, ["a"])
    assert list(both.index) == ["rife", "vfibench", SPREAD_ROW]
    assert both.loc[SPREAD_ROW, "a PSNR"] == pytest.approx(1.0)


def test_the_protocol_table_says_when_the_protocols_disagree_on_the_best_model():
    import pandas as pd

    from vfibench.results.report_tables import protocol_means, protocol_table

    rows = pd.DataFrame({"config": ["blur", "noisy"] * 2, "sample": [0, 0, 0, 0], "file": ["x"] * 4,
                         "protocol": ["vfibench", "vfibench", "y-channel", "y-channel"],
                         "psnr": [30.0, 29.0, 28.9, 31.0], "ssim": [0.9, 0.8, 0.91, 0.81]})
    caption = protocol_table(protocol_means(rows, ["blur", "noisy"])).caption
    assert ("The protocols disagree on the best model by PSNR (blur under vfibench; noisy under y-channel): state "
            "the protocol with any ranking.") in caption, caption
    assert "best model by SSIM" not in caption  # blur is best by SSIM under both


@pytest.mark.parametrize(("test_set", "protocol"), [("ucf101", "rife"), ("vimeo90k", "ifrnet"),
                                                     ("snufilm", "ifrnet"), ("xiph", "skimage-default")])
def test_ema_vfi_stands_for_the_protocol_of_its_script_for_the_test_set(test_set, protocol):
    # MCG-NJU/EMA-VFI benchmark/: UCF101.py rounds the prediction, Vimeo90K.py and SNU_FILM.py do not,
    # Xiph.py calls scikit-image with its defaults.
    assert parse_protocols("ema-vfi", test_set) == [protocol]
    assert parse_protocols("EMAVFI,rife", test_set) == list(dict.fromkeys([protocol, "rife"]))


@pytest.mark.parametrize("test_set", [None, "middlebury", "davis"])
def test_ema_vfi_without_a_protocol_for_the_test_set_is_refused_with_the_table(test_set):
    with pytest.raises(VfiBenchError, match="depends on the test set") as raised:
        parse_protocols("ema-vfi", test_set)
    message = str(raised.value)
    assert "rife on ucf101; ifrnet on vimeo90k and snufilm; skimage-default on xiph" in message
    assert ("--metrics ie" in message) == (test_set == "middlebury")
    if test_set == "middlebury":  # the fix that works: a user who gave --metrics ie still had this error
        assert "leave out --protocols ema-vfi to score as it does" in " ".join(message.split())


@needs_calibration
def test_vfibench_protocol_reproduces_published_psnr_on_calibration_pairs():
    for name, published in TID_PSNR.items():
        ref, dist = (np.asarray(Image.open(CALIBRATION / "tid2013" / d / f"{name}.png").convert("RGB"),
                                dtype=np.float64)[None] / 255.0 for d in ("ref", "dist"))
        psnr, _ = PROTOCOLS["vfibench"].compute(tensor(dist), tensor(ref))
        assert psnr.item() == pytest.approx(published, abs=1e-4)  # published to 4 decimals


def test_an_empty_batch_gives_empty_scores_under_every_protocol():
    empty = torch.empty(0, 3, 16, 16, dtype=torch.float64)
    scores = protocol_scores(empty, empty)
    assert set(scores) == set(PROTOCOLS)
    assert all(psnr.shape == ssim.shape == (0,) for psnr, ssim in scores.values())


def test_film_clips_the_prediction_before_both_metrics(pair):
    """FILM's evaluation clips the interpolator's output to [0, 1] before tf.image.psnr and tf.image.ssim."""
    pred, gt = pair
    overshoot = pred.copy()
    overshoot[:, :4] = 1.2  # a bright band beyond the range, as an unclipped network output can hold
    overshoot[:, -4:] = -0.2
    psnr, ssim = PROTOCOLS["film"].compute(tensor(overshoot), tensor(gt))
    clipped = np.clip(overshoot, 0.0, 1.0)
    for k in range(len(gt)):
        assert psnr[k].item() == pytest.approx(np_psnr(clipped[k], gt[k]), abs=1e-9)
        assert ssim[k].item() == pytest.approx(gaussian_skimage(clipped[k], gt[k]), abs=1e-9)


def test_protocol_scores_score_each_frame_against_its_own_truth(pair):
    pred, gt = pair
    scores = protocol_scores(tensor(pred), tensor(gt))
    for name, (psnr, ssim) in scores.items():
        for k in range(len(gt)):
            want_psnr, want_ssim = expected(name, pred[k], gt[k])
            assert psnr[k].item() == pytest.approx(want_psnr, abs=1e-9), (name, k)
            assert ssim[k].item() == pytest.approx(want_ssim, abs=1e-9), (name, k)


def test_the_protocol_table_prints_psnr_to_three_decimals_and_ssim_to_four():
    import pandas as pd

    from vfibench.results.report_tables import protocol_means, protocol_table

    rows = pd.DataFrame({"config": ["a", "a"], "sample": [0, 1], "file": ["x", "y"], "protocol": ["rife", "rife"],
                         "psnr": [30.0, 31.0], "ssim": [0.9, 0.8]})
    assert protocol_table(protocol_means(rows, ["a"])).rows == (("rife", "30.500", "0.8500"),)


def test_an_unbounded_mean_psnr_is_printed_as_inf_and_explained():
    import pandas as pd

    from vfibench.results.report_tables import protocol_means, protocol_table

    rows = pd.DataFrame({"config": ["a", "a"], "sample": [0, 1], "file": ["x", "y"], "protocol": ["rife", "rife"],
                         "psnr": [float("inf"), 31.0], "ssim": [1.0, 0.8]})
    rendered = protocol_table(protocol_means(rows, ["a"]))
    assert rendered.rows == (("rife", "inf", "0.9000"),)
    assert "inf: a frame equals its ground truth under a protocol that" in rendered.caption
