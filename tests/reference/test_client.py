"""The reference CPM Client driven by engine peers (seed 001 7.3.11, seed 000 5.2.3.5).

``pf`` plays the PF (it invites the client and serves MSRP); ``core`` is the SIP core
where every request the client originates arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from conformance.documents.conference_info import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ConferenceInfo,
    User,
    build_conference_info,
)
from conformance.documents.cpim import build_cpim, new_cpim, parse_cpim
from conformance.documents.groupstate import (
    GROUP_STATE_CONTENT_TYPE,
    GroupState,
    GsParticipant,
    build_group_state,
)
from conformance.documents.imdn import IMDN_CONTENT_TYPE, parse_imdn
from conformance.documents.resource_lists import parse_resource_list
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpChannel
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.msrp.session import MessageReceived, MsrpSession
from conformance.protocol.sip.cpm import ICSI_DEFERRED, ICSI_SESSION
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipResponse
from conformance.protocol.sip.multipart import find_recipient_list, find_sdp, parse_multipart
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.reference.client import ReferenceClient, icsi_param
from conformance.reference.config import ReferenceConfig, ReferenceUser
from conformance.reference.faults import ActiveFaults
from tests.reference.ua import WITHIN, Peer

ABSENCE = ReferenceConfig().timers.b
BOB = "sip:bob@reference.test"
CONV = "c0ffee0000000000000000000000c0de"
CONTRIB = "abcdef0123456789abcdef0123456789"


@asynccontextmanager
async def running(*faults: str) -> AsyncIterator[tuple[ReferenceClient, Peer, Peer]]:
    pf = await Peer.start("pf")
    core = await Peer.start("core")
    config = ReferenceConfig(
        core=core.sip.address(),
        faults=ActiveFaults(frozenset(faults)),
        users=(ReferenceUser(BOB, ("urn:uuid:00000000-0000-4000-8000-00000000b001",)),),
    )
    client = await ReferenceClient.start(config)
    try:
        yield client, pf, core
    finally:
        await client.close()
        await pf.close()
        await core.close()


@dataclass
class Delivery:
    response: SipResponse
    dialog: Dialog | None = None
    channel: MsrpChannel | None = None
    session: MsrpSession | None = None


async def invite(
    pf: Peer,
    client: ReferenceClient,
    *,
    icsi: str,
    direction: str,
    conv: str = CONV,
    contrib: str = CONTRIB,
    connect: bool = True,
) -> Delivery:
    """The PF invites the client (setup actpass); on 200 it ACKs and takes the client's
    MSRP connection."""
    sid = new_tag()
    sdp = build_msrp_sdp(
        host="127.0.0.1",
        port=pf.msrp.address().port,
        path=[pf.msrp.uri(sid)],
        setup="actpass",
        direction=direction,
    )
    request = pf.request(
        "INVITE",
        client.contact,
        body=sdp,
        headers=[
            ("Accept-Contact", f"*;{icsi_param(icsi)}"),
            ("Conversation-ID", conv),
            ("Contribution-ID", contrib),
        ],
    )
    handle = await pf.sip.request(request, client.address)
    response = await handle.final(WITHIN)
    delivery = Delivery(response)
    if response.status != 200:
        return delivery
    delivery.dialog = Dialog.uac(request, response)
    await pf.sip.request(delivery.dialog.create_ack(request.cseq[0], via=pf.via()), client.address)
    if connect:
        answer = parse_sdp(response.body).msrp
        assert answer.setup == "active"
        delivery.channel = await pf.msrp.accepted(within=WITHIN)
        delivery.session = delivery.channel.add_session(pf.msrp.uri(sid), answer.path)
    return delivery


async def join_group(client: ReferenceClient, pf: Peer) -> Delivery:
    """A normal group invitation the client accepts (it learns the session)."""
    d = await invite(pf, client, icsi=ICSI_SESSION, direction="sendrecv")
    assert d.response.status == 200
    return d


def stored(text: str, message_id: str) -> bytes:
    return build_cpim(
        new_cpim(
            from_="<sip:alice@reference.test>",
            to="<sip:bob@reference.test>",
            body=text.encode(),
            content_type="text/plain",
            imdn_message_id=message_id,
            disposition_notification=("positive-delivery",),
        )
    )


async def deliver(d: Delivery, *texts: str) -> None:
    assert d.channel is not None and d.session is not None
    for i, text in enumerate(texts):
        d.channel.send_message(d.session, stored(text, f"msg{i}"), "message/cpim")


async def bye(pf: Peer, client: ReferenceClient, d: Delivery) -> None:
    assert d.dialog is not None
    request = d.dialog.create_request("BYE", via=pf.via())
    assert (await (await pf.sip.request(request, client.address)).final(WITHIN)).status == 200


def _after(peer: Peer, since: int) -> Callable[[IncomingRequest], bool]:
    return lambda r: any(r is x for x in peer.sip.received[since:])


async def expect(peer: Peer, method: str, since: int = 0) -> IncomingRequest:
    """The first ``method`` request the peer received at index ``since`` or later."""
    return await peer.sip.expect_request(method, within=WITHIN, match=_after(peer, since))


async def no_request(peer: Peer, method: str, since: int = 0) -> None:
    with pytest.raises(WaitTimeout):
        await peer.sip.expect_request(method, within=ABSENCE, match=_after(peer, since))


async def end_group(client: ReferenceClient, pf: Peer, d: Delivery, core: Peer) -> int:
    """The group session ends (BYE); the SUBSCRIBE the client sent is answered 404."""
    sub = await core.sip.expect_request("SUBSCRIBE", within=WITHIN)
    sub.respond(404)
    await bye(pf, client, d)
    return len(core.sip.received)


async def test_inactive_deferred_delivery_imdns_in_sip_message_and_no_subscribe() -> None:
    async with running() as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")
        assert d.response.status == 200
        assert parse_sdp(d.response.body).msrp.direction == "recvonly"
        await deliver(d, "one", "two")
        ids = set()
        for _ in range(2):
            message = await expect(core, "MESSAGE", since)
            since = core.sip.received.index(message) + 1
            message.respond(200)
            cpim = parse_cpim(message.request.body)
            assert cpim.content_type == IMDN_CONTENT_TYPE
            imdn = parse_imdn(cpim.body)
            assert imdn.status == "delivered"
            ids.add(imdn.message_id)
        assert ids == {"msg0", "msg1"}
        await no_request(core, "SUBSCRIBE", since)


async def test_unknown_session_gets_481() -> None:
    async with running() as (client, pf, _):
        await join_group(client, pf)
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly", contrib="ff")
        assert d.response.status == 481
        d = await invite(pf, client, icsi=ICSI_SESSION, direction="sendrecv", contrib="ff")
        assert d.response.status == 481


async def test_options_cancel_and_unsupported_methods_follow_the_element_policy() -> None:
    """The policy of every reference element (conformance.reference.element): an
    unsupported method gets 501 with Allow (RFC 3261 21.5.2), as from the PF and the CF."""
    async with running() as (client, _, core):
        at = client.sip.address()
        for method, status in (
            ("OPTIONS", 200),
            ("CANCEL", 481),
            ("PUBLISH", 501),
            ("SUBSCRIBE", 501),
        ):
            request = core.request(method, BOB)
            response = await (await core.sip.request(request, at)).final(WITHIN)
            assert response.status == status, method
            if status != 481:
                assert response.headers.get("Allow") == client.allow


@pytest.mark.parametrize(
    ("action", "status"), [("user-decline", 603), ("user-unavailable", 480), ("user-accept", 200)]
)
async def test_user_answer_through_the_upper_tester(action: str, status: int) -> None:
    async with running() as (client, pf, _):
        await join_group(client, pf)
        await client.actions()[action]({"user": BOB})
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly", connect=False)
        assert d.response.status == status
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly", connect=False)
        assert d.response.status == 200  # the answer holds for the next invitation only


async def test_active_case_subscribes_to_the_focus_and_imdn_over_msrp() -> None:
    async with running() as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        d = await invite(pf, client, icsi=ICSI_SESSION, direction="sendrecv")
        assert d.response.status == 200
        sub = await expect(core, "SUBSCRIBE", since)
        sub.respond(404)
        assert sub.request.uri == pf.contact
        assert sub.request.headers.get("Event") == "conference"
        assert "cpm.session" in (sub.request.headers.get("Accept-Contact") or "")
        await deliver(d, "one")
        assert d.channel is not None
        got = await d.channel.expect(MessageReceived, within=WITHIN, match=lambda e: bool(e.body))
        assert parse_cpim(got.body).content_type == IMDN_CONTENT_TYPE


async def rejoin_after_gso(client: ReferenceClient, pf: Peer, core: Peer) -> list[str]:
    """Inactive delivery with a Group State Object; the user replies; the re-join INVITE's
    resource list is returned."""
    group = await join_group(client, pf)
    since = await end_group(client, pf, group, core)
    d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")
    assert d.channel is not None and d.session is not None
    gso = build_group_state(
        GroupState(
            lastfocussessionid=pf.contact,
            timestamp="2024-01-01T00:00:00Z",
            group_type="Closed",
            participants=(
                GsParticipant("sip:alice@reference.test", role="Participant"),
                GsParticipant("sip:dave@reference.test", role="Participant"),
                GsParticipant(BOB, role="Participant"),
            ),
        )
    )
    d.channel.send_message(d.session, gso, GROUP_STATE_CONTENT_TYPE)
    detail = await client.actions()["send-message"](
        {"user": BOB, "text": "hi", "conversation-id": CONV}
    )
    assert "queued" in detail
    await no_request(core, "INVITE", since)  # not before the deferred session ended
    await bye(pf, client, d)
    rejoin = await expect(core, "INVITE", since)
    assert rejoin.request.uri == pf.contact
    assert rejoin.request.headers.get("Conversation-ID") == CONV
    assert rejoin.request.headers.get("Contribution-ID") == CONTRIB
    parts = parse_multipart(rejoin.request.body, rejoin.request.headers.get("Content-Type") or "")
    assert find_sdp(parts) is not None
    listed = find_recipient_list(parts)
    assert listed is not None
    rejoin.respond(480)
    return list(parse_resource_list(listed.body).uris())


async def rejoin_after_404(client: ReferenceClient, pf: Peer, core: Peer) -> list[str]:
    """The client holds a Group State Object (alice, dave), then a NOTIFY lists erin too;
    its refresh SUBSCRIBE on the next re-connection gets 404; the user replies: the
    re-join INVITE's resource list is returned (5.2.3.5 404-GSO)."""
    group = await join_group(client, pf)
    since = await end_group(client, pf, group, core)
    d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")
    assert d.channel is not None and d.session is not None
    gso = build_group_state(
        GroupState(
            lastfocussessionid=pf.contact,
            timestamp="2024-01-01T00:00:00Z",
            group_type="Closed",
            participants=(
                GsParticipant("sip:alice@reference.test", role="Participant"),
                GsParticipant("sip:dave@reference.test", role="Participant"),
                GsParticipant(BOB, role="Participant"),
            ),
        )
    )
    d.channel.send_message(d.session, gso, GROUP_STATE_CONTENT_TYPE)
    await bye(pf, client, d)
    # re-connected (sendrecv): the refresh is accepted and a NOTIFY lists erin as well
    d = await invite(pf, client, icsi=ICSI_SESSION, direction="sendrecv")
    sub = await expect(core, "SUBSCRIBE", since)
    since = core.sip.received.index(sub) + 1
    tag = new_tag()
    ok = sub.respond(
        200, to_tag=tag, headers=[("Expires", "600"), ("Contact", f"<{core.contact}>")]
    )
    dialog = Dialog.uas(sub.request, tag, core.contact)
    dialog.confirm(ok)
    info = build_conference_info(
        ConferenceInfo(
            entity=pf.contact,
            version=1,
            users=tuple(
                User(u)
                for u in (
                    "sip:alice@reference.test",
                    "sip:dave@reference.test",
                    "sip:erin@reference.test",
                    BOB,
                )
            ),
        )
    )
    notify = dialog.create_request(
        "NOTIFY",
        via=core.via(),
        headers=[
            ("Event", "conference"),
            ("Subscription-State", "active;expires=600"),
            ("Content-Type", CONFERENCE_INFO_CONTENT_TYPE),
        ],
        body=info,
    )
    handle = await core.sip.request(notify, client.address)
    assert (await handle.final(WITHIN)).status == 200
    await bye(pf, client, d)
    # re-connected again: the refresh gets 404 (the group session is inactive)
    d = await invite(pf, client, icsi=ICSI_SESSION, direction="sendrecv")
    sub = await expect(core, "SUBSCRIBE", since)
    since = core.sip.received.index(sub) + 1
    sub.respond(404)
    await bye(pf, client, d)
    detail = await client.actions()["send-message"](
        {"user": BOB, "text": "hi", "conversation-id": CONV}
    )
    assert "re-joined" in detail
    rejoin = await expect(core, "INVITE", since)
    listed = find_recipient_list(
        parse_multipart(rejoin.request.body, rejoin.request.headers.get("Content-Type") or "")
    )
    assert listed is not None
    return list(parse_resource_list(listed.body).uris())


