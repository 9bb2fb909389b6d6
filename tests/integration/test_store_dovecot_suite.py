"""The reference SUT can store into a real Dovecot, read back over IMAP by the tool.

`cpm-conformance run --store dovecot` starts Dovecot (generated configuration, run-time
loopback port, fresh temporary directory, stopped by pid); the reference PF appends its
Session History Folders over IMAP and the test cases read them with the same IMAP client
the tool uses on a vendor's Message Store.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_server("dovecot")

STORAGE_REQUIREMENTS = ("PF-8.3.2-200OK-2", "PF-8.3.2-200OK-2.a.ii")


def test_storage_cases_pass_against_dovecot(tmp_path: Path) -> None:
    report = tmp_path / "report"
    argv = [
        sys.executable,
        "-m",
        "conformance",
        "run",
        "--sut",
        "reference",
        "--strict",
        "--store",
        "dovecot",
        "--report-dir",
        str(report),
    ]
    for rid in STORAGE_REQUIREMENTS:
        argv += ["--requirement", rid]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads((report / "results.json").read_text())
    judged = {
        r["id"]: r["verdict"] for r in results["requirements"] if r["id"] in STORAGE_REQUIREMENTS
    }
    assert judged == {rid: "pass" for rid in STORAGE_REQUIREMENTS}, judged
