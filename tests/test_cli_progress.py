"""Sweep progress: on stderr, an overall bar above the unit bars on a terminal, plain lines in logs."""

from __future__ import annotations

import io
import re

from rich.console import Console
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.cli_progress import PlainSweepListener, RichSweepListener, counting_bar, working


def test_plain_progress_is_one_line_per_finished_unit_on_stderr(tmp_path):
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1,l2", "--steps", "4", "--log-every", "10",
                                      "--metrics", "psnr", "--val-samples", "0", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "--log-every 10: the 4 training steps log one row, at the last step. A smaller" in result.stderr
    lines = result.stderr.splitlines()
    units = [line for line in lines if re.match(r"\[\d/2\] ", line)]
    assert [u.split(":")[0] for u in units] == ["[1/2] l1 (seed 0)", "[2/2] l2 (seed 0)"]
    assert all(re.search(r"PSNR \d+\.\d\d dB; trained \d+s, scored \d+s \(\d+s in all", u) for u in units)
    assert "ETA" in units[0] and "sweep 50%" in units[0]
    assert any(line.startswith("Loading the training data") for line in lines)
    assert any(line.startswith("Evaluating the references blend, nearest (seed 0)") for line in lines)
    assert len(lines) == len(set(lines)) and "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "l1 (seed 0)" not in result.stdout  # the table and the results path only
    assert "vfibench run: 2 configurations × 1 seed," in result.stderr and "vfibench run:" not in result.stdout
    assert "vfibench report" in result.stderr and "vfibench report" not in result.stdout


def test_terminal_progress_has_an_overall_bar_above_the_unit_bars():
    listener = RichSweepListener(Console(file=io.StringIO(), force_terminal=True, width=100))
    with listener:
        listener.phase("Loading the data", total=2)
        listener.advance(), listener.advance()
        listener.sweep_started(2, 8)
        for label in ("l1 (seed 0)", "l2 (seed 0)"):
            listener.unit_started(label, 4)
            for step in range(1, 5):
                listener.step(step, 0.1)
            listener.unit_finished(label, "PSNR 30.00 dB")
            if label == "l1 (seed 0)":
                running = [t for t in listener.progress.tasks if "seed" in t.description]
        tasks = listener.progress.tasks
    sweep = next(t for t in tasks if t.description == "sweep")
    assert sweep.completed == 8 and sweep.fields["detail"] == "units 2/2"
    assert not running and not [t for t in tasks if "seed" in t.description]  # a finished unit's bar goes...
    printed = listener.console.file.getvalue()
    assert printed.count("[1/2] l1 (seed 0): PSNR 30.00 dB") == 1  # ...and its whole line stays above the bars
    assert printed.count("[2/2] l2 (seed 0): PSNR 30.00 dB") == 1
    assert next(t for t in tasks if t.description == "Loading the data").finished


def test_references_scored_beside_training_units_keep_their_own_bar_until_done():
    listener = RichSweepListener(Console(file=io.StringIO(), force_terminal=True, width=100))
    with listener:
        listener.sweep_started(1, 4)
        listener.phase("Evaluating the references blend, nearest (seed 0)", total=2)
        listener.advance()
        listener.unit_started("l1 (seed 0)", 4)  # a worker starts training while the other still scores
        references = next(t for t in listener.progress.tasks if t.description.startswith("Evaluating"))
        assert references.completed == 1 and not references.finished
        listener.advance()
        assert references.finished


def test_interrupted_terminal_progress_prints_each_finished_unit_once():
    stream = io.StringIO()
    listener = RichSweepListener(Console(file=stream, force_terminal=True, width=100))
    try:
        with listener:
            listener.sweep_started(2, 8)
            listener.unit_started("l1 (seed 0)", 4)
            listener.step(1, 0.1)
            listener.unit_finished("l1 (seed 0)", "PSNR 30.00 dB")
            listener.unit_started("l2 (seed 0)", 4)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert listener.progress.live.transient  # the live area is erased, not left behind
    assert stream.getvalue().count("l1 (seed 0): PSNR 30.00 dB") == 1  # printed when it finished, once


