"""Start-up: the CLI and the loss catalog load without torch, and the catalog's JSON copy is current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import vfibench
from vfibench.cli import app
from vfibench.cli_data import FitChoice
from vfibench.data.images import Fit
from vfibench.losses import snapshot
from vfibench.losses.catalog import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)


def test_importing_the_cli_does_not_import_torch() -> None:
    done = _python("import sys, vfibench.cli; print(sorted(m for m in ('torch', 'torchvision', 'numpy', 'pandas') "
                   "if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [["--help"], ["losses"], ["losses", "superslomo"], ["losses", "l1+0.1*perc"],
                                  ["run", "--help"], ["data", "--help"], ["weights", "--help"]])
def test_help_and_the_catalog_run_without_torch(args: list[str]) -> None:
    done = _python("import sys\nfrom typer.testing import CliRunner\nfrom vfibench.cli import app\n"
                   f"result = CliRunner().invoke(app, {args!r})\n"
                   "assert result.exit_code == 0, result.output\nprint('torch' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_the_catalog_copy_matches_the_registry() -> None:
    assert snapshot.SNAPSHOT.read_text(encoding="utf-8") == snapshot.render(REGISTRY), (
        "vfibench/losses/catalog.json is out of date: run `python -m vfibench.losses.snapshot`")
    assert snapshot.render(snapshot.load()) == snapshot.render(REGISTRY)


def test_a_term_from_the_copy_builds_the_real_module() -> None:
    module = snapshot.load().term("charbonnier").factory(eps=1e-3)
    assert type(module) is type(REGISTRY.term("charbonnier").factory(eps=1e-3))


def test_fit_choices_are_the_loader_fits() -> None:
    assert [choice.value for choice in FitChoice] == [fit.value for fit in Fit]


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"vfibench {vfibench.__version__}"


def _torch_after(args: list[str]) -> str:
    done = _python("import sys\nfrom typer.testing import CliRunner\nfrom vfibench.cli import app\n"
                   f"result = CliRunner().invoke(app, {args!r})\n"
                   "assert result.exit_code == 0, result.output\nprint('torch' in sys.modules)")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_compare_runs_without_torch() -> None:
    baseline = str(ROOT / "results" / "baselines" / "ci.csv")
    assert _torch_after(["compare", baseline, baseline, "--format", "md"]) == "False"


def test_printing_a_report_format_of_a_run_does_not_import_torch(tmp_path: Path) -> None:
    from vfibench.presets import get_preset
    from vfibench.sweep import plan_sweep, run_sweep

    preset = get_preset("smoke").with_overrides(steps=2, train_count=8, test_count=6, batch_size=2)
    run = run_sweep(plan_sweep("l1,l2", preset, [0], out=tmp_path, device="cpu", metrics=["psnr", "ssim"])).root
    for fmt in ("csv", "latex", "md", "json"):
        assert _torch_after(["report", str(run), "--format", fmt, "--samples", "0"]) == "False", fmt
    (run / "summary.csv").unlink()  # a missing table is rebuilt from the units: that needs torch, and works
    assert _torch_after(["report", str(run), "--format", "csv"]) == "True"
    assert (run / "summary.csv").is_file()


def test_reporting_an_evaluation_does_not_import_torch(tmp_path: Path) -> None:
    # an evaluation derives no tables from units (it has no train_log.csv): nothing to rebuild, no torch
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png"):
        truth = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        for folder, image in (("gt", truth), ("pred", truth // 2)):
            (tmp_path / folder).mkdir(exist_ok=True)
            Image.fromarray(image).save(tmp_path / folder / name)
    result = runner.invoke(app, ["eval", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics",
                                 "psnr,ssim", "--out", str(tmp_path / "runs"), "--format", "csv", "--samples", "0"])
    assert result.exit_code == 0, result.output
    run = str((tmp_path / "runs" / "latest").resolve())
    for fmt in ("csv", "md", "json", "table"):
        assert _torch_after(["report", run, "--format", fmt, "--samples", "0"]) == "False", fmt


def test_metric_records_match_the_registry() -> None:
    from dataclasses import asdict

    from vfibench.metrics.records import RECORDS, MetricRecord
    from vfibench.metrics.registry import METRICS

    assert [r.name for r in RECORDS] == list(METRICS)
    for record in RECORDS:
        info = METRICS[record.name]
        assert {k: v for k, v in asdict(info).items() if k in MetricRecord.__dataclass_fields__} == asdict(record)
        assert callable(info.compute)


def test_weight_free_metrics_never_import_torchvision() -> None:
    # torchvision imports torch._dynamo (seconds of start-up); no metric needs it (piq, which GMSD
    # follows, would import it)
    done = _python("import sys, torch\nfrom vfibench.metrics.suite import MetricSuite\n"
                   "x = torch.rand(2, 3, 32, 32)\nMetricSuite(['psnr', 'ssim', 'sharpness', 'gmsd'])(x, x)\n"
                   "print(sorted(m for m in ('torchvision', 'lpips', 'piq', 'torch._dynamo') if m in sys.modules))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_python_dash_m_vfibench_runs_the_command_line() -> None:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "vfibench", "losses", "--help"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root), "COLUMNS": "120"}, cwd=root, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "python -m vfibench losses" in done.stdout
