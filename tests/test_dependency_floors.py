"""The floors in pyproject.toml are what ``make test-oldest`` installs (scripts/oldest_constraints.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("oldest_constraints", ROOT / "scripts" / "oldest_constraints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def requirement_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9._-]+", requirement)[0].lower()


def test_every_dependency_and_extra_is_pinned_to_its_floor() -> None:
    """A requirement without a floor would leave ``make test-oldest`` installing its newest release."""
    script = load_script()
    project = script.read_project()
    extras = tuple(project["optional-dependencies"])
    pins = script.oldest_pins(extras)
    requirements = [*project["dependencies"], *(r for extra in extras for r in project["optional-dependencies"][extra])]
    assert {requirement_name(r) for r in requirements} == set(pins)
    for requirement in requirements:
        floor = re.search(r">=\s*([0-9][^,;\s]*)", requirement)[1]
        assert script.version_key(pins[requirement_name(requirement)]) >= script.version_key(floor)
    assert pins["typer"] == "0.29"  # the lower end of a range, not its upper bound


def test_a_name_required_twice_is_pinned_to_the_higher_floor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_script()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["numpy>=1.24", "rich"]\n'
                         '[project.optional-dependencies]\na = ["av>=9.2"]\nb = ["av>=15", "numpy>=1.3"]\n')
    monkeypatch.setattr(script, "PYPROJECT", pyproject)
    assert script.oldest_pins(("a", "b")) == {"numpy": "1.24", "av": "15"}  # 1.24 > 1.3; rich has no floor
    with pytest.raises(ValueError, match="no extra c"):
        script.oldest_pins(("c",))


def test_an_unknown_extra_is_an_error_with_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_script().main(["test,nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: pyproject.toml has no extra nope; its extras are ")


def test_without_tomllib_the_script_reads_toml_with_tomli_or_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Python 3.10, the oldest the package admits, has no ``tomllib``: ``make test-oldest PYTHON=python3.10``."""
    script = load_script()
    parser = script.toml_parser()  # whichever this Python has, standing in for each module the script asks for
    missing: set[str] = set()
    asked: list[str] = []

    def import_module(name: str):  # type: ignore[no-untyped-def]
        asked.append(name)
        if name in missing:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return parser

    monkeypatch.setattr(script, "importlib", SimpleNamespace(import_module=import_module))
    for absent, tried in [((), ["tomllib"]), (("tomllib",), ["tomllib", "tomli"]),
                          (("tomllib", "tomli"), ["tomllib", "tomli", "pip._vendor.tomli"])]:
        missing, asked[:] = set(absent), []
        assert script.read_project()["name"] == "vfibench" and asked == tried
    missing = {"tomllib", "tomli", "pip._vendor.tomli"}
    assert script.main(["test"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: Python ") and "has no TOML parser" in captured.err
    assert "pip install tomli" in captured.err
