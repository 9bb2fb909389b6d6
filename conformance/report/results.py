"""``results.json`` (appended as each test case ends) and a JUnit XML writer.

Layout of a report directory::

    results.jsonl   one JSON object per line, flushed as each test case ends:
                    {"type": "run", ...} first, then {"type": "test_case", ...} lines
    results.json    the whole run (see :class:`RunResults.to_json`), written atomically when
                    the run ends; :func:`load_results` rebuilds it from results.jsonl when a
                    killed run left only the JSON Lines file
    junit.xml       JUnit XML (pytest's ``--junitxml`` in ``cpm-conformance run``;
                    :func:`write_junit` writes the same from a :class:`RunResults`)

Only the controller process writes these files (never a pytest-xdist worker).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree as ET

from conformance.checks.verdict import Verdict
from conformance.report.model import NOT_EVALUATED, RESULTS_FORMAT, RunResults, TestCaseResult

__all__ = [
    "JSONL_NAME",
    "JUNIT_NAME",
    "RESULTS_NAME",
    "ResultsWriter",
    "load_results",
    "read_jsonl",
    "write_json_atomic",
    "write_junit",
]

RESULTS_NAME = "results.json"
JSONL_NAME = "results.jsonl"
JUNIT_NAME = "junit.xml"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
        # mkstemp makes the file private (0600); the results get the permissions every
        # other output file gets (0666 less the umask)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultsWriter:
    """Appends test-case results to ``DIR/results.jsonl`` as they end; ``finish`` writes
    ``DIR/results.json``. Also keeps the :class:`RunResults` in memory."""

    def __init__(self, report_dir: str | Path, run: dict[str, Any] | None = None) -> None:
        self.dir = Path(report_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.results = RunResults(run=dict(run or {}))
        (self.dir / RESULTS_NAME).unlink(missing_ok=True)
        self._jsonl: IO[str] | None = open(  # noqa: SIM115 - kept open for the run
            self.dir / JSONL_NAME, "w", encoding="utf-8"
        )
        self._line({"type": "run", "format": RESULTS_FORMAT, **self.results.run})

    @property
    def results_path(self) -> Path:
        return self.dir / RESULTS_NAME

    def _line(self, obj: dict[str, Any]) -> None:
        if self._jsonl is None:
            raise ValueError("results writer already finished")
        self._jsonl.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self._jsonl.flush()

    def append(self, tc: TestCaseResult) -> None:
        self.results.add(tc)
        self._line({"type": "test_case", **tc.to_json()})

    def finish(
        self,
        run_update: dict[str, Any] | None = None,
        requirement_info: dict[str, dict[str, str]] | None = None,
    ) -> Path:
        if run_update:
            self.results.run.update(run_update)
        if requirement_info:
            self.results.requirement_info.update(requirement_info)
        if self._jsonl is not None:
            self._line({"type": "end", **(run_update or {})})
            self._jsonl.close()
            self._jsonl = None
        write_json_atomic(self.results_path, self.results.to_json())
        return self.results_path


def read_jsonl(path: str | Path) -> RunResults:
    """Rebuild the results of a (possibly killed) run from its ``results.jsonl``.

    A truncated last line (the process died while writing it) is ignored.
    """
    results = RunResults()
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = obj.pop("type", "")
            if kind == "run":
                obj.pop("format", None)
                results.run.update(obj)
            elif kind == "test_case":
                results.add(TestCaseResult.from_json(obj))
            elif kind == "end":
                results.run.update(obj)
    if "stop" not in results.run:
        results.run["incomplete"] = True
    return results


def load_results(path: str | Path) -> RunResults:
    """Load ``results.json`` (or a report directory, or a ``results.jsonl``)."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_NAME if (p / RESULTS_NAME).exists() else p / JSONL_NAME
    if p.suffix == ".jsonl":
        return read_jsonl(p)
    if not p.exists() and p.with_suffix(".jsonl").exists():
        return read_jsonl(p.with_suffix(".jsonl"))
    with open(p, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise ValueError(f"{p}: not a {RESULTS_FORMAT} file")
    return RunResults.from_json(data)


_JUNIT_OUTCOME = {
    Verdict.FAIL: "failure",
    Verdict.ERROR: "error",
    Verdict.INCONC: "skipped",
    Verdict.NA: "skipped",
}


def _inside(rel: str) -> bool:
    """A relative path that stays inside the report directory."""
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts and ":" not in rel


def write_junit(results: RunResults, path: str | Path, suite_name: str = "cpm-conformance") -> Path:
    """JUnit XML from a :class:`RunResults` (``inconc`` and ``n/a`` are skipped with the
    verdict as ``type`` and message prefix; each test case carries requirement and verdict
    properties, and its evidence files as ``[[ATTACHMENT|path]]`` lines in system-out, the
    convention of CI servers' JUnit attachment readers)."""
    base = Path(path).parent
    counts = results.summary()["test_cases"]
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(counts["total"]),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["inconc"] + counts["n/a"]),
        time=f"{sum(tc.duration for tc in results.test_cases):.3f}",
    )
    if results.run.get("incomplete"):
        # an interrupted run: a gate must not read what finished as the whole run
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="incomplete", value="true")
    for tc in results.test_cases:
        module, _, name = tc.nodeid.rpartition("::")
        case = ET.SubElement(
            suite,
            "testcase",
            classname=module.replace("/", ".").removesuffix(".py"),
            name=name or tc.nodeid,
            time=f"{tc.duration:.3f}",
        )
        props = ET.SubElement(case, "properties")
        for rid in tc.requirements:
            ET.SubElement(props, "property", name="requirement", value=rid)
        # per requirement, the verdict of the checks carrying its id in this test case
        judged = tc.requirement_verdicts()
        unjudged = tc.not_evaluated()
        for rid in sorted(judged.keys() | unjudged.keys()):
            status = judged[rid].value if rid in judged else NOT_EVALUATED
            ET.SubElement(props, "property", name=f"verdict:{rid}", value=status)
        if tc.role:
            ET.SubElement(props, "property", name="role", value=tc.role)
        if tc.shard:
            ET.SubElement(props, "property", name="shard", value=tc.shard)
        ET.SubElement(props, "property", name="verdict", value=tc.verdict.value)
        tag = _JUNIT_OUTCOME.get(tc.verdict)
        if tag is not None:
            # inconc and n/a are both "skipped" to JUnit; the type and message tell them apart
            el = ET.SubElement(
                case, tag, message=f"{tc.verdict.value}: {tc.reason}", type=tc.verdict.value
            )
            if tc.details:
                el.text = tc.details
        attachments = [
            f"[[ATTACHMENT|{(base / rel).resolve()}]]"
            for _, rel in sorted(tc.files.items())
            if _inside(rel)
        ]
        if attachments:
            ET.SubElement(case, "system-out").text = "\n".join(attachments)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    return out
