"""`vfibench compare NEW BASE`: verdicts, exit codes (0 passed, 1 regressed, 2 unusable input), formats."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.errors import ResultsError, VfiBenchError
from vfibench.results.compare import judge
from vfibench.results.compare_inputs import load_summary
from vfibench.results.compare_verdicts import Verdict

runner = CliRunner()

BASE_ROWS = [
    {"config": "l1", "kind": "trained", "status": "complete", "seeds": 1, "samples": 8,
     "psnr_mean": 30.00, "lpips_mean": 0.1000},
    {"config": "l1+perc", "kind": "trained", "status": "complete", "seeds": 1, "samples": 8,
     "psnr_mean": 29.50, "lpips_mean": 0.0800},
    {"config": "blend", "kind": "reference", "status": "complete", "seeds": 1, "samples": 8,
     "psnr_mean": 28.00, "lpips_mean": 0.1500},
]


def write_summary(path: Path, rows: list[dict], **changes: dict) -> Path:
    """A summary.csv with ``rows``, where ``changes[config]`` overrides cells of that row."""
    frame = pd.DataFrame([{**row, **changes.get(row["config"].replace("+", "_"), {})} for row in rows])
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write_summary(tmp_path / "base.csv", BASE_ROWS)


def invoke(*args: str):
    return runner.invoke(app, ["compare", *args])


def test_identical_tables_pass_with_every_pair_within_tolerance(base: Path) -> None:
    result = invoke(str(base), str(base))
    assert result.exit_code == 0, result.output
    assert "6 within tolerance" in result.output and "passed" in result.output
    assert "psnr 0.05 dB, lpips 0.002;" in " ".join(result.output.split())  # each tolerance in its metric's unit


def test_a_table_compared_with_itself_is_noted_as_a_check_that_cannot_fail(tmp_path: Path, base: Path) -> None:
    same = " ".join(invoke(str(base), str(tmp_path / "." / "base.csv")).output.split())
    assert "NEW and BASE are the same file" in same and "cannot fail" in same
    copy = write_summary(tmp_path / "copy.csv", BASE_ROWS)  # equal numbers in another file: a real check
    assert "same file" not in invoke(str(copy), str(base)).output


def test_improvement_passes_and_is_reported(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 30.30}, l1_perc={"lpips_mean": 0.0700})
    result = invoke(str(new), str(base))
    assert result.exit_code == 0, result.output
    assert "0 regressed, 2 improved, 4 within tolerance" in result.output


def test_improvement_fails_when_two_sided(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 30.30})
    result = invoke(str(new), str(base), "--two-sided")
    assert result.exit_code == 1
    assert "1 changed beyond tolerance" in result.output and "failed: l1 psnr" in result.output


def test_regression_beyond_tolerance_fails_with_exit_1(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1_perc={"lpips_mean": 0.0830})
    result = invoke(str(new), str(base))
    assert result.exit_code == 1
    assert "1 regressed" in result.output and "failed: l1+perc lpips" in result.output


def test_change_within_tolerance_passes_and_tol_option_tightens_it(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 29.97})
    assert invoke(str(new), str(base)).exit_code == 0          # default psnr tolerance 0.05 dB
    tight = invoke(str(new), str(base), "--tol", "psnr=0.01")
    assert tight.exit_code == 1 and "failed: l1 psnr" in tight.output


def test_missing_configuration_fails_and_extra_one_is_only_reported(tmp_path: Path, base: Path) -> None:
    rows = [row for row in BASE_ROWS if row["config"] != "l1+perc"]
    rows.append({**BASE_ROWS[0], "config": "l2"})
    new = write_summary(tmp_path / "new.csv", rows)
    result = invoke(str(new), str(base))
    assert result.exit_code == 1
    assert "1 configuration missing in new" in result.output and "1 new configuration (not checked)" in result.output
    assert "failed: l1+perc (missing in new)" in result.output


def test_configuration_diverged_in_new_fails(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS,
                        l1={"status": "diverged", "seeds": 0, "samples": 0, "psnr_mean": None, "lpips_mean": None})
    result = invoke(str(new), str(base))
    assert result.exit_code == 1 and "l1 (diverged)" in result.output


def test_json_and_markdown_formats_for_ci_logs(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 29.80})
    as_json = invoke(str(new), str(base), "--format", "json", "--no-github")
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert document["passed"] is False
    row = next(r for r in document["rows"] if r["config"] == "l1" and r["metric"] == "psnr")
    assert row["verdict"] == "regressed" and row["difference"] == pytest.approx(-0.2) and row["tolerance"] == 0.05
    as_md = invoke(str(new), str(base), "--format", "md", "--github")
    assert as_md.stdout.startswith("## vfibench compare")
    assert "| `l1` | psnr ↑ | 30.00 | 29.80 | -0.2000 | 0.05 | **regressed** |" in as_md.stdout
    assert "::error title=vfibench regression::l1 psnr 30.00 → 29.80" in as_md.output


def test_json_counts_configurations_as_the_summary_line_does(tmp_path: Path, base: Path) -> None:
    rows = [row for row in BASE_ROWS if row["config"] != "l1+perc"] + [{**BASE_ROWS[0], "config": "l2"}]
    document = json.loads(invoke(str(write_summary(tmp_path / "new.csv", rows)), str(base), "--format", "json").stdout)
    assert document["counts"] == {"ok": 4, "missing in new": 1, "new configuration": 1}  # not 2 rows (metrics) each
    assert "1 configuration missing in new" in document["summary"] and "1 new configuration" in document["summary"]


@pytest.mark.parametrize("content, expected", [
    ("config,kind,status,seeds,samples,psnr_mean\nl1,trained,complete,1,8,30.1", "cut short"),
    ("config,kind,status,seeds,samples,psnr_mean\nl1,trained,compl\n", "cut short"),
    ("", "empty"),
    ("frame,psnr,ssim\n0001.png,31.2,0.91\n", "lacks the column"),
    ("config,kind,status,seeds,samples,psnr_mean\nl1,trained,complete,1,8,thirty\n", "not a number"),
    ("config,kind,status,seeds,samples,mystery_mean\nl1,trained,complete,1,8,1.0\n", "does not know"),
    ("\x89PNG\r\n\x1a\n\x00\x00binary", "cannot be read"),
])
def test_malformed_input_exits_2_with_a_clear_message(tmp_path: Path, base: Path, content: str, expected: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content.encode("latin-1"))
    for args in ((str(bad), str(base)), (str(base), str(bad))):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert expected in " ".join(result.output.split()) and "bad.csv" in result.output
        assert "Traceback" not in result.output


def test_run_directory_with_invalid_manifest_exits_2(tmp_path: Path, base: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.csv").write_bytes(base.read_bytes())
    (run / "manifest.json").write_text('{"tool": "vfibench", "status": ', encoding="utf-8")
    result = invoke(str(run), str(base))
    assert result.exit_code == 2 and "manifest.json" in result.output and "cannot be read" in result.output
    (run / "manifest.json").write_text('{"tool": "other"}', encoding="utf-8")
    result = invoke(str(run), str(base))
    assert result.exit_code == 2 and "not a vfibench manifest" in " ".join(result.output.split())


def test_missing_paths_and_bad_tolerances_exit_2(tmp_path: Path, base: Path) -> None:
    assert invoke(str(tmp_path / "nope"), str(base)).exit_code == 2
    assert invoke(str(tmp_path), str(base)).exit_code == 2           # a directory without summary.csv
    for tol in ("psnr", "psnr=abc", "psnr=-1", "psnr=inf", "psnr=1e999", "psnr=-0", "nosuchmetric=0.1", "psnr=1_0", "psnr=0x1"):
        result = invoke(str(base), str(base), "--tol", tol)
        assert result.exit_code == 2 and "--tol" in result.output, tol
    assert "not a number" in invoke(str(base), str(base), "--tol", "psnr=1_0").output   # float() reads it as 10


def test_tolerances_are_read_as_decimal_numbers() -> None:
    from vfibench.results.compare_tolerances import parse_tolerances
    assert parse_tolerances(["psnr=0.1,ssim=.002", "lpips=5e-3", "default=+1", "dists=0"]) == {
        "psnr": 0.1, "ssim": 0.002, "lpips": 0.005, "default": 1.0, "dists": 0.0}
    for listed in (",", "psnr=0.1,,ssim=0.1", "psnr=0.1,"):  # as --metrics refuses them; ',' set nothing
        with pytest.raises(VfiBenchError, match="has an empty item"):
            parse_tolerances([listed])


@pytest.mark.parametrize("tols", [["psnr=0.1,psnr=0.2"], ["psnr=0.1", "psnr=0.2"], ["PSNR=0.1", "psnr=0.1"],
                                  ["default=0.1", "default=0.2"]])
def test_a_metric_given_two_tolerances_is_refused_not_settled_by_the_last(base: Path, tols: list[str]) -> None:
    result = invoke(str(base), str(base), *[arg for tol in tols for arg in ("--tol", tol)])
    assert result.exit_code == 2 and "twice" in result.output, result.output


def test_a_tolerance_for_a_metric_neither_table_has_is_noted(base: Path) -> None:
    result = invoke(str(base), str(base), "--tol", "ie=0.1,psnr=0.1", "--format", "json")
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    assert any(note.startswith("--tol ie: neither table has this metric") for note in notes), notes
    assert not any("--tol psnr" in note for note in notes)


def test_library_verdicts_follow_each_metrics_direction() -> None:
    from vfibench.metrics.registry import metric_info

    assert judge(metric_info("psnr"), 30.0, 29.9, 0.05) is Verdict.REGRESSED
    assert judge(metric_info("lpips"), 0.10, 0.09, 0.002) is Verdict.IMPROVED
    assert judge(metric_info("sharpness"), 0.95, 0.90, 0.01) is Verdict.REGRESSED
    assert judge(metric_info("sharpness"), 0.95, 1.04, 0.01) is Verdict.OK
    assert judge(metric_info("sharpness"), 0.95, 1.04, 0.01, two_sided=True) is Verdict.CHANGED


def test_load_summary_rejects_duplicate_configurations(tmp_path: Path) -> None:
    path = write_summary(tmp_path / "dup.csv", BASE_ROWS + [BASE_ROWS[0]])
    with pytest.raises(ResultsError, match="appears more than once"):
        load_summary(path)


def test_a_value_that_became_unavailable_in_new_fails(tmp_path: Path, base: Path) -> None:
    """A CI machine that lost a backbone must not pass with LPIPS silently unchecked."""
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"lpips_mean": float("nan")})
    result = invoke(str(new), str(base))
    assert result.exit_code == 1, result.output
    assert "1 value lost in new" in result.output and "l1 lpips" in result.output


def test_a_configuration_with_only_some_seeds_fails_as_missing(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"status": "partial"})
    result = invoke(str(new), str(base))
    assert result.exit_code == 1, result.output
    assert "l1 (missing in new)" in result.output


def test_runs_trained_with_different_thread_counts_are_noted(tmp_path: Path, base: Path) -> None:
    def run(name: str, threads: int) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "summary.csv").write_bytes(base.read_bytes())
        manifest = {"tool": "vfibench", "kind": "sweep", "status": "complete", "device": "cpu",
                    "executor": {"name": "local", "threads_per_unit": threads}}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder

    one, two, also_two = run("one", 1), run("two", 2), run("also_two", 2)
    result = invoke(str(one), str(two))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "NEW's units trained with 1 torch thread each, BASE's with 2" in text and "same --threads" in text
    assert "torch thread" not in invoke(str(also_two), str(two)).output


def test_runs_on_other_hardware_are_noted_but_not_runs_on_another_gpu_of_one_kind(tmp_path: Path, base: Path) -> None:
    def run(name: str, device: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "summary.csv").write_bytes(base.read_bytes())
        manifest = {"tool": "vfibench", "kind": "sweep", "status": "complete", "device": device}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder

    first, second = run("first", "cuda (NVIDIA H200)"), run("second", "cuda:1 (NVIDIA H200)")
    other_kind, cpu = run("other_kind", "cuda:0 (NVIDIA A100)"), run("cpu", "cpu")
    assert "ran on" not in invoke(str(first), str(second)).output  # --device cuda, then cuda:1 of the same machine
    text = " ".join(invoke(str(other_kind), str(first)).output.split())
    assert "NEW ran on cuda:0 (NVIDIA A100), BASE on cuda (NVIDIA H200)" in text
    assert "NEW ran on cpu, BASE on cuda:1 (NVIDIA H200)" in " ".join(invoke(str(cpu), str(second)).output.split())
    unnamed, unnamed_other = run("unnamed", "cuda"), run("unnamed_other", "cuda:1")  # GPUs the coordinator did not see
    assert "NEW ran on cuda, BASE on cuda:1" in " ".join(invoke(str(unnamed), str(unnamed_other)).output.split())


def test_runs_of_one_preset_with_other_settings_are_refused_unless_allowed(tmp_path: Path, base: Path) -> None:
    def run(name: str, steps: int, test_data: str = "synthetic") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "summary.csv").write_bytes(base.read_bytes())
        manifest = {"tool": "vfibench", "kind": "sweep", "status": "complete", "device": "cpu",
                    "preset": {"name": "smoke", "description": "seconds", "steps": steps},
                    "data": {"test": {"dataset": test_data, "count": 8}, "note": "about the data"}}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder

    short, long, other_data, also_short = run("a", 4), run("b", 12), run("c", 4, "frames:clip"), run("d", 4)
    result = invoke(str(long), str(short))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "different settings: preset.steps 12 (BASE 4)." in text, text
    assert "within tolerance" not in text and "--allow-different-setup" in text
    result = invoke(str(short), str(other_data))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "data.test.dataset synthetic (BASE frames:clip)" in text, text
    allowed = invoke(str(long), str(short), "--allow-different-setup")
    assert allowed.exit_code == 0 and "note: NEW and BASE were trained or tested with different settings" in \
        " ".join(allowed.output.split()), allowed.output
    same = invoke(str(also_short), str(short))
    assert same.exit_code == 0 and "different settings" not in same.output


def test_settings_that_leave_the_scores_unchanged_or_that_one_run_lacks_are_not_noted() -> None:
    from vfibench.results.compare_notes import setting_differences

    new = {"preset": {"name": "smoke", "steps": 4, "log_every": 2, "eval_batch_size": 8}, "precision": {"training": "fp32"}}
    old = {"preset": {"name": "smoke", "steps": 4, "log_every": 4, "eval_batch_size": 16}}  # written before precision
    assert setting_differences(new, old) == []
    assert setting_differences(new, {"preset": {"steps": 6}}) == ["preset.steps 4 (BASE 6)"]



def test_a_run_recorded_before_model_variants_is_noted_as_trained_with_the_legacy_model() -> None:
    """Its preset has no model and no ambiguity: it trained the warp-and-blend model on straight paths, as a
    resume of it does, so against today's default the note names both (found: 20 'regressions', no note)."""
    from vfibench.presets import get_preset
    from vfibench.results.compare_notes import setting_differences

    today = get_preset("smoke").to_dict()
    before = {key: value for key, value in today.items() if key not in ("model", "ambiguity")}
    new, old = {"kind": "sweep", "preset": today}, {"kind": "sweep", "preset": before}
    assert today["model"] == "synthesis" and today["ambiguity"] != 0
    assert setting_differences(new, old) == [f"preset.ambiguity {today['ambiguity']} (BASE 0.0)",
                                             "preset.model synthesis (BASE warp-blend)"]
    legacy_today = {**today, "model": "warp-blend", "ambiguity": 0.0}  # the same run made today: nothing to note
    assert setting_differences({"kind": "sweep", "preset": legacy_today}, old) == []


