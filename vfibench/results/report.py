"""The report of one run: tables, gap analysis, perception–distortion plot, image grids, HTML.

:func:`load_report_data` reads and validates a run (manifest, summary, per-sample table) and runs
the gap analysis; :func:`write_report` writes everything under ``<run>/report/``:

- ``report.md`` — the summary table, the analysis tables, the verdict and the figures (``--format md``
  prints it without the figure sections unless ``--write`` draws them);
- ``summary.tex`` — the summary table as LaTeX for a paper (:mod:`vfibench.results.latex`);
- ``analysis.json`` — the full analysis as data, its plane the one drawn (:func:`analysis_record`);
- ``perception_distortion.png`` (300 dpi) with ``.pdf`` and ``.svg`` beside it — the plane of any two
  metrics with its Pareto front and error bars (:class:`PlaneOptions`, :mod:`vfibench.results.plots`);
- ``breakdown.csv`` and ``gap_by_<attribute>.png`` with its ``.pdf`` — every metric per bin of
  the test samples' ambiguity, motion and occlusion (:mod:`vfibench.analysis.breakdown`; synthetic test data only);
- ``training_curves.png`` — every logged loss term, the total and the held-out PSNR/LPIPS per
  configuration over steps (:mod:`vfibench.analysis.curves`; sweeps only);
- ``grid_sample<k>.png`` — image grids of the samples where the metrics disagree most
  (:mod:`vfibench.results.grids`), drawn only from frames that are those the run scored
  (:meth:`~vfibench.results.frames.FrameSource.check`): a sample whose frames are missing or changed
  since gets no grid, and a note and a warning (:attr:`Report.warnings`) say which and how to restore them;
- ``report.html`` — one self-contained page with all of it, images embedded as data URIs.

A sweep's grids are drawn by a second process while the figures are drawn, where two cores allow
(:mod:`vfibench.results.grid_process`). It also rewrites the run's ``summary.md``. Grids are replaced
only by newly drawn ones: a report that draws none (``grid_samples=0``, or frames that cannot be
reproduced, or are missing or changed since the run scored them) keeps the earlier grids and shows
them. :func:`html_page` renders the page without touching the run (``--format html``).
Everything is a function of the run's files, so the same run gives the same report.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vfibench.analysis.breakdown import Breakdown, breakdown_frame, breakdowns, onset_summary
from vfibench.analysis.curves import Parting, seed_mean_curves
from vfibench.analysis.gap import GapAnalysis, analyse
from vfibench.analysis.per_sample import Orientation
from vfibench.analysis.plane import Plane, perception_distortion_plane
from vfibench.analysis.verdict import headline_pair
from vfibench.errors import ResultsError, RunLocked, VfiBenchError
from vfibench.metrics.records import metric_record
from vfibench.results import atomic, schema, tables
from vfibench.results.numbers import format_signed
from vfibench.results.schema import CONFIG, FILE, SAMPLE, SEED, STATUS
from vfibench.results.store import REPORT_DIR, RunStore, report_command
from vfibench.results.view import RunView, load_run_view
from vfibench.words import counted, join_words, plural

if TYPE_CHECKING:
    from vfibench.results.frames import FrameProblem
    from vfibench.results.plots import SavedFigure
    from vfibench.results.report_tables import PlainTable

DEFAULT_GRID_SAMPLES = 3


@dataclass(frozen=True)
class ReportData:
    """A validated run and its gap analysis."""

    view: RunView
    per_sample: pd.DataFrame
    analysis: GapAnalysis
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)
    #: train_log.csv averaged over seeds (empty for an evaluation, or a run without a log).
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: An evaluation's mean PSNR/SSIM under each protocol (:func:`~vfibench.results.report_tables.protocol_means`
    #: of protocols.csv; empty without ``--protocols``).
    protocols: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def tables(self) -> list[PlainTable]:
        """The report's tables after the summary, in order: the gap analysis, then the protocols."""
        from vfibench.results.report_tables import analysis_tables, protocol_table

        return analysis_tables(self.analysis) + ([protocol_table(self.protocols)] if len(self.protocols) else [])

    @property
    def trained(self) -> list[str]:
        return [c for c in self.analysis.configs if schema.is_ranked(self.analysis.kinds.get(c, schema.TRAINED))]

    @property
    def parting(self) -> "Parting | None":
        """Where the held-out PSNR and the first other held-out metric part ways (None: not measured)."""
        from vfibench.analysis.curves import held_out_columns, parting_step

        prefix = schema.HELD_OUT_PREFIX
        others = [c[len(prefix):] for c in held_out_columns(self.curves) if c != prefix + self.analysis.base]
        if not others or prefix + self.analysis.base not in self.curves:
            return None
        return parting_step(self.curves, self.trained, Orientation.of(self.analysis.base), Orientation.of(others[0]))

    @property
    def curves_caption(self) -> str:
        """What the training-curves figure shows, and when the held-out metrics part ways."""
        from vfibench.analysis.curves import held_out_columns

        held = held_out_columns(self.curves)
        validation = self.view.manifest.get("validation") or {}
        text = ("Every logged loss term and the total per trained configuration over training steps (mean over "
                "seeds, averaged over each logging interval; a panel marked (log) spans a factor of ten or more and is "
                "drawn on a log scale).")
        if held:
            subset = validation.get("subset", "a fixed held-out subset of the test scenes")
            logged = self.curves.loc[self.curves[held].notna().any(axis=1), schema.STEP]
            prefix = schema.HELD_OUT_PREFIX
            text += (f" Held-out {', '.join(Orientation.of(c[len(prefix):]).label for c in held)}: measured "
                     f"{measured_at(sorted(int(s) for s in logged.unique()))} on {subset}, the model in eval mode, "
                     f"without any effect on training.")
            parting = self.parting
            if parting is not None:
                others = [c[len(prefix):] for c in held if c != prefix + self.analysis.base]
                text += " " + parting.sentence(Orientation.of(self.analysis.base), Orientation.of(others[0]))
        else:
            held_out = " nor ".join(metric_record(m).label for m in schema.HELD_OUT_METRICS)
            text += (f" No held-out scores were logged (the run predates them, ran with --val-samples 0, or scored "
                     f"neither {held_out}, the held-out metrics).")
        return text

    @property
    def store(self) -> RunStore:
        return self.view.store

    @property
    def along(self) -> str:
        """Where along the ambiguity (then motion, occlusion) the headline pair's metrics start to disagree;
        why there is no breakdown when the test data records no attributes."""
        analysis = self.analysis
        if not self.breakdowns:
            return ("No recorded sample attribute varies across the test samples (synthetic scenes record "
                    "ambiguity, motion and occlusion; real data only its measured motion), so the metrics are "
                    "not broken down along them.")
        pair = headline_pair(analysis)
        if pair is None:
            return ""
        base = Orientation.of(analysis.base)
        others = [Orientation.of(t.metric) for t in pair.disagreeing]
        summary = onset_summary(self.breakdowns, base, others, pair.a, pair.b)
        if not summary:
            return ""
        return (f"Along the test samples' attributes: {summary} Each attribute's section below gives the "
                f"per-bin means and by how much each metric favours a member at either end.")


