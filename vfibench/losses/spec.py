"""The loss specification grammar: from ``"l1, 0.8*l1+0.005*perc(layer=relu2_2)"`` to configurations.

Grammar (whitespace is ignored, names are case-insensitive)::

    sweep   := config ("," config)*
    config  := term ("+" term)*
    term    := [weight "*"] name ["(" param ("," param)* ")"] ["@" window]
    param   := key "=" (number | word)
    window  := start | start ":" end | ":" end          (fractions of training, 0 <= start < end <= 1)

``40*style@0.5`` is active from half of training on; ``vggfilm@:0.5`` only in the first half.
A name may be a loss term or a paper preset; a preset expands to its published weighted sum,
scaled by the preset's weight and restricted to its window.

Every configuration has a canonical string — lower-case names, weights in shortest form (a weight
of 1 omitted), only non-default parameters, sorted by key — which is its identity in result tables.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field

from vfibench.errors import SpecError
from vfibench.losses.registry import REGISTRY, ParamValue, Registry, TermInfo, describe_params, format_value

_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_TERM_END = ",+)@("
_DIGITS = "0123456789"
#: Characters of the user's text echoed in a message at most (the text around the problem).
ECHO_LIMIT = 120


def clip(text: str, at: int = 0, limit: int = ECHO_LIMIT) -> str:
    """``text`` for a message: whole when short, else ``limit`` characters around position ``at``."""
    if len(text) <= limit:
        return text
    start = max(0, min(at - limit // 2, len(text) - limit))
    return ("…" if start else "") + text[start : start + limit] + ("…" if start + limit < len(text) else "") + \
        f" ({len(text)} characters)"

GRAMMAR_HINT = (
    "Write a configuration as a weighted sum of terms, e.g. 'l1', 'l1+0.1*perc', "
    "'charbonnier(eps=1e-3)', '40*style@0.5'; separate configurations with commas. "
    "Run `vfibench losses` for the catalog."
)


@dataclass(frozen=True)
class Window:
    """The fraction of training during which a term is active: start <= progress < end."""

    start: float = 0.0
    end: float = 1.0

    def contains(self, progress: float) -> bool:
        return self.start <= progress < self.end or (self.end >= 1.0 and progress >= 1.0)

    def intersect(self, other: "Window") -> "Window | None":
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Window(start, end) if start < end else None

    def overlaps(self, other: "Window") -> bool:
        return self.intersect(other) is not None

    def __str__(self) -> str:
        if self.start == 0.0 and self.end == 1.0:
            return ""
        if self.end == 1.0:
            return f"@{format_value(self.start)}"
        start = "" if self.start == 0.0 else format_value(self.start)
        return f"@{start}:{format_value(self.end)}"


@dataclass(frozen=True)
class TermSpec:
    """One term as written: weight, name (term or preset), the parameters given, window."""

    name: str
    weight: float = 1.0
    params: tuple[tuple[str, ParamValue], ...] = ()
    window: Window = Window()

    def canonical(self) -> str:
        weight = "" if self.weight == 1.0 else f"{format_value(self.weight)}*"
        params = f"({describe_params(dict(self.params))})" if self.params else ""
        return f"{weight}{self.name}{params}{self.window}"


@dataclass(frozen=True)
class ResolvedTerm:
    """A term after preset expansion: the registry record, its total weight, every parameter, window."""

    info: TermInfo
    weight: float
    params: dict[str, ParamValue]
    window: Window

    @property
    def label(self) -> str:
        """The term's name with its non-default parameters: how it is named in logs."""
        changed = {k: v for k, v in self.params.items() if v != self.info.param(k).default}
        return f"{self.info.name}({describe_params(changed)})" if changed else self.info.name

    def canonical(self) -> str:
        weight = "" if self.weight == 1.0 else f"{format_value(self.weight)}*"
        return f"{weight}{self.label}{self.window}"


#: Plain pixel terms suggested, in this order, to cover a part of training in which no term is active.
GAP_FILLERS = ("l1", "l2", "charbonnier", "lap")


