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


#: Characters that Markdown reads as emphasis, or as the escape of it, in running text.
_PROSE_MARKUP = "\\*_"
#: A code span: the one markup that captions and notes use on purpose (`--intervals paired`).
_CODE_SPAN = re.compile(r"(`[^`]+`)")


def escape_prose(text: str) -> str:
    """A verdict, caption or note as Markdown that renders as written, its code spans kept: a configuration
    named ``0.5*l1+0.5*l2`` in a sentence would otherwise set ``l1+0.5`` in italics."""
    parts = _CODE_SPAN.split(str(text))  # odd items are code spans, shown as written anyway
    return "".join(part if i % 2 else "".join(f"\\{char}" if char in _PROSE_MARKUP else char for char in part)
                   for i, part in enumerate(parts))