async def test_group_state_object_updates_the_participants_of_the_rejoin() -> None:
    async with running() as (client, pf, core):
        assert await rejoin_after_gso(client, pf, core) == [
            "sip:alice@reference.test",
            "sip:dave@reference.test",
        ]


async def test_no_rejoin_without_a_message() -> None:
    async with running() as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")
        await bye(pf, client, d)
        await no_request(core, "INVITE", since)


async def test_bad_input_never_crashes_it() -> None:
    async with running() as (client, pf, _):
        request = pf.request(
            "INVITE", client.contact, body=b"garbage", content_type="application/sdp"
        )
        response = await (await pf.sip.request(request, client.address)).final(WITHIN)
        assert response.status == 488
        client.sip.send_raw(b"", client.address)
        await join_group(client, pf)


# -- faults -----------------------------------------------------------------------------


async def test_fault_deferred_480_instead_of_200() -> None:
    async with running("client.deferred-480-instead-of-200") as (client, pf, _):
        await join_group(client, pf)
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")
        assert d.response.status == 480


async def test_fault_unknown_session_200() -> None:
    async with running("client.unknown-session-200") as (client, pf, _):
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly", conv="zz")
        assert d.response.status == 200


async def test_fault_imdn_over_msrp_when_inactive() -> None:
    async with running("client.imdn-over-msrp-when-inactive") as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")
        await deliver(d, "one")
        assert d.channel is not None
        got = await d.channel.expect(MessageReceived, within=WITHIN, match=lambda e: bool(e.body))
        assert parse_cpim(got.body).content_type == IMDN_CONTENT_TYPE
        await no_request(core, "MESSAGE", since)