@dataclass
class Report:
    """What :func:`write_report` wrote, and why anything is missing."""

    data: ReportData
    directory: Path
    #: The perception–distortion plane chosen (:meth:`PlaneOptions.plane`), its error bars and their anchor.
    plane: Plane | None = None
    intervals: str = "bootstrap"
    paired_to: str | None = None
    markdown: Path | None = None
    latex: Path | None = None
    html: Path | None = None
    analysis_json: Path | None = None
    #: The perception–distortion plane as drawn (PNG, PDF, SVG, caption).
    plot: "SavedFigure | None" = None
    curves: Path | None = None
    grids: list[Path] = field(default_factory=list)
    breakdown_plots: dict[str, "SavedFigure"] = field(default_factory=dict)
    breakdown_csv: Path | None = None
    grid_captions: list[str] = field(default_factory=list)
    grid_explanation: str = ""
    notes: list[str] = field(default_factory=list)
    #: Notes that also warrant a warning where the report is made (image grids left undrawn: frames gone or changed).
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlaneOptions:
    """Which plane the report draws: its axes (None: PSNR against the first perceptual metric compared)
    and its error bars, ``bootstrap`` (each mean's interval) or ``paired`` (the paired difference to
    ``anchor``; None: the first trained configuration)."""

    axes: tuple[str, str] | None = None
    intervals: str = "bootstrap"
    anchor: str | None = None

    @classmethod
    def parse(cls, axes: str | None, intervals: str = "bootstrap", anchor: str | None = None) -> "PlaneOptions":
        """Options from the command line: ``axes`` as ``X:Y`` (e.g. ``psnr:lpips``)."""
        from vfibench.results.plots import INTERVALS

        if intervals not in INTERVALS:
            raise VfiBenchError(f"--intervals '{intervals}' is not known; choose one of {', '.join(INTERVALS)}.")
        if anchor is not None and intervals != "paired":
            raise VfiBenchError(f"--paired-to '{anchor}' needs --intervals paired: it names the configuration the "
                                f"paired error bars are measured against, and --intervals {intervals} draws none. "
                                f"Add --intervals paired, or leave --paired-to out.")
        if axes is None:
            return cls(None, intervals, anchor)
        parts = [part.strip().lower() for part in axes.split(":")]
        if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
            raise VfiBenchError(f"--plane '{axes}' is not two different metrics joined by a colon; write the x "
                                f"(distortion) and y (perceptual) metric as e.g. --plane psnr:lpips or "
                                f"--plane ssim:dists.")
        return cls((parts[0], parts[1]), intervals, anchor)

    def plane(self, data: "ReportData") -> tuple[Plane | None, str | None]:
        """The plane to draw and the paired-interval anchor, checked against the run."""
        analysis = data.analysis
        if self.axes is None:
            plane = analysis.plane
        else:
            for metric in self.axes:
                if metric not in analysis.metrics:
                    reason = analysis.unavailable_metrics.get(metric)
                    known = ", ".join(analysis.metrics)
                    raise VfiBenchError(
                        f"--plane {':'.join(self.axes)}: the run '{data.store.name}' has no values of '{metric}'"
                        + (f" ({reason})" if reason else "") + f". Choose two of its metrics: {known}.")
            plane = perception_distortion_plane(data.per_sample, Orientation.of(self.axes[0]),
                                                Orientation.of(self.axes[1]), analysis.configs)
        if self.intervals != "paired":
            return plane, None
        trained = [c for c in analysis.configs if schema.is_ranked(analysis.kinds.get(c, schema.TRAINED))]
        anchor = _config_named(self.anchor, analysis.configs, analysis.kinds) or (
            trained or list(analysis.configs) or [None])[0]
        if anchor not in analysis.configs:
            raise VfiBenchError(f"--paired-to '{anchor}' is not a configuration of the run '{data.store.name}'; "
                                f"choose one of {', '.join(analysis.configs)}.")
        return plane, anchor


