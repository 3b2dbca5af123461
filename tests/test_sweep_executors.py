"""Executors: worker processes (--jobs) and Ray tasks give the tables of the in-process sweep, and a
failing unit, a lost worker or an interruption never loses the other units.

Every sweep is the smoke preset cut to three steps after a one-step shared warm start, scored on
PSNR, two configurations × two seeds, one torch thread per unit (so every executor computes
bit-identical numbers). The Ray tests share one local Ray instance (two CPUs) per module; they
are skipped where Ray is not installed (in CI, which installs the extra, the suite stops instead:
conftest.py).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.data.synthetic import make_synthetic
from vfibench.data.triplets import Triplets
from vfibench.errors import VfiBenchError
from vfibench.presets import get_preset
from vfibench.results.schema import INTERRUPTED, read_csv
from vfibench.results.store import RunStore, UnitKey
from vfibench.sweep import (ExecutorError, ExecutorOptions, LocalExecutor, ProcessExecutor, SilentListener,
                            SweepInterrupted, plan_sweep, run_sweep)
from vfibench.sweep.coordinator import units_to_run, warm_start_path
from vfibench.sweep.interruption import Interrupted
from vfibench.sweep.unit import UnitResult, UnitSpec

PRESET = get_preset("smoke").with_overrides(steps=3, log_every=1)
LOSSES, SEEDS, WARM = "l1,l2", [0, 1], 1
#: The gathered tables every executor must write identically.
TABLES = ("summary.csv", "per_sample.csv", "train_log.csv")
CLI_SWEEP = ["--preset", "smoke", "--steps", "3", "--log-every", "1", "--warm-start", str(WARM), "--losses", LOSSES,
             "--seeds", "0,1", "--metrics", "psnr", "--device", "cpu"]
runner = CliRunner()


def tiny_plan(out: Path, losses: str = LOSSES, seeds: list[int] = SEEDS, warm_start: int = WARM):
    return plan_sweep(losses, PRESET, seeds, out=out, device="cpu", metrics=["psnr"], warm_start=warm_start)


def assert_same_tables(store: RunStore, reference: RunStore) -> None:
    for table in TABLES:
        assert store.path(table).read_bytes() == reference.path(table).read_bytes(), table
    compared = runner.invoke(app, ["compare", str(store.root), str(reference.root), "--two-sided"])
    assert compared.exit_code == 0, compared.output


@pytest.fixture(autouse=True)
def two_cores_at_least(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests run --jobs 2, which is refused where fewer than two cores may be used; a machine with
    one core still runs them (one torch thread per unit, slowly)."""
    from vfibench.processes import available_cores

    cores = available_cores()
    monkeypatch.setattr("vfibench.sweep.executors.available_cores", lambda: max(2, cores))


@pytest.fixture
def two_scenes() -> Triplets:
    """Two small synthetic test scenes: the data an executor is started with where no unit runs on it."""
    return make_synthetic("test", 2, size=32, seed=0)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    """The reference: every unit in this process (one torch thread, as the suite's conftest sets)."""
    return run_sweep(tiny_plan(tmp_path_factory.mktemp("local")))