def test_a_failed_configuration_is_reported_as_failed_with_its_reason(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS,
                        l1={"status": "failed", "reason": "RuntimeError: out of memory", "seeds": 0, "samples": 0,
                            "psnr_mean": None, "lpips_mean": None})
    result = invoke(str(new), str(base))
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "1 configuration failed in new" in text and "diverged" not in text, text
    assert "RuntimeError: out of memory" in text
    assert "failed in new: RuntimeError: out of memory; complete in base" in text  # the reason is NEW's


@pytest.mark.parametrize("base_status", ["failed", "unavailable", "diverged"])
def test_a_configuration_with_results_in_neither_run_is_not_checked_whatever_its_states(
        tmp_path: Path, base_status: str) -> None:
    """Diverged in NEW and failed, unavailable or diverged in BASE: BASE has nothing to fall behind, so the
    exit code agrees with the note that says the configuration was not checked."""
    old = write_summary(tmp_path / "old.csv", BASE_ROWS, l1={"status": base_status, **NO_RESULTS})
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"status": "diverged", **NO_RESULTS})
    result = invoke(str(new), str(old))
    text = " ".join(result.output.split())
    assert result.exit_code == 0, text
    assert "1 configuration with results in neither run (not checked)" in text, text
    assert "4 within tolerance" in text, text  # l1+perc's and blend's two metrics; l1 is counted once, above


