"""The written shape of a dataset spec, ``KIND[(OPTIONS)][:PATH]``, without what each kind means: read by
:mod:`vfibench.data.sources`, which parses and checks a spec, and by the torch-free modules that compare the
specs runs recorded (:mod:`vfibench.results.compare_notes`), which cannot import :mod:`vfibench.data`: its
package imports torch."""

from __future__ import annotations

import re

SPEC_PATTERN = re.compile(r"^(?P<kind>[A-Za-z][A-Za-z0-9_]*)\s*(?:\((?P<options>[^()]*)\))?\s*(?::(?P<path>.*))?$",
                          re.S)


def split_spec(text: str) -> tuple[str, str, str] | None:
    """``KIND[(OPTIONS)][:PATH]`` cut as :func:`~vfibench.data.sources.parse_dataset_spec` reads it: (kind,
    options text, path text), the last two empty when absent; None when ``text`` has not that shape."""
    match = SPEC_PATTERN.match(text.strip())
    if not match:
        return None
    return match.group("kind"), match.group("options") or "", match.group("path") or ""
