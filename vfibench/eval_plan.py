"""Planning an evaluation: everything checked before any frame is scored, gathered in an :class:`EvalPlan`.

:func:`plan_evaluation` checks everything before any metric runs: the folders exist, every
ground-truth frame (PNG or JPEG, found recursively) has a prediction at the same relative path in
every prediction folder, the metrics and their backbones are available. With a dataset spec as
ground truth (``--gt ucf101:PATH``) the predictions are matched by the set's sample ids
(``DIR/<id>.png``) instead. :mod:`vfibench.evaluate` reads, scores and writes the plan.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vfibench.data.images import is_hidden
from vfibench.errors import DataError, VfiBenchError
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite
from vfibench.words import counted, join_words

#: File name endings (lower-case) read as frames.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class EvalPlan:
    """A validated evaluation, ready to run."""

    sources: dict[str, Path]
    gt: Path
    files: list[str]
    metrics: list[str]
    unavailable_metrics: dict[str, str]
    device: torch.device
    out: Path
    command: str = ""
    backbone_hashes: dict[str, str] = field(default_factory=dict)
    gt_spec: str | None = None
    pred_files: dict[str, dict[str, str]] = field(default_factory=dict)
    protocols: list[str] = field(default_factory=list)
    #: What the user should know but that stops nothing (frames of a --pred folder left unscored).
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """The plan in one line, as ``vfibench eval`` starts: "2 models × 240 frames, metrics psnr, ssim,
        device cpu"."""
        return (f"{counted(len(self.sources), 'model')} × {counted(len(self.files), 'frame')}, "
                f"metrics {', '.join(self.metrics)}, device {self.device}")


def parse_predictions(values: Sequence[str]) -> dict[str, Path]:
    """``--pred`` values → model name → folder. ``NAME=DIR`` names a model; a bare ``DIR`` is named
    after its folder. Names must be distinct."""
    if not values:
        raise VfiBenchError("Give at least one folder of predicted frames with --pred DIR (or --pred NAME=DIR, "
                            "repeated to compare several models).")
    return name_predictions([parse_prediction(value) for value in values])


def is_model_name(name: str) -> bool:
    """Whether ``name`` can name a model: not blank, and no path separator (``a/b=DIR`` is a folder)."""
    return bool(name.strip()) and os.sep not in name and not (os.altsep and os.altsep in name)


def parse_prediction(value: str) -> tuple[str, Path]:
    """One ``--pred`` value → (its model name, '' for a bare folder; the folder, ``~`` expanded)."""
    name, sep, directory = value.partition("=")
    if sep and not name.strip() and directory.strip() and not Path(value).expanduser().exists():
        raise VfiBenchError(f"--pred '{value}' has no model name before '='. Use --pred NAME={directory} to name "
                            f"the model, or --pred {directory} to name it after its folder.")
    if sep and is_model_name(name) and Path(value).expanduser().is_dir():  # a folder whose name holds '='
        if Path(directory).expanduser().is_dir():
            raise VfiBenchError(f"--pred '{value}' reads two ways: the folder '{value}', or the folder '{directory}' "
                                f"named '{name.strip()}'. Write --pred ./{value} for the first, or "
                                f"--pred {name.strip()}=./{directory} for the second.")
        name, directory = "", value
    if not sep or not is_model_name(name):  # no usable NAME=: the whole value is a folder
        name, directory = "", value
    if not directory.strip():
        raise VfiBenchError(f"--pred '{value}' names no folder. Use --pred DIR or --pred NAME=DIR.")
    return name.strip(), Path(directory).expanduser()


def name_predictions(predictions: Sequence[tuple[str, Path]]) -> dict[str, Path]:
    """(name, folder) pairs → model name → folder: a folder without a name is named after itself; two
    models of one name are refused."""
    sources: dict[str, Path] = {}
    for name, path in predictions:
        named = bool(name)
        name = name or path.resolve().name or str(path)
        if name in sources:
            how = "Give each its own name" if named else "Name them explicitly"
            raise VfiBenchError(f"Two --pred folders are both called '{name}' ({sources[name]} and {path}). {how}: "
                                f"--pred A={sources[name]} --pred B={path}.")
        sources[name] = path
    return sources


