"""What every metric is, without computing it: name, label, direction, target, unit, valid range,
comparison tolerance, description, source, the backbones and inputs it needs. Torch-free, so reading
and comparing results (``vfibench compare``, ``report --format``) never loads torch;
:mod:`vfibench.metrics.registry` adds the compute functions to these records.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from vfibench.errors import VfiBenchError


@dataclass(frozen=True)
class MetricRecord:
    """Everything known about one metric but how to compute it.

    Attributes:
        name: registry name (``"lpips-vgg"``), used as the column name in result tables.
        label: short display label (``"LPIPS (VGG)"``).
        higher_is_better: True if larger values are better, False if smaller are; None when the
            best value is :attr:`target` and deviations either way are worse (the sharpness ratio).
        unit: ``"dB"`` or ``""`` for unitless indices.
        needs: the pretrained backbones (:mod:`vfibench.backbones` names) the metric needs.
        description: one sentence on what it measures and its conventions.
        source: the paper and the implementation it follows.
        tolerance: the absolute change of a run's mean, in the metric's unit, that ``vfibench compare``
            lets pass by default: large enough to absorb the floating-point differences between
            machines and library builds (summation order, BLAS kernels), which move the scores of the
            same frames in the third or fourth decimal, and well below a change anyone would act on.
            (Training compounds such differences: models trained with another torch thread count
            can differ by as much as two seeds, beyond any tolerance; ``vfibench compare`` notes it.)
        target: the best value when :attr:`higher_is_better` is None.
        min_size: the smallest frame side the metric accepts.
        inputs: True when the metric also needs the input frames I0 and I1.
        valid_range: (low, high), the values the metric can take; a value outside it is damage.
        decimals: how many decimals every table prints the metric's values and their spread with,
            whatever their size: two for the dB scores, as papers print them; four for the others.
        cap: the value a frame equal to its truth scores where the metric itself is infinite (PSNR's
            100 dB); a mean over such frames depends on it, and the report says how many there are.
        unbounded_above: per-frame values above it come from a degenerate truth, where the metric has
            no bound (the sharpness ratio over a nearly flat frame); the report names such frames.
    """

    name: str
    label: str
    higher_is_better: bool | None
    unit: str
    needs: tuple[str, ...]
    description: str
    source: str
    tolerance: float
    target: float | None = None
    min_size: int = 1
    inputs: bool = False
    valid_range: tuple[float, float] = (0.0, float("inf"))
    decimals: int = 4
    cap: float | None = None
    unbounded_above: float | None = None

    @property
    def arrow(self) -> str:
        """``"↑"``, ``"↓"`` or ``"→1"`` (best at the target), for table headers."""
        return direction_arrow(self.higher_is_better, self.target)

    @property
    def heading(self) -> str:
        """``"PSNR (dB) ↑"``, ``"LPIPS ↓"``: label, unit and direction, as tables and axes head a column."""
        return metric_heading(self.label, self.unit, self.arrow)

    def goodness(self, values: Any) -> Any:
        """Values (a number, array, series or tensor) mapped so that larger is always better: x, −x, or
        −|x − target|. Rankings, Kendall's tau and Pareto fronts can use this without knowing the metric."""
        return goodness_of(values, self.higher_is_better, self.target)


def goodness_of(values: Any, higher_is_better: bool | None, target: float | None) -> Any:
    """``values`` mapped so that larger is always better: x when higher is better, −x when lower is,
    −|x − target| when the best value is ``target`` (``higher_is_better`` None)."""
    if higher_is_better is None:
        return -abs(values - float(target if target is not None else 0.0))
    return values if higher_is_better else -values


def metric_heading(label: str, unit: str, arrow: str) -> str:
    """``"PSNR (dB) ↑"``: a metric's label, its unit in parentheses when it has one, and its arrow."""
    return f"{label} ({unit}) {arrow}" if unit else f"{label} {arrow}"


def direction_arrow(higher_is_better: bool | None, target: float | None) -> str:
    """``"↑"``, ``"↓"`` or ``"→1"`` (best at ``target``): a metric's direction in a table header."""
    if higher_is_better is None:
        return f"→{target:g}"
    return "↑" if higher_is_better else "↓"


#: The PSNR of identical frames, 10·log10(1 / 1e-10): the smallest mean squared error PSNR and PSNR_DIV use.
PSNR_CAP_DB = 100.0

