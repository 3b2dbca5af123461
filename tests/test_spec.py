"""The loss specification grammar: what users type on --losses."""

from __future__ import annotations

import pytest

from vfibench.errors import SpecError
from vfibench.losses.catalog import REGISTRY
from vfibench.losses.spec import LossConfig, Window, parse_config, parse_sweep


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("l1", "l1"),
        ("L1", "l1"),
        ("  l1 + l2 ", "l1+l2"),
        ("1*l1", "l1"),
        ("0.50*l1+2e-1*l2", "0.5*l1+0.2*l2"),
        ("charbonnier(eps=1e-3)", "charbonnier(eps=0.001)"),
        ("charbonnier(eps=0.000001)", "charbonnier"),  # the default is not written out
        ("charbonnier()", "charbonnier"),
        ("l1@0.5", "l1@0.5"),
        ("l1@:0.5+l2@0.5:1", "l1@:0.5+l2@0.5"),
        ("l1@0.25:0.75", "l1@0.25:0.75"),
        (".5*l1", "0.5*l1"),  # a weight may start with its decimal point
        ("perc(layer=RELU2_2,dist=L1)", "perc(dist=l1,layer=relu2_2)"),  # word values are case-insensitive too
    ],
)
def test_canonical_strings(text: str, canonical: str) -> None:
    assert parse_config(text).canonical == canonical


def test_canonical_string_round_trips() -> None:
    for text in ["0.8*l1+0.2*charbonnier(eps=0.001)@0.5", "l2@:0.25+l1@0.25"]:
        config = parse_config(text)
        assert parse_config(config.canonical) == config


def test_sweep_splits_configurations_but_not_parameters() -> None:
    configs = parse_sweep("l1, charbonnier(eps=1e-3)+l2 ,l2")
    assert [c.canonical for c in configs] == ["l1", "charbonnier(eps=0.001)+l2", "l2"]


def test_resolved_terms_carry_every_parameter_and_weight() -> None:
    (first, second) = parse_config("0.5*l1 + charbonnier(eps=1e-3)@0.5").resolve()
    assert (first.info.name, first.weight, first.params) == ("l1", 0.5, {})
    assert (second.info.name, second.params, second.window) == ("charbonnier", {"eps": 1e-3}, Window(0.5, 1.0))
    assert second.label == "charbonnier(eps=0.001)"


def test_windows_contain_progress() -> None:
    assert Window(0.0, 0.5).contains(0.49) and not Window(0.0, 0.5).contains(0.5)
    assert Window(0.5, 1.0).contains(0.5) and Window(0.5, 1.0).contains(1.0)


def _error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_sweep(text)
    return str(caught.value)


def test_unknown_name_lists_the_nearest_names() -> None:
    message = _error("l1,nosuchloss")
    assert "Unknown loss term 'nosuchloss'" in message and "position 4" in message
    assert "vfibench losses" in message
    assert "'charbonnier'" in _error("charbonier")  # "did you mean"


def test_malformed_spec_shows_the_position() -> None:
    message = _error("l1++l2")
    assert "position 4" in message
    lines = message.splitlines()
    assert lines[1].strip() == "l1++l2" and lines[2].index("^") == lines[1].index("l1++l2") + 3