class Recording(ProcessExecutor):
    """A ProcessExecutor that keeps every result it hands back (to see where and when units ran) and
    every worker process it started."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.results: list[UnitResult] = []
        self.processes: list[Any] = []

    def _launch(self) -> Any:
        worker = super()._launch()
        self.processes.append(worker.process)
        return worker

    def next_result(self) -> tuple[int, UnitResult]:
        ticket, result = super().next_result()
        self.results.append(result)
        return ticket, result


def count_writes(monkeypatch: pytest.MonkeyPatch) -> Counter[UnitKey]:
    """How often each unit is written from now on."""
    writes: Counter[UnitKey] = Counter()
    real = RunStore.write_unit

    def counting(self: RunStore, key: UnitKey, *args: Any, **kwargs: Any) -> None:
        writes[key] += 1
        real(self, key, *args, **kwargs)

    monkeypatch.setattr(RunStore, "write_unit", counting)
    return writes


class Sabotaged:
    """Hands ``victim``'s trained units to ``inner`` under a loss name that does not exist, so they
    raise inside the unit, wherever it runs."""

    def __init__(self, inner: Any, victim: str) -> None:
        self.inner, self.victim = inner, victim

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def submit(self, spec: UnitSpec, warm: Any = None) -> int:
        if spec.config == self.victim and spec.kind == "trained":
            spec = dataclasses.replace(spec, config="no_such_loss")
        return self.inner.submit(spec, warm)


def ray_or_skip() -> Any:
    try:
        import ray
    except ImportError:
        pytest.skip("Ray is not installed (pip install 'vfibench[ray]')")
    return ray


@pytest.fixture(scope="module")
def ray_cluster() -> Any:
    """One local Ray instance for the module: two CPUs, no dashboard, its own short temp folder."""
    ray = ray_or_skip()
    folder = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=folder,
             object_store_memory=200 * 1024 * 1024)
    yield ray
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


def executor_named(name: str, request: pytest.FixtureRequest) -> Any:
    if name == "local":
        return LocalExecutor()
    if name == "jobs":
        return ProcessExecutor(2, threads=1)
    request.getfixturevalue("ray_cluster")
    return ExecutorOptions("ray", cpus_per_unit=1).build()


# -- the same tables, whichever executor -----------------------------------------------------------

def test_jobs_2_gives_the_tables_of_one_process_and_runs_two_units_at_once(tmp_path: Path,
                                                                          local_run: RunStore) -> None:
    executor = Recording(2, threads=1)
    store = run_sweep(tiny_plan(tmp_path), executor=executor)
    assert_same_tables(store, local_run)
    record = store.read_manifest()["executor"]
    assert record["jobs"] == 2 and record["workers"] == 2 and record["threads_per_unit"] == 1
    assert record["start_method"] == "spawn"
    results = executor.results
    assert len({r.worker for r in results}) == 2 and str(os.getpid()) not in {r.worker.split(":")[1] for r in results}
    assert any(a.worker != b.worker and a.started_at < b.finished_at and b.started_at < a.finished_at
               for a, b in itertools.combinations(results, 2)), "no two units ran at the same time"
    assert sum(r.spec.kind == "warm_start" for r in results) == 2  # once per seed, shared by its units


def test_a_jobs_worker_killed_mid_unit_is_replaced_and_the_unit_run_again(tmp_path: Path, local_run: RunStore,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    class KillFirstTrained(ProcessExecutor):
        killed: int | None = None

        def submit(self, spec: UnitSpec, warm: Any = None) -> int:
            ticket = super().submit(spec, warm)
            if spec.kind == "trained" and self.killed is None:
                worker = next(w for w in self._workers if w.task is not None and w.task[0] == ticket)
                self.killed = worker.process.pid
                os.kill(worker.process.pid, signal.SIGKILL)
            return ticket

    writes = count_writes(monkeypatch)
    executor = KillFirstTrained(2, threads=1)
    store = run_sweep(tiny_plan(tmp_path), executor=executor)
    assert executor.killed is not None
    assert_same_tables(store, local_run)
    assert len(writes) == 8 and set(writes.values()) == {1}


def test_a_unit_whose_worker_keeps_dying_is_recorded_failed_and_the_others_finish(tmp_path: Path) -> None:
    class KillL2(ProcessExecutor):
        def submit(self, spec: UnitSpec, warm: Any = None) -> int:
            ticket = super().submit(spec, warm)
            if spec.config == "l2":
                os.kill(next(w for w in self._workers if w.task and w.task[0] == ticket).process.pid, signal.SIGKILL)
            return ticket

    store = run_sweep(tiny_plan(tmp_path, seeds=[0], warm_start=0), executor=KillL2(2, threads=1, max_retries=0))
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary.loc["l1", "status"] == "complete" and summary.loc["l2", "status"] == "failed"
    assert "WorkerLost: its worker process died (killed by SIGKILL)" in summary.loc["l2", "reason"]
    assert store.read_manifest()["status"] == "complete"


@pytest.mark.parametrize("name", ["local", "jobs", pytest.param("ray", marks=pytest.mark.ray)])
def test_a_unit_that_raises_is_failed_a_diverging_one_diverged_and_the_others_finish(
        name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    executor = Sabotaged(executor_named(name, request), victim="l2")
    store = run_sweep(tiny_plan(tmp_path, losses="l1,l2,1e40*l2", seeds=[0], warm_start=0), executor=executor)
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary["status"].to_dict() == {"l1": "complete", "l2": "failed", "1e+40*l2": "diverged",
                                           "blend": "complete", "nearest": "complete"}
    assert "SpecError" in summary.loc["l2", "reason"] and "no_such_loss" in summary.loc["l2", "reason"]
    assert summary.loc["1e+40*l2", "reason"].startswith("at step 1 of 3 (seed 0)")
    assert summary.loc["l1", "psnr_mean"] > 10
    assert store.read_manifest()["status"] == "complete"


# -- interruptions -----------------------------------------------------------------------------------

class StopAfterFirstTrained(SilentListener):
    """Simulates Ctrl-C as soon as the first trained unit has been written."""

    def unit_finished(self, label: str, outcome: str) -> None:
        if not label.startswith("warm start"):
            raise KeyboardInterrupt


def test_ctrl_c_ends_the_jobs_workers_and_the_run_resumes_in_one_process(tmp_path: Path, local_run: RunStore) -> None:
    executor = Recording(2, threads=1, options=tuple(ExecutorOptions(jobs=2, threads=1).command_line()))
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(tiny_plan(tmp_path), StopAfterFirstTrained(), executor=executor)
    error = stopped.value
    assert error.exit_code == 130 and error.store.read_manifest()["status"] == INTERRUPTED
    assert error.resume == f"vfibench run --resume {error.store.name} --out {tmp_path} --jobs 2 --threads 1"
    assert executor.processes and not any(process.is_alive() for process in executor.processes)
    result = runner.invoke(app, ["run", "--resume", error.store.name, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert_same_tables(error.store, local_run)
    resumed = error.store.read_manifest()["resumed"]
    assert resumed[-1]["executor"]["name"] == "local" and resumed[-1]["from_status"] == INTERRUPTED
    assert error.store.read_manifest()["executor"]["jobs"] == 2  # the first session's, kept


def test_a_resumed_run_trains_its_remaining_units_with_the_run_s_threads(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread count changes what a CPU unit trains to, so --resume keeps the run's, whatever the executor."""
    monkeypatch.setattr("vfibench.sweep.executors.available_cores", lambda: 2)
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(tiny_plan(tmp_path / "resumed"), StopAfterFirstTrained(), executor=LocalExecutor(threads=2))
    store = stopped.value.store
    resume = ["run", "--resume", store.name, "--out", str(tmp_path / "resumed")]
    refused = runner.invoke(app, [*resume, "--jobs", "2"])
    assert refused.exit_code == 2 and "trained with 2 torch threads each" in refused.output
    assert "Resume with --jobs 1" in " ".join(refused.output.split())
    refused = runner.invoke(app, [*resume, "--threads", "1"])
    assert refused.exit_code == 2 and "Resume with --threads 2" in " ".join(refused.output.split())
    refused = runner.invoke(app, [*resume, "--jobs", "2", "--threads", "2"])  # the run's threads, too many jobs
    assert refused.exit_code == 2 and "Resume with --jobs 1" in " ".join(refused.output.split())
    assert store.read_manifest()["status"] == INTERRUPTED  # refused before any work
    finished = runner.invoke(app, resume)
    assert finished.exit_code == 0, finished.output
    assert store.read_manifest()["executor"]["threads_per_unit"] == 2
    assert_same_tables(store, run_sweep(tiny_plan(tmp_path / "straight"), executor=LocalExecutor(threads=2)))


