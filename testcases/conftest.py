"""Loads the fixture modules of the installed ``conformance.fixtures`` package.

This is the top conftest of the test cases: ``cpm-conformance run`` and ``pytest testcases/``
pass this folder (or a path inside it), so pytest loads it at start-up, which
``pytest_plugins`` requires. The ``requirement`` marker, the options and the verdicts come
from the ``conformance.plugin`` entry point.

Source tree and installed: the fixtures are always imported as ``conformance.fixtures``.
When the installed distribution lacks the ``package-dir`` mapping of ``fixtures/`` (an
editable install made before the folder existed), the sibling ``fixtures/`` folder is bound
to that name here, so the same names work in both layouts.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _bind_source_fixtures() -> None:
    try:
        import conformance.fixtures  # noqa: F401
    except ModuleNotFoundError:
        folder = Path(__file__).resolve().parent.parent / "fixtures"
        spec = importlib.util.spec_from_file_location(
            "conformance.fixtures", folder / "__init__.py",
            submodule_search_locations=[str(folder)],
        )
        if spec is None or spec.loader is None:
            raise
        module = importlib.util.module_from_spec(spec)
        sys.modules["conformance.fixtures"] = module
        spec.loader.exec_module(module)


_bind_source_fixtures()

pytest_plugins = [
    "conformance.fixtures.profile",
    "conformance.fixtures.upper_tester",
]
