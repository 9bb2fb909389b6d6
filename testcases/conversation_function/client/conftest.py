"""The ``pf_emulator`` fixture: the PF (and S-CSCF) towards the CPM Client under test.

The client under test is reached at PIXIT ``sut.client``; the user it serves is the first
of the profile's ``[[users]]`` (a convention, no PIXIT key names it; the reference client
is that user). Every test gets a fresh emulator; ``reset`` through the upper tester at teardown
clears a pending ``user-*`` answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest_asyncio
from conformance.fixtures.network import name_sut

from conformance.catalog.model import Role
from conformance.catalog.profile import Pixit
from conformance.checks import not_applicable
from conformance.roles.core import ToolCore
from conformance.roles.pf import PfEmulator
from conformance.roles.upper_tester import UpperTester, UpperTesterUnavailable


@pytest_asyncio.fixture(loop_scope="session")
async def pf_emulator(
    tool_core: ToolCore, pixit: Pixit, upper_tester: UpperTester
) -> AsyncIterator[PfEmulator]:
    address = pixit.sut.get(Role.CLIENT)
    if address is None or not pixit.users:
        not_applicable("no CPM Client address (sut.client) or no user in the profile")
    pf = await PfEmulator.create(
        tool_core,
        pixit.uris.pf or f"sip:pf@{pixit.tool_host}",
        address,
        pixit.users[0].uri,
        msrp_host=pixit.tool_host,
    )
    name_sut(tool_core.capture, pixit)
    try:
        yield pf
    finally:
        await pf.close()
        if upper_tester.configured:
            with contextlib.suppress(UpperTesterUnavailable):
                await upper_tester.reset()
