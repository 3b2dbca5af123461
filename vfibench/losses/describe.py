"""Human-readable descriptions of the loss catalog, for ``vfibench losses``."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from vfibench.losses.catalog import REGISTRY
from vfibench.losses.registry import PresetInfo, TermInfo, format_value
from vfibench.losses.spec import parse_config


def _params(info: TermInfo) -> str:
    return ", ".join(f"{p.name}={format_value(p.default)}" for p in info.params) or "—"


def _needs(info: TermInfo) -> str:
    needs = sorted(info.needs - {"frame"}) + [f"{b} backbone" for b in info.backbones]
    return ", ".join(needs) or "frame only"


def catalog_tables() -> list[Table]:
    """One table of loss terms and one of paper presets."""
    terms = Table(title="Loss terms", title_justify="left", show_lines=False)
    for column in ("name", "kind", "formula", "parameters (defaults)", "needs", "source"):
        terms.add_column(column, overflow="fold")
    for info in sorted(REGISTRY.terms.values(), key=lambda i: (i.kind, i.name)):
        source = info.source + ("" if info.verified else " [yellow](unverified)[/]")
        terms.add_row(f"[cyan]{info.name}[/]", info.kind, escape(info.formula), _params(info), _needs(info),
                      source)
    presets = Table(title="Paper presets", title_justify="left")
    for column in ("name", "expands to", "source"):
        presets.add_column(column, overflow="fold")
    for preset in sorted(REGISTRY.presets.values(), key=lambda p: p.name):
        source = preset.source + ("" if preset.verified else " [yellow](unverified)[/]")
        presets.add_row(f"[cyan]{preset.name}[/]", escape(parse_config(preset.name).expanded), source)
    return [terms, presets] if REGISTRY.presets else [terms]


def describe_name(name: str) -> Group:
    """A full description of one term or preset (unknown names get suggestions)."""
    key = name.lower()
    if key in REGISTRY.presets:
        return _describe_preset(REGISTRY.presets[key])
    return _describe_term(REGISTRY.term(key))


def _describe_term(info: TermInfo) -> Group:
    lines = [
        Text.from_markup(f"[bold cyan]{info.name}[/] — {info.kind} loss term"),
        Text(f"  formula:  {info.formula}"),
        Text(f"  needs:    {_needs(info)}"),
        Text(f"  source:   {info.source} ({'verified in the original code' if info.verified else 'unverified'})"),
    ]
    if info.params:
        lines.append(Text("  parameters:"))
        for p in info.params:
            choices = f" (one of {', '.join(p.choices)})" if p.choices else ""
            lines.append(Text(f"    {p.name} = {format_value(p.default)}{choices}: {p.help}"))
    if info.deviation:
        lines.append(Text(f"  differs from the source: {info.deviation}"))
    doc = (info.factory.__doc__ or "").strip()
    if doc:
        lines.append(Text("\n" + doc))
    return Group(*lines)


def _describe_preset(preset: PresetInfo) -> Group:
    config = parse_config(preset.name)
    lines = [
        Text.from_markup(f"[bold cyan]{preset.name}[/] — paper preset"),
        Text(f"  expands to: {config.expanded}"),
        Text(f"  source:     {preset.source} ({'verified' if preset.verified else 'unverified'})"),
    ]
    if preset.notes:
        lines.append(Text(f"  notes:      {preset.notes}"))
    lines.append(Text("  terms:"))
    for term in config.resolve():
        window = f" during {term.window.start:g}–{term.window.end:g} of training" if str(term.window) else ""
        lines.append(Text(f"    {format_value(term.weight)} × {term.label}: {term.info.formula}{window}"))
        if term.info.deviation:
            lines.append(Text(f"      differs from the source: {term.info.deviation}"))
    return Group(*lines)
