"""The self-test's fault worker: one pytest session that runs many fault runs.

Loaded only by ``cpm-conformance selftest`` (``-p conformance.pytest.faultloop`` with
``--cpm-fault-queue DIR``); inert otherwise. The session collects the test cases once, then
takes jobs from the queue directory until it is empty, so no fault pays for a pytest
start-up (docs/selftest.md):

- ``DIR/jobs/NAME.json`` is a job; a worker claims it by renaming it into ``DIR/claimed/``
  (atomic: one worker gets it) and writes what it ran to ``DIR/out/NAME.jsonl``, one line
  per test case, the last line ``{"done": true}``. A job whose output has no such line
  (the worker died) is one the self-test runs again the slow way.
- A *clean* job runs a slice of the collected test cases against the clean reference SUT.
- A *fault* job runs, in collection order, the test cases declaring one of the fault's
  target requirement ids with that fault switched on. With PICS claims (``--pics``, one
  session per set of claims) the same test cases first run against the clean SUT: only the
  ones that pass there (*trusted*) run with the fault on, as a failure of any other proves
  nothing.
- Every job starts on a fresh reference SUT: the session's fixtures (the tool's core, the
  XDMS, the reference network) are torn down when a job ends, so a fault never sees what
  another left behind.
- **The skip rule.** A fault's run stops at the first test case that proves it (a failed
  check carrying each of its target ids), except that a test case no fault has failed yet
  still runs: ``KILLED/<hash>`` marks a test case some fault failed (shared by every
  worker), so the kill matrix stays complete (every test case failed by some fault).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.pytest import evidence, verdicts
from conformance.pytest.selection import INFO


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cpm-conformance")
    group.addoption("--cpm-fault-queue", dest="cpm_fault_queue", default=None, help="(internal)")
    group.addoption("--cpm-killed-dir", dest="cpm_killed_dir", default=None, help="(internal)")
    group.addoption("--cpm-worker", dest="cpm_worker", default="w", help="(internal)")


def killed_marker(killed_dir: Path, nodeid: str) -> Path:
    """The marker file saying that some fault failed the test case ``nodeid``."""
    return killed_dir / hashlib.sha256(nodeid.encode()).hexdigest()


def should_skip(proven: Iterable[str], targets: Iterable[str], killed: bool) -> bool:
    """A (fault, test case) pair is skipped only when the fault is already proven on each
    of its target ids and some fault already failed the test case."""
    return set(targets) <= set(proven) and killed


def claim(queue: Path, worker: str) -> tuple[str, dict[str, Any]] | None:
    """The first unclaimed job of ``queue`` (by name), now this worker's; None when none."""
    jobs = queue / "jobs"
    for path in sorted(jobs.glob("*.json")):
        target = queue / "claimed" / f"{path.stem}.{worker}.json"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            continue  # another worker took it
        return path.stem, json.loads(target.read_text())
    return None


def _reset(item: pytest.Item, properties: list[tuple[str, object]]) -> None:
    """Forget what a previous run of ``item`` left in its stash (a test case runs once per
    job that selects it)."""
    # the plugin's own per-run keys (a test case normally runs once per session)
    keys: tuple[pytest.StashKey[Any], ...] = (
        verdicts.RECORDER,
        verdicts._PHASES,  # noqa: SLF001
        evidence._MARK,  # noqa: SLF001
    )
    for key in keys:
        if key in item.stash:
            del item.stash[key]
    item.user_properties[:] = list(properties)


