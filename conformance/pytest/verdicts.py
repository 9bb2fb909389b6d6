"""Verdict mapping: the ``recorder`` fixture, and how a test case's checks and the way each
phase ended become its verdict (inconc and n/a outcomes become pytest skips)."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import pytest

from conformance.checks.verdict import (
    CheckFailed,
    Inconclusive,
    Verdict,
    VerdictRecorder,
    verdict_from_skip_reason,
    worst,
)
from conformance.errors import GuardTimeout, RemoteProtocolError, VerdictOutcome
from conformance.pytest.selection import CASE_USERS, INFO

RECORDER = pytest.StashKey[VerdictRecorder]()
_PHASES = pytest.StashKey[list[tuple[Verdict, str]]]()

#: pytest's skip outcome
Skipped = pytest.skip.Exception


def as_pytest_outcome(exc: BaseException) -> BaseException:
    """A :class:`VerdictOutcome` (``inconc``/``n/a``, plain exceptions below this layer) as
    the pytest skip it stands for, with the same message and traceback, so that pytest
    counts it as a skip and never as a failure; any other exception as it is."""
    if isinstance(exc, VerdictOutcome):
        return Skipped(str(exc)).with_traceback(exc.__traceback__)
    return exc


def is_judged(item: pytest.Item) -> bool:
    """A conformance test case (a ``requirement`` marker or a recorder), or any test when a
    results file is written; the plugin leaves every other test alone."""
    return (
        item.stash.get(INFO, None) is not None
        or item.stash.get(RECORDER, None) is not None
        or bool(item.config.getoption("cpm_report_dir", None))
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except VerdictOutcome as exc:
        raise as_pytest_outcome(exc) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except VerdictOutcome as exc:
        raise as_pytest_outcome(exc) from None


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> VerdictRecorder:
    """The test case's verdict recorder (see :mod:`conformance.checks.check`)."""
    return _recorder_for(request.node)


def _recorder_for(item: pytest.Item) -> VerdictRecorder:
    rec = item.stash.get(RECORDER, None)
    if rec is None:
        info = item.stash.get(INFO, None)
        rec = VerdictRecorder(
            allowed=frozenset(info.ids) if info else frozenset(),
            not_applicable=dict(info.not_applicable) if info else {},
        )
        item.stash[RECORDER] = rec
    return rec


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    try:
        try:
            result = yield
        except VerdictOutcome as exc:
            raise as_pytest_outcome(exc) from None
    except CheckFailed:
        rec = item.stash.get(RECORDER, None)
        if rec is not None and len(rec.failures()) > 1:
            raise CheckFailed(rec.failures()) from None
        raise
    except Skipped as exc:
        rec = item.stash.get(RECORDER, None)
        if rec is not None and rec.failures():
            raise CheckFailed(rec.failures()) from exc
        raise
    rec = item.stash.get(RECORDER, None)
    if rec is not None:
        if rec.failures():
            raise CheckFailed(rec.failures())
        inconc = [r for r in rec.results if r.verdict is Verdict.INCONC]
        if inconc:
            raise as_pytest_outcome(
                Inconclusive("; ".join(f"{r.requirement}: {r.message or r.actual}" for r in inconc))
            )
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
    if not is_judged(item):
        return report  # not a conformance test case, and no results file: stay inert
    info = item.stash.get(INFO, None)
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
        rec = item.stash.get(RECORDER, None)
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
        report_any.cpm_checks = json.dumps([c.to_json() for c in checks])
        report_any.cpm_requirements = list(info.ids) if info else []
        report_any.cpm_role = info.role if info else ""
        users: tuple[str, ...] = item.stash.get(CASE_USERS, ())
        report_any.cpm_users = list(users)
        workerinput = getattr(item.config, "workerinput", None)
        report_any.cpm_worker = (
            str(workerinput.get("workerid", "")) if isinstance(workerinput, dict) else ""
        )
        report.user_properties.append(("verdict", final.value))
    return report


def report_json_list(report: object, name: str) -> list[dict[str, Any]]:
    """A list the teardown report carries as one JSON text (``cpm_checks``: each check's
    :meth:`CheckResult.to_json`; ``cpm_evidence``: each record's
    :meth:`MessageRecord.to_json`).

    One string per report: pytest-xdist's serializer, written in Python, spent about a
    second of a parallel run's CPU, in the workers and again in the controller, on the
    many small objects of the evidence records and excerpts."""
    text = getattr(report, name, "") or ""
    data = json.loads(text) if isinstance(text, str) else text
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