def _not_a_folder(path: Path) -> str:
    """Why ``path`` is no folder: ``does not exist`` or ``is a file, not a folder``."""
    return "is a file, not a folder" if path.exists() else "does not exist"


def list_frames(directory: Path, role: str) -> list[str]:
    """Every PNG/JPEG below ``directory`` as sorted POSIX paths relative to it: linked folders are
    followed (once: not a link back up the tree), hidden files and folders left out
    (:func:`~vfibench.data.images.is_hidden`); a frame name (PNG/JPEG) that links to nothing is a
    :class:`DataError`."""
    if not directory.is_dir():
        raise DataError(f"The {role} folder '{directory}' {_not_a_folder(directory)}. Give the folder that "
                        f"holds the frames (PNG or JPEG, found in subfolders too).")

    def unreadable(err: OSError) -> None:  # a folder that cannot be listed would silently drop its frames
        raise DataError(f"The {role} folder '{directory}' cannot be read entirely: listing '{err.filename}' failed "
                        f"({err.strerror or err}). Make it readable (e.g. chmod -R u+rX '{directory}'), or move what "
                        f"cannot be read out of it.")

    files: list[str] = []
    above: dict[str, frozenset[str]] = {str(directory): frozenset()}  # each walked folder's real ancestors
    for folder, subfolders, names in os.walk(directory, onerror=unreadable, followlinks=True):
        chain = above.pop(folder) | {os.path.realpath(folder)}  # linked folders are followed, but not into a cycle
        subfolders[:] = [name for name in subfolders if not is_hidden(Path(name))
                         and os.path.realpath(os.path.join(folder, name)) not in chain]
        above.update((os.path.join(folder, name), chain) for name in subfolders)
        for path in (Path(folder) / name for name in names):
            if path.suffix.lower() not in IMAGE_SUFFIXES or is_hidden(path):
                continue
            if path.is_symlink() and not path.exists():
                raise DataError(f"The {role} frame '{path}' is a link to '{os.readlink(path)}', which does not exist. "
                                f"Point the link at the frame, or delete it.")
            if path.is_file():
                files.append(path.relative_to(directory).as_posix())
    files.sort()
    if not files:
        raise DataError(f"The {role} folder '{directory}' holds no PNG or JPEG frames ({', '.join(IMAGE_SUFFIXES)}, "
                        f"searched recursively).")
    return files


def _preview(items: Iterable[str], count: int = 5) -> str:
    """The first ``count`` items joined by commas, with an ellipsis when there are more."""
    listed = list(items)
    return ", ".join(listed[:count]) + (", …" if len(listed) > count else "")


def match_frames(gt: Path, sources: Mapping[str, Path]) -> tuple[list[str], dict[str, list[str]]]:
    """The ground-truth frames, after checking every model folder has each at the same relative path,
    and each model's frames (:func:`list_frames` of its folder)."""
    files = list_frames(gt, "ground-truth")
    listed: dict[str, list[str]] = {}
    for name, directory in sources.items():
        listed[name] = list_frames(directory, f"prediction ('{name}')")
        present = set(listed[name])
        missing = [f for f in files if f not in present]
        if missing:
            shown = _preview(f"'{directory / f}'" for f in missing)
            by_stem = {str(Path(f).with_suffix("")): f for f in present}
            pairs = [(f, by_stem[stem]) for f in missing if (stem := str(Path(f).with_suffix(""))) in by_stem]
            renamed = [found for _, found in pairs]
            cased = all(Path(found).suffix.lower() == Path(f).suffix.lower() for f, found in pairs)
            advice = (f"The folder has {len(renamed)} of them with the extension in other letters (e.g. "
                      f"'{renamed[0]}'), which matching tells apart: rename them." if renamed and cased else
                      f"The folder has {len(renamed)} of them under another extension (e.g. '{renamed[0]}'): save "
                      f"the predictions in the ground truth's format, or rename them." if renamed else
                      "Write a prediction for every ground-truth frame or remove the unmatched ground truth.")
            raise DataError(
                f"Model '{name}' has no prediction for {len(missing)} of the {len(files)} ground-truth frames: "
                f"{shown}. Predicted frames are matched to '{gt}' by their path relative to each folder (same "
                f"subfolders, same file name and extension). {advice}"
            )
    return files, listed


