"""The terminal summary table with seeds: every row label and header whole at 80 and 120 columns,
standard deviations with sensible digits, and no ± on deterministic references."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from rich.console import Console, ConsoleDimensions

from vfibench.metrics.registry import metric_names
from vfibench.results.tables import format_std, header, markdown_table, rich_table

CONFIGS = ["l1", "l2", "0.8*l1+0.005*perc(layer=relu2_2)", "superslomo", "l1+0.1*style@0.5"]


def two_seed_summary() -> pd.DataFrame:
    """A summary of 5 trained configurations over 2 seeds and the 2 deterministic references."""
    rows = []
    for index, config in enumerate([*CONFIGS, "blend", "nearest"]):
        reference = config in ("blend", "nearest")
        row = {"config": config, "kind": "reference" if reference else "trained", "status": "complete",
               "seeds": 2, "samples": 8}
        for metric in metric_names():
            scale = 30.0 if metric == "psnr" else 0.5
            row[f"{metric}_mean"] = scale + 0.01 * index + 0.001234
            row[f"{metric}_std"] = 0.0 if reference else 0.0312 * (index + 1) * (0.01 if metric != "psnr" else 1)
        rows.append(row)
    return pd.DataFrame(rows)


def render(width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(rich_table(two_seed_summary(), list(metric_names()), {}, title="run"))
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120])
def test_every_label_header_and_number_is_whole(width: int) -> None:
    text = render(width)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    assert "…" not in text
    blocks = [line for line in lines if line.strip().startswith("configuration")]
    assert len(blocks) >= 2  # seven metric columns with ± do not fit in one block at these widths
    for config in CONFIGS:
        assert sum(line.split()[0] == config for line in lines if line.split()) == len(blocks)
    for metric in metric_names():
        assert header(metric) in text
    assert "30.00 ± 0.03" in text  # the PSNR of l1
    (blend,) = [line for line in lines if line.startswith(" blend (ref)") and "30.05" in line]  # the reference's
    assert "±" not in blend


def test_references_show_no_spread_and_trained_rows_do() -> None:
    lines = render(120).splitlines()
    for name in ("blend (ref)", "nearest (ref)"):
        assert all("±" not in line for line in lines if line.startswith(f" {name}"))
    assert all("±" in line for line in lines if line.startswith(" l2 "))
    markdown = markdown_table(two_seed_summary(), list(metric_names()), {})
    assert "| blend | reference | 30.05 |" in markdown and "± 0.0000" not in markdown


@pytest.mark.parametrize(("std", "metric", "mean", "expected"), [
    (0.03123, "psnr", 32.49, "± 0.03"), (0.0012345, "ssim", 0.9123, "± 0.0012"), (0.00004, "ssim", 0.9, "± 0.00004"),
    (0.0, "ssim", 0.9, None), (float("nan"), "ssim", 0.9, None), (0.004, "psnr", 32.0, "± 0.004"),
    (0.03123, "psnr", 9.87, "± 0.03"), (0.01234, "ie", 12.3, "± 0.0123"),  # the metric's decimals, any size
])
def test_std_digits(std: float, metric: str, mean: float, expected: str | None) -> None:
    assert format_std(std, metric, mean) == expected


def test_a_column_prints_every_value_with_its_metric_s_decimals_whatever_their_size() -> None:
    from vfibench.results.numbers import format_number

    assert [format_number(v, "psnr") for v in (9.8712, 27.0468, 100.0)] == ["9.87", "27.05", "100.00"]
    assert [format_number(v, "ie") for v in (1.94321, 12.34567)] == ["1.9432", "12.3457"]
    assert [format_number(v, "ssim") for v in (0.91234, 1.0)] == ["0.9123", "1.0000"]
    assert format_number(12.345, "motion_px") == "12.35" and format_number(1.2345, "motion_px") == "1.2345"


def test_a_label_wider_than_the_terminal_is_folded_not_dropped() -> None:
    summary = two_seed_summary()
    long = "0.5*l1+0.25*charbonnier(eps=0.001)+0.1*perc(layer=relu2_2,norm=imagenet)+40*style@0.5"
    summary.loc[0, "config"] = long
    console = Console(width=60, record=True, color_system=None)
    console.print(rich_table(summary, ["psnr"], {}))
    lines = console.export_text().splitlines()
    first, last = 3, next(i for i, line in enumerate(lines) if line.startswith(" l2 "))
    assert "".join(re.split(r"\s{2,}", line.strip())[0] for line in lines[first:last]) == long


def test_the_title_spans_the_console_not_the_narrow_table() -> None:
    title = "20261203-144521-c29b — evaluation of 1 model against /data/eval/frames/gt, device cpu"
    console = Console(width=100, record=True, color_system=None)
    console.print(rich_table(two_seed_summary(), ["psnr"], {}, title=title))
    assert console.export_text().splitlines()[0].strip() == title  # one line; the table is 30 columns wide


def test_a_report_table_too_wide_for_the_terminal_becomes_one_paragraph_per_row_without_broken_words() -> None:
    from rich.console import Console

    from vfibench.results.report_tables import PlainTable, to_rich

    table = PlainTable("Paired comparisons", "A caption.", ("A (ahead on PSNR)", "B", "ΔPSNR", "LPIPS disagrees",
                                                              "discordant"),
                       (("charbonnier", "l1", "+0.00 dB (p = 1.00)", "50%", "yes: LPIPS (n.s.), DISTS (n.s.)"),
                        ("blend", "nearest", "+3.34 dB (p = 0.59)", "62%", "no")), (True, False))

    def shown(width: int) -> str:
        console = Console(width=width, record=True, color_system=None)
        console.print(to_rich(table))
        return console.export_text()

    wide, narrow = shown(160), shown(40)
    assert "A (ahead on PSNR)" in wide and "charbonnier" in wide and "─" in wide  # a grid
    assert "─" not in narrow and "disagre\n" not in narrow
    flat = " ".join(narrow.split())
    assert "charbonnier · l1: ΔPSNR +0.00 dB (p = 1.00); LPIPS disagrees 50%; discordant yes: LPIPS (n.s.), DISTS (n.s.)" in flat
    assert "blend · nearest: ΔPSNR +3.34 dB (p = 0.59); LPIPS disagrees 62%; discordant no" in flat


@pytest.mark.parametrize("width", range(40, 131, 3))
def test_a_report_table_loses_no_word_at_any_terminal_width(width: int) -> None:
    """The grid is chosen only where rich can lay it out within the width: a grid wider than the
    terminal is cropped at its edge, cutting the last column and the caption's lines."""
    from vfibench.results.report_tables import PlainTable, to_rich

    header = ("A (ahead on PSNR)", "B", "ΔPSNR", "ΔLPIPS", "LPIPS disagrees", "ΔDISTS", "DISTS disagrees",
              "discordant")
    rows = (("l1", "nearest", "+2.08 dB (p = 0.50)", "+0.0236 (p = 0.23)", "50%", "+0.0565 (p = 0.12)", "75%",
             "yes: LPIPS (n.s.), DISTS (n.s.)"),
            ("blend", "l1+perc", "+4.23 dB (p = 0.12)", "-0.0127 (p = 0.12)", "12%", "-0.0237 (p = 0.12)", "12%", "no"))
    caption = ("Each pair with A the configuration whose mean PSNR is better; p-values from two-sided Wilcoxon "
               "signed-rank tests, Holm-adjusted; a pair is discordant when a perceptual metric favours B.")
    console = Console(width=width, record=True, color_system=None)
    console.print(to_rich(PlainTable("Paired comparisons", caption, header, rows, (True, False))))
    text = console.export_text()
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    flat = " ".join(text.split())
    for part in (caption, *header, *(cell for row in rows for cell in row)):
        for word in part.split():
            assert word in flat, (word, text)  # a cropped line would have cut "perceptual", "discordant", …
    if "─" in text:  # a grid breaks a cell before its p-value, never inside it
        assert text.count("(p") == len(re.findall(r"\(p [=<] [0-9.]+\)", text)) == 6, text


