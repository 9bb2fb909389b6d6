"""A ClientEmulator and the CfEmulator through one ToolCore: the core routes the
client's INVITE to the factory, the CF's BYE and NOTIFYs back to the client."""

from __future__ import annotations

from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    User,
    build_conference_info,
    parse_conference_info,
)
from conformance.documents.cpim import parse_cpim
from conformance.documents.resource_lists import parse_resource_list
from conformance.protocol.sip.headers import get_contacts, parse_subscription_state
from conformance.protocol.sip.multipart import find_recipient_list, parse_multipart
from conformance.roles.cf import CfEmulator
from conformance.roles.client import ClientEmulator
from conformance.roles.core import ToolCore

WITHIN = 5.0
FACTORY = "sip:conference-factory@cf.reference.test"
ALICE = "sip:alice@reference.test"
ALICE_1 = "urn:uuid:00000000-0000-4000-8000-00000000a001"


async def test_group_invite_msrp_both_ways_and_bye(core: ToolCore) -> None:
    client = await ClientEmulator.create(core, ALICE, ALICE_1)
    cf = await CfEmulator.create(core, FACTORY)
    try:
        msrp = await client.new_msrp_peer()
        request = client.build_group_invite(
            FACTORY,
            msrp=msrp,
            conversation_id="conv-1",
            contribution_id="contrib-1",
            participants=["sip:bob@reference.test", "sip:carol@reference.test"],
            subject="hello",
        )
        invite = await client.send_invite(request, core.address, msrp=msrp)

        incoming = await cf.expect_invite(within=WITHIN)
        got = incoming.request
        assert got.headers.get("Conversation-ID") == "conv-1"
        assert got.headers.get("Require") == "recipient-list-invite"
        parts = parse_multipart(got.body, got.headers.get("Content-Type") or "")
        recipients = find_recipient_list(parts)
        assert recipients is not None
        assert parse_resource_list(recipients.body).uris() == (
            "sip:bob@reference.test",
            "sip:carol@reference.test",
        )
        session = await incoming.accept(participants=["sip:bob@reference.test"])

        ok = await invite.final(WITHIN)
        assert ok.status == 200
        (contact,) = get_contacts(ok)
        assert contact.isfocus and contact.uri == session.focus_uri
        await invite.ack()
        ack = await cf.expect_request("ACK", within=WITHIN)
        assert ack.request.call_id == got.call_id

        # the offer was actpass, the CF answered passive: the client connects
        await invite.establish_msrp(within=WITHIN)
        await session.establish_msrp(within=WITHIN)
        msrp.send_cpim(from_=f"<{ALICE}>", to=f"<{FACTORY}>", body=b"hi all")
        received = await session.msrp.expect_message(within=WITHIN)
        assert parse_cpim(received.body).body == b"hi all"
        session.msrp.send_cpim(from_="<sip:bob@reference.test>", to=f"<{ALICE}>", body=b"hi alice")
        back = await msrp.expect_message(within=WITHIN)
        assert parse_cpim(back.body).body == b"hi alice"

        # the CF ends the session: the core routes the BYE to the client's dialog
        bye = await cf.bye(session, reason='SIP;cause=200;text="done"')
        got_bye = await client.expect_request("BYE", within=WITHIN)
        assert got_bye.request.headers.get("Reason") == 'SIP;cause=200;text="done"'
        got_bye.respond(200)
        assert (await bye.final(WITHIN)).status == 200
        assert not core.unrouted
    finally:
        await client.close()
        await cf.close()


async def test_subscribe_notify_and_noresource(core: ToolCore) -> None:
    client = await ClientEmulator.create(core, ALICE, ALICE_1)
    cf = await CfEmulator.create(core, FACTORY)
    focus = cf.new_focus_uri()
    await cf.add_focus(focus)
    try:
        sub = await client.subscribe(focus, to=core.address)
        incoming = await cf.expect_subscribe(within=WITHIN)
        assert incoming.event == "conference"
        incoming.accept()
        assert (await sub.final(WITHIN)).status == 200

        doc = build_conference_info(
            ConferenceInfo(
                entity=focus,
                state=DocState.FULL,
                version=1,
                users=(User(ALICE), User("sip:bob@reference.test")),
            )
        )
        sending = await incoming.notify(doc)
        notify = await client.expect_request("NOTIFY", within=WITHIN)
        state = parse_subscription_state(notify.request.headers.get("Subscription-State") or "")
        assert state.state == "active"
        info = parse_conference_info(notify.request.body)
        assert info.version == 1 and len(info.users) == 2
        notify.respond(200)
        assert (await sending.final(WITHIN)).status == 200

        final = await incoming.terminate("noresource")
        last = await client.expect_request("NOTIFY", within=WITHIN)
        assert last.request.headers.get("Subscription-State") == "terminated;reason=noresource"
        last.respond(200)
        assert (await final.final(WITHIN)).status == 200
    finally:
        await client.close()
        await cf.close()


async def test_unrouted_request_is_kept_and_answered_404(core: ToolCore) -> None:
    request = core.build_request(
        "OPTIONS",
        "sip:nobody@nowhere.test",
        from_="sip:x@reference.test",
        to="sip:nobody@nowhere.test",
    )
    handle = await core.send(request, core.address)
    assert (await handle.final(WITHIN)).status == 404
    assert [r.method for r in core.unrouted] == ["OPTIONS"]


async def test_routes_by_gruu_and_accept_contact_instance(core: ToolCore) -> None:
    one = await ClientEmulator.create(core, ALICE, ALICE_1)
    two = await ClientEmulator.create(core, ALICE, "urn:uuid:00000000-0000-4000-8000-00000000a002")
    try:
        by_gruu = core.build_request("MESSAGE", two.gruu, from_="sip:x@t.test", to=ALICE)
        await core.send(by_gruu, core.address)
        got = await two.expect_request("MESSAGE", within=WITHIN)
        got.respond(200)
        by_instance = core.build_request(
            "MESSAGE",
            ALICE,
            from_="sip:x@t.test",
            to=ALICE,
            headers=[("Accept-Contact", f'*;+sip.instance="<{ALICE_1}>";require;explicit')],
        )
        await core.send(by_instance, core.address)
        got = await one.expect_request("MESSAGE", within=WITHIN)
        got.respond(200)
        by_contact = core.build_request("MESSAGE", two.contact_uri, from_="sip:x@t.test", to=ALICE)
        await core.send(by_contact, core.address)
        got = await two.expect_request("MESSAGE", within=WITHIN)
        got.respond(200)
        assert not one.inbox and not two.inbox
    finally:
        await one.close()
        await two.close()
