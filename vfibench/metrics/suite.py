"""A set of metrics evaluated together on 8-bit-quantised frames, with backbones checked up front."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from vfibench.errors import BackboneUnavailable, VfiBenchError
from vfibench.metrics._common import check_pair
from vfibench.metrics.registry import MetricInfo, metric_info

#: The metrics a run computes unless told otherwise.
DEFAULT_METRICS: tuple[str, ...] = ("psnr", "ssim", "lpips", "dists", "sharpness", "gmsd")


def quantize_8bit(x: Tensor) -> Tensor:
    """What a saved 8-bit frame would hold: ``round(clamp(x, 0, 1) · 255) / 255``.

    Rounding is half-to-even (``torch.round``); NaN stays NaN. The dtype and device are kept.
    """
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def required_backbones(names: Iterable[str]) -> set[str]:
    """The pretrained backbones the named metrics need (e.g. ``{"alexnet", "vgg16"}``)."""
    return {backbone for name in names for backbone in metric_info(name).needs}


class MetricSuite:
    """Evaluate several per-frame metrics on predicted and ground-truth frames.

    Both inputs are clamped to [0, 1] and quantised to 8 bits (:func:`quantize_8bit`) before any
    metric sees them, so scores describe the frames as they would be saved. Backbones are checked
    when the suite is built: a missing one raises :class:`~vfibench.errors.BackboneUnavailable`
    naming what is missing and the command that fetches it, unless ``skip_unavailable`` is set,
    in which case the metrics that need it are left out and listed in :attr:`unavailable`.

    Args:
        names: metric names (see :func:`~vfibench.metrics.registry.metric_names`); duplicates are
            dropped, order kept.
        device: where the metrics run (inputs are moved there).
        skip_unavailable: leave out metrics whose backbone is missing instead of raising.
        batch_size: frames per chunk; larger inputs are evaluated chunk by chunk.

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

    def __call__(self, pred: Tensor, gt: Tensor, inputs: tuple[Tensor, Tensor] | None = None) -> dict[str, Tensor]:
        """Per-frame scores of ``pred`` against ``gt``, both (N, 3, H, W) with values in [0, 1];
        ``inputs`` = (I0, I1), quantised like them, for the metrics that need the input frames.

        Returns:
            metric name → (N,) float64 CPU tensor, in :attr:`names` order.
        """
        for role, x in (("predicted", pred), ("ground-truth", gt)):
            if isinstance(x, Tensor) and x.is_floating_point() and not bool(torch.isfinite(x).all()):
                raise VfiBenchError(
                    f"The {role} frames contain NaN or infinite values and cannot be scored"
                    + (" (did the model diverge?)." if role == "predicted" else ".")
                )
        if isinstance(pred, Tensor) and isinstance(gt, Tensor) and pred.is_floating_point() and gt.is_floating_point():
            pred = quantize_8bit(pred.to(self.device))
            gt = quantize_8bit(gt.to(self.device))
        check_pair(pred, gt, "metrics", min_size=self.min_size)
        if self.needs_inputs and inputs is None:
            raise VfiBenchError(
                f"{', '.join(self.needs_inputs)} need the input frames I0 and I1 of each triplet, which these "
                f"scores were not given. Score with a dataset spec as ground truth (vfibench eval --gt "
                f"ucf101:PATH ...), or leave these metrics out."
            )
        if inputs is not None:
            inputs = (quantize_8bit(inputs[0].to(self.device)), quantize_8bit(inputs[1].to(self.device)))
        out: dict[str, list[Tensor]] = {name: [] for name in self.names}
        for start in range(0, pred.shape[0], self.batch_size):
            p = pred[start:start + self.batch_size]
            g = gt[start:start + self.batch_size]
            for info in self._infos:
                extra = [x[start:start + self.batch_size] for x in inputs] if info.inputs and inputs else []
                out[info.name].append(info.compute(p, g, *extra).detach().to("cpu", torch.float64))
        empty = torch.zeros(0, dtype=torch.float64)
        return {name: torch.cat(chunks) if chunks else empty for name, chunks in out.items()}

    def describe(self) -> dict[str, object]:
        """What a results manifest should record about how the scores were computed."""
        return {
            "metrics": list(self.names),
            "unavailable": dict(self.unavailable),
            "input": "prediction clamped to [0, 1] and both frames quantised to 8 bits before scoring",
            "backbone_sha256": dict(self.backbone_sha256),
            "reference_weights": self.reference_weights,
        }
