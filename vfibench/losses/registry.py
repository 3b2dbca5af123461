"""One registry record per loss name: loss terms (implementations) and paper presets (named sums).

A *term* is an implementation with parameters (``charbonnier(eps=1e-3)``); a *preset* is a named,
published weighting of terms (``superslomo``). Both share one namespace, so a spec can use either.
Each record carries everything the rest of the program needs to know about a name — what it
computes, what it needs from the prediction, which pretrained backbone it uses, where it comes from
and whether that source was read — so no generic code ever branches on a name.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from vfibench.errors import SpecError

if TYPE_CHECKING:
    from torch import nn

TermKind = Literal["pixel", "perceptual", "flow", "adversarial"]
ParamValue = float | int | str

#: What a term may need from the prediction or from outside the model. "frame" is always available.
NEEDS_VOCABULARY = frozenset(
    {"frame", "inputs", "flows", "intermediate_flows", "visibility", "warped", "discriminator"}
)


@dataclass(frozen=True)
class Param:
    """A parameter of a loss term, with its default and the values it admits."""

    name: str
    default: ParamValue
    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    minimum_inclusive: bool = True
    maximum: float | None = None
    integer: bool = False

    def validate(self, value: ParamValue, term: str) -> ParamValue:
        """Return ``value`` converted to this parameter's type, or raise a SpecError saying why not."""
        where = f"parameter '{self.name}' of loss term '{term}'"
        if self.choices is not None:
            text = str(value).lower()
            if text not in self.choices:
                raise SpecError(
                    f"Invalid value '{value}' for {where}: it must be one of {', '.join(self.choices)}. "
                    f"Run `vfibench losses {term}` to see what each value means."
                )
            return text
        if isinstance(value, str):
            raise SpecError(
                f"Invalid value '{value}' for {where}: a number is expected (default {self.default}). "
                f"Write it as, e.g., {term}({self.name}={self.default})."
            )
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise SpecError(f"Invalid value {format_value(value)} for {where}: it must be a finite number.")
        if self.integer:
            if number != int(number):
                raise SpecError(f"Invalid value {format_value(value)} for {where}: it must be a whole number.")
            number = int(number)
        if self.minimum is not None:
            too_small = number < self.minimum if self.minimum_inclusive else number <= self.minimum
            if too_small:
                bound = ">=" if self.minimum_inclusive else ">"
                raise SpecError(
                    f"Invalid value {format_value(value)} for {where}: it must be {bound} {self.minimum:g}."
                )
        if self.maximum is not None and number > self.maximum:
            raise SpecError(f"Invalid value {format_value(value)} for {where}: it must be <= {self.maximum:g}.")
        return number


