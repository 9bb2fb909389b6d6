"""Role emulators against each other through one tool core on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conformance.net.capture import Capture
from conformance.protocol.sip.timers import Timers
from conformance.roles.core import ToolCore

T1 = 0.02


@pytest.fixture
async def core() -> AsyncIterator[ToolCore]:
    tool = await ToolCore.start("127.0.0.1", 0, Capture(), Timers(T1, 8 * T1, 10 * T1))
    try:
        yield tool
    finally:
        await tool.close()
