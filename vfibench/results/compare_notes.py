"""What NEW and BASE differ in beyond their numbers: :func:`comparison_notes`, a :class:`Note` each, which
says whether the difference blocks a verdict.

A difference *blocks* when it means the two runs measured different things, so that no verdict on their
numbers holds: another preset, or another training or test setting (the test data's fingerprint among
them); ground truth known to differ (another test set, another reading of it, or frames whose recorded
digests differ); other sample files;
rows scored on other numbers of test samples; other seeds; no row in common (nothing would be
compared). :func:`check_same_setup` refuses such a pair (exit code 2) unless ``vfibench compare
--allow-different-setup`` asks for the verdict anyway, with the differences printed as notes.

Seeds block because a seed is an option of the command, never a property of the machine (the same
command trains the same seeds anywhere), and trained rows of two seeds differ by the spread between
seeds, far beyond tolerances sized for floating-point differences. The other notes never block: what
makes the numbers less exact but measures the same thing (other hardware, releases or thread counts,
which the same command gives on another machine, torch's default thread count following its cores; an
unfinished run; a configuration with only some seeds), what makes the check say less (NEW and BASE the
same file, or bare CSVs that record nothing of how they were made), and data or ground truth in another
folder, which may hold the same frames (a fingerprint, where both runs record one, tells).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vfibench.errors import ResultsError
from vfibench.results import schema
from vfibench.results.compare_inputs import RunSummary
from vfibench.results.schema import COMPLETE, PARTIAL
from vfibench.results.store import changed_releases
from vfibench.spec_syntax import split_spec
from vfibench.words import counted, join_words, plural

#: The flag of ``vfibench compare`` that gives a verdict on runs not made the same way.
ALLOW_FLAG = "--allow-different-setup"


@dataclass(frozen=True)
class Note:
    """A note on a comparison. ``blocks``: the difference means NEW and BASE measured different things, so
    no verdict on their numbers holds (:func:`check_same_setup`)."""

    text: str
    blocks: bool = False


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
    records (one written by an older version) is not compared. A dataset differs in what it reads, not
    in its folder (:func:`_differs`)."""
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
        out += [f"{key} {ours[key]} (BASE {theirs[key]})" for key in ours
                if key in theirs and _differs(key, ours[key], theirs[key])]
    return out


#: The settings that hold a split's dataset spec.
_DATASET_KEYS = {f"data.{split}.dataset": split for split in ("train", "test")}
def spec_parts(spec: str) -> tuple[str, str]:
    """``frames(stride=2):/data/clip`` → ``("frames(stride=2)", "/data/clip")``: what a dataset spec reads
    (its kind and options, :func:`~vfibench.spec_syntax.split_spec`) and the folder or file it reads
    it from ("" for none). A text of another shape is all "what"."""
    parts = split_spec(spec)
    if parts is None:
        return spec, ""
    kind, options, path = parts
    return kind.lower() + (f"({options.replace(' ', '')})" if options else ""), path.strip()


def _differs(key: str, ours: Any, theirs: Any) -> bool:
    """Whether two values of a setting differ; a dataset spec only in what it reads, since its folder may
    hold the same data elsewhere (another clone, another machine): the data's fingerprint, a setting of
    its own, says whether it does."""
    if key in _DATASET_KEYS and isinstance(ours, str) and isinstance(theirs, str):
        return spec_parts(ours)[0] != spec_parts(theirs)[0]
    return ours != theirs


def moved_data(new: Mapping[str, Any], base: Mapping[str, Any]) -> list[str]:
    """``"test data from frames:/a/clip, BASE from frames:/b/clip"`` for each split that two sweep manifests
    read the same way from different folders, where they do not both record a fingerprint of it: the
    folders may or may not hold the same frames. (Two fingerprints settle it: equal, nothing to say;
    different, a setting difference.)"""
    moved = []
    for split in _DATASET_KEYS.values():
        ours, theirs = (_split_entry(manifest, split) for manifest in (new, base))
        specs = [entry.get("dataset") for entry in (ours, theirs)]
        if not all(isinstance(spec, str) for spec in specs):
            continue
        (what, where), (their_what, their_where) = spec_parts(specs[0]), spec_parts(specs[1])
        if what == their_what and where != their_where and not (ours.get("fingerprint") and theirs.get("fingerprint")):
            moved.append(f"{'training' if split == 'train' else 'test'} data from {specs[0]}, BASE from {specs[1]}")
    return moved


