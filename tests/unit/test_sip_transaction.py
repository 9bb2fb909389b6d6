"""Transition tables of the four RFC 3261 17 transactions, exercised directly."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sip_peerpair import FAST, make_request

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.timers import Address, Timers, Transport
from conformance.protocol.sip.transaction import (
    ALIVE,
    INVITE_CLIENT_TABLE,
    INVITE_SERVER_TABLE,
    NON_INVITE_CLIENT_TABLE,
    NON_INVITE_SERVER_TABLE,
    Action,
    ClientTransaction,
    InviteClientState,
    InviteServerState,
    NonInviteClientState,
    NonInviteServerState,
    ServerTransaction,
    ServerTransactionId,
    build_ack_for_non_2xx,
    build_cancel,
    header_param,
    parse_via,
    stimulus_for_response,
    top_via,
)

UDP_SRC = Address("192.0.2.1", 5060, Transport.UDP)
UDP_DST = Address("192.0.2.2", 5070, Transport.UDP)
TCP_SRC = Address("192.0.2.1", 5060, Transport.TCP)
TCP_DST = Address("192.0.2.2", 5070, Transport.TCP)
T1 = FAST.t1


def actions(outputs: list) -> list[Action]:
    return [o.action for o in outputs]


def client(method: str = "INVITE", dst: Address = UDP_DST) -> tuple[ClientTransaction, list]:
    src = UDP_SRC if dst.transport is Transport.UDP else TCP_SRC
    tx = ClientTransaction(make_request(method, src), dst, FAST)
    return tx, tx.start(0.0)


def server(method: str = "INVITE", src: Address = UDP_SRC) -> ServerTransaction:
    request = make_request(method, src)
    via = top_via(request)
    tid = ServerTransactionId(via.branch or "", via.sent_by, method)
    return ServerTransaction(request, src, FAST, tid)


def answer(request: SipRequest, status: int) -> SipResponse:
    return response_to(request, status, to_tag=None if status == 100 else "uas1")


def fire_all(tx: ClientTransaction | ServerTransaction, until: float) -> list[tuple[float, str]]:
    """Fire timers in order until ``until``; return (time, action) of every output."""
    log: list[tuple[float, str]] = []
    for _ in range(1000):
        deadline = tx.next_deadline()
        if deadline is None or deadline > until:
            return log
        for _t, name in tx.due_timers(deadline):
            log += [(deadline, o.action.name) for o in tx.fire(name, deadline)]
    raise AssertionError("timer loop")


# -- INVITE client (17.1.1) --------------------------------------------------------------


def test_invite_client_timer_a_doubles_and_timer_b_times_out() -> None:
    tx, first = client()
    assert actions(first) == [Action.SEND_REQUEST]
    assert tx.state is InviteClientState.CALLING
    log = fire_all(tx, 100.0)
    sends = [round(t / T1) for t, a in log if a == "SEND_REQUEST"]
    assert sends == [1, 3, 7, 15, 31, 63]  # 7 transmissions in all, RFC 3261 17.1.1.2
    assert log[-1] == (pytest.approx(64 * T1), "TIMEOUT")
    assert tx.state is InviteClientState.TERMINATED and tx.terminated
    assert tx.next_deadline() is None


def test_invite_client_provisional_stops_retransmission_and_timer_b() -> None:
    tx, _ = client()
    out = tx.receive_response(answer(tx.request, 180), 0.01)
    assert actions(out) == [Action.TO_TU]
    assert tx.state is InviteClientState.PROCEEDING
    assert tx.next_deadline() is None
    assert actions(tx.receive_response(answer(tx.request, 183), 0.02)) == [Action.TO_TU]


def test_invite_client_non_2xx_generates_ack_and_absorbs_retransmissions() -> None:
    tx, _ = client()
    busy = answer(tx.request, 486)
    out = tx.receive_response(busy, 0.01)
    assert actions(out) == [Action.SEND_ACK, Action.TO_TU]
    ack = out[0].message
    assert isinstance(ack, SipRequest) and ack.method == "ACK"
    assert ack.uri == tx.request.uri
    assert ack.cseq == (tx.request.cseq[0], "ACK")
    assert top_via(ack).branch == top_via(tx.request).branch
    assert header_param(ack.headers.get("To") or "", "tag") == "uas1"
    assert tx.state is InviteClientState.COMPLETED
    assert tx.next_deadline() == pytest.approx(0.01 + 64 * T1)  # Timer D, scaled rule
    again = tx.receive_response(busy, 0.02)
    assert actions(again) == [Action.SEND_ACK, Action.ABSORB]
    assert actions(tx.receive_response(answer(tx.request, 180), 0.03)) == [Action.ABSORB]
    assert actions(tx.receive_response(answer(tx.request, 200), 0.03)) == [Action.ABSORB]
    assert fire_all(tx, 10.0) == []
    assert tx.state is InviteClientState.TERMINATED


def test_invite_client_2xx_accepted_passes_retransmissions_to_tu() -> None:
    tx, _ = client()
    tx.receive_response(answer(tx.request, 100), 0.0)
    ok = answer(tx.request, 200)
    assert actions(tx.receive_response(ok, 0.01)) == [Action.TO_TU]
    assert tx.state is InviteClientState.ACCEPTED
    assert actions(tx.receive_response(ok, 0.02)) == [Action.TO_TU]
    assert actions(tx.receive_response(answer(tx.request, 180), 0.02)) == [Action.ABSORB]
    assert actions(tx.receive_response(answer(tx.request, 500), 0.02)) == [Action.ABSORB]
    assert tx.next_deadline() == pytest.approx(0.01 + 64 * T1)  # Timer M
    fire_all(tx, 10.0)
    assert tx.terminated


def test_invite_client_over_tcp_never_retransmits_and_d_is_zero() -> None:
    tx, _ = client(dst=TCP_DST)
    assert set(tx.deadlines) == {"B"}
    tx.receive_response(answer(tx.request, 404), 1.0)
    assert tx.deadlines == {"D": 1.0}
    assert fire_all(tx, 1.0) == []
    assert tx.terminated


def test_invite_client_transport_error() -> None:
    tx, _ = client()
    assert actions(tx.transport_error(0.1)) == [Action.TRANSPORT_FAILURE]
    assert tx.terminated


def test_ack_never_creates_client_transaction() -> None:
    with pytest.raises(LocalProtocolError):
        ClientTransaction(make_request("ACK", UDP_SRC), UDP_DST, FAST)


def test_request_without_branch_is_misuse() -> None:
    request = make_request("OPTIONS", UDP_SRC)
    request = request.__class__(
        headers=request.headers.set("Via", "SIP/2.0/UDP 192.0.2.1:5060"),
        body=b"",
        version=request.version,
        raw=request.raw,
        method=request.method,
        uri=request.uri,
    )
    with pytest.raises(LocalProtocolError):
        ClientTransaction(request, UDP_DST, FAST)


# -- non-INVITE client (17.1.2) ----------------------------------------------------------


def test_non_invite_client_timer_e_capped_at_t2_then_timer_f() -> None:
    tx, _ = client("OPTIONS")
    assert tx.state is NonInviteClientState.TRYING
    log = fire_all(tx, 100.0)
    times = [t for t, a in log if a == "SEND_REQUEST"]
    gaps = [round((b - a) / T1, 6) for a, b in zip([0.0, *times], times, strict=False)]
    assert gaps[:4] == [1, 2, 4, 8]  # T1, 2T1, 4T1, then T2 = 8*T1 here
    assert set(gaps[3:]) == {FAST.t2 / T1}
    assert log[-1] == (pytest.approx(64 * T1), "TIMEOUT")
    assert tx.state is NonInviteClientState.TERMINATED


def test_non_invite_client_proceeding_retransmits_every_t2() -> None:
    tx, _ = client("MESSAGE")
    tx.receive_response(answer(tx.request, 100), 0.001)
    assert tx.state is NonInviteClientState.PROCEEDING
    assert actions(tx.receive_response(answer(tx.request, 100), 0.002)) == [Action.TO_TU]
    log = fire_all(tx, 0.5)
    times = [t for t, a in log if a == "SEND_REQUEST"]
    assert times[0] == pytest.approx(T1)
    assert all(b - a == pytest.approx(FAST.t2) for a, b in pairwise(times))
    out = tx.receive_response(answer(tx.request, 200), 0.6)
    assert actions(out) == [Action.TO_TU]
    assert tx.state is NonInviteClientState.COMPLETED
    assert tx.deadlines == {"K": pytest.approx(0.6 + FAST.t4)}
    assert actions(tx.receive_response(answer(tx.request, 200), 0.7)) == [Action.ABSORB]
    fire_all(tx, 10.0)
    assert tx.terminated


def test_non_invite_client_final_in_trying_and_tcp_k_zero() -> None:
    tx, _ = client("BYE", dst=TCP_DST)
    assert set(tx.deadlines) == {"F"}
    assert actions(tx.receive_response(answer(tx.request, 481), 0.5)) == [Action.TO_TU]
    assert tx.deadlines == {"K": 0.5}


def test_non_invite_client_timeout_in_proceeding_and_transport_errors() -> None:
    tx, _ = client("SUBSCRIBE")
    tx.receive_response(answer(tx.request, 180), 0.0)
    assert fire_all(tx, 10.0)[-1][1] == "TIMEOUT"
    tx2, _ = client("SUBSCRIBE")
    assert actions(tx2.transport_error(0.0)) == [Action.TRANSPORT_FAILURE]
    tx3, _ = client("SUBSCRIBE")
    tx3.receive_response(answer(tx3.request, 100), 0.0)
    assert actions(tx3.transport_error(0.0)) == [Action.TRANSPORT_FAILURE]


# -- INVITE server (17.2.1) --------------------------------------------------------------


def test_invite_server_non_2xx_timer_g_then_ack_confirms() -> None:
    tx = server()
    assert tx.state is InviteServerState.PROCEEDING
    # no response yet: a retransmitted INVITE is absorbed with nothing to resend
    assert actions(tx.receive_request(tx.request, 0.0)) == [Action.ABSORB]
    ringing = answer(tx.request, 180)
    assert actions(tx.send_response(ringing, 0.0)) == [Action.SEND_RESPONSE]
    out = tx.receive_request(tx.request, 0.01)
    assert actions(out) == [Action.RESEND_RESPONSE, Action.ABSORB]
    assert out[0].message is ringing
    busy = answer(tx.request, 486)
    tx.send_response(busy, 0.1)
    assert tx.state is InviteServerState.COMPLETED
    log = fire_all(tx, 0.1 + 0.5)
    times = [t for t, a in log if a == "RESEND_RESPONSE"]
    gaps = [round((b - a) / T1, 6) for a, b in zip([0.1, *times], times, strict=False)]
    assert gaps[:4] == [1, 2, 4, 8] and set(gaps[3:]) == {8}
    assert actions(tx.receive_request(tx.request, 0.61)) == [Action.RESEND_RESPONSE, Action.ABSORB]
    ack = build_ack_for_non_2xx(tx.request, busy)
    assert actions(tx.receive_request(ack, 0.62)) == [Action.TO_TU]
    assert tx.state is InviteServerState.CONFIRMED
    assert tx.deadlines == {"I": pytest.approx(0.62 + FAST.t4)}
    assert actions(tx.receive_request(ack, 0.63)) == [Action.ABSORB]
    assert actions(tx.receive_request(tx.request, 0.63)) == [Action.ABSORB]
    fire_all(tx, 10.0)
    assert tx.terminated


def test_invite_server_timer_h_without_ack() -> None:
    tx = server()
    tx.send_response(answer(tx.request, 603), 0.0)
    log = fire_all(tx, 100.0)
    assert log[-1] == (pytest.approx(64 * T1), "TIMEOUT")
    assert tx.state is InviteServerState.TERMINATED


def test_invite_server_2xx_accepted_absorbs_invite_and_passes_ack() -> None:
    tx = server()
    ok = answer(tx.request, 200)
    tx.send_response(ok, 0.0)
    assert tx.state is InviteServerState.ACCEPTED
    assert actions(tx.receive_request(tx.request, 0.01)) == [Action.ABSORB]
    assert actions(tx.send_response(ok, 0.02)) == [Action.SEND_RESPONSE]
    assert actions(tx.receive_request(make_request("ACK", UDP_SRC), 0.03)) == [Action.TO_TU]
    with pytest.raises(LocalProtocolError):
        tx.send_response(answer(tx.request, 486), 0.04)
    fire_all(tx, 10.0)
    assert tx.terminated


def test_invite_server_over_tcp_no_timer_g_and_i_zero() -> None:
    tx = server(src=TCP_SRC)
    busy = answer(tx.request, 480)
    tx.send_response(busy, 0.0)
    assert set(tx.deadlines) == {"H"}
    tx.receive_request(build_ack_for_non_2xx(tx.request, busy), 0.1)
    assert tx.deadlines == {"I": 0.1}


def test_invite_server_transport_errors_and_early_ack() -> None:
    tx = server()
    assert actions(tx.receive_request(make_request("ACK", UDP_SRC), 0.0)) == [Action.ABSORB]
    assert actions(tx.transport_error(0.0)) == [Action.TRANSPORT_FAILURE]
    tx2 = server()
    tx2.send_response(answer(tx2.request, 500), 0.0)
    assert actions(tx2.transport_error(0.0)) == [Action.TRANSPORT_FAILURE]


def test_second_final_response_is_local_misuse() -> None:
    tx = server("OPTIONS")
    tx.send_response(answer(tx.request, 200), 0.0)
    with pytest.raises(LocalProtocolError):
        tx.send_response(answer(tx.request, 500), 0.0)
    with pytest.raises(LocalProtocolError):
        tx.send_response(answer(tx.request, 700), 0.0)


# -- non-INVITE server (17.2.2) ----------------------------------------------------------


def test_non_invite_server_lifecycle() -> None:
    tx = server("MESSAGE")
    assert tx.state is NonInviteServerState.TRYING
    assert actions(tx.receive_request(tx.request, 0.0)) == [Action.ABSORB]
    trying = answer(tx.request, 100)
    tx.send_response(trying, 0.0)
    assert tx.state is NonInviteServerState.PROCEEDING
    assert actions(tx.send_response(trying, 0.0)) == [Action.SEND_RESPONSE]
    assert actions(tx.receive_request(tx.request, 0.0)) == [Action.RESEND_RESPONSE, Action.ABSORB]
    ok = answer(tx.request, 200)
    tx.send_response(ok, 0.1)
    assert tx.state is NonInviteServerState.COMPLETED
    assert tx.deadlines == {"J": pytest.approx(0.1 + 64 * T1)}
    out = tx.receive_request(tx.request, 0.2)
    assert out[0].message is ok
    assert actions(tx.transport_error(0.3)) == [Action.TRANSPORT_FAILURE]


def test_non_invite_server_final_from_trying_and_tcp_j_zero() -> None:
    tx = server("BYE", src=TCP_SRC)
    tx.send_response(answer(tx.request, 200), 2.0)
    assert tx.deadlines == {"J": 2.0}
    assert fire_all(tx, 2.0) == [] and tx.terminated
    tx2 = server("BYE")
    tx2.send_response(answer(tx2.request, 100), 0.0)
    assert actions(tx2.transport_error(0.0)) == [Action.TRANSPORT_FAILURE]


# -- tables, helpers ----------------------------------------------------------------------


def test_every_target_state_has_alive_timers_declared() -> None:
    for table in (
        INVITE_CLIENT_TABLE,
        NON_INVITE_CLIENT_TABLE,
        INVITE_SERVER_TABLE,
        NON_INVITE_SERVER_TABLE,
    ):
        for (state, _), transition in table.items():  # type: ignore[attr-defined]
            assert state in ALIVE and transition.target in ALIVE


def test_ignored_network_stimulus_and_late_timer() -> None:
    tx, _ = client()
    tx.receive_response(answer(tx.request, 200), 0.0)
    assert tx.fire("A", 10.0) == []  # cancelled on leaving Calling
    tx2 = server()
    tx2.send_response(answer(tx2.request, 486), 0.0)
    assert tx2.fire("H", 0.0) == []  # not yet due


def test_stimulus_for_response_ranges() -> None:
    with pytest.raises(RemoteProtocolError):
        stimulus_for_response(99, from_tu=False)
    assert stimulus_for_response(699, from_tu=True).from_tu


def test_parse_via_forms() -> None:
    via = parse_via(
        "SIP / 2.0 / UDP Host.Example.com : 5060 ;branch=z9hG4bKx ;rport; received=1.2.3.4"
    )
    assert via.protocol == "SIP/2.0/UDP" and via.transport == "UDP"
    assert via.sent_by == "host.example.com:5060"
    assert via.branch == "z9hG4bKx"
    assert via.params["rport"] is None and via.params["received"] == "1.2.3.4"
    assert parse_via("SIP/2.0/TCP [2001:DB8::1]:5061").sent_by == "[2001:db8::1]:5061"
    for bad in ("SIP/2.0/UDP", "HTTP/1.1 host", "garbage"):
        with pytest.raises(RemoteProtocolError):
            parse_via(bad)


def test_header_param() -> None:
    assert header_param('"A;b" <sip:a@x;tag=no>;tag=yes;lr', "tag") == "yes"
    assert header_param("sip:a@x;tag=t1", "TAG") == "t1"
    assert header_param("<sip:a@x>;lr", "lr") == ""
    assert header_param("<sip:a@x;tag=u>", "tag") is None


def test_build_cancel_copies_the_request_identity() -> None:
    invite = make_request("INVITE", UDP_SRC, extra=(("Route", "<sip:p1@x;lr>"),))
    cancel = build_cancel(invite)
    assert cancel.method == "CANCEL" and cancel.uri == invite.uri
    assert cancel.cseq == (invite.cseq[0], "CANCEL")
    assert cancel.headers.get("Via") == invite.headers.get("Via")
    assert cancel.headers.get_all("Route") == ["<sip:p1@x;lr>"]
    with pytest.raises(LocalProtocolError):
        build_cancel(make_request("ACK", UDP_SRC))


def test_timer_values() -> None:
    timers = Timers()
    assert (timers.b, timers.d, timers.f, timers.h, timers.j) == (32.0,) * 5
    assert (timers.a, timers.e, timers.g, timers.i, timers.k) == (0.5, 0.5, 0.5, 5.0, 5.0)
    assert timers.l == timers.m == 32.0
    assert timers.for_transport("a", Transport.TCP) is None
    assert timers.for_transport("D", Transport.TCP) == 0.0
    assert timers.for_transport("B", Transport.TCP) == 32.0
    assert timers.for_transport("D", Transport.UDP) == 32.0
    with pytest.raises(ValueError):
        Timers(t1=0)
    assert str(UDP_DST) == "192.0.2.2:5070/UDP" and TCP_DST.reliable
