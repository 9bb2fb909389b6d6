"""Fixtures of the hostile-input tests: the tool's core and a client emulator, with
small timers so that every guard ends in about a second."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from conformance.net.capture import Capture
from conformance.protocol.sip.timers import Timers
from conformance.roles.client import ClientEmulator
from conformance.roles.core import ToolCore

from .peers import tracebacks

T1 = 0.02
#: the guard of every wait in these tests: Timer B (64*T1) plus slack
GUARD = 64 * T1 + 0.2
ALICE = "sip:alice@reference.test"
FACTORY = "sip:conference-factory@cf.reference.test"


@pytest.fixture
async def core() -> AsyncIterator[ToolCore]:
    tool = await ToolCore.start("127.0.0.1", 0, Capture(), Timers(T1, 8 * T1, 10 * T1))
    try:
        yield tool
    finally:
        await tool.close()


@pytest.fixture
async def client(core: ToolCore) -> AsyncIterator[ClientEmulator]:
    emulator = await ClientEmulator.create(
        core, ALICE, "urn:uuid:00000000-0000-4000-8000-00000000a001"
    )
    try:
        yield emulator
    finally:
        await emulator.close()


@pytest.fixture(autouse=True)
def no_traceback(caplog: pytest.LogCaptureFixture) -> object:
    """No hostile input may make the tool log an unhandled exception."""
    caplog.set_level(logging.WARNING)
    yield None
    found = tracebacks(caplog.records)
    assert not found, found
