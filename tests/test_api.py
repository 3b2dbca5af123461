"""The Python API: its documented examples run (doctest), and what a notebook relies on."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from vfibench import api
from vfibench.errors import ResultsError, SpecError, VfiBenchError


def test_documented_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the examples' mkdtemp() folders go where pytest cleans
    failures, tried = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert tried >= 10 and failures == 0
    assert len(list(tmp_path.glob("tmp*"))) == 2  # the sweep's results and the evaluation's frames, here


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> api.Run:
    with pytest.warns(UserWarning, match="the 3 training steps log one row"):  # the smoke preset logs every 4
        return api.run_sweep("l1", preset="smoke", steps=3, seeds=[0, 1], metrics=["psnr", "gmsd"],
                             out=tmp_path_factory.mktemp("results"), device="cpu")


def test_a_run_loads_as_dataframes_by_folder_or_by_name(run: api.Run) -> None:
    assert run.metrics == ["psnr", "gmsd"]
    assert {"psnr_mean", "psnr_std", "gmsd_mean"} <= set(run.summary.columns)
    assert len(run.per_sample) == 2 * 3 * run.manifest["preset"]["test_count"]  # 2 seeds × (l1, blend, nearest)
    assert set(run.train_log["config"]) == {"l1"} and set(run.train_log["seed"]) == {0, 1}
    again = api.load_run(run.path.parent, run.path.name)
    assert again.summary.equals(run.summary) and api.load_run(run.path.parent).path == run.path


def test_a_run_gives_the_latex_table_the_command_line_prints(run: api.Run) -> None:
    from typer.testing import CliRunner

    from vfibench.cli import app

    printed = CliRunner().invoke(app, ["report", str(run.path), "--format", "latex"])
    assert printed.exit_code == 0 and run.latex() == printed.stdout
    assert r"\begin{tabular}{lrr}" in printed.stdout and r"\scriptsize$\pm$" in printed.stdout  # 2 seeds


def test_the_manifest_records_a_call_that_reruns_the_sweep(run: api.Run) -> None:
    command = run.manifest["command"]
    assert command.startswith("vfibench.api.run_sweep('l1', preset='smoke', seeds=[0, 1], ")
    for argument in ("steps=3", "metrics=['psnr', 'gmsd']", "device='cpu'", f"out={str(run.path.parent)!r}",
                     "train_data='synthetic'", "test_data='synthetic'", "warm_start=None"):
        assert argument in command


def test_worker_processes_and_threads_are_the_command_line_s(run: api.Run, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """jobs and threads run the sweep as --jobs and --threads do; one thread per unit, as the suite's
    fixture run computes, gives its table (threads are part of the numbers)."""
    monkeypatch.setattr("vfibench.sweep.executors.available_cores", lambda: 2)  # --jobs 2 on a one-core machine too
    with pytest.warns(UserWarning, match="the 3 training steps log one row"):
        parallel = api.run_sweep("l1", preset="smoke", steps=3, seeds=[0, 1], metrics=["psnr", "gmsd"], out=tmp_path,
                                 device="cpu", jobs=2, threads=1)
    executor = parallel.manifest["executor"]
    assert executor["jobs"] == 2 and executor["threads_per_unit"] == 1
    assert "jobs=2, threads=1" in parallel.manifest["command"]
    assert parallel.summary.equals(run.summary)
    with pytest.raises(VfiBenchError, match="--jobs 0"):
        api.run_sweep("l1", preset="smoke", out=tmp_path, jobs=0)


def test_notes_are_warnings_and_progress_is_opt_in(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A note the command line prints reaches a library caller as a UserWarning; progress=True prints the
    command line's log lines to stderr, and nothing else changes."""
    with pytest.warns(UserWarning, match="log one row, at the last step"):
        quiet = api.run_sweep("l1", preset="smoke", steps=3, metrics=["psnr"], out=tmp_path / "quiet", device="cpu")
    assert capfd.readouterr().err == ""
    loud = api.run_sweep("l1", preset="smoke", steps=3, metrics=["psnr"], out=tmp_path / "loud", device="cpu",
                         progress=True)
    err = capfd.readouterr().err
    assert "1 unit to train, 3 steps in all" in err and "[1/1] l1 (seed 0): PSNR " in err, err
    assert "note: " in err and "log one row, at the last step" in err
    assert loud.summary.equals(quiet.summary) and "progress" not in loud.manifest["command"]


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    """gt/ and two models' folders of three 32×32 frames; mine/ also holds a frame with no ground truth."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder in ("gt", "mine", "theirs"):
        (tmp_path / folder).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / folder / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "mine" / "9.png")
    return tmp_path


def test_evaluate_gives_the_table_vfibench_eval_gives(frames: Path) -> None:
    from typer.testing import CliRunner

    from vfibench.cli import app

    with pytest.warns(UserWarning, match="1 frame of model 'mine' matches no ground truth"):
        run = api.evaluate({"mine": frames / "mine", "theirs": frames / "theirs"}, frames / "gt",
                           metrics=["psnr", "ssim"], protocols=["rife", "y-channel"], out=frames / "api",
                           device="cpu", report=False)
    printed = CliRunner().invoke(app, ["eval", "--pred", f"mine={frames / 'mine'}", "--pred",
                                       f"theirs={frames / 'theirs'}", "--gt", str(frames / "gt"), "--metrics",
                                       "psnr,ssim", "--protocols", "rife,y-channel", "--out", str(frames / "cli"),
                                       "--device", "cpu", "--samples", "0"])
    assert printed.exit_code == 0, printed.output
    cli = api.load_run(frames / "cli")
    assert run.summary.equals(cli.summary) and run.per_sample.equals(cli.per_sample)
    assert run.protocols.equals(cli.protocols) and set(run.protocols["protocol"]) == {"rife", "y-channel"}
    assert run.metrics == ["psnr", "ssim"] and run.train_log.empty
    assert run.manifest["command"].startswith("vfibench.api.evaluate({'mine': ")
    assert not (run.path / "report").exists() and (cli.path / "report" / "report.html").is_file()
    assert api.load_run(frames / "api").protocols.equals(run.protocols)


def test_evaluate_takes_one_folder_or_name_dir_strings_and_refuses_as_the_command_does(frames: Path) -> None:
    one = api.evaluate(frames / "theirs", frames / "gt", metrics=["psnr"], out=frames / "one", device="cpu",
                       grid_samples=1)
    assert one.summary["config"].tolist() == ["theirs"] and one.protocols.empty
    assert (one.path / "report" / "report.html").is_file()
    named = api.evaluate([f"a={frames / 'theirs'}"], frames / "gt", metrics=["psnr"], out=frames / "named",
                         device="cpu", report=False)
    assert named.summary["config"].tolist() == ["a"] and named.summary["psnr_mean"].equals(one.summary["psnr_mean"])
    from pathlib import PurePosixPath

    pure = api.evaluate(PurePosixPath(frames / "theirs"), frames / "gt", metrics=["psnr"], out=frames / "pure",
                        device="cpu", report=False)  # any os.PathLike is one folder
    assert pure.summary["config"].tolist() == ["theirs"]
    with pytest.raises(VfiBenchError, match="does not exist"):
        api.evaluate(frames / "nothere", frames / "gt", out=frames / "x", device="cpu")
    with pytest.raises(VfiBenchError, match="more than once"):
        api.evaluate(frames / "theirs", frames / "gt", metrics=["psnr", "psnr"], out=frames / "x", device="cpu")
    with pytest.raises(VfiBenchError, match="protocol"):
        api.evaluate(frames / "theirs", frames / "gt", protocols="nope", out=frames / "x", device="cpu")
    assert not (frames / "x").exists()


def test_evaluate_reads_its_arguments_as_a_caller_means_them(frames: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Path is a folder whatever its name; a mapping's keys are names; metrics and protocols take a string
    or a list ([] for no protocols); the recorded call has absolute paths; notes point at the caller."""
    import shutil

    odd = frames / "lr=1e-4"
    shutil.copytree(frames / "theirs", odd)
    monkeypatch.chdir(frames)
    with pytest.warns(UserWarning) as caught:
        run = api.evaluate([Path("lr=1e-4"), "b=mine"], "gt", metrics="psnr", protocols=[], out="rel",
                           device="cpu", report=False)
    assert run.summary["config"].tolist() == ["lr=1e-4", "b"] and run.metrics == ["psnr"] and run.protocols.empty
    assert caught[0].filename == __file__  # the caller's line, not the library's
    command = run.manifest["command"]
    for path in (odd, frames / "mine", frames / "gt", frames / "rel"):
        assert repr(str(path)) in command, command
    with pytest.raises(VfiBenchError, match="cannot name a model"):
        api.evaluate({"a/b": frames / "mine"}, "gt", metrics="psnr", out="x", device="cpu")
    for nothing in ([], {}):  # an empty mapping wrote an empty run marked complete and moved `latest` to it
        with pytest.raises(VfiBenchError, match="names no folder"):
            api.evaluate(nothing, "gt", metrics="psnr", out="x", device="cpu")
    assert not (frames / "x").exists()
    from vfibench.eval_plan import plan_evaluation

    with pytest.raises(VfiBenchError, match="No predictions to score"):
        plan_evaluation({}, frames / "gt", out=frames / "x", metrics=["psnr"], device="cpu")


