"""Loads the fixture modules of the ``conformance.fixtures`` package.

This is the top conftest of the test cases: ``cpm-conformance run`` and ``pytest testcases/``
pass this folder (or a path inside it), so pytest loads it at start-up, which
``pytest_plugins`` requires. The ``requirement`` marker, the options and the verdicts come
from the ``conformance.plugin`` entry point. In a source checkout the editable install maps
``fixtures/`` to ``conformance.fixtures``; in a wheel it is installed under that name.
"""

import inspect

import pytest

pytest_plugins = [
    "conformance.fixtures.profile",
    "conformance.fixtures.upper_tester",
    "conformance.fixtures.network",
    "conformance.fixtures.reference",
    "conformance.fixtures.pjsip",
    "conformance.fixtures.case",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every coroutine test case runs on the session loop, with the tool's roles and an
    in-process reference SUT, whatever ini options pytest was started with."""
    for item in items:
        function = getattr(item, "function", None)
        if inspect.iscoroutinefunction(function) and item.get_closest_marker("asyncio") is None:
            item.add_marker(pytest.mark.asyncio(loop_scope="session"))
