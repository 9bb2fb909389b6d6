"""pytest plugin of the conformance suite (registered through the ``pytest11`` entry point).

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
    any other exception, in the test or in a fixture, is ``error``. Failed checks
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

import argparse
import dataclasses
import json
import os
import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from conformance.catalog.model import Requirement, Role, Strength
from conformance.catalog.profile import ProfileError, SutProfile, load_sut
from conformance.checks.verdict import (
    CheckFailed,
    CheckResult,
    Inconclusive,
    Verdict,
    VerdictRecorder,
    verdict_from_skip_reason,
    worst,
)
from conformance.errors import GuardTimeout, RemoteProtocolError, VerdictOutcome
from conformance.net.capture import Capture, CaptureRecord
from conformance.net.layout import LAYOUTS
from conformance.report.evidence import (
    MessageRecord,
    exchanges,
    raw_log,
    records_from_capture,
    write_evidence_files,
)
from conformance.report.model import TestCaseResult
from conformance.report.results import ResultsWriter

if TYPE_CHECKING:
    from conformance.catalog.loader import Catalog

__all__ = [
    "NA_ROLE_PREFIX",
    "SUT_ROLES_MARKER",
    "CaseInfo",
    "get_catalog",
    "get_faults",
    "get_layout",
    "get_profile",
    "get_store",
    "severity_for",
]

MARKER = "requirement"
#: a system flow's SUT roles: ``@pytest.mark.sut_roles("pf", "cf")``
SUT_ROLES_MARKER = "sut_roles"
NA_ROLE_PREFIX = "role not under test"
OPTIONAL_REASON = "optional; use --strict"
ENV_SUT = "CPM_SUT"
ENV_CATALOG = "CPM_CATALOG_DIR"

_SEVERITY = {
    Strength.SHALL: "critical",
    Strength.SHALL_NOT: "critical",
    Strength.FLOW_SHALL: "critical",
    Strength.SHOULD: "normal",
    Strength.SHOULD_NOT: "normal",
    Strength.MAY: "minor",
    Strength.FLOW_MAY: "minor",
}
_SEVERITY_ORDER = ("critical", "normal", "minor")


def severity_for(strengths: Iterable[Strength]) -> str:
    """Allure severity of a test case: that of its strongest requirement."""
    found = {_SEVERITY[s] for s in strengths}
    for sev in _SEVERITY_ORDER:
        if sev in found:
            return sev
    return "normal"


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """What the plugin knows about one conformance test case (stashed on the item)."""

    requirements: tuple[Requirement, ...]
    role: str
    #: requirement id -> reason it is n/a (PICS false, or optional without --strict)
    not_applicable: dict[str, str] = field(default_factory=dict)
    #: the reason the whole test case is n/a, or ""
    na_reason: str = ""

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.requirements)


@dataclass
class _State:
    catalog: Catalog | None = None
    profile: SutProfile | None = None
    #: the --pics overrides have been applied to ``profile``
    pics_applied: bool = False
    writer: ResultsWriter | None = None
    #: nodeid -> accumulated report data (controller side)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    #: the run capture (found among a test case's fixture values; one per process)
    capture: Capture | None = None


_STATE = pytest.StashKey[_State]()
_INFO = pytest.StashKey[CaseInfo]()
_RECORDER = pytest.StashKey[VerdictRecorder]()
_PHASES = pytest.StashKey[list[tuple[Verdict, str]]]()
#: (run capture, index of the test case's first record)
_MARK = pytest.StashKey[tuple[Capture | None, int]]()

#: pytest's skip outcome (public as ``pytest.skip.Exception``)
Skipped = pytest.skip.Exception


def as_pytest_outcome(exc: BaseException) -> BaseException:
    """A :class:`VerdictOutcome` (``inconc``/``n/a``, plain exceptions below this layer) as
    the pytest skip it stands for, with the same message and traceback, so that pytest
    counts it as a skip and never as a failure; any other exception as it is."""
    if isinstance(exc, VerdictOutcome):
        return Skipped(str(exc)).with_traceback(exc.__traceback__)
    return exc


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except VerdictOutcome as exc:
        raise as_pytest_outcome(exc) from None


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cpm-conformance", "OMA CPM conformance")
    group.addoption(
        "--sut", dest="cpm_sut", default=None, metavar="PROFILE|reference",
        help="SUT profile (TOML), or 'reference' for the embedded reference SUT"
             f" (default: ${ENV_SUT} or reference)",
    )
    group.addoption(
        "--cpm-strict", "--strict-requirements", dest="cpm_strict", action="store_true",
        default=False, help="also judge SHOULD and MAY requirements",
    )
    group.addoption(
        "--role", dest="cpm_roles", action="append", default=[],
        choices=[r.value for r in Role], help="select the test cases of a role (repeatable)",
    )
    group.addoption(
        "--clause", dest="cpm_clauses", action="append", default=[], metavar="SECTION",
        help="select test cases by section prefix, e.g. 8.3.2 (repeatable)",
    )
    group.addoption(
        "--requirement", dest="cpm_requirements", action="append", default=[], metavar="ID",
        help="select test cases that declare a requirement id (repeatable)",
    )
    group.addoption(
        "--pics", dest="cpm_pics", action="append", default=[], metavar="NAME=VALUE",
        help="override one PICS claim of the profile (repeatable), e.g. pf.media_path=false",
    )
    group.addoption(
        "--faults", dest="cpm_faults", default=None, metavar="NAME[,NAME...]",
        help="reference SUT faults to switch on (overrides the profile's sut.faults)",
    )
    group.addoption(
        "--store", dest="cpm_store", default=STORES[0], choices=STORES,
        help="the reference SUT's Message Store: its embedded Maildir (default) or a real"
             " Dovecot over IMAP started for the run",
    )
    group.addoption(
        "--layout", dest="cpm_layout", default=LAYOUTS[0], choices=LAYOUTS,
        help="how the tool reaches the SUT: direct (default), or kamailio (Kamailio as the"
             " SIP/IP core between the tool's core and the SUT)",
    )
    group.addoption(
        "--reference-process", dest="cpm_reference_process", default=REFERENCE_PROCESSES[0],
        choices=REFERENCE_PROCESSES,
        help="run the reference SUT in the test process (inprocess, the default) or as one"
             " subprocess per session (subprocess: `reference start --config`)",
    )
    group.addoption(
        "--cpm-report-dir", dest="cpm_report_dir", default=None, metavar="DIR",
        help="write DIR/results.jsonl as test cases end and DIR/results.json at the end",
    )
    group.addoption(
        "--catalog-dir", dest="cpm_catalog_dir", default=None, help=argparse.SUPPRESS,
    )
    group.addoption(
        "--cpm-collect-json", dest="cpm_collect_json", default=None, help=argparse.SUPPRESS,
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*ids, role=None): the catalogue requirement ids a test case checks",
    )
    config.addinivalue_line(
        "markers",
        f"{SUT_ROLES_MARKER}(*roles): a system flow that needs every one of these roles under "
        "test at once (n/a unless the SUT profile claims them all)",
    )
    state = _State()
    config.stash[_STATE] = state
    if config.getoption("cpm_sut", None):
        # An explicit profile is validated at once: a clear message, no traceback.
        try:
            state.profile = load_sut(config.getoption("cpm_sut"))
        except ProfileError as exc:
            raise pytest.UsageError(f"invalid SUT profile:\n{exc}") from None
    if not _is_worker(config):
        config.pluginmanager.register(_Controller(config), "cpm-conformance-controller")
    report_dir = config.getoption("cpm_report_dir", None)
    if report_dir and not _is_worker(config):
        sut = config.getoption("cpm_sut", None) or os.environ.get(ENV_SUT) or "reference"
        state.writer = ResultsWriter(report_dir, run={
            "sut": str(sut),
            "strict": bool(config.getoption("cpm_strict", False)),
            "selection": {
                "role": list(config.getoption("cpm_roles", []) or []),
                "clause": list(config.getoption("cpm_clauses", []) or []),
                "requirement": list(config.getoption("cpm_requirements", []) or []),
            },
            "start": time.time(),
        })


def get_profile(config: pytest.Config) -> SutProfile:
    """The run's SUT profile (loaded on first use; ``--sut``, ``$CPM_SUT`` or reference),
    with the ``--pics`` overrides applied."""
    state = config.stash[_STATE]
    if state.profile is None:
        spec = config.getoption("cpm_sut", None) or os.environ.get(ENV_SUT) or "reference"
        try:
            state.profile = load_sut(spec)
        except ProfileError as exc:
            raise pytest.UsageError(f"invalid SUT profile:\n{exc}") from None
    overrides = config.getoption("cpm_pics", None) or []
    if overrides and not state.pics_applied:
        state.profile = with_pics_overrides(state.profile, overrides)
        state.pics_applied = True
    return state.profile


def with_pics_overrides(profile: SutProfile, overrides: Iterable[str]) -> SutProfile:
    """``profile`` with ``NAME=VALUE`` PICS claims replaced (validated against the registry)."""
    from conformance.catalog.pics import PICS_OPTIONS

    pics = dict(profile.pics)
    for item in overrides:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        option = PICS_OPTIONS.get(name)
        if not sep or option is None:
            raise pytest.UsageError(f"--pics {item!r}: expected NAME=VALUE with a known PICS name")
        if option.kind == "bool":
            if text.lower() not in ("true", "false"):
                raise pytest.UsageError(f"--pics {item!r}: {name} takes true or false")
            pics[name] = text.lower() == "true"
        elif text in option.choices:
            pics[name] = text
        else:
            raise pytest.UsageError(
                f"--pics {item!r}: {name} takes one of {', '.join(option.choices)}"
            )
    return dataclasses.replace(profile, pics=MappingProxyType(pics))


def get_faults(config: pytest.Config) -> tuple[str, ...]:
    """The faults given with ``--faults`` (empty: use the profile's ``sut.faults``)."""
    text = config.getoption("cpm_faults", None) or ""
    return tuple(name.strip() for name in text.split(",") if name.strip())


#: where the reference SUT stores: its embedded Maildir, or a real Dovecot over IMAP
STORES = ("maildir", "dovecot")


def get_store(config: pytest.Config) -> str:
    """The ``--store`` of the reference SUT: ``maildir`` or ``dovecot``."""
    return str(config.getoption("cpm_store", None) or STORES[0])


#: where the reference SUT runs: in the test process, or as a subprocess per session
REFERENCE_PROCESSES = ("inprocess", "subprocess")


def get_reference_process(config: pytest.Config) -> str:
    """The ``--reference-process``: ``inprocess`` or ``subprocess``."""
    return str(config.getoption("cpm_reference_process", None) or REFERENCE_PROCESSES[0])


def get_layout(config: pytest.Config) -> str:
    """The ``--layout``: ``direct`` or ``kamailio``."""
    return str(config.getoption("cpm_layout", None) or LAYOUTS[0])


def get_catalog(config: pytest.Config) -> Catalog:
    """The requirement catalogue (loaded on first use; ``--catalog-dir`` for tests)."""
    state = config.stash[_STATE]
    if state.catalog is None:
        from conformance.catalog.loader import CatalogError, load_catalog

        data_dir = config.getoption("cpm_catalog_dir", None) or os.environ.get(ENV_CATALOG)
        try:
            state.catalog = load_catalog(Path(data_dir) if data_dir else None)
        except CatalogError as exc:
            raise pytest.UsageError(str(exc)) from None
    return state.catalog


# --------------------------------------------------------------------------- collection


def _marker_ids(item: pytest.Item) -> tuple[list[str], str | None]:
    ids: list[str] = []
    role: str | None = None
    for mark in item.iter_markers(MARKER):
        for arg in mark.args:
            if isinstance(arg, str):
                ids.append(arg)
            else:
                ids.extend(str(a) for a in arg)
        if mark.kwargs.get("role") and role is None:
            role = str(mark.kwargs["role"])
    seen: dict[str, None] = dict.fromkeys(ids)
    return list(seen), role


def _role_of(item: pytest.Item, explicit: str | None, reqs: tuple[Requirement, ...]) -> str:
    if explicit:
        return explicit
    values = {r.value for r in Role}
    for part in reversed(Path(str(item.path)).parent.parts):
        if part in values:
            return part
    return reqs[0].role.value if reqs else ""


def _section_matches(section: str, clause: str) -> bool:
    clause = clause.rstrip(".")
    return section == clause or section.startswith(clause + ".")


def _sut_roles(item: pytest.Item) -> tuple[str, ...]:
    """The roles of the ``sut_roles`` marker (a system flow), in order; () without one."""
    mark = item.get_closest_marker(SUT_ROLES_MARKER)
    if mark is None:
        return ()
    return tuple(dict.fromkeys(str(a) for a in mark.args))


def _applicability(
    reqs: tuple[Requirement, ...],
    role: str,
    profile: SutProfile,
    strict: bool,
    sut_roles: tuple[str, ...] = (),
) -> tuple[dict[str, str], str]:
    from conformance.catalog.pics import evaluate

    claimed = [r.value for r in profile.roles]
    missing = [r for r in sut_roles if r not in claimed]
    if missing:
        reason = (
            f"{NA_ROLE_PREFIX}: {', '.join(missing)} (the system flow needs the SUT roles "
            f"{', '.join(sut_roles)} at once; the SUT profile claims {', '.join(claimed)})"
        )
        return {r.id: reason for r in reqs}, reason
    if sut_roles:
        role = ""  # every role of the flow is under test
    if role and role not in {r.value for r in profile.roles}:
        roles = ", ".join(r.value for r in profile.roles)
        reason = f"{NA_ROLE_PREFIX}: {role} (the SUT profile claims {roles})"
        return {r.id: reason for r in reqs}, reason
    na: dict[str, str] = {}
    pics = profile.pics_for_evaluation()
    for r in reqs:
        if not evaluate(r.applicability, pics):
            na[r.id] = f"PICS: {r.applicability} is false"
        elif not strict and not r.strength.mandatory:
            na[r.id] = f"{r.strength.value}: {OPTIONAL_REASON}"
    if reqs and len(na) == len(reqs):
        if any(reason.startswith("PICS") for reason in na.values()):
            exprs = sorted({r.applicability for r in reqs if na[r.id].startswith("PICS")})
            return na, f"PICS rules out every requirement ({'; '.join(exprs)})"
        return na, OPTIONAL_REASON
    return na, ""


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    marked = [it for it in items if it.get_closest_marker(MARKER) is not None]
    if not marked:
        return
    catalog = get_catalog(config)
    unknown: list[str] = []
    for item in marked:
        ids, _ = _marker_ids(item)
        if not ids:
            unknown.append(f"{item.nodeid}: requirement marker without an id")
        for rid in ids:
            if rid not in catalog:
                try:
                    catalog.get(rid)
                except KeyError as exc:
                    unknown.append(f"{item.nodeid}: {exc.args[0] if exc.args else rid}")
    if unknown:
        raise pytest.UsageError(
            "requirement marker names ids missing from the catalogue:\n  "
            + "\n  ".join(unknown)
        )
    profile = get_profile(config)
    strict = bool(config.getoption("cpm_strict", False))
    roles = set(config.getoption("cpm_roles", []) or [])
    clauses = list(config.getoption("cpm_clauses", []) or [])
    wanted = set(config.getoption("cpm_requirements", []) or [])
    selecting = bool(roles or clauses or wanted)
    keep: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        if item.get_closest_marker(MARKER) is None:
            (deselected if selecting else keep).append(item)
            continue
        ids, explicit_role = _marker_ids(item)
        reqs = tuple(catalog.get(rid) for rid in ids)
        role = _role_of(item, explicit_role, reqs)
        flow_roles = _sut_roles(item)
        if selecting and not (
            (not roles or role in roles or bool(roles.intersection(flow_roles)))
            and (not clauses or any(_section_matches(r.section, c)
                                    for r in reqs for c in clauses))
            and (not wanted or any(r.id in wanted for r in reqs))
        ):
            deselected.append(item)
            continue
        keep.append(item)
        na, na_reason = _applicability(reqs, role, profile, strict, flow_roles)
        item.stash[_INFO] = CaseInfo(reqs, role, na, na_reason)
        _add_properties(item, reqs, role)
        if na_reason:
            item.add_marker(pytest.mark.skip(reason=f"n/a: {na_reason}"))
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    """``--cpm-collect-json PATH``: node id -> requirement ids (for ``coverage``)."""
    path = session.config.getoption("cpm_collect_json", None)
    if not path or _is_worker(session.config):
        return
    data = {it.nodeid: _marker_ids(it)[0] for it in session.items
            if it.get_closest_marker(MARKER) is not None}
    Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")


def _add_properties(item: pytest.Item, reqs: tuple[Requirement, ...], role: str) -> None:
    props: list[tuple[str, object]] = []
    for name, values in (
        ("document", [r.document.value for r in reqs]),
        ("section", [r.section for r in reqs]),
        ("requirement", [r.id for r in reqs]),
        ("strength", [r.strength.value for r in reqs]),
        ("links", [f"{r.seed}#{r.clause}" for r in reqs] + [x for r in reqs for x in r.references]),
    ):
        for v in dict.fromkeys(values):
            props.append((name, v))
    props.insert(3, ("role", role))
    item.user_properties.extend(props)


# --------------------------------------------------------------------------- running


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> VerdictRecorder:
    """The test case's verdict recorder (see :mod:`conformance.checks.check`)."""
    return _recorder_for(request.node)


def _recorder_for(item: pytest.Item) -> VerdictRecorder:
    rec = item.stash.get(_RECORDER, None)
    if rec is None:
        info = item.stash.get(_INFO, None)
        rec = VerdictRecorder(
            allowed=frozenset(info.ids) if info else frozenset(),
            not_applicable=dict(info.not_applicable) if info else {},
        )
        item.stash[_RECORDER] = rec
    return rec


# --------------------------------------------------------------------------- evidence


def _find_capture(item: pytest.Item) -> Capture | None:
    """The run capture among the test case's fixture values (``run_capture``, or the
    ``capture`` view of fixtures/network.py). A test case without network fixtures has
    none: the plugin never makes a test depend on them."""
    funcargs: dict[str, Any] = getattr(item, "funcargs", None) or {}
    for value in funcargs.values():
        if isinstance(value, Capture):
            return value
        inner = getattr(value, "capture", None)
        if isinstance(inner, Capture):
            return inner
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Marks the run capture where the test case starts (before its fixtures' traffic)."""
    state = item.config.stash[_STATE]
    known = state.capture
    item.stash[_MARK] = (known, len(known) if known is not None else 0)
    try:
        return (yield)
    except VerdictOutcome as exc:
        raise as_pytest_outcome(exc) from None
    finally:
        found = _find_capture(item)
        if found is not None and found is not known:
            # first sight of this capture: it was created during this test's set-up
            state.capture = found
            item.stash[_MARK] = (found, 0)


def _records_of(item: pytest.Item) -> tuple[Capture | None, list[CaptureRecord]]:
    capture, mark = item.stash.get(_MARK, (None, 0))
    if capture is None:
        return None, []
    return capture, capture.since(mark)


def _purpose(item: pytest.Item) -> str:
    import inspect

    obj = getattr(item, "obj", None)
    return (inspect.getdoc(obj) if obj is not None else None) or ""


def _allure_evidence(item: pytest.Item) -> None:
    """In Allure: a step per protocol exchange with its raw messages, the log, the pcap."""
    if not getattr(item.config.option, "allure_report_dir", None):
        return
    capture, records = _records_of(item)
    if capture is None or not records:
        return
    import allure

    from conformance.net.pcap import pcap_bytes

    api: Any = allure  # allure-python is untyped
    text = api.attachment_type.TEXT
    for title, recs in exchanges(records_from_capture(records)):
        with api.step(title):
            for m in recs:
                api.attach(m.text, name=f"#{m.index} {m.direction} {m.src} -> {m.dst}",
                           attachment_type=text)
    api.attach(raw_log(records), name="messages.log", attachment_type=text)
    api.attach(pcap_bytes(capture, records), name="capture.pcap", extension="pcap")


def _evidence_of(item: pytest.Item) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The test case's records for the results, and its evidence files when writing."""
    capture, records = _records_of(item)
    files: dict[str, str] = {}
    report_dir = item.config.getoption("cpm_report_dir", None)
    if report_dir and records and capture is not None:
        try:
            files = write_evidence_files(capture, records, Path(report_dir), item.nodeid)
        except OSError as exc:
            item.user_properties.append(("evidence_error", str(exc)[:300]))
    return [m.to_json() for m in records_from_capture(records)], files


def _allure_labels(item: pytest.Item, info: CaseInfo) -> None:
    if not getattr(item.config.option, "allure_report_dir", None):
        return
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    dynamic: Any = allure.dynamic  # allure-python is untyped
    for doc in dict.fromkeys(r.document.value for r in info.requirements):
        dynamic.epic(doc)
    for section in dict.fromkeys(r.section for r in info.requirements):
        dynamic.feature(section)
    for r in info.requirements:
        dynamic.story(r.id)
    if info.role:
        dynamic.parent_suite(info.role)
    dynamic.severity(severity_for(r.strength for r in info.requirements))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    info = item.stash.get(_INFO, None)
    if info is not None:
        _allure_labels(item, info)
    try:
        try:
            result = yield
        except VerdictOutcome as exc:
            raise as_pytest_outcome(exc) from None
    except CheckFailed:
        rec = item.stash.get(_RECORDER, None)
        if rec is not None and len(rec.failures()) > 1:
            raise CheckFailed(rec.failures()) from None
        raise
    except Skipped as exc:
        rec = item.stash.get(_RECORDER, None)
        if rec is not None and rec.failures():
            raise CheckFailed(rec.failures()) from exc
        raise
    rec = item.stash.get(_RECORDER, None)
    if rec is not None:
        if rec.failures():
            raise CheckFailed(rec.failures())
        inconc = [r for r in rec.results if r.verdict is Verdict.INCONC]
        if inconc:
            raise as_pytest_outcome(Inconclusive(
                "; ".join(f"{r.requirement}: {r.message or r.actual}" for r in inconc)
            ))
    return result


def _skip_reason(report: pytest.TestReport, exc: BaseException | None) -> str:
    if isinstance(exc, Skipped):
        return str(exc.msg or "")
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2])
    return str(lr or "")


