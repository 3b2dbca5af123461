"""report.html opened in headless Chromium: every image on the page decodes (scripts/check_report_html.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from PIL import Image

from vfibench.eval_plan import plan_evaluation
from vfibench.evaluate import run_evaluation
from vfibench.results.report import build_report
from tests.helpers import noisy_frame_folders

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_report_html.py"
_spec = importlib.util.spec_from_file_location("check_report_html", SCRIPT)
check = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = check  # dataclasses look their module up there
_spec.loader.exec_module(check)  # type: ignore[union-attr]

pytestmark = pytest.mark.skipif(check.find_chromium() is None,
                                reason="Chromium is not installed (apt-get install chromium); cannot open report.html")


def test_every_image_of_the_report_loads_in_chromium(tmp_path):
    folders = noisy_frame_folders(tmp_path, 3, 48, 64, {"gt": 0, "a": 5, "b": 30}, seed=1)
    plan = plan_evaluation({"a": folders["a"], "b": folders["b"]}, folders["gt"], out=tmp_path / "results",
                           metrics=["psnr", "ssim", "sharpness", "gmsd"], device="cpu")
    report = build_report(run_evaluation(plan), grid_samples=2)
    images = check.check_images(report.html)
    assert len(images) == 3  # the plane and two grids
    assert all(image.loaded and image.width > 100 for image in images), images


def test_the_check_notices_a_broken_image(tmp_path):
    good = Image.new("RGB", (8, 8), "red")
    good.save(tmp_path / "good.png")
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><html><head></head><body><img src="good.png" alt="good">'
                    '<img src="missing.png" alt="missing"></body></html>')
    images = {image.alt: image.loaded for image in check.check_images(page)}
    assert images == {"good": True, "missing": False}
    assert check.main([str(page)]) == 1
