"""One results schema: every producer of a run against every consumer, and the schema's own reader.

Producers write run directories: a sweep, a sweep interrupted and resumed, an evaluation. Consumers
read them: ``vfibench report`` (written, and each printed format), ``vfibench compare`` and the
Python API. Every (producer, consumer) pair runs, and so does ``compare`` between every two
producers (same kind of run: identical tables pass two-sided; a sweep against an evaluation: exit 2).

A new producer (another executor, say) is one more entry in :data:`PRODUCERS`: a function that makes
its run under a given folder, and the kind of run it is.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from vfibench import api
from vfibench.cli import app
from vfibench.errors import ResultsError
from vfibench.eval_plan import plan_evaluation
from vfibench.evaluate import run_evaluation
from vfibench.metrics.records import RECORDS, record_names
from vfibench.presets import get_preset
from vfibench.results import schema
from vfibench.results.compare import compare_summaries
from vfibench.results.compare_inputs import load_summary
from vfibench.results.compare_tolerances import resolve_tolerances
from vfibench.results.store import RunStore
from vfibench.sweep import SweepInterrupted, plan_resume, plan_sweep, run_sweep
from tests.test_sweep import StopAtSecondTraining

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "results" / "baselines" / "ci.csv"
METRICS = ["psnr", "ssim", "sharpness", "gmsd"]
PRESET = get_preset("smoke").with_overrides(steps=2, train_count=8, test_count=6, batch_size=2)
runner = CliRunner()


# -- producers --------------------------------------------------------------------------------------
def sweep_plan(out: Path):
    return plan_sweep("l1,l2", PRESET, [0], out=out, device="cpu", metrics=METRICS)


def make_sweep(out: Path) -> RunStore:
    return run_sweep(sweep_plan(out))


def make_resumed_sweep(out: Path) -> RunStore:
    """The same sweep, interrupted after its first trained unit and finished by ``--resume``."""
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(sweep_plan(out), StopAtSecondTraining())
    store = stopped.value.store
    assert schema.read_summary(store.root).get("l2").status == schema.MISSING
    return run_sweep(plan_resume(store), store=store)


def write_frames(root: Path) -> dict[str, Path]:
    """gt/ with two frames (one in a subfolder) and two models' predictions of them: sharp and noisy."""
    rng = np.random.default_rng(0)
    folders = {name: root / name for name in ("gt", "sharp", "noisy")}
    for name in ("a.png", "seq/b.png"):
        truth = rng.integers(0, 256, size=(40, 48, 3))
        frames = {"gt": truth, "sharp": truth + rng.integers(-2, 3, size=truth.shape),
                  "noisy": truth + rng.integers(-40, 41, size=truth.shape)}
        for folder, frame in frames.items():
            (folders[folder] / name).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)).save(folders[folder] / name)
    return folders


def make_eval(out: Path) -> RunStore:
    frames = write_frames(out / "frames")
    plan = plan_evaluation([f"good={frames['sharp']}", f"bad={frames['noisy']}"], frames["gt"], out=out / "results",
                           metrics=METRICS, device="cpu")
    return run_evaluation(plan)


@dataclass(frozen=True)
class Producer:
    """A way to make a run: ``make(folder)`` writes it under ``folder``; ``kind`` is the run kind."""

    make: Callable[[Path], RunStore]
    kind: str


PRODUCERS: dict[str, Producer] = {
    "sweep": Producer(make_sweep, schema.SWEEP),
    "resumed sweep": Producer(make_resumed_sweep, schema.SWEEP),
    "eval": Producer(make_eval, schema.EVALUATION),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunStore]:
    """Every producer's run, made once for the module (each consumer reads them, none changes them)."""
    made = {}
    for name, producer in PRODUCERS.items():
        made[name] = producer.make(tmp_path_factory.mktemp(re.sub(r"\W+", "-", name)))
    return made


@pytest.fixture
def run_copy(request: pytest.FixtureRequest, runs: dict[str, RunStore], tmp_path: Path) -> RunStore:
    """A copy of the producer ``request.param``'s run, for a consumer that writes into it."""
    target = tmp_path / "results" / runs[request.param].name
    shutil.copytree(runs[request.param].root, target)
    return RunStore(target)


