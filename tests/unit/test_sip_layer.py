"""The transaction layer between two in-memory peers (PeerPair), in fake time."""

from __future__ import annotations

import pytest
from sip_peerpair import FAST, PeerPair, Wire, make_request

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.sip.ids import new_branch
from conformance.protocol.sip.layer import (
    RequestReceived,
    ResponseReceived,
    RetransmissionAbsorbed,
    StrayResponse,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimedOut,
    response_to,
)
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.timers import Address, Transport
from conformance.protocol.sip.transaction import InviteServerState, ServerTransactionId, tag_of

T1 = FAST.t1


def ack_for_2xx(invite: SipRequest, ok: SipResponse, src: Address) -> SipRequest:
    """The TU's ACK to a 2xx: a new branch, same CSeq number (RFC 3261 13.2.2.4)."""
    return build_request(
        "ACK",
        invite.uri,
        [
            ("Via", f"SIP/2.0/{src.transport.value} {src.host}:{src.port};branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", invite.headers.get("From") or ""),
            ("To", ok.headers.get("To") or ""),
            ("Call-ID", invite.call_id or ""),
            ("CSeq", f"{invite.cseq[0]} ACK"),
        ],
    )


def first_request(pair: PeerPair, method: str) -> RequestReceived:
    pair.run_until(
        lambda: any(e.request.method == method for e in pair.b.seen(RequestReceived)), within=1.0
    )
    hits = [e for e in pair.b.take(RequestReceived) if e.request.method == method]
    return hits[0]


def responses(pair: PeerPair, status: int) -> list[ResponseReceived]:
    return [e for e in pair.a.seen(ResponseReceived) if e.response.status == status]


def test_invite_200_ack_bye() -> None:
    pair = PeerPair()
    invite = make_request("INVITE", pair.a.address)
    tid = pair.a.layer.send_request(invite, pair.b.address, pair.now)
    got = first_request(pair, "INVITE")
    assert got.transaction is not None and got.source == pair.a.address
    assert pair.b.layer.server_state(got.transaction) is InviteServerState.PROCEEDING
    pair.b.layer.send_response(got.transaction, response_to(got.request, 180, to_tag="b1"), 0.0)
    ok = response_to(got.request, 200, to_tag="b1")
    pair.b.layer.retransmit_2xx_until_ack(got.transaction, ok, pair.now)
    pair.run_until(lambda: bool(responses(pair, 200)), within=1.0)
    assert [e.response.status for e in pair.a.take(ResponseReceived)] == [180, 200]
    assert pair.b.layer.server_state(got.transaction) is InviteServerState.ACCEPTED
    ack_id = pair.a.layer.send_request(ack_for_2xx(invite, ok, pair.a.address), pair.b.address, 0)
    assert ack_id.method == "ACK" and pair.a.layer.client_transaction(ack_id) is None
    pair.deliver()
    acks = [e for e in pair.b.take(RequestReceived) if e.request.method == "ACK"]
    assert len(acks) == 1 and acks[0].transaction is None
    bye = make_request("BYE", pair.a.address, call_id=invite.call_id, cseq=2)
    bye_tid = pair.a.layer.send_request(bye, pair.b.address, pair.now)
    got_bye = first_request(pair, "BYE")
    assert got_bye.transaction is not None
    pair.b.layer.send_response(got_bye.transaction, response_to(got_bye.request, 200), pair.now)
    pair.settle(within=10.0)
    assert [e.transaction for e in pair.a.take(ResponseReceived)] == [bye_tid]
    ended = {e.transaction for e in pair.a.take(TransactionTerminated)}
    assert ended == {tid, bye_tid}
    assert not pair.a.seen(TransactionTimedOut) and not pair.b.seen(TransactionTimedOut)
    assert len(pair.sent("b", "SIP/2.0 200")) == 2  # 2xx not retransmitted after the ACK


def test_invite_486_ack_generated_by_the_transaction() -> None:
    pair = PeerPair()
    invite = make_request("INVITE", pair.a.address)
    pair.a.layer.send_request(invite, pair.b.address, 0.0)
    got = first_request(pair, "INVITE")
    assert got.transaction is not None
    pair.b.layer.send_response(got.transaction, response_to(got.request, 486, to_tag="b2"), 0.0)
    pair.deliver()
    assert [e.response.status for e in pair.a.take(ResponseReceived)] == [486]
    acks = [e for e in pair.b.take(RequestReceived) if e.request.method == "ACK"]
    assert len(acks) == 1 and acks[0].transaction == got.transaction
    assert tag_of(acks[0].request, "To") == "b2"
    assert pair.b.layer.server_state(got.transaction) is InviteServerState.CONFIRMED
    pair.settle(within=10.0)
    assert len(pair.sent("b", "SIP/2.0 486")) == 1
    assert pair.a.take(TransactionTerminated) and pair.b.take(TransactionTerminated)