def test_resuming_keeps_the_run_s_threads_under_the_rule_a_new_run_obeys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vfibench.sweep.executors.available_cores", lambda: 2)
    assert ExecutorOptions("ray", cpus_per_unit=2).resuming(2) == ExecutorOptions("ray", cpus_per_unit=2, threads=2)
    with pytest.raises(VfiBenchError, match="Resume with --cpus-per-unit 2, so that Ray reserves"):
        ExecutorOptions("ray").resuming(2)
    # a run on half a CPU per unit trained with one thread, and its printed resume command gives it back
    half = ExecutorOptions("ray", cpus_per_unit=0.5)
    assert half.resuming(1) == ExecutorOptions("ray", cpus_per_unit=0.5, threads=1)
    with pytest.raises(VfiBenchError, match="at least 4 cores"):
        ExecutorOptions().resuming(4)  # one process cannot give 4 threads on 2 cores either
    assert ExecutorOptions(jobs=2).resuming(1) == ExecutorOptions(jobs=2, threads=1)  # as a new --jobs 2 run
    assert ExecutorOptions(jobs=2).resuming(None) == ExecutorOptions(jobs=2)


def test_only_a_cpu_run_s_threads_are_kept() -> None:
    from vfibench.results.schema import training_threads

    assert training_threads({"device": "cpu", "executor": {"threads_per_unit": 2}}) == 2
    assert training_threads({"device": "cuda:0", "executor": {"threads_per_unit": 16}}) is None
    assert training_threads({"device": "cpu"}) is None  # a manifest without the record


# -- options -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "expected"), [
    (["--jobs", "0"], "--jobs 0: give the number of worker processes, 1 or more"),
    (["--gpus-per-unit", "1"], "--gpus-per-unit is an option of Ray tasks: it needs --executor ray"),
    (["--address", "HEAD:6379", "--cpus-per-unit", "2"], "--address and --cpus-per-unit are options of Ray tasks"),
    (["--jobs", "2", "--threads", "64"], "torch threads, but this process may use"),
    (["--threads", "64"], "--threads 64: this process may use"),
    (["--threads", "0"], "--threads 0: give the torch threads per unit"),
    (["--precision", "fp16"], "--precision fp16 trains with a CUDA gradient scaler, but the device is cpu"),
    (["--executor", "ray", "--cpus-per-unit", "nan"], "'--cpus-per-unit': nan is not a finite number"),
    (["--executor", "ray", "--gpus-per-unit", "inf"], "'--gpus-per-unit': inf is not a finite number"),
    (["--executor", "ray", "--threads", "4"], "--threads 4 with --cpus-per-unit 1: each unit would compute"),
    (["--executor", "ray", "--threads", "4", "--cpus-per-unit", "2"], "Give --cpus-per-unit 4"),
    (["--executor", "ray", "--threads", "2", "--cpus-per-unit", "0.5"], "--threads 2 with --cpus-per-unit 0.5"),
])
def test_executor_and_precision_options_are_checked_before_any_work(tmp_path: Path, args: list[str],
                                                                   expected: str) -> None:
    result = runner.invoke(app, ["run", *CLI_SWEEP, "--out", str(tmp_path / "out"), *args])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and expected in text and "Traceback" not in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("executor", ["local", "ray"])
