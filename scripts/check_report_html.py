#!/usr/bin/env python3
"""Open a vfibench report.html in headless Chromium and check that every image loaded.

Usage::

    python scripts/check_report_html.py results/latest/report/report.html [--screenshot /tmp/report.png]

A copy of the page (in a temporary folder, with a ``<base>`` pointing at the original folder so
relative image paths still resolve) gets a small script that, once the page has loaded, records
for every ``<img>`` whether it decoded (``complete`` and ``naturalWidth > 0``); Chromium's
``--dump-dom`` then prints the page with that record. Exit status 0 when the page has at least
one image and all loaded, 1 otherwise, 2 when Chromium is missing or fails.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARKER = "vfibench-image-check"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PROBE = f"""
<script>
window.addEventListener("load", function () {{
  var images = Array.prototype.slice.call(document.images).map(function (img) {{
    return {{alt: img.alt, loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth,
             height: img.naturalHeight}};
  }});
  var out = document.createElement("pre");
  out.id = "{MARKER}";
  out.textContent = JSON.stringify(images);
  document.body.appendChild(out);
}});
</script>
"""


@dataclass(frozen=True)
class ImageStatus:
    alt: str
    loaded: bool
    width: int
    height: int


def find_chromium() -> str | None:
    """The Chromium executable: ``$CHROMIUM`` or the first of the usual names on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def _flags() -> list[str]:
    flags = ["--headless", "--disable-gpu", "--hide-scrollbars", "--allow-file-access-from-files",
             "--disable-dev-shm-usage", "--no-first-run", "--virtual-time-budget=10000"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return flags


def check_images(report: Path, chromium: str | None = None, timeout: float = 120.0) -> list[ImageStatus]:
    """Load ``report`` in headless Chromium; the load status of every ``<img>`` on the page."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("Chromium not found (install the 'chromium' package or set $CHROMIUM)")
    page = report.resolve().read_text(encoding="utf-8")
    base = f'<base href="{html.escape(report.resolve().parent.as_uri())}/">'
    page = re.sub(r"<head>", "<head>" + base, page, count=1) if "<head>" in page else base + page
    page = page.replace("</body>", PROBE + "</body>") if "</body>" in page else page + PROBE
    with tempfile.TemporaryDirectory(prefix="vfibench-html-check-") as folder:
        probe = Path(folder) / "probe.html"
        probe.write_text(page, encoding="utf-8")
        result = subprocess.run([chromium, *_flags(), f"--user-data-dir={Path(folder) / 'profile'}", "--dump-dom",
                                 probe.as_uri()], capture_output=True, text=True, timeout=timeout)
    match = re.search(rf'<pre id="{MARKER}">(.*?)</pre>', result.stdout, flags=re.S)
    if match is None:
        raise RuntimeError(f"Chromium did not report the page's images (exit {result.returncode}): "
                           f"{result.stderr.strip()[-2000:]}")
    return [ImageStatus(str(i.get("alt", "")), bool(i["loaded"]), int(i["width"]), int(i["height"]))
            for i in json.loads(html.unescape(match.group(1)))]


def screenshot(report: Path, output: Path, chromium: str | None = None, size: str = "1400,3000",
               timeout: float = 120.0) -> Path:
    """Save a PNG screenshot of ``report`` as rendered by headless Chromium."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("Chromium not found (install the 'chromium' package or set $CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="vfibench-html-shot-") as folder:
        subprocess.run([chromium, *_flags(), f"--user-data-dir={folder}", f"--screenshot={output}",
                        f"--window-size={size}", report.resolve().as_uri()], capture_output=True, text=True,
                       timeout=timeout, check=True)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the report.html to check")
    parser.add_argument("--screenshot", type=Path, help="also save a screenshot here (PNG)")
    parser.add_argument("--window-size", default="1400,3000", help="screenshot size WIDTH,HEIGHT")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"error: '{args.report}' does not exist", file=sys.stderr)
        return 2
    try:
        images = check_images(args.report)
        if args.screenshot:
            screenshot(args.report, args.screenshot, size=args.window_size)
    except (FileNotFoundError, RuntimeError, subprocess.SubprocessError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = [image for image in images if not image.loaded]
    for image in images:
        state = f"ok {image.width}×{image.height}" if image.loaded else "FAILED"
        print(f"{state:>14}  {image.alt}")
    print(f"{len(images) - len(failed)} of {len(images)} images loaded")
    return 0 if images and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