def test_other_seeds_and_an_unfinished_base_are_noted(tmp_path: Path, base: Path) -> None:
    def run(name: str, seeds: list[int], status: str = "complete", torch: str = "2.14.1+cpu") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "summary.csv").write_bytes(base.read_bytes())
        manifest = {"tool": "vfibench", "kind": "sweep", "status": status, "device": "cpu", "seeds": seeds,
                    "versions": {"vfibench": "0.4.0", "torch": torch}}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder

    zero, one, stopped, also_zero = run("zero", [0]), run("one", [1]), run("stopped", [0], "interrupted"), run("z", [0])
    result = invoke(str(one), str(zero))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "NEW trained the seed 1, BASE 0" in text and "--allow-different-setup" in text
    assert "released" not in text and "ran under" not in text
    allowed = invoke(str(one), str(zero), "--allow-different-setup")
    assert allowed.exit_code == 0 and "note: NEW trained the seed 1, BASE 0" in " ".join(allowed.output.split())
    # another torch release is noted; another build of the same release (+cu124) is not
    older, other_build = run("older", [1], torch="2.13.0+cpu"), run("cuda build", [1], torch="2.14.1+cu124")
    text = " ".join(invoke(str(one), str(older)).output.split())
    assert "NEW ran under torch 2.14.1+cpu, BASE under torch 2.13.0+cpu" in text, text
    assert "ran under" not in invoke(str(one), str(other_build)).output
    # a run's own summary.csv is read with the manifest beside it, not as a bare CSV
    result = invoke(str(one / "summary.csv"), str(zero / "summary.csv"))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "NEW trained the seed 1, BASE 0" in text and "bare" not in text, text
    text = " ".join(invoke(str(zero), str(stopped)).output.split())
    assert "BASE's manifest says the run is 'interrupted', not complete" in text
    assert "NEW trained the" not in invoke(str(also_zero), str(zero)).output and "manifest says" not in \
        invoke(str(also_zero), str(zero)).output