def _left_out_of_grids(store: RunStore, configs: Sequence[str], seed: int | None) -> str:
    """Why the image grids leave out ``configs`` (no saved model of ``seed``) and how to show them: a
    finished unit whose model.pt was deleted is trained again once its folder is deleted, an unfinished
    one by finishing the run."""
    from vfibench.results.store import MODEL_FILE, UNIT_FILE, UnitKey

    folders = [store.unit_dir(UnitKey(config, seed if seed is not None else 0)) for config in configs]
    finished = [folder for folder in folders if (folder / UNIT_FILE).is_file() and not (folder / MODEL_FILE).is_file()]
    resume = f"`{store.finish_command()}`"
    fix = (f"Delete the unit folder{'s' if len(finished) > 1 else ''} {join_words([repr(str(f)) for f in finished])} "
           f"and {resume} trains {'them' if len(finished) > 1 else 'it'} again (the same seed gives the same numbers)"
           if finished else f"Finish the run with {resume}")
    return (f"The image grids leave out {', '.join(repr(c) for c in configs)}: no saved model of seed {seed} (its "
            f"{MODEL_FILE} or unit folder is missing). {fix}, or choose another --seed to show them.")


def _settle_summary_files(data: ReportData) -> tuple[bytes | None, bool]:
    """Rewrite summary.csv and summary.md from the summary the report was made from, under the run's lock;
    a sweep holding the run (a resume) owns them meanwhile, so then they are left. Returns summary.csv's
    bytes as this leaves them, which the report must still find once written, and whether they were
    rewritten. A ResultsError before anything is drawn when summary.csv no longer holds that summary:
    a sweep wrote a unit since, and the report would show the run as it was (nor may the older table
    ever replace the newer one)."""
    store, view = data.store, data.view
    notes = view.run_notes()  # before the lock: holding it, this process would take itself for the writer
    try:
        with store.lock():
            _check_summary_current(data)
            tables.write_summary_files(store, view.summary, view.metrics, view.unavailable, title=view.title(),
                                       run_notes=notes)
            return _summary_bytes(store), True
    except RunLocked:  # a sweep is writing the run
        held = _summary_bytes(store)  # before the check: a change after it shows when the report is written
        _check_summary_current(data)
        return held, False


def _check_summary_current(data: ReportData) -> None:
    """A ResultsError unless summary.csv still holds the summary the report was made from."""
    if not schema.read_summary(data.store.path(schema.SUMMARY_FILE)).frame.equals(data.view.summary):
        raise ResultsError(f"The run '{data.store.name}' changed after this report read it (a sweep wrote a unit), "
                           f"so nothing was written. Run `{report_command(data.store)}` again: now for what the "
                           f"run has, or once the sweep has finished.")


def _summary_bytes(store: RunStore) -> bytes | None:
    """summary.csv's bytes; None when it cannot be read."""
    try:
        return store.path(schema.SUMMARY_FILE).read_bytes()
    except OSError:
        return None


def _config_named(name: str | None, configs: Sequence[str], kinds: Mapping[str, str]) -> str | None:
    """The configuration of ``configs`` that ``name`` names: itself; else, among the trained ones, the one
    that is the same loss (:func:`~vfibench.losses.spec.same_loss_key`: ``L2``, ``l2+l1`` for ``l1+l2``);
    else the one whose name matches ignoring case (an evaluation's model names, where ``flavr`` and
    ``film-l1`` are two models though one loss). ``name`` when none or several match."""
    if name is None or name in configs:
        return name
    from vfibench.errors import SpecError
    from vfibench.losses.spec import parse_config, same_loss_key

    def key(text: str) -> tuple[str, ...] | None:
        try:
            return same_loss_key(parse_config(text))
        except SpecError:
            return None

    wanted = key(name)
    trained = [c for c in configs if kinds.get(c, schema.TRAINED) == schema.TRAINED]
    found = [c for c in trained if wanted is not None and key(c) == wanted]
    found = found or [c for c in configs if c.casefold() == name.casefold()]
    return found[0] if len(found) == 1 else name