@pytest.mark.parametrize("device", ["Garbage", "cpu:0"])
def test_an_unknown_device_is_refused_on_ray_as_it_is_locally(tmp_path: Path, device: str, executor: str) -> None:
    # on Ray any name but cuda… became the CPU
    if executor == "ray":
        ray_or_skip()
    args = ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr", "--out", str(tmp_path / "out"),
            "--device", device, "--dry-run", "--executor", executor]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and f"Unknown device '{device}'" in result.output, result.output


def _warning_tensor(message: str) -> str:
    """Unpickled, warns as torch 2.4 warns for every tensor it unpickles (through torch.load)."""
    import warnings

    warnings.warn(message, FutureWarning, stacklevel=2)
    return "tensor"


class _LikeATensor:
    def __init__(self, message: str) -> None:
        self.message = message

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _warning_tensor, (self.message,)


def test_a_workers_messages_unpickle_without_torchs_weights_only_warning_and_other_warnings_stay() -> None:
    import pickle
    import warnings

    from vfibench.sweep.executors import unpickle_message

    torch_says = ("You are using `torch.load` with `weights_only=False` (the current default value), which uses "
                  "the default pickle module implicitly.")
    message = pickle.dumps((1, _LikeATensor(torch_says)))
    with pytest.warns(FutureWarning, match="weights_only=False"):
        pickle.loads(message)  # what each worker and the coordinator printed, once per unit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert unpickle_message(message) == (1, "tensor")
    with pytest.warns(FutureWarning, match="something else"):
        unpickle_message(pickle.dumps(_LikeATensor("something else")))