def _failure_verdict(exc: BaseException | None) -> Verdict:
    if isinstance(exc, (AssertionError, RemoteProtocolError, pytest.fail.Exception)):
        return Verdict.FAIL
    if isinstance(exc, GuardTimeout):
        # A bounded wait ran out: the SUT never reached the state the case needed. Where the
        # awaited message *is* the requirement, the case records a fail check instead.
        return Verdict.INCONC
    return Verdict.ERROR


def _first_line(report: pytest.TestReport, exc: BaseException | None) -> str:
    if exc is not None:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, CheckFailed):
            ids = ", ".join(dict.fromkeys(r.requirement for r in exc.results))
            text = f"check failed: {ids}"
        return text.splitlines()[0][:300] if text else ""
    crash = getattr(report.longrepr, "reprcrash", None)
    return str(getattr(crash, "message", "") or "")[:300]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        try:
            _allure_evidence(item)
        except Exception as err:  # evidence never changes a verdict
            item.user_properties.append(("evidence_error", repr(err)[:300]))
    info = item.stash.get(_INFO, None)
    if (info is None and item.stash.get(_RECORDER, None) is None
            and not item.config.getoption("cpm_report_dir", None)):
        return report  # not a conformance test case, and no results file: stay inert
    exc = call.excinfo.value if call.excinfo is not None else None
    phases = item.stash.setdefault(_PHASES, [])
    verdict: Verdict | None = None
    reason = ""
    if report.skipped:
        verdict, reason = verdict_from_skip_reason(_skip_reason(report, exc))
    elif report.failed:
        if report.when == "call":
            verdict = _failure_verdict(exc)
        else:
            verdict = Verdict.ERROR
            reason = f"{report.when}: "
        reason += _first_line(report, exc)
        if isinstance(exc, CheckFailed):
            report.longrepr = str(exc)
    elif report.when == "call":
        verdict = Verdict.PASS
    if verdict is not None:
        phases.append((verdict, reason))
    report_any: Any = report
    report_any.cpm_phase_verdict = verdict.value if verdict is not None else None
    report_any.cpm_reason = reason
    if report.when == "teardown":
        rec = item.stash.get(_RECORDER, None)
        checks = list(rec.results) if rec is not None else []
        final = worst([v for v, _ in phases] + [c.verdict for c in checks])
        if not phases and not checks:
            final = Verdict.ERROR
        # a test case passing with only n/a checks is n/a; one without checks is pass
        if final is Verdict.PASS and checks and all(c.verdict is Verdict.NA for c in checks):
            final = Verdict.NA
        reasons = [r for v, r in phases if r and v is final] or [r for _, r in phases if r]
        report_any.cpm_verdict = final.value
        report_any.cpm_final_reason = reasons[0] if reasons else ""
        report_any.cpm_checks = [c.to_json() for c in checks]
        report_any.cpm_requirements = list(info.ids) if info else []
        report_any.cpm_role = info.role if info else ""
        report_any.cpm_purpose = _purpose(item)
        report_any.cpm_evidence, report_any.cpm_files = _evidence_of(item)
        report.user_properties.append(("verdict", final.value))
    return report


