"""The project's CI regression check: a small deterministic sweep against the committed baseline.

The sweep is the ``ci`` preset with ``l1`` and the multi-term paper preset ``superslomo``
(204*l1 + 102*warp + 0.005*perc + smooth) under seed 0, on the CPU with one thread; its summary is
compared, two-sided, with ``results/baselines/ci.csv``. A single-term loss is nearly invariant to its
weight under Adam, so it is the multi-term preset whose numbers move when any weighting changes.

Regenerate the baseline after an intended change of the numbers, from the repository root::

    rm -rf /tmp/vfibench-ci && OMP_NUM_THREADS=1 .venv/bin/vfibench run --preset ci --losses l1,superslomo \\
        --seeds 0 --device cpu --out /tmp/vfibench-ci && cp /tmp/vfibench-ci/latest/summary.csv results/baselines/ci.csv

Tolerances (absolute, per metric mean), measured on the baseline's machine with the synthesis-stage
interpolator on ambiguous synthetic scenes: running the sweep with two threads instead of one (a
different floating-point summation order, the kind of difference another machine or library build
brings) moved the means by at most psnr 7.7e-4 dB, ssim 2.7e-6, lpips 1.9e-5, dists 1.4e-5, sharpness
1.0e-5, gmsd 3.1e-6; raising superslomo's warp weight by 10% (102 → 112.2) moved superslomo's by psnr
+2.1e-2 dB, ssim −5.5e-5, lpips −1.4e-4, dists −2.6e-4, sharpness +6.0e-4, gmsd −1.1e-4. Each tolerance
lies between the two, near their geometric mean: 2.6× (lpips) to 10× (sharpness) the floating-point
spread, and 2.6× (ssim) to 6× (sharpness, dists) below the effect of that 10% change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vfibench.backbones import REFERENCE_SHA256
from vfibench.errors import BackboneUnavailable
from vfibench.presets import get_preset
from vfibench.results.compare import compare_summaries
from vfibench.results.compare_inputs import load_summary
from vfibench.results.compare_render import markdown
from vfibench.results.compare_verdicts import summary_line
from vfibench.sweep import plan_sweep, run_sweep

BASELINE = Path(__file__).resolve().parent.parent / "results" / "baselines" / "ci.csv"
CI_LOSSES = "l1,superslomo"
CI_SEEDS = [0]
#: The baseline was made on the CPU; a GPU's kernels differ by more than these tolerances.
CI_DEVICE = "cpu"
TOLERANCES = {"psnr": 4e-3, "ssim": 2e-5, "lpips": 5e-5, "dists": 5e-5, "sharpness": 1e-4, "gmsd": 1e-5}


@pytest.mark.slow
def test_ci_sweep_matches_the_committed_baseline(tmp_path: Path) -> None:
    assert BASELINE.is_file(), f"{BASELINE} is missing; regenerate it with the command in this module's docstring"
    try:
        plan = plan_sweep(CI_LOSSES, get_preset("ci"), CI_SEEDS, out=tmp_path, device=CI_DEVICE)
    except BackboneUnavailable as err:
        pytest.skip(f"the CI sweep needs the ImageNet backbones (superslomo's perceptual term, LPIPS, DISTS): {err}")
    store = run_sweep(plan)
    manifest = store.read_manifest()  # the manifest vouches for the backbones the numbers came from
    assert manifest["reference_weights"] is True
    assert manifest["backbones"] == {name: REFERENCE_SHA256[name] for name in ("alexnet", "vgg16")}
    comparison = compare_summaries(load_summary(store.root), load_summary(BASELINE), TOLERANCES, two_sided=True)
    line = summary_line(comparison)
    assert not comparison.failed, f"{line}\n\n{markdown(comparison)}"
    assert line.endswith("— passed")
    assert {row.verdict.value for row in comparison.rows} == {"ok"}
    assert len(comparison.rows) == 4 * len(TOLERANCES)


def test_the_readme_ci_job_uses_these_tolerances_two_sided() -> None:
    import re

    from vfibench.results.compare_tolerances import parse_tolerances

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    job = readme[readme.index("metrics-regression:"):]
    job = job[:job.index("```")]
    assert "--two-sided" in job and "--threads 1" in job
    given = re.search(r"--tol (\S+)", job)
    assert given is not None and parse_tolerances([given.group(1)]) == TOLERANCES
