"""Upper tester client against a tiny asyncio HTTP server (roles/upper_tester.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.checks.verdict import INCONC_PREFIX as CHECKS_INCONC_PREFIX
from conformance.roles.upper_tester import (
    ACTIONS_PATH,
    INCONC_PREFIX,
    Action,
    UpperTester,
    UpperTesterUnavailable,
    instruction,
)

GUARD = 5.0


@dataclass
class Server:
    port: int = 0
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    #: action -> (status, body bytes, chunked)
    answers: dict[str, tuple[int, bytes, bool]] = field(default_factory=dict)
    stall: bool = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode()
        method, path, _ = request_line.split(" ", 2)
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = json.loads(await reader.readexactly(length))
        self.requests.append((method, path, body))
        if self.stall:
            await asyncio.sleep(3600)
        status, payload, chunked = self.answers.get(
            body["action"], (200, b'{"status": "ok"}', False)
        )
        if chunked:
            head = f"HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            data = b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
        else:
            head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            data = payload
        writer.write(head + data)
        await writer.drain()
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    s = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.port = s.sockets[0].getsockname()[1]
    try:
        yield srv
    finally:
        s.close()


def test_prefix_matches_checks_layer() -> None:
    assert INCONC_PREFIX == CHECKS_INCONC_PREFIX


async def test_every_action_posts_json(server: Server) -> None:
    ut = UpperTester(f"http://127.0.0.1:{server.port}/sut", timeout=GUARD)
    bob = "sip:bob@example.net"
    await ut.client_offline(bob, instance="urn:uuid:1")
    await ut.client_online(bob)
    await ut.user_accept(bob)
    await ut.user_decline(bob)
    await ut.user_unavailable(bob)
    await ut.send_message(bob, "hi", conversation_id="c1", contribution_id="k1")
    await ut.admin_trigger(bob)
    await ut.set_preference(bob, "allow-offline-storage", True)
    await ut.end_session("sip:conf-1@cf.example.net")
    result = await ut.reset()
    assert result.status == 200 and result.body == {"status": "ok"}
    await ut.reset(("sip:a@x", "sip:b@x"))
    assert [b["action"] for _, _, b in server.requests] == [a.value for a in Action] + ["reset"]
    assert server.requests[-2][2] == {"action": "reset"}  # every user: no "users"
    assert server.requests[-1][2] == {"action": "reset", "users": ["sip:a@x", "sip:b@x"]}
    method, path, first = server.requests[0]
    assert (method, path) == ("POST", "/sut" + ACTIONS_PATH)
    assert first == {"action": "client-offline", "user": bob, "instance": "urn:uuid:1"}
    assert server.requests[1][2] == {"action": "client-online", "user": bob}  # no nulls
    assert server.requests[5][2]["conversation-id"] == "c1"
    assert server.requests[7][2]["value"] is True
    assert len(ut.log) == len(Action) + 1


async def test_refusals_are_inconclusive(server: Server) -> None:
    server.answers["admin-trigger"] = (501, b"", False)
    server.answers["user-decline"] = (409, b'{"status":"error","error":"busy"}', True)
    ut = UpperTester(f"http://127.0.0.1:{server.port}", timeout=GUARD)
    with pytest.raises(UpperTesterUnavailable, match="does not support admin-trigger"):
        await ut.admin_trigger("sip:a@x")
    with pytest.raises(UpperTesterUnavailable, match="refused user-decline: HTTP 409 busy") as e:
        await ut.user_decline("sip:a@x")
    assert e.value.msg.startswith("inconc: ")


async def test_timeout_and_unreachable_are_inconclusive(server: Server) -> None:
    server.stall = True
    ut = UpperTester(f"http://127.0.0.1:{server.port}", timeout=0.2)
    with pytest.raises(UpperTesterUnavailable, match=r"did not answer reset within 0\.2 s"):
        await asyncio.wait_for(ut.reset(), GUARD)
    s = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = s.sockets[0].getsockname()[1]
    s.close()
    await s.wait_closed()
    ut = UpperTester(f"http://127.0.0.1:{port}", timeout=GUARD)
    with pytest.raises(UpperTesterUnavailable, match="unreachable for reset"):
        await ut.reset()


async def test_none_configured() -> None:
    ut = UpperTester()
    assert not ut.configured and ut.mode == "none"
    with pytest.raises(UpperTesterUnavailable) as e:
        await ut.client_offline("sip:bob@x")
    assert e.value.msg == "inconc: no upper tester configured for client-offline"


async def test_manual_prompt() -> None:
    shown: list[str] = []
    answers = iter([True, False])

    async def prompt(text: str, timeout: float) -> bool:
        shown.append(text)
        return next(answers)

    ut = UpperTester(manual=True, prompt=prompt)
    assert (await ut.user_decline("sip:bob@x")).status == 0
    assert "DECLINE" in shown[0] and "sip:bob@x" in shown[0]
    with pytest.raises(UpperTesterUnavailable, match="operator could not perform"):
        await ut.client_offline("sip:bob@x", "urn:uuid:9")
    assert "client urn:uuid:9 of sip:bob@x" in shown[1]


async def test_bad_parameters_are_our_bug() -> None:
    with pytest.raises(ValueError, match="missing"):
        await UpperTester().act("set-preference", user="sip:a@x")
    with pytest.raises(ValueError):
        UpperTester("https://x")


def test_instructions_cover_every_action() -> None:
    for action in Action:
        assert instruction(action, {"user": "sip:u@x", "text": "t", "name": "n", "value": 1})


def test_manual_reset_names_the_users() -> None:
    text = instruction(Action.RESET, {"users": ["sip:a@x", "sip:b@x"]})
    assert "sip:a@x, sip:b@x" in text and "every other user alone" in text
    assert "sip:" not in instruction(Action.RESET, {})
