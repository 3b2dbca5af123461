"""AdaCoF's dual-frame temporal adversarial loss, with its own discriminator and optimiser.

The discriminator D sees two frames stacked along the channels in temporal order. It is
trained to output "the generated frame is second" for (I0 ‖ Î) and "the generated frame is
first" for (Î ‖ I1) — it never sees the ground truth, only whether the interpolated frame fits
before I1 and after I0 equally well. The generator (the interpolator) is trained to make that
position undecidable.

Training protocol inside vfibench: the term's forward gives the generator's loss (with gradients
to Î, not to D); :meth:`TemporalAdversarial.auxiliary_step` is called once per training step after
the model's optimiser step, with the detached prediction, and takes one AdaMax step of D. The term
owns everything D needs: its weights (initialised from their own seed, derived from the run's
seed), its optimiser (AdaMax, lr 1e-3, constant) and its schedule (one D step per model step while
the term is active), so two runs with the same seed give identical losses.

Pixel range: frames in [0, 1] (AdaCoF's D sees [0, 1] frames as well).

Reference: Lee et al., "AdaCoF: Adaptive Collaboration of Flows for Video Frame Interpolation",
CVPR 2020 (HyeongminLEE/AdaCoF-pytorch: ``losses/adversarial.py`` ``Adversarial`` with gan_type
``FI_GAN``, ``losses/discriminator.py`` ``FI_Discriminator``, ``utility.py`` ``make_optimizer``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfibench.data.triplets import Triplets
from vfibench.losses.registry import register_term
from vfibench.model.prediction import Prediction
from vfibench.results.schema import DISCRIMINATOR_ACCURACY, DISCRIMINATOR_LOSS

#: Channels of the first block; AdaCoF's FI_Discriminator starts at 64 (and ends at 512).
DISCRIMINATOR_WIDTH = 32
#: Added to the run's seed to seed D's initial weights, so they are not drawn from the same stream as
#: the interpolator's (which :func:`~vfibench.model.interpolator.build_interpolator` seeds with the run's seed).
DISCRIMINATOR_SEED_OFFSET = 7919
#: AdaCoF's D optimiser: AdaMax, lr 1e-3 (train.py defaults --optimizer ADAMax --lr 0.001), betas (0.9, 0.999).
DISCRIMINATOR_LR = 1e-3
DISCRIMINATOR_BETAS = (0.9, 0.999)
LEAKY_SLOPE = 0.2


def _block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """3×3 convolution + LeakyReLU(0.2) (AdaCoF's BasicBlock without its BatchNorm)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1), nn.LeakyReLU(LEAKY_SLOPE))


class PairDiscriminator(nn.Module):
    """AdaCoF's FI_Discriminator, sized for small crops: one logit for an ordered pair of frames.

    Eight 3×3 conv + LeakyReLU(0.2) blocks with the FI_Discriminator's pattern — strides
    1, 2, 1, 2, 1, 2, 1, 2 and channels w, w, 2w, 2w, 4w, 4w, 8w, 8w (each stride-1 block after
    the first doubles the channels) with w = 32 instead of AdaCoF's 64 — then global average
    pooling instead of flattening a fixed 256/16 = 16-pixel square, Linear(8w, 8w), LeakyReLU(0.2),
    Linear(8w, 1) (AdaCoF: Linear(512·16², 1024), LeakyReLU, Linear(1024, 1)). No BatchNorm and
    convolutions with bias (AdaCoF: BatchNorm, no bias): D's output for a pair then does not depend
    on the rest of the batch, and the generator's forward pass does not update running statistics.

    Input: two (N, 3, H, W) frames in [0, 1], H and W ≥ 16 recommended. Output: (N, 1) logits.
    """

    def __init__(self, width: int = DISCRIMINATOR_WIDTH) -> None:
        super().__init__()
        blocks = [_block(6, width, 1)]
        channels = width
        for i in range(7):
            stride = 2 if i % 2 == 0 else 1
            out_channels = channels * 2 if i % 2 == 1 else channels
            blocks.append(_block(channels, out_channels, stride))
            channels = out_channels
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Linear(channels, channels), nn.LeakyReLU(LEAKY_SLOPE),
                                        nn.Linear(channels, 1))

    def forward(self, first: Tensor, second: Tensor) -> Tensor:
        x = self.features(torch.cat((first, second), dim=1))
        return self.classifier(x.mean(dim=(2, 3)))


def pair_logits(discriminator: nn.Module, i0: Tensor, frame: Tensor, i1: Tensor) -> tuple[Tensor, Tensor]:
    """D's logits for (I0 ‖ Î) and (Î ‖ I1), each (N, 1)."""
    return discriminator(i0, frame), discriminator(frame, i1)


def discriminator_loss(logit_01: Tensor, logit_12: Tensor) -> Tensor:
    """AdaCoF's D loss: BCE-with-logits of D(I0 ‖ Î) against 0 plus that of D(Î ‖ I1) against 1.

    D learns which position holds the generated frame: label 0 when it is second, 1 when first.
    """
    return (F.binary_cross_entropy_with_logits(logit_01, torch.zeros_like(logit_01))
            + F.binary_cross_entropy_with_logits(logit_12, torch.ones_like(logit_12)))


