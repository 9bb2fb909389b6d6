"""pytest plugin of the conformance suite (registered through the pytest11 entry point)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): the catalogue requirement ids a test case checks"
    )
