"""A set of metrics evaluated together on 8-bit-quantised frames, with backbones checked up front."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from vfibench.errors import BackboneUnavailable, VfiBenchError
from vfibench.metrics._common import check_pair, check_scale, levels_to_unit_, scores_in_device_chunks
from vfibench.metrics.features import FEATURES, concat, map_tensors
from vfibench.metrics.records import DEFAULT_METRICS
from vfibench.metrics.registry import MetricInfo, metric_info

#: Pixels (frames × height × width) scored together at most, so that the float64 work of a chunk stays
#: in cache (two 448×256 frames, 28 of 96×96); features may ask for fewer (``Feature.pixels``).
CHUNK_PIXELS = 1 << 18

#: Pixels scored together at most on a GPU, which has no cache to fit but pays a round of kernel launches
#: per chunk: 18 frames of 448×256 (DISTS's VGG16 activations then take about 1 GB), never more than
#: the suite's ``batch_size``.
GPU_CHUNK_PIXELS = 1 << 21



def quantize_8bit(x: Tensor) -> Tensor:
    """What a saved 8-bit frame would hold: ``round(clamp(x, 0, 1) · 255) / 255``.

    Rounding is half-to-even (``torch.round``); NaN stays NaN. The dtype and device are kept, and
    so are the levels: each is k / 255 correctly rounded in the dtype, on every device
    (:func:`~vfibench.metrics._common.levels_to_unit_`).
    """
    return levels_to_unit_(x.clamp(0.0, 1.0).mul_(255.0).round_())


def batch_slices(count: int, batch_size: int) -> list[slice]:
    """The scoring batches of ``count`` frames: consecutive slices of ``batch_size`` (the last may be
    shorter). :meth:`MetricSuite.prepare_batches` and :meth:`MetricSuite.score_prepared` both use it, so
    batch k of a prediction always meets batch k of its prepared ground truth."""
    return [slice(begin, begin + batch_size) for begin in range(0, count, batch_size)]


def scoring_batch_size(device: torch.device | str, height: int, width: int, batch_size: int) -> int:
    """Frames per call for a caller that scores a whole set of ``height``×``width`` frames:
    ``batch_size`` on a CPU (where the suite splits each call into cache-sized chunks itself); on a
    GPU as many as one device chunk holds (:data:`GPU_CHUNK_PIXELS`), and at least ``batch_size``,
    since each chunk there is a round of small kernel launches whatever its size. Build the suite
    with this ``batch_size`` too, or it chunks the calls again."""
    if not scores_in_device_chunks(device):
        return batch_size
    return max(batch_size, device_chunk_frames(height, width))


def device_chunk_frames(height: int, width: int) -> int:
    """Frames of ``height``×``width`` one device chunk (:data:`GPU_CHUNK_PIXELS`) holds, at least one."""
    return max(1, GPU_CHUNK_PIXELS // max(1, height * width))


def required_backbones(names: Iterable[str]) -> set[str]:
    """The pretrained backbones the named metrics need (e.g. ``{"alexnet", "vgg16"}``)."""
    return {backbone for name in names for backbone in metric_info(name).needs}


@dataclass(frozen=True, eq=False)
class PreparedReference:
    """A ground truth scored once (:meth:`MetricSuite.prepare`): its 8-bit-quantised frames, the input
    frames, and the per-frame features the suite's metrics compare, all batch first.

    Picklable (CPU tensors by default), so a coordinator can prepare a test set once and send it to
    the workers that score each configuration's predictions against it. ``len()`` is the number of
    frames; ``reference[a:b]`` is the reference of frames a … b − 1.

    Attributes:
        gt: quantised ground-truth frames (N, 3, H, W), in the dtype they were given.
        inputs: quantised (I0, I1), or None.
        features: feature name (:mod:`vfibench.metrics.features`) → its value for every frame.
        backbone_sha256: the backbones the features were computed with; a suite with other weights
            refuses the reference.
    """

    gt: Tensor
    inputs: tuple[Tensor, Tensor] | None
    features: dict[str, Any] = field(default_factory=dict)
    backbone_sha256: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.gt.shape[0])

    def tensors(self) -> list[Tensor]:
        """Every tensor it holds: the frames, the input frames and each feature's tensors."""
        found: list[Tensor] = []
        self._map(lambda t: found.append(t) or t)
        return found

    @property
    def nbytes(self) -> int:
        """The bytes of its tensors' elements: frames, input frames and features."""
        return sum(t.numel() * t.element_size() for t in self.tensors())

    def to(self, device: torch.device | str) -> PreparedReference:
        """The same reference with every tensor on ``device`` (tensors already there are shared, not copied)."""
        return self._map(lambda t: t.to(device))

    def __getitem__(self, index: slice) -> PreparedReference:
        if not isinstance(index, slice):
            raise TypeError(f"a PreparedReference is sliced with a:b, not indexed with {type(index).__name__}")
        return self._map(lambda t: t[index])

    def _map(self, fn: Callable[[Tensor], Tensor]) -> PreparedReference:
        """A reference of ``fn`` applied to every tensor (frames, input frames, each feature's tensors)."""
        return PreparedReference(
            fn(self.gt),
            (fn(self.inputs[0]), fn(self.inputs[1])) if self.inputs is not None else None,
            {name: map_tensors(value, fn) for name, value in self.features.items()},
            dict(self.backbone_sha256),
        )


