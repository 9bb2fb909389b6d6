"""The results controller (controller process only, never an xdist worker): results.jsonl as
each test case ends and results.json at the end; the terminal output is
:mod:`conformance.pytest.terminal`'s."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import types
from typing import TYPE_CHECKING, Any

import pytest

from conformance import __version__
from conformance.checks.verdict import CheckResult, Verdict
from conformance.pytest.config import (
    STATE,
    State,
    get_catalog,
    get_faults,
    get_layout,
    get_profile,
    get_reference_process,
    get_store,
)
from conformance.pytest.options import ENV_COMMAND, ENV_SUT, is_worker
from conformance.pytest.pool import dispatcher_misses
from conformance.pytest.verdicts import report_json_list
from conformance.report.evidence import MessageRecord
from conformance.report.merge import catalogue_digest
from conformance.report.model import TestCaseResult
from conformance.report.results import ResultsWriter

if TYPE_CHECKING:
    from conformance.catalog.loader import Catalog


def _terminate_as_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"{signal.Signals(signum).name}")


def _printable_traceback(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """The interrupt's traceback with a line number in every entry, before pytest's
    terminal formats it.

    Interrupted in an instruction CPython 3.11 maps to no line, an entry's ``tb_lineno``
    is None, and pytest's formatting of the KeyboardInterrupt then failed with an
    INTERNALERROR traceback (seen on SIGTERM and on SIGINT, now and then)."""
    tb: types.TracebackType | None = excinfo.tb
    entries: list[types.TracebackType] = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    if all(isinstance(e.tb_lineno, int) for e in entries):
        return
    rebuilt: types.TracebackType | None = None
    for entry in reversed(entries):
        lineno, lasti = entry.tb_lineno, entry.tb_lasti
        if not isinstance(lineno, int):
            # the frame's line, and no instruction offset (no column position to look up)
            lineno = entry.tb_frame.f_lineno or entry.tb_frame.f_code.co_firstlineno
            lasti = -1
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, lasti, lineno)
    assert rebuilt is not None
    excinfo.value.with_traceback(rebuilt)
    # the traceback pytest formats (its own wrapper class, built from the rebuilt chain)
    excinfo.traceback = type(excinfo.traceback)(rebuilt)


def configure_results(config: pytest.Config, state: State) -> None:
    """On the controller: the results controller, and the results writer with
    ``--cpm-report-dir``. SIGTERM (what a CI timeout sends) stops the run the way Ctrl-C
    does: the test case in progress stops, every fixture stops what it started, and the
    results are written, marked incomplete."""
    if not is_worker(config):
        config.pluginmanager.register(Controller(config), "cpm-conformance-controller")
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    report_dir = config.getoption("cpm_report_dir", None)
    if report_dir and not is_worker(config):
        sut = config.getoption("cpm_sut", None) or os.environ.get(ENV_SUT) or "reference"
        state.writer = ResultsWriter(
            report_dir,
            run={
                "sut": str(sut),
                "strict": bool(config.getoption("cpm_strict", False)),
                "selection": {
                    "role": list(config.getoption("cpm_roles", []) or []),
                    "clause": list(config.getoption("cpm_clauses", []) or []),
                    "requirement": list(config.getoption("cpm_requirements", []) or []),
                },
                # what makes this run differ from a plain run against the profile: a run with
                # faults switched on must never read like a real SUT failing
                "faults": list(get_faults(config)),
                "layout": get_layout(config),
                "store": get_store(config),
                "reference_process": get_reference_process(config),
                "command": os.environ.get(ENV_COMMAND) or " ".join(config.invocation_params.args),
                "version": __version__,
                "start": time.time(),
                **shard_facts(config),
            },
        )


def shard_facts(config: pytest.Config) -> dict[str, Any]:
    """The run section's ``shard`` ("K/N") and ``durations_from`` (when given) of a sharded
    run, nothing otherwise, so that a merge can say which shard ran each test case."""
    shard = config.getoption("cpm_shard", None)
    if not shard:
        return {}
    durations = config.getoption("cpm_durations", None)
    return {"shard": str(shard), **({"durations_from": str(durations)} if durations else {})}


class Controller:
    """Controller-side results: registered only where the results file is written."""

    #: the run was stopped by Ctrl-C or SIGTERM (not a collection error, which pytest
    #: reports with the same exit status)
    interrupted = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest stops a session it cannot run (collection errors, -x) by raising its own
        # Interrupted, a KeyboardInterrupt too: that is no interrupt of the run
        self.interrupted = not isinstance(excinfo.value, pytest.Session.Interrupted)
        _printable_traceback(excinfo)

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[STATE]

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
        checks = report_json_list(report, "cpm_checks")
        state.writer.append(
            TestCaseResult(
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
                evidence=tuple(
                    MessageRecord.from_json(m) for m in report_json_list(report, "cpm_evidence")
                ),
                files=dict(getattr(report, "cpm_files", {}) or {}),
                shard=str(self.config.getoption("cpm_shard", None) or ""),
                worker=str(getattr(report, "cpm_worker", "") or ""),
                users=tuple(str(u) for u in getattr(report, "cpm_users", []) or []),
            )
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = self.state
        if state.writer is None:
            return
        tcs = state.writer.results.test_cases
        ids = {rid for tc in tcs for rid in tc.requirements}
        ids |= {c.requirement for tc in tcs for c in tc.checks}
        info: dict[str, dict[str, str]] = {}
        update: dict[str, Any] = {"stop": time.time(), "pytest_exit_status": int(exitstatus)}
        if ids:
            try:
                catalog: Catalog | None = get_catalog(self.config)
            except (pytest.UsageError, ImportError):
                catalog = None
            if catalog is not None:
                update["catalogue"] = catalogue_digest(catalog.to_json_list())
                for rid in ids:
                    if rid in catalog:
                        r = catalog.get(rid)
                        info[rid] = {
                            "document": r.document.value,
                            "section": r.section,
                            "strength": r.strength.value,
                            "role": r.role.value,
                            "title": r.title,
                        }
        if self.interrupted:
            update["incomplete"] = True  # what finished is kept; the run is not whole
        misses = dispatcher_misses(self.config)
        if misses is not None:
            update["dispatcher_unroutable"] = misses
        profile = state.profile
        if profile is not None and not state.pics_applied:
            # an xdist controller never collects: the --pics overrides are applied here, so
            # that the recorded PICS are those the workers judged with (merge compares them)
            with contextlib.suppress(pytest.UsageError):
                profile = get_profile(self.config)
        if profile is not None and profile.faults and not state.writer.results.run.get("faults"):
            update["faults"] = list(profile.faults)  # the profile's own, when none were given
        if profile is not None:
            update["profile"] = {
                "name": profile.name,
                "path": profile.path,
                "target": profile.target.value,
                "roles": [r.value for r in profile.roles],
                "pics": {
                    k: v if isinstance(v, (bool, int, float)) else str(v)
                    for k, v in profile.pics.items()
                },
            }
        state.writer.finish(update, info)
