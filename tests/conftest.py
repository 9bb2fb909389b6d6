"""Project-test switches.

``@pytest.mark.needs_server("tshark", ...)`` names the servers a test needs. A missing one
skips the test locally; with ``CI=true`` or ``CPM_REQUIRE_SERVERS=1`` it fails it, and so
does any other skip raised inside such a test.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator
from pathlib import Path

import pytest

# ``tests.support`` must import the same way under ``pytest`` and ``python -m pytest``.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# ``cpm-conformance run`` without -n runs as many workers as the user pool allows
# (docs/parallel.md); the project's tests that start runs are already spread over
# pytest-xdist workers, so their runs are serial unless a test asks for -n
os.environ.setdefault("CPM_WORKERS", "0")

from tests.support.servers import require_binary as _require_binary  # noqa: E402
from tests.support.servers import servers_required  # noqa: E402

try:
    from hypothesis import settings
except ImportError:  # pragma: no cover - hypothesis comes with the dev extras
    pass
else:
    # Property tests judge behaviour, never speed: no per-example deadline (a timed
    # assertion on a shared 2-core machine is a flake). Under CI the examples are
    # derandomized, so a red run is reproducible with the same command.
    settings.register_profile("project", deadline=None)
    settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
    settings.load_profile("ci" if servers_required() else "project")


@pytest.fixture
def require_binary() -> Callable[[str], str]:
    """``require_binary("tshark")`` returns the path, or skips (fails under CI)."""
    return _require_binary


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs_server"):
        for name in marker.args:
            _require_binary(str(name))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    expected_failure = hasattr(report, "wasxfail")  # an xfail is a verdict, not a missing server
    if (
        report.skipped
        and not expected_failure
        and servers_required()
        and item.get_closest_marker("needs_server")
    ):
        report.outcome = "failed"
        report.longrepr = f"needs_server test skipped under CI: {report.longrepr}"
    return report
