"""A real worker session of the self-test's pool engine: two fault jobs in one pytest
session, each on a fresh reference SUT, each test case's result recorded under its fault,
and the skip rule applied to a test case another fault already failed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conformance import selftest_pool as pool
from conformance.pytest.faultloop import killed_marker
from conformance.reference.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]
REJOIN = "client.rejoin-without-msrp"  # one target id, two mapped test cases
BYE = "pf.admin-no-bye"
FIRST = (
    "testcases/system_description/client/test_b_2_3_x_y_client_deferred_delivery.py"
    "::test_b_2_3_x_y_plus_1_client_rejoin"
)
SECOND = (
    "testcases/system_description/flows/test_b_2_3_x_y_flows.py"
    "::test_b_2_3_x_y_plus_1_flow_rejoin_first"
)


def test_one_session_runs_many_faults_and_stops_once_proven(tmp_path: Path) -> None:
    variants = pool.plan(tmp_path / "queue", [FAULTS[REJOIN], FAULTS[BYE]], clean=False)
    (main,) = variants
    killed = tmp_path / "killed"
    killed.mkdir()
    # another fault already failed the second test case: once REJOIN is proven by the first,
    # the second adds nothing to the proof or to the kill matrix
    killed_marker(killed, SECOND).write_text("another fault\n")
    cmd = pool.worker_command(main, "w0", killed, pool.locate_testcases(), tmp_path / "cache")
    env = pool.worker_env()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode in (0, 1), proc.stdout[-4000:] + proc.stderr[-4000:]
    assert list((main.directory / "jobs").iterdir()) == []  # every job claimed

    rejoin = pool.read_fault(variants, FAULTS[REJOIN])
    assert rejoin is not None and rejoin.done
    assert [tc.nodeid for tc in rejoin.results.test_cases] == [FIRST]
    (first,) = rejoin.results.test_cases
    assert first.verdict.value == "fail"
    assert "SD-B.2.3.x.y+1-12" in {c.requirement for c in first.checks if c.verdict.value == "fail"}
    assert rejoin.skipped == (SECOND,)
    assert killed_marker(killed, FIRST).exists()

    # the next job, in the same session, starts on a fresh reference SUT with its own fault
    bye = pool.read_fault(variants, FAULTS[BYE])
    assert bye is not None and bye.done
    failed = {
        c.requirement
        for tc in bye.results.test_cases
        for c in tc.checks
        if c.verdict.value == "fail"
    }
    assert "PF-ADMIN-1.a" in failed
    lines = (main.directory / "out" / f"1-fault-{BYE}.jsonl").read_text().splitlines()
    assert all(json.loads(line).get("fault") in (BYE, None) for line in lines)
