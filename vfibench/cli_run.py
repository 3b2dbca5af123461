"""``vfibench run``: train the fixed interpolator once per loss configuration and seed, evaluate, write tables.

A thin shell over :mod:`vfibench.sweep`: it gathers the options, plans the sweep (every check
happens there, before any training), runs it with a progress display and prints the summary.
``--resume [RUN]`` rebuilds the plan of an unfinished run from its manifest and finishes only what
is missing. ``--jobs N`` runs units in N worker processes, ``--executor ray`` as tasks on a Ray
cluster (:mod:`vfibench.sweep.executors`). Ctrl-C or SIGTERM stops the sweep, keeps every finished
unit, prints the exact resume command and exits with 130 or 143. Mounted by the main CLI as
``vfibench run``.
"""

from __future__ import annotations

import math
import shlex
import sys
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape

from vfibench.cli_support import LIST, console, error_console, examples, report_errors
from vfibench.errors import StoppedBySignal, VfiBenchError
from vfibench.metrics.records import metrics_help
from vfibench.model.variants import MODEL_VARIANTS
from vfibench.presets import DEFAULT_PRECISION, DEFAULT_PRESET, PRECISIONS, PRESETS
from vfibench.words import counted

if TYPE_CHECKING:
    from vfibench.results.store import RunStore
    from vfibench.sweep import ExecutorOptions, SweepPlan

#: The default sweep: the PSNR-optimal l2, the l1 most VFI papers use, a perceptual and an adversarial
#: term on top of l1, and a full paper preset (Super SloMo's four terms).
DEFAULT_LOSSES = "l2,l1,l1+perc,l1+adv,superslomo"
DEFAULT_SEEDS = "0"

EPILOG = examples(
    "vfibench run                                  # the default sweep on the quick preset",
    "vfibench run --losses l1,l1+perc",
    "vfibench run --losses \"l1, 0.8*l1+0.005*perc, charbonnier(eps=1e-3)\" --seeds 0,1,2",
    "vfibench run --losses l1,superslomo --dry-run   # the plan and a time estimate; trains nothing",
    "vfibench run --preset smoke --losses l1 --out /tmp/results",
    "vfibench run --losses l1,l1+perc --model warp-blend --ambiguity 0   # the first version's model and data",
    "vfibench run --resume                         # finish the newest unfinished run under --out",
    "vfibench run --resume 20261125-101500-ab12    # finish that run",
    "vfibench run --jobs 2                         # two units at a time, in two worker processes",
    "vfibench run --executor ray --address HEAD:6379 --gpus-per-unit 1 --preset full   # on a Ray cluster",
    "vfibench run --preset full --device cuda --precision bf16   # mixed-precision training on a GPU",
    notes="Exit codes: 0 done; 2 bad input; 130 stopped by Ctrl-C, 143 by SIGTERM (finished units are kept; "
          "the message gives the resume command, which works with any executor).",
)


def choices(name: str, values: Iterable[str]) -> type[Enum]:
    """An option's choices as the string enum typer reads, built from the collection that owns them."""
    return Enum(name, {value.replace("-", "_"): value for value in values}, type=str)  # type: ignore[return-value]


ModelVariant = choices("ModelVariant", MODEL_VARIANTS)
Precision = choices("Precision", PRECISIONS)
PresetName = choices("PresetName", PRESETS)


class ExecutorName(str, Enum):
    local = "local"
    ray = "ray"