def test_timer_b_fires_after_64_t1_while_peer_absorbs_retransmissions() -> None:
    pair = PeerPair()
    tid = pair.a.layer.send_request(make_request("INVITE", pair.a.address), pair.b.address, 0.0)
    pair.run_until(lambda: bool(pair.a.seen(TransactionTimedOut)), within=2.0)
    assert pair.a.take(TransactionTimedOut) == [TransactionTimedOut(tid, "B")]
    assert pair.now == pytest.approx(64 * T1)
    assert len(pair.sent("a", "INVITE")) == 7
    absorbed = pair.b.take(RetransmissionAbsorbed)
    assert len(absorbed) == 6
    assert len(pair.b.take(RequestReceived)) == 1
    assert pair.a.take(TransactionTerminated) == [TransactionTerminated(tid)]


def test_non_invite_timer_f_when_everything_is_lost() -> None:
    pair = PeerPair(drop=lambda w: True)
    tid = pair.a.layer.send_request(make_request("MESSAGE", pair.a.address), pair.b.address, 0.0)
    pair.run_until(lambda: bool(pair.a.seen(TransactionTimedOut)), within=2.0)
    assert pair.a.take(TransactionTimedOut) == [TransactionTimedOut(tid, "F")]
    assert pair.now == pytest.approx(64 * T1)
    assert len(pair.sent("a", "MESSAGE")) == 11  # 0,1,3,7, then every T2 (8*T1) up to 64*T1
    assert not pair.b.events


def test_lost_response_is_recovered_by_retransmission_and_absorbed() -> None:
    def lose_first_200(w: Wire) -> bool:
        return w.outgoing.message.first_line().startswith("SIP/2.0 200") and not any(
            x.dropped for x in pair.wire
        )

    pair = PeerPair(drop=lose_first_200)
    pair.a.layer.send_request(make_request("MESSAGE", pair.a.address), pair.b.address, 0.0)
    got = first_request(pair, "MESSAGE")
    assert got.transaction is not None
    pair.b.layer.send_response(got.transaction, response_to(got.request, 200), 0.0)
    pair.run_until(lambda: bool(pair.a.seen(ResponseReceived)), within=1.0)
    assert len(pair.a.take(ResponseReceived)) == 1
    assert [type(e.message).__name__ for e in pair.b.take(RetransmissionAbsorbed)] == ["SipRequest"]
    assert len(pair.sent("b", "SIP/2.0 200")) == 2
    pair.settle(within=10.0)


def test_2xx_retransmitted_until_ack_even_when_ack_is_lost() -> None:
    lost_acks: list[Wire] = []

    def lose(w: Wire) -> bool:
        msg = w.outgoing.message
        if isinstance(msg, SipResponse) and msg.status == 200:
            return len(pair.sent("b", "SIP/2.0 200")) < 2  # the first two 2xx are lost
        if isinstance(msg, SipRequest) and msg.method == "ACK" and not lost_acks:
            lost_acks.append(w)
            return True
        return False

    pair = PeerPair(drop=lose, retransmit_2xx=True)
    invite = make_request("INVITE", pair.a.address)
    pair.a.layer.send_request(invite, pair.b.address, 0.0)
    got = first_request(pair, "INVITE")
    assert got.transaction is not None
    ok = response_to(got.request, 200, to_tag="b3")
    pair.b.layer.send_response(got.transaction, ok, 0.0)

    acked = 0
    for _ in range(10):
        pair.run_until(lambda: bool(pair.a.seen(ResponseReceived)), within=1.0)
        for event in pair.a.take(ResponseReceived):  # the UAC core ACKs every 2xx
            acked += 1
            pair.a.layer.send_stateless(
                ack_for_2xx(invite, event.response, pair.a.address), pair.b.address
            )
        pair.deliver()
        if [e for e in pair.b.seen(RequestReceived) if e.request.method == "ACK"]:
            break
    assert acked == 2 and len(lost_acks) == 1
    sent_200 = [w.at for w in pair.sent("b", "SIP/2.0 200")]
    assert [round(t / T1) for t in sent_200] == [0, 1, 3, 7]  # T1 doubling (T2 = 8*T1)
    pair.settle(within=10.0)
    assert len(pair.sent("b", "SIP/2.0 200")) == 4
    assert not pair.b.seen(TransactionTimedOut)
    # the INVITE retransmissions sent meanwhile were absorbed in Accepted
    assert all(isinstance(e.message, SipRequest) for e in pair.b.take(RetransmissionAbsorbed))


