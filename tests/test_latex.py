"""The summary as a LaTeX table: what a paper's table needs, escaped so that any run typesets."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from vfibench.results.latex import escape, latex_table

METRICS = ["psnr", "lpips", "sharpness", "dists"]


def summary(seeds: int = 2) -> pd.DataFrame:
    rows = [
        ("l1", "trained", "complete", 27.051, 0.12, 0.0713, 0.002, 0.870, 0.01),
        ("l1+0.1*perc(layer=relu2_2)", "trained", "complete", 25.532, 0.08, 0.0641, 0.001, 0.945, 0.02),
        ("l1+adv", "trained", "diverged", float("nan"), float("nan"), float("nan"), float("nan"), float("nan"),
         float("nan")),
        ("blend", "reference", "complete", 26.120, 0.0, 0.0900, 0.0, 0.700, 0.0),
        ("nearest", "reference", "complete", 23.740, 0.0, 0.0500, 0.0, 1.000, 0.0),
    ]
    spread = 1.0 if seeds > 1 else float("nan")  # one seed has no standard deviation
    records = [{"config": c, "kind": k, "status": s, "seeds": seeds, "samples": 128,
                "psnr_mean": p, "psnr_std": ps * spread, "lpips_mean": lp, "lpips_std": lps * spread,
                "sharpness_mean": sh, "sharpness_std": shs * spread, "dists_mean": float("nan"),
                "dists_std": float("nan")} for c, k, s, p, ps, lp, lps, sh, shs in rows]
    return pd.DataFrame(records)


def body_rows(table: str) -> list[str]:
    lines = table.splitlines()
    start = lines.index(r"\toprule") + 3  # the header row and its rule
    return [line for line in lines[start:lines.index(r"\bottomrule")] if line != r"\midrule"]


def test_special_characters_are_escaped_and_symbols_set_in_math() -> None:
    assert escape("a_b&c%d$e#f{g}h~i^j\\k") == (r"a\_b\&c\%d\$e\#f\{g\}h\textasciitilde{}i\textasciicircum{}j"
                                                r"\textbackslash{}k")
    assert escape("Sharpness →1") == r"Sharpness $\rightarrow$1"
    assert escape("0.5 ± 0.1") == r"0.5 $\pm$ 0.1"
    # set as typed, not as a dash, curly quotes or an optional argument
    assert escape("a--b---c") == "a-{}-b-{}-{}-c"
    assert escape("a–-b") == "a--{}-b" and escape("a-—b") == "a-{}---b"  # a typed dash beside a hyphen
    assert escape("[it's `q\"]") == r"{[}it\textquotesingle{}s \textasciigrave{}q{\ttfamily\char34}{]}"


BLEND_ROW = (r"\textit{blend} & 26.12\phantom{\,{\scriptsize$\pm$\,0.12}} & 0.0900\phantom{\,{\scriptsize$\pm$\,0.0020}} & "
             r"0.7000\phantom{\,{\scriptsize$\pm$\,0.0100}} \\")


def test_a_table_has_the_best_trained_values_in_bold_and_the_references_below_a_rule() -> None:
    table = latex_table(summary(), METRICS, {"dists": "no VGG16 weights"}, run="20261205-101500-ab12")
    assert r"\begin{tabular}{lrrr}" in table  # dists is left out, and says why
    assert "% DISTS unavailable, left out: no VGG16 weights" in table
    assert r"\label{tab:vfibench-20261205-101500-ab12}" in table
    assert r"Configuration & PSNR (dB) $\uparrow$ & LPIPS $\downarrow$ & Sharpness $\rightarrow$1 \\" in table
    rows = body_rows(table)
    assert rows == [
        r"l1 & \textbf{27.05}\,{\scriptsize$\pm$\,0.12} & 0.0713\,{\scriptsize$\pm$\,0.0020} & "
        r"0.8700\,{\scriptsize$\pm$\,0.0100} \\",
        r"l1+0.1*perc(layer=relu2\_2) & 25.53\,{\scriptsize$\pm$\,0.08} & "
        r"\textbf{0.0641}\,{\scriptsize$\pm$\,0.0010} & \textbf{0.9450}\,{\scriptsize$\pm$\,0.0200} \\",
        r"l1+adv (diverged) & -- & -- & -- \\",
        # a better PSNR than every trained row, not bold; padded by the column's widest spread, so the
        # numbers line up in the right-aligned column
        BLEND_ROW,
        r"\textit{nearest} & 23.74\phantom{\,{\scriptsize$\pm$\,0.12}} & 0.0500\phantom{\,{\scriptsize$\pm$\,0.0020}} & "
        r"1.0000\phantom{\,{\scriptsize$\pm$\,0.0100}} \\",
    ]
    lines = table.splitlines()
    assert lines.index(BLEND_ROW) - 1 == max(i for i, line in enumerate(lines) if line == r"\midrule")
    assert (r"References: \textit{blend}, the average of the two inputs, weighted by time; \textit{nearest}, the "
            r"input closer in time (the first at the midpoint), repeated.") in table
    assert "among the trained configurations; the reference rows, below the rule, are not ranked" in table
    assert "Sharpness is best at 1." in table and "2 seeds" in table


def test_one_seed_shows_no_spread_and_an_evaluation_ranks_models() -> None:
    frame = summary(seeds=1).drop(index=[2, 3, 4]).assign(kind="evaluated")
    table = latex_table(frame, ["psnr", "lpips"], {})
    assert r"$\pm$" not in table and "seeds" not in table
    assert table.count(r"\textbf{") == 2 and "among the models." in table
    assert r"Model & PSNR (dB)" in table and r"\label" not in table


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (Debian: texlive-latex-"
                    "recommended); the table's structure is checked by the other tests")
def test_the_table_typesets(tmp_path) -> None:
    names = summary()
    # evaluated models are named freely: a bracket or a star after a row's \\ must not be read as its argument
    names.loc[1, "config"], names.loc[2, "config"] = "[ours] it's a--b", "*star"
    names.loc[0, "lpips_mean"] = -0.01  # a negative mean is set with a minus sign
    table = latex_table(names, METRICS, {"dists": "no weights; 100% missing & more_"}, run="a_run")
    assert r"$-$0.0100" in table
    document = ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
                f"\\begin{{document}}\n{table}\\end{{document}}\n")
    (tmp_path / "table.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "table.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    warnings = [line for line in result.stdout.splitlines() if "Warning" in line and "Rerun" not in line]
    assert not warnings, result.stdout[-3000:]  # a first pass asks for a rerun to resolve the label
    if shutil.which("pdftotext"):  # what a reader sees: every name as typed
        text = subprocess.run(["pdftotext", "table.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
        assert "[ours] it's a--b" in text and "*star" in text


def test_references_come_after_the_rule_whatever_their_place_in_the_summary() -> None:
    frame = summary()
    frame = pd.concat([frame.iloc[[3]], frame.drop(index=3)], ignore_index=True)  # blend first
    rows = body_rows(latex_table(frame, METRICS, {"dists": "no VGG16 weights"}))
    assert [row.split(" & ")[0] for row in rows] == ["l1", r"l1+0.1*perc(layer=relu2\_2)", "l1+adv (diverged)",
                                                     r"\textit{blend}", r"\textit{nearest}"]


def test_a_partial_row_says_so_and_a_reference_is_padded_by_the_widest_spread() -> None:
    frame = summary()
    frame.loc[1, "status"] = "partial"
    frame.loc[1, "psnr_std"] = 0.004  # prints "± 0.004", wider than l1's "± 0.12"
    rows = body_rows(latex_table(frame, ["psnr"], {}))
    assert rows[1].startswith(r"l1+0.1*perc(layer=relu2\_2) (partial) & 25.53\,{\scriptsize$\pm$\,0.004}")
    assert rows[3] == r"\textit{blend} & 26.12\phantom{\,{\scriptsize$\pm$\,0.004}} \\"


def test_the_label_keeps_letters_digits_and_dashes_of_the_run_name_and_replaces_the_rest() -> None:
    """A run folder may be named freely; \\ref needs a key without spaces, braces or LaTeX specials."""
    table = latex_table(summary(), METRICS, {}, run="my run #2_{ü}")
    assert r"\label{tab:vfibench-my-run--2----}" in table
    assert table.count(r"\label{") == 1 and "% vfibench results: my run #2_{ü}" in table


def test_a_table_of_references_alone_has_one_rule_under_its_header() -> None:
    """With no ranked row there is nothing to set the references apart from: no second, empty rule."""
    table = latex_table(summary().iloc[[3, 4]], ["psnr"], {})
    assert table.count(r"\midrule") == 1
    assert [row.split(" & ")[0] for row in body_rows(table)] == [r"\textit{blend}", r"\textit{nearest}"]
    assert "Bold: the best value of each column." in table


def test_a_reason_or_title_of_several_lines_stays_inside_its_comment() -> None:
    """A LaTeX comment ends with its line: a second line of a reason would be typeset as text of the paper."""
    table = latex_table(summary(), METRICS, {"dists": "no VGG16 weights:\n  run `vfibench weights fetch`"},
                        title="run\nof two lines")
    assert "% DISTS unavailable, left out: no VGG16 weights: run `vfibench weights fetch`" in table
    assert "% vfibench results: run of two lines" in table
    assert all(line.startswith(("%", "\\")) or " & " in line for line in table.splitlines()), table