def load_report_data(store: RunStore) -> ReportData:
    """Read and validate a run, then analyse the gap between PSNR and the perceptual metrics."""
    view = load_run_view(store)
    per_sample = view.per_sample()
    summary = view.summary
    status = {str(r[CONFIG]): str(r[STATUS]) for r in summary.to_dict("records") if r[STATUS] != schema.COMPLETE}
    order = [str(c) for c in view.manifest.get("order", [])] or [str(c) for c in summary[CONFIG]]
    analysis = analyse(per_sample, view.metrics, order=order, status=status, unavailable=view.unavailable)
    log = view.train_log(per_sample)
    curves = seed_mean_curves(log) if log is not None else pd.DataFrame()
    return ReportData(view, per_sample, analysis, breakdowns(per_sample, list(analysis.metrics), order=order),
                      curves, load_protocols(store, order))


def load_protocols(store: RunStore, order: list[str]) -> pd.DataFrame:
    """The run's protocols table (:func:`~vfibench.results.report_tables.protocol_means`), models in
    ``order``; empty when the run has no ``protocols.csv``, a ResultsError when it is damaged."""
    from vfibench.results.report_tables import protocol_means

    path = store.path(schema.PROTOCOLS_FILE)
    if not path.is_file():
        return pd.DataFrame()
    rows = schema.read_protocols(path, order)
    models = set(rows[CONFIG])
    return protocol_means(rows, [c for c in order if c in models])


# -- writing ----------------------------------------------------------------------------------------
def write_report(data: ReportData, *, grid_samples: int = DEFAULT_GRID_SAMPLES, seed: int | None = None,
                 directory: Path | None = None, plane: PlaneOptions = PlaneOptions()) -> Report:
    """Write the run's report under ``<run>/report/`` and rewrite its ``summary.md``.

    Args:
        data: the loaded run.
        grid_samples: how many image grids to draw (0: none; earlier grids are then kept and shown).
        seed: whose outputs the grids show (default: the run's first seed).
        directory: write the report here instead, leaving the run's own files alone.
        plane: the axes and error bars of the perception–distortion plane.
    """
    store = data.store
    own = directory is None
    report = _checked_report(data, store.path(REPORT_DIR) if directory is None else directory, plane, seed)
    directory = report.directory
    held: bytes | None = None
    if own:
        held, rewritten = _settle_summary_files(data)
        if not rewritten:
            report.notes.append(f"summary.csv and summary.md were left as they are: a sweep is writing the run, and "
                                f"this report shows the units it had finished; `{report_command(store)}` again "
                                f"once it has finished.")
    directory.mkdir(parents=True, exist_ok=True)
    earlier = sorted(directory.glob("grid_sample*.png"))
    try:
        _write_files(data, report, grid_samples, seed, earlier)
    except OSError:
        if own and _run_changed(data, held):  # a sweep moved the folder away meanwhile
            _withdraw_report(store)
        raise
    if own and _run_changed(data, held):  # a sweep wrote a unit or finished meanwhile (and removed the folder)
        _withdraw_report(store)
    return report


def _run_changed(data: ReportData, held: bytes | None) -> bool:
    """Whether a sweep changed the run while its report was being written: summary.csv no longer holds the
    bytes the report left there (a unit was written), or the manifest's status is no longer the one the
    report read (the sweep marked the run complete: a report that says it is still running is stale)."""
    if _summary_bytes(data.store) != held:
        return True
    try:
        status = data.store.read_manifest().get("status")
    except ResultsError:
        return True
    return status != data.view.manifest.get("status")


