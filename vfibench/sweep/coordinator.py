"""The coordinator: runs a planned sweep through an executor and writes what comes back.

:func:`run_sweep` loads the data, starts the executor, creates (or reopens) the run directory and
holds its lock, then hands the units to the executor in the plan's order — per seed the
references, the shared warm start, then the trained configurations, which wait for their seed's
warm start — as fast as the executor takes them (longest first when it runs several at once:
:mod:`vfibench.sweep.costs`), and writes each result atomically as it arrives.
Only the coordinator writes the run directory, so units may run in other processes or on other
machines. Every unit is trained from its seed alone, so a resumed sweep (:func:`plan_resume`), run by
any executor, completes with the tables of an uninterrupted one.

Interruptions (:mod:`vfibench.sweep.interruption`): a SIGINT or SIGTERM cancels the units in
progress, rewrites the tables of the finished ones, marks the manifest "interrupted" and raises
:class:`SweepInterrupted` with the resume command.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch

from vfibench import tensorboard_log
from vfibench.data.sources import content_overlap
from vfibench.errors import ResultsError, describe_os_error
from vfibench.metrics.records import metric_record, record_names
from vfibench.references import REFERENCES
from vfibench.results import atomic
from vfibench.results.numbers import format_number
from vfibench.results.schema import (COMPLETE, FAILED, HELD_OUT_METRICS, INTERRUPTED, RUNNING,
                                     SAMPLE_ATTRIBUTES as ATTRIBUTES)
from vfibench.results.store import REPORT_DIR, RunStore, UnitKey, report_command, tensorboard_option
from vfibench.sweep.costs import unit_cost
from vfibench.sweep.data import attributes_of_test_data, check_same_data, data_fingerprints, data_for
from vfibench.sweep.executors import Executor, ExecutorError, LocalExecutor
from vfibench.sweep.interruption import (Interrupted, interrupted_before_start, interruption, raise_if_stopped,
                                         resume_command, signum_of, stops_deferred)
from vfibench.sweep.listener import SilentListener, SweepListener
from vfibench.sweep.manifest import manifest_for, tensorboard_folder
from vfibench.sweep.plan import SweepPlan
from vfibench.sweep.tables import gather
from vfibench.sweep.unit import COMPLETE as UNIT_COMPLETE, DIVERGED, REFERENCE, TRAINED, \
    WARM_START, WARM_START_SPEC, UnitResult, UnitSpec, failed_result
from vfibench.train import TrainState, fix_cublas_workspace
from vfibench.words import counted, join_words


def run_sweep(plan: SweepPlan, listener: SweepListener | None = None, store: RunStore | None = None,
              executor: Executor | None = None) -> RunStore:
    """Train and evaluate every unit of ``plan`` with ``executor`` (default: :class:`LocalExecutor`,
    every unit in this process); ``store`` continues an existing run (resume).

    The run directory is locked for the whole sweep (:meth:`RunStore.lock`). Only once every unit is
    finished is the manifest marked complete and ``<out>/latest`` pointed at the run. A SIGINT
    (KeyboardInterrupt) or an :class:`Interrupted` from :func:`stop_on_signals` cancels the units in
    progress, rewrites the tables of the finished units, marks the manifest "interrupted" and raises
    :class:`SweepInterrupted`.
    """
    listener = listener or SilentListener()
    executor = executor or LocalExecutor()
    fix_cublas_workspace()  # before any unit's CUDA work; --jobs workers inherit it, Ray tasks set their own
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        listener.phase(f"Loading the training data ({plan.train_data}) and test data ({plan.test_data})", total=2)
        train, test = data_for(plan, listener.advance)  # before the run directory exists: bad data leaves nothing
        listener.advance()
        left = units_to_run(plan, store)
        training = store is None or remaining_work(plan, store)[0] > 0  # else no note on how units train
        settle_validation(plan, len(test), listener.note if training else lambda _: None)
        note = single_log_row_note(plan.preset.log_every, plan.preset.steps, plan.warm_start, plan.val_samples)
        if note and training:
            listener.note(note)
        overlap = content_overlap(plan.train_data, plan.test_data)
        if overlap:
            listener.note(f"{overlap[:1].upper()}{overlap[1:]}. Train or test on other data (--train-data, "
                          f"--test-data) to measure generalisation.")
        plan.attributes = attributes_of_test_data(plan, test)
        plan.loaded = {"train": len(train), "test": len(test)}
        if not plan.fingerprints:  # a resume took them when it was planned
            plan.fingerprints = data_fingerprints(plan)
        check_same_data(plan)  # a resumed run's data must be what its manifest recorded
        timings["data"] = time.perf_counter() - started
        try:
            executor.start(train, test, listener.step,  # a cluster that cannot be reached leaves nothing either
                           units=left)
            plan.executor = executor.record()
            if plan.resumed:  # this session's; the manifest's own "executor" stays the first session's
                plan.resumed[-1]["executor"] = plan.executor
                plan.resumed[-1]["tensorboard"] = tensorboard_folder(plan)
            if store is None:
                atomic.check_writable_folder(plan.out, "--out")
                try:
                    store = RunStore.create(plan.out)
                except OSError as err:
                    raise ResultsError(describe_os_error(err, "creating the run directory")) from None
            else:
                atomic.check_writable_folder(store.root, "The run directory")
            plan.store = store
            _run_locked(plan, store, listener, executor, test, timings, started)
        finally:
            _close(executor)
    except (KeyboardInterrupt, Interrupted) as stop:  # outside the units: the run (if any) keeps what it has
        raise interrupted_before_start(signum_of(stop), store, [*getattr(executor, "options", ()),
                                                                *tensorboard_option(plan.tensorboard)]) from None
    return store


def settle_validation(plan: SweepPlan, test_count: int, note: Callable[[str], None]) -> None:
    """Fix the held-out subset the run scores and its manifest records: none without a held-out metric
    among the run's (available) metrics, at most the test set. ``note`` says so when --val-samples was
    given (the default is settled silently)."""
    if plan.val_asked is None:
        plan.val_asked = plan.val_samples
    if not any(m in plan.metrics for m in HELD_OUT_METRICS):  # nothing to score on the held-out scenes
        if plan.val_samples and plan.val_given:
            labels = join_words([metric_record(m).label for m in HELD_OUT_METRICS])
            skipped = [metric_record(m).label for m in HELD_OUT_METRICS if m in plan.unavailable_metrics]
            why = (f"{join_words(skipped)} {'is' if len(skipped) == 1 else 'are'} unavailable" if skipped
                   else "--metrics measures neither")
            note(f"--val-samples {plan.val_asked}: held-out scores are {labels}, and {why}, so none are logged "
                 f"during training.")
        plan.val_samples = 0
    plan.val_samples = min(plan.val_samples, test_count)
    if plan.val_asked > test_count and plan.val_samples and plan.val_given:
        note(f"--val-samples {plan.val_asked}: the test data holds {counted(test_count, 'triplet')}, so validation "
             f"during training scores all of them.")


def single_log_row_note(every: int, steps: int, warm_start: int, val_samples: int) -> str:
    """A note when a configuration's training log would have one row: no multiple of ``every`` falls
    after the warm start and before the last step, which is always logged."""
    if (warm_start // every + 1) * every < steps:
        return ""
    trained = f"the {steps - warm_start} steps after the {warm_start}-step warm start" if warm_start else \
        f"the {steps} training steps"
    held_out = ", and held-out metrics are scored only there" if val_samples else ""
    return (f"--log-every {every}: {trained} log one row, at the last step{held_out}. A smaller --log-every "
            f"draws training curves.")


def _close(executor: Executor) -> None:
    """Close the executor; an interrupt during that only makes it end its units at once."""
    try:
        executor.close()
    except (KeyboardInterrupt, Interrupted):
        executor.cancel()


def _run_locked(plan: SweepPlan, store: RunStore, listener: SweepListener, executor: Executor, test: Any,
                timings: dict[str, float], started: float) -> None:
    try:
        with store.lock():
            try:
                store.remove_temporaries()
                store.write_manifest(manifest_for(plan, store, RUNNING, timings))
                try:
                    _Coordinator(plan, store, listener, executor, test).run()
                    raise_if_stopped()
                    timings["total"] = time.perf_counter() - started
                    gather(store, plan)
                    with stops_deferred():  # a stop now comes after: the caller raises it (raise_if_stopped)
                        store.write_manifest(manifest_for(plan, store, COMPLETE, timings))
                        store.mark_latest()
                        if store.drop_report():  # written while the sweep ran, it calls the run unfinished
                            listener.note(f"removed the report written while the sweep ran "
                                          f"({store.path(REPORT_DIR)}): it showed the run unfinished; "
                                          f"`{report_command(store)}` writes it anew.")
                except (KeyboardInterrupt, Interrupted) as stop:
                    executor.cancel()
                    gather(store, plan)
                    store.write_manifest(manifest_for(plan, store, INTERRUPTED, timings))
                    raise interruption(plan, store, signum_of(stop)) from None
                except ExecutorError as err:
                    executor.cancel()
                    gather(store, plan)
                    store.write_manifest({**manifest_for(plan, store, FAILED, timings), "reason": str(err)})
                    raise ExecutorError(f"{err} The units finished so far are kept; finish the run with: "
                                        f"{resume_command(plan, store)}") from None
                except ResultsError as err:  # a damaged file of the run: not left "running" when nothing runs
                    executor.cancel()
                    store.write_manifest({**store.read_manifest(), "status": FAILED, "reason": str(err)})
                    raise
            except OSError as err:
                executor.cancel()
                raise _write_failure(plan, store, timings, err) from None
    except OSError as err:  # the lock file itself could not be opened
        raise ResultsError(describe_os_error(err, f"locking the run '{store.root}'")) from None


@dataclass
class _Task:
    """A unit waiting to be run, with its place in the plan's order."""

    order: int
    spec: UnitSpec


