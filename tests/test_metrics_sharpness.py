"""The sharpness ratio's direction: 1 is best, blur falls below 1, over-sharpening rises above it."""

from __future__ import annotations

import numpy as np
import scipy.ndimage
import torch
from skimage import data

from vfibench.metrics.registry import metric_info
from vfibench.metrics.sharpness import sharpness_ratio


def as_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.clip(image, 0, 255).round() / 255.0).permute(2, 0, 1)[None]


def test_blur_below_one_sharpening_above_and_goodness_prefers_closest_to_one():
    image = data.astronaut()[100:228, 150:278].astype(np.float64)
    gt = as_tensor(image)
    blurred = {s: as_tensor(scipy.ndimage.gaussian_filter(image, sigma=(s, s, 0))) for s in (0.7, 1.5, 3.0)}
    sharpened = as_tensor(image + 1.5 * (image - scipy.ndimage.gaussian_filter(image, sigma=(1.0, 1.0, 0))))
    ratios = {s: sharpness_ratio(x, gt).item() for s, x in blurred.items()}
    over = sharpness_ratio(sharpened, gt).item()
    assert 1.0 > ratios[0.7] > ratios[1.5] > ratios[3.0]
    assert over > 1.2
    assert sharpness_ratio(gt, gt).item() == 1.0
    info = metric_info("sharpness")
    assert info.higher_is_better is None and info.target == 1.0 and info.arrow == "→1"
    goodness = info.goodness(torch.tensor([1.0, ratios[0.7], ratios[3.0], over]))
    assert goodness[0] == 0 and goodness[0] > goodness[1] > goodness[2]
    # neither "higher" nor "lower" would pick the identical frame as best
    assert goodness.argmax().item() == 0
