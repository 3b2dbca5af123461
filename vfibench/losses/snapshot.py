"""The loss catalog as data: a JSON copy of the registry that loads without torch.

Loss terms register themselves when their torch modules are imported (:mod:`vfibench.losses.catalog`),
which takes seconds. Describing the catalog or a spec (``vfibench losses``, ``--dry-run``,
:func:`vfibench.api.describe_spec`) needs only the records, so they are also kept in
``catalog.json`` next to this module, generated from the registry::

    python -m vfibench.losses.snapshot        # rewrite catalog.json after changing a term or preset

A test fails when the file and the registry differ. :func:`load` builds a :class:`Registry` from
the file whose factories import the real catalog on first use, so a spec parsed against it can
still be built into modules.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from vfibench.losses.registry import Param, PresetInfo, Registry, TermInfo

#: Where the catalog's records are kept.
SNAPSHOT = Path(__file__).with_name("catalog.json")


def to_data(registry: Registry) -> dict[str, Any]:
    """The records of ``registry`` as JSON-ready data (terms and presets sorted by name)."""
    terms = []
    for info in sorted(registry.terms.values(), key=lambda i: i.name):
        terms.append({
            "name": info.name, "kind": info.kind, "formula": info.formula,
            "params": [vars(param) | {"choices": list(param.choices) if param.choices else None}
                       for param in info.params],
            "needs": sorted(info.needs), "backbones": list(info.backbones), "source": info.source,
            "verified": info.verified, "deviation": info.deviation, "doc": info.doc,
        })
    presets = [vars(preset) for preset in sorted(registry.presets.values(), key=lambda p: p.name)]
    return {"terms": terms, "presets": presets}


def _build(name: str, **params: Any) -> Any:
    """Build term ``name`` with the real registry (imports torch and every loss module)."""
    from vfibench.losses.catalog import REGISTRY

    return REGISTRY.term(name).factory(**params)


def from_data(data: dict[str, Any]) -> Registry:
    """A registry holding the records in ``data``; each factory imports the real catalog when called."""
    registry = Registry()
    for term in data["terms"]:
        params = tuple(Param(**(p | {"choices": tuple(p["choices"]) if p["choices"] else None}))
                       for p in term["params"])
        registry.add_term(TermInfo(
            name=term["name"], kind=term["kind"], formula=term["formula"],
            factory=functools.partial(_build, term["name"]), params=params, needs=frozenset(term["needs"]),
            backbones=tuple(term["backbones"]), source=term["source"], verified=term["verified"],
            deviation=term["deviation"], doc=term["doc"],
        ))
    for preset in data["presets"]:
        registry.add_preset(PresetInfo(**preset))
    return registry


@functools.cache
def load() -> Registry:
    """The catalog read from :data:`SNAPSHOT` (torch-free; the same records as the real registry)."""
    return from_data(json.loads(SNAPSHOT.read_text(encoding="utf-8")))


def render(registry: Registry) -> str:
    """The text of :data:`SNAPSHOT` for ``registry``."""
    return json.dumps(to_data(registry), indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    """Rewrite :data:`SNAPSHOT` from the registry the loss modules build."""
    from vfibench.losses.catalog import REGISTRY

    SNAPSHOT.write_text(render(REGISTRY), encoding="utf-8")
    print(f"wrote {SNAPSHOT} ({len(REGISTRY.terms)} terms, {len(REGISTRY.presets)} presets)")


if __name__ == "__main__":
    main()