def test_plain_listener_reports_progress_and_eta():
    stream = io.StringIO()
    listener = PlainSweepListener(stream)
    listener.sweep_started(2, 8)
    listener.unit_started("warm start (l1, 4 steps), seed 0", 4)
    for step in range(1, 5):
        listener.step(step, 0.1)
    listener.unit_finished("warm start (l1, 4 steps), seed 0", "1s")
    listener.unit_started("l1 (seed 0)", 4)
    for step in range(5, 9):
        listener.step(step, 0.1)
    listener.unit_finished("l1 (seed 0)", "PSNR 30.00 dB")
    lines = stream.getvalue().splitlines()
    assert lines[1].startswith("warm start (l1, 4 steps), seed 0: 1s") and "sweep 50%" in lines[1]
    assert lines[2].startswith("[1/2] l1 (seed 0): PSNR 30.00 dB") and "ETA" not in lines[2]


def test_units_that_run_elsewhere_overlap_and_advance_the_sweep_when_they_finish():
    listener = RichSweepListener(Console(file=io.StringIO(), force_terminal=True, width=100))
    with listener:
        listener.sweep_started(3, 12)
        listener.unit_started("warm start (l1, 4 steps), seed 0", 4)
        listener.unit_finished("warm start (l1, 4 steps), seed 0", "1s")
        listener.unit_started("l1 (seed 0)", 4)
        listener.unit_started("l2 (seed 0)", 4)  # two units in progress at once, no steps reported
        listener.unit_finished("l2 (seed 0)", "PSNR 30.00 dB")
        listener.unit_finished("l1 (seed 0)", "PSNR 29.00 dB")
        tasks = {t.description.split(":")[0]: t for t in listener.progress.tasks}
    assert tasks["sweep"].completed == 12 and tasks["sweep"].fields["detail"] == "units 2/3"
    printed = listener.console.file.getvalue()
    assert printed.index("[1/3] l2 (seed 0): PSNR 30.00 dB") < printed.index("[2/3] l1 (seed 0): PSNR 29.00 dB")
    stream = io.StringIO()
    plain = PlainSweepListener(stream)
    plain.sweep_started(2, 8)
    plain.unit_started("l1 (seed 0)", 4)
    plain.unit_started("l2 (seed 0)", 4)
    plain.unit_finished("l2 (seed 0)", "PSNR 30.00 dB")
    plain.unit_finished("l1 (seed 0)", "PSNR 29.00 dB")
    lines = stream.getvalue().splitlines()
    assert lines[1].startswith("[1/2] l2 (seed 0): PSNR 30.00 dB") and "sweep 50%" in lines[1]
    assert lines[2].startswith("[2/2] l1 (seed 0): PSNR 29.00 dB")


def test_an_80_column_terminal_keeps_the_bar_the_counts_and_the_eta():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=80, color_system=None)
    listener = RichSweepListener(console)
    with listener:
        listener.phase("Loading the training data (synthetic) and test data (synthetic)", total=2)
        listener.advance(), listener.advance()
        listener.sweep_started(1, 600)
        listener.unit_started("204*l1+112.2*warp+0.005*perc(norm=superslomo)+smooth (seed 0)", 600)
        listener.step(1, 0.5)
        listener.progress.refresh()
    final = stream.getvalue().rsplit("\x1b[2K", 1)[-1].replace("\x1b[?25h", "")  # the last frame drawn
    lines = [line for line in final.splitlines() if line.strip()]
    assert lines and all(len(line) <= 80 for line in lines)
    unit = next(line for line in lines if line.startswith("204*l1"))
    assert "…" in unit and "1/600" in unit and "loss 0.5" in unit and "ETA" in unit
    assert "━" in next(line for line in lines if line.startswith("Loading"))


def test_a_finished_unit_is_reported_with_the_tables_numbers() -> None:
    import pandas as pd

    from vfibench.sweep import headline

    scores = pd.DataFrame({"psnr": [30.431, 30.441], "lpips": [0.04301, 0.04299], "dists": [float("nan")] * 2})
    assert headline(scores, 12.4, 0.6) == "PSNR 30.44 dB, LPIPS 0.0430; trained 12s, scored 1s"


def test_counting_bar_draws_a_bar_of_the_items_on_a_terminal_and_nothing_elsewhere():
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    with counting_bar(terminal, "scoring frames", 3) as count:
        for _ in range(3):
            count()
        terminal.file.flush()
    drawn = terminal.file.getvalue()
    assert "scoring frames" in drawn and "3/3" in drawn
    plain = Console(file=io.StringIO(), force_terminal=False)
    with counting_bar(plain, "scoring frames", 3) as count, working(plain, "Writing the report"):
        count()
    assert plain.file.getvalue() == ""  # a CI log or a file gets no bar frames


