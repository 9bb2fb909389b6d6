"""The upper-tester HTTP/JSON server, over a real loopback connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from conformance.reference.cf import ControllingFunction
from conformance.reference.client import ReferenceClient
from conformance.reference.config import ReferenceConfig, ReferenceUser
from conformance.reference.upper_tester_server import ACTIONS_PATH, UpperTesterServer
from conformance.roles.upper_tester import UpperTester


async def post(
    server: UpperTesterServer, body: bytes, path: str = ACTIONS_PATH, method: str = "POST"
) -> tuple[int, dict[str, Any]]:
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(payload)


@pytest.fixture
async def server() -> AsyncIterator[UpperTesterServer]:
    s = UpperTesterServer()
    await s.start()
    try:
        yield s
    finally:
        await s.close()


async def test_status_codes(server: UpperTesterServer) -> None:
    resets: list[str] = []

    async def reset(params: Mapping[str, Any]) -> str:
        resets.append("x")
        return "done"

    server.register("reset", reset)
    assert await post(server, b'{"action": "reset"}') == (200, {"status": "ok", "detail": "done"})
    assert resets == ["x"]
    assert (await post(server, b"{nope"))[0] == 400
    assert (await post(server, b'["action"]'))[0] == 400
    assert (await post(server, b'{"action": "fly"}'))[0] == 422
    assert (await post(server, b'{"action": "user-decline", "user": "sip:b@x"}'))[0] == 501
    assert (await post(server, b"{}", path="/other"))[0] == 404
    assert (await post(server, b"{}", method="PUT"))[0] == 405
    assert (await post(server, b" " * 70000))[0] == 413


async def test_end_session_through_http() -> None:
    cf = await ControllingFunction.start(ReferenceConfig())
    server = UpperTesterServer()
    server.register_all(cf.actions())
    await server.start()
    try:
        status, body = await post(server, b'{"action": "end-session", "session": "sip:conf-x@h"}')
        assert status == 400 and "unknown group session" in body["error"]
        assert (await post(server, b'{"action": "end-session"}'))[0] == 400
        assert (await post(server, b'{"action": "reset"}'))[0] == 200
    finally:
        await server.close()
        await cf.close()


ALICE = "sip:alice@reference.test"
BOB = "sip:bob@reference.test"


async def test_reset_of_some_users_leaves_the_others_alone() -> None:
    """Parallel workers share the SUT: a worker's reset names its users, and another
    worker's user keeps its pending answer and its offline client (docs/upper-tester.md)."""
    config = ReferenceConfig(users=(ReferenceUser(ALICE), ReferenceUser(BOB)))
    alice = await ReferenceClient.start(config, user=ALICE)
    bob = await ReferenceClient.start(config, user=BOB)
    server = UpperTesterServer()
    for client in (alice, bob):
        server.register("reset", client.actions()["reset"])
    await server.start()
    try:
        for client in (alice, bob):
            await client.actions()["user-decline"]({"user": client.user})
            await client.actions()["client-offline"]({"user": client.user})
        ut = UpperTester(server.url, timeout=5.0)
        result = await ut.reset([ALICE])
        assert server.log[-1] == ("reset", {"users": [ALICE]}, 200), result
        assert alice.online and alice.next_answer == "accept"
        assert not bob.online and bob.next_answer == "decline"
        await ut.reset()  # no users: everyone
        assert bob.online and bob.next_answer == "accept"
        assert (await post(server, b'{"action": "reset", "users": "sip:x@y"}'))[0] == 400
        assert (await post(server, b'{"action": "reset", "users": [1]}'))[0] == 400
    finally:
        await server.close()
        await bob.close()
        await alice.close()