def _write_files(data: ReportData, report: Report, grid_samples: int, seed: int | None, earlier: list[Path]) -> None:
    """Draw and write every file of ``report`` into its folder (``earlier``: the grids already there)."""
    from vfibench.results import html
    from vfibench.results.grid_process import start_grids

    directory, view = report.directory, data.view
    breakdown_figures = {p for suffix in ("png", "pdf") for p in directory.glob(f"gap_by_*.{suffix}")}
    # a sweep's grids are drawn by a second process meanwhile where two cores allow (grid_process)
    grids = start_grids(data, directory, grid_samples, seed) if grid_samples > 0 else None
    try:
        _draw_figures(data, report)
        if grids is not None:
            drawn = grids.result()
            report.grids, report.grid_captions = drawn.paths, drawn.captions
            report.grid_explanation = drawn.explanation
            report.notes += drawn.notes
            report.warnings += drawn.warnings
    finally:
        if grids is not None:
            grids.close()
    replaced = set(earlier) - set(report.grids) if report.grids else set()  # grids of an earlier selection
    if not report.grids and earlier:
        report.grids = earlier
        report.grid_captions = [f"{path.stem}, drawn by an earlier report." for path in earlier]
        redraw = "" if report.warnings else "; `vfibench report --samples N` redraws them"
        report.notes.append(f"{counted(len(earlier), 'image grid')} kept from an earlier report{redraw}.")
    report.analysis_json = directory / "analysis.json"
    atomic.write_json(report.analysis_json, analysis_record(report))
    report.markdown = directory / "report.md"
    atomic.write_text(report.markdown, markdown(report))
    report.latex = directory / "summary.tex"
    atomic.write_text(report.latex, view.latex())
    report.html = directory / "report.html"
    atomic.write_text(report.html, html.render(report))
    figures = {path for plot in report.breakdown_plots.values() for path in (plot.png, *plot.vector)}
    for stale in replaced | (breakdown_figures - figures):  # only now: a stopped report removes nothing it showed
        stale.unlink(missing_ok=True)  # another report may have removed it first


def _withdraw_report(store: RunStore) -> None:
    """Remove the report just written, which describes the run as it was before a unit a sweep wrote
    meanwhile, and say so: whichever of the two finished last, no stale report is left (the sweep
    rewrites summary.csv before it removes the report folder)."""
    folder = store.path(REPORT_DIR)
    removed = store.drop_report() or not folder.exists()
    what = "was removed" if removed else f"is stale: delete '{folder}'"
    raise ResultsError(f"The run '{store.name}' changed while its report was being written (a sweep wrote a unit "
                       f"or finished meanwhile), so the report, which showed the run as it was before, {what}. Run "
                       f"`{report_command(store)}` again: now for what the run has, or once the sweep has finished.")


#: Matplotlib's warning for a character no font it has can draw (a name in CJK script, say).
_MISSING_GLYPH = re.compile(r"Glyph (\d+) \(.*\) missing from font")


def _draw_figures(data: ReportData, report: Report) -> None:
    """Draw the plane, the training curves and the breakdowns into ``report.directory``, noting any left out,
    and, once, characters of the names the figures' fonts cannot draw (matplotlib warns once per glyph and
    figure)."""
    import warnings

    missing: list[str] = []
    with warnings.catch_warnings():  # restores the filters and showwarning; other warnings are shown as ever
        shown = warnings.showwarning

        def collect(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    file: Any = None, line: str | None = None) -> None:
            found = _MISSING_GLYPH.search(str(message))
            if found is None:
                shown(message, category, filename, lineno, file, line)
            elif chr(int(found.group(1))) not in missing:
                missing.append(chr(int(found.group(1))))

        warnings.showwarning = collect
        warnings.filterwarnings("always", message=_MISSING_GLYPH.pattern)
        _draw_each_figure(data, report)
    if missing:
        report.notes.append(f"The figures' fonts have no glyph for {counted(len(missing), 'character')} of the names "
                            f"({', '.join(missing[:3])}{', …' if len(missing) > 3 else ''}): the figures draw them as "
                            f"empty boxes; the tables show them as written.")


def _draw_each_figure(data: ReportData, report: Report) -> None:
    from vfibench.results import plots

    directory, chosen, view = report.directory, report.plane, data.view
    alone = chosen is not None and len(chosen.points) == 1  # one model scored alone: nothing to compare
    report.plot = None if alone else plots.plane_plot(
        chosen, data.per_sample, view.summary, directory / "perception_distortion.png", intervals=report.intervals,
        anchor=report.paired_to, labels=data.analysis.labels, missing=data.analysis.missing_configs)
    if alone:
        report.notes.append("No perception–distortion plot: only one model has results, and a plane of one point "
                            "compares nothing; score two or more (`vfibench eval --pred A=DIR --pred B=DIR`).")
    elif report.plot is None and _no_plane_reason(data.analysis):
        report.notes.append("No perception–distortion plot: " + _no_plane_reason(data.analysis))
    report.curves = plots.training_curves_plot(data.curves, data.trained, directory / "training_curves.png",
                                               data.parting.step if data.parting else None)
    if data.breakdowns:
        report.breakdown_csv = directory / "breakdown.csv"
        atomic.write_csv(report.breakdown_csv, breakdown_frame(data.breakdowns))
        for attribute, result in data.breakdowns.items():
            plot = plots.breakdown_plot(result, data.analysis, directory / f"gap_by_{attribute}.png")
            if plot is not None:
                report.breakdown_plots[attribute] = plot