RECORDS: tuple["MetricRecord", ...] = (
    MetricRecord(
        name="psnr",
        label="PSNR",
        higher_is_better=True,
        unit="dB",
        needs=(),
        description="Peak signal-to-noise ratio per frame, RGB, data range 1, capped at 100 dB; "
        "the mean of per-frame values, not the pooled-MSE PSNR.",
        source="standard definition; equals skimage.metrics.peak_signal_noise_ratio per frame",
        tolerance=0.05,  # dB: about a 1% change of the mean squared error
        valid_range=(0.0, PSNR_CAP_DB),  # data range 1, so MSE <= 1; capped at 100 dB
        decimals=2,
        cap=PSNR_CAP_DB,
    ),
    MetricRecord(
        name="ssim",
        label="SSIM",
        higher_is_better=True,
        unit="",
        needs=(),
        description="Structural similarity, per-channel RGB, Gaussian window σ = 1.5 (11×11), "
        "population covariance, data range 1, mean over the valid region and the channels.",
        source="Wang et al., IEEE TIP 2004; equals skimage.metrics.structural_similarity "
        "(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)",
        tolerance=0.002,  # a fifth of the 0.01 steps in which papers report it
        valid_range=(-1.0, 1.0),
        min_size=11,
    ),
    MetricRecord(
        name="lpips",
        label="LPIPS",
        higher_is_better=False,
        unit="",
        needs=("alexnet",),
        description="Learned perceptual distance, AlexNet trunk, v0.1, inputs scaled to [-1, 1].",
        source="Zhang et al., CVPR 2018; the lpips package with verified ImageNet AlexNet weights",
        tolerance=0.002,  # a fifth of the 0.01 steps in which papers report it
        min_size=32,
    ),
    MetricRecord(
        name="lpips-vgg",
        label="LPIPS (VGG)",
        higher_is_better=False,
        unit="",
        needs=("vgg16",),
        description="Learned perceptual distance, VGG16 trunk, v0.1, inputs scaled to [-1, 1].",
        source="Zhang et al., CVPR 2018; the lpips package with verified ImageNet VGG16 weights",
        tolerance=0.002,
        min_size=32,
    ),
    MetricRecord(
        name="dists",
        label="DISTS",
        higher_is_better=False,
        unit="",
        needs=("vgg16",),
        description="Deep structure and texture similarity on VGG16 with L2 pooling, no resize; "
        "tolerant of resampled texture.",
        source="Ding et al., IEEE TPAMI 2020; the authors' DISTS_pytorch code and learned weights",
        tolerance=0.002,
        # 1 - Σα·structure - Σβ·texture with structure in [0, 1], texture in [-1, 1] and the learned
        # Σβ = 0.12395 (α, β normalised to sum to 1): above 1 only for anti-correlated textures
        valid_range=(0.0, 1.124),
        min_size=32,
    ),
    MetricRecord(
        name="sharpness",
        label="Sharpness",
        higher_is_better=None,
        unit="",
        needs=(),
        description="Mean central-difference gradient magnitude of the prediction over that of the "
        "truth (RGB, interior pixels); 1 = as sharp as the truth (best), below 1 = blurrier, "
        "above 1 = over-sharpened or noisy.",
        source="gradient-energy focus measure (Pertuz et al., Pattern Recognition 2013) as a ratio",
        tolerance=0.01,  # 1% of the truth's gradient energy; a ratio of two small means is the noisiest number
        target=1.0,
        min_size=3,
        unbounded_above=10.0,  # ten times the truth's gradient energy: a nearly flat truth (a fade), not a model
    ),
    MetricRecord(
        name="gmsd",
        label="GMSD",
        higher_is_better=False,
        unit="",
        needs=(),
        description="Gradient magnitude similarity deviation on MATLAB-rgb2gray luma, 2× "
        "downsampled, Prewitt gradients, T = 170/255².",
        source="Xue et al., IEEE TIP 2014; computed as piq.gmsd computes it",
        tolerance=0.002,
        valid_range=(0.0, 1.0),  # a standard deviation of similarities in [0, 1]
        min_size=2,
    ),
    MetricRecord(
        name="ie",
        label="IE",
        higher_is_better=False,
        unit="",
        needs=(),
        description="Interpolation error: the mean absolute difference in 8-bit levels (0-255) over every "
        "pixel and RGB channel, per frame; what RIFE, EMA-VFI and IFRNet publish for Middlebury.",
        source="Baker et al., IJCV 2011, as RIFE (benchmark/MiddleBury_Other.py), IFRNet (metric.py) and "
        "EMA-VFI compute it: mean absolute, not the paper's root-mean-square, difference",
        tolerance=0.002,  # levels: a fifth of the 0.01 steps in which papers report it
        valid_range=(0.0, 255.0),
    ),
    MetricRecord(
        name="flolpips-dis",
        label="FloLPIPS (DIS)",
        higher_is_better=False,
        unit="",
        needs=("alexnet",),
        description="LPIPS-alex difference maps weighted per layer by the normalised magnitude of the "
        "difference between the flows from the ground truth and from the prediction to I0 and I1; "
        "DIS flow (OpenCV), not the published PWC-Net; 0 for a perfect prediction (never NaN).",
        source="Danier et al., PCS 2022 (danier97/flolpips), triplet form with OpenCV DIS flow",
        tolerance=0.002,  # as LPIPS, whose maps it weights
        min_size=32,
        inputs=True,
    ),
    MetricRecord(
        name="psnr-div",
        label="PSNR-DIV",
        higher_is_better=True,
        unit="dB",
        needs=(),
        description="BT.709 luma PSNR over the pixels where the Farneback flow from the prediction to I1 "
        "has normalised |divergence| > 0.01; the true divergence du/dx + dv/dy (the published code "
        "takes du/dy + dv/dx), capped at 100 dB.",
        source="Daly, Ramsook, Kokaram, QoMEX 2025, re-derived from the paper's definition",
        tolerance=0.1,  # dB: twice PSNR's, as a pixel may enter or leave its flow-thresholded region
        min_size=3,
        inputs=True,
        valid_range=(0.0, PSNR_CAP_DB),
        decimals=2,
        cap=PSNR_CAP_DB,  # psnr-div floors its masked MSE as psnr does
    ),
)

