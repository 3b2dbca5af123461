"""A sweep: every loss configuration under every seed, evaluated beside the reference rows.

A sweep is a set of independent units — (configuration, seed), a reference row under a seed, a
seed's shared warm start. The package's modules name the jobs:

- :mod:`~vfibench.sweep.plan`: check everything before any work (:func:`plan_sweep`), rebuild an
  unfinished run's plan from its manifest (:func:`plan_resume`);
- :mod:`~vfibench.sweep.manifest`: the settings a run records (:func:`manifest_for`) and reads back
  for a resume (:func:`recorded_settings`);
- :mod:`~vfibench.sweep.data`: the training and test triplets of a plan and each test sample's
  attributes;
- :mod:`~vfibench.sweep.unit`: one unit's picklable description (:class:`UnitSpec`) and the one
  function that runs it anywhere (:func:`run_unit`): train, predict, score, return the result;
- :mod:`~vfibench.sweep.executors`: where units run — in this process, in ``--jobs N`` worker
  processes, or as Ray tasks (:mod:`~vfibench.sweep.ray_executor`, imported only when asked for);
- :mod:`~vfibench.sweep.coordinator`: :func:`run_sweep` — the lock, the atomic writes of each
  result as it arrives, resume and progress;
- :mod:`~vfibench.sweep.interruption`: signals → a resumable run and its exact resume command;
- :mod:`~vfibench.sweep.tables`: the run-level tables gathered from the units.
"""

from vfibench.processes import available_cores
from vfibench.sweep.coordinator import headline, remaining_work, run_sweep, warm_start_path
from vfibench.sweep.executors import Executor, ExecutorError, ExecutorOptions, LocalExecutor, ProcessExecutor
from vfibench.sweep.interruption import (Interrupted, SweepInterrupted, interruption, resume_command,
                                         stop_on_signals)
from vfibench.sweep.listener import SilentListener, SweepListener, WarningListener
from vfibench.sweep.data import attributes_of_test_data, data_for, load_data
from vfibench.sweep.manifest import manifest_for, model_parameters, recorded_settings
from vfibench.sweep.plan import (SweepPlan, check_ambiguity_applies, check_every_step_trains, parse_seeds, plan_resume,
                                 plan_sweep, resolve_device)
from vfibench.sweep.tables import divergence_text, gather, rebuild_tables
from vfibench.sweep.unit import WARM_START_SPEC, UnitResult, UnitSpec, run_unit, score_predictions

__all__ = [
    "WARM_START_SPEC", "Executor", "ExecutorError", "ExecutorOptions", "Interrupted", "LocalExecutor",
    "ProcessExecutor", "SilentListener", "SweepInterrupted", "SweepListener", "SweepPlan", "UnitResult", "UnitSpec",
    "WarningListener",
    "attributes_of_test_data", "available_cores", "check_ambiguity_applies", "check_every_step_trains", "data_for",
    "divergence_text", "gather", "headline", "interruption", "load_data", "manifest_for", "model_parameters",
    "parse_seeds", "plan_resume", "plan_sweep", "rebuild_tables", "recorded_settings", "remaining_work",
    "resolve_device", "resume_command", "run_sweep", "run_unit", "score_predictions", "stop_on_signals", "warm_start_path",
]
