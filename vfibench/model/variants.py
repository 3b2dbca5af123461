"""The named architectures of the fixed interpolator (torch-free: read by presets, manifests and the CLI)."""

from __future__ import annotations

from vfibench.errors import VfiBenchError

#: Variant name → (version recorded in manifests, what it is).
MODEL_VARIANTS: dict[str, tuple[int, str]] = {
    "synthesis": (2, "flow, refinement, warp + blend, then a residual synthesis U-Net: a residual refinement "
                     "as in RIFE and IFRNet, in the role of FILM's fusion"),
    "warp-blend": (1, "flow, refinement, warp + blend; the output is the blend, as in Super SloMo's "
                      "architecture; vfibench's first model"),
}  # no description ends in a parenthesis: tables and captions put them in parentheses
DEFAULT_VARIANT = "synthesis"
#: The variant of a run whose manifest names none: it was made before variants existed.
LEGACY_VARIANT = "warp-blend"


class ModelConfigError(VfiBenchError, ValueError):
    """An interpolator size or variant that cannot be built."""


def check_variant(name: object) -> str:
    """``name`` if it names a model variant, else a :class:`ModelConfigError` listing them."""
    if not isinstance(name, str) or name not in MODEL_VARIANTS:
        listed = "; ".join(f"{key} ({description})" for key, (_, description) in MODEL_VARIANTS.items())
        raise ModelConfigError(f"Unknown model variant {name!r}. The fixed interpolator comes as: {listed}.")
    return name


def variant_record(name: str) -> dict[str, object]:
    """What a manifest records of the architecture: ``{"variant", "version", "description"}``."""
    version, description = MODEL_VARIANTS[check_variant(name)]
    return {"variant": name, "version": version, "description": description}
