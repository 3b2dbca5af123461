"""AdaCoF's dual-frame adversarial term: its discriminator, losses, gradients, own optimiser and determinism."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tests.helpers import prediction_from, random_triplets
from vfibench.losses.adversarial import (
    PairDiscriminator,
    TemporalAdversarial,
    discriminator_loss,
    generator_adversarial_loss,
)
from vfibench.losses.objective import Objective
from vfibench.losses.spec import parse_config
from vfibench.presets import RunPreset
from vfibench.train import train_configuration

TINY = RunPreset(name="tiny", description="a few steps for tests", steps=2, batch_size=2, crop=32, train_count=2,
                 test_count=1, test_size=32, width=4, log_every=1)


def test_discriminator_follows_adacofs_block_pattern_at_half_width() -> None:
    convs = [m for m in PairDiscriminator().features.modules() if isinstance(m, nn.Conv2d)]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 128, 128, 256, 256]
    assert convs[0].in_channels == 6 and all(c.kernel_size == (3, 3) for c in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in PairDiscriminator().modules())


@pytest.mark.parametrize("size", [16, 32, 48])
def test_discriminator_gives_one_logit_per_pair_at_any_crop(size: int) -> None:
    d = PairDiscriminator()
    out = d(torch.rand(3, 3, size, size), torch.rand(3, 3, size, size))
    assert out.shape == (3, 1)


def test_discriminator_loss_is_adacofs_bce() -> None:
    a, b = torch.tensor([[0.3], [-1.2]]), torch.tensor([[2.0], [0.1]])
    sig = torch.sigmoid
    expected = -torch.log(1 - sig(a)).mean() - torch.log(sig(b)).mean()
    assert discriminator_loss(a, b).item() == pytest.approx(expected.item(), rel=1e-6)


def test_generator_loss_is_adacofs_p_log_p_and_minimal_at_one_over_e() -> None:
    a, b = torch.tensor([[0.3], [-1.2]]), torch.tensor([[2.0], [0.1]])
    p, q = torch.sigmoid(a), torch.sigmoid(b)
    released = (p * torch.log(p + 1e-12) + q * torch.log(q + 1e-12)).mean()  # AdaCoF's FI_GAN formula
    assert generator_adversarial_loss(a, b).item() == pytest.approx(released.item(), rel=1e-6)
    logit_of = lambda prob: math.log(prob / (1 - prob))  # noqa: E731
    at_min = generator_adversarial_loss(torch.tensor([[logit_of(1 / math.e)]]), torch.tensor([[logit_of(1 / math.e)]]))
    for prob in (0.1, 0.3, 0.45, 0.9):
        other = generator_adversarial_loss(torch.tensor([[logit_of(prob)]]), torch.tensor([[logit_of(prob)]]))
        assert at_min.item() < other.item()


def test_generator_term_passes_its_gradient_to_the_frame_but_not_into_d() -> None:
    batch = random_triplets(n=2, size=16)
    frame = batch.i0.clone().requires_grad_(True)
    term = TemporalAdversarial(seed=0)
    term(prediction_from(frame), batch).backward()
    assert frame.grad is not None and torch.isfinite(frame.grad).all() and frame.grad.abs().sum() > 0
    assert all(p.grad is None for p in term.discriminator.parameters())


def test_auxiliary_step_trains_d_with_adamax_and_reports_its_loss() -> None:
    batch = random_triplets(n=2, size=16)
    term = TemporalAdversarial(seed=0)
    prediction = prediction_from(batch.i0)
    before = [p.detach().clone() for p in term.discriminator.parameters()]
    with torch.no_grad():  # the prediction is I0 itself: D sees (I0, Î) = (I0, I0) and (Î, I1) = (I0, I1)
        logit_01, logit_12 = term.discriminator(batch.i0, batch.i0), term.discriminator(batch.i0, batch.i1)
        expected = discriminator_loss(logit_01, logit_12)
    logged = term.auxiliary_step(prediction, batch)
    assert set(logged) == {"adv_d_loss", "adv_d_accuracy"}
    assert logged["adv_d_loss"] == pytest.approx(expected.item(), rel=1e-6)
    # before the step: the share of pairs D classes right, (I0, Î) as 0 (logit < 0) and (Î, I1) as 1
    accuracy = 0.5 * ((logit_01 < 0).float().mean() + (logit_12 > 0).float().mean()).item()
    assert logged["adv_d_accuracy"] == accuracy == 0.5  # an untrained D's logits share one sign
    assert isinstance(term.optimizer(), torch.optim.Adamax) and term.optimizer().defaults["lr"] == 1e-3
    assert any(not torch.equal(a, b) for a, b in zip(before, term.discriminator.parameters()))
    assert not any(p.requires_grad for p in term.discriminator.parameters())


def test_a_d_step_lowers_d_loss_on_the_same_batch() -> None:
    batch = random_triplets(n=2, size=16, seed=1)
    fake = torch.full_like(batch.it, 0.5)  # an obviously generated frame
    term = TemporalAdversarial(seed=0)
    first = term.auxiliary_step(prediction_from(fake), batch)["adv_d_loss"]
    with torch.no_grad():
        after = discriminator_loss(term.discriminator(batch.i0, fake), term.discriminator(fake, batch.i1)).item()
    assert after < first


def test_d_accuracy_rises_from_chance_to_one_as_d_learns_an_obvious_fake() -> None:
    batch = random_triplets(n=4, size=16, seed=1)
    fake = torch.full_like(batch.it, 0.5)
    term = TemporalAdversarial(seed=0)
    accuracies = [term.auxiliary_step(prediction_from(fake), batch)["adv_d_accuracy"] for _ in range(15)]
    assert accuracies[0] == 0.5 and accuracies[-1] == 1.0


def test_d_weights_come_from_their_own_seed() -> None:
    torch.manual_seed(3)
    first = TemporalAdversarial()
    after = torch.rand(1)
    torch.manual_seed(3)
    second = TemporalAdversarial()
    assert torch.equal(torch.rand(1), after)  # building D does not consume the global stream
    assert first.seed == second.seed and all(
        torch.equal(a, b) for a, b in zip(first.discriminator.parameters(), second.discriminator.parameters()))
    torch.manual_seed(4)
    third = TemporalAdversarial()
    assert not torch.equal(next(third.discriminator.parameters()), next(first.discriminator.parameters()))


def test_objective_logs_the_generator_term_and_d_values() -> None:
    batch = random_triplets(n=2, size=16)
    objective = Objective(parse_config("l1+0.01*adv"))
    value = objective(prediction_from(batch.i0), batch)
    assert set(value.terms) == {"l1", "adv"}
    assert set(objective.auxiliary_step(prediction_from(batch.i0), batch, 0.0)) == {"adv_d_loss", "adv_d_accuracy"}
    late = Objective(parse_config("l1+0.01*adv@0.5"))
    assert late.auxiliary_step(prediction_from(batch.i0), batch, 0.2) == {}  # D rests while the term is off


def test_two_identical_training_runs_give_identical_losses() -> None:
    data = random_triplets(n=TINY.train_count, size=TINY.crop)
    config = parse_config("l1+0.01*adv")
    first = train_configuration(config, data, TINY, seed=0)
    second = train_configuration(config, data, TINY, seed=0)
    assert first.log == second.log
    assert {"total", "l1", "adv", "adv_d_loss", "adv_d_accuracy"} <= set(first.log[0])
    assert all(math.isfinite(row["adv_d_loss"]) for row in first.log)


def test_generator_term_is_p_log_p_of_d_on_i0_then_frame_and_frame_then_i1() -> None:
    batch = random_triplets(n=2, size=16, seed=2)
    term = TemporalAdversarial(seed=0)
    frame = batch.it
    with torch.no_grad():
        p01 = torch.sigmoid(term.discriminator(batch.i0, frame))  # (I0 ‖ Î): the generated frame second
        p12 = torch.sigmoid(term.discriminator(frame, batch.i1))  # (Î ‖ I1): the generated frame first
        swapped = torch.sigmoid(term.discriminator(frame, batch.i0))
    expected = (p01 * torch.log(p01 + 1e-12) + p12 * torch.log(p12 + 1e-12)).mean()  # AdaCoF's FI_GAN formula
    value = term(prediction_from(frame), batch)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    other_order = (swapped * torch.log(swapped + 1e-12) + p12 * torch.log(p12 + 1e-12)).mean()
    assert other_order.item() != pytest.approx(expected.item(), rel=1e-6)  # the order of a pair matters to D


def test_a_term_with_two_windows_takes_one_d_step_per_training_step() -> None:
    batch = random_triplets(n=2, size=16)
    objective = Objective(parse_config("l1+0.01*adv@:0.5+0.02*adv@0.5"))
    objective.auxiliary_step(prediction_from(batch.i0), batch, 0.7)
    (term,) = [m for m in objective.term_modules.values() if isinstance(m, TemporalAdversarial)]
    steps = {int(state["step"]) for state in term.optimizer().state.values()}
    assert steps == {1} and objective.labels == ["l1", "adv"]