def test_the_rankings_table_uses_the_terminal_width_and_breaks_between_entries() -> None:
    """Spare width goes to a column that cannot fit on one line: each ranking on at most two lines of
    a 100-column terminal, no entry ("2. l1 30.95") broken, not a narrow column of four-line entries."""
    from vfibench.analysis.gap import analyse
    from vfibench.results.report_tables import RANKING_SEPARATOR, ranking_table, to_rich

    configs = {"blend": "reference", "l1": "trained", "l2": "trained", "charbonnier": "trained",
               "l1+0.1*perc(layer=relu2_2)": "trained"}
    per_sample = pd.DataFrame([{"config": config, "kind": kind, "seed": 0, "sample": sample,
                                "psnr": 30 + index + sample / 10, "ssim": 0.9 - index / 100,
                                "lpips": 0.1 + index / 100 + sample / 1000}
                               for index, (config, kind) in enumerate(configs.items()) for sample in range(4)])
    table = ranking_table(analyse(per_sample, ["psnr", "ssim", "lpips"]))
    console = Console(width=100, record=True, color_system=None)
    console.print(to_rich(table))
    lines = console.export_text().splitlines()
    assert "─" in "".join(lines) and 90 <= max(len(line.rstrip()) for line in lines) <= 100
    for metric, ranking in table.rows:
        entries = ranking.split(RANKING_SEPARATOR)
        assert len(entries) == 5
        where = [next((i for i, line in enumerate(lines) if entry in line), None) for entry in entries]
        assert None not in where, (metric, entries, lines)  # every entry whole on one line
        assert max(where) - min(where) <= 1, (metric, lines)  # the ranking on at most two lines


