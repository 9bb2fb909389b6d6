"""Where the CF and PF emulators send the in-dialog requests of the sessions they invite.

Both share the client emulator's rule (:meth:`CoreUA.in_dialog_destination`): RFC 3261
12.2.1.1, the first route of the route set (12.1.2: the 2xx's Record-Route reversed), else
the remote target when it is a literal address; a domain-name remote target without a
route set goes the way the SIP/IP core would route its Request-URI (to a role emulator of
the tool when one owns it, else the way the dialog came), never quietly back to a SUT
that left itself off the route set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from conformance.net.sip_pump import SipPump
from conformance.protocol.sip.layer import response_to
from conformance.roles.cf import CfEmulator
from conformance.roles.cf_invite import CfInviteHandle, cf_invite
from conformance.roles.client import ClientEmulator
from conformance.roles.core import ToolCore
from conformance.roles.pf import GroupSession, InviteKind, PfEmulator, PfInvite

WITHIN = 5.0
ALICE = "sip:alice@reference.test"
BOB = "sip:bob@reference.test"
ALICE_1 = "urn:uuid:00000000-0000-4000-8000-00000000a001"
FACTORY = "sip:conference-factory@cf.reference.test"
PF_URI = "sip:pf.reference.test"


@pytest.fixture
async def sut(core: ToolCore) -> AsyncIterator[SipPump]:
    """The SUT (a PF for the CF emulator, a client for the PF emulator): a bare SIP engine."""
    pump = await SipPump.start("127.0.0.1", core.capture, core.timers, retransmit_2xx=True)
    try:
        yield pump
    finally:
        await pump.close()


@pytest.fixture
async def proxy(core: ToolCore) -> AsyncIterator[SipPump]:
    """A proxy that Record-Routes (Kamailio in the kamailio layout)."""
    pump = await SipPump.start("127.0.0.1", core.capture, core.timers)
    try:
        yield pump
    finally:
        await pump.close()


@pytest.fixture
async def cf(core: ToolCore) -> AsyncIterator[CfEmulator]:
    emulator = await CfEmulator.create(core, FACTORY)
    try:
        yield emulator
    finally:
        await emulator.close()


async def answer(sut: SipPump, *, contact: str, record_route: Sequence[str]) -> None:
    """The SUT answers the INVITE it received 200 with ``contact`` and ``record_route``."""
    incoming = await sut.expect_request("INVITE", within=WITHIN)
    incoming.send(
        response_to(
            incoming.request,
            200,
            to_tag="sut-tag",
            headers=[*(("Record-Route", r) for r in record_route), ("Contact", contact)],
        )
    )


async def cf_session(
    cf: CfEmulator, sut: SipPump, *, contact: str, record_route: Sequence[str] = ()
) -> CfInviteHandle:
    """The CF's INVITE for alice to the SUT PF, answered 200."""
    handle = await cf_invite(cf, ALICE, sut.address(), originator=BOB)
    await answer(sut, contact=contact, record_route=record_route)
    assert (await handle.final(WITHIN)).status == 200
    return handle


async def pf_session(
    core: ToolCore, sut: SipPump, *, contact: str, record_route: Sequence[str] = ()
) -> tuple[PfEmulator, PfInvite]:
    """The PF's group INVITE to the SUT client, answered 200."""
    pf = await PfEmulator.create(core, PF_URI, sut.address(), ALICE)
    session = GroupSession("conv-rs", "contrib-rs", "sip:conf-rs@pf.reference.test", (BOB,))
    invite = await pf.invite(InviteKind.GROUP, session)
    await answer(sut, contact=contact, record_route=record_route)
    assert (await invite.final(WITHIN)).status == 200
    return pf, invite


def rr_of(pump: SipPump) -> str:
    address = pump.address()
    return f"<sip:{address.host}:{address.port};lr>"


# -- CF emulator -------------------------------------------------------------------------
async def test_cf_follows_the_route_set(cf: CfEmulator, sut: SipPump, proxy: SipPump) -> None:
    route = rr_of(proxy)
    handle = await cf_session(cf, sut, contact="<sip:pf-1@pf.vendor.test>", record_route=[route])
    assert handle.dialog is not None and handle.dialog.route_set == [route]
    await handle.ack()
    await handle.bye()
    got = [await proxy.expect_request(m, within=WITHIN) for m in ("ACK", "BYE")]
    assert [g.request.headers.get_all("Route") for g in got] == [[route], [route]]
    got[1].respond(200)
    assert [r.method for r in sut.received] == ["INVITE"]