@report_errors
def run(
    run_name: Annotated[Optional[str], typer.Argument(
        metavar="RUN", help="With --resume: the run to finish, a name under --out or a run directory "
                              "(default: the newest unfinished run under --out).", show_default=False)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Finish an interrupted run: rebuild its plan from its "
                                         "manifest and train only the missing units. Options that conflict "
                                         "with the manifest are an error.")] = False,
    losses: Annotated[Optional[str], typer.Option("--losses", "-l", help="Comma-separated loss configurations; "
                                                  "each a weighted sum of terms or a paper preset. `vfibench "
                                                  f"losses` lists them. [default: {', '.join(DEFAULT_LOSSES.split(','))}]", metavar=LIST,
                                                  show_default=False)] = None,
    preset: Annotated[Optional[PresetName], typer.Option(help="How long and large: smoke (seconds), ci, quick "
                                                         "(minutes per configuration on a CPU), full (GPU). "
                                                         f"[default: {DEFAULT_PRESET}]", show_default=False)]
    = None,
    seeds: Annotated[Optional[str], typer.Option(help="Seeds (initial weights and batch order, shared by every "
                                                 "configuration), e.g. 0,1,2 or 0-4; tables aggregate over them. "
                                                 f"[default: {DEFAULT_SEEDS}]", metavar=LIST,
                                                 show_default=False)] = None,
    out: Annotated[Path, typer.Option(help="Folder that holds the run directories.")] = Path("results"),
    device: Annotated[Optional[str], typer.Option(help="auto (CUDA when available), cpu, cuda or cuda:N. "
                                                  "[default: auto; with --resume, the run's device]",
                                                  show_default=False)] = None,
    warm_start: Annotated[Optional[int], typer.Option(help="Train the first STEPS steps of every configuration "
                                                      "with plain l1, computed once per seed and shared. "
                                                      "[default: the preset's: half of quick and full (rounded up), none on smoke and ci]", metavar="STEPS",
                                                      show_default=False)]
    = None,
    metrics: Annotated[Optional[str], typer.Option(help=metrics_help() + " (vfibench eval --help says what each "
                                                   "is).", metavar=LIST)] = None,
    skip_unavailable: Annotated[Optional[bool], typer.Option(
        "--skip-unavailable/--no-skip-unavailable", help="When a pretrained backbone is missing, run what does "
        "not need it and mark the rest unavailable. [default: no]", show_default=False)] = None,
    steps: Annotated[Optional[int], typer.Option(help="Override the preset's number of training steps.",
                                                 min=1, metavar="STEPS")] = None,
    log_every: Annotated[Optional[int], typer.Option(
        "--log-every", metavar="STEPS", min=1, help="Steps between rows of the training log, and between the "
        "held-out scores measured with them. [default: the preset's]", show_default=False)] = None,
    val_samples: Annotated[Optional[int], typer.Option(
        "--val-samples", min=0, metavar="N", help="Held-out scenes (the first ones of the test data) scored on PSNR and LPIPS "
        "(those of them --metrics measures) at every training-log row, so the report shows when the metrics part "
        "ways (0: none). [default: 16; with "
        "--resume, the run's]",
        show_default=False)] = None,
    tensorboard: Annotated[Optional[Path], typer.Option(
        "--tensorboard", metavar="DIR", help="Also write each unit's training log and a few sample frames for "
        "TensorBoard under DIR. Needs the optional package: pip install 'vfibench[tensorboard]'",
        show_default=False)] = None,
    model: Annotated[Optional[ModelVariant], typer.Option(
        help="Interpolator variant: synthesis (warp + blend, then a residual synthesis U-Net) or warp-blend "
             "(the output is the blend; to measure what the synthesis stage contributes). [default: synthesis]",
        show_default=False)] = None,
    ambiguity: Annotated[Optional[float], typer.Option(
        min=0.0, max=1.0, metavar="A", help="Synthetic data's motion ambiguity, for training and test data: how far a layer's "
        "path may leave straight uniform motion, as a fraction of its displacement (0: the middle frame follows "
        "from I0 and I1). [default: the preset's]", show_default=False)] = None,
    train_data: Annotated[Optional[str], typer.Option(
        "--train-data", metavar="SPEC", help="Training data: synthetic, vimeo90k:PATH, frames:PATH or video:PATH "
        "(`vfibench data --help`), or a standard test set such as ucf101:PATH; real frames are fitted to the "
        "preset's training crops. [default: synthetic]", show_default=False)] = None,
    test_data: Annotated[Optional[str], typer.Option(
        "--test-data", metavar="SPEC", help="Test data, same forms; e.g. train on synthetic, test on a real "
        "video. [default: synthetic]", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan — configurations (canonical, expanded, schedules), units, data, "
        "metrics — and a training-time estimate from a few timed steps, then exit. Writes nothing.")] = False,
    precision: Annotated[Optional[Precision], typer.Option(
        help="Training precision: fp32, or bf16 / fp16 autocast of the forward pass and loss (weights and Adam "
             "stay fp32; fp16 adds loss scaling and needs CUDA). Evaluation is always fp32. Recorded in the "
             "manifest. [default: fp32; with --resume, the run's]", show_default=False)] = None,
    executor: Annotated[ExecutorName, typer.Option(
        help="Where units run: local (this machine: in this process, or --jobs N worker processes) or ray (one "
             "Ray task per unit on a Ray cluster; needs pip install 'vfibench[ray]'). Results are written here "
             "either way, with the same tables for the same --threads.")] = ExecutorName.local,
    jobs: Annotated[Optional[int], typer.Option(
        "--jobs", "-j", metavar="N", help="Local executor: run N units at a time in N worker processes (at most the "
        "cores; no more than the units left), each with cores // N torch threads (so they never fight over cores); "
        "the costliest units start first. [default: 1, in this process]",
        show_default=False)] = None,
    threads: Annotated[Optional[int], typer.Option(
        "--threads", metavar="N", help="Torch threads per unit. On a CPU they are part of what a unit trains to "
        "(the order of floating-point sums): runs match only with the same count. [default: torch's own in this "
        "process; cores // jobs with --jobs; the unit's CPUs on Ray; with --resume, the run's]",
        show_default=False)] = None,
    address: Annotated[Optional[str], typer.Option(
        "--address", metavar="HOST:PORT", help="Ray: the cluster's head node (`ray start --head` prints it; "
        "'auto' on the head node itself). [default: start a Ray instance on this machine]",
        show_default=False)] = None,
    gpus_per_unit: Annotated[Optional[float], typer.Option(
        "--gpus-per-unit", metavar="G", help="Ray: GPUs each unit asks for (e.g. 1, or 0.5 to share one); units "
        "then train on CUDA. [default: 0]", show_default=False)] = None,
    cpus_per_unit: Annotated[Optional[float], typer.Option(
        "--cpus-per-unit", metavar="C", help="Ray: CPUs each unit asks for; also its torch threads. [default: 1]",
        show_default=False)] = None,
) -> None:
    """Train the fixed interpolator once per loss configuration and seed, evaluate, write tables."""
    from vfibench.cli_progress import PlainSweepListener, RichSweepListener, draws_live
    from vfibench.cli_report import print_summary
    from vfibench.metrics.records import parse_metric_list
    from vfibench.metrics.suite import DEFAULT_METRICS
    from vfibench.data.sources import SYNTHETIC
    from vfibench.presets import get_preset
    from vfibench.processes import keep_freed_memory, signal_name
    from vfibench.results.schema import training_threads
    from vfibench.results.store import RunStore, report_command
    from vfibench.sweep import (ExecutorOptions, check_ambiguity_applies, parse_seeds, plan_sweep, run_sweep,
                                stop_on_signals)
    from vfibench.sweep.interruption import Interrupted, raise_if_stopped

    command = shlex.join(["vfibench", *sys.argv[1:]])
    options = ExecutorOptions(executor.value, jobs, address, gpus_per_unit, cpus_per_unit, threads)
    store = None
    if resume:
        store = RunStore.open_unfinished(out, run_name)
        options = options.resuming(training_threads(store.read_manifest()))
    options.check()
    device, device_here = options.device(device)
    training_precision = precision.value if precision is not None else None
    metric_names = parse_metric_list(metrics) if metrics is not None else None
    seed_list = parse_seeds(seeds) if seeds is not None else None
    variant = model.value if model is not None else None
    overrides = {"steps": steps, "model": variant, "ambiguity": ambiguity, "log_every": log_every}
    chosen = get_preset(preset.value).with_overrides(**overrides) if preset is not None else None
    if store is not None:
        plan = _resume_plan(store, options, dry_run, tensorboard, device_here, device=device, losses=losses,
                            preset=chosen, seeds=seed_list, warm_start=warm_start, metrics=metric_names,
                            skip_unavailable=skip_unavailable, train_data=train_data, test_data=test_data,
                            precision=training_precision, val_samples=val_samples, preset_overrides=overrides,
                            command=command)
    else:
        if run_name is not None:
            raise VfiBenchError(f"Unexpected argument '{run_name}': a run name is only accepted with --resume "
                                f"(`vfibench run --resume {run_name}`). Loss configurations go in --losses.")
        chosen = chosen or get_preset(DEFAULT_PRESET).with_overrides(**overrides)
        train_data, test_data = train_data or SYNTHETIC, test_data or SYNTHETIC
        if ambiguity is not None:
            check_ambiguity_applies(ambiguity, train_data, test_data)
        plan = plan_sweep(DEFAULT_LOSSES if losses is None else losses, chosen, seed_list or parse_seeds(DEFAULT_SEEDS), out=out,
                          device=device or "auto", metrics=metric_names or list(DEFAULT_METRICS),
                          skip_unavailable=bool(skip_unavailable), warm_start=warm_start, command=command,
                          train_data=train_data, test_data=test_data,
                          val_samples=val_samples, tensorboard=tensorboard,
                          precision=training_precision or DEFAULT_PRECISION, device_here=device_here)
        if dry_run:
            _print_plan(plan, "a new sweep", options)
            return
        # on stderr with the progress: `vfibench run > table.txt` keeps only the results
        error_console.print(f"[bold]vfibench run[/]: {counted(len(plan.configs), 'configuration')} × "
                            f"{counted(len(plan.seeds), 'seed')}, preset [cyan]{chosen.name}[/] "
                            f"({chosen.steps} steps), device {plan.device}{_where(options)}")
    if plan is None:
        return
    keep_freed_memory()
    finished = None
    try:
        listener = RichSweepListener(error_console) if draws_live(error_console) else PlainSweepListener(sys.stderr)
        with stop_on_signals(), listener:
            finished = run_sweep(plan, listener, store, options.build())
            raise_if_stopped()  # a stop that came while the finished run was marked complete
    except Interrupted as stop:  # only once run_sweep has returned (it raises SweepInterrupted): the run is complete
        if finished is None:
            raise
        raise StoppedBySignal(f"{signal_name(stop.signum)} came once the sweep had finished: the run '{finished.name}' "
                              f"is complete, with every result in '{finished.root}'. Its tables and report: "
                              f"{report_command(finished)}", stop.signum) from None
    print_summary(finished)
    error_console.print(f"Gap analysis, perception–distortion plot and image grids: "
                        f"[bold]{escape(report_command(finished))}[/]", highlight=False)