# --------------------------------------------------------------------------- results (controller)


class _Controller:
    """Controller-side results: registered only where the results file is written."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[_STATE]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self.state
        entry = state.pending.setdefault(
            report.nodeid, {"duration": 0.0, "start": 0.0, "details": []}
        )
        entry["duration"] += float(getattr(report, "duration", 0.0) or 0.0)
        start = float(getattr(report, "start", 0.0) or 0.0)
        if start and (not entry["start"] or start < entry["start"]):
            entry["start"] = start
        if report.failed and report.longrepr is not None:
            entry["details"].append(f"[{report.when}] {report.longreprtext}"[:20000])
        if report.when != "teardown":
            return
        state.pending.pop(report.nodeid, None)
        verdict_text = getattr(report, "cpm_verdict", None)
        if verdict_text is None:
            return
        verdict = Verdict.parse(str(verdict_text))
        state.counts[verdict.value] = state.counts.get(verdict.value, 0) + 1
        if state.writer is None:
            return
        checks = getattr(report, "cpm_checks", []) or []
        state.writer.append(TestCaseResult(
            nodeid=report.nodeid,
            verdict=verdict,
            requirements=tuple(getattr(report, "cpm_requirements", []) or []),
            duration=entry["duration"],
            checks=tuple(CheckResult.from_json(c) for c in checks),
            reason=str(getattr(report, "cpm_final_reason", "") or ""),
            role=str(getattr(report, "cpm_role", "") or ""),
            start=entry["start"],
            stop=float(getattr(report, "stop", 0.0) or 0.0),
            details="\n".join(entry["details"]),
            purpose=str(getattr(report, "cpm_purpose", "") or ""),
            evidence=tuple(MessageRecord.from_json(m)
                           for m in getattr(report, "cpm_evidence", []) or []),
            files=dict(getattr(report, "cpm_files", {}) or {}),
        ))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = self.state
        if state.writer is None:
            return
        tcs = state.writer.results.test_cases
        ids = {rid for tc in tcs for rid in tc.requirements}
        ids |= {c.requirement for tc in tcs for c in tc.checks}
        info: dict[str, dict[str, str]] = {}
        if ids:
            try:
                catalog: Catalog | None = get_catalog(self.config)
            except (pytest.UsageError, ImportError):
                catalog = None
            if catalog is not None:
                for rid in ids:
                    if rid in catalog:
                        r = catalog.get(rid)
                        info[rid] = {
                            "document": r.document.value, "section": r.section,
                            "strength": r.strength.value, "role": r.role.value,
                            "title": r.title,
                        }
        update: dict[str, Any] = {"stop": time.time(), "pytest_exit_status": int(exitstatus)}
        profile = state.profile
        if profile is not None:
            update["profile"] = {"name": profile.name, "path": profile.path,
                                 "target": profile.target.value,
                                 "roles": [r.value for r in profile.roles],
                                 "pics": {k: v if isinstance(v, (bool, int, float)) else str(v)
                                          for k, v in profile.pics.items()}}
        from conformance import __version__

        update["version"] = __version__
        state.writer.finish(update, info)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or not state.counts or _is_worker(config):
        return
    counts = ", ".join(f"{v.value}={state.counts.get(v.value, 0)}" for v in Verdict)
    terminalreporter.write_sep("-", "cpm-conformance verdicts")
    terminalreporter.write_line(counts)
    if state.writer is not None:
        terminalreporter.write_line(f"results: {state.writer.results_path}")
