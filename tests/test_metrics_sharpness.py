"""The sharpness ratio: its values on ramps and against NumPy's central differences, and its direction (1 is
best, blur falls below 1, over-sharpening rises above it)."""

from __future__ import annotations

import numpy as np
import pytest
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


def ramp(slope_x: float, slope_y: float, size: int = 12) -> torch.Tensor:
    """A 3-channel frame whose value rises by ``slope_x`` per column and ``slope_y`` per row."""
    rows, columns = np.mgrid[0:size, 0:size].astype(np.float64)
    plane = slope_x * columns + slope_y * rows
    return torch.from_numpy(np.stack([plane, plane + 0.1, plane + 0.2]))[None]


def test_a_ramp_has_its_slope_as_gradient_magnitude_and_two_ramps_the_ratio_of_their_slopes():
    from vfibench.metrics.sharpness import mean_gradient_magnitude

    assert mean_gradient_magnitude(ramp(0.03, 0.0)).item() == pytest.approx(0.03, rel=1e-12)
    assert mean_gradient_magnitude(ramp(0.0, 0.02)).item() == pytest.approx(0.02, rel=1e-12)
    assert mean_gradient_magnitude(ramp(0.03, 0.04)).item() == pytest.approx(0.05, rel=1e-12)  # √(a² + b²)
    assert sharpness_ratio(ramp(0.01, 0.0), ramp(0.04, 0.0)).item() == pytest.approx(0.25, rel=1e-6)


def test_gradient_magnitude_equals_numpy_central_differences_on_the_interior():
    from vfibench.metrics.sharpness import mean_gradient_magnitude

    image = data.astronaut()[100:164, 150:230].astype(np.float64) / 255  # H ≠ W: the axes cannot be swapped
    gy, gx = np.gradient(image, axis=(0, 1))
    expected = np.sqrt(gx**2 + gy**2)[1:-1, 1:-1].mean()
    frame = torch.from_numpy(image).permute(2, 0, 1)[None]
    assert mean_gradient_magnitude(frame).item() == pytest.approx(expected, rel=1e-12)


def test_gradients_are_taken_at_interior_pixels_only():
    """A corner pixel is no interior pixel's neighbour along a row or a column: changing the four
    corners changes nothing (a gradient computed at the border, with padding, would see them)."""
    frame = ramp(0.02, 0.01)
    cornered = frame.clone()
    cornered[..., [0, 0, -1, -1], [0, -1, 0, -1]] = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=frame.dtype)
    assert sharpness_ratio(cornered, frame).item() == 1.0
    edged = frame.clone()
    edged[..., 0, 1] = 1.0  # an edge pixel beside a corner is an interior pixel's neighbour
    assert sharpness_ratio(edged, frame).item() > 1.0
