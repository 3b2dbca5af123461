"""Every registered loss term trains the fixed interpolator: finite, non-zero gradients reach its parameters."""

from __future__ import annotations

import importlib

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


#: Each term's test against an outside reference or a value worked out by hand (module, function).
KNOWN_VALUE_TESTS = {
    "l1": ("test_losses_pixel", "test_known_answers"),
    "l2": ("test_losses_pixel", "test_known_answers"),
    "charbonnier": ("test_losses_pixel", "test_known_answers"),
    "lap": ("test_losses_pyramid", "test_laplacian_matches_a_hand_built_two_level_pyramid"),
    "ms-charbonnier": ("test_losses_pyramid", "test_ms_charbonnier_with_one_level_is_alpha0_times_two_charbonniers"),
    "census": ("test_losses_terms", "test_census_matches_a_loop_implementation_of_ifrnet_ternary"),
    "ssim": ("test_losses_terms", "test_ssim_loss_is_one_minus_the_float64_metric"),
    "grad": ("test_losses_terms", "test_gradient_loss_known_answer_and_offset_invariance"),
    "warp": ("test_losses_terms", "test_warp_loss_is_zero_for_the_true_flow_of_an_integer_shift"),
    "smooth": ("test_losses_terms", "test_smoothness_of_a_constant_flow_is_zero_and_of_a_step_is_its_jump"),
    "flow-tv": ("test_losses_terms", "test_charbonnier_tv_is_adacof_tv_summed_over_channels"),
    "vis-tv": ("test_losses_terms", "test_vis_tv_is_adacof_occlusion_tv_of_the_visibility_map"),
    "perc": ("test_losses_perceptual", "test_perc_norm_matches_torchvision_normalize"),
    "vggfilm": ("test_losses_perceptual", "test_film_vgg_and_style_match_a_direct_reimplementation"),
    "style": ("test_losses_perceptual", "test_film_vgg_and_style_match_a_direct_reimplementation"),
    "adv": ("test_losses_adversarial", "test_generator_loss_is_adacofs_p_log_p_and_minimal_at_one_over_e"),
}


@pytest.mark.parametrize("name", sorted(REGISTRY.terms))
def test_every_registered_term_has_a_known_value_test(name: str) -> None:
    """The catalog and the test suite grow together: a new term names its value test here, and that
    test must exist (a renamed or deleted test fails this one)."""
    assert name in KNOWN_VALUE_TESTS, f"loss term {name!r} has no known-value test: add one and name it here"
    module, function = KNOWN_VALUE_TESTS[name]
    assert callable(getattr(importlib.import_module(f"tests.{module}"), function, None)), (module, function)


def test_every_named_known_value_test_is_of_a_registered_term() -> None:
    assert set(KNOWN_VALUE_TESTS) == set(REGISTRY.terms)
