"""Human-readable descriptions of the loss catalog, for ``vfibench losses``.

The catalog is two compact tables (terms grouped by kind: name, status, needs, formula; presets:
name, status, expansion) that fit an 80-column terminal; everything longer — parameters, sources,
deviations, notes — is in the description of one name (``vfibench losses NAME``), laid out as
label/value rows whose values wrap inside their own column. Any other spec
(``vfibench losses "l1+0.1*perc"``) is explained as the configuration it parses to.

Everything here reads the catalog's records (:mod:`vfibench.losses.snapshot`), never the torch
modules, so the command starts in a fraction of a second.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vfibench.errors import SpecError
from vfibench.losses import snapshot
from vfibench.losses.registry import PresetInfo, Registry, TermInfo, format_value, needs_text
from vfibench.losses.spec import LossConfig, ResolvedTerm, Window, parse_config, parse_sweep, same_loss_key

#: Marks, in the catalog's status column, a term or preset that differs from its source.
DEVIATION_MARK = "*"


def status(verified: bool, deviates: bool = False) -> str:
    """``verified`` or ``unverified``, with :data:`DEVIATION_MARK` when the implementation deviates."""
    return ("verified" if verified else "unverified") + (DEVIATION_MARK if deviates else "")


_MANTISSA = re.compile(r"\d+\.?\d*|\.\d+")


def spaced(spec: str) -> str:
    """A canonical spec with spaces around its top-level ``+`` so a terminal can wrap it between terms."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(spec):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if (char == "+" and depth == 0 and index > start  # not the sign of a weight's 1e+20:
                and not (spec[index - 1] in "eE" and _MANTISSA.fullmatch(spec[start:index - 1]))):
            parts.append(spec[start:index])
            start = index + 1
    parts.append(spec[start:])
    return " + ".join(parts)


def _registry() -> Registry:
    return snapshot.load()


def _preset_deviates(preset: PresetInfo) -> bool:
    return any(term.info.deviation for term in parse_config(preset.name, _registry()).resolve(_registry()))


