"""A run interrupted by SIGINT or SIGTERM stops cleanly in every set-up.

Each case starts ``cpm-conformance run --sut reference`` in one set-up (the reference SUT
in process, as a subprocess, behind Kamailio, storing in Dovecot) with a temporary
directory of its own (``TMPDIR``), waits until a chosen number of test cases has finished
(a seeded random point, printed), records every process of the run, and sends the signal to
``run``. Then:

- ``run`` exits 130 (interrupted) within a bound;
- no process of the run survives (reference SUT, Kamailio, Dovecot, the pytest child);
- nothing is left in the run's temporary directory;
- results.json, junit.xml and report.html exist and say the run is incomplete.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SETUPS = {
    "inprocess": [],
    "subprocess": ["--reference-process", "subprocess"],
    "kamailio": ["--layout", "kamailio"],
    "dovecot": ["--store", "dovecot"],
}
SERVERS = {"kamailio": ("kamailio",), "dovecot": ("dovecot",)}
#: the bound of every wait here: a run that does not start or stop within it is a failure
GUARD = 120.0


def _children(root: int) -> dict[int, str]:
    """Every descendant of ``root`` now: pid -> command line."""
    parents: dict[int, int] = {}
    cmdlines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
        cmdlines[int(entry.name)] = cmdline
    out: dict[int, str] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in out:
                out[child] = cmdlines.get(child, "")
                frontier.append(child)
    return out


def _alive(pid: int, cmdline: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        now = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z" and now == cmdline


def _finished(report_dir: Path) -> int:
    try:
        text = (report_dir / "results.jsonl").read_text()
    except OSError:
        return 0
    return sum('"type": "test_case"' in line for line in text.splitlines())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("setup", list(SETUPS))
def test_an_interrupted_run_stops_everything_it_started(
    setup: str, sig: signal.Signals, tmp_path: Path, require_binary: object
) -> None:
    for server in SERVERS.get(setup, ()):
        require_binary(server)  # type: ignore[operator]
    seed = f"{setup}-{sig.name}"
    after = random.Random(seed).randint(1, 3)
    print(f"interrupting the {setup} run with {sig.name} after {after} test case(s)")
    temp = tmp_path / "tmp"
    temp.mkdir()
    report_dir = tmp_path / "report"
    env = {**os.environ, "TMPDIR": str(temp)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--sut",
            "reference",
            *SETUPS[setup],
            "--report-dir",
            str(report_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + GUARD
        while _finished(report_dir) < after and proc.poll() is None:
            assert time.monotonic() < deadline, "the run finished no test case in time"
            time.sleep(0.1)  # probe interval of this observer only
        assert proc.poll() is None, "the run ended before it could be interrupted"
        run_processes = _children(proc.pid)
        assert run_processes, "the run has no child process"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=GUARD)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = err.decode(errors="replace")
    assert proc.returncode == 130, text[-2000:]
    assert "Traceback" not in text, text[-2000:]
    survivors = {pid: cmd for pid, cmd in run_processes.items() if _alive(pid, cmd)}
    assert not survivors, f"processes of the run survive: {survivors}"
    assert list(temp.iterdir()) == [], "the run left temporary files"
    results = json.loads((report_dir / "results.json").read_text())
    assert results["run"]["incomplete"] is True
    assert len(results["test_cases"]) > 0
    assert "incomplete" in (report_dir / "junit.xml").read_text()
    assert 'id="run-verdict">incomplete' in (report_dir / "report.html").read_text()
