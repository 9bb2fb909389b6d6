"""The reference PF, single-client policy (seed 003 8.6 step 2.a.i.1): the user chooses a
client by its first message, and a client that answers only after that choice is released
like the others (BYE with Reason cause=200).

Over a real network the chosen client's MSRP SEND can overtake the other client's SIP 200
(MSRP goes straight to the PF, SIP through the core): the PF then knew of one answering
client only when the choice came. It used to let the late client join the session and
never release it; under the load of a parallel run the tool saw no BYE.
"""

from __future__ import annotations

from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.cpm import ICSI_SESSION_GROUP
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.multipart import parse_multipart
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.reference.pf.msrp_policy import COMPLETED_ELSEWHERE
from tests.reference.test_pf_originating import (
    ALICE,
    CONTRIB,
    CONV,
    FOCUS,
    INSTANCE_A,
    INSTANCE_B,
    Net,
    network,
    offer,
    register,
    with_header,
)
from tests.reference.test_pf_terminating_leave_race import CF_UA
from tests.reference.ua import WITHIN

CHAT = (
    b"From: <sip:alice@reference.test>\r\nTo: <sip:anonymous@anonymous.invalid>\r\n\r\n"
    b"Content-Type: text/plain\r\n\r\nI take this one"
)


def _pf_path(fork_body: bytes, content_type: str) -> list[str]:
    if content_type.startswith("multipart/"):
        parts = parse_multipart(fork_body, content_type)
        fork_body = next(p.body for p in parts if p.mime_type == "application/sdp")
    return list(parse_sdp(fork_body).msrp.path)


def _answer(net: Net, fork: IncomingRequest, tag: str, session_id: str) -> None:
    """The client's 200 (``a=setup:passive``: the PF connects), retransmitted until ACKed."""
    core = net.core
    ok = response_to(
        fork.request,
        200,
        to_tag=tag,
        headers=[("Contact", f"<{core.contact}>"), ("Content-Type", "application/sdp")],
        body=build_msrp_sdp(
            host="127.0.0.1",
            port=core.msrp.address().port,
            path=[core.msrp.uri(session_id)],
            accept_types=("message/cpim",),
            setup="passive",
        ),
    )
    core.sip.retransmit_2xx_until_ack(fork, ok)


async def test_a_client_answering_after_the_user_chose_another_is_released() -> None:
    async with network() as net:
        core = net.core
        assert await register(net, INSTANCE_A, "sip:alice@127.0.0.1:6001") == 200
        assert await register(net, INSTANCE_B, "sip:alice@127.0.0.1:6002") == 200
        invite = core.request(
            "INVITE",
            ALICE,
            headers=[CF_UA, ("P-Asserted-Service", ICSI_SESSION_GROUP), CONV, CONTRIB],
            body=offer(core, "cf1"),
            identity="sip:bob@reference.test",
        )
        invite = with_header(invite, "Contact", f"<{FOCUS}>;isfocus")
        handle = await core.sip.request(invite, net.pf.address)
        first = await core.sip.expect_request("INVITE", within=WITHIN)
        second = await core.sip.expect_request(
            "INVITE", within=WITHIN, match=lambda r: r.request.call_id != first.request.call_id
        )
        # the first client answers; the PF answers the CF and connects to the client
        _answer(net, first, "alice-a", "alice1")
        cf_ok = await handle.final(WITHIN)
        assert cf_ok.status == 200, cf_ok
        cf_dialog = Dialog.uac(invite, cf_ok)
        await core.sip.request(cf_dialog.create_ack(invite.cseq[0], via=core.via()), net.pf.address)
        # the CF's MSRP session (it offered active): connected and bound
        cf_path = list(parse_sdp(cf_ok.body).msrp.path)
        uri = parse_msrp_uri(cf_path[-1])
        cf_channel = await core.msrp.connect(uri.host, uri.port or 0, reuse=False)
        cf_session = cf_channel.add_session(core.msrp.uri("cf1"), cf_path)
        (bind,) = cf_channel.send_message(cf_session, b"", None)
        assert (await cf_channel.response(bind, within=WITHIN)).status_code == 200
        channel = await core.msrp.accepted(within=WITHIN)
        pf_path = _pf_path(first.request.body, first.request.headers.get("Content-Type") or "")
        session = channel.add_session(core.msrp.uri("alice1"), pf_path)
        # the user chooses the first client (a chat message) before the second answers
        channel.send_message(session, CHAT, "message/cpim")
        # the PF has acted on it when it relays it to the CF
        await cf_channel.expect(MessageReceived, within=WITHIN, match=lambda e: e.body == CHAT)
        # the second client's 200 arrives after the choice: ACKed, then released
        _answer(net, second, "alice-b", "alice2")
        bye = await core.sip.expect_request(
            "BYE", within=WITHIN, match=lambda r: r.request.call_id == second.request.call_id
        )
        bye.respond(200)
        assert bye.request.headers.get("Reason") == COMPLETED_ELSEWHERE
        # the chosen client stays in the session
        byes = [r for r in core.sip.inbox if r.method == "BYE"]
        assert all(r.request.call_id != first.request.call_id for r in byes)
