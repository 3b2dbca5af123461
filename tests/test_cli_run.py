"""`vfibench run` end to end at the smoke preset: what a user sees and every results file's schema."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.metrics.suite import DEFAULT_METRICS

runner = CliRunner()
LOSSES = "l1, charbonnier(eps=1e-3)"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("results")
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", LOSSES, "--out", str(out),
                                 "--device", "cpu", "--skip-unavailable"])
    assert result.exit_code == 0, result.output
    return out / "latest", result.output


def test_the_table_has_a_row_per_configuration_and_reference(run_dir: tuple[Path, str]) -> None:
    _, output = run_dir
    for row in ("l1", "charbonnier(eps=0.001)", "blend", "nearest"):
        assert row in output
    assert "PSNR" in output and "SSIM" in output


def test_the_closing_hint_quotes_the_report_command_on_one_line(run_dir: tuple[Path, str]) -> None:
    """Where stderr is no terminal (a CI log), messages are not wrapped at an assumed width: the command
    the hint quotes can be copied whole."""
    latest, output = run_dir
    command = f"vfibench report {latest.resolve().name} --out {latest.parent}"
    hints = [line for line in output.splitlines() if line.endswith(command)]
    # the hint's line is longer than the 80 columns rich assumes (whatever the length of pytest's temporary
    # path), yet whole
    assert len(hints) == 1 and len(hints[0]) > 80, output


def test_manifest_describes_the_run(run_dir: tuple[Path, str]) -> None:
    manifest = json.loads((run_dir[0] / "manifest.json").read_text())
    for key in ("tool", "kind", "run", "status", "command", "configs", "references", "order", "seeds", "preset",
                "warm_start", "data", "metrics", "unavailable_metrics", "evaluation", "backbones", "device",
                "versions", "git_commit", "timings_seconds"):
        assert key in manifest, key
    assert manifest["status"] == "complete" and manifest["kind"] == "sweep"
    assert [c["config"] for c in manifest["configs"]] == ["l1", "charbonnier(eps=0.001)"]
    assert manifest["order"] == ["l1", "charbonnier(eps=0.001)", "blend", "nearest"]
    assert manifest["preset"]["name"] == "smoke" and manifest["seeds"] == [0]
    assert {"torch", "vfibench"} <= set(manifest["versions"])
    assert "8 bits" in manifest["evaluation"]
    names = [m["name"] for m in manifest["metrics"]] + list(manifest["unavailable_metrics"])
    assert sorted(names) == sorted(DEFAULT_METRICS)


def test_per_sample_has_one_row_per_config_seed_and_sample(run_dir: tuple[Path, str]) -> None:
    manifest = json.loads((run_dir[0] / "manifest.json").read_text())
    frame = pd.read_csv(run_dir[0] / "per_sample.csv")
    assert list(frame.columns[:4]) == ["config", "kind", "seed", "sample"]
    assert list(frame.columns[-3:]) == ["ambiguity_px", "motion_px", "occluded"]  # synthetic scenes know them
    assert set(frame.columns[4:-3]) == set(DEFAULT_METRICS)
    assert (frame["ambiguity_px"] >= 0).all() and (frame["motion_px"] > 0).all()
    assert frame["occluded"].between(0, 1).all()
    samples = manifest["preset"]["test_count"]
    assert len(frame) == 4 * samples
    assert frame.groupby("config").size().eq(samples).all()
    assert set(frame["kind"]) == {"trained", "reference"}
    available = [m["name"] for m in manifest["metrics"]]
    assert frame[available].notna().all().all()
    assert ((frame["psnr"] > 5) & (frame["psnr"] < 100)).all()
    assert ((frame["ssim"] > 0) & (frame["ssim"] <= 1)).all()


def test_summary_has_mean_std_and_interval_per_metric(run_dir: tuple[Path, str]) -> None:
    frame = pd.read_csv(run_dir[0] / "summary.csv")
    assert list(frame.columns[:3]) == ["config", "kind", "status"]
    for metric in DEFAULT_METRICS:
        for stat in ("mean", "std", "ci_low", "ci_high"):
            assert f"{metric}_{stat}" in frame.columns
    assert frame["config"].tolist() == ["l1", "charbonnier(eps=0.001)", "blend", "nearest"]
    ok = frame.dropna(subset=["psnr_mean"])
    assert ((ok["psnr_ci_low"] <= ok["psnr_mean"]) & (ok["psnr_mean"] <= ok["psnr_ci_high"])).all()
    markdown = (run_dir[0] / "summary.md").read_text()
    assert markdown.startswith("# vfibench results") and "| configuration |" in markdown and "PSNR (dB) ↑" in markdown


def test_train_log_has_every_term_per_logged_step(run_dir: tuple[Path, str]) -> None:
    frame = pd.read_csv(run_dir[0] / "train_log.csv")
    assert list(frame.columns[:5]) == ["config", "seed", "step", "lr", "total"]
    assert set(frame["config"]) == {"l1", "charbonnier(eps=0.001)"}
    assert frame["total"].notna().all() and (frame["total"] > 0).all()
    last = frame.groupby("config")["step"].max()
    manifest = json.loads((run_dir[0] / "manifest.json").read_text())
    assert (last == manifest["preset"]["steps"]).all()


@pytest.mark.parametrize(
    ("losses", "expected"),
    [("l1,nosuchloss", "Unknown loss term 'nosuchloss'"), ("l1++l2", "position 4"),
     ("", "'--losses': is given an empty value")],
)
def test_bad_loss_specs_exit_2_before_any_work(tmp_path: Path, losses: str, expected: str) -> None:
    out = tmp_path / "results"
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", losses, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(("args", "says"), [(["--preset", "huge"], "'huge' is not one of"),
                                            (["--seeds", "a,b"], "Invalid --seeds 'a,b'"),
                                            (["--device", "tpu"], "Unknown device 'tpu'"),
                                            (["--warm-start", "99999"], "--warm-start 99999 must be between"),
                                            (["--metrics", "psnr,nosuchmetric"], "Unknown metric 'nosuchmetric'"),
                                            (["--metrics", "psnr,,ssim"], "has an empty item"),
                                            (["--seeds", "0_1"], "Invalid --seeds '0_1'"),  # int() reads 1
                                            (["--steps", "99999999999999999999"], "at most 10,000,000 steps"),
                                            (["--ambiguity", "nan"], "'--ambiguity': nan is not a finite number"),
                                            (["--steps", "1_0"], "'--steps': 1_0 is not a number as vfibench "
                                                                 "reads numbers: write it in digits"),  # int(): 10
                                            (["--ambiguity=0_5"], "'--ambiguity': 0_5 is not a number"),
                                            (["--device", ""], "'--device': is given an empty value; give a "
                                                                "value, or leave the option out for its default."),
                                            (["--out="], "'--out': is given an empty value"),
                                            (["--train-data", " "], "'--train-data': is given an empty value"),
                                            (["--skip-unavailable", "--no-skip-unavailable"],
                                             "given both as --skip-unavailable and as --no-skip-unavailable")])
def test_bad_option_values_exit_2_and_say_which(tmp_path: Path, args: list[str], says: str) -> None:
    result = runner.invoke(app, ["run", "--losses", "l1", "--out", str(tmp_path), *args])
    assert result.exit_code == 2, (args, result.output)
    assert says in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("seeds", ["99999999999999999999", "2147483648", "0-99999999999"])
def test_seeds_beyond_the_generators_range_are_refused_before_anything_runs(tmp_path: Path, seeds: str) -> None:
    result = runner.invoke(app, ["run", "--losses", "l1", "--preset", "smoke", "--seeds", seeds, "--out",
                                 str(tmp_path)])
    assert result.exit_code == 2 and "a seed is at most 2147483647" in " ".join(result.output.split()), result.output
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_range_of_too_many_seeds_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--losses", "l1", "--seeds", "0-2147483647", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "more than 10000 seeds" in " ".join(result.output.split()), result.output


def test_a_range_that_runs_backwards_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--losses", "l1", "--seeds", "2-0", "--out", str(tmp_path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "the range 2-0 runs backwards" in text and "e.g. 0-2" in text, text


def test_a_repeated_seed_is_named_in_the_options_own_syntax(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--losses", "l1", "--seeds", "0,1,0", "--out", str(tmp_path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Invalid --seeds '0,1,0' (0 more than once)" in text and "e.g. 0,1,2." in text
    assert "[" not in text, text  # no Python list in a command-line message


def test_every_command_has_help_with_examples() -> None:
    for command in (["run"], ["report"], ["losses"], ["compare"], ["eval"], ["weights", "fetch"],
                    ["data", "inspect"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Example" in result.output, command


@pytest.mark.parametrize("args", [["losses", "[/x]"], ["run", "--losses", "[red]x"], ["report", "--out", "/tmp/[b]y"]])
def test_user_text_with_brackets_is_printed_verbatim_in_errors(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = args[-1]
    assert text in result.output


def test_the_report_hint_is_a_command_that_can_be_pasted(tmp_path):
    out = tmp_path / "my results"
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--steps", "2", "--metrics", "psnr",
                                      "--val-samples", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    run = (out / "latest").resolve().name
    hint = next(line for line in result.stderr.splitlines() if line.startswith("Gap analysis"))
    assert hint.endswith(f"vfibench report {run} --out '{out}'"), hint


def test_a_stop_while_the_finished_run_is_marked_complete_says_the_run_is_complete(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    """A SIGTERM that arrives while the last writes mark the run complete is held until they are done;
    the command then exits 143 saying the run is complete and how to report it, not that it was cut short."""
    import os
    import signal

    from vfibench import sweep
    from vfibench.results.schema import COMPLETE
    from vfibench.sweep.interruption import stops_deferred

    finish = sweep.run_sweep

    def stopped_as_it_completes(*args, **kwargs):
        store = finish(*args, **kwargs)
        with stops_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
        return store

    monkeypatch.setattr(sweep, "run_sweep", stopped_as_it_completes)
    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr", "--out", str(out),
                                 "--device", "cpu", "--steps", "4"])
    text = " ".join(result.output.split())
    assert result.exit_code == 143, result.output
    name = (out / "latest").resolve().name
    assert (f"SIGTERM came once the sweep had finished: the run '{name}' is complete, with every result in "
            f"'{out / name}'. Its tables and report: vfibench report {name} --out {out}") in text
    assert json.loads((out / name / "manifest.json").read_text())["status"] == COMPLETE


def test_each_preset_has_the_steps_sizes_and_width_the_readme_documents() -> None:
    """The README's table of presets is what a user chooses a preset by: its cost and its test split."""
    import re

    from vfibench.presets import PRESETS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    row = r"^\| `(\w+)` \| (\d+) \| (none|\d+) \| (\d+) × (\d+)² \| (\d+) × (\d+)² \| ([\d.]+) \| (\d+) \|"
    documented = {name: rest for name, *rest in re.findall(row, readme, re.M)}
    assert set(documented) == set(PRESETS)
    for name, (steps, warm, batch, crop, count, side, ambiguity, width) in documented.items():
        preset = PRESETS[name]
        found = (preset.steps, preset.warm_start, preset.batch_size, preset.crop, preset.test_count, preset.test_size,
                 preset.ambiguity, preset.width)
        assert found == (int(steps), 0 if warm == "none" else int(warm), int(batch), int(crop), int(count), int(side),
                         float(ambiguity), int(width)), name