def generator_adversarial_loss(logit_01: Tensor, logit_12: Tensor) -> Tensor:
    """AdaCoF's generator term: mean(p01 · log p01 + p12 · log p12), p = sigmoid(D(·)).

    Exactly the released formula (``d * log(d + 1e-12)`` summed over the two pairs, then the
    mean), with log p computed as ``logsigmoid`` for stability. Each summand p·log p is minimal
    at p = 1/e ≈ 0.37, where D cannot tell the two orders apart with confidence (D's targets are
    0 and 1).
    """
    p01, p12 = torch.sigmoid(logit_01), torch.sigmoid(logit_12)
    return (p01 * F.logsigmoid(logit_01) + p12 * F.logsigmoid(logit_12)).mean()


@register_term(
    "adv",
    kind="adversarial",
    formula="mean(p·log p) over p = σ(D(I0‖Î)), σ(D(Î‖I1)); D trained with BCE: D(I0‖Î) → 0, D(Î‖I1) → 1",
    needs={"frame", "inputs", "discriminator"},
    source="AdaCoF (Lee et al., CVPR 2020): Adversarial('FI_GAN') in losses/adversarial.py, FI_Discriminator "
           "in losses/discriminator.py, AdaMax lr 1e-3 (train.py, utility.py)",
    deviation="the released code computes the generator's term on a detached Î, so it passes no gradient to "
              "the generator; here the gradient flows to Î (and not into D). D is smaller (32…256 channels "
              "instead of 64…512, a 256-wide hidden layer instead of 1024), has no BatchNorm, pools globally "
              "instead of flattening a 256-px patch; "
              "it steps after the model (AdaCoF steps D first, inside the loss)",
)
class TemporalAdversarial(nn.Module):
    """AdaCoF's dual-frame adversarial loss: makes Î fit equally well after I0 and before I1.

    A discriminator looks at (I0, Î) and (Î, I1) and learns where the generated frame is; the
    interpolator is pushed to make that undecidable. D has its own AdaMax optimiser (lr 1e-3)
    and takes one step per model step; its loss and accuracy are logged as ``adv_d_loss`` and
    ``adv_d_accuracy``. AdaCoF's released code detaches Î in the generator's term, so there the
    term trained nothing; here it passes its gradient.

    Generator term: mean(p·log p) over p = σ(D(I0‖Î)) and σ(D(Î‖I1)) (AdaCoF's formula, minimal at
    p = 1/e); D's loss: BCE-with-logits, D(I0‖Î) → 0 and D(Î‖I1) → 1. D's weights come from their
    own seed (the run's seed + 7919), its AdaMax has lr 1e-3, betas (0.9, 0.999), eps 1e-8.
    Frames in [0, 1]. Source: HyeongminLEE/AdaCoF-pytorch losses/adversarial.py (``Adversarial``,
    'FI_GAN'), losses/discriminator.py (``FI_Discriminator``), utility.py (``make_optimizer``).
    """

    def __init__(self, seed: int | None = None) -> None:
        """Build D from its own seed: ``seed`` if given, else the run's seed plus an offset.

        The run's seed is :func:`torch.initial_seed` — the trainer seeds the global generator with
        the run's seed before it builds the objective. D is initialised inside a forked random
        state, so building it neither depends on nor disturbs any other random stream.
        """
        super().__init__()
        self.seed = int(seed) if seed is not None else (torch.initial_seed() + DISCRIMINATOR_SEED_OFFSET) % 2**63
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.discriminator = PairDiscriminator()
        self.discriminator.requires_grad_(False)
        self._optimizer: torch.optim.Optimizer | None = None

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        logit_01, logit_12 = pair_logits(self.discriminator, triplets.i0, prediction.frame, triplets.i1)
        return generator_adversarial_loss(logit_01, logit_12)

    def extra_repr(self) -> str:
        return f"seed={self.seed}"

    def optimizer(self) -> torch.optim.Optimizer:
        """D's AdaMax, created on first use (after the objective was moved to its device)."""
        if self._optimizer is None:
            self._optimizer = torch.optim.Adamax(self.discriminator.parameters(), lr=DISCRIMINATOR_LR,
                                                 betas=DISCRIMINATOR_BETAS, eps=1e-8)
        return self._optimizer

    def auxiliary_step(self, prediction: Prediction, triplets: Triplets) -> dict[str, float]:
        """One discriminator step on the detached prediction; returns D's loss and accuracy."""
        frame = prediction.frame.detach()
        optimizer = self.optimizer()
        self.discriminator.requires_grad_(True)
        try:
            optimizer.zero_grad(set_to_none=True)
            logit_01, logit_12 = pair_logits(self.discriminator, triplets.i0, frame, triplets.i1)
            loss = discriminator_loss(logit_01, logit_12)
            loss.backward()
            optimizer.step()
        finally:
            self.discriminator.requires_grad_(False)
            optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            accuracy = 0.5 * ((logit_01 < 0).float().mean() + (logit_12 > 0).float().mean())
        return {DISCRIMINATOR_LOSS: float(loss.detach()), DISCRIMINATOR_ACCURACY: float(accuracy)}
