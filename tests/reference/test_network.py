"""The reference network: start/stop, endpoints, upper-tester routing, the printed profile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
import urllib.request
from typing import Any

import pytest

from conformance.catalog.profile import parse_profile
from conformance.reference.cli import READY_LINE, render_profile
from conformance.reference.config import ReferenceConfig, ReferenceUser
from conformance.reference.network import ReferenceNetwork

BOB_CLIENT = "urn:uuid:00000000-0000-4000-8000-0000000b0001"
USERS = (ReferenceUser("sip:bob@reference.test", (BOB_CLIENT,)),)


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (http:// of a local server)
        url + "/upper-tester/v1/actions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_start_endpoints_routing_and_close() -> None:
    import asyncio

    network = await ReferenceNetwork.start(ReferenceConfig(users=USERS), pf_enabled=False)
    try:
        ep = network.endpoints
        assert ep.pf is None and ep.cf.port and ep.client.port and ep.upper_tester_url
        assert network.routes["user-decline"] == "client"
        assert network.routes["end-session"] == "cf"
        assert network.routes["reset"] == "all"
        url = ep.upper_tester_url
        status, body = await asyncio.to_thread(
            post, url, {"action": "user-decline", "user": "sip:bob@reference.test"}
        )
        assert status == 200 and "603" in body["detail"]
        status, _ = await asyncio.to_thread(
            post, url, {"action": "user-decline", "user": "sip:zoe@reference.test"}
        )
        assert status == 400
        status, body = await asyncio.to_thread(post, url, {"action": "reset"})
        assert status == 200 and "client" in body["detail"] and "cf" in body["detail"]
        status, _ = await asyncio.to_thread(post, url, {"action": "admin-trigger"})
        assert status == 501  # no PF in this network
    finally:
        await network.close()


async def test_profile_values_render_to_a_valid_profile() -> None:
    network = await ReferenceNetwork.start(ReferenceConfig(users=USERS), pf_enabled=False)
    try:
        values = network.profile_values()
        text = render_profile(values)
        url = network.endpoints.upper_tester_url
    finally:
        await network.close()
    profile = parse_profile(tomllib.loads(text))
    assert [r.value for r in profile.roles] == ["cf", "client"]
    assert profile.pixit.upper_tester.url == url
    assert profile.pixit.users[0].uri == "sip:bob@reference.test"


def test_reference_start_prints_a_profile_and_stops_on_sigterm() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance.reference",
            "start",
            "--faults",
            "client.subscribes-when-inactive",
            "--core",
            "127.0.0.1:5999",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            if line.strip() == READY_LINE:
                break
            lines.append(line)
        profile = parse_profile(tomllib.loads("".join(lines)))
        assert profile.faults == ("client.subscribes-when-inactive",)
        assert profile.pixit.tool_port == 5999
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unknown_fault_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conformance.reference", "start", "--faults", "client.nope"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "client.nope" in result.stderr


@pytest.mark.parametrize("core", ["nohost", "h:0", "h:x"])
def test_bad_core_exits_2(core: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conformance.reference", "start", "--core", core],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