def test_evaluate_prints_its_plan_notes_and_progress_only_when_asked(frames: Path,
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    quiet = pytest.warns(UserWarning, match="matches no ground truth")
    with quiet:
        api.evaluate(frames / "mine", frames / "gt", metrics="psnr", out=frames / "q", device="cpu", report=False)
    assert capfd.readouterr().err == ""
    api.evaluate(frames / "mine", frames / "gt", metrics="psnr", out=frames / "p", device="cpu", report=False,
                 progress=True)
    err = capfd.readouterr().err.splitlines()
    assert err[0] == "vfibench eval: 1 model × 3 frames, metrics psnr, device cpu"
    assert err[1].startswith("note: 1 frame of model 'mine' matches no ground truth")
    assert err[2:] == ["scored 1 of 3 frames", "scored 2 of 3 frames", "scored 3 of 3 frames"]


def test_errors_are_the_library_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="position"):
        api.parse_spec("l1+*perc")
    with pytest.raises(ResultsError, match="No finished run"):
        api.load_run(tmp_path)


def test_describe_spec_is_plain_text() -> None:
    text = api.describe_spec("superslomo")
    assert "204*l1 + 102*warp" in text and "\x1b" not in text


@pytest.mark.parametrize(("scale", "says"), [(255.0, "values from 0"), (2.0, "Divide frames of 0–255 by 255")])
def test_frames_on_another_scale_are_refused_not_clamped_into_scores(scale: float, says: str) -> None:
    import torch

    from vfibench.errors import VfiBenchError

    frames = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with pytest.raises(VfiBenchError, match=says):
        api.compute_metrics(frames * scale, frames * scale, ["psnr"])
    with pytest.raises(VfiBenchError, match="map frames of \\[−1, 1\\]"):
        api.compute_metrics(frames * 2 - 1, frames, ["psnr"])
    import numpy as np
    from skimage.metrics import peak_signal_noise_ratio

    overshoot = frames * 1.1  # a prediction reaching 1.1: clamped as saving it would, then scored
    scores = api.compute_metrics(overshoot, frames, ["psnr"])["psnr"]
    saved, truth = ((x.clamp(0, 1) * 255).round().numpy() for x in (overshoot, frames))
    expected = [peak_signal_noise_ratio(truth[n], saved[n], data_range=255) for n in range(2)]
    assert np.allclose(scores.numpy(), expected, rtol=0, atol=1e-6)  # float32 frames: levels differ by rounding


