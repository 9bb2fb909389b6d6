"""Loads pytest's ``pytester`` plugin for the plugin tests.

``pytest_plugins = ["pytester"]`` would be the usual spelling, but pytest refuses
``pytest_plugins`` in a conftest below the top one when the whole ``tests/`` tree is run,
so the plugin is imported here when this folder's conftest is configured (its options get
their defaults then).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