@pytest.mark.parametrize("damage", [{"seeds": 5}, {"seeds": [0, "a"]}, {"seeds": [0, True]},
                                    {"executor": {"name": "local", "threads_per_unit": 1e400}}])
def test_a_hand_edited_manifest_entry_leaves_its_note_out_and_never_decides_the_exit_code(
        tmp_path: Path, base: Path, damage: dict) -> None:
    # a traceback exits 1, which CI would take for a regression
    def run(name: str, **entries: object) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "summary.csv").write_bytes(base.read_bytes())
        manifest = {"tool": "vfibench", "kind": "sweep", "status": "complete", "device": "cpu", "seeds": [0],
                    "executor": {"name": "local", "threads_per_unit": 2}, **entries}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder

    edited, intact = run("edited", **damage), run("intact")
    for args in ((edited, intact), (intact, edited)):
        result = invoke(*map(str, args))
        assert result.exit_code == 0 and result.exception is None, result.output
        assert "trained the seed" not in result.output and "torch thread" not in result.output


def test_a_sweep_without_its_summary_is_told_how_to_rebuild_it(tmp_path: Path, base: Path) -> None:
    run = tmp_path / "my run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"tool": "vfibench", "kind": "sweep", "status": "complete"}))
    result = invoke(str(run), str(base))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and f"vfibench report '{run}' --format csv" in text, text


def test_a_bare_csv_is_noted_as_recording_nothing_of_how_it_was_made(tmp_path: Path, base: Path) -> None:
    text = " ".join(invoke(str(base), str(base)).output.split())
    assert "NEW and BASE are bare summary.csv files, which record no preset, seeds" in text, text
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.csv").write_bytes(base.read_bytes())
    (run / "manifest.json").write_text(json.dumps({"tool": "vfibench", "kind": "sweep", "status": "complete"}))
    text = " ".join(invoke(str(run), str(base)).output.split())
    assert "BASE is a bare summary.csv file, which records no preset" in text and "NEW and BASE are" not in text
    assert "results/baselines/ci.csv" not in text  # named only where one of the files is that baseline
    ci = tmp_path / "baselines" / "ci.csv"
    ci.parent.mkdir()
    ci.write_bytes(base.read_bytes())
    text = " ".join(invoke(str(run), str(ci)).output.split())
    assert "(for results/baselines/ci.csv, the one in the README)" in text


NO_RESULTS = {"seeds": 0, "samples": 0, "psnr_mean": None, "lpips_mean": None}


def test_a_configuration_without_results_in_base_and_absent_in_new_is_not_missing(tmp_path: Path, base: Path) -> None:
    """'missing in new' is for a configuration with results in BASE; one that diverged there had none."""
    old = write_summary(tmp_path / "old.csv", BASE_ROWS, l1={"status": "diverged", **NO_RESULTS})
    new = write_summary(tmp_path / "new.csv", [r for r in BASE_ROWS if r["config"] != "l1"])
    result = invoke(str(new), str(old), "--two-sided")
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "missing in new" not in text and "unavailable" not in text, text
    assert "1 configuration with results in neither run (not checked)" in text
    assert "Configurations with results in neither run (not checked): 'l1' (absent in NEW, diverged in BASE)." in text


def test_a_configuration_absent_in_base_that_diverged_in_new_is_no_results_not_a_new_configuration(
        tmp_path: Path) -> None:
    old = write_summary(tmp_path / "old.csv", [r for r in BASE_ROWS if r["config"] != "l1"])
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"status": "diverged", **NO_RESULTS})
    text = " ".join(invoke(str(new), str(old)).output.split())
    assert "new configuration" not in text, text
    assert "Configurations with results in neither run (not checked): 'l1' (diverged in NEW, absent in BASE)." in text


def test_configurations_not_run_in_either_run_are_named_once_and_not_called_unavailable(tmp_path: Path) -> None:
    """An interrupted sweep's summary lists the configurations it did not reach as 'missing'."""
    rows = BASE_ROWS + [{"config": name, "kind": "trained", "status": "missing", **NO_RESULTS}
                        for name in ("l2", "charbonnier")]
    run = write_summary(tmp_path / "stopped.csv", rows)
    result = invoke(str(run), str(run))
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "unavailable" not in text and "no results in either run" not in text, text
    assert text.count("'l2' and 'charbonnier' (missing in both)") == 1, text
    assert "2 configurations with results in neither run (not checked)" in text
    document = json.loads(invoke(str(run), str(run), "--format", "json").stdout)
    assert {r["verdict"] for r in document["rows"] if r["config"] in ("l2", "charbonnier")} == {"no results"}
    markdown = invoke(str(run), str(run), "--format", "md").stdout
    assert markdown.count("| `l2` |") == 1 and "| all metrics |" in markdown


def test_results_in_only_one_run_are_named_in_one_note(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", [r for r in BASE_ROWS if r["config"] != "blend"]
                        + [{**BASE_ROWS[0], "config": "l2"}])
    text = " ".join(invoke(str(new), str(base)).output.split())
    assert ("Configurations with results in BASE only (a failure): 'blend' (absent in NEW, complete in BASE). "
            "Configurations with results in NEW only (not checked): 'l2' (complete in NEW, absent in BASE).") in text


EVALUATED = [{**row, "kind": "evaluated", "config": name} for row, name in zip(BASE_ROWS, ("rife", "film", "ours"))]


def test_evaluations_call_their_rows_models(tmp_path: Path) -> None:
    old = write_summary(tmp_path / "old.csv", EVALUATED)
    new = write_summary(tmp_path / "new.csv", EVALUATED[:2] + [{**EVALUATED[0], "config": "theirs"}])
    result = invoke(str(new), str(old), "--no-github")
    text = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "configuration" not in text.replace("Configurations", ""), text
    assert "1 model missing in new" in text and "1 new model (not checked)" in text and " model metric " in text
    markdown = invoke(str(new), str(old), "--format", "md", "--github")
    assert "| model | metric |" in markdown.stdout and "| new model |" in markdown.stdout
    assert "::error title=vfibench missing model::ours" in markdown.output
    assert "configuration" not in markdown.stdout
    assert "configuration" not in " ".join(invoke(str(old), str(old)).output.split())


