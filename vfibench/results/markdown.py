"""Text taken from a run (configuration and model names, rankings) inside Markdown tables and prose."""

from __future__ import annotations

import re

#: Characters that Markdown reads as markup inside a table cell: emphasis (``*``, ``_``), code spans,
#: the cell separator, and the backslash that escapes them.
_MARKUP = "\\*_`|"


def escape_cell(text: str) -> str:
    """``text`` as a GitHub-flavoured Markdown table cell that renders as written: ``0.5*l1+0.5*l2`` would
    otherwise set ``l1+0.5`` in italics, and a ``|`` would split the cell."""
    return "".join(f"\\{char}" if char in _MARKUP else char for char in str(text))


#: A code span: the one markup that captions and notes use on purpose (`--intervals paired`).
_CODE_SPAN = re.compile(r"(`[^`]+`)")
#: What a backslash escapes in CommonMark (before anything else it is a plain backslash).
_ASCII_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def escape_prose(text: str) -> str:
    """A verdict, caption or note as Markdown that renders as written, its code spans kept: a configuration
    named ``0.5*l1+0.5*l2`` in a sentence would otherwise set ``l1+0.5`` in italics. Only what could be
    markup is escaped, so that a path stays readable in the file: every ``*``, a ``_`` not between two
    letters or digits (``test_run_0`` cannot be emphasis), a backslash before punctuation."""
    parts = _CODE_SPAN.split(str(text))  # odd items are code spans, shown as written anyway
    return "".join(part if i % 2 else _escape_outside_code(part) for i, part in enumerate(parts))


def _escape_outside_code(text: str) -> str:
    out = []
    for i, char in enumerate(text):
        before, after = text[i - 1] if i else " ", text[i + 1] if i + 1 < len(text) else " "
        markup = (char == "*" or (char == "_" and not (before.isalnum() and after.isalnum()))
                  or (char == "\\" and after in _ASCII_PUNCTUATION))
        out.append(f"\\{char}" if markup else char)
    return "".join(out)