def is_dataset_spec(text: str) -> bool:
    """Whether ``--gt`` names a dataset spec (``KIND:PATH`` with a known kind) rather than a folder."""
    from vfibench.data.sources import OPTIONS

    kind = text.split(":", 1)[0].split("(", 1)[0].strip().lower()
    return ":" in text and kind in OPTIONS and kind != "synthetic"


def check_not_a_misspelt_spec(text: str) -> None:
    """A DataError when ``--gt`` is no existing path but reads as a dataset spec that eval cannot score
    against — ``KIND:PATH`` with a kind that is no standard set (``ucf:/data/ucf101`` gets the closest
    kind), or ``synthetic`` — instead of the later "folder does not exist"."""
    from vfibench.data.sources import OPTIONS, SYNTHETIC, closest_kind

    if Path(text).exists():
        return
    kind, colon, rest = text.partition(":")
    word = kind.split("(", 1)[0].strip().lower()
    kinds = [k for k in OPTIONS if k != SYNTHETIC]
    if word == SYNTHETIC:
        raise DataError(f"--gt '{text}': synthetic scenes have no stored ground truth for eval to score saved "
                        f"predictions against (`vfibench run` renders and scores them itself). Give a folder of "
                        f"ground-truth frames, or a test set spec: {', '.join(f'{k}:PATH' for k in kinds)}.")
    if word in kinds and "(" in text:  # a known kind with options, out of shape: the spec's own error says how
        from vfibench.data.sources import parse_dataset_spec

        parse_dataset_spec(text)
    if not colon or len(word) < 2 or not word.isidentifier():
        return
    close = closest_kind(word, kinds)
    options = kind[kind.index("("):].strip() if "(" in kind else ""
    suggestion = f"Did you mean --gt {close}{options}:{rest}? " if close else ""
    raise DataError(f"--gt '{text}' is neither an existing folder nor a dataset spec: '{word}' is not a dataset "
                    f"kind. {suggestion}The kinds are {', '.join(kinds)}; or give a folder of ground-truth frames.")


#: Spec options that choose or resize samples, which ``eval`` does not do: it scores every sample as stored.
RESAMPLING_OPTIONS = ("count", "size", "fit")


def check_scored_whole(spec: str) -> None:
    """A DataError when a ``--gt`` spec asks for a subset or resized frames: predictions are matched to the
    set's own frames, every one of them at its stored size (``stride`` and a set's own options stay).
    Read from the spec's text, so ``ucf101(size=64)`` gets this answer too, not the parser's list of
    the options ucf101 has (``count``, which eval refuses as well)."""
    from vfibench.data.sources import absolute_spec
    from vfibench.spec_syntax import split_spec

    parts = split_spec(spec)
    if parts is None:
        return  # the parser says what is wrong
    kind, options, path = parts
    items = [item.strip() for item in options.split(",") if item.strip()]
    given = [item for item in items if item.partition("=")[0].strip() in RESAMPLING_OPTIONS]
    if given:
        kept = [item for item in items if item not in given]
        # the spec without them, parsed: any other mistake in it is named first
        bare = absolute_spec(kind + (f"({', '.join(kept)})" if kept else "") + (f":{path}" if path else ""))
        raise DataError(
            f"--gt {spec}: eval scores every sample of a test set at the size its frames are stored, "
            f"so {', '.join(given)} cannot apply (they choose or resize the triplets a run trains and tests on). "
            f"Write --gt {bare.canonical}, and give a prediction for every sample at that size."
        )


def prediction_file(directory: Path, sample: str) -> str | None:
    """The prediction of the sample id ``sample`` in ``directory``: ``<id>.png`` (or ``.jpg``, ``.jpeg``,
    in that order, then the same in capitals, as a folder of frames matches extensions in any case)
    relative to it, or None when there is none."""
    suffixes = (*IMAGE_SUFFIXES, *(suffix.upper() for suffix in IMAGE_SUFFIXES))
    return next((f"{sample}{suffix}" for suffix in suffixes if (directory / f"{sample}{suffix}").is_file()), None)