# -- consumers --------------------------------------------------------------------------------------
def consume_written_report(store: RunStore) -> None:
    """`vfibench report RUN`: writes the report (one image grid) and prints the tables."""
    result = runner.invoke(app, ["report", str(store.root), "--samples", "1"])
    assert result.exit_code == 0, result.output
    page = store.path("report/report.html").read_text(encoding="utf-8")
    for config in schema.read_summary(store.root).configs:
        assert config in page and config in result.stdout
    assert len(list(store.root.glob("report/grid_sample*.png"))) == 1


def consume_printed_formats(store: RunStore) -> None:
    """`vfibench report RUN --format md|json|csv`: each prints, none writes."""
    summary = schema.read_summary(store.root)
    markdown = runner.invoke(app, ["report", str(store.root), "--format", "md"])
    assert markdown.exit_code == 0, markdown.output
    assert all(f"| {config} |" in markdown.stdout for config in summary.configs)
    document = runner.invoke(app, ["report", str(store.root), "--format", "json"])
    assert document.exit_code == 0, document.output
    assert [row[schema.CONFIG] for row in json.loads(document.stdout)["summary"]] == list(summary.configs)
    table = runner.invoke(app, ["report", str(store.root), "--format", "csv"])
    assert table.exit_code == 0, table.output
    printed = schema.validate_summary(pd.read_csv(io.StringIO(table.stdout)), Path("<stdout>"))
    pd.testing.assert_frame_equal(printed.frame, summary.frame)


