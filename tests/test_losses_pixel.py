"""Pixel loss terms: known answers, gradients, module = function, and the objective that sums them."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import prediction_from, random_triplets
from vfibench.losses.base import masked_mean
from vfibench.losses.objective import Objective
from vfibench.losses.pixel import charbonnier_loss, l1_loss, l2_loss
from vfibench.losses.spec import parse_config


def test_known_answers() -> None:
    pred = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)
    target = torch.tensor([1.0, 0.5, 0.0]).view(1, 1, 1, 3)
    assert l1_loss(pred, target).item() == pytest.approx(2 / 3)
    assert l2_loss(pred, target).item() == pytest.approx(2 / 3)
    uneven = torch.tensor([0.5, 0.5, 1.0]).view(1, 1, 1, 3)  # differences 0.5, 0, 1: the two norms part
    assert l1_loss(uneven, target).item() == pytest.approx(0.5)
    assert l2_loss(uneven, target).item() == pytest.approx((0.25 + 0 + 1) / 3)
    # sqrt(1 + 0.09) twice and sqrt(0.09) once, averaged
    expected = (2 * (1 + 0.3**2) ** 0.5 + 0.3) / 3
    assert charbonnier_loss(pred, target, eps=0.3).item() == pytest.approx(expected)


def test_masked_mean_averages_over_the_masked_region_only() -> None:
    values = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    assert masked_mean(values).item() == pytest.approx(2.5)
    left_column = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)  # broadcast over the rows before counting
    assert masked_mean(values, left_column).item() == pytest.approx(2.0)
    assert masked_mean(values, 0.5 * left_column).item() == pytest.approx(2.0)  # a soft mask: the weighted mean


def test_charbonnier_tends_to_l1_as_eps_vanishes() -> None:
    batch = random_triplets(seed=3)
    assert charbonnier_loss(batch.i0, batch.it, eps=1e-9).item() == pytest.approx(
        l1_loss(batch.i0, batch.it).item(), rel=1e-6)


def test_charbonnier_eps_sits_inside_the_square() -> None:
    zero = torch.zeros(1, 1, 2, 2)
    assert charbonnier_loss(zero, zero, eps=1e-3).item() == pytest.approx(1e-3)


@pytest.mark.parametrize("fn", [l1_loss, l2_loss, lambda a, b: charbonnier_loss(a, b, eps=1e-3)])
def test_gradcheck(fn) -> None:  # type: ignore[no-untyped-def]
    batch = random_triplets(n=1, size=4, dtype=torch.float64)
    pred = batch.i0.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: fn(p, batch.it), (pred,))


@pytest.mark.parametrize(("spec", "fn"), [("l1", l1_loss), ("l2", l2_loss),
                                          ("charbonnier(eps=1e-3)", lambda a, b: charbonnier_loss(a, b, 1e-3))])
def test_module_equals_function(spec: str, fn) -> None:  # type: ignore[no-untyped-def]
    batch = random_triplets()
    prediction = prediction_from(batch.i0)
    (term,) = parse_config(spec).resolve()
    module = term.info.factory(**term.params)
    assert torch.equal(module(prediction, batch), fn(batch.i0, batch.it))


def test_objective_weights_and_logs_each_term() -> None:
    batch = random_triplets()
    prediction = prediction_from(batch.i0)
    value = Objective(parse_config("0.5*l1+2*l2"))(prediction, batch)
    l1, l2 = l1_loss(batch.i0, batch.it), l2_loss(batch.i0, batch.it)
    assert set(value.terms) == {"l1", "l2"}
    assert value.total.item() == pytest.approx(0.5 * l1.item() + 2 * l2.item())


def test_objective_follows_the_schedule() -> None:
    batch = random_triplets()
    prediction = prediction_from(batch.i0)
    objective = Objective(parse_config("l1@:0.5+0.25*l1@0.5+l2@0.5"))
    early, late = objective(prediction, batch, 0.1), objective(prediction, batch, 0.7)
    l1, l2 = l1_loss(batch.i0, batch.it).item(), l2_loss(batch.i0, batch.it).item()
    assert set(early.terms) == {"l1"} and early.total.item() == pytest.approx(l1)
    assert set(late.terms) == {"l1", "l2"} and late.total.item() == pytest.approx(0.25 * l1 + l2)
    assert len(objective.term_modules) == 2  # the scheduled l1 shares one module


def test_pixel_terms_send_gradients_to_the_prediction() -> None:
    batch = random_triplets()
    frame = batch.i0.clone().requires_grad_(True)
    Objective(parse_config("l1+l2+charbonnier"))(prediction_from(frame), batch).total.backward()
    assert frame.grad is not None and torch.isfinite(frame.grad).all() and frame.grad.abs().sum() > 0
