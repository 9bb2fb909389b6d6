"""Fixtures of the interop tests: the pjsua2 peer and our engine's UA.

A missing pjsua2 or kamailio skips a test locally and fails it under CI, through the
``needs_server`` marker handled in ``tests/conftest.py`` (``tests/support/servers.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conformance.roles.pjsip_peer import PjsipPeer
from tests.interop import EngineUA


@pytest.fixture
async def pjsip() -> AsyncIterator[PjsipPeer]:
    """A started :class:`~conformance.roles.pjsip_peer.PjsipPeer` (one per test).

    pjsua2 allows one Endpoint per process; the peer is stopped (``libDestroy``) after
    each test, so the next test can start a new one.
    """
    peer = await PjsipPeer.start()
    try:
        yield peer
    finally:
        await peer.stop()


@pytest.fixture
async def engine() -> AsyncIterator[EngineUA]:
    ua = await EngineUA.start("engine")
    try:
        yield ua
    finally:
        await ua.close()


@pytest.fixture
async def engine_b() -> AsyncIterator[EngineUA]:
    ua = await EngineUA.start("bob")
    try:
        yield ua
    finally:
        await ua.close()