def catalog_tables() -> list[RenderableType]:
    """One table of loss terms, one of paper presets and a legend, each narrow enough for 80 columns."""
    REGISTRY = _registry()
    terms = Table(title="Loss terms", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    terms.add_column("name", style="cyan", no_wrap=True)
    terms.add_column("status", no_wrap=True)
    terms.add_column("needs", ratio=1, min_width=10, max_width=24)
    terms.add_column("formula", overflow="fold", ratio=3)
    kind = None
    for info in sorted(REGISTRY.terms.values(), key=lambda i: (i.kind, i.name)):
        if info.kind != kind:
            kind = info.kind
            terms.add_row(Text(f"{kind} terms", style="bold"), end_section=False)
        needs = needs_text(info)
        terms.add_row(Text(info.name), _status_text(info.verified, bool(info.deviation)),
                      Text("—" if needs == "the predicted frame only" else needs), Text(info.formula))
    tables: list[RenderableType] = [terms]
    if REGISTRY.presets:
        presets = Table(title="Paper presets", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        presets.add_column("name", style="cyan", no_wrap=True)
        presets.add_column("status", no_wrap=True)
        presets.add_column("expands to (weights for frames in [0, 1])", overflow="fold", ratio=1)
        for preset in sorted(REGISTRY.presets.values(), key=lambda p: p.name):
            presets.add_row(Text(preset.name), _status_text(preset.verified, _preset_deviates(preset)),
                            Text(spaced(parse_config(preset.name, REGISTRY).expanded)))
        tables.append(presets)
    tables.append(Text(
        "needs: what a term reads beyond the predicted frame (— for nothing else). "
        "verified: read in the original code; unverified: from the paper or chosen, as stated. "
        f"{DEVIATION_MARK}: differs from its source in a stated way. `vfibench losses NAME` gives a term's "
        "parameters, source and deviations, or a preset's terms, schedule and notes; `vfibench losses SPEC` "
        "explains any configuration, e.g. \"l1+0.1*perc\"."
    ))
    return tables


def _status_text(verified: bool, deviates: bool) -> Text:
    return Text(status(verified, deviates), style="" if verified else "yellow")


def describe_name(name: str) -> Group:
    """A full description of one term or preset, or of any configuration spec (``"l1+0.1*perc"``).

    An unknown name or a malformed spec raises :class:`~vfibench.errors.SpecError` with suggestions.
    """
    registry = _registry()
    key = name.strip().lower()
    if key in registry.presets:
        return _describe_preset(registry.presets[key])
    if key in registry.terms:
        return _describe_term(registry.terms[key])
    configs = parse_sweep(name, registry)  # commas also part parameters: perc(layer=relu2_2,norm=imagenet)
    if len(configs) > 1:
        raise SpecError(f"'{name.strip()}' holds {len(configs)} configurations; `vfibench losses` explains one at "
                        f"a time, e.g. `vfibench losses \"{configs[0].canonical}\"`.")
    return describe_config(configs[0])


def describe_config(config: LossConfig) -> Group:
    """A configuration: its canonical string, expansion, terms with weights and schedules, needs."""
    registry = _registry()
    terms = config.resolve(registry)
    rows = _Rows()
    rows.add_row("canonical", config.canonical)
    if spaced(config.expanded) != spaced(config.canonical):
        rows.add_row("expands to", spaced(config.expanded))
    merged = same_loss_key(config, in_float32=False)  # as written; the comparison also rounds to float32
    if len(merged) < len(terms):  # `l1@:0.5+l1@0.5`: what `run` refuses beside `l1` as the same loss
        rows.add_row("same loss as", f"{spaced('+'.join(merged))} (a term at one weight over two windows that meet "
                                     f"is that term over both)")
    needs = dict.fromkeys(part for term in terms for part in needs_text(term.info).split(", "))
    needs.pop("the predicted frame only", None)
    rows.add_row("needs", ", ".join(needs) or "the predicted frame only")
    parts: list[RenderableType] = [Text.assemble((config.canonical, "bold cyan"), " — loss configuration"),
                                   rows.grid, _term_rows(terms)]
    deviations = _Rows()
    for label, deviation in dict.fromkeys((t.info.name, t.info.deviation) for t in terms if t.info.deviation):
        deviations.add_row(label, deviation)
    if deviations.row_count:
        parts += [Text("How these terms differ from their sources:", style="bold"), deviations.grid]
    for gap in uncovered(term.window for term in terms):
        example = config.gap_example(gap, registry)
        parts.append(Text(f"No term is active {window_text(gap)} of training: a training step that falls there has "
                          f"nothing to minimise, and `vfibench run` refuses the configuration for a preset with such "
                          f"a step. Add a term for the gap{f', e.g. {example}' if example else ''}.", style="yellow"))
    parts.append(Text("`vfibench losses NAME` explains each term: its parameters, source and formula."))
    return Group(*parts)


def uncovered(windows: Iterable[Window]) -> list[Window]:
    """The parts of training, as windows, that none of ``windows`` covers (in order)."""
    gaps, reached = [], 0.0
    for window in sorted(windows, key=lambda w: w.start):
        if window.start > reached:
            gaps.append(Window(reached, window.start))
        reached = max(reached, window.end)
    if reached < 1.0:
        gaps.append(Window(reached, 1.0))
    return gaps


class _Rows:
    """A borderless two-column grid: a label, then a value that wraps inside its own column.

    Values are plain text, never console markup (formulas contain square brackets).
    """

    def __init__(self) -> None:
        self.grid = Table.grid(padding=(0, 1))
        self.grid.add_column(no_wrap=True, style="bold")
        self.grid.add_column(overflow="fold", ratio=1)

    def add_row(self, label: str, value: str | Text) -> None:
        self.grid.add_row(Text(label), value if isinstance(value, Text) else Text(value))

    @property
    def row_count(self) -> int:
        return self.grid.row_count


def _reflow(doc: str) -> list[Text]:
    """A docstring as paragraphs whose hard line breaks are removed, so the terminal wraps them; its
    ````code```` spans are shown in bold, without their backticks."""
    texts: list[Text] = []
    for paragraph in inspect.cleandoc(doc).split("\n\n"):
        line = " ".join(part.strip() for part in paragraph.splitlines())
        text = Text()
        for index, piece in enumerate(line.split("``")):
            text.append(piece, style="bold" if index % 2 else "")
        texts += [Text(""), text]
    return texts


def _describe_term(info: TermInfo) -> Group:
    rows = _Rows()
    rows.add_row("formula", info.formula)
    rows.add_row("kind", info.kind)
    rows.add_row("needs", needs_text(info))
    rows.add_row("source", info.source)
    rows.add_row("status", "verified in the original code" if info.verified
                 else Text("unverified: the original training code was not available (see source)", "yellow"))
    for param in info.params:
        choices = f" (one of {', '.join(param.choices)})" if param.choices else ""
        rows.add_row(f"{param.name}=", f"default {format_value(param.default)}{choices}: {param.help}")
    if info.deviation:
        rows.add_row("deviation", info.deviation)
    header = Text.assemble((info.name, "bold cyan"), f" — {info.kind} loss term")
    parts: list[RenderableType] = [header, rows.grid]
    doc = info.doc.strip()
    if doc:
        parts += _reflow(doc)
    return Group(*parts)


def window_text(window: Window) -> str:
    """``always``, ``from 50% of training``, ``until 50%`` or ``25%–75%``."""
    if window.start == 0.0 and window.end == 1.0:
        return "always"
    if window.end == 1.0:
        return f"from {_percent(window.start)}"
    if window.start == 0.0:
        return f"until {_percent(window.end)}"
    return f"{_percent(window.start)}–{_percent(window.end)}"


def _percent(fraction: float) -> str:
    """``50%``, ``0.1%``, ``50.00001%``: as many digits as the fraction was written with (up to twelve,
    which drops the noise of the multiplication), so two different bounds never print alike."""
    return f"{fraction * 100:.12g}%"


def _term_rows(terms: tuple[ResolvedTerm, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("weight", justify="right", no_wrap=True)
    table.add_column("term", style="cyan", no_wrap=True)
    table.add_column("active", no_wrap=True)
    table.add_column("formula", overflow="fold", ratio=1)
    for term in terms:
        table.add_row(Text(format_value(term.weight)), Text(term.label), Text(window_text(term.window)),
                      Text(term.info.formula))
    return table


def _describe_preset(preset: PresetInfo) -> Group:
    config = parse_config(preset.name, _registry())
    terms = config.resolve(_registry())
    rows = _Rows()
    rows.add_row("expands to", spaced(config.expanded))
    rows.add_row("source", preset.source)
    rows.add_row("status", "verified in the original code" if preset.verified
                 else Text("unverified: see the notes for what was confirmed and what was chosen", "yellow"))
    if preset.notes:
        rows.add_row("notes", preset.notes)
    parts: list[RenderableType] = [Text.assemble((preset.name, "bold cyan"), " — paper preset"), rows.grid,
                                   _term_rows(terms)]
    deviations = _Rows()
    for label, deviation in dict.fromkeys((t.info.name, t.info.deviation) for t in terms if t.info.deviation):
        deviations.add_row(label, deviation)
    if deviations.row_count:
        parts += [Text("How these terms differ from their sources:", style="bold"), deviations.grid]
    return Group(*parts)