@dataclass(frozen=True)
class LossConfig:
    """A configuration: a sum of terms, identified by its canonical string.

    ``registry`` is the catalog it was parsed against; presets expand and terms resolve in it.
    """

    terms: tuple[TermSpec, ...]
    registry: Registry = field(default_factory=lambda: REGISTRY, compare=False, repr=False)

    @property
    def canonical(self) -> str:
        return "+".join(term.canonical() for term in self.terms)

    def resolve(self, registry: Registry | None = None) -> tuple[ResolvedTerm, ...]:
        """Expand presets into weighted terms with every parameter filled in."""
        return tuple(_resolve_terms(self.terms, registry or self.registry, depth=0))

    @property
    def expanded(self) -> str:
        """The configuration with every preset written out."""
        return "+".join(term.canonical() for term in self.resolve())

    def backbones(self) -> set[str]:
        return {name for term in self.resolve() for name in term.info.backbones}

    def gap_example(self, gap: Window, registry: Registry | None = None) -> str | None:
        """``'l1@:0.5+l2@0.5'``: this configuration with a plain pixel term it does not use yet
        (:data:`GAP_FILLERS`) added for ``gap``, a part of training none of its terms is active in; None
        when it uses all of them."""
        used = {term.info.name for term in self.resolve(registry)}
        filler = next((name for name in GAP_FILLERS if name not in used), None)
        return None if filler is None else f"'{self.canonical}+{filler}{gap}'"

    def __str__(self) -> str:
        return self.canonical


def parse_sweep(text: str, registry: Registry = REGISTRY) -> list[LossConfig]:
    """Parse comma-separated configurations; duplicates (the same terms, in any order) are an error."""
    if registry is REGISTRY:
        import vfibench.losses.catalog  # noqa: F401  (registers every term and preset before names are looked up)
    parser = _Parser(text, registry)
    configs = parser.sweep()
    seen: dict[tuple[str, ...], int] = {}
    for index, config in enumerate(configs):
        key = same_loss_key(config)
        if key in seen:
            first = configs[seen[key]]
            pair = f"The loss configurations '{clip(first.canonical)}' and '{clip(config.canonical)}'"
            if first.canonical == config.canonical:
                same = f"The loss configuration '{clip(config.canonical)}' appears twice"
            elif sorted(t.canonical() for t in first.terms) == sorted(t.canonical() for t in config.terms):
                same = f"{pair} are the same sum in another order"
            elif sorted(t.canonical() for t in first.resolve()) == sorted(t.canonical() for t in config.resolve()):
                same = f"{pair} are the same loss once the paper presets are written out ({clip(config.expanded)})"
            elif same_loss_key(first, in_float32=False) != same_loss_key(config, in_float32=False):
                same = (f"{pair} are the same loss in float32, the precision the loss terms are computed in: their "
                        f"weights round to the same float32 numbers ({clip(first.expanded)} and "
                        f"{clip(config.expanded)})")
            else:
                same = (f"{pair} are the same loss: a term at one weight over two windows that meet is that term "
                        f"over both ({clip(first.expanded)} and {clip(config.expanded)})")
            raise SpecError(
                f"{same} in '{clip(text)}' (configurations {seen[key] + 1} and {index + 1}); each configuration is "
                f"trained once per seed, and the two would train to the same numbers, so list "
                f"{'it' if first.canonical == config.canonical else 'one of them'} once."
            )
        seen[key] = index
    return configs


def float32_weight(weight: float) -> float:
    """``weight`` as the training computes with it: rounded to float32, the precision of the loss terms."""
    return float(struct.unpack("f", struct.pack("f", weight))[0])


def same_loss_key(config: LossConfig, in_float32: bool = True) -> tuple[str, ...]:
    """What two spellings of one loss share: a sum is the same in any order, a paper preset is the sum it
    expands to, a term over two windows that meet, at one weight, is that term over both
    (``l1@:0.5+l1@0.5`` is ``l1``), and (``in_float32``) weights that round to one float32 number are one
    weight (``1.00000001*l1`` is ``l1``)."""
    merged: list[ResolvedTerm] = []
    resolved = [ResolvedTerm(t.info, float32_weight(t.weight) if in_float32 else t.weight, t.params, t.window)
                for t in config.resolve()]
    for term in sorted(resolved, key=lambda t: (t.label, t.weight, t.window.start)):
        last = merged[-1] if merged else None
        if (last is not None and (last.label, last.weight) == (term.label, term.weight)
                and last.window.end == term.window.start):
            merged[-1] = ResolvedTerm(last.info, last.weight, last.params, Window(last.window.start, term.window.end))
        else:
            merged.append(term)
    return tuple(sorted(term.canonical() for term in merged))