def test_2xx_without_ack_gives_up_after_64_t1() -> None:
    pair = PeerPair()
    pair.a.layer.send_request(make_request("INVITE", pair.a.address), pair.b.address, 0.0)
    got = first_request(pair, "INVITE")
    assert got.transaction is not None
    ok = response_to(got.request, 200, to_tag="b4")
    pair.b.layer.retransmit_2xx_until_ack(got.transaction, ok, 0.0)
    pair.run_until(lambda: bool(pair.b.seen(TransactionTimedOut)), within=5.0)
    assert pair.b.take(TransactionTimedOut) == [TransactionTimedOut(got.transaction, "H")]
    assert pair.now == pytest.approx(64 * T1)
    # 0, then T1, 2T1, 4T1, and every T2 = 8*T1 until 64*T1
    assert len(pair.sent("b", "SIP/2.0 200")) == 1 + 3 + 7
    assert len(responses(pair, 200)) == 11  # every copy reached the TU of a (Accepted)


def test_tcp_never_retransmits() -> None:
    pair = PeerPair(transport=Transport.TCP)
    tid = pair.a.layer.send_request(make_request("INVITE", pair.a.address), pair.b.address, 0.0)
    got = first_request(pair, "INVITE")
    assert got.transaction is not None
    pair.run_until(lambda: bool(pair.a.seen(TransactionTimedOut)), within=2.0)
    assert pair.a.take(TransactionTimedOut) == [TransactionTimedOut(tid, "B")]
    assert len(pair.sent("a", "INVITE")) == 1
    # a 486 over TCP: no Timer G, ACK absorbs, I = 0 ends the transaction at once
    pair2 = PeerPair(transport=Transport.TCP)
    pair2.a.layer.send_request(make_request("INVITE", pair2.a.address), pair2.b.address, 0.0)
    got2 = first_request(pair2, "INVITE")
    assert got2.transaction is not None
    pair2.b.layer.send_response(got2.transaction, response_to(got2.request, 486, to_tag="x"), 0)
    pair2.settle(within=0.0)
    assert len(pair2.sent("b", "SIP/2.0 486")) == 1
    assert pair2.a.take(TransactionTerminated) and pair2.b.take(TransactionTerminated)


def test_auto_trying_and_cancel() -> None:
    pair = PeerPair(auto_trying=True)
    tid = pair.a.layer.send_request(make_request("INVITE", pair.a.address), pair.b.address, 0.0)
    got = first_request(pair, "INVITE")
    assert got.transaction is not None
    assert [e.response.status for e in pair.a.take(ResponseReceived)] == [100]
    cancel_tid = pair.a.layer.send_cancel(tid, pair.now)
    got_cancel = first_request(pair, "CANCEL")
    assert got_cancel.transaction is not None
    assert pair.b.layer.cancel_target(got_cancel.transaction) == got.transaction
    pair.b.layer.send_response(got_cancel.transaction, response_to(got_cancel.request, 200), 0)
    pair.b.layer.send_response(got.transaction, response_to(got.request, 487, to_tag="c"), 0)
    pair.settle(within=10.0)
    assert {(e.transaction, e.response.status) for e in pair.a.take(ResponseReceived)} == {
        (cancel_tid, 200),
        (tid, 487),
    }
    with pytest.raises(LocalProtocolError):
        pair.b.layer.cancel_target(got.transaction)
    with pytest.raises(LocalProtocolError):
        pair.a.layer.send_cancel(tid, pair.now)
    assert pair.b.layer.cancel_target(got_cancel.transaction) is None


def test_rfc2543_matching_without_magic_cookie() -> None:
    pair = PeerPair()
    invite = make_request("INVITE", pair.a.address, branch="old1")
    pair.a.layer.send_request(invite, pair.b.address, 0.0)
    got = first_request(pair, "INVITE")
    assert got.transaction is not None and got.transaction.branch.startswith("rfc2543-")
    pair.b.layer.receive(invite, pair.a.address, 0.001)  # a retransmission
    assert len(pair.b.layer.events()) == 1  # absorbed
    other = make_request("INVITE", pair.a.address, branch="old1", call_id=invite.call_id, cseq=9)
    pair.b.layer.receive(other, pair.a.address, 0.001)  # differs by CSeq: new transaction
    assert isinstance(pair.b.layer.events()[0], RequestReceived)
    pair.b.layer.send_response(got.transaction, response_to(got.request, 480, to_tag="L"), 0.0)
    pair.deliver()
    acks = [e for e in pair.b.take(RequestReceived) if e.request.method == "ACK"]
    assert len(acks) == 1 and acks[0].transaction == got.transaction
    # an ACK with another To tag matches nothing: stray, handed to the TU
    stray_ack = make_request(
        "ACK",
        pair.a.address,
        branch="old1",
        call_id=invite.call_id,
        to_tag="nope",
        from_tag=tag_of(invite, "From"),
    )
    pair.b.layer.receive(stray_ack, pair.a.address, 0.002)
    assert pair.b.layer.events() == [RequestReceived(None, stray_ack, pair.a.address)]


