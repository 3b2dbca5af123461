"""Training precision: fp32 trains exactly as without the option, bf16 autocast trains (on the CPU
too) and is recorded in the manifest, fp16 needs CUDA, and a resume keeps the run's precision."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.errors import VfiBenchError
from vfibench.losses.catalog import REGISTRY  # noqa: F401  (registers the loss catalog)
from vfibench.losses.spec import parse_config
from vfibench.presets import get_preset
from vfibench.results.store import RunStore
from vfibench.sweep import SweepInterrupted, plan_resume, plan_sweep, run_sweep
from vfibench.train import train_configuration
from helpers import needs_cuda, random_triplets

PRESET = get_preset("smoke").with_overrides(steps=3, log_every=1)
runner = CliRunner()


def weights(config: str, precision: str | None, device: str = "cpu") -> dict[str, torch.Tensor]:
    data = random_triplets(n=8, size=16)
    extra = {} if precision is None else {"precision": precision}
    result = train_configuration(parse_config(config), data, PRESET, seed=1, device=device, **extra)
    assert result.status == "complete" and all(torch.isfinite(torch.tensor(row["total"])) for row in result.log)
    return {k: v.detach().cpu().clone() for k, v in result.model.state_dict().items()}


@pytest.mark.parametrize("config", ["l1", "l1+0.1*perc+0.01*adv"])
def test_fp32_is_bit_identical_to_no_option_and_bf16_trains_differently(config: str) -> None:
    default, fp32, bf16 = weights(config, None), weights(config, "fp32"), weights(config, "bf16")
    assert all(torch.equal(default[k], fp32[k]) for k in default)
    assert any(not torch.equal(fp32[k], bf16[k]) for k in fp32)  # autocast really ran in bfloat16
    assert all(torch.isfinite(v).all() for v in bf16.values() if v.is_floating_point())
    assert all(v.dtype == fp32[k].dtype for k, v in bf16.items())  # the weights stay float32


def test_fp16_needs_cuda(tmp_path: Path) -> None:
    with pytest.raises(VfiBenchError, match="--precision fp16 trains with a CUDA gradient scaler"):
        plan_sweep("l1", PRESET, [0], out=tmp_path, device="cpu", metrics=["psnr"], precision="fp16")
    with pytest.raises(VfiBenchError, match="Unknown --precision 'fp8'"):
        plan_sweep("l1", PRESET, [0], out=tmp_path, device="cpu", metrics=["psnr"], precision="fp8")
    with pytest.raises(VfiBenchError, match="--precision fp16 trains with a CUDA gradient scaler"):
        weights("l1", "fp16")  # training itself applies the same rule, with the same message


@needs_cuda
def test_fp16_trains_on_cuda_with_loss_scaling() -> None:
    fp16 = weights("l1", "fp16", device="cuda")
    assert all(torch.isfinite(v).all() for v in fp16.values() if v.is_floating_point())


class StopAtFirstTrained:
    def sweep_started(self, units: int, steps: int) -> None: ...
    def phase(self, message: str, total: int | None = None) -> None: ...
    def note(self, message: str) -> None: ...
    def advance(self) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def unit_finished(self, label: str, outcome: str) -> None: ...

    def unit_started(self, label: str, steps: int) -> None:
        if not label.startswith("warm start") and "seed" in label and label.startswith("l2"):
            raise KeyboardInterrupt


def test_the_manifest_records_the_precision_and_a_resume_keeps_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from vfibench.sweep import unit

    trained: list[tuple[str, str]] = []  # (configuration, precision) of every training the units start

    def spy(config, *args, **kwargs):  # type: ignore[no-untyped-def]
        trained.append((config.canonical, kwargs["precision"]))
        return train_configuration(config, *args, **kwargs)

    monkeypatch.setattr(unit, "train_configuration", spy)
    plan = plan_sweep("l1,l2", PRESET, [0], out=tmp_path, device="cpu", metrics=["psnr"], precision="bf16")
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(plan, StopAtFirstTrained())
    store: RunStore = stopped.value.store
    precision = store.read_manifest()["precision"]
    assert precision["training"] == "bf16" and "bfloat16" in precision["note"]
    with pytest.raises(VfiBenchError, match="--precision fp32; the run has bf16"):
        plan_resume(store, precision="fp32")
    assert plan_resume(store).precision == "bf16"
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path), "--precision", "fp16"])
    assert result.exit_code == 2 and "--precision fp16; the run has bf16" in " ".join(result.output.split())
    before_resume = len(trained)
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert store.read_manifest()["precision"]["training"] == "bf16"
    assert ("l1", "bf16") in trained[:before_resume] and ("l2", "bf16") in trained[before_resume:]
    assert {precision for _, precision in trained} == {"bf16"}  # the units train as the manifest says