def measured_at(steps: Sequence[int]) -> str:
    """When held-out metrics were measured, from the steps logged (after any warm start, every
    ``--log-every`` steps and at the last): ``every 25 steps from step 525 to 1000``, ``every 4 steps
    from step 4 to 8 and at the last step (10)``, ``once, at step 12``."""
    if not steps:
        return "at no step"
    if len(steps) == 1:
        return f"once, at step {steps[0]}"
    gaps = {b - a for a, b in zip(steps, steps[1:])}
    if len(gaps) == 1 and len(steps) >= 3:
        return f"every {gaps.pop()} steps from step {steps[0]} to {steps[-1]}"
    regular = {b - a for a, b in zip(steps[:-2], steps[1:-1])}
    if len(regular) == 1 and len(steps) >= 4:
        return (f"every {regular.pop()} steps from step {steps[0]} to {steps[-2]} and at the last step "
                f"({steps[-1]})")
    return "at steps " + join_words([str(s) for s in steps])


def html_page(data: ReportData, *, grid_samples: int = DEFAULT_GRID_SAMPLES, seed: int | None = None,
              plane: PlaneOptions = PlaneOptions(), warn: Callable[[str], None] | None = None) -> str:
    """The self-contained report page, drawn in a temporary folder: no file of the run changes. ``warn`` is
    given each of the report's :attr:`Report.warnings`."""
    with tempfile.TemporaryDirectory(prefix="vfibench-report-") as scratch:
        report = write_report(data, grid_samples=grid_samples, seed=seed, directory=Path(scratch), plane=plane)
        for warning in report.warnings if warn is not None else []:
            warn(warning)
        return report.html.read_text(encoding="utf-8")  # type: ignore[union-attr]


def unwritten_report(data: ReportData, *, plane: PlaneOptions = PlaneOptions(), seed: int | None = None) -> Report:
    """The report of ``data`` with nothing written: what ``--format md|json`` prints (no images), its
    options checked as a written report's are."""
    return _checked_report(data, data.store.path(REPORT_DIR), plane, seed)


def _checked_report(data: ReportData, directory: Path, plane: PlaneOptions, seed: int | None) -> Report:
    """An empty report of ``data`` with its plane chosen: the one place the options are checked against
    the run, before anything is drawn or written."""
    check_seed(data, seed)
    chosen, anchor = plane.plane(data)
    return Report(data, directory, plane=chosen, intervals=plane.intervals, paired_to=anchor,
                  notes=list(data.analysis.notes))


def check_seed(data: ReportData, seed: int | None) -> None:
    """A ResultsError unless ``seed`` (whose outputs the image grids show) is None or one of the run's seeds."""
    seeds = schema.recorded_seeds(data.view.manifest)
    if seed is not None and seeds is not None and seed not in seeds:
        raise ResultsError(f"--seed {seed}: the run '{data.store.name}' has the {plural('seed', len(seeds))} "
                           f"{', '.join(map(str, seeds))}; "
                           f"choose one of them for the image grids, or leave --seed out for the first.")


def analysis_record(report: Report) -> dict[str, Any]:
    """The analysis as data (``analysis.json``, and ``analysis`` of ``--format json``) with the plane the
    report chose, its ``intervals`` and the configuration paired intervals are measured against."""
    record = replace(report.data.analysis, plane=report.plane).to_dict()
    if record["plane"] is not None:
        record["plane"] |= {"intervals": report.intervals, "paired_to": report.paired_to}
    return record


def _no_plane_reason(analysis: GapAnalysis) -> str:
    """Why there is no default plane and no image grids; "" when the verdict says it (no base metric)."""
    if analysis.base not in analysis.metrics:
        return ""
    if not analysis.compared:
        return "no perceptual metric is available."
    return "no configuration has results."


@dataclass
class DrawnGrids:
    """What :func:`draw_grids` wrote: the grids in order, their captions, what they show and why anything is missing."""

    paths: list[Path] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    explanation: str = ""
    notes: list[str] = field(default_factory=list)
    #: Notes to also give as warnings (:attr:`Report.warnings`).
    warnings: list[str] = field(default_factory=list)


