"""The system flows' fixture: the tool's core relays between the SUT's PF and CF
(conformance/roles/sut_relay.py, docs/dev/topology.md "System flows")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from conformance.catalog.model import Role
from conformance.catalog.profile import Pixit
from conformance.checks import not_applicable
from conformance.roles.core import ToolCore
from conformance.roles.sut_relay import SutRelay


@pytest_asyncio.fixture(loop_scope="session")
async def sut_relay(tool_core: ToolCore, pixit: Pixit) -> AsyncIterator[SutRelay]:
    """The core forwarding between the SUT PF and the SUT CF for one test case."""
    pf, cf = pixit.sut.get(Role.PF), pixit.sut.get(Role.CF)
    if pf is None or cf is None:
        not_applicable("a system flow needs the SUT's PF and CF addresses in the profile")
    relay = SutRelay(
        tool_core,
        pf=pf,
        cf=cf,
        users=[u.uri for u in pixit.users],
        cf_uris=[pixit.uris.conference_factory],
    ).start()
    try:
        yield relay
    finally:
        await relay.close()