@pytest.mark.parametrize(("metrics", "says"), [([], "names no metric"), (["psnr", "PSNR"], "psnr more than once"),
                                               ("psnr,,ssim", "an empty item")])
def test_a_metric_list_is_checked_as_the_command_line_checks_it(metrics: object, says: str) -> None:
    import torch

    from vfibench.errors import VfiBenchError

    frames = torch.rand(1, 3, 16, 16)
    with pytest.raises(VfiBenchError, match=says):
        api.compute_metrics(frames, frames, metrics)  # type: ignore[arg-type]
    assert list(api.compute_metrics(frames, frames, "psnr, SSIM")) == ["psnr", "ssim"]  # as --metrics reads it


def test_a_device_and_seeds_and_steps_are_checked_as_the_command_line_checks_them(tmp_path: Path) -> None:
    import torch

    from vfibench.errors import VfiBenchError

    with pytest.raises(VfiBenchError, match="Unknown device 'gpu'"):
        api.compute_metrics(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), ["psnr"], device="gpu")
    for seeds in ([], [0, 0], [-1], 0, [[1], [1]]):
        with pytest.raises(VfiBenchError, match="seeds must be a non-empty list of distinct whole numbers"):
            api.run_sweep("l1", preset="smoke", seeds=seeds, out=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(VfiBenchError, match="steps must be a whole number of at least 1, got 0"):
        api.run_sweep("l1", preset="smoke", steps=0, out=tmp_path)
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_skipping_every_requested_metric_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torch

    from vfibench.errors import BackboneUnavailable

    monkeypatch.setenv("VFIBENCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch"))
    frames = torch.rand(1, 3, 32, 32)
    with pytest.raises(BackboneUnavailable, match="None of the metrics lpips can be computed"):
        api.compute_metrics(frames, frames, ["lpips"], skip_unavailable=True)
    assert list(api.compute_metrics(frames, frames, ["psnr", "lpips"], skip_unavailable=True)) == ["psnr"]


