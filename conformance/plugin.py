"""pytest plugin of the conformance suite (registered through the ``pytest11`` entry point).

This module is the entry point; the plugin itself is the package :mod:`conformance.pytest`,
one module per concern, each registered as a pytest plugin from here:
:mod:`~conformance.pytest.options`, :mod:`~conformance.pytest.config`,
:mod:`~conformance.pytest.selection`, :mod:`~conformance.pytest.verdicts`,
:mod:`~conformance.pytest.evidence` and :mod:`~conformance.pytest.controller`. The names
the fixtures and the CLI use are re-exported here.

It translates pytest into the suite's vocabulary; a test case without a ``requirement``
marker is left alone, so the plugin is inert for the project's own tests.

Marker
    ``@pytest.mark.requirement("PF-8.3.2-3", "PF-8.3.2-4", role="pf")``: the catalogue ids a
    test case checks. An unknown id fails the collection (usage error naming the test case
    and the id). ``role=`` is optional: by default the ``testcases/<document>/<role>/``
    folder, else the first requirement's primary role.

Options
    ``--sut PROFILE|reference`` (default ``reference``, or ``$CPM_SUT``);
    ``--cpm-strict`` / ``--strict-requirements``: also judge SHOULD/MAY requirements
    (without it, a test case whose requirements are all optional is ``n/a``: "optional; use
    --strict", and checks against optional requirements record ``n/a``);
    ``--role pf|cf|client``, ``--clause 8.3.2`` (prefix on the section: 8.3.2 selects
    8.3.2 and 8.3.2.9), ``--requirement ID``: selection (repeatable; deselected test cases
    are not part of the results);
    ``--layout direct|kamailio``: the tool's core talks to the SUT directly (default), or
    through Kamailio as the SIP/IP core (docs/dev/topology.md);
    ``--cpm-report-dir DIR``: write DIR/results.jsonl as each test case ends and
    DIR/results.json at the end (controller process only, never an xdist worker), and
    each test case's evidence files DIR/evidence/<safe nodeid>.log and .pcap;
    ``--catalog-dir DIR`` (hidden, or ``$CPM_CATALOG_DIR``): another requirement catalogue.

Applicability
    A test case is ``n/a`` (a skip whose reason starts with ``"n/a: "``, visible in the
    results, never a silent deselection) when its role is not under test, when the PICS
    rules out every requirement it declares, or when they are all optional and --strict is
    off.

Verdicts
    The ``recorder`` fixture is the test case's :class:`VerdictRecorder`. The test-case
    verdict is the worst of its checks and of how it ended: a failed check, an
    ``AssertionError``, ``pytest.fail`` or a ``RemoteProtocolError`` is ``fail``; an
    :class:`Inconclusive` (or any other skip), or a bounded wait that ran out (the SUT never
    reached the state the case needs), is ``inconc``; a :class:`NotApplicable` is ``n/a``;
    any other exception, in the test or in a fixture, is ``error``. Below the plugin,
    inconc and n/a are plain exceptions (:mod:`conformance.errors`); the plugin turns them
    into pytest skips, and every bounded wait's timeout derives from ``GuardTimeout``. Failed checks
    fail the test case at its end, printing requirement / expected / actual / evidence.

Metadata
    Each test case carries ``item.user_properties`` (document, section, requirement, role,
    strength, links, and at the end the verdict): they survive pytest-xdist and become JUnit
    properties. With allure-pytest active (``--alluredir``), the labels are epic=document,
    feature=section, story=requirement, parentSuite=role and severity from the strength
    (SHALL: critical, SHOULD: normal, MAY: minor).

Evidence
    A test case that uses the network fixtures (``run_capture`` or its ``capture`` view)
    has its records found among its fixture values: the records from the start of its
    set-up to the end of its teardown go into the results (text capped, see
    :mod:`conformance.report.evidence`), into DIR/evidence/, and into Allure (a step per
    protocol exchange with the raw messages attached, the log and the pcap).
"""

from __future__ import annotations

import pytest

from conformance.pytest.config import (
    get_catalog,
    get_faults,
    get_layout,
    get_profile,
    get_reference_process,
    get_store,
    init_state,
    with_pics_overrides,
)
from conformance.pytest.controller import configure_results
from conformance.pytest.evidence import severity_for
from conformance.pytest.options import ENV_CATALOG, ENV_SUT, REFERENCE_PROCESSES, STORES
from conformance.pytest.selection import (
    MARKER,
    NA_ROLE_PREFIX,
    OPTIONAL_REASON,
    SUT_ROLES_MARKER,
    CaseInfo,
    register_markers,
)
from conformance.pytest.verdicts import as_pytest_outcome

__all__ = [
    "ENV_CATALOG",
    "ENV_SUT",
    "MARKER",
    "NA_ROLE_PREFIX",
    "OPTIONAL_REASON",
    "REFERENCE_PROCESSES",
    "STORES",
    "SUT_ROLES_MARKER",
    "CaseInfo",
    "as_pytest_outcome",
    "get_catalog",
    "get_faults",
    "get_layout",
    "get_profile",
    "get_reference_process",
    "get_store",
    "severity_for",
    "with_pics_overrides",
]

#: the plugin's modules (hooks and the ``recorder`` fixture); pytest registers each one
pytest_plugins = [
    "conformance.pytest.options",
    "conformance.pytest.selection",
    "conformance.pytest.verdicts",
    "conformance.pytest.evidence",
    "conformance.pytest.controller",
    "conformance.pytest.pool",
    "conformance.pytest.liveness",
    "conformance.pytest.terminal",
]


#: an interrupt (Ctrl-C, SIGTERM) lands wherever the interpreter is; when that is an object's
#: __del__, Python reports it as an "unraisable" exception, which pytest turns into a
#: warning with a traceback. It says nothing about the run: the interrupt itself is handled.
INTERRUPT_IN_DEL = (
    r"ignore:(?s)Exception ignored in.*KeyboardInterrupt:pytest.PytestUnraisableExceptionWarning"
)


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)
    config.addinivalue_line("filterwarnings", INTERRUPT_IN_DEL)
    configure_results(config, init_state(config))