RECORDS_BY_NAME: Mapping[str, MetricRecord] = MappingProxyType({record.name: record for record in RECORDS})
if len(RECORDS_BY_NAME) != len(RECORDS):  # pragma: no cover - a programming error in the table above
    raise RuntimeError("duplicate metric names in vfibench.metrics.records")


#: The metrics a run or an evaluation computes unless told otherwise.
DEFAULT_METRICS: tuple[str, ...] = ("psnr", "ssim", "lpips", "dists", "sharpness", "gmsd")


def record_names() -> tuple[str, ...]:
    """Every metric name, in table order."""
    return tuple(RECORDS_BY_NAME)


def metrics_help() -> str:
    """The ``--metrics`` help's list: the default metrics, then the others."""
    others = [name for name in record_names() if name not in DEFAULT_METRICS]
    return f"Comma-separated metrics. Default: {', '.join(DEFAULT_METRICS)}. Also: {', '.join(others)}"


def metric_record(name: str) -> MetricRecord:
    """The record for ``name`` (case-insensitive); an unknown name raises with the closest names."""
    key = name.strip().lower()
    if key in RECORDS_BY_NAME:
        return RECORDS_BY_NAME[key]
    close = difflib.get_close_matches(key, record_names(), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise VfiBenchError(
        f"Unknown metric '{name}'.{hint} Known metrics: {', '.join(record_names())}."
    )


def parse_metric_list(text: str) -> list[str]:
    """``--metrics`` as written (``"psnr, SSIM,lpips"``) → names in order, lower case; an empty list or item,
    or a name given twice, is refused (unknown names are checked where the metrics are built)."""
    names = [m.strip().lower() for m in text.split(",")]
    if not any(names):
        raise VfiBenchError(f"--metrics {text!r} names no metric. Give comma-separated names such as "
                            f"--metrics psnr,ssim,lpips, or leave the option out for the default set.")
    if not all(names):
        raise VfiBenchError(f"--metrics {text!r} has an empty item (two commas in a row, or a comma at an end). "
                            f"Give comma-separated names such as --metrics psnr,ssim,lpips.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise VfiBenchError(f"--metrics {text!r} names {', '.join(repeated)} more than once; each metric is one "
                            f"column of the tables. Give each name once.")
    return names
