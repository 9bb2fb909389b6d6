"""The terminal in the suite's words (controller process only, never an xdist worker).

With ``--cpm-terminal=cases`` (what ``cpm-conformance run`` passes unless ``-v``), pytest's
own progress (dots, ``s``, the ``[ 42%]`` column) gives way to one line per test case as it
ends: its verdict word, section, title and duration::

    PASS    8.3.2     The PF ACKs the client's 200 OK ...                          0.41 s

On a terminal the verdict word is coloured and a status line, rewritten in place, counts the
verdicts so far with an ETA; when stdout is no terminal (a CI log) there is no status line
and no colour. ``--cpm-terminal=summary`` (``run -q``) keeps the end alone.

At the end, in every mode (a plain ``pytest`` run too), the failed, inconc and error test
cases: the requirement, section, expected, actual and the evidence file with the message
index in its log. In the suite's modes the failed checks' pytest tracebacks are left out
(the list says it all; the error ones keep theirs) and ``cpm-conformance run`` prints the
count line; in a plain pytest run the plugin prints it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.checks.verdict import CheckResult, EvidenceRef, Verdict
from conformance.pytest.config import STATE
from conformance.pytest.options import is_worker
from conformance.pytest.selection import INFO
from conformance.pytest.verdicts import report_json_list
from conformance.report.evidence import MessageRecord, matches_evidence

__all__ = [
    "MODES",
    "VERDICT_ORDER",
    "CaseSummary",
    "TerminalView",
    "count_line",
    "relative_path",
    "summary_lines",
]

#: the values of ``--cpm-terminal``: off (pytest's own output), cases, summary
MODES = ("off", "cases", "summary")
#: the order verdicts are counted in
VERDICT_ORDER = (Verdict.PASS, Verdict.FAIL, Verdict.INCONC, Verdict.ERROR, Verdict.NA)
_MARKUP: dict[Verdict, dict[str, bool]] = {
    Verdict.PASS: {"green": True},
    Verdict.FAIL: {"red": True, "bold": True},
    Verdict.INCONC: {"yellow": True},
    Verdict.ERROR: {"purple": True, "bold": True},
    Verdict.NA: {"cyan": True},
}
#: the pytest category a fail-verdict report is counted under instead of "failed": pytest's
#: FAILURES section then leaves it to the list of failed requirements
_FAIL_CATEGORY = "cpm fail"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cpm-conformance", "OMA CPM conformance")
    group.addoption(
        "--cpm-terminal",
        dest="cpm_terminal",
        choices=MODES,
        default="off",
        help="cases: one line per test case in the suite's words instead of pytest's"
        " progress; summary: only the end summary; off (default): pytest's own output",
    )


def count_line(counts: Mapping[str, int]) -> str:
    """``119 test cases: 108 pass, 0 fail, 0 inconc, 0 error, 11 n/a``."""
    total = sum(counts.get(v.value, 0) for v in VERDICT_ORDER)
    return f"{total} test case{'' if total == 1 else 's'}: " + ", ".join(
        f"{counts.get(v.value, 0)} {v.value}" for v in VERDICT_ORDER
    )


def relative_path(path: Path, start: Path | None = None) -> str:
    """``path`` relative to ``start`` (the current directory) when inside it, else absolute:
    never a path that climbs out with ``../``."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to((start or Path.cwd()).absolute()))
    except ValueError:
        return str(path)


@dataclass(slots=True)
class CaseSummary:
    """What the end summary needs of one test case that did not pass (``name`` is its node
    id relative to the test-case folder; ``files`` relative to the report directory)."""

    name: str
    verdict: Verdict
    section: str
    requirements: tuple[str, ...]
    reason: str
    checks: tuple[CheckResult, ...]
    records: tuple[MessageRecord, ...]
    files: dict[str, str] = field(default_factory=dict)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if is_worker(config):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    config.pluginmanager.register(TerminalView(config, reporter), "cpm-conformance-terminal")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """The section and title of the test case on its teardown report (they survive
    pytest-xdist, where the controller has no items)."""
    report = yield
    if report.when == "teardown":
        info = item.stash.get(INFO, None)
        if info is not None and info.requirements:
            report_any: Any = report
            report_any.cpm_section = info.requirements[0].section
            report_any.cpm_title = info.requirements[0].title
    return report