def test_a_per_sample_table_is_recognised_and_the_run_folder_suggested(tmp_path: Path, base: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.csv").write_bytes(base.read_bytes())
    (run / "manifest.json").write_text(json.dumps({"tool": "vfibench", "kind": "sweep", "status": "complete"}))
    (run / "per_sample.csv").write_text("config,kind,seed,sample,psnr,lpips\nl1,trained,0,0,30.1,0.1\n")
    loose = tmp_path / "scores.csv"
    loose.write_bytes((run / "per_sample.csv").read_bytes())
    for args in ((str(run / "per_sample.csv"), str(base)), (str(base), str(run / "per_sample.csv"))):
        result = invoke(*args)
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert f"'{run / 'per_sample.csv'}' is a run's per_sample.csv" in text, text
        assert f"pass the run folder '{run}' or its summary file '{run / 'summary.csv'}'" in text
        assert "not written by vfibench" not in text
    text = " ".join(invoke(str(loose), str(base)).output.split())
    assert "is a run's per_sample.csv" in text and "pass the run folder that holds it" in text, text


@pytest.mark.parametrize("status", ["diverged", "failed"])
def test_a_configuration_without_results_in_base_is_not_checked_whatever_its_outcome(tmp_path: Path, base: Path,
                                                                                      status: str) -> None:
    """Diverged or failed in BASE and complete in NEW: nothing to compare against, one verdict for both."""
    old = write_summary(tmp_path / "old.csv", BASE_ROWS, l1={"status": status, **NO_RESULTS})
    for mode in ([], ["--two-sided"]):
        result = invoke(str(base), str(old), "--format", "json", "--no-github", *mode)
        assert result.exit_code == 0, result.output
        rows = [row for row in json.loads(result.stdout)["rows"] if row["config"] == "l1"]
        assert {row["verdict"] for row in rows} == {"unavailable"}, rows
        assert all(f"no results in base ({status})" in row["note"] for row in rows)
    text = " ".join(invoke(str(base), str(old)).output.split())
    assert text.count(f"no results in base ({status})") == 1 and "l1: unavailable, no results in base" in text, text


def test_a_value_lost_in_new_fails_and_says_why_when_the_metric_was_unavailable(tmp_path: Path, base: Path) -> None:
    new = tmp_path / "new"
    new.mkdir()
    write_summary(new / "summary.csv", [{**row, "lpips_mean": None} for row in BASE_ROWS])
    why = "pretrained alexnet weights not available; run `vfibench weights fetch alexnet`"
    (new / "manifest.json").write_text(json.dumps({"tool": "vfibench", "kind": "sweep", "status": "complete",
                                                   "unavailable_metrics": {"lpips": why}}), encoding="utf-8")
    result = invoke(str(new), str(base))
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "lost value" in text, text
    assert f"a value in base, none in new (complete): the metric was unavailable in new ({why})" in text, text


def test_an_unforeseen_error_exits_3_with_its_traceback_never_1_which_reads_as_a_regression(
        monkeypatch: pytest.MonkeyPatch, base: Path) -> None:
    import vfibench.results.compare as compare_module

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(compare_module, "compare_summaries", broken)
    result = invoke(str(base), str(base))
    assert result.exit_code == 3, result.output
    assert "ZeroDivisionError: a bug" in result.output and "a bug in vfibench" in " ".join(result.output.split())


def test_a_markdown_summary_is_named_as_such_not_as_a_csv_cut_short(tmp_path: Path, base: Path) -> None:
    (tmp_path / "summary.csv").write_bytes(base.read_bytes())
    markdown = tmp_path / "summary.md"
    markdown.write_text("# vfibench results\n\n| configuration | PSNR (dB) ↑ |\n|---|---:|\n| l1 | 30.00 |\n",
                        encoding="utf-8")
    result = invoke(str(base), str(markdown))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "is a Markdown table, not a CSV" in text, text
    assert f"Pass '{tmp_path / 'summary.csv'}' beside it" in text and "cut short" not in text


@pytest.mark.parametrize("width", [80, 120])
def test_only_configuration_names_fold_and_an_80_column_terminal_holds_the_table(tmp_path: Path, width: int) -> None:
    """The table was printed 116 columns wide on an 80-column terminal, with the long name folded anyway:
    the columns that never wrap were measured at their narrowest, and rich took the rest from the names."""
    from rich.console import Console

    from vfibench.results.compare import compare_summaries
    from vfibench.results.compare_render import minimum_width, rich_table

    name = "0.5*l1+0.25*charbonnier(eps=0.001)+0.1*perc(layer=relu2_2)"
    rows = [{**row, "config": name} if row["config"] == "l1+perc" else row for row in BASE_ROWS]
    old = write_summary(tmp_path / "old.csv", rows)
    new = write_summary(tmp_path / "new.csv", [{**row, "psnr_mean": row["psnr_mean"] - 0.3} for row in rows])
    comparison = compare_summaries(load_summary(new), load_summary(old))
    console = Console(width=width, record=True, color_system=None)
    assert minimum_width(comparison, console) <= 80
    console.print(rich_table(comparison))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert max(map(len, lines)) <= width
    regressed = [line for line in lines if "regressed" in line]
    assert len(regressed) == 3 and all("-0.3000" in line for line in regressed)  # every other cell whole
    assert any(name in line for line in lines) is (width == 120)  # folded only where it must be


def test_the_markdown_summary_line_shows_names_as_written(tmp_path: Path) -> None:
    from markdown_it import MarkdownIt

    rows = [{**row, "config": "0.5*l1+0.5*l2"} if row["config"] == "l1" else row for row in BASE_ROWS]
    old = write_summary(tmp_path / "old.csv", rows)
    new = write_summary(tmp_path / "new.csv", [{**row, "psnr_mean": row["psnr_mean"] - 0.3} for row in rows])
    result = invoke(str(new), str(old), "--format", "md", "--no-github")
    rendered = MarkdownIt("commonmark").enable("table").render(result.stdout)
    assert result.exit_code == 1 and "<em>" not in rendered and "0.5*l1+0.5*l2 psnr" in rendered


# -- tolerance edges, columns, rows and CI output -------------------------------------------------------
def test_a_change_of_exactly_the_tolerance_passes_for_the_worse_and_the_better_two_sided_too(
        tmp_path: Path, base: Path) -> None:
    """The tolerance is inclusive: a mean moved by exactly its tolerance is 'ok', either way, in either mode."""
    worse = write_summary(tmp_path / "worse.csv", BASE_ROWS, l1={"psnr_mean": 29.95}, l1_perc={"lpips_mean": 0.0820})
    better = write_summary(tmp_path / "better.csv", BASE_ROWS, l1={"psnr_mean": 30.05}, l1_perc={"lpips_mean": 0.0780})
    for new in (worse, better):
        for mode in ([], ["--two-sided"]):
            result = invoke(str(new), str(base), "--format", "json", "--no-github", *mode)
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout)["counts"] == {"ok": 6}, (new.name, mode)


