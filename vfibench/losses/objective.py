"""The training objective: a loss configuration turned into modules, a total and named terms.

The model never computes its own loss. The objective takes the model's :class:`Prediction` and the
batch, evaluates each term active at the current point of training, and returns the weighted total
together with every term's unweighted value for the training log.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vfibench.data.triplets import Triplets
from vfibench.losses.spec import LossConfig, ResolvedTerm
from vfibench.model.prediction import Prediction


@dataclass(frozen=True)
class ObjectiveValue:
    """The weighted total to minimise and each term's unweighted value (keyed by the term's label)."""

    total: Tensor
    terms: dict[str, Tensor]


class Objective(nn.Module):
    """Σ_k w_k(progress) · term_k(prediction, triplets) for one loss configuration.

    A term whose schedule window does not contain the current progress (a fraction of training
    in [0, 1]) is skipped entirely, so it costs nothing. Terms that occur with several windows
    (e.g. a weight that switches half-way) share one module.
    """

    def __init__(self, config: LossConfig) -> None:
        super().__init__()
        self.config = config
        self.schedule: tuple[ResolvedTerm, ...] = config.resolve()
        modules: dict[str, nn.Module] = {}
        for term in self.schedule:
            if term.label not in modules:
                modules[term.label] = term.info.factory(**term.params)
        self.term_modules = nn.ModuleDict({_key(label): module for label, module in modules.items()})

    def module_for(self, term: ResolvedTerm) -> nn.Module:
        return self.term_modules[_key(term.label)]

    @property
    def labels(self) -> list[str]:
        """Every term label this objective can log, in schedule order, without repeats."""
        return list(dict.fromkeys(term.label for term in self.schedule))

    def forward(self, prediction: Prediction, triplets: Triplets, progress: float = 0.0) -> ObjectiveValue:
        total = prediction.frame.new_zeros(())
        values: dict[str, Tensor] = {}
        for term in self.schedule:
            if not term.window.contains(progress):
                continue
            if term.label not in values:
                values[term.label] = self.module_for(term)(prediction, triplets)
            total = total + term.weight * values[term.label]
        return ObjectiveValue(total, values)

    def auxiliary_step(self, prediction: Prediction, triplets: Triplets, progress: float) -> dict[str, float]:
        """Let terms with their own networks (e.g. a discriminator) take their update step.

        Called once per training step after the model's step, with the prediction detached.
        Returns the values those terms want logged.
        """
        logged: dict[str, float] = {}
        active = {term.label for term in self.schedule if term.window.contains(progress)}
        for label in self.labels:
            module = self.term_modules[_key(label)]
            step = getattr(module, "auxiliary_step", None)
            if step is not None and label in active:
                with torch.enable_grad():
                    logged.update(step(prediction, triplets))
        return logged


def _key(label: str) -> str:
    """ModuleDict keys may not contain '.', so parameter values such as 1e-3 are escaped."""
    return label.replace(".", "_")