class TerminalView:
    """The per-test-case lines, the status line and the end summary."""

    def __init__(self, config: pytest.Config, reporter: Any) -> None:
        self.config = config
        self.reporter = reporter
        self.mode = str(config.getoption("cpm_terminal", "off") or "off")
        self.tty = bool(getattr(reporter, "isatty", False)) and self.mode == "cases"
        self.counts: dict[str, int] = {}
        self.durations: dict[str, float] = {}
        self.done = 0
        self.total = 0
        self.elapsed = 0.0
        self.status_shown = False
        self.running = ""
        self.cases: list[CaseSummary] = []
        self.roots = self._roots(config)
        report_dir = config.getoption("cpm_report_dir", None)
        self.report_dir = Path(report_dir).absolute() if report_dir else None

    @staticmethod
    def _roots(config: pytest.Config) -> list[Path]:
        roots = []
        for arg in config.args:
            path = Path(str(arg).split("::", 1)[0])
            path = (config.invocation_params.dir / path).resolve()
            roots.append(path if path.is_dir() else path.parent)
        return roots

    # ---------------------------------------------------------------- names

    def display_name(self, nodeid: str) -> str:
        """The node id with its path relative to the test-case folder given to pytest."""
        path_text, sep, rest = nodeid.partition("::")
        try:
            path = (self.config.rootpath / path_text).resolve()
        except OSError:
            return nodeid
        for root in self.roots:
            try:
                return f"{path.relative_to(root).as_posix()}{sep}{rest}"
            except ValueError:
                continue
        return nodeid

    # ---------------------------------------------------------------- hooks

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)

    @pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: absent without it
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = max(self.total, len(ids))

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        """No pytest progress letter for the suite's test cases (their line comes at the end
        of each); a fail verdict is not counted as pytest's "failed" (no traceback section:
        the end summary lists the failed requirements)."""
        if self.mode == "off" or not hasattr(report, "cpm_phase_verdict"):
            return None
        if report.passed:
            category = "passed" if report.when == "call" else ""
        elif report.skipped:
            category = "skipped"
        elif report.when != "call":
            category = "error"
        else:
            category = "failed"
        if category == "failed" and getattr(report, "cpm_phase_verdict", None) == "fail":
            category = _FAIL_CATEGORY
        return category, "", ""

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        if self.tty:
            self.running = self.display_name(nodeid)
            self._status()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + float(
            getattr(report, "duration", 0.0) or 0.0
        )
        if report.when != "teardown":
            return
        verdict_text = getattr(report, "cpm_verdict", None)
        if verdict_text is None:
            return
        verdict = Verdict.parse(str(verdict_text))
        duration = self.durations.pop(report.nodeid, 0.0)
        self.done += 1
        self.elapsed += duration
        self.counts[verdict.value] = self.counts.get(verdict.value, 0) + 1
        name = self.display_name(report.nodeid)
        section = str(getattr(report, "cpm_section", "") or "")
        if verdict in (Verdict.FAIL, Verdict.INCONC, Verdict.ERROR):
            self.cases.append(
                CaseSummary(
                    name=name,
                    verdict=verdict,
                    section=section,
                    requirements=tuple(getattr(report, "cpm_requirements", []) or []),
                    reason=str(getattr(report, "cpm_final_reason", "") or ""),
                    checks=tuple(
                        CheckResult.from_json(c) for c in report_json_list(report, "cpm_checks")
                    ),
                    records=tuple(
                        MessageRecord.from_json(m) for m in report_json_list(report, "cpm_evidence")
                    ),
                    files=dict(getattr(report, "cpm_files", {}) or {}),
                )
            )
        if self.mode != "cases":
            return
        title = str(getattr(report, "cpm_title", "") or "") or name.rsplit("::", 1)[-1]
        self._clear_status()
        self._case_line(verdict, section or "-", title, duration)
        self.running = ""
        self._status()

    def pytest_sessionfinish(self) -> None:
        self._clear_status()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.counts:
            return
        tr = terminalreporter
        if self.mode == "off":
            tr.write_sep("-", "cpm-conformance verdicts")
        elif self.cases and (tr.stats.get("failed") or tr.stats.get("error")):
            tr.write_line("")  # after pytest's tracebacks of the error verdicts
        for verdict, heading in (
            (Verdict.FAIL, "failed"),
            (Verdict.ERROR, "error"),
            (Verdict.INCONC, "inconc"),
        ):
            cases = [c for c in self.cases if c.verdict is verdict]
            if cases:
                self._list(tr, verdict, heading, cases)
        if self.mode == "off":
            tr.write_line(count_line(self.counts))
            state = self.config.stash.get(STATE, None)
            if state is not None and state.writer is not None:
                tr.write_line(f"results: {state.writer.results_path}")

    # ---------------------------------------------------------------- output

    def _width(self) -> int:
        return shutil.get_terminal_size().columns if self.tty else 100

    def _word(self, verdict: Verdict) -> str:
        return verdict.value.upper()

    def _case_line(self, verdict: Verdict, section: str, title: str, duration: float) -> None:
        word = self._word(verdict)
        tail = f" {duration:6.2f} s"
        head = f"{word:<7} {section:<9} "
        room = max(20, self._width() - len(head) - len(tail) - 1)
        if len(title) > room:
            title = title[: room - 3] + "..."
        out = self.reporter
        out.write(f"{word:<7}", **(_MARKUP[verdict] if self.tty else {}))
        out.write(f" {section:<9} {title:<{room}}{tail}\n", flush=True)

    def _status(self) -> None:
        if not self.tty:
            return
        counts = " ".join(f"{self.counts.get(v.value, 0)} {v.value}" for v in VERDICT_ORDER)
        text = f"[{self.done}/{self.total or '?'}] {counts}"
        if self.done and self.total > self.done:
            left = self.elapsed / self.done * (self.total - self.done)
            text += f"  ETA {int(left) // 60}:{int(left) % 60:02d}"
        if self.running:
            text += f"  {self.running}"
        text = text[: self._width() - 1]
        self.reporter.write(f"\r\x1b[K{text}", flush=True)
        self.status_shown = True

    def _clear_status(self) -> None:
        if self.status_shown:
            self.reporter.write("\r\x1b[K", flush=True)
            self.status_shown = False
        self.running = ""

    def _list(self, tr: Any, verdict: Verdict, heading: str, cases: list[CaseSummary]) -> None:
        tr.write_line(
            f"{heading} ({len(cases)} test case{'' if len(cases) == 1 else 's'}):",
            **(_MARKUP[verdict] if tr.hasmarkup else {}),
        )
        for line in summary_lines(cases, self.report_dir):
            tr.write_line(line)