def _split_entry(manifest: Mapping[str, Any], split: str) -> Mapping[str, Any]:
    """A sweep manifest's record of one split's data, or {}."""
    data = manifest.get("data")
    entry = data.get(split) if isinstance(data, Mapping) else None
    return entry if isinstance(entry, Mapping) else {}


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


def comparison_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """Every note on NEW against BASE, in the order they are printed: the files compared; how the runs were
    made (preset, settings, data, ground truth, sample files, rows in common); where they ran (device,
    releases, threads); seeds; unfinished runs; rows scored on other numbers of seeds or samples."""
    return [*_file_notes(new, base), *_setting_notes(new, base), *_ground_truth_notes(new, base),
            *_sample_file_notes(new, base), *_shared_row_notes(new, base), *_environment_notes(new, base),
            *_seed_notes(new, base), *_status_notes(new, base), *_row_count_notes(new, base)]


def check_same_setup(new: RunSummary, base: RunSummary, notes: Sequence[Note]) -> None:
    """A :class:`ResultsError` (exit code 2) naming every blocking difference among ``notes``: NEW and BASE
    were not made the same way, so no verdict on their numbers holds. Says how to compare like with like,
    and how to get the verdict anyway (:data:`ALLOW_FLAG`)."""
    blocking = [note.text for note in notes if note.blocks]
    if not blocking:
        return
    ci = " (for results/baselines/ci.csv, with the command in the README)" if _names_ci_baseline(new, base) else ""
    raise ResultsError(
        f"NEW '{new.path}' and BASE '{base.path}' were not made the same way, so their numbers measure different "
        f"things and a pass or a regression would mean nothing. {' '.join(blocking)} Compare runs made by the same "
        f"command with the same options: make NEW as BASE was made{ci}, or compare it with a baseline made as it "
        f"was. To see the verdict anyway, pass {ALLOW_FLAG}: these differences are then printed as notes."
    )


def _names_ci_baseline(new: RunSummary, base: RunSummary) -> bool:
    """Whether NEW or BASE is a ``baselines/ci.csv`` (the project's committed baseline)."""
    return any(Path(run.path).parts[-2:] == ("baselines", "ci.csv") for run in (new, base))


def _file_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """NEW and BASE the same file (a check that cannot fail); bare CSVs, which record nothing of how they
    were made."""
    notes = []
    if _same_file(new.path, base.path):
        notes.append(Note(f"NEW and BASE are the same file ({new.path}): every number is compared with itself, so "
                          f"this check cannot fail. Give NEW the run to check (e.g. results/latest) and BASE the "
                          f"baseline it must not fall behind."))
    bare = [side for side, run in (("NEW", new), ("BASE", base)) if run.manifest is None]
    if bare:
        one = len(bare) == 1
        notes.append(Note(f"{' and '.join(bare)} {'is a' if one else 'are'} bare summary.csv "
                          f"{'file' if one else 'files'}, which record{'s' if one else ''} no preset, seeds, data or "
                          f"threads, so only the rows' numbers of seeds and test samples show whether the runs were "
                          f"made the same way: make NEW with the command that made BASE"
                          + (" (for results/baselines/ci.csv, the one in the README)." if _names_ci_baseline(new, base)
                             else ".")))
    return notes


def _setting_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """Another preset, or other settings of one (blocking); data read the same way from another folder."""
    if new.preset and base.preset and new.preset != base.preset:
        return [Note(f"NEW used the preset '{new.preset}', BASE '{base.preset}'.", blocks=True)]
    if not (new.manifest and base.manifest):
        return []
    notes = []
    changed = setting_differences(new.manifest, base.manifest)
    if changed:
        notes.append(Note(f"NEW and BASE were trained or tested with different settings: {'; '.join(changed)}.",
                          blocks=True))
    notes += [Note(f"NEW read its {moved}: their numbers are comparable only if that is the same data (the "
                   f"manifests do not both record its fingerprint, which would tell).")
              for moved in moved_data(new.manifest, base.manifest)]
    return notes