@dataclass
class _Coordinator:
    """Hands a sweep's missing units to an executor (in the plan's order, or longest first) and writes their results."""

    plan: SweepPlan
    store: RunStore
    listener: SweepListener
    executor: Executor
    test: Any
    ready: list[_Task] = field(default_factory=list)
    waiting: dict[int, list[_Task]] = field(default_factory=dict)  # seed → units waiting for its warm start
    running: dict[int, _Task] = field(default_factory=dict)  # executor ticket → task
    warm: dict[int, Any] = field(default_factory=dict)  # seed → the executor's handle of its warm start
    written: set[UnitKey] = field(default_factory=set)
    announced: set[int] = field(default_factory=set)  # seeds whose references were announced
    tensorboard_failed: bool = False  # after a failed write, no unit is written to --tensorboard

    def run(self) -> None:
        self.listener.sweep_started(*remaining_work(self.plan, self.store))
        self._plan_tasks()
        while self.ready or self.running:
            while self.ready and len(self.running) < self.executor.capacity:
                task = self._next_task()
                self._announce(task)
                ticket = self.executor.submit(task.spec, self.warm.get(task.spec.seed)
                                              if task.spec.kind == TRAINED else None)
                self.running[ticket] = task
            ticket, result = self.executor.next_result()
            self._record(self.running.pop(ticket), result)
            raise_if_stopped()

    def _next_task(self) -> _Task:
        """The unit to start next: the plan's next one; when the executor runs several at once, the
        one with the most estimated work (:func:`vfibench.sweep.costs.unit_cost`; ties in the plan's
        order), so that no costly unit is left to run alone at the end."""
        index = 0
        if self.executor.capacity > 1:
            index = max(range(len(self.ready)), key=lambda i: (unit_cost(self.ready[i].spec), -self.ready[i].order))
        return self.ready.pop(index)

    # -- planning ---------------------------------------------------------------------------------
    def _spec(self, config: str, seed: int, kind: str) -> UnitSpec:
        plan = self.plan
        return UnitSpec(config=config, seed=seed, kind=kind, preset=plan.preset, warm_start=plan.warm_start,
                        metrics=tuple(plan.metrics), unavailable_metrics=tuple(plan.unavailable_metrics),
                        device=str(plan.device), precision=plan.precision, threads=self.executor.threads_per_unit,
                        val_samples=plan.val_samples,
                        preview_frames=tensorboard_log.FRAMES if plan.tensorboard is not None and kind == TRAINED
                        else 0, train_data=plan.train_data, test_data=plan.test_data, data_seed=plan.data_seed)

    def _plan_tasks(self) -> None:
        """The missing units in the plan's order: per seed the references, the warm start, the trained units."""
        order = 0
        for seed in self.plan.seeds:
            for name in REFERENCES:
                if self.store.unit_info(UnitKey(name, seed, REFERENCE)) is None:
                    self.ready.append(_Task(order, self._spec(name, seed, REFERENCE)))
                order += 1
            trained = [_Task(order + 1 + i, self._spec(c.canonical, seed, TRAINED))
                       for i, c in enumerate(self.plan.trained) if self.store.unit_info(UnitKey(c.canonical, seed)) is None]
            if trained and self.plan.warm_start:
                cached = self._cached_warm_start(seed)
                if cached is None:
                    self.ready.append(_Task(order, self._spec(WARM_START_SPEC, seed, WARM_START)))
                    self.waiting[seed] = trained
                    trained = []
                else:
                    self.warm[seed] = self.executor.share(cached)
            self.ready.extend(trained)
            order += 1 + len(self.plan.trained)

    def _cached_warm_start(self, seed: int) -> TrainState | None:
        """The warm start of ``seed`` a previous session of this run cached, if any."""
        path = warm_start_path(self.store, seed)
        if not path.is_file():
            return None
        try:
            return TrainState(**torch.load(path, map_location="cpu", weights_only=True))
        except Exception as err:  # any unpickling failure means the same thing: a damaged file
            cause = (str(err).strip().splitlines() or [""])[0]  # torch adds paragraphs of advice about pickles
            raise ResultsError(
                f"The cached warm start '{path}' cannot be loaded ({type(err).__name__}: {cause}). It was damaged "
                f"or replaced; delete it to have `{resume_command(self.plan, self.store)}` train it again."
            ) from None

    # -- progress ---------------------------------------------------------------------------------
    def _announce(self, task: _Task) -> None:
        spec = task.spec
        if spec.kind == REFERENCE:
            if spec.seed not in self.announced:
                self.announced.add(spec.seed)
                pending = [t.spec.config for t in [task, *self.ready] if t.spec.kind == REFERENCE
                           and t.spec.seed == spec.seed]
                self.listener.phase(f"Evaluating the references {', '.join(pending)} (seed {spec.seed})",
                                    total=len(pending))
        elif spec.kind == WARM_START:
            self.listener.unit_started(spec.label, spec.warm_start)
        else:
            self.listener.unit_started(spec.label, spec.preset.steps - spec.warm_start)

    # -- results ----------------------------------------------------------------------------------
    def _record(self, task: _Task, result: UnitResult) -> None:
        spec = task.spec
        if spec.kind == WARM_START:
            self._record_warm_start(spec, result)
            return
        key = spec.key
        if key in self.written or self.store.unit_info(key) is not None:
            return  # a unit is written once, whatever an executor hands back twice
        self.written.add(key)
        if spec.kind == REFERENCE:
            self.store.write_unit(key, result.info, self._with_attributes(result.per_sample))
            self.listener.advance()
            self._drop_stale_report()
            return
        if result.status == UNIT_COMPLETE:
            per_sample = self._with_attributes(result.per_sample)
            self.store.write_unit(key, result.info, per_sample, result.train_log, result.model_state)
            self._log_to_tensorboard(spec, result, frames=True)
            outcome = headline(per_sample, result.seconds, result.info["eval_seconds"])
        elif result.status == DIVERGED:
            self.store.write_unit(key, result.info, None, result.train_log)
            self._log_to_tensorboard(spec, result, frames=False)  # its log up to the divergence, as train_log.csv
            outcome = f"diverged at step {result.info['diverged_at']} ({result.info.get('divergence')})"
        else:
            self.store.write_unit(key, result.info, None)
            outcome = f"failed ({(result.error or '')[:200]})"
        self.listener.unit_finished(spec.label, outcome)
        gather(self.store, self.plan)
        self._drop_stale_report()

    def _log_to_tensorboard(self, spec: UnitSpec, result: UnitResult, frames: bool) -> None:
        """Write a unit's training log (and, with ``frames``, its sample frames) under --tensorboard. A
        failure there is one note and ends the TensorBoard logging: the unit is already in the run."""
        if self.plan.tensorboard is None or self.tensorboard_failed:
            return
        try:
            tensorboard_log.write_unit(self.plan.tensorboard, self.store.name, spec.config, spec.seed,
                                       result.log_rows, self.test.it[: tensorboard_log.FRAMES] if frames else None,
                                       result.preview if frames else None)
        except OSError as err:
            self.tensorboard_failed = True
            where = f" '{err.filename}'" if err.filename else ""
            self.listener.note(f"TensorBoard logging stopped: the file system refused{where} while writing "
                               f"{spec.label} under --tensorboard ({err.strerror or err}). The run's tables are "
                               f"unaffected, and its train_log.csv holds the same values; later units are not "
                               f"written to TensorBoard.")

    def _drop_stale_report(self) -> None:
        """Remove a report written before this unit (before a resume, or during the sweep): it would go on
        saying units are missing that the run now has."""
        if self.store.drop_report():
            self.listener.note(f"removed the report written earlier ({self.store.path(REPORT_DIR)}): it showed the "
                               f"run before this unit; `{report_command(self.store)}` writes it anew once the run "
                               f"has finished.")

    def _record_warm_start(self, spec: UnitSpec, result: UnitResult) -> None:
        """Cache a seed's warm start and release its units; if it failed, they fail with it."""
        dependents = self.waiting.pop(spec.seed, [])
        if result.status == UNIT_COMPLETE and result.warm_state is not None:
            atomic.write_torch(warm_start_path(self.store, spec.seed), vars(result.warm_state))
            self.listener.unit_finished(spec.label, f"{result.seconds:.0f}s")
            self.warm[spec.seed] = self.executor.share(result.warm_state)
            self.ready = sorted([*self.ready, *dependents], key=lambda t: t.order)
            return
        why = (f"its seed's shared {WARM_START_SPEC} warm start diverged at step {result.info.get('diverged_at')}"
               if result.status == DIVERGED else f"its seed's shared {WARM_START_SPEC} warm start failed: {result.error}")
        self.listener.unit_finished(spec.label, why)
        for task in dependents:
            self._record(task, failed_result(task.spec, f"WarmStartFailed: {why}"))

    def _with_attributes(self, per_sample: pd.DataFrame | None) -> pd.DataFrame | None:
        """A unit's per-sample rows with what made each test sample hard (NaN where unknown)."""
        if per_sample is None:
            return None
        attributes = self.plan.attributes if self.plan.attributes is not None else pd.DataFrame(columns=list(ATTRIBUTES))
        for name in ATTRIBUTES:
            per_sample[name] = attributes[name].to_numpy() if len(attributes) == len(per_sample) else float("nan")
        return per_sample