def _resume_plan(store: RunStore, options: ExecutorOptions, dry_run: bool, tensorboard: Path | None,
                 device_here: bool, **settings: object) -> SweepPlan | None:
    """The plan that finishes ``store`` (:func:`~vfibench.sweep.plan.plan_resume` with ``settings``), after saying
    how much is done; None when nothing is to run: a dry run printed it, or the run is complete (its tables are
    then rebuilt where missing, and printed)."""
    from vfibench.cli_report import print_summary
    from vfibench.results.schema import COMPLETE, latest_tensorboard
    from vfibench.sweep import plan_resume, rebuild_tables
    from vfibench.sweep.coordinator import remaining_work

    plan = plan_resume(store, device_here=device_here, **settings)  # type: ignore[arg-type]
    if tensorboard is not None:
        from vfibench import tensorboard_log

        tensorboard_log.check_available(tensorboard)
        plan.tensorboard = tensorboard
    units = plan.units()
    done = sum(store.unit_info(key) is not None for key in units)
    logged = latest_tensorboard(store.read_manifest()) if tensorboard is None else None
    if logged is not None and remaining_work(plan, store)[0]:  # only trained units are logged
        error_console.print(f"[yellow]note:[/] the run's last session logged each unit for TensorBoard under "
                            f"'{escape(logged)}'; this one logs nowhere. To log the units it trains there as well, "
                            f"add {escape(shlex.join(['--tensorboard', logged]))}.", highlight=False)
    if dry_run:
        _print_plan(plan, f"resume {store.name}: {done} of {len(units)} units finished", options, store)
        return None
    # a complete run with a unit deleted (a failed one, to retry it) trains that unit again
    if store.read_manifest().get("status") == COMPLETE and done == len(units):
        rebuilt = rebuild_tables(store)
        done_text = f"rebuilt {', '.join(rebuilt)} from its units" if rebuilt else "nothing to do"
        console.print(f"[bold]vfibench run --resume[/]: '{escape(str(store.root))}' is already complete; "
                      f"{done_text}.")
        print_summary(store)
        return None
    left = len(units) - done
    rest = (f"running the {left} left ({counted(len(plan.configs), 'configuration')} × "
            f"{counted(len(plan.seeds), 'seed')} in all, "
            f"preset [cyan]{plan.preset.name}[/], {plan.preset.steps} steps), device {plan.device}{_where(options)}"
            if left else "nothing left to train; writing its tables and marking it complete")
    error_console.print(f"[bold]vfibench run --resume[/] {escape(store.name)}: {done} of {len(units)} units "
                        f"finished; {rest}")
    return plan