def test_a_log_of_one_row_is_noted_counting_the_warm_start():
    from vfibench.sweep.coordinator import single_log_row_note

    assert single_log_row_note(4, 12, 0, 8) == ""
    assert single_log_row_note(4, 12, 6, 8) == ""  # rows at 8 and 12
    assert single_log_row_note(4, 12, 8, 8).startswith("--log-every 4: the 4 steps after the 8-step warm start log one")
    assert "held-out" not in single_log_row_note(100, 12, 0, 0)


def test_bars_stay_few_and_names_are_never_markup_on_a_terminal():
    """Finished units' bars had stayed, so a sweep of many units pushed the running bar off a short screen;
    a configuration named like rich markup was drawn as markup."""
    stream = io.StringIO()
    listener = RichSweepListener(Console(file=stream, force_terminal=True, width=100))
    with listener:
        listener.sweep_started(12, 48)
        for seed in range(12):
            listener.unit_started(f"l1[x] (seed {seed})", 4)
            listener.unit_finished(f"l1[x] (seed {seed})", "PSNR 30.00 dB")
        listener.unit_started("[bold]l2 (seed 0)", 4)
        assert [t.description for t in listener.progress.tasks] == ["sweep", "\\[bold]l2 (seed 0)"]
    assert "[12/12] l1[x] (seed 11): PSNR 30.00 dB" in stream.getvalue()


def test_a_log_gets_a_line_while_a_unit_trains_and_a_dumb_terminal_is_a_log(monkeypatch):
    from vfibench import cli_progress

    stream = io.StringIO()
    listener = PlainSweepListener(stream)
    listener.sweep_started(1, 10)
    listener.unit_started("l1 (seed 0)", 10)
    listener.step(1, 0.5)
    assert "l1 (seed 0): step" not in stream.getvalue()  # not before PLAIN_EVERY seconds
    monkeypatch.setattr(cli_progress, "PLAIN_EVERY", 0.0)
    listener.step(2, 0.25)
    assert stream.getvalue().splitlines()[-1].startswith("  l1 (seed 0): step 2/10, loss 0.25; sweep 20%, ETA")
    dumb = Console(file=io.StringIO(), force_terminal=True, width=80)
    monkeypatch.setattr(Console, "is_dumb_terminal", property(lambda self: True))
    assert not cli_progress.draws_live(dumb)
    counted_lines = io.StringIO()
    with counting_bar(Console(file=counted_lines, width=80), "scoring frames", 3) as count:
        count(), count(), count()
    assert counted_lines.getvalue().splitlines() == ["scoring frames: 1/3", "scoring frames: 2/3"]


def test_durations_read_as_seconds_minutes_or_hours() -> None:
    from vfibench.cli_progress import _duration

    assert [_duration(s) for s in (0, 42, 59.4, 59.6, 60, 185, 3599, 3600, 3725, 90061)] == [
        "0s", "42s", "59s", "1m00s", "1m00s", "3m05s", "59m59s", "1h00m", "1h02m", "25h01m"]


def test_a_plain_log_counts_a_resumed_unit_s_steps_from_where_it_starts():
    """A unit that continues a warm start reports steps from past the warm start: only those it trains count."""
    stream = io.StringIO()
    listener = PlainSweepListener(stream)
    listener.sweep_started(1, 8)
    listener.unit_started("l1 (seed 0)", 4)
    for step in range(5, 7):  # steps 5 and 6 of 8, after a 4-step warm start
        listener.step(step, 0.1)
    assert listener.done_steps == 2 and listener._sweep_eta().startswith("; sweep 25%, ETA")


def test_a_phase_bar_is_full_when_the_next_phase_starts():
    listener = RichSweepListener(Console(file=io.StringIO(), force_terminal=True, width=100))
    with listener:
        listener.phase("Loading the data", total=3)
        listener.advance()
        listener.phase("Evaluating the references blend, nearest (seed 0)", total=2)
        loading = next(t for t in listener.progress.tasks if t.description == "Loading the data")
        assert loading.finished