def tie_summary(psnr_b: float) -> pd.DataFrame:
    """Two trained rows whose PSNR and LPIPS print alike (PSNR of b: ``psnr_b``), a worse one, and a
    reference that prints the same PSNR (references are not ranked for the mark)."""
    return pd.DataFrame({"config": ["a", "b", "c", "blend"], "kind": ["trained"] * 3 + ["reference"],
                         "status": ["complete"] * 4, "seeds": [2, 2, 2, 1], "samples": 8,
                         "psnr_mean": [30.4238, psnr_b, 29.9, 30.4201], "psnr_std": [0.02, 0.05, 0.01, 0.0],
                         "lpips_mean": [0.12341, 0.12338, 0.2, 0.01], "lpips_std": [0.001, 0.002, 0.001, 0.0]})


@pytest.mark.parametrize(("psnr_b", "b_best"), [(30.4177, True), (30.4149, False)])
def test_every_row_that_prints_the_best_value_is_marked(psnr_b: float, b_best: bool) -> None:
    """30.4238 and 30.4177 both print 30.42: both starred (bold); 30.4149 prints 30.41: a alone."""
    summary = tie_summary(psnr_b)
    console = Console(width=100, record=True, color_system=None)
    console.print(rich_table(summary, ["psnr", "lpips"], {}))
    rows = {line.split()[0]: line for line in console.export_text().splitlines() if line.split()}
    b_psnr = f"{psnr_b:.2f} ± 0.05"
    assert "30.42 ± 0.02★" in rows["a"] and (b_psnr + "★" in rows["b"]) is b_best and b_psnr in rows["b"]
    assert "0.1234 ± 0.0010★" in rows["a"] and "0.1234 ± 0.0020★" in rows["b"]  # LPIPS ↓ ties too
    assert "★" not in rows["c"] and "★" not in rows["blend"]
    markdown = markdown_table(summary, ["psnr", "lpips"], {})
    assert "| a | complete | **30.42 ± 0.02** | **0.1234 ± 0.0010** |" in markdown
    b_cell = f"**{b_psnr}**" if b_best else b_psnr
    assert f"| b | complete | {b_cell} | **0.1234 ± 0.0020** |" in markdown
    assert "| blend | reference | 30.42 | 0.0100 |" in markdown


def test_output_is_laid_out_wide_where_no_terminal_gives_a_width(monkeypatch) -> None:
    from vfibench import cli_support

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(cli_support, "_terminal_columns", lambda: None)  # a CI log, a pipe, a file
    assert cli_support.console.width == cli_support.UNBOUNDED_WIDTH  # the default metrics' summary whole, not split
    monkeypatch.setenv("COLUMNS", "80")
    assert cli_support.console.width == 80
    monkeypatch.delenv("COLUMNS")
    assert cli_support._OutputConsole(width=60).width == 60  # a width given by the caller stays
    monkeypatch.setattr(cli_support, "_terminal_columns", lambda: 100)  # a terminal: rich measures it
    monkeypatch.setattr(Console, "size", property(lambda self: ConsoleDimensions(100, 30)))
    assert cli_support.console.width == 100


