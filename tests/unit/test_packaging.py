"""The wheel carries every package, with testcases/ and fixtures/ under `conformance.`."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAPPED = {
    "conformance": "conformance",
    "testcases": "conformance.testcases",
    "fixtures": "conformance.fixtures",
}


def _declared() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(data["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_declared() -> None:
    found: set[str] = set()
    for top, name in MAPPED.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            found.add(".".join([name, *rel.parts]))
    assert found - _declared() == set(), "add these packages to pyproject.toml"
    assert _declared() - found == set(), "pyproject.toml lists packages that do not exist"


def test_no_top_level_testcases_or_fixtures_package() -> None:
    declared = _declared()
    assert not any(p.split(".")[0] in {"testcases", "fixtures"} for p in declared)


def test_the_suite_configuration_file_is_package_data() -> None:
    from conformance.child import SUITE_INI

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["conformance"]
    relative = SUITE_INI.relative_to(ROOT / "conformance")
    assert SUITE_INI.is_file()
    assert any(relative.match(p) for p in patterns), "add it to package-data"


def test_the_suite_root_of_a_file_or_folder_inside_the_test_cases_is_the_suite(
    tmp_path: Path,
) -> None:
    from conformance.child import locate_testcases, suite_args, suite_root

    installed = locate_testcases().resolve()
    inside = next(installed.rglob("test_*.py"))
    assert suite_root(inside) == installed  # its conftest.py files above it load too
    assert suite_root(inside.parent) == installed
    # --rootdir: node ids are testcases/... however the test cases are named
    assert suite_args(inside)[2:] == [
        "--rootdir",
        str(installed.parent),
        "--confcutdir",
        str(installed),
    ]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "test_x.py").write_text("", encoding="utf-8")
    assert suite_root(mine) == mine.resolve()
    assert suite_root(mine / "test_x.py") == mine.resolve()
