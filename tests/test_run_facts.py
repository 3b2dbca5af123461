"""What a sweep's numbers depend on beyond the table (a shared warm start) is stated by every table the
run writes or prints: summary.md as the sweep writes it and as report rewrites it, the terminal and
Markdown notes, and the LaTeX caption."""

from __future__ import annotations

import warnings
from pathlib import Path

from vfibench import api
from vfibench.results.report import build_report
from vfibench.results.store import RunStore
from vfibench.results.view import load_run_view

SENTENCE = "Warm start: the first 2 steps of every configuration trained with plain l1, shared across configurations."


def sweep(out: Path, warm_start: int) -> RunStore:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the one-log-row note of so short a training
        run = api.run_sweep("l2", preset="smoke", steps=4, warm_start=warm_start, metrics=["psnr"], out=out,
                            device="cpu")
    return RunStore(run.path)


def test_every_table_states_the_warm_start(tmp_path: Path) -> None:
    store = sweep(tmp_path, warm_start=2)
    assert SENTENCE in store.path("summary.md").read_text()  # as the sweep wrote it
    view = load_run_view(store)
    assert SENTENCE in view.notes() and SENTENCE in view.latex().split(r"\caption{", 1)[1].split("}\n", 1)[0]
    heading = store.path("summary.md").read_text().splitlines()[0]
    assert heading == f"# vfibench results: {store.name} — preset smoke (4 steps), device cpu"
    report = build_report(store, grid_samples=0)
    assert SENTENCE in store.path("summary.md").read_text()  # as report rewrote it, under the same heading
    assert store.path("summary.md").read_text().splitlines()[0] == heading
    assert SENTENCE in report.latex.read_text() and SENTENCE in report.markdown.read_text()


def test_shared_content_is_stated_by_the_summary_the_sweep_writes(tmp_path: Path) -> None:
    """Training and test data that share frames: the sweep's own summary.md says so, as report's does."""
    import numpy as np
    from PIL import Image

    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(7):
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(
            clip / f"{i:03d}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run = api.run_sweep("l1", preset="smoke", steps=2, metrics=["psnr"], out=tmp_path / "out", device="cpu",
                            train_data=f"frames:{clip}", test_data=f"frames:{clip}")
    written = RunStore(run.path).path("summary.md").read_text()
    facts = load_run_view(RunStore(run.path)).facts()
    assert facts and all(fact in written for fact in facts) and "share" in " ".join(facts)


def test_a_run_without_a_warm_start_says_nothing_of_one(tmp_path: Path) -> None:
    store = sweep(tmp_path, warm_start=0)
    view = load_run_view(store)
    assert not any("Warm start" in text for text in (store.path("summary.md").read_text(), view.latex(),
                                                     *view.notes()))
