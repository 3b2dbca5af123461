"""Text taken from a run (configuration and model names, rankings) inside Markdown tables."""

from __future__ import annotations

#: Characters that Markdown reads as markup inside a table cell: emphasis (``*``, ``_``), code spans,
#: the cell separator, and the backslash that escapes them.
_MARKUP = "\\*_`|"


def escape_cell(text: str) -> str:
    """``text`` as a GitHub-flavoured Markdown table cell that renders as written: ``0.5*l1+0.5*l2`` would
    otherwise set ``l1+0.5`` in italics, and a ``|`` would split the cell."""
    return "".join(f"\\{char}" if char in _MARKUP else char for char in str(text))