def draw_grids(data: ReportData, directory: Path, count: int, seed: int | None) -> DrawnGrids:
    """Draw the image grids of the ``count`` samples where the metrics disagree most into ``directory``
    (outputs of ``seed``; None: the run's first); notes say why none, or not every configuration, is shown.
    A sample whose frames are missing or not those the run scored gets no grid (a warning says which)."""
    from vfibench.results import grids
    from vfibench.results.frames import FrameProblem, FramesNotScored, frame_source

    drawn = DrawnGrids()
    selection = grids.select_samples(data.per_sample, data.analysis, count)
    if selection is None:
        if _no_plane_reason(data.analysis):
            drawn.notes.append("No image grids: " + _no_plane_reason(data.analysis))
        return drawn
    source, reason = frame_source(data.store, data.view.manifest, seed)
    if source is None:
        drawn.notes.append(f"No image grids: the frames cannot be reproduced ({reason}).")
        return drawn
    if source.seed is not None and data.per_sample[SEED].nunique() > 1:  # choose by the scores of the seed shown
        rows = data.per_sample[data.per_sample[SEED] == source.seed]
        lacking = sorted(set(data.per_sample[CONFIG]) - set(rows[CONFIG]))
        own = None if lacking else grids.select_samples(rows, data.analysis, count)
        if own is not None and own.samples:
            selection = replace(own, explanation=f"{own.explanation} With several seeds, samples are chosen by the "
                                                 f"scores of seed {source.seed}, whose outputs are shown.")
        else:
            missing = join_words([repr(c) for c in lacking]) or "the pair"
            selection = replace(selection, explanation=f"{selection.explanation} Seed {source.seed}, whose outputs are "
                                                       f"shown, has no scores of {missing}, so samples are chosen by "
                                                       f"the scores averaged over seeds.")
    if hasattr(source, "prefetch"):
        source.prefetch(selection.samples)  # type: ignore[attr-defined]
    analysis = data.analysis
    shown = [c for c in analysis.configs if c in source.configs]
    left_out = [c for c in analysis.configs if c not in source.configs]
    if left_out:
        drawn.notes.append(_left_out_of_grids(data.store, left_out, source.seed))
    metrics = [analysis.base, *analysis.compared]
    seed_text = f", outputs of seed {source.seed}" if source.seed is not None else ""
    inputs = " and the inputs I0 and I1" if source.has_inputs else " (the inputs I0 and I1 are not available)"
    noun = schema.ROW_NOUNS[schema.run_kind(data.view.manifest)]
    pairs = selection.pairs or tuple(None for _ in selection.samples)
    problems: list[FrameProblem] = []
    undrawn: list[str] = []
    for sample, score, pair in zip(selection.samples, selection.scores, pairs):
        name = _sample_name(data.per_sample, sample)
        found = source.check(sample)
        if found:
            undrawn.append(name)
            problems += [problem for problem in found if problem not in problems]
            continue
        about = f" about '{pair[0]}' vs '{pair[1]}'" if pair else (
            f" within '{selection.config}'" if selection.config else "")
        disagreement = f"disagreement score{about} {format_signed(score, 2)}"  # the title's and the caption's
        title = f"{data.store.name} — sample {name}{seed_text}; {disagreement}"
        path = directory / f"grid_sample{sample:04d}.png"
        scores = grids.sample_scores(data.per_sample, sample, source.seed, metrics)
        try:
            drawn.paths.append(grids.render_grid(source, sample, shown, scores, path, title, analysis.labels,
                                                 analysis.units, analysis.kinds))
        except FramesNotScored as err:  # changed since it was checked
            undrawn.append(name)
            problems += [err.problem] if err.problem not in problems else []
            continue
        drawn.captions.append(f"Sample {name}: {disagreement}{seed_text}. "
                              f"Top row: ground truth, its zoomed crop (cyan box){inputs}; "
                              f"then per {noun} its output, the crop, its error map (one shared scale) "
                              f"and its scores on this sample.")
    if undrawn:
        warning = frames_warning(problems, undrawn, len(selection.samples), report_command(data.store))
        drawn.notes.append(warning)
        drawn.warnings.append(warning)
    if drawn.paths and source.unverified:
        drawn.notes.append(f"The image grids show the frames now at the paths the run recorded, unchecked: "
                           f"{source.unverified}. Had they changed since, the grids would show other frames "
                           f"than the scores beside them describe.")
    drawn.explanation = selection.explanation
    return drawn


def frames_warning(problems: Sequence[FrameProblem], undrawn: Sequence[str], chosen: int, command: str) -> str:
    """Why the grids of the samples ``undrawn`` (of the ``chosen``) were not drawn — their frames are missing
    or not those the run scored (``problems``) — and how to draw them: one paragraph."""
    from vfibench.results.frames import describe_problems

    which = ("No image grids were drawn" if len(undrawn) == chosen
             else f"The image {plural('grid', len(undrawn))} of {plural('sample', len(undrawn))} "
                  f"{join_words(list(undrawn))} {'was' if len(undrawn) == 1 else 'were'} not drawn")
    why = (" The run's scores were computed from the frames as they were: a grid of the frames there now would show "
           "other frames beside them." if any(not problem.missing for problem in problems) else
           " A report reads the frames at the paths the run recorded as it scored them, so it cannot draw them "
           "once they are moved or deleted, or the run's results are copied to another machine.")
    paths = "those paths" if len(problems) > 1 else f"'{problems[0].path}'"
    return (f"{which}: {'; '.join(describe_problems(problems))}.{why} Only the image grids need these frames: the "
            f"tables, plots and the rest of the report come from the run's own files and are written as ever. To "
            f"draw the grids, restore the frames the run scored at {paths} (or copy or mount them there) and run "
            f"`{command}` again; or pass --samples 0 to write the report without drawing grids.")


def _sample_name(per_sample: pd.DataFrame, sample: int) -> str:
    """A sample's display name: its file (evaluation runs) or its index."""
    if FILE in per_sample:
        files = per_sample.loc[per_sample[SAMPLE] == sample, FILE]
        if len(files):
            return f"{sample} ({files.iloc[0]})"
    return str(sample)