def warm_start_path(store: RunStore, seed: int) -> Any:
    """Where a run caches the shared warm start of ``seed``."""
    return store.root / "warm_start" / f"seed{seed}.pt"


def needs_warm_start(plan: SweepPlan, store: RunStore | None, seed: int, trains: bool) -> bool:
    """Whether ``seed``'s shared warm start is still to train: the plan has one, the seed has a trained
    unit to run (``trains``) and ``store`` (None: a new run) has not cached it."""
    return bool(plan.warm_start) and trains and (store is None or not warm_start_path(store, seed).is_file())


def units_to_run(plan: SweepPlan, store: RunStore | None) -> int:
    """How many units the sweep may still hand its executor: the plan's units that ``store`` (None: a
    new run) lacks, and the warm starts still to train."""
    missing = [key for key in plan.units() if store is None or store.unit_info(key) is None]
    seeds = {key.seed for key in missing if key.kind == TRAINED}
    return len(missing) + sum(needs_warm_start(plan, store, seed, True) for seed in seeds)


def remaining_work(plan: SweepPlan, store: RunStore) -> tuple[int, int]:
    """(trained units still to run, their training steps in all, warm starts still to train included)."""
    units, steps = 0, 0
    for seed in plan.seeds:
        todo = [c for c in plan.trained if store.unit_info(UnitKey(c.canonical, seed)) is None]
        units += len(todo)
        steps += len(todo) * (plan.preset.steps - plan.warm_start)
        if needs_warm_start(plan, store, seed, bool(todo)):
            steps += plan.warm_start
    return units, steps


