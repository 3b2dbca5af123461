"""The Python API: run a sweep, load a run as pandas DataFrames, score frames, read a loss spec.

For notebooks and scripts; each function is a thin layer over the modules the command line uses,
so a run made here is the same as one made by ``vfibench run``. Torch is imported only by the
functions that compute.

    >>> from vfibench import api
    >>> api.parse_spec("L1 + 0.10*perc").canonical
    'l1+0.1*perc'
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vfibench.presets import DEFAULT_PRECISION, DEFAULT_PRESET

if TYPE_CHECKING:
    from torch import Tensor

    from vfibench.losses.spec import LossConfig


@dataclass(frozen=True)
class Run:
    """A finished run, as data.

    Attributes:
        path: the run directory.
        manifest: its manifest (settings, versions, device, data, metrics, timings).
        summary: one row per configuration (or evaluated model): ``config``, ``kind``
            (trained/reference/evaluated), ``status``, ``seeds``, ``samples`` and per metric
            ``<metric>_mean``, ``_std`` and bootstrap bounds (:mod:`vfibench.results.schema`).
        per_sample: one row per (configuration, seed, test sample) with every metric.
        train_log: the loss curves: one row per logged step of every trained unit (empty for an
            evaluation run).
    """

    path: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    per_sample: pd.DataFrame
    train_log: pd.DataFrame
    #: An evaluation's PSNR and SSIM per frame under each community protocol it was asked for
    #: (``protocols.csv``: config, sample, file, protocol, psnr, ssim); empty otherwise.
    protocols: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def metrics(self) -> list[str]:
        """The metrics the run computed, in table order. A metric it could not compute (its backbone
        missing, ``--skip-unavailable``) is not among them: it is a column of NaN in :attr:`per_sample`,
        and ``manifest["unavailable_metrics"]`` says why."""
        return [m["name"] for m in self.manifest.get("metrics", [])]

    def latex(self) -> str:
        """:attr:`summary` as a LaTeX table for a paper (``booktabs``), as ``vfibench report --format
        latex`` prints it (:mod:`vfibench.results.latex`)."""
        from vfibench.results.store import RunStore
        from vfibench.results.view import RunView

        return RunView(RunStore(self.path), self.manifest, self.summary).latex()


def load_run(run: str | Path = "results", name: str | None = None) -> Run:
    """Read a run: a run directory, or the folder of runs (``results``) and a run ``name`` in it.

    With only the folder of runs, the latest complete run is read. Damaged or foreign files raise
    :class:`~vfibench.errors.ResultsError` naming the file.
    """
    from vfibench.results.schema import CONFIG, PROTOCOLS_FILE, read_protocols
    from vfibench.errors import ResultsError
    from vfibench.results.store import MANIFEST, RunStore, check_latest
    from vfibench.results.view import load_run_view

    _check_arguments("load_run", run=(run, _PATH, "a folder (str or Path)"),
                     name=(name, (str, type(None)), "a run name (str) or None"))
    path = Path(run)
    if path.is_file():
        raise ResultsError(f"'{path}' is a file; load_run reads a run directory (the folder that holds "
                           f"{path.name if path.name == MANIFEST or path.suffix == '.csv' else 'its tables'}) "
                           f"or the folder of runs: pass '{path.parent}'.")
    check_latest(path)
    store = RunStore(path) if name is None and (path / MANIFEST).is_file() else RunStore.open(path, name)
    view = load_run_view(store)
    per_sample = view.per_sample()
    train_log = view.train_log(per_sample)
    protocols_path = store.path(PROTOCOLS_FILE)
    protocols = read_protocols(protocols_path, view.summary[CONFIG].astype(str).tolist()) \
        if protocols_path.is_file() else pd.DataFrame()
    return Run(store.root, view.manifest, view.summary, per_sample,
               pd.DataFrame() if train_log is None else train_log, protocols)


def run_sweep(losses: str, *, preset: str = DEFAULT_PRESET, seeds: Sequence[int] = (0,), out: str | Path = "results",
              device: str = "auto", metrics: str | Sequence[str] | None = None, steps: int | None = None,
              warm_start: int | None = None, skip_unavailable: bool = False, train_data: str = "synthetic",
              test_data: str = "synthetic", jobs: int | None = None, threads: int | None = None,
              model: str | None = None, ambiguity: float | None = None, log_every: int | None = None,
              val_samples: int | None = None, precision: str = DEFAULT_PRECISION, tensorboard: str | Path | None = None,
              progress: bool = False) -> Run:
    """Train and evaluate every configuration of ``losses`` (as ``vfibench run --losses``); return the run.

    The arguments mean what the options of ``vfibench run`` mean (``model="warp-blend"`` is
    ``--model warp-blend``, ``ambiguity=0`` is ``--ambiguity 0``; None keeps the preset's value);
    ``metrics`` (a list or one comma-separated string) defaults to all;
    ``jobs`` and ``threads`` are ``--jobs`` and ``--threads`` (the threads are part of a CPU run's
    numbers: ``threads=1`` reproduces a ``--jobs 2`` table on two cores). The workers of ``jobs`` are
    started with ``spawn``, which imports the calling script again in each: call it from a script
    under ``if __name__ == "__main__":`` (a notebook needs nothing). Every check happens before
    training starts (a bad spec raises :class:`~vfibench.errors.SpecError`). ``progress`` prints a
    line per phase and per finished unit, with the sweep's ETA, to stderr, as ``vfibench run`` does in
    a log; the notes ``vfibench run`` prints (test data the model trained on, a log interval longer
    than the training…) are issued as :class:`UserWarning` when ``progress`` is off. A Ctrl-C, or a SIGTERM
    (unless the calling program handles SIGTERM itself), stops the sweep as it stops ``vfibench run``: the
    finished units are kept, the run is marked interrupted, and :class:`~vfibench.sweep.SweepInterrupted`
    (``exit_code`` 128 + the signal's number) gives the command that finishes it.

    Example (a few seconds on a CPU)::

        >>> import tempfile
        >>> run = run_sweep("l1,l2", preset="smoke", steps=8, metrics=["psnr", "ssim"],
        ...                 out=tempfile.mkdtemp(), device="cpu")
        >>> run.summary["config"].tolist()
        ['l1', 'l2', 'blend', 'nearest']
        >>> sorted(set(run.per_sample["config"])) == sorted(run.summary["config"])
        True
    """
    from vfibench import sweep
    from vfibench.errors import VfiBenchError
    from vfibench.metrics.records import parse_metric_list
    from vfibench.metrics.suite import DEFAULT_METRICS
    from vfibench.model.variants import check_variant
    from vfibench.presets import get_preset
    from vfibench.sweep.interruption import stop_on_default_sigterm

    _check_arguments("run_sweep", losses=(losses, _TEXT, "a loss specification (str), e.g. 'l1,l1+perc'"),
                     preset=(preset, _TEXT, "a preset name (str)"), out=(out, _PATH, "a folder (str or Path)"),
                     device=(device, _TEXT, "a device name (str)"),
                     warm_start=(warm_start, _COUNT, "a number of steps (int) or None"),
                     skip_unavailable=(skip_unavailable, (bool,), "True or False"),
                     train_data=(train_data, _TEXT, "a dataset spec (str)"),
                     test_data=(test_data, _TEXT, "a dataset spec (str)"),
                     jobs=(jobs, _COUNT, "a number of processes (int) or None"),
                     threads=(threads, _COUNT, "a number of threads (int) or None"),
                     model=(model, (str, type(None)), "a model variant's name (str) or None"),
                     ambiguity=(ambiguity, (int, float, type(None)), "a number from 0 to 1, or None"),
                     log_every=(log_every, _COUNT, "a number of steps (int) or None"),
                     val_samples=(val_samples, _COUNT, "a number of test scenes (int) or None"),
                     precision=(precision, _TEXT, "'fp32', 'bf16' or 'fp16'"),
                     tensorboard=(tensorboard, (*_PATH, type(None)), "a folder (str or Path) or None"))
    if ambiguity is not None and not 0.0 <= ambiguity <= 1.0:  # NaN fails both comparisons
        raise VfiBenchError(f"run_sweep: ambiguity must be a number from 0 to 1 (0: straight, uniform paths), "
                            f"got {ambiguity!r}.")
    if val_samples is not None and val_samples < 0:
        raise VfiBenchError(f"run_sweep: val_samples must be 0 (none) or more, got {val_samples}.")
    options = sweep.ExecutorOptions(jobs=jobs, threads=threads)
    options.check()
    chosen = get_preset(preset).with_overrides(steps=steps, model=None if model is None else check_variant(model),
                                               ambiguity=ambiguity, log_every=log_every)
    if ambiguity is not None:
        sweep.check_ambiguity_applies(ambiguity, train_data, test_data, ("ambiguity", "train_data", "test_data"))
    names = list(DEFAULT_METRICS) if metrics is None else parse_metric_list(_listed("metrics", metrics))
    plan = sweep.plan_sweep(losses, chosen, seeds, out=Path(out), device=device, metrics=names,
                            skip_unavailable=skip_unavailable,
                            warm_start=warm_start, train_data=train_data, test_data=test_data,
                            val_samples=val_samples, precision=precision,
                            tensorboard=None if tensorboard is None else Path(tensorboard))
    # every argument, paths absolute as the plan holds them: the recorded call reruns the run from anywhere
    arguments = {"preset": preset, "seeds": seeds, "out": os.path.abspath(out), "device": device,
                 "metrics": metrics, "steps": steps, "warm_start": warm_start,
                 "skip_unavailable": skip_unavailable, "train_data": plan.train_data, "test_data": plan.test_data,
                 "jobs": jobs, "threads": threads, "model": model, "ambiguity": ambiguity, "log_every": log_every,
                 "val_samples": val_samples, "precision": precision,
                 "tensorboard": None if tensorboard is None else os.path.abspath(tensorboard)}
    call = ", ".join([repr(losses), *(f"{name}={value!r}" for name, value in arguments.items())])
    plan.command = f"vfibench.api.run_sweep({call})"
    if progress:
        from vfibench.cli_progress import PlainSweepListener

        listener: sweep.SweepListener = PlainSweepListener(sys.stderr)
    else:
        listener = sweep.WarningListener()
    with stop_on_default_sigterm():  # a SIGTERM marks the run interrupted and raises SweepInterrupted
        store = sweep.run_sweep(plan, listener, executor=options.build())
    return load_run(store.root)


def evaluate(predictions: str | Path | Mapping[str, str | Path] | Sequence[str | Path], gt: str | Path, *,
             out: str | Path = "results", metrics: str | Sequence[str] | None = None,
             protocols: str | Sequence[str] | None = None, device: str = "auto", skip_unavailable: bool = False,
             report: bool = True, grid_samples: int = 3, progress: bool = False) -> Run:
    """Score frames that any model wrote against the truth (as ``vfibench eval``); return the run.

    ``predictions`` is one folder of frames (a :class:`~pathlib.Path`, named after the folder), a
    name → folder mapping, or strings as ``--pred`` reads them (``DIR`` or ``NAME=DIR``), or a list of
    these paths and strings; ``gt`` a folder of ground-truth frames, matched by relative path, or a dataset spec
    (``ucf101:PATH``, ``middlebury:PATH``, ``snufilm(split=hard):PATH``…) whose sample ids name the
    predictions (``DIR/ID.png``). ``protocols`` also scores PSNR and SSIM the way each community's
    evaluation script does (``"all"`` or names such as ``["rife", "y-channel"]``; :attr:`Run.protocols`).
    ``metrics`` and ``protocols`` take a list or one comma-separated string. ``report`` writes
    ``<run>/report/`` with ``grid_samples`` image grids, as the command does. The notes ``vfibench
    eval`` prints (frames that match no ground truth…) are issued as :class:`UserWarning`, or printed
    to stderr with ``progress``, which also prints the plan and the frames scored at every tenth. Every
    check happens before a frame is scored; the manifest records the call with absolute paths. A SIGTERM
    (unless the calling program handles it) stops the call as it stops ``vfibench eval`` and raises
    :class:`~vfibench.evaluate.EvaluationInterrupted`: an unfinished run is removed (a Ctrl-C, raising
    KeyboardInterrupt, removes it too), a finished one is kept and the message says so.

    Example::

        >>> import tempfile
        >>> import numpy as np
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> for folder, value in (("gt", 100), ("mine", 110)):
        ...     (root / folder).mkdir()
        ...     Image.fromarray(np.full((32, 32, 3), value, np.uint8)).save(root / folder / "0001.png")
        >>> run = evaluate({"mine": root / "mine"}, root / "gt", metrics=["psnr"], protocols="y-channel",
        ...                out=root / "results", device="cpu", report=False)
        >>> run.summary[["config", "psnr_mean"]].round(2).values.tolist()  # 20·log10(255/10)
        [['mine', 28.13]]
        >>> run.protocols[["protocol", "psnr"]].round(2).values.tolist()  # on luma, 10·219/255 apart
        [['y-channel', 29.45]]
    """
    from vfibench.errors import warn_caller
    from vfibench.eval_plan import is_dataset_spec, plan_evaluation
    from vfibench.evaluate import interrupted_evaluation, run_evaluation
    from vfibench.metrics.protocols import parse_protocols
    from vfibench.metrics.records import parse_metric_list
    from vfibench.metrics.suite import DEFAULT_METRICS
    from vfibench.results.report import build_report
    from vfibench.sweep.interruption import Interrupted, raise_if_stopped, stop_on_default_sigterm

    _check_arguments("evaluate", predictions=(predictions, (str, os.PathLike, Mapping, Sequence),
                                              "a folder, a list of folders or a mapping of names to folders"),
                     gt=(gt, _PATH, "a folder or a dataset spec (str or Path)"),
                     out=(out, _PATH, "a folder (str or Path)"), device=(device, _TEXT, "a device name (str)"))
    sources = _prediction_sources(predictions)
    names = list(DEFAULT_METRICS) if metrics is None else parse_metric_list(_listed("metrics", metrics))
    chosen: list[str] = []
    if protocols is not None and _listed("protocols", protocols).strip():
        from vfibench.data.sources import parse_dataset_spec

        test_set = parse_dataset_spec(str(gt)).kind if is_dataset_spec(str(gt)) else None
        chosen = parse_protocols(_listed("protocols", protocols), test_set)
    plan = plan_evaluation(sources, str(gt) if is_dataset_spec(str(gt)) else Path(gt), out=Path(out),
                           metrics=names, skip_unavailable=skip_unavailable, device=device, protocols=chosen)
    # the call as it reruns from any folder: every path absolute, as the plan holds the set's spec
    arguments = {"out": str(plan.out.resolve()), "metrics": metrics, "protocols": protocols, "device": device,
                 "skip_unavailable": skip_unavailable}
    shown = {name: str(path.resolve()) for name, path in plan.sources.items()}
    truth = plan.gt_spec or str(plan.gt.resolve())
    plan.command = "vfibench.api.evaluate(" + ", ".join(
        [repr(shown), repr(truth), *(f"{name}={value!r}" for name, value in arguments.items())]) + ")"
    if progress:
        sys.stderr.write(f"vfibench eval: {plan.describe()}\n")
    for note in plan.notes:
        if progress:
            sys.stderr.write(f"note: {note}\n")
        else:
            warn_caller(note)
    store = None
    try:
        with stop_on_default_sigterm():  # SIGTERM, as on the command line: the run is removed, or kept complete
            store = run_evaluation(plan, on_file=_frames_scored(len(plan.files)) if progress else None)
            raise_if_stopped()  # a stop deferred while the finished run's tables were written
            if report:
                build_report(store, grid_samples=grid_samples)
        return load_run(store.root)
    except Interrupted as stop:
        raise interrupted_evaluation(stop.signum, plan, store, grid_samples) from None


def _frames_scored(total: int) -> Callable[[int, str], None]:
    """An ``on_file`` callback that writes "scored 24 of 240 frames" to stderr at every tenth of ``total``."""
    every, done = max(1, total // 10), 0

    def scored(sample: int, name: str) -> None:
        nonlocal done
        done += 1
        if done % every == 0 or done == total:
            sys.stderr.write(f"scored {done} of {total} frames\n")
            sys.stderr.flush()

    return scored


def _check_arguments(function: str, **arguments: tuple[Any, tuple[type, ...], str]) -> None:
    """A VfiBenchError naming the first argument whose value is not of its types (``name=(value, types,
    what it should be)``; ``bool`` is no ``int`` here), instead of a TypeError from deep inside."""
    from vfibench.errors import VfiBenchError

    for name, (value, types, wanted) in arguments.items():
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise VfiBenchError(f"{function}: {name} must be {wanted}, got {value!r}.")


_TEXT, _PATH, _COUNT = (str,), (str, os.PathLike), (int, type(None))


def _listed(argument: str, names: str | Sequence[str]) -> str:
    """The list argument ``argument`` as the command line's comma-separated option: one string, or a list
    of names none of which is empty."""
    from vfibench.errors import VfiBenchError

    if isinstance(names, str):
        return names
    if not isinstance(names, Sequence) or not all(isinstance(name, str) and name.strip() for name in names):
        raise VfiBenchError(f"{argument} must be one comma-separated string or a list of names (non-empty strings), "
                            f"got {names!r}.")
    return ",".join(names)


def _prediction_sources(predictions: str | Path | Mapping[str, str | Path] | Sequence[str | Path]) -> dict[str, Path]:
    """:func:`evaluate`'s ``predictions`` → model name → folder, named and checked as ``--pred`` is: a
    path is a folder, a string is read as ``--pred`` reads it, a mapping's keys are the names."""
    from vfibench.errors import VfiBenchError
    from vfibench.eval_plan import is_model_name, name_predictions, parse_prediction

    if isinstance(predictions, Mapping):
        if not predictions:
            raise VfiBenchError("predictions names no folder; give one folder of predicted frames, a list of them, "
                                "or a mapping of model names to folders.")
        for name in predictions:
            if not isinstance(name, str) or not is_model_name(name):
                raise VfiBenchError(f"predictions: {name!r} cannot name a model; give each folder a name that is "
                                    f"not blank and holds no path separator, e.g. {{'mine': 'out/mine'}}.")
        pairs = [(name.strip(), Path(folder).expanduser()) for name, folder in predictions.items()]
    else:
        items = [predictions] if isinstance(predictions, (str, os.PathLike)) else list(predictions)
        if not items:
            raise VfiBenchError("predictions names no folder; give one folder of predicted frames, a list of them, "
                                "or a mapping of model names to folders.")
        pairs = [("", Path(os.fspath(item)).expanduser()) if isinstance(item, os.PathLike)
                 else parse_prediction(str(item)) for item in items]
    return name_predictions(pairs)


def compute_metrics(pred: "Tensor", gt: "Tensor", metrics: str | Sequence[str] | None = None, *, device: str = "cpu",
                    skip_unavailable: bool = False) -> "dict[str, Tensor]":
    """Score predicted frames against the truth with the benchmark's metrics.

    ``pred`` and ``gt`` are (N, 3, H, W) RGB in [0, 1]; they are clamped and quantised to 8 bits
    first, as saved frames would be (frames on another scale, 0–255 or [−1, 1], are refused). Returns
    metric name → (N,) float64 tensor of per-frame scores. ``metrics``, a list or one comma-separated
    string checked as ``--metrics`` is, defaults to the default set (``DEFAULT_METRICS``); a missing
    backbone raises unless ``skip_unavailable``, which leaves the metrics it blocks out of the result
    (and raises when it blocks them all).

        >>> import torch
        >>> frames = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> scores = compute_metrics(frames, frames, ["psnr", "ssim"])
        >>> scores["psnr"].tolist(), [round(v, 6) for v in scores["ssim"].tolist()]
        ([100.0, 100.0], [1.0, 1.0])
        >>> # inverted uniform noise: MSE = E[(1 − 2x)²] = 1/3, so PSNR ≈ 10·log10(3) dB
        >>> round(compute_metrics(frames, 1 - frames, ["psnr"])["psnr"].mean().item(), 1)
        4.8
    """
    from vfibench.metrics.records import parse_metric_list
    from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite
    from vfibench.sweep import resolve_device

    _check_arguments("compute_metrics", device=(device, _TEXT, "a device name (str)"))
    suite = MetricSuite(DEFAULT_METRICS if metrics is None else parse_metric_list(_listed("metrics", metrics)),
                        device=resolve_device(device),
                        skip_unavailable=skip_unavailable)
    return suite(pred, gt)


def parse_spec(spec: str) -> "LossConfig":
    """One loss configuration, parsed and checked: its ``canonical`` string (its identity in result
    tables), its ``expanded`` form (presets written out) and ``resolve()`` (each term's weight,
    parameters and schedule). A malformed spec raises :class:`~vfibench.errors.SpecError` saying where.

        >>> config = parse_spec("0.5*dain + ssim@0.5")
        >>> config.canonical, config.expanded
        ('0.5*dain+ssim@0.5', '0.5*charbonnier+ssim@0.5')
        >>> [(term.label, term.weight, term.window.start) for term in config.resolve()]
        [('charbonnier', 0.5, 0.0), ('ssim', 1.0, 0.5)]
    """
    from vfibench.losses import snapshot
    from vfibench.losses.spec import parse_config

    _check_arguments("parse_spec", spec=(spec, _TEXT, "a loss specification (str), e.g. 'l1+0.1*perc'"))
    return parse_config(spec, snapshot.load())


def describe_spec(spec: str, width: int = 100) -> str:
    """What ``vfibench losses SPEC`` prints, as plain text: a term, a preset or any configuration.

        >>> print(describe_spec("l1+0.1*perc").splitlines()[0])
        l1+0.1*perc — loss configuration
    """
    from rich.console import Console

    from vfibench.losses.describe import describe_name

    _check_arguments("describe_spec", spec=(spec, _TEXT, "a loss term, preset or configuration (str)"))
    console = Console(file=io.StringIO(), width=width, color_system=None, emoji=False)
    console.print(describe_name(spec))
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())  # type: ignore[attr-defined]
