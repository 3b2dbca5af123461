"""Paper presets: their expansions, pixel-scale conversions, verification status and schedules in training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.helpers import prediction_from, random_triplets
from tests.test_losses_fixtures import random_state, random_vgg  # noqa: F401
from vfibench.losses.catalog import REGISTRY
from vfibench.losses.describe import catalog_tables, describe_name
from vfibench.losses.objective import Objective
from vfibench.losses.perceptual import film_vgg_loss
from vfibench.losses.pixel import l1_loss
from vfibench.losses.spec import parse_config
from vfibench.presets import RunPreset
from vfibench.train import train_configuration

UNVERIFIED = {"bmbc", "superslomo-paper", "timelens", "adacof+"}


def _terms(preset: str) -> list[tuple[float, str, float, float]]:
    return [(t.weight, t.label, t.window.start, t.window.end) for t in parse_config(preset).resolve()]


def test_every_preset_resolves_and_states_its_pixel_convention() -> None:
    for name, preset in REGISTRY.presets.items():
        assert parse_config(name).resolve(), name
        assert "[0, 1]" in preset.notes, f"{name}: the notes must state the pixel range its weights assume"


def test_verification_status_follows_what_was_read_in_the_original_code() -> None:
    assert {name for name, p in REGISTRY.presets.items() if not p.verified} == UNVERIFIED
    assert [name for name, t in REGISTRY.terms.items() if not t.verified] == ["ms-charbonnier"]


def test_superslomo_is_the_reimplementations_weighting() -> None:
    assert _terms("superslomo") == [(204.0, "l1", 0, 1), (102.0, "warp", 0, 1),
                                    (0.005, "perc(norm=superslomo)", 0, 1), (1.0, "smooth", 0, 1)]
    (perc,) = [t for t in parse_config("superslomo").resolve() if t.info.name == "perc"]
    assert perc.params == {"layer": "conv4_3", "dist": "mse", "norm": "superslomo"}


def test_superslomo_paper_scales_l1_terms_by_255_and_the_feature_term_by_255_squared() -> None:
    weights = {label: weight for weight, label, _, _ in _terms("superslomo-paper")}
    assert weights["l1"] == pytest.approx(0.8 * 255) and weights["warp"] == pytest.approx(0.4 * 255)
    assert weights["perc(norm=superslomo)"] == pytest.approx(0.005 * 255**2)
    assert weights["smooth"] == 1.0


def test_adacof_and_dain_use_their_own_charbonnier_epsilon() -> None:
    assert _terms("adacof") == [(1.0, "charbonnier(eps=0.001)", 0, 1), (0.01, "flow-tv", 0, 1),
                                (0.005, "vis-tv", 0, 1)]
    (dain,) = parse_config("dain").resolve()
    assert dain.params == {"eps": 1e-6}
    assert {label for _, label, _, _ in _terms("adacof+")} == {"charbonnier(eps=0.001)", "flow-tv", "vis-tv",
                                                               "perc", "adv"}


def test_unverified_presets_keep_their_documented_weights() -> None:
    # bmbc: Super SloMo's smoothness-to-warping ratio 1 : 102 applied to the five level weights 0.01·2^l
    assert _terms("bmbc") == [(1.0, "ms-charbonnier", 0, 1), (0.003, "smooth", 0, 1)]
    assert 0.003 == pytest.approx(sum(0.01 * 2**level for level in range(5)) / 102, rel=0.02)
    # timelens: λ balances conv4_3 MSE (≈ 8.7) with L1 (≈ 0.022) on a 5×5 box blur, 0.022 / 8.7 ≈ 0.0025
    assert _terms("timelens") == [(1.0, "l1", 0, 1), (0.0025, "perc", 0, 1)]
    assert 0.0025 == pytest.approx(0.022 / 8.7, rel=0.02)


def test_film_presets_switch_weights_at_half_of_training() -> None:
    assert _terms("film-l1") == [(1.0, "l1", 0, 1)]
    assert _terms("film-vgg") == [(1.0, "l1", 0, 1), (1.0, "vggfilm", 0, 0.5), (0.25, "vggfilm", 0.5, 1)]
    assert _terms("film-style")[-1] == (40.0, "style", 0.5, 1)


def test_film_vgg_objective_weights_before_and_after_the_switch(random_vgg: nn.Sequential) -> None:  # noqa: F811
    batch = random_triplets(n=1, size=32)
    prediction = prediction_from(batch.i0)
    l1, vgg = l1_loss(batch.i0, batch.it).item(), film_vgg_loss(batch.i0, batch.it, random_vgg).item()
    objective = Objective(parse_config("film-vgg"))
    assert objective(prediction, batch, 0.49).total.item() == pytest.approx(l1 + vgg, rel=1e-5)
    assert objective(prediction, batch, 0.5).total.item() == pytest.approx(l1 + 0.25 * vgg, rel=1e-5)
    style = Objective(parse_config("film-style"))
    assert set(style(prediction, batch, 0.49).terms) == {"l1", "vggfilm"}
    assert set(style(prediction, batch, 0.5).terms) == {"l1", "vggfilm", "style"}


def test_film_style_training_log_switches_at_half_of_the_steps(random_vgg: nn.Sequential) -> None:  # noqa: F811
    preset = RunPreset(name="tiny", description="tests", steps=4, batch_size=1, crop=32, train_count=2,
                       test_count=1, test_size=32, width=4, log_every=1)
    log = train_configuration(parse_config("film-style"), random_triplets(n=2, size=32), preset, seed=0).log
    assert [("style" in row) for row in log] == [False, False, True, True]
    for row in log:
        weight = 1.0 if row["step"] <= 2 else 0.25
        expected = row["l1"] + weight * row["vggfilm"] + 40 * row.get("style", 0.0)
        assert row["total"] == pytest.approx(expected, rel=1e-5)


def test_catalog_marks_unverified_presets_and_describes_deviations() -> None:
    from rich.console import Console

    console = Console(width=100, record=True)
    for table in catalog_tables():
        console.print(table)
    text = console.export_text()
    for name in UNVERIFIED:
        (line,) = [row for row in text.splitlines() if row.split() and row.split()[0] == name]
        assert "unverified" in line
    flavr, timelens = _described("flavr"), _described("timelens")
    assert "verified in the original code" in flavr and "unverified" not in flavr
    assert "unverified" in timelens
    film = _described("film-vgg")
    assert "VGG19" in film and "until 50%" in film and "from 50%" in film
    adacof = _described("adacof")
    assert "visibility" in adacof and "offsets" in adacof
    adv = _described("adv")
    assert "detached" in adv and "gradient" in adv


def _described(name: str) -> str:
    from rich.console import Console

    console = Console(width=100, record=True)
    console.print(describe_name(name))
    return " ".join(console.export_text().split())


def test_presets_build_their_modules_once_per_label(random_vgg: nn.Sequential) -> None:  # noqa: F811
    objective = Objective(parse_config("film-style"))
    assert sorted(objective.labels) == ["l1", "style", "vggfilm"]
    assert len(objective.term_modules) == 3
    assert torch.isfinite(objective(prediction_from(random_triplets(n=1, size=32).i0),
                                    random_triplets(n=1, size=32), 0.9).total)
