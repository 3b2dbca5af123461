"""How messages and captions join and count words: one owner, so that every list reads alike ("a, b
and c") and no count reads "1 seed(s)"."""

from __future__ import annotations

from collections.abc import Sequence


def counted(count: int, noun: str) -> str:
    """"1 seed", "3 seeds": a count and its noun, plural unless one (nouns whose plural adds an s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def join_words(words: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