def test_a_term_given_twice_is_pointed_at_where_it_appears_again() -> None:
    message = _error("l1,l1+perc+ 0.5*l1")
    assert "position 13" in message and "the term 'l1' appears twice" in message
    lines = message.splitlines()
    assert lines[2].index("^") == lines[1].index("0.5*l1")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("l1,", "empty configuration"),
        (",l1", "empty configuration"),
        ("2 l1", "expected '*'"),
        ("-1*l1", "positive finite"),
        ("0*l1", "positive finite"),
        ("inf*l1", "the weight inf must be a positive finite number"),
        ("l1+NaN*l2", "the weight nan must be a positive finite number"),
        ("1e999*l1", "positive finite"),
        ("l1(eps=1)", "takes no parameters"),
        ("charbonnier(eps=-1)", "must be > 0"),
        ("charbonnier(eps=0)", "must be > 0"),
        ("charbonnier(foo=1)", "has no parameter 'foo'"),
        ("charbonnier(eps=1e-3, eps=1e-2)", "given twice"),
        ("charbonnier(eps=abc)", "a number is expected"),
        ("charbonnier(eps=1e-3", "expected ',' or ')'"),
        ("l1@1.5", "0 <= start < end <= 1"),
        ("l1@0.5:0.2", "0 <= start < end <= 1"),
        ("l1@0.5:0.5", "0 <= start < end <= 1"),  # an empty window
        ("l1@1", "0 <= start < end <= 1"),
        ("lap(levels=13)", "must be <= 12"),
        ("l1+l1", "appears twice"),
        ("l1,L1", "appears twice"),
        ("l1+perc,perc+l1", "configurations 'l1+perc' and 'perc+l1' are the same sum in another order"),
        ("l1,flavr", "configurations 'l1' and 'flavr' are the same loss once the paper presets are written out (l1)"),
        ("flavr,l1", "configurations 'flavr' and 'l1' are the same loss once the paper presets are written out"),
        ("dain,l1,charbonnier", "'dain' and 'charbonnier' are the same loss once the paper presets"),
        ("dain+charbonnier", "'charbonnier' appears twice with overlapping schedules once the presets are written"),
        ("superslomo+0.5*l1", "'l1' appears twice"),
        ("l1 l2", "unexpected"),
        ("1e-50*l1", "the weight 1e-50 is below 1.18e-38, the smallest normal float32 number"),  # its loss is 0
        ("l1+1e-40*perc", "the weight 1e-40 is below 1.18e-38"),  # subnormal
        ("1e-37*superslomo", "The weight of 'perc(norm=superslomo)' in 1e-37*superslomo (0.005 × 1e-37 = 5e-40) is "
                             "below 1.18e-38"),
        ("l1,l1@:0.5+l1@0.5", "'l1' and 'l1@:0.5+l1@0.5' are the same loss: a term at one weight over two windows "
                              "that meet is that term over both"),
        ("0.1*superslomo,20.4*l1+10.2*warp+0.0005*perc(norm=superslomo)+0.1*smooth",
         "are the same loss once the paper presets are written out"),
        ("l1,1.00000001*l1", "'l1' and '1.00000001*l1' are the same loss in float32, the precision the loss terms "
                             "are computed in: their weights round to the same float32 numbers"),
        ("l1+perc,l1+0.99999999*perc", "are the same loss in float32"),
        ("l1-0.1*perc", "position 3: '-' does not subtract: terms are only added ('+'), each with a positive weight, "
                        "so a loss term cannot be taken away. To weigh a term less, give it a smaller weight, e.g. "
                        "'l1+0.1*perc'"),
        ("l1-perc,l2", "'-' does not subtract"),  # was: "Unknown loss term 'l1-perc'… Did you mean 'perc'?"
        ("film-l1-perc", "position 8: '-' does not subtract"),
        ("superslomo-papr", "Did you mean 'superslomo-paper'"),  # a misspelt name with a '-' is still a name
    ],
)
def test_invalid_specs_are_refused_with_a_reason(text: str, fragment: str) -> None:
    assert fragment in _error(text)


def test_weights_that_differ_in_float32_are_two_losses_and_those_that_do_not_would_train_alike() -> None:
    import torch

    assert len(parse_sweep("l1,1.0001*l1,flow-tv+l1")) == 3  # and a '-' inside a name is the name's
    with pytest.raises(SpecError, match="same loss in float32"):
        parse_sweep("l1,1.000000059*l1")
    values = 1 + torch.rand(2000, dtype=torch.float32)  # in [1, 2), where float32's step is 1.19e-7
    weight = 1.000000059  # rounds to 1 in float32; in float64 it moves most products up by one step
    assert torch.equal(values * weight, values)  # torch weighs a float32 term by the weight rounded to float32
    assert not torch.equal((values.double() * weight).float(), values)


def test_same_term_in_disjoint_windows_is_a_schedule() -> None:
    config = parse_config("l1@:0.5+0.25*l1@0.5")
    assert [t.weight for t in config.resolve()] == [1.0, 0.25]
    assert len(parse_sweep("l1,l1@:0.5+0.25*l1@0.5,l1@:0.4+l1@0.5")) == 3  # other weights; a gap: other losses
    assert [t.label for t in parse_config("dain@:0.5+charbonnier@0.5").resolve()] == ["charbonnier", "charbonnier"]


def test_a_scaled_preset_multiplies_its_weights_as_written() -> None:
    config = parse_config("0.1*superslomo")
    assert config.expanded == "20.4*l1+10.2*warp+0.0005*perc(norm=superslomo)+0.1*smooth"  # not 20.400000000000002
    assert [t.weight for t in config.resolve()] == [20.4, 10.2, 0.0005, 0.1]


def test_every_registered_term_parses_and_resolves_to_its_record() -> None:
    """(Building each term is tested in test_losses_training, which trains with every one.)"""
    for name, info in REGISTRY.terms.items():
        config = parse_config(name)
        assert isinstance(config, LossConfig)
        (term,) = config.resolve()
        assert term.info is info
        assert set(term.params) == {p.name for p in info.params}


def test_a_weight_binds_to_the_one_term_it_precedes() -> None:
    (l1, perc, l2) = parse_config("0.8*l1+0.005*perc(layer=relu2_2)+l2").resolve()
    assert (l1.info.name, l1.weight) == ("l1", 0.8)
    assert (perc.info.name, perc.weight, perc.params["layer"]) == ("perc", 0.005, "relu2_2")
    assert (l2.info.name, l2.weight) == ("l2", 1.0)  # not the 0.005 of the term before it