def test_a_table_written_to_a_file_has_no_trailing_spaces_and_a_terminal_keeps_its_layout(tmp_path) -> None:
    from vfibench import cli_support

    table = rich_table(two_seed_summary(), list(metric_names()), {}, title="run")
    with open(tmp_path / "table.txt", "w", encoding="utf-8") as file:  # `vfibench report > table.txt`
        cli_support._OutputConsole(file=file, width=200, emoji=False).print(table)
    lines = (tmp_path / "table.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 8 and not [line for line in lines if line != line.rstrip()]
    assert [line for line in lines if line.startswith(" l1 ")]  # the cells' left padding stays
    terminal = cli_support._OutputConsole(width=200, force_terminal=True, color_system=None, record=True)
    terminal.print(table)
    assert [line for line in terminal.export_text().splitlines() if line.endswith(" ")]  # padded as rich lays out


def test_a_comparison_wider_than_the_console_is_written_whole_and_without_trailing_spaces(tmp_path, monkeypatch) -> None:
    from vfibench import cli_support

    with open(tmp_path / "wide.txt", "w", encoding="utf-8") as file:
        monkeypatch.setattr(cli_support, "console", cli_support._OutputConsole(file=file, width=40, emoji=False))
        cli_support.console_of_width(90).print("word " * 17)
    text = (tmp_path / "wide.txt").read_text(encoding="utf-8")
    assert text == ("word " * 17).rstrip() + "\n"  # one line of 84 columns, not folded at the console's 40


@pytest.mark.parametrize("rows", [["a", "blend"], ["mine"], ["a", "b", "blend"]])
def test_a_row_alone_in_the_race_is_not_marked_best(rows: list[str]) -> None:
    """One trained configuration beside the references, one beside a diverged one (no means), or one model
    scored alone, would be "best" in every column: nothing is marked, and no caption says a mark means
    anything."""
    from vfibench.results.latex import latex_table
    from vfibench.results.tables import table_notes

    summary = tie_summary(30.0)
    summary = summary[summary["config"].isin(rows)].reset_index(drop=True)
    if "b" in rows:  # diverged: its means are empty
        summary.loc[summary["config"] == "b", ["status", "psnr_mean", "lpips_mean"]] = ["diverged", None, None]
    if rows == ["mine"]:
        summary = tie_summary(30.0).iloc[:1].assign(config="mine", kind="evaluated")
    console = Console(width=100, record=True, color_system=None)
    console.print(rich_table(summary, ["psnr", "lpips"], {}))
    assert "★" not in console.export_text() and "**" not in markdown_table(summary, ["psnr", "lpips"], {})
    assert "Best value" not in " ".join(table_notes(summary, {}, ["psnr", "lpips"]))
    latex = latex_table(summary, ["psnr", "lpips"], {})
    assert r"\textbf" not in latex and "Bold" not in latex


def test_a_table_of_references_alone_says_its_rows_compete() -> None:
    from vfibench.results.tables import table_notes

    references = tie_summary(30.0).assign(kind="reference")
    assert "Best value per column marked." in " ".join(table_notes(references, {}, ["psnr"]))


def test_a_trained_row_over_fewer_seeds_than_the_table_says_so_in_the_note() -> None:
    """A configuration that diverged on one of two seeds keeps the other's values: under "Mean over … 2
    seeds" they read as a two-seed mean."""
    from vfibench.results.tables import table_notes

    summary = tie_summary(30.0)
    summary.loc[summary["config"] == "b", ["status", "seeds"]] = ["diverged", 1]
    note = table_notes(summary, {}, ["psnr", "lpips"])[0]
    assert "2 seeds (± std over seeds; 'b' over 1 seed)" in note, note
    assert "2 seeds (± std over seeds)" in table_notes(tie_summary(30.0), {}, ["psnr"])[0]  # blend: a reference
    from vfibench.results.latex import latex_table

    assert r"over seeds; \textit{b} over 1 seed)" in latex_table(summary, ["psnr", "lpips"], {})


def test_a_trained_row_over_fewer_seeds_competes_for_no_best_mark() -> None:
    """An interrupted run: 'b' over 1 seed has the best LPIPS, but its mean may rest on a seed the others lack,
    so the marks go to the rows over both seeds; with one such row left, no row is marked, and the notes
    say why."""
    from vfibench.results.latex import latex_table
    from vfibench.results.tables import best_rows, table_notes

    summary = tie_summary(30.0)
    summary.loc[summary["config"] == "b", ["status", "seeds", "lpips_mean"]] = ["partial", 1, 0.05]
    assert best_rows(summary, "lpips") == {0} and best_rows(summary, "psnr") == {0}
    note = table_notes(summary, {}, ["psnr", "lpips"])[0]
    assert ("Best value per column among the trained configurations over 2 seeds marked; references and "
            "configurations over fewer seeds are not ranked for it.") in note, note
    assert r"each column among the trained configurations over 2 seeds (those over fewer seeds are not ranked)" \
        in latex_table(summary, ["psnr", "lpips"], {})
    summary.loc[summary["config"] == "c", "seeds"] = 1
    assert best_rows(summary, "lpips") == set()
    assert ("No best value is marked: the trained configurations' means cover different numbers of seeds."
            in table_notes(summary, {}, ["psnr", "lpips"])[0])
    latex = latex_table(summary, ["psnr", "lpips"], {})
    assert r"\textbf" not in latex and "No value is bold" in latex


def test_every_table_states_a_model_variant_or_training_precision_other_than_the_default() -> None:
    """A bf16 or warp-blend run's tables looked exactly like an fp32 run of the default model."""
    from vfibench.results.tables import run_facts

    from vfibench.model.variants import MODEL_VARIANTS

    default = {"model": {"variant": "synthesis"}, "precision": {"training": "fp32", "note": "float32"}}
    assert run_facts(default) == [] and run_facts({"kind": "evaluation"}) == []
    other = {"model": {"variant": "warp-blend"},
             "precision": {"training": "bf16", "note": "forward pass under torch.autocast(bfloat16)"}}
    blend = f"Model: the warp-blend variant of the interpolator ({MODEL_VARIANTS['warp-blend'][1]})."
    assert run_facts(other) == [blend, "Trained in bf16: forward pass under torch.autocast(bfloat16)."]
    assert run_facts({"preset": {"steps": 6}}) == [blend]  # a run from before variants: the warp-blend model
    assert "))" not in blend  # tables and errors put a description in parentheses: "…first model))" was printed
    for variant, (_, description) in MODEL_VARIANTS.items():
        assert not description.endswith(")"), variant


@pytest.mark.parametrize("width", [120, 40])
def test_names_in_report_tables_are_printed_as_written_not_read_as_markup(width: int) -> None:
    """`eval --pred "rife[v4.6]=..."` showed 'rife' in the rankings and the pairs: rich took [v4.6] for markup."""
    from vfibench.results.report_tables import PlainTable, to_rich

    table = PlainTable("Rankings", "Ties share a rank [bold]x", ("metric", "best → worst"),
                       (("PSNR ↑", "1. rife[v4.6] 27.54  ›  2. [bold]film 27.07"),))
    console = Console(width=width, record=True, color_system=None)
    console.print(to_rich(table))
    text = " ".join(console.export_text().split())
    assert "rife[v4.6]" in text and "[bold]film" in text and "[bold]x" in text


def test_a_narrow_tables_caption_is_as_wide_as_the_terminal_not_folded_to_the_table() -> None:
    """Rank agreement's caption, under a table 47 columns wide, was printed in lines of 47 on a terminal of 120."""
    from vfibench.results.report_tables import PlainTable, to_rich

    caption = " ".join(["Kendall's tau-b between the PSNR ranking and each metric's ranking."] * 4)
    table = PlainTable("Rank agreement with PSNR", caption, ("metric", "Kendall tau", "p"),
                       (("SSIM ↑", "+0.67", "0.33"),), label_columns=1)
    console = Console(width=120, record=True, color_system=None)
    console.print(to_rich(table))
    lines = console.export_text().splitlines()
    rule = max(len(line.rstrip()) for line in lines[:lines.index(next(x for x in lines if "Kendall's" in x))])
    assert rule < 50 and max(len(line.rstrip()) for line in lines) > 100
    assert " ".join(" ".join(lines).split()).endswith(caption)


def test_report_tables_in_markdown_right_align_their_numbers_as_the_terminal_and_html_do() -> None:
    from vfibench.results.report_tables import PlainTable, to_markdown

    table = PlainTable("Rank agreement", "caption", ("metric", "Kendall tau", "p"), (("SSIM", "+0.80", "0.08"),),
                       label_columns=1)
    lines = to_markdown(table)
    assert lines[lines.index("| metric | Kendall tau | p |") + 1] == "|---|---:|---:|"


def test_notes_count_seeds_and_samples_of_the_fullest_row_and_list_only_rows_with_some_seeds() -> None:
    """A trained row that diverged on every seed has no means: it is not "over 0 seeds" in the seed note;
    a row over fewer samples does not set the table's sample count."""
    from vfibench.results.tables import table_notes

    summary = tie_summary(30.0)
    summary.loc[summary["config"] == "b", ["status", "seeds", "samples", "psnr_mean", "lpips_mean"]] = [
        "diverged", 0, 0, None, None]
    summary.loc[summary["config"] == "c", "samples"] = 5
    note = table_notes(summary, {}, ["psnr", "lpips"])[0]
    assert note.startswith("Mean over 8 test samples and 2 seeds (± std over seeds)"), note
    assert "among the trained configurations marked; references are not ranked for it." in note


def test_a_one_seed_table_says_nothing_of_seeds() -> None:
    from vfibench.results.tables import table_notes

    summary = tie_summary(30.0).assign(seeds=1, psnr_std=float("nan"), lpips_std=float("nan"))
    note = table_notes(summary, {}, ["psnr"])[0]
    assert note.startswith("Mean over 8 test samples; 95% bootstrap intervals"), note
    assert "seed" not in note


def test_an_unavailable_target_metric_gets_only_its_unavailable_note() -> None:
    from vfibench.results.tables import table_notes

    notes = table_notes(tie_summary(30.0), {"sharpness": "no frames"}, ["psnr", "sharpness"])
    assert [n for n in notes if n.startswith("Sharpness")] == ["Sharpness unavailable: no frames"]


def test_a_reference_without_results_shows_its_status_and_numbers_are_right_aligned() -> None:
    summary = tie_summary(30.0)
    summary.loc[summary["config"] == "blend", ["status", "psnr_mean", "lpips_mean"]] = ["missing", None, None]
    markdown = markdown_table(summary, ["psnr", "lpips"], {})
    assert "| blend | missing | — | — |" in markdown
    assert markdown.splitlines()[1] == "|---|---|---:|---:|"


@pytest.mark.parametrize(("std", "expected"), [(0.006, "± 0.01"), (0.0049, "± 0.005")])
def test_a_std_that_rounds_to_a_unit_of_the_last_place_keeps_the_mean_s_decimals(std: float, expected: str) -> None:
    assert format_std(std, "psnr", 30.0) == expected


def test_a_column_without_a_record_prints_two_decimals_from_ten_up() -> None:
    from vfibench.results.numbers import format_number

    assert format_number(10.0, "motion_px") == "10.00" and format_number(-10.0, "motion_px") == "-10.00"
    assert format_number(9.99, "motion_px") == "9.9900"


def test_report_tables_mark_a_flagged_row_in_bold_in_markdown_and_yellow_on_a_terminal() -> None:
    """A flagged row is a pair whose disagreement is significant: the one a reader must not miss."""
    from vfibench.results.report_tables import PlainTable, to_markdown, to_rich

    table = PlainTable("Paired comparisons", "A caption.", ("A (ahead on PSNR)", "B", "discordant"),
                       (("l1", "nearest", "yes: LPIPS"), ("blend", "l1", "no")), (True, False))
    lines = to_markdown(table)
    assert "| **l1** | **nearest** | **yes: LPIPS** |" in lines and "| blend | l1 | no |" in lines
    for width in (160, 20):  # a grid, and one paragraph per row
        console = Console(width=width, force_terminal=True, color_system="standard")
        with console.capture() as captured:
            console.print(to_rich(table))
        shown = captured.get()
        assert re.search(r"\x1b\[(1;)?33m[^\x1b]*nearest", shown), (width, shown)  # the pair's names in yellow
        assert not re.search(r"\x1b\[(1;)?33m[^\x1b]*blend", shown), (width, shown)


def test_a_cell_exactly_as_wide_as_its_column_stays_on_one_line() -> None:
    from vfibench.results.report_tables import _wrap

    cell = "+2.97 dB (p = 0.0469)"
    assert _wrap(cell, len(cell)) == cell
    assert _wrap(cell, len(cell) - 1) == "+2.97 dB\n(p = 0.0469)"
