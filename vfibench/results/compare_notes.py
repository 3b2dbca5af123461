"""Notes on what makes a comparison say less: NEW and BASE the same file or bare CSVs, or made with
different presets, settings, ground truth, hardware, releases, thread counts or seeds
(:func:`comparison_notes`).
They are printed with the comparison and never make it fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vfibench.results import schema
from vfibench.results.compare_inputs import RunSummary
from vfibench.results.schema import COMPLETE, PARTIAL
from vfibench.results.store import changed_releases
from vfibench.words import counted, plural


def same_hardware(device: str, other: str) -> bool:
    """Whether two recorded devices are the same hardware: ``cuda (NVIDIA H200)``, ``cuda:0 (NVIDIA H200)``
    and ``cuda:1 (NVIDIA H200)`` are — the index says which of a machine's GPUs ran, and GPUs of one
    kind compute the same numbers; ``cpu`` and a GPU, or two kinds of GPU, are not. A GPU recorded
    without its name (a coordinator that could not see it) says nothing of its kind: such labels
    must be equal."""
    return _without_index(device) == _without_index(other)


def _without_index(device: str) -> str:
    """``cuda:1 (NVIDIA H200)`` → ``cuda (NVIDIA H200)``; a label without a GPU name as it is."""
    kind, _, name = device.partition(" ")
    return f"{kind.split(':')[0]} {name}" if name else device


#: The manifest's records of how a sweep trained and tested, compared field by field (the preset's own
#: name and description aside: a different preset is noted on its own).
COMPARED_SETTINGS = ("preset", "data", "model", "precision", "warm_start")
#: Fields that describe, or that leave a run's scores unchanged (how often the log is written; how many
#: frames are scored at once).
_NOT_COMPARED = {"name", "description", "attributes", "note", "log_every", "eval_batch_size"}


def setting_differences(new: Mapping[str, Any], base: Mapping[str, Any]) -> list[str]:
    """``"preset.steps 12 (BASE 4)"`` for every recorded training or test setting on which two manifests
    differ (:data:`COMPARED_SETTINGS`, nested fields joined by dots). A sweep's preset is read as a resume
    reads it (:func:`_preset_as_resumed`: one recorded before a setting existed has the value its run
    trained with, the model variant of runs made before variants); any other field only one manifest
    records (one written by an older version) is not compared."""
    new, base = _preset_as_resumed(new), _preset_as_resumed(base)

    def flat(value: Any, prefix: str) -> dict[str, Any]:
        if isinstance(value, Mapping):
            return {k: v for key, item in value.items() if key not in _NOT_COMPARED
                    for k, v in flat(item, f"{prefix}.{key}").items()}
        return {prefix: value}

    out = []
    for setting in COMPARED_SETTINGS:
        if setting not in new or setting not in base:
            continue
        ours, theirs = flat(new[setting], setting), flat(base[setting], setting)
        out += [f"{key} {ours[key]} (BASE {theirs[key]})" for key in ours if key in theirs and ours[key] != theirs[key]]
    return out


def _preset_as_resumed(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """``manifest`` with a sweep's recorded preset completed as :func:`~vfibench.presets.preset_from_dict`
    completes it for a resume; as it is where the preset cannot be read (its error is a report's to give)."""
    from vfibench.errors import VfiBenchError
    from vfibench.presets import preset_from_dict

    preset = manifest.get("preset")
    if schema.run_kind(manifest) != schema.SWEEP or not isinstance(preset, Mapping):
        return manifest
    try:
        return {**manifest, "preset": preset_from_dict(dict(preset)).to_dict()}
    except VfiBenchError:
        return manifest


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def comparison_notes(new: RunSummary, base: RunSummary) -> list[str]:
    """Warnings about what makes the comparison say less: NEW and BASE the same file or bare CSVs;
    differences that make the numbers less comparable (preset and settings, ground truth, device,
    release, threads, seeds, samples); an unfinished run; and when the two share no row at all."""
    notes = []
    if _same_file(new.path, base.path):
        notes.append(f"NEW and BASE are the same file ({new.path}): every number is compared with itself, so "
                     f"this check cannot fail. Give NEW the run to check (e.g. results/latest) and BASE the "
                     f"baseline it must not fall behind.")
    bare = [side for side, run in (("NEW", new), ("BASE", base)) if run.manifest is None]
    if bare:
        ci_baseline = any(Path(run.path).parts[-2:] == ("baselines", "ci.csv") for run in (new, base))
        notes.append(f"{' and '.join(bare)} {'is a' if len(bare) == 1 else 'are'} bare summary.csv "
                     f"{'file' if len(bare) == 1 else 'files'}, which record{'s' if len(bare) == 1 else ''} no "
                     f"preset, seeds, data or threads, so differences in how the runs were made cannot be noted "
                     f"here: make NEW with the command that made BASE"
                     + (" (for results/baselines/ci.csv, the one in the README)." if ci_baseline else "."))
    if new.preset and base.preset and new.preset != base.preset:
        notes.append(f"NEW used the preset '{new.preset}', BASE '{base.preset}': their numbers are not "
                     f"comparable; compare runs of the same preset.")
    elif new.manifest and base.manifest:
        changed = setting_differences(new.manifest, base.manifest)
        if changed:
            notes.append(f"NEW and BASE were trained or tested with different settings ({'; '.join(changed)}): "
                         f"their numbers are not comparable; compare runs made with the same options.")
    if new.ground_truth and base.ground_truth and new.ground_truth != base.ground_truth:
        notes.append(f"NEW was scored against {new.ground_truth}, BASE against {base.ground_truth}: their numbers "
                     f"are comparable only if that is the same ground truth.")
    if not {row.config for row in new.configs} & {row.config for row in base.configs}:
        notes.append(f"NEW and BASE share no {schema.ROW_NOUNS[new.run_kind]} name, so nothing was compared: rows "
                     f"are matched by name"
                     + (" (an evaluated model is named with --pred NAME=DIR; give the two runs' models the same "
                        "NAME)." if new.run_kind == schema.EVALUATION else "."))
    if new.device and base.device and not same_hardware(new.device, base.device):
        notes.append(f"NEW ran on {new.device}, BASE on {base.device}: scores of the same frames differ within "
                     f"the tolerances, but trained rows can differ by as much as two seeds do (training compounds "
                     f"floating-point differences).")
    if new.manifest and base.manifest:
        then, now = base.manifest.get("versions"), new.manifest.get("versions")
        changed = changed_releases(then, now)
        if changed:
            notes.append(f"NEW ran under {', '.join(f'{p} {now[p]}' for p in changed)}, BASE under "
                         f"{', '.join(f'{p} {then[p]}' for p in changed)}: another release can move scores by "
                         f"floating-point rounding and trained rows by as much as two seeds do; a difference "
                         f"beyond the tolerances may come from the release rather than from the change under "
                         f"test.")
    threads = [schema.training_threads(run.manifest or {}) for run in (new, base)]
    if None not in threads and threads[0] != threads[1]:
        notes.append(f"NEW's units trained with {counted(threads[0], 'torch thread')} each, BASE's with "
                     f"{threads[1]}: the thread count sets the order of floating-point sums and training "
                     f"compounds it, so trained rows can differ by as much as two seeds do (reference rows, which "
                     f"nothing trains, only by float rounding, about 1e-9). Compare runs trained with the same "
                     f"--threads.")
    seeds = [schema.recorded_seeds(run.manifest or {}) for run in (new, base)]
    if seeds[0] and seeds[1] and seeds[0] != seeds[1]:
        notes.append(f"NEW trained the {plural('seed', len(seeds[0]))} {', '.join(map(str, seeds[0]))}, "
                     f"BASE {', '.join(map(str, seeds[1]))}: trained rows of different seeds differ by the spread "
                     f"between seeds; compare runs of the same --seeds.")
    for side, run in (("NEW", new), ("BASE", base)):
        status = (run.manifest or {}).get("status")
        if status and status != COMPLETE:
            notes.append(f"{side}'s manifest says the run is '{status}', not complete; "
                         f"{schema.ROW_NOUNS[run.run_kind]}s{' or seeds' if run.run_kind == schema.SWEEP else ''} "
                         f"may be missing.")
    differing = []
    for row in new.configs:
        other = base.get(row.config)
        if other is not None and (row.seeds, row.samples) != (other.seeds, other.samples) \
                and {row.status, other.status} <= {COMPLETE, PARTIAL}:
            differing.append(f"'{row.config}' ({counted(other.seeds, 'seed')} × {other.samples} samples in BASE, "
                             f"{row.seeds} × {row.samples} in NEW)")
    if differing:
        notes.append("Seeds or test samples differ, so the means are not like for like: " + "; ".join(differing) + ".")
    return notes
