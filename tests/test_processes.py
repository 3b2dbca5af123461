"""How vfibench's processes set up the C allocator (freed memory kept for reuse, the user's own settings
left alone, `run` and `eval` asking for it before they compute), and how a helper process ends with
the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import process_alive
from vfibench import processes
from vfibench.cli import app

ROOT = Path(__file__).resolve().parents[1]
needs_glibc = pytest.mark.skipif(not processes.uses_glibc(), reason="the allocator settings apply to glibc's malloc only")
runner = CliRunner()

# Three 12 MiB blocks written and freed, ten times over, the way a training step's activations come and go:
# prints what keep_freed_memory() returned (None: not called) and the page faults of the ten rounds.
ROUNDS = textwrap.dedent("""
    import ctypes, resource, sys
    from vfibench.processes import keep_freed_memory
    kept = keep_freed_memory() if sys.argv[1] == "keep" else None
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    size = 12 << 20
    def one_round():
        blocks = [libc.malloc(size) for _ in range(3)]
        for block in blocks:
            ctypes.memset(block, 1, size)
        for block in blocks:
            libc.free(block)
    one_round()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        one_round()
    print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def python_path(*also: Path) -> str:
    """PYTHONPATH for a child Python: this checkout, then ``also``, ahead of the caller's own entries."""
    return os.pathsep.join(filter(None, (str(ROOT), *map(str, also), os.environ.get("PYTHONPATH"))))


def rounds(mode: str, **env: str) -> tuple[str, int]:
    environment = {key: value for key, value in os.environ.items() if key not in processes.MALLOC_ENVIRONMENT}
    environment.update(env, PYTHONPATH=python_path())
    done = subprocess.run([sys.executable, "-c", ROUNDS, mode], env=environment, capture_output=True, text=True,
                          check=True)
    kept, faults = done.stdout.split()
    return kept, int(faults)


@needs_glibc
def test_freed_memory_is_kept_for_reuse_instead_of_paged_in_again() -> None:
    kept, faults = rounds("keep")
    default, default_faults = rounds("default")
    assert kept == "True" and default == "None"
    # glibc's defaults give the 36 MiB back and page it in again every round (about 9,200 faults each)
    assert default_faults > 10 * 4_000
    assert faults * 20 < default_faults


@needs_glibc
@pytest.mark.parametrize("env", [{"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=4096"},
                                 {"MALLOC_TRIM_THRESHOLD_": "4096"}, {"MALLOC_MMAP_THRESHOLD_": "131072"}])
def test_the_users_own_allocator_settings_are_left_alone(env: dict[str, str]) -> None:
    kept, _ = rounds("keep", **env)
    assert kept == "False"


def test_without_glibc_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "_freed_memory_kept", False)

    def no_glibc(name: str) -> str:
        raise ValueError(f"unrecognized configuration name: {name}")

    monkeypatch.setattr(os, "confstr", no_glibc)
    assert processes.keep_freed_memory() is False
    assert processes._freed_memory_kept is False


@pytest.mark.parametrize("command", ["run", "eval"])
def test_run_and_eval_keep_freed_memory_before_they_compute(command: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Stop(Exception):
        pass

    def compute(*args: object, **kwargs: object) -> None:
        calls.append("compute")
        raise Stop

    monkeypatch.setattr(processes, "keep_freed_memory", lambda: calls.append("keep") or True)
    if command == "run":
        monkeypatch.setattr("vfibench.sweep.run_sweep", compute)
        args = ["run", "--preset", "smoke", "--losses", "l1", "--out", str(tmp_path / "results")]
    else:
        monkeypatch.setattr("vfibench.evaluate.run_evaluation", compute)
        from PIL import Image

        for folder in ("gt", "pred"):
            (tmp_path / folder).mkdir()
            Image.new("RGB", (32, 32), (40, 80, 120)).save(tmp_path / folder / "a.png")
        args = ["eval", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics", "psnr",
                "--out", str(tmp_path / "results")]
    result = runner.invoke(app, args)
    assert result.exit_code == 3 and "Stop" in result.output, result.output  # ended where it computes
    assert calls == ["keep", "compute"]


# A parent that spawns one helper through run_as_helper and waits; the helper's target module takes
# a minute to import (as torch takes seconds), after writing a marker that its import has begun.
PARENT = textwrap.dedent("""
    import multiprocessing, os, sys, time
    from vfibench.processes import run_as_helper
    if __name__ == "__main__":
        helper = multiprocessing.get_context("spawn").Process(target=run_as_helper,
                                                              args=(os.getpid(), "slow_import:main"))
        helper.start()
        print(helper.pid, flush=True)
        time.sleep(120)
""")
SLOW_IMPORT = textwrap.dedent("""
    import os, pathlib, time
    pathlib.Path(os.environ["IMPORT_MARKER"]).write_text("importing")
    time.sleep(60)
    def main():
        pass
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="a helper dies with its parent through Linux's PR_SET_PDEATHSIG")
def test_a_helper_ends_with_its_parent_even_while_it_is_still_importing(tmp_path: Path) -> None:
    (tmp_path / "parent.py").write_text(PARENT)
    (tmp_path / "slow_import.py").write_text(SLOW_IMPORT)
    marker = tmp_path / "marker"
    env = {**os.environ, "IMPORT_MARKER": str(marker), "PYTHONPATH": python_path(tmp_path)}
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py")], stdout=subprocess.PIPE, text=True, env=env)
    try:
        helper = int(parent.stdout.readline())
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "the helper never began importing its target"
            time.sleep(0.05)
        assert process_alive(helper)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while process_alive(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(helper), "the helper outlived its parent"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the helper's end is asked of Linux")
def test_a_helper_whose_parent_has_already_died_ends_at_once() -> None:
    """A helper that starts after its parent died (its request to die with it came too late) ends by itself."""
    code = "from vfibench.processes import exit_with_parent\nexit_with_parent(-1)\nprint('still running')\n"
    env = {**os.environ, "PYTHONPATH": python_path()}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL and "still running" not in done.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="GNU libc is a Linux C library")
def test_gnu_libc_is_recognised_where_the_system_runs_it() -> None:
    import platform

    assert processes.uses_glibc() == (platform.libc_ver()[0] == "glibc")


def test_a_helper_leaves_ctrl_c_to_the_process_that_started_it() -> None:
    """Ctrl-C reaches every process of the terminal's group: a helper must not die of it mid-unit."""
    code = ("import os, signal\nfrom vfibench.processes import run_as_helper\n"
            "run_as_helper(os.getppid(), 'os:kill', os.getpid(), signal.SIGINT)\nprint('still running')\n")
    env = {**os.environ, "PYTHONPATH": python_path()}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "still running", done.stderr
