"""Held-out metrics during training: when do PSNR and the perceptual metric part ways?

At every row of the training log (every ``log_every`` steps, and the last step) the model is scored
on a small fixed validation subset: the first :data:`VAL_SAMPLES` scenes of the run's test data
(the same frames every time, for every configuration and seed; never trained on). The metrics are
PSNR and LPIPS where the run measures them (:data:`~vfibench.results.schema.HELD_OUT_METRICS`); the log gains the columns
``val_psnr`` and ``val_lpips``, means over the subset.

Scoring must not change training: :func:`held_out_scores` runs under ``torch.no_grad`` with the
model in eval mode (restored afterwards) inside ``torch.random.fork_rng``, so the random streams,
the batches and the trained weights are bit-identical with and without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from vfibench.data.triplets import Triplets
from vfibench.results.schema import HELD_OUT_METRICS, HELD_OUT_PREFIX

#: How many test scenes the held-out subset takes (the first ones).
VAL_SAMPLES = 16

HeldOut = Callable[[torch.nn.Module], dict[str, float]]


@dataclass
class Validation:
    """Scores a model on a fixed subset: ``validation(model)`` → {"val_psnr": …, "val_lpips": …}."""

    triplets: Triplets
    suite: object  # a MetricSuite
    batch_size: int
    device: torch.device
    #: The subset's ground truth prepared once (``MetricSuite.prepare_batches``): every log row scores
    #: a new prediction against the same frames, so their backbone features are not computed again.
    prepared: list = field(default_factory=list)

    @classmethod
    def of(cls, test: Triplets, metrics: Sequence[str], device: torch.device, batch_size: int,
           samples: int = VAL_SAMPLES) -> "Validation | None":
        """The validation of a run: the first ``samples`` of ``test``, scored on :data:`~vfibench.results.schema.HELD_OUT_METRICS` ∩ ``metrics``;
        None when ``samples`` is 0 or none of those metrics is measured."""
        from vfibench.metrics.suite import MetricSuite

        names = [m for m in HELD_OUT_METRICS if m in metrics]
        if samples <= 0 or not names or len(test) == 0:
            return None
        subset, suite = test[: min(samples, len(test))], MetricSuite(names, device=device)
        prepared = suite.prepare_batches(subset.it, (subset.i0, subset.i1), batch_size, device)
        return cls(subset, suite, batch_size, device, prepared)

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        from vfibench.train import predict

        frames = predict(model, self.triplets, self.batch_size, self.device)  # type: ignore[arg-type]
        from vfibench.metrics.suite import batch_slices

        scores = self.suite.score_prepared(frames, self.prepared, self.batch_size)  # type: ignore[attr-defined]
        chunks = batch_slices(len(self.triplets), self.batch_size)
        # summed batch by batch, in order: the logged means do not depend on how the scores were gathered
        return {HELD_OUT_PREFIX + name: sum(float(values[chunk].sum()) for chunk in chunks) / len(self.triplets)
                for name, values in scores.items()}


def held_out_scores(model: torch.nn.Module, held_out: HeldOut, device: torch.device) -> dict[str, float]:
    """``held_out(model)`` without side effects on training: no gradients, eval mode (then the model's
    mode restored), and every random generator restored afterwards."""
    training = model.training
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
        model.eval()
        try:
            return held_out(model)
        finally:
            model.train(training)