@pytest.mark.parametrize(("call", "says"), [
    (lambda: api.run_sweep("l1", preset=None), "run_sweep: preset must be a preset name (str), got None"),
    (lambda: api.run_sweep(["l1", "l2"]), "run_sweep: losses must be a loss specification (str)"),
    (lambda: api.run_sweep("l1", warm_start=1.5), "warm_start must be a number of steps (int) or None, got 1.5"),
    (lambda: api.run_sweep("l1", jobs="2"), "jobs must be a number of processes (int) or None, got '2'"),
    (lambda: api.run_sweep("l1", skip_unavailable=None), "skip_unavailable must be True or False"),
    (lambda: api.run_sweep("l1", metrics=["psnr", 1]), "metrics must be one comma-separated string or a list of "
                                                       "names (non-empty strings), got ['psnr', 1]"),
    (lambda: api.run_sweep("l1", model=3), "model must be a model variant's name (str) or None, got 3"),
    (lambda: api.run_sweep("l1", ambiguity="0"), "ambiguity must be a number from 0 to 1, or None, got '0'"),
    (lambda: api.run_sweep("l1", tensorboard=1), "tensorboard must be a folder (str or Path) or None, got 1"),
    (lambda: api.compute_metrics(None, None, ["psnr", ""]), "metrics must be one comma-separated string"),
    (lambda: api.evaluate("p", "gt", protocols=[1]), "protocols must be one comma-separated string"),
    (lambda: api.load_run(None), "load_run: run must be a folder (str or Path), got None"),
    (lambda: api.evaluate(None, "gt"), "evaluate: predictions must be a folder"),
    (lambda: api.compute_metrics(None, None, device=None), "compute_metrics: device must be a device name"),
    (lambda: api.parse_spec(None), "parse_spec: spec must be a loss specification (str)"),
    (lambda: api.describe_spec(3), "describe_spec: spec must be a loss term, preset or configuration (str), got 3"),
])
def test_an_argument_of_the_wrong_type_is_named_not_a_type_error_from_inside(call, says: str) -> None:
    from vfibench.errors import VfiBenchError

    with pytest.raises(VfiBenchError) as raised:
        call()
    assert says in str(raised.value)


