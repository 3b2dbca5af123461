"""``vfibench losses`` output and the missing-VGG16 refusal of ``vfibench run``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.backbone_fixtures import point_homes_at_empty_dirs
from vfibench.cli import app
from vfibench.losses.catalog import REGISTRY

runner = CliRunner()


@pytest.mark.parametrize("width", [80, 100])
def test_catalog_fits_the_terminal_and_lists_every_name(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    result = runner.invoke(app, ["losses"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    first_words = {line.split()[0] for line in lines if line.split()}
    assert set(REGISTRY.names()) <= first_words  # one row per name, the name not folded
    (row,) = [line for line in lines if line.split() and line.split()[0] == "ms-charbonnier"]
    assert "unverified" in row and "[mean" in result.output  # formulas are text, not console markup


@pytest.mark.parametrize("args", [["losses"], ["losses", "superslomo"]])
def test_the_readme_shows_the_catalog_as_the_command_prints_it(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    printed = "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n") + "\n"
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("```\n", readme.index(f"`vfibench {' '.join(args)}`:\n")) + 4
    assert readme[start:readme.index("```", start)] == printed, "README block is stale: paste the command's output"


def test_describe_a_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    result = runner.invoke(app, ["losses", "superslomo"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "204*l1 + 102*warp + 0.005*perc(norm=superslomo) + smooth" in text
    assert "65,000" in text and "verified in the original code" in text
    for term in ("l1", "warp", "perc(norm=superslomo)", "smooth"):
        assert f" {term} always " in text


def test_describe_an_unknown_name_exits_2_with_suggestions() -> None:
    result = runner.invoke(app, ["losses", "charbonier"])
    assert result.exit_code == 2
    assert "charbonnier" in result.output and "Traceback" not in result.output


def test_run_without_vgg16_exits_2_before_training_and_leaves_no_run_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point_homes_at_empty_dirs(tmp_path, monkeypatch)
    out = tmp_path / "results"
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", "l1,l1+perc", "--out", str(out)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "VGG16" in message and "vfibench weights fetch vgg16" in message
    assert "Nothing was trained" in message and "Traceback" not in result.output
    assert not out.exists()


def test_describe_any_spec_not_only_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    result = runner.invoke(app, ["losses", "L1 + 0.1*perc(layer=relu2_2)@0.5"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "l1+0.1*perc(layer=relu2_2)@0.5 — loss configuration" in text
    assert "vgg16 backbone" in text and " 0.1 perc(layer=relu2_2) from 50% " in text


def test_describe_a_term_with_several_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    # the comma between parameters does not part configurations
    monkeypatch.setenv("COLUMNS", "120")
    result = runner.invoke(app, ["losses", "perc(layer=relu2_2, norm=imagenet)"])
    assert result.exit_code == 0, result.output
    assert "perc(layer=relu2_2,norm=imagenet) — loss configuration" in " ".join(result.output.split())


def test_describe_a_spec_that_expands_a_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    result = runner.invoke(app, ["losses", "0.5*dain+ssim"])
    assert result.exit_code == 0, result.output
    assert "expands to 0.5*charbonnier + ssim" in " ".join(result.output.split())


@pytest.mark.parametrize(("spec", "says"), [("l1+0.1*pec", "Did you mean 'perc'"),
                                            ("l1,l2", "one at a time"), ("l1+*perc", "position")])
def test_a_bad_spec_exits_2_and_says_why(spec: str, says: str) -> None:
    result = runner.invoke(app, ["losses", spec])
    assert result.exit_code == 2 and says in " ".join(result.output.split()), result.output


def test_catalog_says_what_each_term_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    result = runner.invoke(app, ["losses"])
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.split()}
    assert "vgg16 backbone" in rows["perc"] and "discriminator" in rows["adv"] and "—" in rows["l1"]


def test_a_terms_explanation_shows_code_without_its_docstring_backticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    result = runner.invoke(app, ["losses", "charbonnier"])
    assert result.exit_code == 0, result.output
    assert "``" in REGISTRY.terms["charbonnier"].doc  # the docstring marks code, the terminal shows it
    text = " ".join(result.output.split())
    assert "DAIN: charbonier_loss in loss_function.py" in text and "`" not in result.output


def test_a_configuration_with_untrained_stretches_says_run_refuses_it_and_how_to_fill_them() -> None:
    from vfibench.losses.describe import uncovered
    from vfibench.losses.spec import Window

    assert uncovered([Window(0.5, 1.0)]) == [Window(0.0, 0.5)]
    assert uncovered([Window(0.0, 0.3), Window(0.5, 0.8)]) == [Window(0.3, 0.5), Window(0.8, 1.0)]
    assert uncovered([Window(0.0, 0.6), Window(0.5, 1.0)]) == []
    gap = CliRunner().invoke(app, ["losses", "l1@0.5"])
    assert gap.exit_code == 0
    text = " ".join(gap.output.split())
    assert "No term is active until 50% of training" in text and "'l1@0.5+l2@:0.5'" in text
    assert "refuses the configuration for a preset with such a step" in text
    narrow = " ".join(CliRunner().invoke(app, ["losses", "l1@0.001"]).output.split())
    assert "until 0.1% of training" in narrow
    tiny = " ".join(CliRunner().invoke(app, ["losses", "l1@:0.5+l2@0.5000001"]).output.split())
    assert "No term is active 50%–50.00001% of training" in tiny  # not "50%–50%"
    crowded = CliRunner().invoke(app, ["losses", "l1@:0.2+l2@0.3:0.5+charbonnier@0.6+lap@0.55:0.6"])
    assert crowded.exit_code == 0 and "Add a term for the gap." in " ".join(crowded.output.split())
    covered = CliRunner().invoke(app, ["losses", "l1@0.5+l2@:0.5"])
    assert covered.exit_code == 0 and "No term is active" not in covered.output


def explained(spec: str) -> str:
    """`vfibench losses SPEC` on a 120-column terminal, as one line of words (it must succeed)."""
    result = runner.invoke(app, ["losses", spec], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_a_configuration_needs_only_what_its_terms_read_beyond_the_frame() -> None:
    mixed = explained("l1+0.1*perc")
    assert "needs vgg16 backbone " in mixed and "the predicted frame only" not in mixed
    assert "needs the predicted frame only" in explained("l1+l2")


def test_a_term_active_inside_another_terms_window_leaves_no_stretch_untrained() -> None:
    from vfibench.losses.describe import uncovered
    from vfibench.losses.spec import Window

    assert uncovered([Window(0.0, 0.8), Window(0.2, 0.4)]) == [Window(0.8, 1.0)]
    assert uncovered([Window(0.0, 1.0), Window(0.3, 0.5)]) == []
    assert "No term is active" not in explained("l1+l2@0.3:0.5")


def test_a_terms_explanation_gives_each_parameters_default_and_choices() -> None:
    perc = explained("perc")
    assert "dist= default mse (one of mse, l1): distance between the feature maps" in perc
    assert "norm= default none (one of none, imagenet, superslomo):" in perc
    assert "eps= default 1e-06:" in explained("charbonnier")


def test_a_terms_explanation_says_whether_it_was_read_in_the_original_code() -> None:
    verified = explained("l1")
    assert "status verified in the original code" in verified and "unverified" not in verified
    unverified = explained("ms-charbonnier")
    assert "status unverified: the original training code was not available" in unverified
    assert "verified in the original code" not in unverified


def test_a_configuration_says_how_its_terms_differ_from_their_sources() -> None:
    assert "How these terms differ from their sources: census IFRNet clamps its prediction" in explained("l1+census")
    assert "differ from their sources" not in explained("l1+l2")


def test_a_weight_written_with_an_exponent_stays_one_term_where_a_configuration_is_spelt_out() -> None:
    """The sign of a weight such as 1e+20 is not a `+` between two terms."""
    from vfibench.losses.describe import spaced

    assert spaced("l1+1e+20*charbonnier+2.5E+16*perc(layer=relu2_2)") == \
        "l1 + 1e+20*charbonnier + 2.5E+16*perc(layer=relu2_2)"
    assert spaced("style+l2") == "style + l2"
    assert "expands to 1e+20*charbonnier needs" in explained("1e20*dain")


def test_a_negative_weight_read_as_an_option_is_explained_and_after_double_dash_is_refused_as_a_weight() -> None:
    """`vfibench losses "-1*l1"` answered only "No such option: -1"."""
    as_option = runner.invoke(app, ["losses", "-1*l1"])
    text = " ".join(as_option.output.split())
    assert as_option.exit_code == 2 and "No such option: -1. An argument that starts with '-' and a digit" in text
    assert "put -- before it, as in `vfibench losses -- -1…`" in text, text
    as_spec = runner.invoke(app, ["losses", "--", "-1*l1"])
    assert as_spec.exit_code == 2 and "the weight -1 must be a positive finite number" in as_spec.output
    unknown = " ".join(runner.invoke(app, ["losses", "--bogus"]).output.split())
    assert "No such option: --bogus" in unknown and "put -- before it" not in unknown


def test_a_term_over_two_windows_that_meet_is_explained_as_the_loss_run_takes_it_for() -> None:
    """`run --losses l1,l1@:0.5+l1@0.5` refuses the pair as one loss; `losses` says so of the second."""
    merged = explained("l1@:0.5+l1@0.5")
    assert "same loss as l1 (a term at one weight over two windows that meet is that term over both)" in merged
    assert "same loss as" not in explained("l1@:0.5+2*l1@0.5")  # a schedule of weights: a loss of its own
    weighted = explained("0.1*l1@:0.5+0.1*l1@0.5+0.3*perc")  # its weights as written, not as float32 rounds them
    assert "same loss as 0.1*l1 + 0.3*perc (a term" in weighted and "0.1000000" not in weighted