def parse_config(text: str, registry: Registry = REGISTRY) -> LossConfig:
    """Parse exactly one configuration (no top-level commas)."""
    configs = parse_sweep(text, registry)
    if len(configs) != 1:
        raise SpecError(f"Expected one loss configuration, got {len(configs)} in '{clip(text)}'.")
    return configs[0]


#: The smallest weight: the terms are computed in float32, where a smaller weight makes its term vanish
#: (zero, or a subnormal number without precision). (A weight so large that the loss overflows trains, and
#: the unit is marked diverged at its first step.)
SMALLEST_WEIGHT = 1.1754943508222875e-38


def scaled_weight(weight: float, scale: float) -> float:
    """A preset term's weight times the preset's, rounded to 15 significant digits so that decimal weights
    multiply as written (``0.1*superslomo``: 204 × 0.1 is 20.4, not 20.400000000000002)."""
    return float(f"{weight * scale:.15g}")


def weight_too_small(weight: float) -> str | None:
    """Why ``weight`` cannot be used (below :data:`SMALLEST_WEIGHT`), or None."""
    if weight < SMALLEST_WEIGHT:
        return (f"is below {SMALLEST_WEIGHT:.3g}, the smallest normal float32 number, in which losses are computed: "
                f"the term would contribute nothing (its value rounds to zero or loses its precision)")
    return None


def _resolve_terms(terms: tuple[TermSpec, ...], registry: Registry, depth: int) -> list[ResolvedTerm]:
    if depth > 4:
        raise SpecError("Paper presets nest too deeply (more than 4 levels); this is a catalog error.")
    resolved: list[ResolvedTerm] = []
    for spec in terms:
        if spec.name in registry.presets:
            inner = parse_config(registry.presets[spec.name].expansion, registry)
            for term in _resolve_terms(inner.terms, registry, depth + 1):
                window = term.window.intersect(spec.window)
                if window is None:  # the preset's term is never active in the window the preset is given
                    continue
                weight = scaled_weight(term.weight, spec.weight)
                if (problem := weight_too_small(weight)) is not None:
                    raise SpecError(f"The weight of '{term.label}' in {format_value(spec.weight)}*{spec.name} "
                                    f"({format_value(term.weight)} × {format_value(spec.weight)} = "
                                    f"{format_value(weight)}) {problem}. Scale the preset by a larger weight.")
                resolved.append(ResolvedTerm(term.info, weight, term.params, window))
        else:
            info = registry.term(spec.name)
            params = info.resolve_params(dict(spec.params))
            resolved.append(ResolvedTerm(info, spec.weight, params, spec.window))
    return resolved