class MetricSuite:
    """Evaluate several per-frame metrics on predicted and ground-truth frames.

    Both inputs are clamped to [0, 1] and quantised to 8 bits (:func:`quantize_8bit`) before any
    metric sees them, so scores describe the frames as they would be saved. Backbones are checked
    when the suite is built: a missing one raises :class:`~vfibench.errors.BackboneUnavailable`
    naming what is missing and the command that fetches it, unless ``skip_unavailable`` is set,
    in which case the metrics that need it are left out and listed in :attr:`unavailable`.

    Frames are scored in chunks (:meth:`chunk_size`); within a chunk each per-frame feature
    (:mod:`vfibench.metrics.features`) is computed once and shared by the metrics that compare it
    (LPIPS and FloLPIPS share one AlexNet pass). A ground truth scored against several predictions
    is best prepared once (:meth:`prepare`, :class:`PreparedReference`) and passed as
    ``reference=``: the scores are the same, and its features are not computed again.

    Args:
        names: metric names (see :func:`~vfibench.metrics.registry.metric_names`); duplicates are
            dropped, order kept.
        device: where the metrics run (inputs are moved there).
        skip_unavailable: leave out metrics whose backbone is missing instead of raising.
        batch_size: frames per chunk at most; larger inputs are evaluated chunk by chunk, and large
            frames in smaller chunks (:meth:`chunk_size`).

    Attributes:
        names: the metrics that will be computed, in order.
        unavailable: metric name → why it is left out.
        backbone_sha256: backbone name → tensor hash of the weights the computed metrics use.
        reference_weights: whether every backbone used is the pinned ImageNet reference (a table
            computed with other weights must not be presented as LPIPS/DISTS).

    Example:
        >>> suite = MetricSuite(["psnr", "ssim"])
        >>> scores = suite(torch.rand(4, 3, 64, 64), torch.rand(4, 3, 64, 64))
        >>> scores["psnr"].shape, scores["psnr"].dtype
        (torch.Size([4]), torch.float64)
    """

    required_backbones = staticmethod(required_backbones)

    def __init__(self, names: Sequence[str] = DEFAULT_METRICS, device: torch.device | str = "cpu",
                 skip_unavailable: bool = False, batch_size: int = 16) -> None:
        from vfibench import backbones

        if isinstance(names, str):
            raise VfiBenchError(f"MetricSuite expects a sequence of metric names, got the string {names!r}.")
        if batch_size < 1:
            raise VfiBenchError(f"MetricSuite batch_size must be at least 1, got {batch_size}.")
        infos: list[MetricInfo] = []
        for name in names:
            info = metric_info(name)
            if info not in infos:
                infos.append(info)
        if not infos:
            raise VfiBenchError("MetricSuite needs at least one metric name.")
        self.device = torch.device(device)
        self.batch_size = batch_size

        statuses = {b: backbones.locate(b) for b in sorted({b for info in infos for b in info.needs})}
        foreign = {b: message for b, status in statuses.items()
                   if (message := backbones.foreign_weights_message(status)) is not None}
        missing = {b for b, status in statuses.items() if not status.found} | set(foreign)
        self.unavailable: dict[str, str] = {}
        if missing:
            blocked = [info.name for info in infos if missing & set(info.needs)]
            if not skip_unavailable:
                details = " ".join(foreign.get(b) or backbones.unavailable_message(statuses[b]) for b in sorted(missing))
                raise BackboneUnavailable(
                    f"Cannot compute {', '.join(blocked)}: backbone {', '.join(sorted(missing))} missing. "
                    f"{details} Or leave these metrics out (--skip-unavailable marks them unavailable)."
                )
            for info in infos:
                lacking = sorted(missing & set(info.needs))
                if lacking:
                    self.unavailable[info.name] = (
                        f"pretrained {', '.join(lacking)} weights not available"
                        + (" (those found are not the ImageNet reference)" if set(lacking) & set(foreign) else "")
                        + f"; run `{'` and `'.join(statuses[b].fix for b in lacking)}`"
                    )
        self._infos = tuple(info for info in infos if info.name not in self.unavailable)
        if not self._infos:
            raise BackboneUnavailable(
                f"None of the metrics {', '.join(info.name for info in infos)} can be computed: "
                + " ".join(f"{name}: {why}." for name, why in self.unavailable.items())
                + " Fetch the weights, or ask for metrics that need none (psnr, ssim, sharpness, gmsd).")
        self.names: tuple[str, ...] = tuple(info.name for info in self._infos)
        used = {b for info in self._infos for b in info.needs}
        self.backbone_sha256: dict[str, str] = {b: str(statuses[b].sha256) for b in sorted(used)}
        self.reference_weights = all(backbones.is_reference(b, statuses[b].sha256) for b in used)
        for info in self._infos:
            if info.prepare is not None:
                info.prepare(self.device)

    @property
    def infos(self) -> tuple[MetricInfo, ...]:
        """The registry records of the metrics computed, in order."""
        return self._infos

    @property
    def min_size(self) -> int:
        """The smallest frame side every computed metric accepts."""
        return max(info.min_size for info in self._infos)

    @property
    def needs_inputs(self) -> tuple[str, ...]:
        """The computed metrics that also need the input frames I0 and I1."""
        return tuple(info.name for info in self._infos if info.inputs)

    @property
    def features(self) -> tuple[str, ...]:
        """The shared per-frame features (:mod:`vfibench.metrics.features`) the computed metrics use."""
        return tuple(dict.fromkeys(name for info in self._infos for name in info.features))

    def chunk_size(self, height: int, width: int) -> int:
        """Frames scored together: at most :attr:`batch_size`, and few enough that a chunk holds at most
        :data:`CHUNK_PIXELS` pixels, or fewer where a feature asks (its ``pixels``): the float64 work
        of a chunk then stays in cache, and so do the activations of a CPU backbone. On a GPU the chunk
        is as large as :data:`GPU_CHUNK_PIXELS` allows: there each chunk is a round of small kernels."""
        if scores_in_device_chunks(self.device):
            return min(self.batch_size, device_chunk_frames(height, width))
        budgets = [CHUNK_PIXELS, *(FEATURES[name].pixels or CHUNK_PIXELS for name in self.features)]
        return max(1, min(self.batch_size, min(budgets) // max(1, height * width)))

    def _checked(self, x: Tensor, role: str) -> Tensor:
        """``x`` on the suite's device, after refusing NaN or infinite values (one min/max pass, which
        NaN propagates through). Quantisation happens chunk by chunk, where the frames are scored."""
        if isinstance(x, Tensor) and x.is_floating_point():
            x = x.to(self.device)
            if x.numel():
                low, high = (float(v) for v in torch.aminmax(x))
                if not (math.isfinite(low) and math.isfinite(high)):
                    raise VfiBenchError(
                        f"The {role} frames contain NaN or infinite values and cannot be scored"
                        + (" (did the model diverge?)." if role == "predicted" else ".")
                    )
        return x

    def _inputs(self, inputs: tuple[Tensor, Tensor] | None, shape: torch.Size) -> tuple[Tensor, Tensor] | None:
        """The input frames I0, I1 on the suite's device, checked against the frames' shape."""
        if inputs is None:
            if self.needs_inputs:
                raise VfiBenchError(
                    f"{', '.join(self.needs_inputs)} {'needs' if len(self.needs_inputs) == 1 else 'need'} the "
                    f"input frames I0 and I1 of each triplet, which these scores were not given. Score with a dataset spec as ground truth (vfibench eval --gt "
                    f"ucf101:PATH ...), or leave these metrics out."
                )
            return None
        for role, x in zip(("I0", "I1"), inputs):
            if not isinstance(x, Tensor) or x.shape != shape or not x.is_floating_point():
                got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
                raise VfiBenchError(f"The input frame {role} must be a floating-point tensor of the frames' shape "
                                    f"{tuple(shape)}, got {got}.")
        return (self._checked(inputs[0], "input"), self._checked(inputs[1], "input"))

    def prepare(self, gt: Tensor, inputs: tuple[Tensor, Tensor] | None = None,
                device: torch.device | str = "cpu") -> PreparedReference:
        """Compute once what the metrics need of a ground truth, to score any number of predictions.

        The frames are quantised as :meth:`__call__` does and every feature the computed metrics
        compare (:attr:`features`: backbone activations for LPIPS and DISTS, local moments for
        SSIM, gradient energy for the sharpness ratio, flows to the input frames for FloLPIPS) is
        computed chunk by chunk. ``suite(pred, reference=prepared)`` then gives exactly the scores
        ``suite(pred, gt, inputs)`` gives — bit for bit when both are chunked alike (the same
        frames; otherwise a backbone's scores may move by float32 rounding) — without computing
        the ground truth's features again.

        This is how a test set scored against several predictions (``vfibench eval`` with several
        models; a sweep's configurations and references) computes its ground truth's features once::

            prepared = suite.prepare(test.it, (test.i0, test.i1) if suite.needs_inputs else None)
            for frames in predictions:              # one per configuration or model
                scores = suite(frames, reference=prepared)

        or slice by slice, ``suite(frames[a:b], reference=prepared[a:b])``. The reference is
        picklable (CPU tensors by default), so a coordinator can prepare it once and send it to
        the workers that score.

        Args:
            gt: ground-truth frames (N, 3, H, W) with values in [0, 1].
            inputs: (I0, I1), for the metrics that need the input frames.
            device: where the reference is kept (CPU by default).

        Returns:
            a :class:`PreparedReference`; slicing it (``prepared[8:16]``) selects frames.

        Memory: the backbone features are large — per 448×256 frame about 56 MB for DISTS (its
        five VGG16 stages), 4.5 MB for LPIPS (AlexNet) and 5 MB for SSIM's moments, per 96×96
        frame about 4.5 MB in all; prepare a large test set in slices when that does not fit.
        """
        gt = self._checked(gt, "ground-truth")
        check_pair(gt, gt, "metrics", min_size=self.min_size, check_range=False)
        check_scale(gt, "ground truth", "metrics")
        inputs = self._inputs(inputs, gt.shape)
        keep = torch.device(device)
        step = self.chunk_size(*gt.shape[-2:])
        frames: list[Tensor] = []
        extras: list[tuple[Tensor, ...]] = []
        parts: dict[str, list[Any]] = {name: [] for name in self.features}
        for start in range(0, gt.shape[0], step):
            g = quantize_8bit(gt[start:start + step])
            extra = tuple(quantize_8bit(x[start:start + step]) for x in inputs) if inputs is not None else ()
            for name in self.features:
                parts[name].append(map_tensors(FEATURES[name](g, *extra), lambda t: t.detach().to(keep)))
            frames.append(g.to(keep))
            extras.append(tuple(x.to(keep) for x in extra))
        if not frames:  # no frames: nothing to quantise
            frames, extras = [gt.to(keep)], [tuple(x.to(keep) for x in inputs or ())]
        features = {name: concat(chunks) for name, chunks in parts.items() if chunks}
        kept_inputs = (torch.cat([e[0] for e in extras]), torch.cat([e[1] for e in extras])) if inputs else None
        return PreparedReference(torch.cat(frames), kept_inputs, features, dict(self.backbone_sha256))

    def prepare_batches(self, gt: Tensor, inputs: tuple[Tensor, Tensor] | None, batch_size: int,
                        device: torch.device | str = "cpu") -> list[PreparedReference]:
        """:meth:`prepare` per batch of ``batch_size`` frames (``inputs`` only where a metric needs
        them), for a caller that scores predictions in those batches: scoring batch k against
        element k gives bit for bit the scores of ``suite(pred_k, gt_k, inputs_k)``."""
        batches = []
        for chunk in batch_slices(gt.shape[0], batch_size):
            pair = (inputs[0][chunk].to(device), inputs[1][chunk].to(device)) \
                if inputs is not None and self.needs_inputs else None
            batches.append(self.prepare(gt[chunk].to(device), pair, device=device))
        return batches

    def score_prepared(self, pred: Tensor, prepared: Sequence[PreparedReference], batch_size: int) -> dict[str, Tensor]:
        """Per-frame scores of ``pred`` (N, 3, H, W) against a ground truth prepared by
        :meth:`prepare_batches` with the same ``batch_size``: each batch moved to the suite's device and
        scored against its prepared counterpart. Bit for bit the scores of ``suite(pred, gt, inputs)``.

        Returns:
            metric name → (N,) float64 CPU tensor, in :attr:`names` order.
        """
        chunks = batch_slices(pred.shape[0], batch_size)
        if len(chunks) != len(prepared):
            raise VfiBenchError(f"The prediction has {pred.shape[0]} frames in {len(chunks)} batches of {batch_size}, "
                                f"the prepared ground truth {len(prepared)} batches; prepare it with the same "
                                f"batch size and frames.")
        scores = [self(pred[chunk].to(self.device), reference=reference) for chunk, reference in zip(chunks, prepared)]
        empty = torch.zeros(0, dtype=torch.float64)
        return {name: torch.cat([part[name] for part in scores]) if scores else empty for name in self.names}

    def __call__(self, pred: Tensor, gt: Tensor | None = None, inputs: tuple[Tensor, Tensor] | None = None, *,
                 reference: PreparedReference | None = None) -> dict[str, Tensor]:
        """Per-frame scores of ``pred`` against ``gt``, both (N, 3, H, W) with values in [0, 1];
        ``inputs`` = (I0, I1), quantised like them, for the metrics that need the input frames.
        With ``reference`` (from :meth:`prepare`) instead of ``gt`` and ``inputs``, the ground
        truth's features are taken from it rather than computed: the scores are the same.

        Frames are scored in chunks (:meth:`chunk_size`); every feature of a chunk is computed
        once and shared by the metrics that compare it.

        Returns:
            metric name → (N,) float64 CPU tensor, in :attr:`names` order.
        """
        if reference is not None:
            if gt is not None or inputs is not None:
                raise VfiBenchError("Score against either ground-truth frames (gt, inputs) or a prepared reference, "
                                    "not both.")
            self._check_reference(reference)
        elif gt is None:
            raise VfiBenchError("Give the ground-truth frames (gt) or a prepared reference (reference=...) to score "
                                "against.")
        pred = self._checked(pred, "predicted")
        gt = reference.gt.to(self.device) if reference is not None else self._checked(gt, "ground-truth")
        # a small overshoot is clamped to [0, 1] and quantised below; another scale is refused
        check_pair(pred, gt, "metrics", min_size=self.min_size, check_range=False)
        check_scale(pred, "prediction", "metrics")
        if reference is None:  # a prepared reference was checked when it was prepared
            check_scale(gt, "ground truth", "metrics")
        if reference is not None:
            inputs = (reference.inputs[0].to(self.device), reference.inputs[1].to(self.device)) \
                if reference.inputs is not None else self._inputs(None, pred.shape)
        else:
            inputs = self._inputs(inputs, pred.shape)
        out: dict[str, list[Tensor]] = {name: [] for name in self.names}
        step = self.chunk_size(*pred.shape[-2:])
        for start in range(0, pred.shape[0], step):
            chunk = slice(start, start + step)
            p = quantize_8bit(pred[chunk])
            if reference is not None:  # quantised when prepared
                g = gt[chunk]
                extra = tuple(x[chunk] for x in inputs) if inputs is not None else ()
                known = {name: map_tensors(value, lambda t: t[chunk].to(self.device))
                         for name, value in reference.features.items()}
            else:
                g = quantize_8bit(gt[chunk])
                extra = tuple(quantize_8bit(x[chunk]) for x in inputs) if inputs is not None else ()
                known = {}
            for name, values in self._score_batch(p, g, extra, known).items():
                out[name].append(values.detach().to("cpu", torch.float64))
        empty = torch.zeros(0, dtype=torch.float64)
        return {name: torch.cat(chunks) if chunks else empty for name, chunks in out.items()}

    def _check_reference(self, reference: PreparedReference) -> None:
        if not isinstance(reference, PreparedReference):
            raise VfiBenchError(f"reference must be a PreparedReference from MetricSuite.prepare, got "
                                f"{type(reference).__name__}.")
        changed = sorted(b for b, sha in self.backbone_sha256.items()
                         if b in reference.backbone_sha256 and reference.backbone_sha256[b] != sha)
        if changed:
            raise VfiBenchError(f"The prepared reference was computed with other {', '.join(changed)} weights than "
                                f"this suite's; prepare it again with this suite.")

    def _score_batch(self, p: Tensor, g: Tensor, extra: tuple[Tensor, ...], known: dict[str, Any]) -> dict[str, Tensor]:
        """Every metric on one batch; each feature computed once for ``p`` and, unless ``known``, for ``g``."""
        feats_p: dict[str, Any] = {}
        feats_g: dict[str, Any] = dict(known)

        def feature(cache: dict[str, Any], name: str, frames: Tensor) -> Any:
            if name not in cache:
                cache[name] = FEATURES[name](frames, *extra)
            return cache[name]

        scores: dict[str, Tensor] = {}
        for info in self._infos:
            args = extra if info.inputs else ()
            if info.compare is None:
                scores[info.name] = info.compute(p, g, *args)
            else:
                fp = tuple(feature(feats_p, name, p) for name in info.features)
                fg = tuple(feature(feats_g, name, g) for name in info.features)
                scores[info.name] = info.compare(p, g, fp, fg, *args)
        return scores

    def describe(self) -> dict[str, object]:
        """What a results manifest should record about how the scores were computed."""
        return {
            "metrics": list(self.names),
            "unavailable": dict(self.unavailable),
            "input": "prediction clamped to [0, 1] and both frames quantised to 8 bits before scoring",
            "backbone_sha256": dict(self.backbone_sha256),
            "reference_weights": self.reference_weights,
        }
