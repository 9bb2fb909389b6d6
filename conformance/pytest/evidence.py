"""Evidence and Allure: the run capture's records of each test case (results, evidence
files, Allure steps and attachments) and the Allure labels."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog.model import Strength
from conformance.net.capture import Capture, CaptureRecord
from conformance.pytest.config import STATE
from conformance.pytest.selection import INFO, CaseInfo
from conformance.pytest.verdicts import is_judged
from conformance.report.evidence import (
    exchanges,
    raw_log,
    records_from_capture,
    write_evidence_files,
)

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


_MARK = pytest.StashKey[tuple[Capture | None, int]]()


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
    state = item.config.stash[STATE]
    known = state.capture
    item.stash[_MARK] = (known, len(known) if known is not None else 0)
    try:
        return (yield)
    finally:
        found = _find_capture(item)
        if found is not None and found is not known:
            # first sight of this capture: it was created during this test's set-up
            state.capture = found
            item.stash[_MARK] = (found, 0)


def records_of(item: pytest.Item) -> tuple[Capture | None, list[CaptureRecord]]:
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
    capture, records = records_of(item)
    if capture is None or not records:
        return
    import allure

    from conformance.net.pcap import pcap_bytes

    api: Any = allure  # allure-python is untyped
    text = api.attachment_type.TEXT
    for title, recs in exchanges(records_from_capture(records)):
        with api.step(title):
            for m in recs:
                api.attach(
                    m.text,
                    name=f"#{m.index} {m.direction} {m.src} -> {m.dst}",
                    attachment_type=text,
                )
    api.attach(raw_log(records), name="messages.log", attachment_type=text)
    api.attach(pcap_bytes(capture, records), name="capture.pcap", extension="pcap")


def _evidence_of(item: pytest.Item) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The test case's records for the results, and its evidence files when writing."""
    capture, records = records_of(item)
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
    """The Allure labels of a conformance test case, before it runs."""
    info = item.stash.get(INFO, None)
    if info is not None:
        _allure_labels(item, info)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """The evidence of the test case: in Allure after its call, on the teardown report for
    the results (purpose, records, evidence files)."""
    report = yield
    if report.when == "call":
        try:
            _allure_evidence(item)
        except Exception as err:  # evidence never changes a verdict
            item.user_properties.append(("evidence_error", repr(err)[:300]))
    if report.when == "teardown" and is_judged(item):
        report_any: Any = report
        report_any.cpm_purpose = _purpose(item)
        records, report_any.cpm_files = _evidence_of(item)
        # one JSON text (conformance.pytest.verdicts.report_json_list)
        report_any.cpm_evidence = json.dumps(records)
    return report