class _Parser:
    """A small recursive-descent parser that reports the position of every problem."""

    def __init__(self, text: str, registry: Registry) -> None:
        self.text = text
        self.pos = 0
        self.registry = registry

    # -- errors ---------------------------------------------------------------------------------
    def fail(self, message: str, at: int | None = None) -> SpecError:
        at = self.pos if at is None else at
        line_start = self.text.rfind("\n", 0, at) + 1
        line_end = self.text.find("\n", at)
        line = self.text[line_start : len(self.text) if line_end < 0 else line_end]
        column = at - line_start
        where = f"position {at + 1}"
        if "\n" in self.text:
            where += f" (line {self.text.count(chr(10), 0, at) + 1}, column {column + 1})"
        width = ECHO_LIMIT
        first = max(0, min(column - width // 2, len(line) - width))
        shown = ("…" if first else "") + line[first : first + width] + ("…" if first + width < len(line) else "")
        caret = " " * (column - first + (1 if first else 0)) + "^"
        return SpecError(f"Malformed loss specification at {where}: {message}\n    {shown}\n    {caret}\n"
                         f"{GRAMMAR_HINT}")

    def found(self) -> str:
        return f"{self.text[self.pos]!r}" if self.pos < len(self.text) else "the end of the text"

    # -- scanning -------------------------------------------------------------------------------
    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def accept(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def match(self, pattern: re.Pattern[str]) -> str | None:
        self.skip_space()
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group()

    # -- grammar --------------------------------------------------------------------------------
    def sweep(self) -> list[LossConfig]:
        if not self.text.strip():
            raise SpecError(f"The loss specification is empty. {GRAMMAR_HINT}")
        configs = [self.config()]
        while self.accept(","):
            configs.append(self.config())
        if self.peek():
            raise self.fail(f"unexpected {self.found()} after a complete term; join terms with '+' "
                            f"and configurations with ','")
        return configs

    def config(self) -> LossConfig:
        start = self.pos
        if self.peek() in (",", ""):
            raise self.fail("empty configuration: there is nothing between two commas or at an end")
        starts = [self.pos]
        terms = [self.term()]
        while self.accept("+"):
            starts.append(self.pos)
            terms.append(self.term())
        self.check_no_overlap(terms, starts)
        config = LossConfig(tuple(terms), self.registry)
        self.check_no_overlap_expanded(config, start)
        return config

    def term(self) -> TermSpec:
        self.skip_space()
        weight = 1.0
        if self.peek() and self.peek() in _DIGITS + ".-":
            weight = self.weight()
        self.skip_space()
        name_at = self.pos
        name = self.match(_NAME)
        if name is None:
            raise self.fail(f"expected a loss term name, found {self.found()}")
        name = name.lower()
        if name in ("inf", "infinity", "nan") and self.text.startswith("*", self.pos):
            raise self.fail(f"the weight {name} must be a positive finite number", at=name_at)
        if self.text[self.pos:].lstrip().startswith("*") and not self.registry.is_known(name):
            raise self.fail(f"'{clip(name, limit=40)}' before '*' is not a number; a weight is written in decimal "
                            f"digits before the term it weighs, e.g. '0.1*perc' or '1e-3*perc'", at=name_at)
        if self.text.startswith("+", self.pos) and self.registry.is_known(name + "+"):
            rest = self.text[self.pos + 1 :].lstrip()  # whitespace is ignored: 'adacof+ l1' is 'adacof+l1'
            after = rest[:1]
            if after == "" or after in _TERM_END:
                self.pos += 1
                name += "+"
        if not self.registry.is_known(name) and len(name) > 40:
            raise self.fail(f"'{clip(name, limit=40)}' is not a loss term name (names are short; `vfibench "
                            f"losses` lists them)", at=name_at)
        if not self.registry.is_known(name) and "-" in name:
            self.check_not_subtracted(name, name_at)
        if not self.registry.is_known(name):
            raise self.registry.unknown(name, context=f"'{clip(self.text, name_at)}' at position {name_at + 1}")
        params = self.params(name) if self.accept("(") else ()
        window = self.window() if self.accept("@") else Window()
        if name in self.registry.presets and params:
            raise self.fail(f"'{name}' is a paper preset and takes no parameters; write its terms "
                            f"out instead (`vfibench losses {name}` shows them)", at=name_at)
        return TermSpec(name, weight, params, window)

    def check_not_subtracted(self, name: str, name_at: int) -> None:
        """A SpecError when an unknown name with a '-' is a known term, '-', then a weight or a known term
        (``l1-0.1*perc``, ``l1-perc``): '-' belongs to names such as ``flow-tv``, and terms are only ever
        added, each with a positive weight. Another unknown name (``superslomo-papr``) is left to the
        unknown-name error, which suggests the names it is close to."""
        dash = name.find("-")
        while dash > 0:
            rest = self.text[name_at + dash + 1 :].split(",")[0].strip()
            following = _NAME.match(rest)
            subtracted = rest[:1] in _DIGITS + "." or (following is not None
                                                       and self.registry.is_known(following.group().lower()))
            if self.registry.is_known(name[:dash]) and subtracted:
                added = f"{name[:dash]}+{rest if rest[:1] in _DIGITS + '.' else '0.1*' + rest}"
                raise self.fail(f"'-' does not subtract: terms are only added ('+'), each with a positive weight, so "
                                f"a loss term cannot be taken away. To weigh a term less, give it a smaller weight, "
                                f"e.g. '{clip(added, limit=40)}'", at=name_at + dash)
            dash = name.find("-", dash + 1)

    def weight(self) -> float:
        at = self.pos
        text = self.match(_NUMBER)
        if text is None:
            raise self.fail(f"expected a weight (a number), found {self.found()}")
        if self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "._"):
            end = self.pos
            while end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "._"):
                end += 1
            raise self.fail(f"'{clip(self.text[at:end])}' is not a number; write weights in decimal with the "
                            f"digits 0-9, e.g. '16*l1' or '1e-3*perc'", at=at)
        value = float(text)
        if not math.isfinite(value) or value <= 0:
            raise self.fail(f"the weight {text} must be a positive finite number", at=at)
        if (problem := weight_too_small(value)) is not None:
            raise self.fail(f"the weight {text} {problem}; give a weight of at least {SMALLEST_WEIGHT:.3g}", at=at)
        if not self.accept("*"):
            raise self.fail(f"expected '*' between the weight {text} and the term name, found {self.found()}")
        return value

    def params(self, name: str) -> tuple[tuple[str, ParamValue], ...]:
        items: dict[str, ParamValue] = {}
        if self.accept(")"):
            return ()
        while True:
            key_at = self.pos
            key = self.match(_WORD)
            if key is None:
                raise self.fail(f"expected a parameter name of '{name}', found {self.found()}")
            key = key.lower()
            if key in items:
                raise self.fail(f"parameter '{key}' is given twice", at=key_at)
            if not self.accept("="):
                raise self.fail(f"expected '=' after parameter '{key}', found {self.found()}")
            value: ParamValue | None
            number = self.match(_NUMBER)
            if number is not None:
                value = float(number)
            else:
                value = self.match(_WORD)
                if value is None:
                    raise self.fail(f"expected a value for parameter '{key}', found {self.found()}")
            items[key] = value
            if self.accept(")"):
                break
            if not self.accept(","):
                raise self.fail(f"expected ',' or ')' in the parameters of '{name}', found {self.found()}")
        if name in self.registry.terms:
            info = self.registry.terms[name]
            try:
                resolved = info.resolve_params(items)
            except SpecError as err:
                raise SpecError(f"{err} (in '{clip(self.text, key_at)}' at position {key_at + 1})") from None
            items = {k: resolved[k] for k in items}
        return tuple(sorted((k, v) for k, v in items.items() if not self.is_default(name, k, v)))

    def is_default(self, name: str, key: str, value: ParamValue) -> bool:
        info = self.registry.terms.get(name)
        return info is not None and info.param(key).default == value

    def window(self) -> Window:
        at = self.pos
        start, end = 0.0, 1.0
        if self.peek() != ":":
            start = self.fraction()
        if self.accept(":"):
            end = self.fraction()
        if not 0.0 <= start < end <= 1.0:
            raise self.fail("a schedule window needs 0 <= start < end <= 1 (fractions of training)", at=at)
        return Window(start, end)

    def fraction(self) -> float:
        text = self.match(_NUMBER)
        if text is None:
            raise self.fail(f"expected a fraction of training between 0 and 1 after '@', found {self.found()}")
        return float(text)

    def check_no_overlap_expanded(self, config: LossConfig, start: int) -> None:
        """A term may not appear twice with overlapping schedules once the presets are written out either
        (``dain+charbonnier`` is charbonnier + charbonnier): its two weights would be logged as one."""
        if not any(term.name in self.registry.presets for term in config.terms):
            return
        resolved = config.resolve()
        for i, first in enumerate(resolved):
            for second in resolved[i + 1 :]:
                if first.label == second.label and first.window.overlaps(second.window):
                    raise self.fail(
                        f"the term '{first.label}' appears twice with overlapping schedules once the presets are "
                        f"written out ({config.expanded}); leave out the term the preset already holds, or add "
                        f"the weights as one term", at=start)

    def check_no_overlap(self, terms: list[TermSpec], starts: list[int]) -> None:
        """A term may not appear twice with overlapping schedules; the error points at its second appearance."""
        for i, first in enumerate(terms):
            for j, second in enumerate(terms[i + 1 :], start=i + 1):
                same = (first.name, first.params) == (second.name, second.params)
                if same and first.window.overlaps(second.window):
                    rest = self.text[starts[j]:]
                    raise self.fail(
                        f"the term '{first.name}' appears twice with overlapping schedules; add the weights "
                        f"instead (e.g. '{format_value(first.weight + second.weight)}*{first.name}')",
                        at=starts[j] + len(rest) - len(rest.lstrip()),
                    )