async def test_cf_sends_to_a_literal_remote_target(
    cf: CfEmulator, sut: SipPump, proxy: SipPump
) -> None:
    """No route set: the PF's Contact names the host that takes the dialog (here another
    engine than the one the INVITE went to)."""
    p = proxy.address()
    handle = await cf_session(cf, sut, contact=f"<sip:pf-1@{p.host}:{p.port}>")
    await handle.ack()
    await handle.bye()
    got = [await proxy.expect_request(m, within=WITHIN) for m in ("ACK", "BYE")]
    assert [g.request.uri for g in got] == [f"sip:pf-1@{p.host}:{p.port}"] * 2
    got[1].respond(200)
    assert [r.method for r in sut.received] == ["INVITE"]


async def test_cf_sends_a_domain_target_the_core_owns_to_the_core(
    core: ToolCore, cf: CfEmulator, sut: SipPump
) -> None:
    """A PF that answers with alice's GRUU as its Contact and does not Record-Route: the
    SIP/IP core routes the CF's ACK and BYE by the GRUU to alice's client, not to the PF."""
    client = await ClientEmulator.create(core, ALICE, ALICE_1)
    gruu = f"{ALICE};gr={ALICE_1}"
    try:
        handle = await cf_session(cf, sut, contact=f"<{gruu}>")
        assert handle.dialog is not None and handle.dialog.route_set == []
        await handle.ack()
        await handle.bye()
        for method in ("ACK", "BYE"):
            got = await client.expect_request(method, within=WITHIN)
            assert got.request.uri == gruu
        assert [r.method for r in sut.received] == ["INVITE"]
    finally:
        await client.close()


async def test_cf_sends_a_domain_target_no_emulator_owns_the_way_the_dialog_came(
    cf: CfEmulator, sut: SipPump
) -> None:
    handle = await cf_session(cf, sut, contact="<sip:pf-1@pf.vendor.test>")
    await handle.bye()
    got = await sut.expect_request("BYE", within=WITHIN)
    assert got.request.uri == "sip:pf-1@pf.vendor.test"
    assert not got.request.headers.has("Route")
    got.respond(200)


# -- PF emulator -------------------------------------------------------------------------
async def test_pf_follows_the_route_set(core: ToolCore, sut: SipPump, proxy: SipPump) -> None:
    route = rr_of(proxy)
    pf, invite = await pf_session(core, sut, contact=f"<{BOB};gr=x>", record_route=[route])
    try:
        assert invite.dialog is not None and invite.dialog.route_set == [route]
        await invite.ack()
        await invite.bye()
        got = [await proxy.expect_request(m, within=WITHIN) for m in ("ACK", "BYE")]
        assert [g.request.headers.get_all("Route") for g in got] == [[route], [route]]
        got[1].respond(200)
        assert [r.method for r in sut.received] == ["INVITE"]
    finally:
        await pf.close()


async def test_pf_sends_to_a_literal_remote_target(
    core: ToolCore, sut: SipPump, proxy: SipPump
) -> None:
    p = proxy.address()
    pf, invite = await pf_session(core, sut, contact=f"<sip:alice-1@{p.host}:{p.port}>")
    try:
        await invite.ack()
        await invite.bye()
        got = [await proxy.expect_request(m, within=WITHIN) for m in ("ACK", "BYE")]
        assert [g.request.uri for g in got] == [f"sip:alice-1@{p.host}:{p.port}"] * 2
        got[1].respond(200)
        assert [r.method for r in sut.received] == ["INVITE"]
    finally:
        await pf.close()


async def test_pf_sends_a_domain_target_the_core_owns_to_the_core(
    core: ToolCore, cf: CfEmulator, sut: SipPump
) -> None:
    """A client answering with a focus URI the tool's CF emulator owns: the core routes
    the PF's ACK and BYE to the CF emulator, the client under test sees neither."""
    focus = cf.new_focus_uri()
    await cf.add_focus(focus)
    pf, invite = await pf_session(core, sut, contact=f"<{focus}>;isfocus")
    try:
        assert invite.dialog is not None and invite.dialog.route_set == []
        await invite.ack()
        await invite.bye()
        for method in ("ACK", "BYE"):
            got = await cf.expect_request(method, within=WITHIN)
            assert got.request.uri == focus
        assert [r.method for r in sut.received] == ["INVITE"]
    finally:
        await pf.close()


async def test_pf_sends_a_domain_target_no_emulator_owns_to_the_client(
    core: ToolCore, sut: SipPump
) -> None:
    """The client's GRUU in the SUT's domain: the way the dialog came (the client)."""
    gruu = f"{ALICE};gr={ALICE_1}"
    pf, invite = await pf_session(core, sut, contact=f"<{gruu}>")
    try:
        await invite.bye()
        got = await sut.expect_request("BYE", within=WITHIN)
        assert got.request.uri == gruu
        assert not got.request.headers.has("Route")
        got.respond(200)
    finally:
        await pf.close()