def match_ids(ids: Sequence[str], sources: Mapping[str, Path], spec: str) -> dict[str, dict[str, str]]:
    """Model → sample id → prediction path relative to its folder (``<id>.png``, ``.jpg`` or ``.jpeg``),
    after checking every model has every sample; the error names the missing ids."""
    for sample in ids:  # each set makes its ids relative; a prediction is never looked up outside its folder
        if Path(sample).is_absolute() or os.pardir in Path(sample).parts:
            raise DataError(f"The sample id '{sample}' of {spec} is not a path inside a folder, so its prediction "
                            f"could not be looked up inside --pred. Rewrite the set's list with paths relative "
                            f"to its folder.")
    matched: dict[str, dict[str, str]] = {}
    for name, directory in sources.items():
        if not directory.is_dir():
            raise DataError(f"The prediction ('{name}') folder '{directory}' {_not_a_folder(directory)}. Give the "
                            f"folder that holds the model's frames, saved as DIR/ID.png.")
        found = {sample: file for sample in ids if (file := prediction_file(directory, sample)) is not None}
        missing = [sample for sample in ids if sample not in found]
        if missing:
            shown = _preview(f"'{m}'" for m in missing)
            raise DataError(
                f"Model '{name}' has no prediction for {len(missing)} of the {len(ids)} samples of {spec}: {shown}. "
                f"Predictions are matched by the set's sample ids: write each as '{directory}/<id>.png' (e.g. "
                f"'{directory / (missing[0] + '.png')}')."
            )
        matched[name] = found
    return matched


def plan_evaluation(predictions: Sequence[str] | Mapping[str, Path], gt: Path | str, *, out: Path,
                    metrics: Sequence[str] = DEFAULT_METRICS, skip_unavailable: bool = False,
                    device: str = "auto", command: str = "", protocols: Sequence[str] = ()) -> EvalPlan:
    """Validate an evaluation completely before any frame is scored; raise a VfiBenchError otherwise.

    Args:
        predictions: ``--pred`` values (``DIR`` or ``NAME=DIR``) or a name → folder mapping.
        gt: the ground-truth folder, or a dataset spec (e.g. ``ucf101:/data/ucf101``) whose sample ids
            name the predictions.
        out: where the run directory is created.
        metrics: metric names; a missing backbone stops here with its fix unless ``skip_unavailable``.
        skip_unavailable: mark metrics whose backbone is missing "unavailable" instead of stopping.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        command: the command line, recorded in the manifest.
        protocols: PSNR/SSIM protocol names (:mod:`vfibench.metrics.protocols`) also computed.
    """
    from vfibench.results.atomic import check_writable_folder
    from vfibench.results.store import check_latest_is_a_link
    from vfibench.sweep import resolve_device

    sources = dict(predictions) if isinstance(predictions, Mapping) else parse_predictions(predictions)
    sources = {str(k): Path(v) for k, v in sources.items()}
    if not sources:  # an evaluation of nothing would write an empty run and take `latest`
        raise VfiBenchError("No predictions to score: give at least one folder of predicted frames (--pred DIR).")
    from vfibench.metrics.registry import metric_info

    spec, pred_files = None, {}
    if is_dataset_spec(str(gt)):
        from vfibench.data.sources import absolute_spec, open_source

        check_scored_whole(str(gt))
        parsed = absolute_spec(str(gt))  # recorded absolute: the report re-reads the set from any folder
        spec = parsed.canonical
        source = open_source(parsed, "test")
        files = [ref.name for ref in source.refs]
        repeated = sorted(name for name, count in Counter(files).items() if count > 1)
        if repeated:  # each sample's ground truth is found by its id
            raise DataError(f"The test set {spec} names the sample {repeated[0]} more than once"
                            f"{f' (and {len(repeated) - 1} more)' if len(repeated) > 1 else ''}; each sample must "
                            f"be listed once to be scored against its own ground truth. Remove the repeated entries.")
        set_notes = list(getattr(source, "notes", []))
        pred_files = match_ids(files, sources, spec)
        listed = {name: list_frames(directory, f"prediction ('{name}')") for name, directory in sources.items()}
        gt = parsed.path or Path(".")
    else:
        check_not_a_misspelt_spec(str(gt))
        set_notes = []
        gt = Path(gt)
        files, listed = match_frames(gt, sources)
        needing = [m for m in metrics if metric_info(m).inputs]
        if needing:
            raise VfiBenchError(
                f"{', '.join(needing)} {'needs' if len(needing) == 1 else 'need'} the input frames I0 and I1 of "
                f"each triplet, which a folder of "
                f"ground-truth frames does not have. Give --gt as a dataset spec (e.g. ucf101:PATH, "
                f"frames:PATH) or leave these metrics out."
            )
    check_out_outside_frames(Path(out), {"ground-truth folder": Path(gt)}
                             | {f"prediction folder of '{name}'": folder for name, folder in sources.items()})
    check_writable_folder(Path(out), "--out")
    check_latest_is_a_link(Path(out))
    resolved = resolve_device(device)
    suite = MetricSuite(list(metrics), device=resolved, skip_unavailable=skip_unavailable)
    notes = set_notes + [unscored_note(name, listed[name], pred_files[name].values() if spec else files)
                         for name in sources]
    firsts = {f"model '{name}'": sources[name] / (next(iter(pred_files[name].values())) if spec else files[0])
              for name in sources if (pred_files[name] if spec else files)}
    if not spec and files:
        firsts = {"the ground truth": gt / files[0]} | firsts
    notes.append(wide_levels_note(firsts))
    return EvalPlan(sources, gt, files, list(suite.names), dict(suite.unavailable), resolved, out, command,
                    dict(suite.backbone_sha256),
                    spec, pred_files, list(protocols), [note for note in notes if note])