class FaultLoop:
    def __init__(self, config: pytest.Config, queue: Path, killed: Path, worker: str) -> None:
        self.config = config
        self.queue = queue
        self.killed = killed
        self.worker = worker
        self.last: dict[str, dict[str, Any]] = {}
        #: the set-up, call and teardown time of the test case running
        self.durations: dict[str, float] = {}
        #: control verdicts (clean SUT under this session's claims), by nodeid
        self.control: dict[str, str] = {}
        self.properties: dict[str, list[tuple[str, object]]] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown" or getattr(report, "cpm_verdict", None) is None:
            self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
            return
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        self.last[report.nodeid] = {
            "nodeid": report.nodeid,
            "duration": round(self.durations.pop(report.nodeid), 3),
            "verdict": str(report.cpm_verdict),
            "requirements": list(getattr(report, "cpm_requirements", []) or []),
            "checks": verdicts.report_json_list(report, "cpm_checks"),
            "reason": str(getattr(report, "cpm_final_reason", "") or ""),
        }

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        items = list(session.items)
        for item in items:
            self.properties[item.nodeid] = list(item.user_properties)
        while (job := claim(self.queue, self.worker)) is not None:
            name, spec = job
            out = self.queue / "out" / f"{name}.jsonl"
            started = time.monotonic()
            with out.open("w", encoding="utf-8") as stream:
                self.run_job(session, items, spec, stream)
                elapsed = round(time.monotonic() - started, 3)
                stream.write(json.dumps({"done": True, "worker": self.worker, "elapsed": elapsed}))
                stream.write("\n")
            if session.shouldstop or session.shouldfail:
                break
        return True

    def run_job(
        self, session: pytest.Session, items: Sequence[pytest.Item], spec: dict[str, Any], out: Any
    ) -> None:
        fault = spec.get("fault")
        if fault is None:  # a slice of the clean run
            index, slices = spec["chunk"]
            selected = list(
                items[index * len(items) // slices : (index + 1) * len(items) // slices]
            )
            self.run_items(session, selected, None, out, phase="clean")
            return
        targets = set(spec["requirements"])
        mapped = [i for i in items if _ids(i) & targets]
        if spec.get("control"):
            todo = [i for i in mapped if i.nodeid not in self.control]
            for line in self.run_items(session, todo, None, out, phase="control"):
                self.control[line["nodeid"]] = line["verdict"]
            for item in mapped:
                if item.nodeid not in {i.nodeid for i in todo}:
                    line = {"nodeid": item.nodeid, "verdict": self.control[item.nodeid]}
                    out.write(json.dumps({"phase": "control", **line}) + "\n")
            mapped = [i for i in mapped if self.control.get(i.nodeid) == "pass"]
        # the test cases no fault has failed yet first: they run whatever they prove (the
        # kill matrix needs them), so when they prove the fault, the others are skipped
        fresh = [i for i in mapped if not killed_marker(self.killed, i.nodeid).exists()]
        mapped = fresh + [i for i in mapped if i not in fresh]
        self.run_items(session, mapped, fault, out, phase="fault", targets=targets)

    def run_items(
        self,
        session: pytest.Session,
        items: Sequence[pytest.Item],
        fault: str | None,
        out: Any,
        *,
        phase: str,
        targets: set[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Run ``items`` in order on a fresh reference SUT (with ``fault`` on), applying the
        skip rule to a fault run; the lines written."""
        self.config.option.cpm_faults = fault or ""
        lines: list[dict[str, Any]] = []
        proven: set[str] = set()
        # pytest's own stack of set-up nodes (what pytest-rerunfailures drives too): the
        # next item is only known once the current one has shown what it proves
        setupstate = session._setupstate  # noqa: SLF001
        ran_any = False
        pending = list(items)
        while pending:
            item = pending.pop(0)
            if targets is not None and should_skip(
                proven, targets, killed_marker(self.killed, item.nodeid).exists()
            ):
                out.write(json.dumps({"phase": phase, "nodeid": item.nodeid, "skipped": True}))
                out.write("\n")
                continue
            if ran_any:
                # the previous item was torn down towards a tentative next one; now that the
                # next one is known, tear down what it does not share
                setupstate.teardown_exact(item)
            _reset(item, self.properties.get(item.nodeid, []))
            self.last.pop(item.nodeid, None)
            nextitem = pending[0] if pending else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            ran_any = True
            line = self.last.pop(item.nodeid, None) or {
                "nodeid": item.nodeid,
                "verdict": "error",
                "requirements": sorted(_ids(item)),
                "checks": [],
                "reason": "no verdict was reported",
            }
            line = {"phase": phase, "fault": fault, **line}
            out.write(json.dumps(line) + "\n")
            out.flush()
            lines.append(line)
            if targets is not None and line["verdict"] == "fail":
                marker = killed_marker(self.killed, item.nodeid)
                marker.write_text(f"{item.nodeid}\n{fault}\n")
                proven |= failed_ids(line["checks"]) & targets
            if session.shouldstop or session.shouldfail:
                break
        # the job ends on a clean slate: every fixture stopped, the session's ones included
        setupstate.teardown_exact(None)
        return lines


def failed_ids(checks: Iterable[dict[str, Any]]) -> set[str]:
    """The requirement ids of the failed checks among ``checks`` (their JSON form)."""
    return {str(c.get("requirement")) for c in checks if c.get("verdict") == "fail"}


def _ids(item: pytest.Item) -> set[str]:
    info = item.stash.get(INFO, None)
    return set(info.ids) if info is not None else set()


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    queue = config.getoption("cpm_fault_queue", None)
    if not queue:
        return
    killed = Path(config.getoption("cpm_killed_dir", None) or Path(queue) / "killed")
    killed.mkdir(parents=True, exist_ok=True)
    worker = str(config.getoption("cpm_worker", "w"))
    config.pluginmanager.register(
        FaultLoop(config, Path(queue), killed, worker), "cpm-conformance-faultloop"
    )
