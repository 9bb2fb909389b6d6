"""Where the client emulator sends the in-dialog requests of the session it originated.

RFC 3261 12.1.2: the route set is the Record-Route of the 2xx in reverse order; 12.2.1.1:
a request goes to the first route, else to the remote target. A remote target with a
domain name and no route set goes the way the SIP/IP core would route its Request-URI:
a focus URI to the CF emulator, not back to a SUT that left itself off the route set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from conformance.net.sip_pump import SipPump
from conformance.protocol.sip.layer import response_to
from conformance.roles.cf import CfEmulator
from conformance.roles.client import ClientEmulator, InviteHandle
from conformance.roles.core import ToolCore

WITHIN = 5.0
ALICE = "sip:alice@reference.test"
ALICE_1 = "urn:uuid:00000000-0000-4000-8000-00000000a001"
FACTORY = "sip:conference-factory@cf.reference.test"


@pytest.fixture
async def sut(core: ToolCore) -> AsyncIterator[SipPump]:
    """A SUT PF: a bare SIP engine on loopback."""
    pump = await SipPump.start("127.0.0.1", core.capture, core.timers, retransmit_2xx=True)
    try:
        yield pump
    finally:
        await pump.close()


async def originate(
    core: ToolCore, sut: SipPump, *, contact: str, record_route: Sequence[str]
) -> tuple[ClientEmulator, InviteHandle]:
    """alice's group INVITE to the SUT, answered 200 with ``contact`` and ``record_route``."""
    client = await ClientEmulator.create(core, ALICE, ALICE_1)
    msrp = await client.new_msrp_peer()
    request = client.build_group_invite(
        FACTORY,
        msrp=msrp,
        conversation_id="conv-rs",
        contribution_id="contrib-rs",
        participants=["sip:bob@reference.test"],
    )
    handle = await client.send_invite(request, sut.address(), msrp=msrp)
    incoming = await sut.expect_request("INVITE", within=WITHIN)
    ok = response_to(
        incoming.request,
        200,
        to_tag="pf-tag",
        headers=[*(("Record-Route", r) for r in record_route), ("Contact", contact)],
    )
    incoming.send(ok)
    assert (await handle.final(WITHIN)).status == 200
    return client, handle


async def test_route_set_is_the_record_route_reversed_and_the_bye_follows_it(
    core: ToolCore, sut: SipPump
) -> None:
    proxy = await SipPump.start("127.0.0.1", core.capture, core.timers)
    client: ClientEmulator | None = None
    try:
        p, s = proxy.address(), sut.address()
        # the SUT (a B2BUA with the focus Contact) on top, the proxy next to the client below
        pf_rr, proxy_rr = f"<sip:{s.host}:{s.port};lr>", f"<sip:{p.host}:{p.port};lr;ftag=x>"
        client, handle = await originate(
            core,
            sut,
            contact="<sip:conf-1@cf.reference.test>;isfocus",
            record_route=[pf_rr, proxy_rr],
        )
        assert handle.dialog is not None
        assert handle.dialog.route_set == [proxy_rr, pf_rr]
        ack = await handle.ack()
        assert ack.headers.get_all("Route") == [proxy_rr, pf_rr]
        await handle.bye()
        got = [await proxy.expect_request(m, within=WITHIN) for m in ("ACK", "BYE")]
        assert [g.request.uri for g in got] == ["sip:conf-1@cf.reference.test"] * 2
        assert got[1].request.headers.get_all("Route") == [proxy_rr, pf_rr]
        got[1].respond(200)
        assert [r.method for r in sut.received] == ["INVITE"]
    finally:
        if client is not None:
            await client.close()
        await proxy.close()


async def test_without_a_route_set_a_focus_uri_goes_to_the_cf_emulator(
    core: ToolCore, sut: SipPump
) -> None:
    """The SUT's 200 carries the focus Contact and no Record-Route: the SIP/IP core routes
    the client's ACK and BYE by their Request-URI to the CF, and the SUT sees neither."""
    cf = await CfEmulator.create(core, FACTORY)
    focus = cf.new_focus_uri()
    await cf.add_focus(focus)
    client: ClientEmulator | None = None
    try:
        client, handle = await originate(core, sut, contact=f"<{focus}>;isfocus", record_route=[])
        assert handle.dialog is not None and handle.dialog.route_set == []
        await handle.ack()
        await handle.bye()
        for method in ("ACK", "BYE"):
            got = await cf.expect_request(method, within=WITHIN)
            assert got.request.uri == focus
        assert [r.method for r in sut.received] == ["INVITE"]
    finally:
        if client is not None:
            await client.close()
        await cf.close()


async def test_without_a_route_set_a_domain_no_emulator_owns_goes_to_the_sut(
    core: ToolCore, sut: SipPump
) -> None:
    """A remote target in a domain the tool does not serve (the SUT's own): the way the
    dialog came."""
    client, handle = await originate(
        core, sut, contact="<sip:pf-1@pf.vendor.test>", record_route=[]
    )
    try:
        await handle.bye()
        got = await sut.expect_request("BYE", within=WITHIN)
        assert got.request.uri == "sip:pf-1@pf.vendor.test"
        assert not got.request.headers.has("Route")
        got.respond(200)
    finally:
        await client.close()