# -- Markdown ---------------------------------------------------------------------------------------
def markdown(report: Report) -> str:
    """The report as Markdown: summary table and notes, gap analysis, verdict, links to the images. Prose
    taken from the run (names in the verdict, captions and notes) is escaped (:func:`escape_prose`)."""
    from vfibench.results import report_tables
    from vfibench.results.markdown import escape_prose as prose

    data = report.data
    view = data.view
    lines = [f"# vfibench report: {prose(view.title())}", "",
             tables.markdown_table(view.summary, view.metrics, view.unavailable), ""]
    lines += [f"- {prose(note)}" for note in view.notes()]
    lines += ["", "## Verdict", "", prose(data.analysis.verdict) or "(no verdict)", ""]
    if data.along:
        lines += [prose(data.along), ""]
    lines += [line for table in data.tables for line in report_tables.to_markdown(table)]
    for attribute, result in data.breakdowns.items():
        lines += report_tables.to_markdown(report_tables.breakdown_table(result, data.analysis))
        if attribute in report.breakdown_plots:
            figure = report.breakdown_plots[attribute]
            lines += [f"![gap along {result.title}]({figure.png.name})", "", prose(figure.full_caption), ""]
    if report.plot is not None:
        lines += ["## Perception–distortion plane", "", f"![perception–distortion plane]({report.plot.png.name})", "",
                  prose(report.plot.full_caption), ""]
    if report.curves is not None:
        lines += ["## Training curves", "", f"![training curves]({report.curves.name})", "",
                  prose(data.curves_caption), ""]
    if report.grids:
        lines += ["## Samples where the metrics disagree most", "", prose(report.grid_explanation), ""]
        captions = report.grid_captions or [path.stem.replace("_", " ") for path in report.grids]
        for path, caption in zip(report.grids, captions):  # one paragraph each: an image, then its caption
            lines += [f"![{path.stem}]({path.name})", "", prose(caption), ""]
    if report.notes:
        lines += ["## Notes", ""] + [f"- {prose(note)}" for note in report.notes] + [""]
    return "\n".join(lines)


def report_json(report: Report) -> dict[str, Any]:
    """Summary records, analysis and written files as one JSON-ready record."""
    summary = report.data.view.summary_records()
    files = {"html": report.html, "markdown": report.markdown, "latex": report.latex, "analysis": report.analysis_json,
             "plot": report.plot.png if report.plot else None, "breakdown": report.breakdown_csv,
             "curves": report.curves}
    files |= {f"plot_{path.suffix[1:]}": path for path in (report.plot.vector if report.plot else ())}
    return {
        "run": report.data.store.name,
        "unavailable_metrics": report.data.view.unavailable,
        "summary": summary,
        "analysis": analysis_record(report),
        "protocols": _protocol_records(report.data.protocols),
        "along": report.data.along,
        "breakdown": _breakdown_records(report.data.breakdowns),
        "files": {k: str(v) for k, v in files.items() if v is not None} | {"grids": [str(p) for p in report.grids]}
                 | {f"gap_by_{k}": str(v.png) for k, v in report.breakdown_plots.items()}
                 | {p.stem + p.suffix.replace(".", "_"): str(p)
                    for v in report.breakdown_plots.values() for p in v.vector},
        "notes": report.notes,
    }


def _breakdown_records(results: Mapping[str, Breakdown]) -> list[dict[str, Any]]:
    """The per-bin means along each sample attribute, as breakdown.csv holds them (an empty bin's mean null);
    [] when no attribute varies."""
    frame = breakdown_frame(results).astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def _protocol_records(means: pd.DataFrame) -> list[dict[str, Any]]:
    """The protocols table as records (one per protocol, then the spread of several); [] without protocols. JSON has
    no infinity: an unbounded mean PSNR is the string ``"inf"``, a spread that is not a number null."""
    def value(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return "inf" if v > 0 else None
        return v

    return [{k: value(v) for k, v in record.items()} for record in means.reset_index().to_dict("records")]


def build_report(store: RunStore, *, grid_samples: int = DEFAULT_GRID_SAMPLES, seed: int | None = None,
                 plane: PlaneOptions = PlaneOptions()) -> Report:
    """Load, analyse and write the report of ``store`` (see :func:`write_report`)."""
    data = load_report_data(store)
    try:
        return write_report(data, grid_samples=grid_samples, seed=seed, plane=plane)
    except OSError as err:
        import shlex

        command = shlex.join(["vfibench", "report", store.name, "--out", str(store.root.parent), "--format", "table"])
        raise VfiBenchError(f"Cannot write the report under '{store.path(REPORT_DIR)}' ({err}). Check that the "
                            f"run directory is writable; a run you may only read (an archive, a shared folder) "
                            f"prints its report without writing it: `{command}` (or md, json, html).") from None