def summary_lines(cases: Iterable[CaseSummary], report_dir: Path | None) -> list[str]:
    """The end summary of test cases that did not pass: per test case its name, then per
    check of its verdict the requirement, section, expected, actual and the evidence log
    (relative to the current directory when inside it) with the message indexes in it; a
    test case without such checks gives its requirements and the reason."""
    out: list[str] = []
    for case in cases:
        out.append(f"  {case.name}")
        log = ""
        if case.files.get("log") and report_dir is not None:
            log = relative_path(report_dir / case.files["log"])
        checks = [c for c in case.checks if c.verdict is case.verdict]
        for check in checks:
            out.append(f"    {check.requirement}  {case.section}  [{check.verdict}]")
            out.append(f"      expected: {_one_line(check.expected)}")
            out.append(f"      actual:   {_one_line(check.actual)}")
            if check.message:
                out.append(f"      message:  {_one_line(check.message)}")
            if log:
                where = _message_indexes(check.evidence, case.records)
                at = f" (message {', '.join(where)})" if where else ""
                out.append(f"      evidence: {log}{at}")
        if not checks:
            ids = ", ".join(case.requirements) or "-"
            out.append(f"    {ids}  {case.section}  [{case.verdict}]")
            if case.reason:
                out.append(f"      reason:   {_one_line(case.reason)}")
            if log:
                out.append(f"      evidence: {log}")
    return out


def _one_line(text: str, cap: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= cap else line[: cap - 3] + "..."


def _message_indexes(refs: Iterable[EvidenceRef], records: tuple[MessageRecord, ...]) -> list[str]:
    """``#12`` for each evidence reference found in the captured messages (the index of the
    record in the evidence log)."""
    out: list[str] = []
    for ref in refs:
        for rec in records:
            if matches_evidence(rec, ref):
                mark = f"#{rec.index}"
                if mark not in out:
                    out.append(mark)
                break
    return out