async def test_fault_imdn_over_sip_when_active() -> None:
    async with running("client.imdn-over-sip-when-active") as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        d = await invite(pf, client, icsi=ICSI_SESSION, direction="sendrecv")
        await deliver(d, "one")
        message = await expect(core, "MESSAGE", since)
        assert parse_cpim(message.request.body).content_type == IMDN_CONTENT_TYPE


async def test_fault_subscribes_when_inactive() -> None:
    async with running("client.subscribes-when-inactive") as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")
        await expect(core, "SUBSCRIBE", since)


async def test_fault_no_msrp_after_ack() -> None:
    async with running("client.no-msrp-after-ack") as (client, pf, _):
        await join_group(client, pf)
        with pytest.raises(WaitTimeout):
            await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")


async def test_fault_ignores_group_state_object() -> None:
    async with running("client.ignores-group-state-object") as (client, pf, core):
        assert await rejoin_after_gso(client, pf, core) == [pf.aor]


async def test_404_on_refresh_falls_back_to_the_group_state_object() -> None:
    async with running() as (client, pf, core):
        assert await rejoin_after_404(client, pf, core) == [
            "sip:alice@reference.test",
            "sip:dave@reference.test",
        ]


async def test_fault_stale_participants_after_404() -> None:
    async with running("client.stale-participants-after-404") as (client, pf, core):
        assert await rejoin_after_404(client, pf, core) == [
            "sip:alice@reference.test",
            "sip:dave@reference.test",
            "sip:erin@reference.test",
        ]


async def test_fault_rejoin_without_message() -> None:
    async with running("client.rejoin-without-message") as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        d = await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")
        await bye(pf, client, d)
        await expect(core, "INVITE", since)


async def test_fault_rejoin_during_deferred_session() -> None:
    async with running("client.rejoin-during-deferred-session") as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        await invite(pf, client, icsi=ICSI_DEFERRED, direction="sendonly")

        async def answer() -> None:
            rejoin = await expect(core, "INVITE", since)
            rejoin.respond(480)

        task = asyncio.create_task(answer())
        await client.actions()["send-message"]({"user": BOB, "text": "hi"})
        await asyncio.wait_for(task, WITHIN)


async def test_fault_no_subscribe_refresh_when_active() -> None:
    async with running("client.no-subscribe-refresh-when-active") as (client, pf, core):
        group = await join_group(client, pf)
        since = await end_group(client, pf, group, core)
        await invite(pf, client, icsi=ICSI_SESSION, direction="sendrecv")
        await no_request(core, "SUBSCRIBE", since)
