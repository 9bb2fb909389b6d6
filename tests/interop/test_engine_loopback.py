"""Engine <-> engine on loopback, no external peer: the pieces a CPM group chat needs.

- INVITE/200/ACK/BYE with an MSRP offer and answer (RFC 4975 8), then a chunked SEND
  with ``Success-Report: yes`` answered chunk by chunk and confirmed by one REPORT
  covering the whole message (RFC 4975 7.1.2);
- SUBSCRIBE/NOTIFY for the ``conference`` event package (RFC 4575): a full document, two
  partial updates merged by entity, then termination with ``reason=noresource``
  (RFC 6665 4.1.3: the subscriber must not re-subscribe).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from conformance.documents.conference_info import (
    CONFERENCE_INFO_CONTENT_TYPE,
    Applied,
    ConferenceInfo,
    ConferenceState,
    DocState,
    User,
    build_conference_info,
    parse_conference_info,
)
from conformance.net.msrp_pump import MsrpPump
from conformance.protocol.msrp.session import ReportReceived
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.protocol.sip.subscription import (
    Notifier,
    Subscriber,
    SubscriberState,
)
from tests.interop import EngineUA

WITHIN = 5.0


@pytest.fixture
async def msrp_pumps() -> AsyncIterator[tuple[MsrpPump, MsrpPump]]:
    a = await MsrpPump.start()
    b = await MsrpPump.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_msrp_session_with_chunked_send_and_success_report(
    engine: EngineUA, engine_b: EngineUA, msrp_pumps: tuple[MsrpPump, MsrpPump]
) -> None:
    msrp_a, msrp_b = msrp_pumps
    alice_uri = msrp_a.uri("alice-session")
    offer = build_msrp_sdp(
        host=engine.host,
        port=msrp_a.address().port,
        path=[alice_uri],
        accept_types=("message/cpim", "text/plain"),
        setup="active",
    )
    invite = engine.request(
        "INVITE", engine_b.uri(), to=engine_b.uri(), body=offer, content_type="application/sdp"
    )
    await engine.send(invite, engine_b.address())

    # callee: answer with its own path; the offerer connects (RFC 4975 8.1)
    incoming = await engine_b.expect_request("INVITE", WITHIN)
    remote_offer = parse_sdp(incoming.request.body).msrp
    assert remote_offer.path == [alice_uri]
    bob_uri = msrp_b.uri("bob-session")
    answer = build_msrp_sdp(
        host=engine_b.host,
        port=msrp_b.address().port,
        path=[bob_uri],
        accept_types=("message/cpim", "text/plain"),
        setup="passive",
    )
    tag = new_tag()
    bob_dialog = Dialog.uas(incoming.request, tag, engine_b.uri())
    bob_dialog.confirm(await engine_b.reply(incoming, 200, to_tag=tag, contact=True, body=answer))

    ok = await engine.expect_response(invite, WITHIN)
    assert ok.status == 200
    assert parse_sdp(ok.body).msrp.path == [bob_uri]
    alice_dialog = Dialog.uac(invite, ok)
    await engine.send_ack(alice_dialog, invite)
    await engine_b.expect_request("ACK", WITHIN)

    # MSRP: alice connects, both sides know the session, alice sends 5 chunks
    channel_a = await msrp_a.connect(msrp_b.address().host, msrp_b.address().port)
    session_a = channel_a.add_session(alice_uri, bob_uri)
    channel_b = await msrp_b.accepted(within=WITHIN)
    channel_b.add_session(bob_uri, alice_uri)

    body = bytes(range(256)) * 18 + b"end"  # 4611 bytes
    chunks = channel_a.send_message(
        session_a, body, "text/plain", success_report="yes", chunk_size=1024
    )
    assert len(chunks) == 5

    received = await channel_b.expect_message(within=WITHIN)
    assert received.body == body
    assert received.content_type == "text/plain"
    assert received.chunk_sizes == (1024, 1024, 1024, 1024, len(body) - 4096)
    for chunk in chunks:
        response = await channel_a.response(chunk, within=WITHIN)
        assert response.status_code == 200

    report = await channel_a.expect(ReportReceived, within=WITHIN)
    assert report.message_id == chunks[0].message_id
    assert report.status.code == 200
    assert report.byte_range is not None
    assert (report.byte_range.start, report.byte_range.end, report.byte_range.total) == (
        1,
        len(body),
        len(body),
    )

    # end of the session
    bye_task = asyncio.create_task(engine.send_in_dialog(alice_dialog, "BYE"))
    bye = await engine_b.expect_request("BYE", WITHIN)
    bob_dialog.receive_request(bye.request)
    await engine_b.reply(bye, 200)
    _, bye_ok = await asyncio.wait_for(bye_task, WITHIN)
    assert bye_ok.status == 200


def _conference(version: int, state: DocState, *users: User) -> bytes:
    return build_conference_info(
        ConferenceInfo(
            entity="sip:conf-1@cf.example.test",
            state=state,
            version=version,
            users=users,
        )
    )


async def test_conference_subscription_partial_updates_and_noresource(
    engine: EngineUA, engine_b: EngineUA
) -> None:
    loop = asyncio.get_running_loop()
    subscriber = Subscriber("conference", 600)
    notifier = Notifier("conference", max_expires=3600)
    view = ConferenceState()

    subscribe = engine.request(
        "SUBSCRIBE",
        engine_b.uri(),
        to=engine_b.uri(),
        headers=[
            ("Event", "conference"),
            ("Accept", CONFERENCE_INFO_CONTENT_TYPE),
            ("Expires", "600"),
        ],
    )
    handle = await engine.send(subscribe, engine_b.address())
    subscriber.on_subscribe_sent(loop.time())

    # notifier: accept, then NOTIFY at once (RFC 6665 4.2.1.2)
    incoming = await engine_b.expect_request("SUBSCRIBE", WITHIN)
    decision = notifier.on_subscribe(incoming.request, loop.time())
    assert decision.status == 200 and decision.notify
    tag = new_tag()
    accepted = await engine_b.reply(
        incoming, decision.status, to_tag=tag, contact=True, headers=decision.headers
    )
    notifier_dialog = Dialog.uas(incoming.request, tag, engine_b.uri())
    notifier_dialog.confirm(accepted)

    response = await handle.final(WITHIN)
    subscriber.on_response(response, loop.time())
    subscriber_dialog = Dialog.uac(subscribe, response)

    alice = User("sip:alice@example.test")
    bob = User("sip:bob@example.test")
    carol = User("sip:carol@example.test")
    documents = [
        _conference(1, DocState.FULL, alice, bob),
        _conference(2, DocState.PARTIAL, carol),
        _conference(3, DocState.PARTIAL, User(bob.entity, state=DocState.DELETED)),
    ]

    async def notify_and_check(body: bytes) -> tuple[str, int]:
        sending = asyncio.create_task(
            engine_b.send_in_dialog(
                notifier_dialog,
                "NOTIFY",
                headers=[
                    ("Event", "conference"),
                    ("Subscription-State", notifier.subscription_state_value(loop.time())),
                ],
                body=body,
                content_type=CONFERENCE_INFO_CONTENT_TYPE,
            )
        )
        got = await engine.expect_request("NOTIFY", WITHIN)
        subscriber_dialog.receive_request(got.request)
        doc = parse_conference_info(got.request.body) if got.request.body else None
        outcome = subscriber.on_notify(
            got.request, loop.time(), version=doc.version if doc else None
        )
        assert not outcome.version_gap
        if doc is not None:
            assert isinstance(view.apply(doc), Applied)
        await engine.reply(got, outcome.response_status)
        _, final = await asyncio.wait_for(sending, WITHIN)
        return got.request.headers.get("Subscription-State") or "", final.status

    for body in documents:
        state, status = await notify_and_check(body)
        assert status == 200
        assert state.startswith("active;expires=")
    assert subscriber.state.value == SubscriberState.ACTIVE.value
    assert view.view is not None and view.version == 3
    assert [u.entity for u in view.view.users] == [alice.entity, carol.entity]

    # the notifier ends the subscription: final NOTIFY, no re-subscription
    notifier.terminate("noresource")
    state, status = await notify_and_check(b"")
    assert status == 200
    assert state == "terminated;reason=noresource"
    assert subscriber.state is SubscriberState.TERMINATED
    assert subscriber.reason == "noresource"
    assert not subscriber.should_resubscribe