def consume_compare(store: RunStore) -> None:
    """`vfibench compare RUN BASE --two-sided`: the run against itself passes, every pair within
    tolerance; against its own summary.csv with one PSNR mean moved by 1 dB it fails, on that pair only."""
    result = runner.invoke(app, ["compare", str(store.root), str(store.root), "--two-sided", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    summary = schema.read_summary(store.root)
    assert document["passed"] and set(document["counts"]) == {"ok"}
    assert document["counts"]["ok"] == len(summary.configs) * len(summary.metrics)

    moved = pd.read_csv(store.path(schema.SUMMARY_FILE))
    psnr = schema.column("psnr", schema.MEAN)
    moved.loc[0, psnr] += 1.0
    baseline = store.root.parent / "moved-summary.csv"
    moved.to_csv(baseline, index=False)
    result = runner.invoke(app, ["compare", str(store.root), str(baseline), "--two-sided", "--format", "json"])
    assert result.exit_code == 1, result.output
    failed = [(row["config"], row["metric"]) for row in json.loads(result.stdout)["rows"] if row["fails"]]
    assert failed == [(summary.configs[0], "psnr")]


def consume_api(store: RunStore) -> None:
    """`vfibench.api.load_run`: the tables the files hold, read by pandas alone, with every metric and
    configuration of the run."""
    run = api.load_run(store.root)
    written = pd.read_csv(store.path(schema.SUMMARY_FILE))
    assert list(run.summary[schema.CONFIG]) == list(written[schema.CONFIG])
    for metric in METRICS:
        mean = schema.column(metric, schema.MEAN)
        np.testing.assert_array_equal(run.summary[mean].to_numpy(dtype=float), written[mean].to_numpy(dtype=float))
    samples = pd.read_csv(store.path(schema.PER_SAMPLE_FILE))
    assert len(run.per_sample) == len(samples) > 0
    assert list(run.metrics) == METRICS
    scored = {row[schema.CONFIG] for row in written.to_dict("records") if row[schema.STATUS] == schema.COMPLETE}
    assert set(run.per_sample[schema.CONFIG]) == scored


CONSUMERS: dict[str, Callable[[RunStore], None]] = {
    "report": consume_written_report,
    "report formats": consume_printed_formats,
    "compare": consume_compare,
    "api": consume_api,
}


@pytest.mark.parametrize("run_copy", list(PRODUCERS), indirect=True)
@pytest.mark.parametrize("consumer", list(CONSUMERS))
def test_every_consumer_reads_every_producer(run_copy: RunStore, consumer: str) -> None:
    CONSUMERS[consumer](run_copy)


@pytest.mark.parametrize("new", list(PRODUCERS))
@pytest.mark.parametrize("base", list(PRODUCERS))
def test_compare_between_producers(runs: dict[str, RunStore], new: str, base: str) -> None:
    """Runs of one kind made the same way compare equal, two-sided; a sweep against an evaluation is
    refused with exit 2 and says why."""
    result = runner.invoke(app, ["compare", str(runs[new].root), str(runs[base].root), "--two-sided"])
    if PRODUCERS[new].kind == PRODUCERS[base].kind:
        assert result.exit_code == 0, result.output
        assert "0 regressed, 0 improved" in result.output
    else:
        text = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert "not comparable" in text and str(runs[new].root) in text and str(runs[base].root) in text
        assert "Traceback" not in result.output


# -- compare on evaluations -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_frames(tmp_path_factory.mktemp("frames"))


def vfibench_eval(frames: dict[str, Path], out: Path, *preds: str) -> Path:
    """Run `vfibench eval` with ``preds`` against ``frames['gt']``; the run directory."""
    args = ["eval", "--gt", str(frames["gt"]), "--out", str(out), "--metrics", ",".join(METRICS), "--samples", "0",
            "--device", "cpu", "--format", "csv"]
    for pred in preds:
        args += ["--pred", pred]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return (out / "latest").resolve()


def test_two_eval_runs_of_different_predictions_compare_and_the_worse_exits_1(frames, tmp_path: Path) -> None:
    base = vfibench_eval(frames, tmp_path / "base", f"mymodel={frames['sharp']}")
    new = vfibench_eval(frames, tmp_path / "new", f"mymodel={frames['noisy']}")
    worse = runner.invoke(app, ["compare", str(new), str(base), "--format", "json"])
    assert worse.exit_code == 1, worse.output
    document = json.loads(worse.stdout)
    verdicts = {row["metric"]: row["verdict"] for row in document["rows"]}
    assert verdicts["psnr"] == verdicts["ssim"] == verdicts["gmsd"] == "regressed"
    assert document["tolerances"] == {m: next(r.tolerance for r in RECORDS if r.name == m) for m in METRICS}
    assert "failed: mymodel psnr" in worse.output
    better = runner.invoke(app, ["compare", str(base), str(new)])
    assert better.exit_code == 0 and "0 regressed" in better.output and "improved" in better.output
    assert runner.invoke(app, ["compare", str(base), str(new), "--two-sided"]).exit_code == 1
    # A summary.csv file of an evaluation works as well as its run directory (a committed baseline).
    assert runner.invoke(app, ["compare", str(new / "summary.csv"), str(base / "summary.csv")]).exit_code == 1


def test_model_names_that_look_like_numbers_or_missing_values_are_read_back_as_written(frames, tmp_path: Path) -> None:
    run = vfibench_eval(frames, tmp_path / "out", f"NA={frames['sharp']}", f"007={frames['noisy']}")
    loaded = api.load_run(run)
    assert list(loaded.summary["config"]) == ["NA", "007"]
    assert sorted(set(loaded.per_sample["config"])) == ["007", "NA"]
    result = runner.invoke(app, ["compare", str(run), str(run)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("run_copy", ["sweep"], indirect=True)
def test_load_run_refuses_a_cut_per_sample_table_as_report_does(run_copy: RunStore) -> None:
    table = run_copy.path(schema.PER_SAMPLE_FILE)
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    table.write_text("".join(lines[:-3]), encoding="utf-8")  # whole lines gone: it still parses
    with pytest.raises(ResultsError, match=r"holds \d+ rows? for"):
        api.load_run(run_copy.root)
    with pytest.raises(ResultsError, match="is a file; load_run reads a run directory .the folder that holds "
                                           "summary.csv. or the folder of runs: pass"):
        api.load_run(run_copy.path(schema.SUMMARY_FILE))
    assert runner.invoke(app, ["report", str(run_copy.root)]).exit_code == 2


def test_eval_runs_without_a_shared_model_name_are_refused_and_say_how_names_match(frames, tmp_path: Path) -> None:
    base = vfibench_eval(frames, tmp_path / "base", str(frames["sharp"]))
    new = vfibench_eval(frames, tmp_path / "new", str(frames["noisy"]))
    result = runner.invoke(app, ["compare", str(new), str(base)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "nothing would be compared" in text, text  # a check of nothing must not pass
    assert "share no model name" in text and "--pred NAME=DIR" in text
    allowed = runner.invoke(app, ["compare", str(new), str(base), "--allow-different-setup"])
    assert allowed.exit_code == 1 and "sharp (missing in new)" in " ".join(allowed.output.split())


def test_a_sweep_summary_against_an_eval_summary_is_refused(runs: dict[str, RunStore]) -> None:
    result = runner.invoke(app, ["compare", str(runs["eval"].root), str(BASELINE)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "is the summary of an evaluation (`vfibench eval`)" in text and "a sweep (`vfibench run`)" in text
    with pytest.raises(ResultsError, match="not comparable"):
        compare_summaries(load_summary(BASELINE), load_summary(runs["eval"].root))


def test_default_tolerances_are_the_metric_records() -> None:
    assert resolve_tolerances() == {r.name: r.tolerance for r in RECORDS}
    assert all(r.tolerance > 0 for r in RECORDS)
    assert resolve_tolerances({"default": 0.5, "psnr": 0.1}) == {**dict.fromkeys(record_names(), 0.5),
                                                                 "psnr": 0.1}
    help_text = " ".join(runner.invoke(app, ["compare", "--help"], env={"COLUMNS": "200"}).output.split())
    assert all(f"{r.name}={r.tolerance:g}" in help_text for r in RECORDS)


# -- the schema itself ------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", record_names())
def test_every_column_name_parses_back(metric: str) -> None:
    for statistic in schema.STATISTICS:
        assert schema.parse_column(schema.column(metric, statistic)) == (metric, statistic)
    assert schema.parse_column(schema.CONFIG) is None and schema.parse_column("_mean") is None
    with pytest.raises(ValueError):
        schema.column(metric, "median")


def test_the_committed_baseline_and_older_summaries_read(runs: dict[str, RunStore], tmp_path: Path) -> None:
    baseline = schema.read_summary(BASELINE)
    assert baseline.run_kind == schema.SWEEP and baseline.metrics == ("psnr", "ssim", "lpips", "dists",
                                                                      "sharpness", "gmsd")
    assert [row.kind for row in baseline.rows] == [schema.TRAINED] * 2 + [schema.REFERENCE] * 2
    # Runs from before resuming existed have no reason column; a trimmed baseline keeps only the means.
    frame = pd.read_csv(runs["sweep"].path(schema.SUMMARY_FILE)).drop(columns=[schema.REASON])
    frame = frame[[c for c in frame.columns if (parsed := schema.parse_column(c)) is None or parsed[1] == schema.MEAN]]
    frame.to_csv(tmp_path / "old.csv", index=False)
    old = schema.read_summary(tmp_path / "old.csv")
    assert old.metrics == tuple(METRICS) and all(row.reason == "" for row in old.rows)
    assert runner.invoke(app, ["compare", str(tmp_path / "old.csv"), str(runs["sweep"].root), "--two-sided"]
                         ).exit_code == 0


SUMMARY_HEAD = "config,kind,status,seeds,samples,psnr_mean"


@pytest.mark.parametrize("content, expected", [
    ("config,kind,status,seeds,psnr_mean\nl1,trained,complete,1,30\n", "lacks the column samples"),
    (f"{SUMMARY_HEAD},psnr_median\nl1,trained,complete,1,8,30,30\n", "the column 'psnr_median', which is not"),
    (f"{SUMMARY_HEAD},vmaf_mean\nl1,trained,complete,1,8,30,90\n", "a metric 'vmaf' this version"),
    (f"{SUMMARY_HEAD},ssim_std\nl1,trained,complete,1,8,30,0.1\n", "'ssim_std' but no 'ssim_mean'"),
    (f"{SUMMARY_HEAD}\nl1,finetuned,complete,1,8,30\n", "has kind 'finetuned', not one of trained"),
    (f"{SUMMARY_HEAD}\nl1,trained,done,1,8,30\n", "has status 'done'"),
    (f"{SUMMARY_HEAD}\nl1,trained,complete,1.5,8,30\n", "has seeds '1.5', not a whole number"),
    (f"{SUMMARY_HEAD}\nl1,trained,complete,1,8,130\n", "outside the values it can take (0 to 100)"),
    (f"{SUMMARY_HEAD},psnr_std\nl1,trained,complete,1,8,30,-1\n", "psnr_std '-1', outside"),
    (f"{SUMMARY_HEAD}\nl1,trained,complete,1,8,30\nmine,evaluated,complete,1,8,30\n", "mixes rows of a sweep"),
    (f"{SUMMARY_HEAD}\n", "a header but no rows"),
])
def test_read_summary_names_the_file_and_the_problem(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "summary.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ResultsError) as error:
        schema.read_summary(tmp_path)
    message = " ".join(str(error.value).split())
    assert expected in message and str(path) in message


def test_a_summary_that_disagrees_with_its_manifest_is_refused(runs: dict[str, RunStore], tmp_path: Path) -> None:
    target = tmp_path / "run"
    shutil.copytree(runs["sweep"].root, target)
    frame = pd.read_csv(target / schema.SUMMARY_FILE)
    frame[schema.KIND] = schema.EVALUATED
    frame.to_csv(target / schema.SUMMARY_FILE, index=False)
    result = runner.invoke(app, ["report", str(target), "--format", "md"])
    assert result.exit_code == 2 and "its manifest describes a sweep" in " ".join(result.output.split())


# -- one owner --------------------------------------------------------------------------------------
#: Modules that write or read results tables; none may spell a kind, status, statistic suffix or
#: sample attribute itself.
SCHEMA_USERS = [*sorted((ROOT / "vfibench" / "results").glob("*.py")),
                *sorted((ROOT / "vfibench" / "analysis").glob("*.py")),
                ROOT / "vfibench" / "evaluate.py", ROOT / "vfibench" / "eval_plan.py", ROOT / "vfibench" / "train.py",
                *([ROOT / "vfibench" / "sweep.py"] if (ROOT / "vfibench" / "sweep.py").is_file()
                  else sorted((ROOT / "vfibench" / "sweep").glob("*.py")))]
SPELLED = {*schema.KINDS, *(s for s in schema.STATUSES if s != schema.UNAVAILABLE), *schema.SAMPLE_ATTRIBUTES,
           schema.PLANNED, schema.RUNNING, schema.INTERRUPTED}
#: A column built from a metric name: ``f"{metric}_mean"``, ``f"{m}_{statistic}"``.
SUFFIX = re.compile(r"\}_(?:\{|(?:%s)\b)" % "|".join(sorted(schema.STATISTICS, key=len, reverse=True)))


@pytest.mark.parametrize("path", [p for p in SCHEMA_USERS if p.name != "schema.py"], ids=lambda p: p.name)
def test_only_the_schema_module_spells_the_schema(path: Path) -> None:
    """No string literal (docstrings and other triple-quoted text aside) equals a kind, a status (but the
    word "unavailable", which also labels a metric's cells) or a sample attribute, and no f-string
    builds a ``<metric>_mean``-style column."""
    found = []
    middle = getattr(tokenize, "FSTRING_MIDDLE", None)  # Python 3.12 splits f-strings into parts
    for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if token.type == middle and SUFFIX.search("}" + token.string):
            found.append(f"line {token.start[0]}: {token.string}")
        if token.type != tokenize.STRING:
            continue
        prefix = re.match(r"[a-zA-Z]*", token.string).group()
        text = token.string[len(prefix):]
        if text.startswith(('"""', "'''")):
            continue
        if text[1:-1] in SPELLED or ("f" in prefix.lower() and SUFFIX.search(text)):
            found.append(f"line {token.start[0]}: {token.string}")
    assert not found, f"{path.name} spells schema strings; use vfibench.results.schema: {found}"


@pytest.mark.parametrize(("resumed", "expected"), [
    (None, "first"),
    ([{"executor": {"name": "local", "jobs": 2}}], "resume"),
    ([{"executor": "local"}], "first"),  # an older version's resume: its record overwrote the manifest's
    ([{"executor": {"name": "local", "jobs": 2}}, {"executor": "ray"}], "first"),
    ([{"executor": "ray"}, {"executor": {"name": "local", "jobs": 2}}], "resume"),
])
def test_the_latest_sessions_executor_record_is_the_last_resumes_or_the_manifests(resumed, expected) -> None:
    from vfibench.results.schema import latest_executor

    first = {"name": "local", "jobs": 1}
    manifest = {"executor": first, **({"resumed": resumed} if resumed else {})}
    assert latest_executor(manifest) == (first if expected == "first" else {"name": "local", "jobs": 2})
    assert latest_executor({"resumed": resumed or []}) == (None if expected == "first" else {"name": "local", "jobs": 2})


@pytest.mark.parametrize(("train", "test", "expected"), [
    ({"dataset": "synthetic"}, {"dataset": "frames:/data/clip", "fingerprint": "0123456789abcdef"}, []),
    ({"dataset": "synthetic(count=5)"}, {"dataset": "frames:/data/clip"}, ["test"]),  # from before fingerprints
    ({"dataset": "video(stride=2):clip.mp4"}, {"dataset": "Vimeo90K:/data/vimeo"}, ["train", "test"]),
    ({}, {"dataset": 3}, []),  # nothing recorded to read: the resume's own checks decide
])
def test_a_sweep_on_real_data_recorded_without_a_fingerprint_is_told_apart(train, test, expected) -> None:
    assert schema.unfingerprinted_splits({"data": {"train": train, "test": test}}) == expected
    assert schema.unfingerprinted_splits({"data": "damaged"}) == []
