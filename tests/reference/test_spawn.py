"""The reference SUT as a subprocess: the JSON configuration and the process life cycle
(conformance/reference/config_io.py, conformance/reference/spawn.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conformance.protocol.sip.timers import Address, Timers, Transport
from conformance.reference import config_io
from conformance.reference.config import ReferenceConfig, ReferenceUser
from conformance.reference.faults import FAULTS, ActiveFaults
from conformance.reference.pf.policy import PfPolicy
from conformance.reference.spawn import ReferenceProcess, ReferenceStartError, endpoints_of

USERS = (
    ReferenceUser("sip:bob@reference.test", ("urn:uuid:00000000-0000-4000-8000-0000000b0001",)),
)


def test_every_field_survives_the_round_trip() -> None:
    fault = sorted(FAULTS)[0]
    config = ReferenceConfig(
        host="127.0.0.2",
        domain="x.test",
        timers=Timers(t1=0.03, t2=0.3, t4=0.4),
        msrp_transaction_timeout=0.7,
        core=Address("127.0.0.1", 5099, Transport.TCP),
        faults=ActiveFaults(frozenset({fault})),
        users=USERS,
        sip_port=5070,
        msrp_port=5071,
        upper_tester_port=None,
        factory_user="f",
        max_subscription_expires=60,
        inactivity_timeout=2.5,
        pf_uri="sip:pf.x.test",
        deferred_uri="sip:d@pf.x.test",
        conference_factory_uri="sip:f@cf.x.test",
        xdms_url="http://127.0.0.1:1/",
        store_url="maildir:/tmp/x",
        pf_policy=PfPolicy(
            media_path=False, unauthorised_users=("sip:m@x.test",), required_ua_release=None
        ),
        client_subscribe_during_inactive_delivery=True,
    )
    assert config_io.decode(config_io.encode(config)) == config
    # a field left at its default is carried too: every field of the dataclass is written
    assert config_io.decode(config_io.encode(ReferenceConfig())) == ReferenceConfig()
    names = {f.name for f in dataclasses.fields(ReferenceConfig)}
    assert names <= set(json.loads(config_io.encode(ReferenceConfig())))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "not JSON"),
        ('{"format": "other"}', "not a cpm-reference-config/1 document"),
        ('{"format": "cpm-reference-config/1", "bogus": 1}', "unknown configuration fields"),
        ('{"format": "cpm-reference-config/1", "core": {"host": "h"}}', "invalid reference"),
        ('{"format": "cpm-reference-config/1", "pf_policy": {"nope": 1}}', "pf_policy"),
    ],
)
def test_bad_documents_are_value_errors(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        config_io.decode(text)


def test_endpoints_of_a_printed_profile() -> None:
    ends = endpoints_of(
        '[sut]\n[sut.cf]\nhost = "127.0.0.1"\nport = 5060\ntransport = "udp"\n'
        '[sut.client]\nhost = "127.0.0.1"\nport = 5062\ntransport = "tcp"\n'
    )
    assert ends.pf is None and ends.upper_tester_url is None
    assert ends.cf == Address("127.0.0.1", 5060, Transport.UDP)
    assert ends.client == Address("127.0.0.1", 5062, Transport.TCP)
    with pytest.raises(ValueError, match="lacks"):
        endpoints_of("[sut]\n")


async def _connects(address: Address) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address.host, address.port), 5)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def test_start_serve_and_stop_by_pid() -> None:
    child = await ReferenceProcess.start(ReferenceConfig(users=USERS))
    pid, workdir = child.process.pid, child.workdir
    try:
        assert child.endpoints.pf is not None and child.endpoints.upper_tester_url
        # the services listen (SIP over TCP shares the UDP port number)
        assert await _connects(child.endpoints.pf)
        assert workdir.is_dir()
    finally:
        code = await child.stop()
    # SIGTERM ends it cleanly and at once (no abort at interpreter exit)
    assert code == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not workdir.exists()


async def test_a_child_that_fails_is_a_clear_error_with_its_log() -> None:
    # a port that cannot be bound: the child exits before it is ready
    bad = ReferenceConfig(users=USERS, host="192.0.2.1")
    with pytest.raises(ReferenceStartError, match="before it was ready") as info:
        await ReferenceProcess.start(bad, guard=60)
    assert "192.0.2.1" in str(info.value) or "Errno" in str(info.value)


def test_the_suite_runs_against_a_reference_subprocess(tmp_path: Path) -> None:
    """``run --reference-process subprocess``: the CF test cases pass against the child (the
    tool shares nothing in-process with it), and the child is stopped and its directory
    removed at the end of the run."""
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("cpm-reference-proc-*"))
    report = tmp_path / "report"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--sut",
            "reference",
            "--reference-process",
            "subprocess",
            "--role",
            "cf",
            "--report-dir",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    cases = json.loads((report / "results.json").read_text())["test_cases"]
    assert cases and {c["verdict"] for c in cases} == {"pass"}
    assert set(tmp.glob("cpm-reference-proc-*")) <= before


OWNER = """
import argparse, asyncio
from conformance.reference.cli import build_config
from conformance.reference.spawn import ReferenceProcess

async def main():
    args = argparse.Namespace(faults="", core=None, host="127.0.0.1", config=None)
    proc = await ReferenceProcess.start(build_config(args))
    print(proc.process.pid, proc.workdir, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_the_reference_subprocess_does_not_outlive_an_owner_killed_by_sigkill() -> None:
    """SIGKILL leaves the owner no exit path: the child sees its owner's pipe close, stops,
    and removes the temporary directory nobody else will."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        pid_text, workdir = owner.stdout.readline().split()
        child = int(pid_text)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)  # probe interval of this observer; the deadline decides
    else:
        os.killpg(child, signal.SIGKILL)
        raise AssertionError("the reference subprocess outlived its owner")
    assert not Path(workdir).exists()
