"""Drawing for the image grids: frames, captions, boxes and a colour bar, straight onto a PIL image.

A grid is a fixed table of pictures and captions, with no axes to lay out: drawn through
matplotlib's figure machinery (axes, constrained layout, Agg) it takes about 0.35 s, drawn here a
few hundredths of a second. The text uses the DejaVu faces matplotlib ships (those of every other figure
of the report) and the error maps matplotlib's colour maps, looked up the way ``imshow`` does.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image as PILImage, ImageDraw, ImageFont

#: The frame-box colour (cyan: visible on most content).
BOX = (0, 229, 255)
INK = (0, 0, 0)
PAPER = (255, 255, 255)


@cache
def font(size: int, mono: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (or Sans Mono) at ``size`` pixels, from matplotlib's bundled fonts."""
    import matplotlib

    name = "DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


@cache
def colour_table(name: str) -> np.ndarray:
    """(256, 3) uint8: matplotlib's colour map ``name`` at its 256 levels."""
    from matplotlib import colormaps

    return np.round(colormaps[name](np.arange(256))[:, :3] * 255).astype(np.uint8)


def colourize(values: np.ndarray, vmax: float, name: str) -> np.ndarray:
    """``values`` (H, W) mapped through colour map ``name`` over [0, vmax] as ``imshow`` maps them:
    level ⌊256 · v / vmax⌋, clipped to 0…255. Returns (H, W, 3) uint8."""
    levels = np.clip(np.floor(np.asarray(values, dtype=np.float64) / vmax * 256), 0, 255).astype(np.intp)
    return colour_table(name)[levels]


def to_pil(image: np.ndarray) -> PILImage.Image:
    """An (H, W, 3) image, float in [0, 1] or uint8, as an RGB PIL image (floats rounded to 8 bits)."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.round(np.clip(array.astype(np.float64), 0.0, 1.0) * 255).astype(np.uint8)
    return PILImage.fromarray(np.ascontiguousarray(array), "RGB")


def resized(image: PILImage.Image, width: int, height: int) -> PILImage.Image:
    """``image`` at ``width`` × ``height``: enlarged pixel for pixel (nearest neighbour, nothing
    invented), reduced by area averaging (no aliasing)."""
    if (width, height) == image.size:
        return image
    enlarging = width >= image.width and height >= image.height
    return image.resize((width, height), PILImage.Resampling.NEAREST if enlarging else PILImage.Resampling.BOX)


def line_height(face: ImageFont.FreeTypeFont) -> int:
    ascent, descent = face.getmetrics()
    return int(math.ceil((ascent + descent) * 1.15))


def wrapped(text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width`` pixels (a longer word keeps its line)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and face.getlength(candidate) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def broken(text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """``text`` as :func:`wrapped` lines, a line that is still too wide (one long word, such as a
    configuration's spec) cut into pieces that fit."""
    lines = []
    for line in wrapped(text, face, width):
        while face.getlength(line) > width and len(line) > 1:
            cut = max(n for n in range(1, len(line)) if n == 1 or face.getlength(line[:n]) <= width)
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


def fitted(text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """``text``, shortened with an ellipsis when it is wider than ``width``."""
    if face.getlength(text) <= width:
        return text
    while text and face.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def draw_lines(draw: ImageDraw.ImageDraw, xy: tuple[float, float], lines: list[str],
               face: ImageFont.FreeTypeFont, *, centred: bool = False) -> None:
    """``lines`` from ``xy`` down (the top-left corner; the top centre when ``centred``)."""
    x, y = xy
    for line in lines:
        left = x - face.getlength(line) / 2 if centred else x
        draw.text((left, y), line, font=face, fill=INK)
        y += line_height(face)


def nice_ticks(vmax: float, most: int = 6) -> list[float]:
    """Round tick values from 0 to ``vmax`` (positive, finite): a step of 1, 2, 2.5 or 5 × 10^k, the
    finest that gives at most ``most`` ticks (``most`` ≥ 2)."""
    if not (math.isfinite(vmax) and vmax > 0) or most < 2:
        raise ValueError(f"ticks need a positive finite upper end and room for two, not {vmax!r} and {most}")
    power = math.floor(math.log10(vmax)) - 1
    while True:  # ends: at 10^⌊log10 vmax⌋ + 1 the step exceeds vmax, so two ticks at most
        for mantissa in (1, 2, 2.5, 5):
            step = mantissa * 10.0 ** power
            count = int(math.floor(vmax / step * (1 + 1e-12))) + 1
            if count <= most:
                return [i * step for i in range(count)]
        power += 1


def tick_text(values: list[float]) -> list[str]:
    """The tick values, all with the fewest decimals (up to 15) that write every one of them exactly."""
    scale = max((abs(v) for v in values), default=1.0) or 1.0
    decimals = next((d for d in range(16) if all(abs(round(v, d) - v) <= 1e-9 * scale for v in values)), 15)
    return [f"{v:.{decimals}f}" for v in values]


def draw_colour_bar(canvas: PILImage.Image, box: tuple[int, int, int, int], vmax: float, name: str,
                    label: str, face: ImageFont.FreeTypeFont) -> None:
    """A horizontal colour bar filling ``box`` (left, top, width, height), ticks and values below, ``label`` under them."""
    left, top, width, height = box
    ramp = colourize(np.broadcast_to(np.linspace(0.0, vmax, width, endpoint=False) + vmax / (2 * width),
                                     (height, width)), vmax, name)
    canvas.paste(to_pil(ramp), (left, top))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((left - 1, top - 1, left + width, top + height), outline=INK, width=1)
    values = nice_ticks(vmax)
    y = top + height
    for value, text in zip(values, tick_text(values)):
        x = left + round(value / vmax * width)
        draw.line((x, y, x, y + 5), fill=INK, width=1)
        draw.text((x - face.getlength(text) / 2, y + 7), text, font=face, fill=INK)
    draw_lines(draw, (left + width / 2, y + 9 + line_height(face)), [label], face, centred=True)
