"""Loads the fixture modules of the ``conformance.fixtures`` package.

This is the top conftest of the test cases: ``cpm-conformance run`` and ``pytest testcases/``
pass this folder (or a path inside it), so pytest loads it at start-up, which
``pytest_plugins`` requires. The ``requirement`` marker, the options and the verdicts come
from the ``conformance.plugin`` entry point. In a source checkout the editable install maps
``fixtures/`` to ``conformance.fixtures``; in a wheel it is installed under that name.
"""

pytest_plugins = [
    "conformance.fixtures.profile",
    "conformance.fixtures.upper_tester",
]
