"""The reference PF's session state: the phase table of a B2BUA session and the session
table, the one writer of the session indices (sessions, legs by dialog, legs waiting for
their MSRP connection)."""

from __future__ import annotations

import pytest

from conformance.errors import LocalProtocolError
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, build_request
from conformance.reference.pf.core import SessionTable
from conformance.reference.pf.model import (
    B2buaSession,
    MsrpLeg,
    SessionKind,
    SessionPhase,
    SipLeg,
)

ALICE = "sip:alice@x.test"


def _invite(call_id: str) -> SipRequest:
    return build_request(
        "INVITE",
        ALICE,
        [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" + call_id),
            ("From", "<sip:bob@x.test>;tag=b"),
            ("To", f"<{ALICE}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", "<sip:bob@127.0.0.1:5070>"),
        ],
        b"",
    )


def _session(kind: SessionKind = SessionKind.ORIGINATING) -> B2buaSession:
    invite = _invite("c1")
    return B2buaSession(
        "s1",
        ALICE,
        invite,
        SipLeg("client", MsrpLeg("msrp://pf/a")),
        SipLeg("core", MsrpLeg("msrp://pf/b")),
        invite,
        kind=kind,
    )


def _dialog(call_id: str) -> Dialog:
    invite = _invite(call_id)
    ok = response_to(invite, 200, "OK", to_tag="pf", headers=[("Contact", "<sip:pf@x>")])
    dialog = Dialog.uas(invite, "pf", "sip:pf@x")
    dialog.confirm(ok)
    return dialog


def test_the_first_ack_confirms_and_end_is_once() -> None:
    session = _session()
    assert session.awaiting_ack and not session.ended
    assert session.acked() and session.phase is SessionPhase.CONFIRMED
    assert not session.acked()  # a retransmitted ACK changes nothing
    assert session.end() and session.ended
    assert not session.end()


def test_a_declined_session_ends() -> None:
    session = _session(SessionKind.TERMINATING)
    assert session.terminating and session.user_leg is session.core
    session.decline()
    assert session.declined and not session.acked()
    assert session.end() and session.phase is SessionPhase.ENDED
    session.decline()  # after the end: nothing
    assert session.ended


def test_a_missing_transition_is_our_misuse() -> None:
    session = _session()
    session.end()
    with pytest.raises(LocalProtocolError):
        session.step("ack")


def test_forget_drops_every_index_of_the_session() -> None:
    table = SessionTable()
    session, other = _session(), _session()
    other.id = "s2"
    table.add(session)
    table.add(other)
    session.client.dialog = _dialog("c1")
    table.bind_dialog(session.client.dialog, session, session.client)
    table.expect_msrp("m1", session, session.client)
    table.expect_msrp("m2", session, session.core)
    table.expect_msrp("m3", other, other.client)
    assert table.by_dialog(session.client.dialog.id) == (session, session.client)
    table.unexpect_session(session, keep=session.client)
    assert table.expects_msrp("m1") and not table.expects_msrp("m2")
    table.forget(session)
    assert not table.knows_dialog(session.client.dialog.id)
    assert not table.expects_msrp("m1") and table.expects_msrp("m3")
    assert list(table.sessions) == ["s2"]
    assert table.claim_msrp("m3") == (other, other.client)
    assert table.claim_msrp("m3") is None