def test_a_change_just_beyond_the_tolerance_is_judged_not_forgiven_as_rounding(tmp_path: Path, base: Path) -> None:
    """summary.csv holds ten significant digits; a mean 1e-5 dB past the 0.05 dB tolerance is a real move."""
    from vfibench.metrics.registry import metric_info

    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 29.94999}, blend={"psnr_mean": 28.05001})
    result = invoke(str(new), str(base), "--format", "json", "--no-github")
    assert result.exit_code == 1, result.output
    verdicts = {(r["config"], r["metric"]): r["verdict"] for r in json.loads(result.stdout)["rows"]}
    assert verdicts[("l1", "psnr")] == "regressed" and verdicts[("blend", "psnr")] == "improved"
    assert judge(metric_info("lpips"), 0.1000, 0.10201, 0.002) is Verdict.REGRESSED
    assert judge(metric_info("lpips"), 0.1000, 0.10200, 0.002) is Verdict.OK


def test_a_metric_column_missing_from_new_fails_once_for_the_metric(tmp_path: Path, base: Path) -> None:
    """A new run that stopped computing LPIPS altogether must not pass with the column unchecked."""
    new = write_summary(tmp_path / "new.csv", [{k: v for k, v in row.items() if k != "lpips_mean"} for row in BASE_ROWS])
    result = invoke(str(new), str(base), "--format", "json", "--no-github")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["passed"] is False and document["counts"] == {"ok": 3, "missing metric": 1}
    assert {r["verdict"] for r in document["rows"] if r["metric"] == "lpips"} == {"missing metric"}
    assert "1 metric missing in new" in document["summary"]
    assert document["summary"].endswith("— failed: lpips (missing metric)")


def test_a_metric_only_new_has_is_reported_and_not_checked(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", [{**row, "ssim_mean": 0.9} for row in BASE_ROWS])
    for mode in ([], ["--two-sided"]):
        result = invoke(str(new), str(base), "--format", "json", "--no-github", *mode)
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["counts"] == {"ok": 6, "new metric": 1}
        assert [r["verdict"] for r in document["rows"] if r["metric"] == "ssim"] == ["new metric"] * 3
        assert "1 new metric (not checked)" in document["summary"]


def test_a_configuration_an_interrupted_new_run_did_not_reach_is_missing_in_new(tmp_path: Path, base: Path) -> None:
    """A summary lists a configuration it has not run yet as 'missing': BASE has results for it, so it fails."""
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"status": "missing", **NO_RESULTS})
    result = invoke(str(new), str(base), "--format", "json", "--no-github")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert {r["verdict"] for r in document["rows"] if r["config"] == "l1"} == {"missing in new"}
    assert document["counts"] == {"ok": 4, "missing in new": 1}


def test_a_configuration_with_only_some_seeds_in_base_is_still_checked(tmp_path: Path, base: Path) -> None:
    """BASE's partial results are results: NEW without the configuration, or worse on it, fails."""
    old = write_summary(tmp_path / "old.csv", BASE_ROWS, l1={"status": "partial"})
    absent = write_summary(tmp_path / "absent.csv", [row for row in BASE_ROWS if row["config"] != "l1"])
    result = invoke(str(absent), str(old))
    assert result.exit_code == 1, result.output
    assert "l1 (missing in new)" in result.output
    worse = write_summary(tmp_path / "worse.csv", BASE_ROWS, l1={"psnr_mean": 29.80})
    result = invoke(str(worse), str(old))
    assert result.exit_code == 1 and "failed: l1 psnr" in result.output, result.output


def test_the_library_refuses_a_shared_metric_without_a_tolerance(tmp_path: Path, base: Path) -> None:
    from vfibench.results.compare import compare_summaries

    with pytest.raises(VfiBenchError, match="no tolerance for the metric 'lpips'"):
        compare_summaries(load_summary(base), load_summary(base), {"psnr": 0.05})
    # a column only BASE has needs no tolerance: it is missing in NEW, whatever the numbers
    new = write_summary(tmp_path / "new.csv", [{k: v for k, v in row.items() if k != "lpips_mean"} for row in BASE_ROWS])
    comparison = compare_summaries(load_summary(new), load_summary(base), {"psnr": 0.05})
    assert comparison.failed and {row.verdict for row in comparison.rows if row.metric == "lpips"} == {
        Verdict.MISSING_METRIC}


def test_a_default_tolerance_is_used_and_not_noted_as_unused(base: Path) -> None:
    result = invoke(str(base), str(base), "--tol", "default=0.1", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["tolerances"] == {"psnr": 0.1, "lpips": 0.1}
    assert not any("--tol" in note for note in document["notes"]), document["notes"]


def test_tolerance_names_are_read_in_any_case_the_default_key_too() -> None:
    from vfibench.results.compare_tolerances import parse_tolerances
    assert parse_tolerances(["DEFAULT=0.1,PSNR=0.2"]) == {"default": 0.1, "psnr": 0.2}


def test_the_summary_line_names_five_failures_and_counts_the_rest(tmp_path: Path) -> None:
    rows = [{**BASE_ROWS[0], "config": f"c{i}"} for i in range(6)]
    old = write_summary(tmp_path / "old.csv", rows)
    five = write_summary(tmp_path / "five.csv", [{**row, "psnr_mean": 29.0} if i < 5 else row
                                                 for i, row in enumerate(rows)])
    six = write_summary(tmp_path / "six.csv", [{**row, "psnr_mean": 29.0} for row in rows])
    line = json.loads(invoke(str(five), str(old), "--format", "json").stdout)["summary"]
    assert line.endswith("— failed: c0 psnr, c1 psnr, c2 psnr, c3 psnr, c4 psnr"), line
    line = json.loads(invoke(str(six), str(old), "--format", "json").stdout)["summary"]
    assert line.endswith("— failed: c0 psnr, c1 psnr, c2 psnr, c3 psnr, c4 psnr and 1 more"), line


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("::error")]


