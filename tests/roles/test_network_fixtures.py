"""The network fixtures on the session loop, against the reference profile: a client of
the profile's first user invites the CF emulator's factory URI through the core."""

from __future__ import annotations

import pytest

from conformance.catalog.profile import Pixit
from conformance.fixtures.network import (
    CaptureView,
    ClientFactory,
    Guards,
    capture,
    cf_emulator,
    client_factory,
    guards,
    pool_link,
    run_capture,
    scscf,
    tool_core,
    xdms,
    xdms_preferences,
)
from conformance.fixtures.profile import loaded_profile, pixit
from conformance.fixtures.reference import reference_sut, sut_profile
from conformance.roles.cf import CfEmulator
from conformance.roles.core import ToolCore
from conformance.roles.xdms import XdmsServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

__all__ = [  # fixtures used by name
    "capture",
    "cf_emulator",
    "client_factory",
    "guards",
    "loaded_profile",
    "pixit",
    "pool_link",
    "reference_sut",
    "run_capture",
    "scscf",
    "sut_profile",
    "tool_core",
    "xdms",
    "xdms_preferences",
]


async def test_client_invites_cf_through_the_core(
    client_factory: ClientFactory,
    cf_emulator: CfEmulator,
    tool_core: ToolCore,
    guards: Guards,
    capture: CaptureView,
    pixit: Pixit,
) -> None:
    assert guards.sip == pytest.approx(64 * pixit.timers.t1 + 1.0)
    alice = pixit.users[0]
    client = await client_factory(alice.uri, register=False)
    assert client.instance == alice.clients[0]
    msrp = await client.new_msrp_peer()
    request = client.build_group_invite(
        pixit.uris.conference_factory,
        msrp=msrp,
        conversation_id="c1",
        contribution_id="k1",
        participants=[u.uri for u in pixit.users[1:]],
    )
    invite = await client.send_invite(request, tool_core.address, msrp=msrp)
    incoming = await cf_emulator.expect_invite(within=guards.sip)
    incoming.reject(486)
    assert (await invite.final(guards.sip)).status == 486
    assert len(capture) >= 4  # INVITE, 486 in and out; the ACK of the 486


async def test_core_is_shared_and_xdms_cleared(
    tool_core: ToolCore, xdms_preferences: XdmsServer, capture: CaptureView
) -> None:
    assert tool_core.address.port != 0
    assert capture.records == []
    xdms_preferences.set_preferences("sip:alice@reference.test", do_not_disturb=True)
    assert xdms_preferences.document("sip:alice@reference.test") is not None


async def test_client_factory_registers_with_the_reference_pf(
    client_factory: ClientFactory, pixit: Pixit
) -> None:
    if client_factory.pf is None:
        pytest.skip("no PF under test in this profile")
    bob = pixit.users[1]
    client = await client_factory(bob.uri, 1)
    assert (bob.uri, client.instance) in client_factory.scscf.registrations
    sent = client_factory.scscf.sent[-1]
    assert sent.response.status == 200
    assert sent.request.uri == pixit.uris.pf