def test_stray_responses_and_malformed_requests() -> None:
    layer = TransactionLayer(FAST)
    src = Address("192.0.2.9", 5060, Transport.UDP)
    request = make_request("OPTIONS", src)
    stray = response_to(request, 200)
    layer.receive(stray, src, 0.0)
    no_via = response_to(request, 200).__class__(
        headers=stray.headers.remove("Via"), body=b"", version="SIP/2.0", raw=b"", status=200
    )
    layer.receive(no_via, src, 0.0)
    assert layer.events() == [StrayResponse(stray, src), StrayResponse(no_via, src)]
    with pytest.raises(RemoteProtocolError):
        layer.receive(
            build_request("OPTIONS", "sip:x@y", [("Call-ID", "1"), ("CSeq", "1 OPTIONS")]),
            src,
            0.0,
        )
    with pytest.raises(RemoteProtocolError):
        layer.receive(
            make_request("OPTIONS", src, extra=()).__class__(
                headers=request.headers.set("CSeq", "1 INFO"),
                body=b"",
                version="SIP/2.0",
                raw=b"",
                method="OPTIONS",
                uri="sip:x@y",
            ),
            src,
            0.0,
        )


def test_layer_misuse_is_local_protocol_error() -> None:
    layer = TransactionLayer(FAST)
    dst = Address("192.0.2.9", 5060, Transport.UDP)
    request = make_request("OPTIONS", Address("192.0.2.1", 5060, Transport.UDP))
    layer.send_request(request, dst, 0.0)
    with pytest.raises(LocalProtocolError):
        layer.send_request(request, dst, 0.0)  # same branch and method
    unknown = ServerTransactionId("z9hG4bKnone", "h:1", "INVITE")
    with pytest.raises(LocalProtocolError):
        layer.send_response(unknown, response_to(request, 200), 0.0)
    with pytest.raises(LocalProtocolError):
        layer.retransmit_2xx_until_ack(unknown, response_to(request, 200), 0.0)
    layer.receive(request, dst, 0.0)
    (received,) = [e for e in layer.events() if isinstance(e, RequestReceived)]
    assert received.transaction is not None
    with pytest.raises(LocalProtocolError):
        layer.retransmit_2xx_until_ack(received.transaction, response_to(request, 200), 0.0)
    no_branch = build_request(
        "OPTIONS", "sip:x@y", [("Via", "SIP/2.0/UDP h"), ("CSeq", "1 OPTIONS")]
    )
    with pytest.raises(LocalProtocolError):
        layer.send_request(no_branch, dst, 0.0)


def test_transport_error_reported_as_timeout() -> None:
    layer = TransactionLayer(FAST)
    dst = Address("192.0.2.9", 5060, Transport.TCP)
    tid = layer.send_request(make_request("INVITE", Address("h", 1, Transport.TCP)), dst, 0.0)
    assert layer.next_deadline() == pytest.approx(64 * T1)
    layer.transport_error(tid, 0.1)
    layer.transport_error(tid, 0.1)  # already gone: ignored
    assert layer.events() == [TransactionTimedOut(tid, "transport"), TransactionTerminated(tid)]
    assert layer.next_deadline() is None
    assert layer.server_state(ServerTransactionId("x", "y", "INVITE")) is None


def test_rfc2543_cancel_matches_the_invite_and_server_transport_error() -> None:
    pair = PeerPair()
    invite = make_request("INVITE", pair.a.address, branch="old2")
    invite_tid = pair.a.layer.send_request(invite, pair.b.address, 0.0)
    got = first_request(pair, "INVITE")
    assert got.transaction is not None
    server = pair.b.layer.server_transaction(got.transaction)
    assert server is not None and server.request.method == "INVITE"
    assert pair.a.layer.client_transaction(invite_tid) is not None
    pair.a.layer.send_cancel(invite_tid, pair.now)
    got_cancel = first_request(pair, "CANCEL")
    assert got_cancel.transaction is not None
    assert pair.b.layer.cancel_target(got_cancel.transaction) == got.transaction
    pair.b.layer.transport_error(got.transaction, pair.now)
    events = pair.b.layer.events()
    assert TransactionTimedOut(got.transaction, "transport") in events
    assert TransactionTerminated(got.transaction) in events
    assert pair.b.layer.cancel_target(got_cancel.transaction) is None
