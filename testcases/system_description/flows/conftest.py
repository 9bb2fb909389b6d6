"""The system flows' fixture: the tool's core relays between the SUT's PF and CF
(conformance/roles/sut_relay.py, docs/dev/topology.md "System flows").

In a pooled parallel run the relay also claims the SUT PF's and CF's addresses at the
dispatcher for the test case: a request between them that names no user of a slice (the
CF's NOTIFY to the PF's subscription, when the PF subscribed past the core) is routed by
its Request-URI to this worker, whose relay forwards it, as the serial run's core does.
The flows run on the first slice's worker for that (conformance/pytest/selection.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest_asyncio

from conformance.catalog.model import Role
from conformance.catalog.profile import Pixit
from conformance.checks import not_applicable
from conformance.net.dispatch_link import DispatchLink
from conformance.roles.core import ToolCore
from conformance.roles.sut_relay import SutRelay


@pytest_asyncio.fixture(loop_scope="session")
async def sut_relay(
    tool_core: ToolCore, pixit: Pixit, pool_link: DispatchLink | None
) -> AsyncIterator[SutRelay]:
    """The core forwarding between the SUT PF and the SUT CF for one test case."""
    pf, cf = pixit.sut.get(Role.PF), pixit.sut.get(Role.CF)
    if pf is None or cf is None:
        not_applicable("a system flow needs the SUT's PF and CF addresses in the profile")
    before = pool_link.claim if pool_link is not None else None
    if pool_link is not None and before is not None:
        sut = {(pf.host, pf.port), (cf.host, cf.port)}
        await pool_link.reclaim(dataclasses.replace(before, addresses=before.addresses | sut))
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
        if pool_link is not None and before is not None and not pool_link.closed.done():
            await pool_link.reclaim(before)