def test_the_command_line_s_model_data_logging_and_precision_options_are_arguments(tmp_path: Path) -> None:
    """--model, --ambiguity, --log-every, --val-samples, --precision and --tensorboard, for the README's
    ablations in a script; the manifest records each as the command line's would."""
    pytest.importorskip("tensorboard")
    run = api.run_sweep("l1", preset="smoke", steps=4, metrics=["psnr", "lpips"], out=tmp_path / "results",
                        device="cpu", model="warp-blend", ambiguity=0, log_every=2, val_samples=3,
                        precision="bf16", tensorboard=tmp_path / "tb")
    manifest = run.manifest
    assert manifest["model"]["variant"] == "warp-blend" and manifest["preset"]["ambiguity"] == 0
    assert manifest["preset"]["log_every"] == 2 and manifest["precision"]["training"] == "bf16"
    assert manifest["validation"]["samples"] == 3
    assert sorted(run.train_log["step"].unique().tolist()) == [2, 4]
    assert any((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert "model='warp-blend', ambiguity=0, log_every=2, val_samples=3, precision='bf16'" in manifest["command"]
    with pytest.raises(VfiBenchError, match="ambiguity must be a number from 0 to 1"):
        api.run_sweep("l1", preset="smoke", ambiguity=1.5, out=tmp_path / "never")
    with pytest.raises(VfiBenchError, match="warp-blend"):  # the variants are listed
        api.run_sweep("l1", preset="smoke", model="unet", out=tmp_path / "never")
    with pytest.raises(VfiBenchError, match="ambiguity 0 sets .* neither train_data .* nor test_data .* is synthetic"):
        api.run_sweep("l1", preset="smoke", ambiguity=0, train_data="frames:x", test_data="frames:x",
                      out=tmp_path / "never")
    assert not (tmp_path / "never").exists()


#: Calls api.run_sweep or api.evaluate (argv: WHAT OUT HANDLER [GT PRED]) in a process that sends itself
#: SIGTERM as the second training starts, or while the evaluation scores, and prints what came of it as
#: JSON. HANDLER "own" installs the caller's own SIGTERM handler first. A process whose SIGTERM nothing
#: handles dies there, printing nothing, its run left "running" or half made.
_SIGTERM_IN_A_CALL = """
import json, os, signal, sys
from vfibench import api, evaluate, sweep
from vfibench.errors import StoppedBySignal

what, out, handler = sys.argv[1:4]
received = []
if handler == "own":
    signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
started = []

def second_training_starts(self, label, steps):
    started.append(label)
    if len(started) == 2:
        os.kill(os.getpid(), signal.SIGTERM)

def scoring(*args, real=evaluate.score_frames, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return real(*args, **kwargs)

sweep.WarningListener.unit_started = second_training_starts
evaluate.score_frames = scoring
outcome = {"raised": None}
try:
    if what == "sweep":
        api.run_sweep("l1,l2", preset="smoke", steps=2, metrics="psnr", out=out, device="cpu")
    else:
        api.evaluate(sys.argv[5], sys.argv[4], metrics="psnr", out=out, device="cpu", report=False)
except StoppedBySignal as err:
    outcome = {"raised": type(err).__name__, "exit_code": err.exit_code, "message": " ".join(str(err).split())}
outcome["received"] = received
outcome["handler_after"] = "default" if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else "other"
print(json.dumps(outcome))
"""


def _sigterm_in_a_call(*args: str) -> dict[str, object]:
    import json
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-W", "ignore", "-c", _SIGTERM_IN_A_CALL, *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, f"the call's process ended with {done.returncode}: {done.stderr[-2000:]}"
    return json.loads(done.stdout.splitlines()[-1])


def test_a_sweep_called_from_a_script_and_stopped_by_sigterm_is_kept_resumable(tmp_path: Path) -> None:
    """As `vfibench run` does: what a scheduler's or `kill`'s SIGTERM stops is marked interrupted, and the
    error names the command that finishes it; the process's SIGTERM handler is its default again after."""
    import json

    out = tmp_path / "results"
    outcome = _sigterm_in_a_call("sweep", str(out), "default")
    assert outcome["raised"] == "SweepInterrupted" and outcome["exit_code"] == 143
    assert "interrupted by SIGTERM" in outcome["message"] and "1 of 2 trainings" in outcome["message"]
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    assert f"vfibench run --resume {run.name} --out {out}" in outcome["message"]
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"
    assert outcome["handler_after"] == "default"


def test_an_evaluation_called_from_a_script_and_stopped_by_sigterm_leaves_no_run(frames: Path) -> None:
    outcome = _sigterm_in_a_call("evaluate", str(frames / "out"), "default", str(frames / "gt"),
                                 str(frames / "theirs"))
    assert outcome["raised"] == "EvaluationInterrupted" and outcome["exit_code"] == 143
    assert "stopped by SIGTERM before it finished, so it has no results" in outcome["message"]
    assert "Run it again: vfibench.api.evaluate({'theirs': " in outcome["message"]
    assert not (frames / "out").exists() and outcome["handler_after"] == "default"


@pytest.mark.parametrize("what", ["sweep", "evaluate"])
def test_a_sigterm_handler_of_the_calling_program_is_kept(what: str, frames: Path) -> None:
    out = frames / "out"
    outcome = _sigterm_in_a_call(what, str(out), "own", str(frames / "gt"), str(frames / "theirs"))
    assert outcome["raised"] is None and outcome["received"] == [15] and outcome["handler_after"] == "other"
    (run,) = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    assert (run / "summary.csv").is_file() and (out / "latest").resolve() == run.resolve()
