"""Every registered loss term trains the fixed interpolator: finite, non-zero gradients reach its parameters."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.test_losses_fixtures import random_state, random_vgg  # noqa: F401
from vfibench.data.triplets import Triplets
from vfibench.losses.catalog import REGISTRY
from vfibench.losses.objective import Objective
from vfibench.losses.spec import parse_config
from vfibench.model.interpolator import build_interpolator

#: Terms that only see the bidirectional flows or the intermediate flows *before* refinement
#: (Super SloMo's warping loss, BMBC's motion loss): the flow network alone produces those.
FLOW_NET_ONLY = {"smooth", "warp", "ms-charbonnier"}
#: Terms on the refined flows and the visibility map, upstream of the synthesis stage.
BEFORE_SYNTHESIS = FLOW_NET_ONLY | {"flow-tv", "vis-tv"}


def _scene(size: int = 32) -> Triplets:
    """A smooth pattern moving 2 px between I0 and I1, so every term has something to compare."""
    coords = torch.arange(float(size))
    wave = 0.5 + 0.3 * torch.sin(coords / 3).view(1, size) * torch.cos(coords / 4).view(size, 1)
    frames = [torch.roll(wave, shifts=k, dims=-1).expand(2, 3, size, size).clone() for k in (0, 1, 2)]
    frames[0][1, 0] *= 0.8  # the two samples differ
    return Triplets(frames[0], frames[1], frames[2], torch.full((2,), 0.5))


@pytest.mark.parametrize("name", sorted(REGISTRY.terms))
def test_every_term_sends_finite_nonzero_gradients_to_the_interpolator(
        name: str, random_vgg: nn.Sequential) -> None:  # noqa: F811
    model = build_interpolator(width=4, seed=0)
    batch = _scene()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        objective = Objective(parse_config(name))
    value = objective(model(batch.i0, batch.i1, batch.t), batch)
    assert set(value.terms) == {name} and torch.isfinite(value.total)
    value.total.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is None or torch.isfinite(g).all() for g in grads.values())
    flow_net = sum(g.abs().sum().item() for n, g in grads.items() if g is not None and n.startswith("flow_net"))
    refine_net = sum(g.abs().sum().item() for n, g in grads.items() if g is not None and n.startswith("refine_net"))
    synthesis = [g for n, g in grads.items() if n.startswith("synthesis_net")]
    assert flow_net > 0
    assert (refine_net == 0) if name in FLOW_NET_ONLY else (refine_net > 0)
    if name in BEFORE_SYNTHESIS:
        assert all(g is None or g.abs().sum() == 0 for g in synthesis)
    else:  # every term on the output frame reaches every layer of the synthesis stage
        assert synthesis and all(g is not None and g.abs().sum() > 0 for g in synthesis)
    assert all(p.grad is None for p in random_vgg.parameters())


def test_every_registered_term_is_covered_by_a_known_value_test() -> None:
    """The catalog and the test suite grow together: a new term needs its own value test."""
    tested = {"l1", "l2", "charbonnier", "lap", "ms-charbonnier", "census", "ssim", "grad", "warp", "smooth",
              "flow-tv", "vis-tv", "perc", "vggfilm", "style", "adv"}
    assert set(REGISTRY.terms) == tested