#: The metrics a finished unit's progress line shows, where the run scores them (else its first metric).
HEADLINE_METRICS = ("psnr", "lpips", "dists")


def headline(per_sample: pd.DataFrame, train_seconds: float, eval_seconds: float) -> str:
    """``PSNR 30.44 dB, LPIPS 0.0430; trained 12s, scored 1s``: what a finished unit reports (each mean
    printed as the tables print it)."""
    scored = [name for name in record_names() if name in per_sample and per_sample[name].notna().any()]
    shown = [name for name in HEADLINE_METRICS if name in scored] or scored[:1]  # else the first the run scores
    parts = []
    for name in shown:
        record = metric_record(name)
        unit = f" {record.unit}" if record.unit else ""
        parts.append(f"{record.label} {format_number(float(per_sample[name].mean()), name)}{unit}")
    return ", ".join(parts) + f"; trained {train_seconds:.0f}s, scored {eval_seconds:.0f}s"


def _write_failure(plan: SweepPlan, store: RunStore, timings: dict[str, float], err: OSError) -> ResultsError:
    """Mark the manifest failed with the file-system error as its reason (if the disk still allows it),
    and return the error that tells the user what happened and how to finish the run."""
    message = describe_os_error(err, f"writing the run '{store.root}'")
    with contextlib.suppress(OSError):
        store.write_manifest({**manifest_for(plan, store, FAILED, timings), "reason": message})
    return ResultsError(f"{message} The units finished so far are kept; once fixed, finish the run with: "
                        f"{resume_command(plan, store)}")