@dataclass(frozen=True)
class TermInfo:
    """Everything known about one loss term.

    Attributes:
        name: the registered, lower-case name.
        kind: pixel, perceptual, flow or adversarial.
        formula: the definition on one line.
        factory: builds the term's module from validated parameters; the module's
            ``forward(prediction, triplets)`` returns a scalar tensor.
        params: the term's parameters with defaults.
        needs: what the term reads (see NEEDS_VOCABULARY).
        backbones: pretrained backbones the term needs ("vgg16").
        source: where the original defines it (repository and file, or paper).
        verified: True when the definition was read in the original code.
        deviation: how this implementation differs from the source, if it does.
        doc: the factory's docstring (the long explanation ``vfibench losses NAME`` prints).
    """

    name: str
    kind: TermKind
    formula: str
    factory: "Callable[..., nn.Module]" = field(compare=False, repr=False)
    params: tuple[Param, ...] = ()
    needs: frozenset[str] = frozenset({"frame"})
    backbones: tuple[str, ...] = ()
    source: str = ""
    verified: bool = True
    deviation: str = ""
    doc: str = ""

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        known = ", ".join(p.name for p in self.params) or "none"
        raise SpecError(
            f"Loss term '{self.name}' has no parameter '{name}' (its parameters: {known}). "
            f"Run `vfibench losses {self.name}` for details."
        )

    def resolve_params(self, given: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
        """Validate ``given`` and fill in defaults; the result lists every parameter."""
        if given and not self.params:
            raise SpecError(
                f"Loss term '{self.name}' takes no parameters, but got "
                f"{', '.join(f'{k}={format_value(v)}' for k, v in given.items())}. Write it as plain '{self.name}'."
            )
        resolved = {p.name: p.default for p in self.params}
        for key, value in given.items():
            resolved[key] = self.param(key).validate(value, self.name)
        return resolved


@dataclass(frozen=True)
class PresetInfo:
    """A named weighting of terms as a paper published it.

    Attributes:
        name: the registered, lower-case name.
        expansion: the spec it stands for, in the spec grammar (``204*l1 + 102*warp + ...``).
        source: the paper and the file its weights were read from.
        verified: True when the weights were read in the original code.
        notes: pixel-scale conversions, deviations and anything the user should know.
    """

    name: str
    expansion: str
    source: str
    verified: bool = True
    notes: str = ""


@dataclass
class Registry:
    """Loss terms and presets in one namespace of lower-case names."""

    terms: dict[str, TermInfo] = field(default_factory=dict)
    presets: dict[str, PresetInfo] = field(default_factory=dict)

    def add_term(self, info: TermInfo) -> None:
        self._check_new(info.name)
        unknown = info.needs - NEEDS_VOCABULARY
        if unknown:
            raise ValueError(f"term {info.name!r} declares unknown needs {sorted(unknown)}")
        self.terms[info.name] = info

    def add_preset(self, info: PresetInfo) -> None:
        self._check_new(info.name)
        self.presets[info.name] = info

    def _check_new(self, name: str) -> None:
        if name != name.lower():
            raise ValueError(f"registered names are lower-case, got {name!r}")
        if name in self.terms or name in self.presets:
            raise ValueError(f"loss name {name!r} is registered twice")

    def names(self) -> list[str]:
        return sorted([*self.terms, *self.presets])

    def is_known(self, name: str) -> bool:
        return name.lower() in self.terms or name.lower() in self.presets

    def term(self, name: str) -> TermInfo:
        key = name.lower()
        if key not in self.terms:
            raise self.unknown(name)
        return self.terms[key]

    def unknown(self, name: str, context: str = "") -> SpecError:
        """The error for an unknown name, with the closest known names."""
        close = difflib.get_close_matches(name.lower(), self.names(), n=4, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        where = f" in {context}" if context else ""
        presets = f"; paper presets: {', '.join(sorted(self.presets))}" if self.presets else ""
        return SpecError(
            f"Unknown loss term '{name}'{where}.{hint} Known terms: {', '.join(sorted(self.terms))}{presets}. "
            f"Run `vfibench losses` for the catalog."
        )


REGISTRY = Registry()


def needs_text(info: TermInfo) -> str:
    """What a term needs beyond the predicted frame, in words: ``"flows, vgg16 backbone"``."""
    needs = [need.replace("_", " ") for need in sorted(info.needs - {"frame"})]
    return ", ".join(needs + [f"{name} backbone" for name in info.backbones]) or "the predicted frame only"


def register_term(
    name: str,
    *,
    kind: TermKind,
    formula: str,
    params: tuple[Param, ...] = (),
    needs: frozenset[str] | set[str] = frozenset({"frame"}),
    backbones: tuple[str, ...] = (),
    source: str,
    verified: bool = True,
    deviation: str = "",
) -> "Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]":
    """Class decorator that records a loss module under ``name`` in :data:`REGISTRY`."""

    def decorate(factory: "Callable[..., nn.Module]") -> "Callable[..., nn.Module]":
        REGISTRY.add_term(
            TermInfo(
                name=name,
                kind=kind,
                formula=formula,
                factory=factory,
                params=params,
                needs=frozenset(needs),
                backbones=backbones,
                source=source,
                verified=verified,
                deviation=deviation,
                doc=inspect.cleandoc(factory.__doc__ or ""),
            )
        )
        return factory

    return decorate


def register_preset(name: str, expansion: str, *, source: str, verified: bool = True, notes: str = "") -> None:
    """Record a paper preset under ``name`` in :data:`REGISTRY`."""
    REGISTRY.add_preset(PresetInfo(name, expansion, source, verified, notes))


def describe_params(params: Mapping[str, Any]) -> str:
    """``a=1,b=x`` with keys sorted: the canonical way parameters are written."""
    return ",".join(f"{key}={format_value(params[key])}" for key in sorted(params))


def format_value(value: ParamValue) -> str:
    """Numbers in their shortest round-tripping form (``0.001`` → ``0.001``, ``1e-06`` → ``1e-06``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