def _ground_truth_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """Evaluations against other ground truth: blocking where the frames' recorded digests differ
    (:func:`ground_truth_digests`; equal digests settle that it is the same ground truth, wherever it lay) or
    the two dataset specs read differently (another test set, or other options); a note where only the
    folder differs and no digests tell, since it may hold the same frames."""
    digests = [ground_truth_digests(run) for run in (new, base)]
    ours, theirs = new.ground_truth, base.ground_truth
    if digests[0] is not None and digests[1] is not None:
        changed = sorted(name for name in digests[0].keys() & digests[1].keys() if digests[0][name] != digests[1][name])
        if changed:
            where = f" ({ours}, BASE {theirs})" if ours and theirs and ours != theirs else ""
            return [Note(f"NEW and BASE were scored against other ground-truth frames{where}: "
                         f"{counted(len(changed), 'file')} of the same name "
                         f"{'differs' if len(changed) == 1 else 'differ'} in content ({_some(changed)}), "
                         f"as the digests their manifests record show.", blocks=True)]
        if digests[0].keys() & digests[1].keys():
            return []
    if not ours or not theirs or ours == theirs:
        return []
    specs = [(run.manifest or {}).get("gt_spec") for run in (new, base)]
    if all(isinstance(spec, str) and spec for spec in specs):
        what, their_what = spec_parts(specs[0])[0], spec_parts(specs[1])[0]
        if what != their_what:
            return [Note(f"NEW was scored against {ours}, BASE against {theirs}: other ground truth ({what}, not "
                         f"{their_what}).", blocks=True)]
    return [Note(f"NEW was scored against {ours}, BASE against {theirs}: their numbers are comparable only if that "
                 f"is the same ground truth.")]


def ground_truth_digests(run: RunSummary) -> dict[str, str] | None:
    """An evaluation's ground-truth digest per sample file (:data:`~vfibench.results.frames.DIGESTS`), keyed
    ``spec:`` + file for a dataset spec, whose digests are of I0, It and I1 rather than of a file's bytes, so
    that the two kinds are never compared; None for a sweep, a bare CSV, or a run recorded without (or with
    a damaged) record."""
    from vfibench.errors import VfiBenchError
    from vfibench.results.frames import recorded_digests

    manifest = run.manifest or {}
    files = manifest.get("files")
    if run.run_kind != schema.EVALUATION or not isinstance(files, list):
        return None
    try:
        record = recorded_digests(manifest, len(files), [])
    except VfiBenchError:  # a report names the damage; here it only means nothing can be told
        return None
    if record is None:
        return None
    prefix = "spec:" if manifest.get("gt_spec") else ""
    return {f"{prefix}{name}": digest for name, digest in zip(map(str, files), record["gt"])}


#: How many names of files a note lists before "and N more".
FILES_NAMED = 3


def _sample_file_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """Evaluations whose manifests list different sets of sample files (blocking)."""
    files = [_recorded_files(run) for run in (new, base)]
    if files[0] is None or files[1] is None or files[0] == files[1]:
        return []
    parts = [f"{counted(len(names), 'file')} only in {side} ({_some(names)})"
             for names, side in ((sorted(files[0] - files[1]), "NEW"), (sorted(files[1] - files[0]), "BASE")) if names]
    return [Note(f"NEW and BASE scored different sample files: {'; '.join(parts)}.", blocks=True)]


def _recorded_files(run: RunSummary) -> frozenset[str] | None:
    """The sample files an evaluation's manifest lists, or None (a sweep, a bare CSV, an edited entry)."""
    files = (run.manifest or {}).get("files")
    if run.run_kind != schema.EVALUATION or not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return frozenset(files)


def _some(names: Sequence[str]) -> str:
    """``"'a.png', 'b.png' and 'c.png'"``, or the first :data:`FILES_NAMED` and how many more."""
    shown = [f"'{name}'" for name in names[:FILES_NAMED]]
    return join_words(shown + ([f"{len(names) - FILES_NAMED} more"] if len(names) > FILES_NAMED else []))


def _shared_row_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """NEW and BASE without a row name in common: nothing would be compared (blocking)."""
    if {row.config for row in new.configs} & {row.config for row in base.configs}:
        return []
    return [Note(f"NEW and BASE share no {schema.ROW_NOUNS[new.run_kind]} name, so nothing would be compared: rows "
                 f"are matched by name"
                 + (" (an evaluated model is named with --pred NAME=DIR; give the two runs' models the same NAME)."
                    if new.run_kind == schema.EVALUATION else "."), blocks=True)]