def test_more_jobs_than_cores_are_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vfibench.sweep.executors.available_cores", lambda: 2)
    result = runner.invoke(app, ["run", *CLI_SWEEP, "--out", str(tmp_path / "out"), "--jobs", "3"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "--jobs 3: this process may use 2 cores" in text and "Give --jobs 2 or fewer" in text
    assert not (tmp_path / "out").exists()


def test_a_sweep_counts_the_units_it_may_still_hand_its_executor(tmp_path: Path, local_run: RunStore) -> None:
    plan = tiny_plan(tmp_path)
    assert units_to_run(plan, None) == len(plan.units()) + len(SEEDS)  # and a warm start per seed
    assert units_to_run(plan, local_run) == 0
    assert units_to_run(tiny_plan(tmp_path, warm_start=0), None) == len(plan.units())
    store = RunStore(Path(shutil.copytree(local_run.root, tmp_path / "resumed")))
    shutil.rmtree(store.unit_dir(UnitKey("l1", 0)))
    assert warm_start_path(store, 0).is_file() and units_to_run(plan, store) == 1  # a cached warm start is kept
    warm_start_path(store, 0).unlink()
    assert units_to_run(plan, store) == 2  # l1 of seed 0, and seed 0's warm start to train again


def test_a_damaged_warm_start_stops_a_resume_in_one_paragraph_and_leaves_the_run_failed_not_running(
        tmp_path: Path, local_run: RunStore) -> None:
    store = RunStore(Path(shutil.copytree(local_run.root, tmp_path / "out" / local_run.name)))
    shutil.rmtree(store.unit_dir(UnitKey("l1", 0)))
    warm_start_path(store, 0).write_bytes(b"garbage")
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    text = " ".join(result.output.split())
    assert f"The cached warm start '{warm_start_path(store, 0)}' cannot be loaded (UnpicklingError" in text
    assert f"vfibench run --resume {store.name} --out {tmp_path / 'out'}" in text
    assert "\n\n" not in result.output.strip() and "file an issue" not in text  # torch's advice left out
    manifest = store.read_manifest()
    assert manifest["status"] == "failed" and "cached warm start" in manifest["reason"]


def test_jobs_start_no_more_workers_than_the_sweep_has_units(two_scenes: Triplets) -> None:
    executor = Recording(2, threads=1)
    executor.start(two_scenes, two_scenes, units=1)
    try:
        assert executor.capacity == 1 and len(executor.processes) == 1
        record = executor.record()
        assert record["jobs"] == 2 and record["workers"] == 1 and record["threads_per_unit"] == 1  # --jobs 2's threads
    finally:
        executor.close()


@pytest.mark.parametrize("stop", [Interrupted(signal.SIGTERM), KeyboardInterrupt()])
def test_a_signal_inside_ray_s_wait_ends_the_sweep_as_an_interruption(stop: BaseException) -> None:
    """A signal handler's exception raised inside Ray's compiled ray.wait comes out as a SystemError
    chained to it; the executor must hand the coordinator the interruption, not a traceback."""
    from vfibench.sweep.ray_executor import RayExecutor

    class StoppedRay:
        class exceptions:
            RaySystemError = type("RaySystemError", (Exception,), {})
            RayError = type("RayError", (Exception,), {})

        @staticmethod
        def wait(*args: Any, **kwargs: Any) -> Any:
            try:
                raise stop
            except BaseException as err:
                raise SystemError("<cyfunction CoreWorker.wait> returned a result with an exception set") from err

    executor = object.__new__(RayExecutor)
    executor.ray, executor._pending = StoppedRay, {"task": (1, None)}
    with pytest.raises(type(stop)):
        executor.next_result()


@pytest.mark.skipif(not hasattr(os, "getsid"), reason="POSIX sessions")
def test_a_local_ray_instance_starts_its_processes_outside_the_sweeps_process_group() -> None:
    """A SIGTERM to the sweep's process group (`timeout`, `kill -TERM -PGID`) ended the GCS and the raylet
    with it, and the driver, its raylet gone, exited 1 before the run was marked interrupted."""
    ray_or_skip()
    from ray._private import services, utils

    from vfibench.sweep.ray_executor import _local_ray_in_sessions_of_its_own

    if not utils.detect_fate_sharing_support():
        pytest.skip("here Ray ends its processes with the driver through their process group")
    original = services.ConsolePopen
    with _local_ray_in_sessions_of_its_own():
        child = services.ConsolePopen([sys.executable, "-c", "import os; print(os.getsid(0), os.getpgid(0))"],
                                      stdout=subprocess.PIPE, text=True)
    session, group = map(int, child.communicate(timeout=60)[0].split())
    assert session == group == child.pid and group != os.getpgrp()
    assert services.ConsolePopen is original  # Ray as it was for a cluster this process only joins


def test_a_refused_join_by_address_names_ray_s_token_authentication(monkeypatch: pytest.MonkeyPatch) -> None:
    from vfibench.sweep.ray_executor import join_failure

    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    failed = ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379.")
    assert "run with RAY_AUTH_MODE=token set" in join_failure("10.0.0.1:6379", failed)
    assert "run with RAY_AUTH_MODE=token set" in join_failure("auto", failed)  # a cluster started on this machine
    assert "RAY_AUTH_MODE" not in join_failure(None, failed)  # a Ray instance of its own
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # already set: the advice would not help
    assert "RAY_AUTH_MODE" not in join_failure("10.0.0.1:6379", failed)


def test_a_ray_unit_may_have_one_thread_on_less_than_one_cpu() -> None:
    ray_or_skip()  # check() ends by importing Ray, which a plain `make test` does not install
    ExecutorOptions("ray", cpus_per_unit=0.5, threads=1).check()  # at least one thread, as without --threads


def test_a_gpu_unit_on_ray_gets_a_fresh_worker_process_and_a_cpu_unit_reuses_one() -> None:
    """A reused worker keeps the CUDA context of the GPU it first ran on, whichever GPU Ray assigns it
    next, so GPU units must not share processes (Ray's own rule for functions declared with GPUs,
    lost when GPUs are asked for only in ``.options``); CPU units keep their workers and caches."""
    ray = ray_or_skip()
    from vfibench.sweep.ray_executor import run_unit_task, task_options

    on_gpu = ray.remote(**task_options(1.0, 0.5, 3))(run_unit_task)
    on_cpu = ray.remote(**task_options(2.0, 0.0, 3))(run_unit_task)
    assert on_gpu._max_calls == 1 and on_cpu._max_calls == 0  # Ray's record of max_calls
    assert task_options(2.0, 0.0, 3) == {"num_cpus": 2.0, "num_gpus": 0.0, "max_retries": 3, "max_calls": 0}


def test_an_unreachable_ray_address_is_a_clear_error_within_seconds() -> None:
    from vfibench.sweep.ray_executor import check_reachable

    with socket.socket() as bound:  # bound but not listening: connections to it are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        started = time.monotonic()
        for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
            with pytest.raises(ExecutorError, match=f"--address {address}: nothing accepted a connection there"):
                check_reachable(address, timeout=2)
        assert time.monotonic() - started < 10
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        check_reachable(f"127.0.0.1:{listening.getsockname()[1]}")  # a listening head: no error
    for address in (None, "auto", "local"):
        check_reachable(address)  # left to Ray


def test_executor_ray_without_ray_exits_2_with_the_install_command(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    result = runner.invoke(app, ["run", *CLI_SWEEP, "--executor", "ray", "--out", str(tmp_path / "out")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "pip install 'vfibench[ray]'" in text and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["run", *CLI_SWEEP, "--executor", "ray", "--jobs", "2", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Drop --jobs" in result.output


def test_the_core_package_and_a_local_sweep_never_import_ray(tmp_path: Path) -> None:
    code = ("import sys\n"
            "import vfibench, vfibench.api, vfibench.cli, vfibench.cli_run, vfibench.sweep\n"
            "from vfibench.presets import get_preset\n"
            "from vfibench.sweep import ExecutorOptions, plan_sweep, run_sweep\n"
            f"plan = plan_sweep('l1', get_preset('smoke').with_overrides(steps=1), [0], out=__import__('pathlib')"
            f".Path({str(tmp_path)!r}), device='cpu', metrics=['psnr'])\n"
            "run_sweep(plan, executor=ExecutorOptions().build())\n"
            "print('RAY' if 'ray' in sys.modules else 'NO RAY')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("NO RAY")


# -- Ray ---------------------------------------------------------------------------------------------

@pytest.mark.ray
def test_a_ray_sweep_gives_the_tables_of_one_process(ray_cluster: Any, tmp_path: Path, local_run: RunStore) -> None:
    result = runner.invoke(app, ["run", *CLI_SWEEP, "--executor", "ray", "--cpus-per-unit", "1",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    store = RunStore.open(tmp_path)
    assert_same_tables(store, local_run)
    record = store.read_manifest()["executor"]
    assert record["name"] == "ray" and record["cpus_per_unit"] == 1 and record["threads_per_unit"] == 1
    assert "Ray task per unit" in " ".join(result.output.split())


@pytest.mark.ray
def test_a_sweep_starts_its_own_ray_instance_quietly_and_gives_the_same_tables(tmp_path: Path,
                                                                               local_run: RunStore) -> None:
    """Without --address the sweep starts a Ray instance of its own (a fresh process, so none is running
    in it): the same tables, and Ray's notice about its default token authentication is not printed."""
    ray_or_skip()
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_ADDRESS")}
    env |= {"OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "vfibench.cli", "run", *CLI_SWEEP, "--executor", "ray",
                           "--cpus-per-unit", "1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert_same_tables(RunStore.open(tmp_path), local_run)
    assert "a local Ray instance" in " ".join((done.stdout + done.stderr).split())
    assert "Token authentication" not in done.stdout + done.stderr, done.stderr


class WorkerKiller(threading.Thread):
    """Kills the first Ray worker process seen running a unit (its process title names the task)."""

    def __init__(self, title: str = "ray::run_unit_task") -> None:
        super().__init__(daemon=True)
        self.title = title.encode()
        self.killed: int | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set() and self.killed is None:
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                        if handle.read().startswith(self.title):
                            os.kill(int(entry.name), signal.SIGKILL)
                            self.killed = int(entry.name)
                            return
                except OSError:
                    continue
            time.sleep(0.01)


@pytest.mark.ray
def test_a_ray_worker_killed_mid_unit_is_retried_and_its_unit_written_once(
        ray_cluster: Any, tmp_path: Path, local_run: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/proc").is_dir():
        pytest.skip("finds the worker process through /proc")
    writes = count_writes(monkeypatch)
    killer = WorkerKiller()
    killer.start()
    try:
        store = run_sweep(tiny_plan(tmp_path), executor=ExecutorOptions("ray", cpus_per_unit=1).build())
    finally:
        killer.stopped.set()
        killer.join()
    assert killer.killed is not None, "no Ray worker was seen running a unit"
    assert_same_tables(store, local_run)
    assert len(writes) == 8 and set(writes.values()) == {1}


@pytest.mark.ray
def test_ctrl_c_cancels_the_ray_tasks_and_the_run_resumes_with_jobs(ray_cluster: Any, tmp_path: Path,
                                                                   local_run: RunStore) -> None:
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(tiny_plan(tmp_path), StopAfterFirstTrained(), executor=ExecutorOptions("ray", cpus_per_unit=1).build())
    error = stopped.value
    assert error.store.read_manifest()["status"] == INTERRUPTED
    assert error.resume.endswith("--executor ray --cpus-per-unit 1") and error.resume in str(error)
    assert ray_cluster.is_initialized()  # the module's Ray is used, not shut down
    result = runner.invoke(app, ["run", "--resume", error.store.name, "--out", str(tmp_path), "--jobs", "2",
                                 "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert_same_tables(error.store, local_run)
    manifest = error.store.read_manifest()
    assert manifest["executor"]["name"] == "ray"  # the session that started the run, kept
    assert manifest["resumed"][-1]["executor"]["name"] == "local" and manifest["resumed"][-1]["executor"]["jobs"] == 2


def test_planning_loads_no_backbone_onto_a_gpu_and_a_remote_gpu_is_not_named_after_this_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan loads the metrics' backbones only to check them: on the CPU, so that a coordinator that
    only dispatches units (--jobs, Ray, --dry-run) holds no GPU memory. A Ray sweep's units train on the
    GPUs Ray assigns, so the manifest does not name this machine's GPU as theirs."""
    import torch

    from vfibench.provenance import provenance
    from vfibench.sweep import plan as plan_module

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Coordinator GPU")
    built: list[str] = []

    class RecordingSuite(plan_module.MetricSuite):  # type: ignore[misc,name-defined]
        def __init__(self, *args: Any, device: Any, **kwargs: Any) -> None:
            built.append(str(device))
            super().__init__(*args, device="cpu", **kwargs)

    monkeypatch.setattr(plan_module, "MetricSuite", RecordingSuite)
    here = plan_module.plan_sweep("l1", PRESET, [0], out=tmp_path, device="cuda", metrics=["psnr", "lpips"])
    remote = plan_module.plan_sweep("l1", PRESET, [0], out=tmp_path, device="cuda", metrics=["psnr", "lpips"],
                                    device_here=False)
    assert built == ["cpu", "cpu"] and here.device.type == remote.device.type == "cuda"
    assert provenance(here.device, {}, {}, None, device_here=here.device_here)["device"] == "cuda (Coordinator GPU)"
    assert provenance(remote.device, {}, {}, None, device_here=remote.device_here)["device"] == "cuda"


# -- what the executors give each unit ---------------------------------------------------------------

def test_local_threads_hold_for_the_sweep_and_the_process_s_own_come_back_after(two_scenes: Triplets) -> None:
    import torch

    before = torch.get_num_threads()
    executor = LocalExecutor(threads=before + 1)
    executor.start(two_scenes, two_scenes)
    try:
        assert torch.get_num_threads() == before + 1
    finally:
        executor.close()
    assert torch.get_num_threads() == before
    assert LocalExecutor().record()["threads_per_unit"] == before  # the process's own count, recorded as a number


def test_jobs_share_the_cores_among_the_workers_unless_threads_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vfibench.sweep.executors.available_cores", lambda: 8)
    assert ProcessExecutor(2).threads_per_unit == 4 and ProcessExecutor(3).threads_per_unit == 2
    assert ProcessExecutor(2, threads=1).threads_per_unit == 1
    assert ExecutorOptions(jobs=4, threads=1).local_units() == (4, 1)
    assert ExecutorOptions(jobs=4).local_units() == (4, 2)


def test_a_jobs_worker_computes_with_the_threads_it_is_given(two_scenes: Triplets) -> None:
    """A worker sets its torch threads before its first unit: the count is part of the numbers."""
    import multiprocessing
    import pickle

    import torch

    from vfibench.sweep.executors import _worker_main

    before = torch.get_num_threads()
    ours, theirs = multiprocessing.Pipe(duplex=True)
    sender = threading.Thread(target=lambda: (ours.send_bytes(pickle.dumps((two_scenes, two_scenes))),
                                              ours.send_bytes(b"")))
    sender.start()  # the data, then the message to stop at once
    try:
        _worker_main(theirs, before + 1)
        assert torch.get_num_threads() == before + 1
    finally:
        sender.join()
        torch.set_num_threads(before)
        ours.close()
        theirs.close()


def test_ctrl_c_ends_the_jobs_workers_at_once(two_scenes: Triplets) -> None:
    """Cancelling ends the workers with SIGTERM right away, not after waiting for them to stop by themselves."""
    executor = Recording(2, threads=1)
    executor.start(two_scenes, two_scenes, units=1)
    try:
        executor.cancel()
        assert [process.exitcode for process in executor.processes] == [-signal.SIGTERM]
    finally:
        executor.close()


def test_the_options_build_the_executor_they_name_and_print_as_the_command_line_takes_them() -> None:
    assert isinstance(ExecutorOptions(jobs=1).build(), LocalExecutor)  # --jobs 1: every unit in this process
    assert ExecutorOptions(jobs=1).command_line() == []
    assert ExecutorOptions(jobs=2, threads=1).command_line() == ["--jobs", "2", "--threads", "1"]
    assert ExecutorOptions("ray", cpus_per_unit=1.0, gpus_per_unit=0.5).command_line() == [
        "--executor", "ray", "--gpus-per-unit", "0.5", "--cpus-per-unit", "1"]


def test_a_ray_unit_trains_with_its_whole_cpus() -> None:
    assert ExecutorOptions("ray").ray_threads == 1
    assert ExecutorOptions("ray", cpus_per_unit=2.5).ray_threads == 2  # a thread per whole CPU
    assert ExecutorOptions("ray", cpus_per_unit=0.5).ray_threads == 1  # at least one
    assert ExecutorOptions("ray", cpus_per_unit=2.5, threads=1).ray_threads == 1


def test_ray_units_on_gpus_are_planned_on_cuda_not_this_machine_s_gpu() -> None:
    assert ExecutorOptions("ray", gpus_per_unit=1).device(None) == ("cuda", False)
    assert ExecutorOptions("ray").device(None) == ("cpu", False)
    assert ExecutorOptions().device("cpu") == ("cpu", True)
    with pytest.raises(VfiBenchError, match="add --gpus-per-unit 1"):
        ExecutorOptions("ray").device("cuda")
    with pytest.raises(VfiBenchError, match="Use --device cuda"):
        ExecutorOptions("ray", gpus_per_unit=1).device("cpu")


def test_a_unit_whose_worker_dies_every_time_is_run_again_max_retries_times_then_recorded_failed(
        tmp_path: Path) -> None:
    class KillEveryL2(ProcessExecutor):
        sent = 0

        def _send(self, worker: Any, task: Any) -> None:
            super()._send(worker, task)
            if task[1].config == "l2" and self.sent < 5:  # bounded, so that endless retries end too
                self.sent += 1
                os.kill(worker.process.pid, signal.SIGKILL)

    executor = KillEveryL2(2, threads=1, max_retries=1)
    store = run_sweep(tiny_plan(tmp_path, seeds=[0], warm_start=0), executor=executor)
    assert executor.sent == 2  # the first run and one more
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary.loc["l1", "status"] == "complete" and summary.loc["l2", "status"] == "failed"
    assert "its worker process died (killed by SIGKILL) while running it, 2 times" in summary.loc["l2", "reason"]


def test_a_ray_unit_may_ask_for_no_gpu_but_not_for_no_cpu() -> None:
    with pytest.raises(VfiBenchError, match="--cpus-per-unit 0: give a positive number of CPUs"):
        ExecutorOptions("ray", cpus_per_unit=0).check()
    with pytest.raises(VfiBenchError, match="--gpus-per-unit -1: give 0 or more GPUs"):
        ExecutorOptions("ray", gpus_per_unit=-1).check()
    ray_or_skip()  # check() ends by importing Ray
    ExecutorOptions("ray", gpus_per_unit=0).check()  # units on the cluster's CPUs


class FakeRay:
    """Stands in for the ``ray`` module: a cluster of ``cpus`` CPUs and ``gpus`` GPUs that records what
    the executor asks of it."""

    __version__ = "0.0"

    class exceptions:
        RaySystemError = type("RaySystemError", (Exception,), {})
        RayError = type("RayError", (Exception,), {})

    def __init__(self, cpus: float, gpus: float = 0.0, initialized: bool = True) -> None:
        self.resources = {"CPU": cpus, "GPU": gpus, "memory": 1e9}
        self.initialized, self.shut_down = initialized, False
        self.cancelled: list[Any] = []

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs: Any) -> None:
        self.initialized = True

    def cluster_resources(self) -> dict[str, float]:
        return self.resources

    def put(self, value: Any) -> Any:
        return object()

    def remote(self, **options: Any) -> Any:
        return lambda function: type("Task", (), {"remote": staticmethod(lambda *args: object())})

    def cancel(self, ref: Any, force: bool = False) -> None:
        self.cancelled.append(ref)

    def shutdown(self) -> None:
        self.initialized, self.shut_down = False, True


def ray_executor_on(fake: FakeRay, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Any:
    from vfibench.sweep.ray_executor import RayExecutor

    monkeypatch.setattr("vfibench.sweep.ray_executor.import_ray", lambda: fake)
    return RayExecutor(**options)


def test_a_ray_cluster_runs_as_many_units_at_once_as_its_cpus_and_gpus_hold(monkeypatch: pytest.MonkeyPatch,
                                                                            two_scenes: Triplets) -> None:
    executor = ray_executor_on(FakeRay(cpus=5, gpus=1), monkeypatch, cpus_per_unit=2)
    executor.start(two_scenes, two_scenes)
    assert executor.capacity == 2  # two whole units of 2 CPUs in 5
    executor = ray_executor_on(FakeRay(cpus=5, gpus=1), monkeypatch, cpus_per_unit=1, gpus_per_unit=0.4)
    executor.start(two_scenes, two_scenes)
    assert executor.capacity == 2  # the GPU holds two units of 0.4
    executor = ray_executor_on(FakeRay(cpus=5, gpus=1), monkeypatch, cpus_per_unit=8)
    with pytest.raises(ExecutorError, match="not enough for one unit with --cpus-per-unit 8"):
        executor.start(two_scenes, two_scenes)


def test_ctrl_c_cancels_every_ray_task_and_a_sweep_shuts_down_only_the_ray_it_started(
        monkeypatch: pytest.MonkeyPatch, two_scenes: Triplets) -> None:
    started = FakeRay(cpus=2, initialized=False)
    executor = ray_executor_on(started, monkeypatch)
    executor.start(two_scenes, two_scenes)
    executor.submit(None)
    executor.submit(None)
    executor.cancel()
    assert len(started.cancelled) == 2
    executor.close()
    assert started.shut_down  # the instance this sweep started ends with it
    joined = FakeRay(cpus=2)
    executor = ray_executor_on(joined, monkeypatch)
    executor.start(two_scenes, two_scenes)
    executor.close()
    assert not joined.shut_down  # a Ray the caller had started is left running


def test_a_ray_task_trains_with_the_unit_s_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from vfibench.sweep import ray_executor

    seen: list[int] = []
    monkeypatch.setattr(ray_executor, "run_unit", lambda *args, **kwargs: seen.append(torch.get_num_threads()))
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    before = torch.get_num_threads()
    try:
        ray_executor.run_unit_task(UnitSpec(config="l1", seed=0, kind="trained", preset=PRESET, threads=before + 1),
                                   None, None, None)
    finally:
        torch.set_num_threads(before)
    assert seen == [before + 1]


def test_a_reachable_ray_address_passes_with_or_without_its_scheme() -> None:
    from vfibench.sweep.ray_executor import check_reachable, join_failure

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        check_reachable(f"127.0.0.1:{port}")
        check_reachable(f"ray://127.0.0.1:{port}")
    assert "RAY_AUTH_MODE" not in join_failure("local", ConnectionError("no"))  # a Ray instance of its own
