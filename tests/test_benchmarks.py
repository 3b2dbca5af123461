"""The benchmark scripts: they still import and answer ``--help``, and their timing helper times what it says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(path for path in BENCHMARKS.glob("*.py") if not path.name.startswith("_"))


def load(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``path`` imported as its own module, with the benchmarks folder on the path, as when it is run."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # a dataclass looks its module up while it is made
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_is_found() -> None:
    assert {"bench_eval", "bench_model", "bench_sweep_eval", "research_loop"} <= {path.stem for path in SCRIPTS}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.stem)
def test_benchmark_answers_help(path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A renamed library function or a moved module breaks a script only when someone runs it; this
    imports each one and asks for its help, which needs no optional package, clip or GPU."""
    module = load(path, monkeypatch)
    monkeypatch.setattr(sys, "argv", [path.name, "--help"])
    with pytest.raises(SystemExit) as stopped:
        module.main()
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")


#: A run of each benchmark that needs no clip, optional package or GPU, small enough for the suite
#: (seconds), and a line its table prints once the run got through.
SMALL_RUNS = {
    "bench_losses": (["--batch", "1", "--size", "32", "--repeats", "1", "--threads", "1"], "model (width"),
    "bench_metrics": (["--sizes", "32", "--batch", "1", "--repeats", "1", "--threads", "1", "--devices", "cpu",
                       "--metrics", "psnr", "ssim"], "ssim       cpu"),
    "bench_model": (["--widths", "8", "--sizes", "32", "--batch", "1", "--steps", "1", "--threads", "1", "--cpu"],
                    "synthesis"),
    "bench_report": (["--samples", "200", "--seeds", "1", "--repeats", "1"], "hodges_lehmann"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL_RUNS))
def test_benchmark_runs_end_to_end(name: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Answering ``--help`` says nothing of the library calls a benchmark makes (a fake prediction
    missing a field the model gained, say): these run through."""
    arguments, last_row = SMALL_RUNS[name]
    module = load(BENCHMARKS / f"{name}.py", monkeypatch)
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *arguments])
    module.main()
    assert last_row in capsys.readouterr().out


def test_median_seconds_times_each_call_after_the_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    timing = load(BENCHMARKS / "_timing.py", monkeypatch)
    calls: list[int] = []
    ticks = iter([0.0, 1.0, 10.0, 13.0, 20.0, 22.0])  # three timed calls: 1, 3 and 2 s
    median = timing.median_seconds(lambda: calls.append(1), repeats=3, clock=lambda: next(ticks), warmup=2)
    assert median == 2.0
    assert len(calls) == 5  # two warm-up calls, untimed, then three timed ones
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        timing.median_seconds(lambda: None, repeats=0)