def _environment_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """Other hardware, releases or thread counts: the same computation, rounded otherwise."""
    notes = []
    if new.device and base.device and not same_hardware(new.device, base.device):
        notes.append(Note(f"NEW ran on {new.device}, BASE on {base.device}: scores of the same frames differ within "
                          f"the tolerances, but trained rows can differ by as much as two seeds do (training "
                          f"compounds floating-point differences)."))
    if new.manifest and base.manifest:
        then, now = base.manifest.get("versions"), new.manifest.get("versions")
        changed = changed_releases(then, now)
        if changed:
            notes.append(Note(f"NEW ran under {', '.join(f'{p} {now[p]}' for p in changed)}, BASE under "
                              f"{', '.join(f'{p} {then[p]}' for p in changed)}: another release can move scores by "
                              f"floating-point rounding and trained rows by as much as two seeds do; a difference "
                              f"beyond the tolerances may come from the release rather than from the change under "
                              f"test."))
    threads = [schema.training_threads(run.manifest or {}) for run in (new, base)]
    if None not in threads and threads[0] != threads[1]:
        notes.append(Note(f"NEW's units trained with {counted(threads[0], 'torch thread')} each, BASE's with "
                          f"{threads[1]}: the thread count sets the order of floating-point sums and training "
                          f"compounds it, so trained rows can differ by as much as two seeds do (reference rows, "
                          f"which nothing trains, only by float rounding, about 1e-9). Compare runs trained with the "
                          f"same --threads."))
    return notes


def _seed_lists_differ(new: RunSummary, base: RunSummary) -> bool:
    """Whether both manifests list their seeds, and the lists differ."""
    seeds = [schema.recorded_seeds(run.manifest or {}) for run in (new, base)]
    return bool(seeds[0] and seeds[1] and seeds[0] != seeds[1])


def _seed_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """Sweeps trained with other seeds (blocking)."""
    if not _seed_lists_differ(new, base):
        return []
    ours, theirs = (schema.recorded_seeds(run.manifest or {}) or [] for run in (new, base))
    return [Note(f"NEW trained the {plural('seed', len(ours))} {', '.join(map(str, ours))}, BASE "
                 f"{', '.join(map(str, theirs))}: trained rows of other seeds differ by the spread between seeds, "
                 f"far beyond tolerances sized for floating-point differences.", blocks=True)]


def _status_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """A run its manifest calls unfinished."""
    notes = []
    for side, run in (("NEW", new), ("BASE", base)):
        status = (run.manifest or {}).get("status")
        if status and status != COMPLETE:
            notes.append(Note(f"{side}'s manifest says the run is '{status}', not complete; "
                              f"{schema.ROW_NOUNS[run.run_kind]}s"
                              f"{' or seeds' if run.run_kind == schema.SWEEP else ''} may be missing."))
    return notes


def _row_count_notes(new: RunSummary, base: RunSummary) -> list[Note]:
    """Rows with results in both runs: scored on other numbers of test samples (blocking); complete in both
    with other numbers of seeds (blocking, unless the seed lists are noted already: the way a bare CSV
    shows other --seeds); only some seeds finished in one run (a note: the means are over fewer seeds)."""
    samples: dict[tuple[int, int], list[str]] = {}
    seeds: dict[tuple[int, int], list[str]] = {}
    partial = []
    for row in new.configs:
        other = base.get(row.config)
        if other is None or not {row.status, other.status} <= {COMPLETE, PARTIAL}:
            continue
        if row.samples != other.samples:
            samples.setdefault((row.samples, other.samples), []).append(f"'{row.config}'")
        if row.seeds != other.seeds and PARTIAL in (row.status, other.status):
            partial.append(f"'{row.config}' ({counted(other.seeds, 'seed')} in BASE, {row.seeds} in NEW)")
        elif row.seeds != other.seeds and not _seed_lists_differ(new, base):
            seeds.setdefault((row.seeds, other.seeds), []).append(f"'{row.config}'")
    notes = []
    rows = f"{schema.ROW_NOUNS[new.run_kind].capitalize()}s"
    if samples:
        notes.append(Note(f"{rows} were scored on other numbers of test samples: " + "; ".join(
            f"{join_words(names)} on {ours} in NEW, {theirs} in BASE" for (ours, theirs), names in samples.items())
            + ".", blocks=True))
    if seeds:
        notes.append(Note(f"{rows} have results of other numbers of seeds: " + "; ".join(
            f"{join_words(names)} of {ours} in NEW, {theirs} in BASE" for (ours, theirs), names in seeds.items())
            + ": trained rows of other seeds differ by the spread between seeds.", blocks=True))
    if partial:
        notes.append(Note("Only some seeds finished, so these means are over other seeds: " + "; ".join(partial) + "."))
    return notes