def _where(options: "object") -> str:
    """``, 2 worker processes`` / ``, Ray tasks at HOST:PORT``: how the units will run, when not in this process."""
    from vfibench.sweep import ExecutorOptions

    assert isinstance(options, ExecutorOptions)
    if options.executor == "ray":
        return f", one Ray task per unit ({options.address or 'a local Ray instance'})"
    if options.jobs and options.jobs > 1:
        return f", up to {options.jobs} worker processes"
    return ""


def _how_units_run(options: "ExecutorOptions", at_a_time: int, threads: int) -> str:
    """``in this process, 2 torch threads`` / ``2 worker processes at a time, 1 torch thread each`` / Ray's."""
    if options.executor == "ray":
        return (f"one Ray task each ({options.address or 'a local Ray instance'}), "
                f"{counted(options.ray_cpus, 'CPU')} and {counted(options.ray_threads, 'torch thread')} per unit")
    if at_a_time > 1:
        return f"{at_a_time} worker processes at a time, {counted(threads, 'torch thread')} each"
    return f"in this process, {counted(threads, 'torch thread')}"


def _print_plan(plan: "object", what: str, options: "ExecutorOptions", store: "RunStore | None" = None) -> None:
    """Print what the sweep would do (``--dry-run``): how its units run (``options``), and a training-time
    estimate timed on this machine with their thread count (not when they run on a Ray cluster) of the
    units left (``store``: the run a resume finishes)."""
    from rich.table import Table
    from rich.text import Text

    from vfibench import dry_run

    configs, rows, notes = dry_run.describe_plan(plan)  # type: ignore[arg-type]
    console.print(f"[bold]vfibench run --dry-run[/]: {escape(what)}; nothing is trained or written.",
                  highlight=False)
    table = Table(title="Configurations", title_justify="left", show_lines=True)
    table.add_column("configuration", style="cyan", overflow="fold")
    table.add_column("terms (weight × term, when active)", overflow="fold")
    for config in configs:
        terms = "\n".join(f"{weight} × {term}, {active}" for weight, term, active in config.terms)
        name = config.canonical if config.expanded == config.canonical else f"{config.canonical}\n= {config.expanded}"
        if config.unavailable:
            terms += f"\nnot trained: {config.unavailable}"
        table.add_row(Text(name), Text(terms))
    console.print(table)
    facts = Table.grid(padding=(0, 1))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    ray = options.executor == "ray"
    at_a_time, threads = (0, options.ray_threads) if ray else options.local_units()
    if ray and options.address is None:  # a local Ray instance: its units run on this machine's cores
        from vfibench.processes import available_cores

        at_a_time = max(1, math.floor(available_cores() / options.ray_cpus)) if options.ray_cpus else 1
    for label, text in [*rows, ("units run", _how_units_run(options, at_a_time, threads))]:
        facts.add_row(label, Text(text))
    console.print(facts)
    for note in notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if ray and options.address is not None:
        console.print("[bold]estimated training time[/]: not estimated — the units run on the Ray cluster's "
                      "machines, not on this one", highlight=False)
        return
    with console.status("Timing a few training steps…"):
        estimate = dry_run.estimate_training(plan, store=store, threads=threads,  # type: ignore[arg-type]
                                             at_a_time=at_a_time)
    if not estimate.seconds_per_step:
        why = (dry_run.diverged_text(estimate.diverged) if estimate.diverged else
               "every trained unit is finished" if store is not None else "no configuration to train")
        console.print(f"[bold]estimated training time[/]: none — {why}", highlight=False)
        return
    slowest = max(estimate.seconds_per_step.items(), key=lambda item: item[1], default=None)
    detail = f"; slowest {slowest[0]} at {slowest[1] * 1000:.0f} ms/step" if slowest else ""
    console.print(f"[bold]estimated training time[/]: about {dry_run.duration_text(estimate.total_seconds)} "
                  f"({escape(estimate.note)}{escape(detail)})", highlight=False)
