"""Parallel workers against ONE reference SUT (docs/parallel.md): a selection run with four
workers gives the verdicts of a serial run, test case by test case and check by check, and
no two workers ever used the same user at the same time.

The proof of the last point is read from results.json: each test case records the users it
ran with (its worker's slice, or the whole pool in the serial group) and the messages it
exchanged. Two test cases of different workers whose run times overlap never have a user in
common, and every message a test case exchanged names only users of its own (no profile user
of another slice appears in it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog.pool import slice_users
from conformance.catalog.profile import load_sut
from tests.support.cli import run_cli

PIXIT = load_sut("reference").pixit
POOL = {u.uri for u in PIXIT.users}
#: the originating PF, its MSRP handling and the client's deferred delivery: PF test cases
#: for every worker, client test cases for the first slice's, about a third of the suite (the
#: whole suite in parallel is scripts/suite.sh's and the self-test's business; here it shares
#: the machine with the other project tests, at T1 = 20 ms)
SELECTION = ["--clause", "8.2.1", "--clause", "8.6", "--clause", "7.3.11"]
USER = re.compile(r"sip:[a-z]+@reference\.test")


def _cases(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((path / "results.json").read_text(encoding="utf-8"))
    return {tc["nodeid"]: tc for tc in data["test_cases"]}


def _key(tc: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return tc["verdict"], tuple((c["requirement"], c["verdict"]) for c in tc.get("checks", ()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    base = tmp_path_factory.mktemp("pool")
    serial, parallel = base / "serial", base / "parallel"
    common = ["run", "--sut", "reference", "--strict", "-q", *SELECTION]
    one = run_cli(*common, "-n", "0", "--report-dir", str(serial))
    assert one.returncode == 0, one.stderr[-3000:]
    many = run_cli(*common, "-n", "4", "--report-dir", str(parallel))
    assert many.returncode == 0, many.stderr[-3000:]
    return serial, parallel, many.stderr


@pytest.mark.timeout(900)
def test_parallel_verdicts_equal_serial_verdicts(runs: tuple[Path, Path, str]) -> None:
    serial, parallel, _ = runs
    one, many = _cases(serial), _cases(parallel)
    assert set(one) == set(many)
    differences = [n for n in one if _key(one[n]) != _key(many[n])]
    assert differences == []
    assert {tc.get("worker") for tc in many.values()} == {"gw0", "gw1", "gw2", "gw3"}


@pytest.mark.timeout(900)
def test_two_workers_never_use_the_same_user_at_the_same_time(
    runs: tuple[Path, Path, str],
) -> None:
    _, parallel, _ = runs
    cases = [tc for tc in _cases(parallel).values() if tc["verdict"] != "n/a"]
    for tc in cases:
        assert tc.get("worker"), tc["nodeid"]
        assert tc.get("users"), tc["nodeid"]
    clashes = []
    for i, a in enumerate(cases):
        for b in cases[i + 1 :]:
            if a["worker"] == b["worker"]:
                continue
            overlap = a["start"] < b["stop"] and b["start"] < a["stop"]
            common = set(a["users"]) & set(b["users"])
            if overlap and common:
                clashes.append((a["nodeid"], b["nodeid"], sorted(common)))
    assert clashes == []
    strangers = []
    for tc in cases:
        named = set()
        for message in tc.get("evidence", ()):
            named |= set(USER.findall(str(message.get("text", ""))))
        foreign = (named & POOL) - set(tc["users"])
        if foreign:
            strangers.append((tc["nodeid"], sorted(foreign)))
    assert strangers == []


@pytest.mark.timeout(900)
def test_the_client_test_cases_ran_on_the_first_slice_beside_the_others(
    runs: tuple[Path, Path, str],
) -> None:
    _, parallel, _ = runs
    cases = list(_cases(parallel).values())
    client = [tc for tc in cases if tc["role"] == "client" and tc["verdict"] != "n/a"]
    assert client, "the suite has client test cases"
    first = {u.uri for u in slice_users(PIXIT, 0)}
    # on gw0, with the first slice (the SUT client's user is the pool's first)
    assert {tc["worker"] for tc in client} == {"gw0"}
    assert {frozenset(tc["users"]) for tc in client} == {frozenset(first)}
    # not held back to the end: other workers ran test cases at the same time
    others = [tc for tc in cases if tc["worker"] != "gw0" and tc["verdict"] != "n/a"]
    assert any(a["start"] < b["stop"] and b["start"] < a["stop"] for a in client for b in others)


def test_a_shared_reference_that_cannot_start_is_one_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """The shared reference network starts while the workers start (PoolHost): when it
    fails (here its XDMS relay's port is taken), the controller hands out no test case and
    the run ends with one line naming the cause; no process or temporary directory stays."""
    import os
    import socket

    from conformance.catalog.profile import reference_profile_path

    # the run's temporary directories go to a directory of this test's own (other tests
    # run beside it)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        text = reference_profile_path().read_text(encoding="utf-8")
        xdms = '[xdms]\nhost = "127.0.0.1"\nport = 0'
        assert xdms in text
        profile = tmp_path / "busy-xdms.toml"
        profile.write_text(text.replace(xdms, xdms.replace("port = 0", f"port = {port}")))
        out = run_cli(
            "run", "--sut", str(profile), "-n", "2", "--report-dir", str(tmp_path / "r"), env=env
        )
    assert out.returncode != 0
    errors = [line for line in out.stdout.splitlines() + out.stderr.splitlines() if "ERROR" in line]
    assert errors == [
        "ERROR: cannot start the parallel run's SUT side: [Errno 98] error while attempting"
        f" to bind on address ('127.0.0.1', {port}): address already in use"
    ]
    assert "Traceback" not in out.stdout + out.stderr
    results = tmp_path / "r" / "results.json"
    assert not results.exists() or _cases(tmp_path / "r") == {}
    assert list(tmp.iterdir()) == []
