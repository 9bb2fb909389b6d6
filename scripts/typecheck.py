"""mypy --strict over every package the wheel installs, under the names it installs them as.

The test cases and fixtures are imported as ``conformance.testcases`` and
``conformance.fixtures`` (pyproject.toml ``package-dir``), but they live in ``testcases/``
and ``fixtures/``, beside ``conformance/``. mypy finds modules by folder, and an editable
install maps those names with an import hook mypy does not run. So this script builds the
tree the wheel would have, out of symlinks (``build/typecheck/conformance/`` with
``testcases`` and ``fixtures`` inside), runs mypy there on ``[tool.mypy] packages`` and
prints each error with the path of the source file it is in.

Usage: ``python scripts/typecheck.py [mypy options]`` (``--strict`` is in the config).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIEW = ROOT / "build" / "typecheck"


def package_dirs() -> dict[str, Path]:
    """``package-dir`` of pyproject.toml: installed package name -> source folder."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = data["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in mapping.items()}


def build_view() -> dict[Path, Path]:
    """The installed layout as symlinks; returns view folder -> source folder (longest
    first), to map mypy's paths back."""
    dirs = package_dirs()
    if VIEW.exists():
        shutil.rmtree(VIEW / "conformance", ignore_errors=True)
    VIEW.mkdir(parents=True, exist_ok=True)
    back: dict[Path, Path] = {}
    for name in sorted(dirs, key=lambda n: n.count(".")):
        target = VIEW.joinpath(*name.split("."))
        source = dirs[name]
        if "." not in name:
            # a top package: a real folder of links, so that nested packages can join it
            target.mkdir(parents=True)
            for entry in source.iterdir():
                if entry.name not in {"__pycache__"}:
                    (target / entry.name).symlink_to(entry)
        else:
            target.symlink_to(source, target_is_directory=True)
        back[target.relative_to(VIEW)] = source.relative_to(ROOT)
    return dict(sorted(back.items(), key=lambda kv: -len(kv[0].parts)))


def source_path(line: str, back: dict[Path, Path]) -> str:
    """``conformance/testcases/x.py:3: error`` -> ``testcases/x.py:3: error``."""
    for view, source in back.items():
        prefix = f"{view.as_posix()}/"
        if line.startswith(prefix):
            return f"{source.as_posix()}/{line[len(prefix) :]}"
    return line


def main(argv: list[str]) -> int:
    back = build_view()
    command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *argv]
    env = dict(os.environ, MYPY_FORCE_COLOR="0")
    proc = subprocess.run(command, cwd=VIEW, env=env, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        print(source_path(line, back))
    sys.stderr.write(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
