"""The breakdown figure (a metric per bin of a test-set attribute): print-ready and uncut."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from vfibench.analysis.breakdown import Breakdown
from vfibench.results.plots import PANEL_SIZE, SCREEN_DPI, breakdown_plot

#: Per-bin means from a smoke sweep whose PSNR ticks (22.5 … 37.5) outgrow the first layout pass.
PSNR = {"l2": (31.61, 27.45, 31.56, 24.43), "l1": (33.64, 27.51, 32.94, 24.68), "l1+perc": (27.89, 26.70, 27.95, 24.33),
        "blend": (38.13, 27.66, 33.30, 24.72), "nearest": (30.44, 23.95, 33.53, 22.52)}
LPIPS = {"l2": (0.026, 0.054, 0.014, 0.107), "l1": (0.032, 0.050, 0.014, 0.107), "l1+perc": (0.028, 0.050, 0.026, 0.109),
         "blend": (0.016, 0.038, 0.012, 0.096), "nearest": (0.010, 0.026, 0.014, 0.060)}


def _draw(tmp_path: Path, compared: tuple[str, ...] = ("lpips", "dists")) -> Path:
    result = Breakdown("ambiguity_px", (0.17, 0.34, 1.08, 2.46, 6.33), (2, 2, 2, 2),
                       {"psnr": PSNR, "lpips": LPIPS, "dists": {c: tuple(v * 2 for v in m) for c, m in LPIPS.items()}})
    kinds = {c: "reference" if c in ("blend", "nearest") else "trained" for c in PSNR}
    analysis = SimpleNamespace(base="psnr", compared=compared, kinds=kinds)
    figure = breakdown_plot(result, analysis, tmp_path / "gap_by_ambiguity_px.png")  # type: ignore[arg-type]
    assert figure is not None and figure.vector == (tmp_path / "gap_by_ambiguity_px.pdf",)
    assert "quantile bins" in figure.caption and figure.print_note == "Also as gap_by_ambiguity_px.pdf, for print."
    return figure.png


def test_breakdown_figure_fits_a_two_column_page_and_cuts_no_label(tmp_path: Path) -> None:
    png = _draw(tmp_path)
    assert png.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    with Image.open(png) as image:
        assert image.width == round(3 * PANEL_SIZE[0] * SCREEN_DPI)  # three panels, 7.65 in
        pixels = np.asarray(image.convert("L"))
    assert pixels[:, :2].min() > 200 and pixels[:, -2:].min() > 200   # the axis labels lie inside the figure


@pytest.mark.parametrize("compared", [("lpips",), ()])
def test_a_breakdown_of_one_or_two_metrics_keeps_its_title_and_legend_inside(tmp_path: Path, compared) -> None:
    with Image.open(_draw(tmp_path, compared)) as image:
        # within a pixel: matplotlib before 3.11 truncates the width in pixels, 2.55 × 200 = 509.99…
        assert abs(image.width - (1 + len(compared)) * PANEL_SIZE[0] * SCREEN_DPI) <= 1
        pixels = np.asarray(image.convert("L"))
    edges = (pixels[:, :2], pixels[:, -2:], pixels[:2], pixels[-2:])
    assert all(edge.min() > 200 for edge in edges)  # the title wraps and the legend narrows to the panels