def test_github_annotations_name_a_configuration_or_column_failure_once(tmp_path: Path, base: Path) -> None:
    """One annotation per missing configuration or column, not one per metric or per configuration."""
    rows = [{k: v for k, v in row.items() if k != "lpips_mean"} for row in BASE_ROWS if row["config"] != "l1"]
    new = write_summary(tmp_path / "new.csv", rows)
    result = invoke(str(new), str(base), "--github")
    assert result.exit_code == 1, result.output
    assert error_lines(result.output) == [
        "::error title=vfibench missing configuration::l1: results in BASE but none in NEW",
        "::error title=vfibench missing metric::lpips: a column in BASE but not in NEW",
    ]


def test_github_annotations_say_which_way_each_metric_is_better(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 29.80}, l1_perc={"lpips_mean": 0.0830})
    lines = error_lines(invoke(str(new), str(base), "--github").output)
    assert "::error title=vfibench regression::l1 psnr 30.00 → 29.80 (-0.2000, tolerance 0.05; higher is better)" \
        in lines, lines
    assert any(line.startswith("::error title=vfibench regression::l1+perc lpips ")
               and line.endswith("(+0.0030, tolerance 0.002; lower is better)") for line in lines), lines
    improved = write_summary(tmp_path / "improved.csv", BASE_ROWS, l1={"psnr_mean": 30.30})
    lines = error_lines(invoke(str(improved), str(base), "--github", "--two-sided").output)
    assert lines == ["::error title=vfibench change::l1 psnr 30.00 → 30.30 (+0.3000, tolerance 0.05; higher is better)"]


def test_a_github_annotation_stays_on_one_line(tmp_path: Path, base: Path) -> None:
    """A failure reason with a line break or a percent sign is escaped, as workflow commands require."""
    new = write_summary(tmp_path / "new.csv", BASE_ROWS,
                        l1={"status": "failed", "reason": "RuntimeError: 100% of memory\nin use", "seeds": 0,
                            "samples": 0, "psnr_mean": None, "lpips_mean": None})
    lines = error_lines(invoke(str(new), str(base), "--github").output)
    assert lines == ["::error title=vfibench failure::l1: failed in NEW (failed in new: RuntimeError: 100%25 of "
                     "memory%0Ain use; complete in base)"], lines


def test_annotations_follow_github_actions_only_when_it_is_true(base: Path, tmp_path: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 29.80})
    for value, shown in (("true", True), ("TRUE", True), ("false", False), ("0", False), ("", False)):
        result = runner.invoke(app, ["compare", str(new), str(base)], env={"GITHUB_ACTIONS": value})
        assert result.exit_code == 1 and bool(error_lines(result.output)) is shown, value


def test_json_with_annotations_keeps_standard_output_a_json_document(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 29.80})
    result = invoke(str(new), str(base), "--format", "json", "--github")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["passed"] is False
    assert error_lines(result.stderr) and not error_lines(result.stdout)


def test_markdown_marks_every_failing_verdict_in_bold(tmp_path: Path, base: Path) -> None:
    rows = [row for row in BASE_ROWS if row["config"] != "l1"]
    new = write_summary(tmp_path / "new.csv", rows, l1_perc={"lpips_mean": float("nan")})
    markdown = invoke(str(new), str(base), "--format", "md").stdout
    assert "| **missing in new** |" in markdown and "| **lost value** |" in markdown, markdown
    assert "| ok |" in markdown and "**ok**" not in markdown


def test_runs_scored_on_other_numbers_of_samples_are_refused_unless_allowed(tmp_path: Path, base: Path) -> None:
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"samples": 16})
    result = invoke(str(new), str(base))
    text = " ".join(result.output.split())
    assert result.exit_code == 2, text
    assert "Configurations were scored on other numbers of test samples: 'l1' on 16 in NEW, 8 in BASE." in text, text
    allowed = invoke(str(new), str(base), "--allow-different-setup")
    assert allowed.exit_code == 0, allowed.output
    assert "note: Configurations were scored on other numbers" in " ".join(allowed.output.split()), allowed.output


@pytest.mark.parametrize(("changes", "exit_code"), [({}, 0), ({"l1_perc": {"lpips_mean": 0.0830}}, 1)])
def test_a_reader_that_stops_reading_leaves_compare_its_own_exit_code(tmp_path: Path, base: Path,
                                                                      changes: dict, exit_code: int) -> None:
    """`vfibench compare NEW BASE | head` under `set -o pipefail`: a closed pipe is not a regression (exit 1)
    and not an error; the verdict's code stands, and nothing is printed about the pipe."""
    import os
    import subprocess
    import sys

    new = write_summary(tmp_path / "new.csv", BASE_ROWS, **changes)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(Path(__file__).parents[1]),
                                                                    os.environ.get("PYTHONPATH"))))}
    child = subprocess.Popen([sys.executable, "-m", "vfibench", "compare", str(new), str(base)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader is gone before the first line
    messages = child.stderr.read().decode()
    assert child.wait(timeout=120) == exit_code and messages == "", messages


def test_json_rows_say_which_pairs_fail(tmp_path: Path, base: Path) -> None:
    """A CI script lists what broke the build from each JSON row's "fails"."""
    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 29.80})
    rows = json.loads(invoke(str(new), str(base), "--format", "json", "--no-github").stdout)["rows"]
    assert [(row["config"], row["metric"]) for row in rows if row["fails"]] == [("l1", "psnr")]
    assert sum(not row["fails"] for row in rows) == 5


def test_a_sweep_and_an_evaluation_are_refused_as_not_comparable(tmp_path: Path, base: Path) -> None:
    """A sweep's rows are trained models scored on its own test data, an evaluation's are frames scored against
    its ground truth: equal numbers in the two would mean nothing, so the pair exits 2, either way round."""
    evaluation = write_summary(tmp_path / "eval.csv", [{**row, "config": BASE_ROWS[i]["config"]}
                                                       for i, row in enumerate(EVALUATED)])
    for args in ((evaluation, base), (base, evaluation)):
        result = invoke(*map(str, args))
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "Traceback" not in result.output, text
        assert "their rows are not comparable" in text and "within tolerance" not in text, text


