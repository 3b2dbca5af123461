"""Print pip constraints that pin every dependency to the oldest release ``pyproject.toml`` admits.

    python scripts/oldest_constraints.py [EXTRA,...] > oldest.txt    # e.g. test
    pip install -c oldest.txt -e '.[test]'

Each ``name>=X`` of the package's dependencies, and of the extras named (none unless given; the
Makefile names those it installs), becomes ``name==X``; a name listed twice takes the higher floor.
``make test-oldest`` runs the test suite in an environment installed this way, so the floors
``pyproject.toml`` states are floors that were tested rather than guessed; with
``make test-oldest PYTHON=python3.10`` the oldest Python the package admits is tested with them.
It reads TOML with ``tomllib`` (Python 3.11+), else ``tomli`` (the same parser, installable on 3.10),
else the copy of ``tomli`` that pip carries. An unknown extra is an error, exit code 2.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
#: ``name[extras] ... >=version``: the distribution name and its lower bound, if the requirement has one.
FLOOR = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?[^;]*?>=\s*(?P<version>[0-9][^,;\s]*)")


def toml_parser() -> ModuleType:
    """``tomllib`` where Python has it (3.11+), else ``tomli``, whose API it is, else pip's copy of ``tomli``."""
    for name in ("tomllib", "tomli", "pip._vendor.tomli"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ValueError(f"Python {sys.version.split()[0]} has no TOML parser (tomllib is Python 3.11+); "
                     "install one with 'pip install tomli' or run this script with Python 3.11 or newer.")


def read_project() -> dict[str, Any]:
    """The ``[project]`` table of ``pyproject.toml``."""
    return toml_parser().loads(PYPROJECT.read_text())["project"]


def version_key(version: str) -> tuple[int, ...]:
    """``"2.4.0"`` → ``(2, 4, 0)``, for comparing two floors of one name (release numbers only)."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def oldest_pins(extras: tuple[str, ...]) -> dict[str, str]:
    """Each dependency's floor, by distribution name, from the dependencies and the ``extras`` named."""
    project = read_project()
    optional = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise ValueError(f"pyproject.toml has no extra {', '.join(unknown)}; its extras are {', '.join(optional)}. "
                         "Name extras as pyproject.toml spells them, separated by commas.")
    pins: dict[str, str] = {}
    for requirement in [*project["dependencies"], *(r for extra in extras for r in optional[extra])]:
        match = FLOOR.match(requirement)
        if match is None:
            continue  # no lower bound: pip's newest is all that can be said
        name, version = match["name"].lower(), match["version"]
        if name not in pins or version_key(version) > version_key(pins[name]):
            pins[name] = version
    return pins


def main(argv: list[str]) -> int:
    """Print the pins; an unknown extra, or no TOML parser, is an error on stderr and exit code 2."""
    extras = tuple(filter(None, argv[0].split(","))) if argv else ()
    try:
        pins = oldest_pins(extras)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"# The oldest releases pyproject.toml admits (extras: {','.join(extras) or 'none'}); "
          "written by scripts/oldest_constraints.py")
    for name, version in pins.items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
