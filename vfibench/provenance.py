"""Where a run's numbers came from: the manifest entries every kind of run records the same way.

A sweep (:mod:`vfibench.sweep`) and an evaluation (:mod:`vfibench.evaluate`) both write a manifest;
the entries that trace a number back to the software, the machine and the weights that made it —
the metrics' records, the backbones' hashes, the device, the versions, the git commit and the
timings — are built here, once, so the two kinds of run record them identically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from vfibench.results.store import environment_versions, git_commit


def device_label(device: torch.device | str, here: bool = True) -> str:
    """``cpu``, ``cuda:0 (NVIDIA H200)``: the device, with the GPU's name when this process can see it.

    A run whose units train on other machines (a Ray cluster, ``here`` False) is recorded by the
    device's name alone: the coordinator may have no GPU, or another one than the units had.
    """
    device = torch.device(device)
    if here and device.type == "cuda" and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def metric_records(names: Iterable[str]) -> list[dict[str, Any]]:
    """One record per metric: name, label, direction and description, from the metric registry."""
    from vfibench.metrics.registry import metric_info

    return [{"name": name, "label": metric_info(name).label, "higher_is_better": metric_info(name).higher_is_better,
             "description": metric_info(name).description} for name in names]


def provenance(device: torch.device | str, backbone_hashes: Mapping[str, str], timings: Mapping[str, float],
               reference_weights: bool | None, device_here: bool = True) -> dict[str, Any]:
    """The manifest entries that trace a run's numbers back to how they were made.

    ``reference_weights`` says whether every backbone used is the ImageNet reference (None: unknown);
    ``timings`` are seconds per phase; ``device_here`` whether ``device`` is this machine's.
    """
    return {
        "reference_weights": reference_weights,
        "backbones": dict(backbone_hashes),
        "device": device_label(device, device_here),
        "versions": environment_versions(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "timings_seconds": dict(timings),
    }
