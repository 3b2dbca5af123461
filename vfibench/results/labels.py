"""Labels beside the markers of a plot, placed where they overlap no marker, no other label and, if
possible, no drawn line (error bars, a Pareto front), nor leave the axes: :func:`place_labels`."""

from __future__ import annotations

from collections.abc import Sequence


#: Label positions tried in turn, in points from the marker: (dx, dy, horizontal alignment); the later,
#: farther ones get a leader line.
LABEL_OFFSETS = tuple((dx, dy, "left" if dx > 0 else "right") for ring in (1.0, 2.2, 3.6, 5.0)
                      for dx, dy in ((7 * ring, 4 * ring), (7 * ring, -10 * ring), (-7 * ring, 4 * ring),
                                     (-7 * ring, -10 * ring), (0.5, 12 * ring), (0.5, -18 * ring)))

#: How many of :data:`LABEL_OFFSETS` (the two nearest rings) are first tried for a place that also
#: crosses no drawn line; beyond them a label may cross a line rather than stand far from its marker.
CLEAR_OFFSETS = 12
#: A rendered label's extent in pixels: (x0, y0, x1, y1).
Box = tuple[float, float, float, float]
#: A drawn line segment: its two end points.
Segment = tuple[tuple[float, float], tuple[float, float]]


def overlaps(box: Box, taken: Sequence[Box]) -> bool:
    """Whether ``box`` overlaps any of the boxes ``taken`` (touching edges do not)."""
    return any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in taken)


def crosses(box: Box, segment: Segment) -> bool:
    """Whether the line segment passes through the box (Liang–Barsky clipping; all in pixels)."""
    (x0, y0), (x1, y1) = segment
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def place_labels(ax: object, labelled: Sequence[tuple[float, float, str, str]],
                 lines: Sequence[Segment] = ()) -> None:
    """Write each (x, y, text, colour) label at the first offset where its rendered box overlaps no
    marker, no earlier label and does not leave the axes — among the nearest offsets, first one that
    also crosses none of ``lines`` (segments in data coordinates: error bars, the Pareto front);
    labels placed far away get a leader line."""
    from matplotlib.text import Text

    annotate = ax.annotate  # type: ignore[attr-defined]
    figure = ax.figure  # type: ignore[attr-defined]
    renderer = figure.canvas.get_renderer()
    to_pixels = ax.transData.transform  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)  # type: ignore[attr-defined]
    scale = figure.dpi / 72.0
    markers = [tuple(to_pixels((x, y))) for x, y, _, _ in labelled]
    segments = [(tuple(to_pixels(a)), tuple(to_pixels(b))) for a, b in lines]
    taken = [(mx - 6 * scale, my - 6 * scale, mx + 6 * scale, my + 6 * scale) for mx, my in markers]
    order = sorted(range(len(labelled)), key=lambda i: (-markers[i][1], markers[i][0]))
    tries = [(n, True) for n in range(min(CLEAR_OFFSETS, len(LABEL_OFFSETS)))] + \
        [(n, False) for n in range(len(LABEL_OFFSETS))]
    for index in order:
        x, y, text, colour = labelled[index]
        fallback = None
        for number, clear in tries:
            dx, dy, align = LABEL_OFFSETS[number]
            far = number >= 6
            label = annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), ha=align, fontsize=8,
                             color=colour, zorder=5, arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.5,
                                                                 "shrinkA": 0, "shrinkB": 4} if far else None)
            label.update_positions(renderer)
            extent = Text.get_window_extent(label, renderer)  # the text alone, not its leader line
            box = (extent.x0, extent.y0, extent.x1, extent.y1)
            inside = frame.x0 <= box[0] and box[2] <= frame.x1 and frame.y0 <= box[1] and box[3] <= frame.y1
            crossing = clear and any(crosses(box, segment) for segment in segments)
            if inside and not overlaps(box, taken) and not crossing:
                taken.append(box)
                if fallback is not None:
                    fallback[0].remove()
                break
            if fallback is None and inside:
                fallback = (label, box)
            else:
                label.remove()
        else:
            if fallback is not None:
                taken.append(fallback[1])
            else:  # nowhere inside the axes: the first position, whatever it overlaps
                dx, dy, align = LABEL_OFFSETS[0]
                annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), ha=align, fontsize=8,
                         color=colour, zorder=5)