def test_a_per_sample_table_of_a_unit_or_of_a_run_without_summary_names_the_run_folder(
        tmp_path: Path, base: Path) -> None:
    run = tmp_path / "run"
    unit = run / "units" / "l1_seed0"
    unit.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"tool": "vfibench", "kind": "sweep", "status": "complete"}))
    (unit / "per_sample.csv").write_text("config,kind,seed,sample,psnr,lpips\nl1,trained,0,0,30.1,0.1\n")
    text = " ".join(invoke(str(unit / "per_sample.csv"), str(base)).output.split())
    assert f"pass the run folder '{run}' (run `vfibench report` on it first if its summary.csv is gone)" in text, text
    (run / "summary.csv").write_bytes(base.read_bytes())
    text = " ".join(invoke(str(unit / "per_sample.csv"), str(base)).output.split())
    assert f"pass the run folder '{run}' or its summary file '{run / 'summary.csv'}'" in text, text


def test_a_run_summary_without_a_row_its_manifest_lists_is_refused(tmp_path: Path, base: Path) -> None:
    """A BASE summary cut short would leave its lost configurations unchecked and let the comparison pass."""
    run = tmp_path / "run"
    run.mkdir()
    write_summary(run / "summary.csv", BASE_ROWS[:2])
    (run / "manifest.json").write_text(json.dumps({"tool": "vfibench", "kind": "sweep", "status": "complete",
                                                   "order": [row["config"] for row in BASE_ROWS]}))
    result = invoke(str(base), str(run))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "lacks the row of 'blend', which its run's manifest lists" in text, text


def test_runs_of_other_presets_are_refused_unless_allowed(tmp_path: Path, base: Path) -> None:
    def run(name: str, preset: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "summary.csv").write_bytes(base.read_bytes())
        manifest = {"tool": "vfibench", "kind": "sweep", "status": "complete", "preset": {"name": preset}}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder

    smoke, quick, also_smoke = run("a", "smoke"), run("b", "quick"), run("c", "smoke")
    result = invoke(str(quick), str(smoke))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "NEW used the preset 'quick', BASE 'smoke'." in text, text
    allowed = invoke(str(quick), str(smoke), "--allow-different-setup")
    assert allowed.exit_code == 0, allowed.output
    assert "note: NEW used the preset 'quick', BASE 'smoke'." in " ".join(allowed.output.split())
    same = invoke(str(also_smoke), str(smoke))
    assert same.exit_code == 0 and "used the preset" not in same.output


def test_evaluations_against_other_ground_truths_are_noted(tmp_path: Path) -> None:
    def run(name: str, **truth: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        write_summary(folder / "summary.csv", EVALUATED)
        manifest = {"tool": "vfibench", "kind": "eval", "status": "complete", **truth}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder

    xiph, ucf, folder = run("a", gt_spec="xiph:data/xiph"), run("b", gt_spec="ucf101:data/ucf"), run("c", gt_dir="gt")
    text = " ".join(invoke(str(xiph), str(ucf)).output.split())
    assert "NEW was scored against xiph:data/xiph, BASE against ucf101:data/ucf" in text, text
    assert "NEW was scored against gt, BASE against xiph:data/xiph" in " ".join(
        invoke(str(folder), str(xiph)).output.split())
    assert "scored against" not in invoke(str(run("d", gt_spec="xiph:data/xiph")), str(xiph)).output


def test_a_latest_link_to_a_sweep_resumed_after_it_completed_is_refused(tmp_path: Path, base: Path) -> None:
    """results/latest of a finished sweep that is being resumed now holds a summary that no longer describes it."""
    run = tmp_path / "out" / "run1"
    run.mkdir(parents=True)
    (run / "summary.csv").write_bytes(base.read_bytes())
    (run / "manifest.json").write_text(json.dumps({"tool": "vfibench", "kind": "sweep", "status": "running"}))
    (tmp_path / "out" / "latest").symlink_to("run1")
    result = invoke(str(base), str(tmp_path / "out" / "latest"))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "which was resumed after it completed and is not complete now" in text, text


def test_the_tolerance_line_says_whether_only_a_worsening_fails(tmp_path: Path, base: Path) -> None:
    one_sided = " ".join(invoke(str(base), str(base)).output.split())
    assert "one-sided (only a worsening beyond them fails)" in one_sided and "two-sided" not in one_sided
    two_sided = " ".join(invoke(str(base), str(base), "--two-sided").output.split())
    assert "two-sided (any change beyond them fails)" in two_sided and "one-sided" not in two_sided


def test_markdown_lists_the_comparisons_notes(tmp_path: Path, base: Path) -> None:
    markdown = invoke(str(base), str(base), "--format", "md").stdout
    assert "\n- NEW and BASE are the same file" in markdown, markdown


def test_markdown_keeps_a_name_with_a_pipe_in_its_own_cell(tmp_path: Path) -> None:
    rows = [{**EVALUATED[0], "config": "rife|v4"}]
    markdown = invoke(str(write_summary(tmp_path / "new.csv", rows)), str(write_summary(tmp_path / "old.csv", rows)),
                      "--format", "md").stdout
    assert "| `rife\\|v4` | psnr ↑ |" in markdown, markdown


def test_an_annotation_for_the_sharpness_ratio_says_it_is_best_at_1(tmp_path: Path) -> None:
    rows = [{**row, "sharpness_mean": 1.0} for row in BASE_ROWS]
    old = write_summary(tmp_path / "old.csv", rows)
    new = write_summary(tmp_path / "new.csv", rows, l1={"sharpness_mean": 0.9})
    lines = error_lines(invoke(str(new), str(old), "--github").output)
    assert lines == ["::error title=vfibench regression::l1 sharpness 1.0000 → 0.9000 (-0.1000, tolerance 0.01; "
                     "best at 1)"], lines


def test_the_terminal_table_shows_failures_in_bold_red(tmp_path: Path, base: Path) -> None:
    from rich.console import Console

    from vfibench.results.compare import compare_summaries
    from vfibench.results.compare_render import rich_table
    from vfibench.results.compare_tolerances import resolve_tolerances

    new = write_summary(tmp_path / "new.csv", BASE_ROWS, l1={"psnr_mean": 29.80})
    comparison = compare_summaries(load_summary(new), load_summary(base), resolve_tolerances({}))
    console = Console(force_terminal=True, color_system="standard", width=200)
    with console.capture() as captured:
        console.print(rich_table(comparison))
    lines = captured.get().splitlines()
    assert any("\x1b[1;31mregressed" in line for line in lines), lines
    assert not any("\x1b[1;31mok" in line for line in lines), lines