def test_an_odd_number_of_steps_warm_starts_half_of_them_rounded_up() -> None:
    """`quick` and `full` warm-start half of their steps: `--steps 3`, `5` and `7` give warm starts of 2, 3
    and 4 steps — half, rounded up alike, neither cut down nor rounded to the even number."""
    from vfibench.presets import PRESETS

    for name in ("quick", "full"):
        assert [PRESETS[name].with_overrides(steps=steps).warm_start for steps in (3, 5, 7, 8)] == [2, 3, 4, 4], name


def test_a_sweep_may_train_exactly_the_most_steps_it_accepts() -> None:
    from vfibench.errors import VfiBenchError
    from vfibench.presets import MAX_STEPS, get_preset

    assert get_preset("smoke").with_overrides(steps=MAX_STEPS).steps == MAX_STEPS == 10_000_000
    with pytest.raises(VfiBenchError, match="at most 10,000,000 steps"):
        get_preset("smoke").with_overrides(steps=MAX_STEPS + 1)


def test_the_manifest_records_each_metric_as_the_registry_describes_it(run_dir: tuple[Path, str]) -> None:
    """A reader of manifest.json learns from it which way each metric is better."""
    from vfibench.metrics.registry import metric_info

    manifest = json.loads((run_dir[0] / "manifest.json").read_text())
    assert manifest["metrics"]
    for record in manifest["metrics"]:
        info = metric_info(record["name"])
        assert (record["label"], record["higher_is_better"], record["description"]) == (
            info.label, info.higher_is_better, info.description)


def test_a_resume_with_nothing_left_to_train_gives_no_note_on_training(tmp_path: Path) -> None:
    """A sweep stopped after its last unit, resumed to write its tables, still said how its 0 units would log."""
    out = tmp_path / "results"
    args = ["run", "--preset", "smoke", "--losses", "l1", "--steps", "4", "--metrics", "psnr", "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0 and "note: --log-every 4" in first.stderr, first.output
    run = next(path for path in out.iterdir() if not path.is_symlink())
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps(manifest | {"status": "interrupted"}))
    resumed = runner.invoke(app, ["run", "--resume", run.name, "--out", str(out)])
    assert resumed.exit_code == 0, resumed.output
    assert "nothing left to train" in resumed.stderr and "--log-every" not in resumed.stderr
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"
