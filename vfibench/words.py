"""How messages and captions join and count words: one owner, so that every list reads alike ("a, b
and c") and no count reads "1 seed(s)"."""

from __future__ import annotations

import math
from collections.abc import Sequence


def counted(count: float, noun: str) -> str:
    """"1 seed", "3 seeds", "0.5 CPUs": a count and its noun, plural unless one (nouns whose plural adds
    an s)."""
    shown = f"{count:g}" if isinstance(count, float) else str(count)  # 0.5 and 2 CPUs, but never 1e+06 frames
    return f"{shown} {plural(noun, count)}"


def plural(noun: str, count: float) -> str:
    """``noun`` as it reads after ``count``: "seed" for one, "seeds" for any other count."""
    return noun if count == 1 else noun + "s"


def join_words(words: Sequence[str], conjunction: str = "and") -> str:
    """"a", "a and b", "a, b and c" (or with another ``conjunction``: "a, b or c")."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {conjunction} " + words[-1]


def sentence_start(clause: str) -> str:
    """``clause`` with its first letter capitalised, to open a sentence ("finish it…" → "Finish it…");
    unlike ``str.capitalize``, the rest is left as written (commands, names)."""
    return clause[:1].upper() + clause[1:]


def percent(share: float) -> str:
    """``0.125`` → "13%": a share in whole percent, halves rounded up (format's ``.0%`` rounds them to
    even, so 1/8 read 12% beside 3/8 at 38%)."""
    return f"{math.floor(round(share * 100, 9) + 0.5)}%"  # 0.575 * 100 is 57.4999…: round the binary noise first
