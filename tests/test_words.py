"""Counts and lists in messages read as English: "1 seed", "3 seeds", "0.5 CPUs", "a, b and c"."""

from __future__ import annotations

import pytest

from vfibench.words import counted, join_words, percent, plural, sentence_start


@pytest.mark.parametrize(("count", "noun", "expected"), [
    (1, "seed", "1 seed"), (0, "seed", "0 seeds"), (3, "torch thread", "3 torch threads"),
    (0.5, "CPU", "0.5 CPUs"), (1.0, "GPU", "1 GPU"), (2.0, "CPU", "2 CPUs"),
    (1_000_000, "frame", "1000000 frames"),  # an integer count is written whole, never as 1e+06
])
def test_a_count_reads_with_its_noun_singular_only_for_one(count: float, noun: str, expected: str) -> None:
    assert counted(count, noun) == expected


def test_plural_is_the_noun_as_it_reads_after_a_count() -> None:
    assert [plural("column", n) for n in (1, 2, 0)] == ["column", "columns", "columns"]


def test_lists_join_with_commas_and_a_final_and() -> None:
    assert [join_words(w) for w in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == ["", "a", "a and b", "a, b and c"]
    assert join_words(["a", "b", "c"], "or") == "a, b or c"


def test_shares_of_eighths_round_halves_alike() -> None:
    """Format's ``.0%`` rounds halves to even: 1/8 read 12% while 3/8 read 38%."""
    assert [percent(k / 8) for k in range(9)] == ["0%", "13%", "25%", "38%", "50%", "63%", "75%", "88%", "100%"]
    assert [percent(23 / 40), percent(29 / 200), percent(57 / 200)] == ["58%", "15%", "29%"]  # 0.575 * 100 < 57.5


def test_a_clause_opens_a_sentence_with_only_its_first_letter_changed() -> None:
    assert sentence_start("finish it with `vfibench run --resume RUN`") == "Finish it with `vfibench run --resume RUN`"
    assert sentence_start("it cannot be resumed (LPIPS)") == "It cannot be resumed (LPIPS)"
    assert sentence_start("") == ""
