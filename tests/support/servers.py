"""Finding the external servers and binaries the integration tests need.

Locally a missing server skips the test. Under CI (``CI=true``) or with
``CPM_REQUIRE_SERVERS=1`` it fails it: a CI run must never pass by skipping.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

#: names that are Python modules rather than programs on PATH
PYTHON_MODULES = frozenset({"pjsua2"})


def servers_required() -> bool:
    """True when a missing server must fail the test instead of skipping it."""
    return (
        os.environ.get("CI", "").strip().lower() == "true"
        or os.environ.get("CPM_REQUIRE_SERVERS", "").strip() == "1"
    )


def is_available(name: str) -> bool:
    if name in PYTHON_MODULES:
        return importlib.util.find_spec(name) is not None
    return shutil.which(name) is not None


def missing(reason: str) -> None:
    """Skip locally, fail under CI. Never returns."""
    if servers_required():
        pytest.fail(f"{reason} (required: CI=true or CPM_REQUIRE_SERVERS=1)", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str) -> str:
    """The path of program ``name`` (or the module name for Python peers).

    Skips the test when it is missing, or fails it under CI.
    """
    if name in PYTHON_MODULES:
        if importlib.util.find_spec(name) is None:
            missing(f"Python module {name!r} is not installed")
        return name
    path = shutil.which(name)
    if path is None:
        missing(f"{name!r} is not on PATH")
        raise AssertionError("unreachable")  # pragma: no cover - missing() never returns
    return path