def check_out_outside_frames(out: Path, folders: Mapping[str, Path]) -> None:
    """A VfiBenchError when the results folder ``out`` lies in one of ``folders`` (role → folder), which are
    read for frames (:func:`list_frames`, subfolders included): the run's image grids would be written among
    the frames, and the next evaluation would read them as frames. A hidden folder on the way is never read."""
    target = out.resolve()
    for role, folder in folders.items():
        base = folder.resolve()
        if target != base and base not in target.parents:
            continue
        if any(is_hidden(Path(part)) for part in target.relative_to(base).parts):
            continue
        outside = os.path.relpath(base.parent / "results")
        raise VfiBenchError(
            f"--out '{out}' is inside the {role} '{folder}': the run's image grids would be written among its "
            f"frames, and the next evaluation would read them as frames. Pass an --out outside it (e.g. --out "
            f"{outside})."
        )


def wide_levels_note(firsts: Mapping[str, Path]) -> str:
    """A sentence when the first frame of any of ``firsts`` (whose frames → that frame's file) holds more
    than 8 bits per channel, which every metric scores as 8-bit levels ('' otherwise)."""
    from vfibench.evaluate import holds_wide_levels

    wide = [f"{whose} ('{path.name}')" for whose, path in firsts.items() if holds_wide_levels(path)]
    if not wide:
        return ""
    return (f"The frames of {join_words(wide)} have more than 8 bits per channel: they are scored as 8-bit levels, "
            f"each value rounded to the nearest of 256, as eval scores every frame, so differences below one 8-bit "
            f"level are not measured.")


def unscored_note(name: str, present: Iterable[str], used: Iterable[str]) -> str:
    """A sentence on the frames ``present`` in model ``name``'s folder that match no ground truth (are not
    ``used``) and so are not scored ('' when there are none): a misnamed prediction shows up here
    before its absence is noticed."""
    extra = sorted(set(present) - set(used))
    if not extra:
        return ""
    match, be = ("matches", "is") if len(extra) == 1 else ("match", "are")
    return (f"{counted(len(extra), 'frame')} of model '{name}' {match} no ground truth and {be} not scored: "
            f"{_preview(repr(f) for f in extra)}.")
