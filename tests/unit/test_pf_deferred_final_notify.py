"""The reference PF's final NOTIFY of an inactive deferred delivery lists the participants
prior to the session's end (seed 000 B.2.3.5.X step 6), even though the CF's closing
notification reports every user disconnected."""

from __future__ import annotations

from dataclasses import replace

from conformance.documents.conference_info import (
    ConferenceInfo,
    ConferenceStatus,
    DocState,
    Endpoint,
    User,
)
from conformance.protocol.sip.message import build_request
from conformance.reference.faults import ActiveFaults
from conformance.reference.pf.deferred import DeferredSession, final_participants, present
from conformance.reference.pf.model import (
    B2buaSession,
    FocusSubscription,
    MsrpLeg,
    SessionKind,
    SipLeg,
)

FOCUS = "sip:conf-1@127.0.0.1:5070"
ALICE, BOB, CAROL = "sip:alice@x.test", "sip:bob@x.test", "sip:carol@x.test"


def _view(status: str, active: bool | None, *users: str) -> ConferenceInfo:
    return ConferenceInfo(
        entity=FOCUS,
        state=DocState.FULL,
        version=1,
        conference_state=None if active is None else ConferenceStatus(active=active),
        users=tuple(User(entity=u, endpoints=(Endpoint(u, status=status),)) for u in users),
    )


def _entry(*views: ConferenceInfo) -> DeferredSession:
    """A deferred session of alice whose focus subscription saw ``views`` in turn."""
    invite = build_request(
        "INVITE",
        ALICE,
        [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1"),
            ("From", f"<{FOCUS}>;tag=1"),
            ("To", f"<{ALICE}>"),
            ("Call-ID", "c1"),
            ("CSeq", "1 INVITE"),
        ],
        b"",
    )
    session = B2buaSession(
        "s1",
        ALICE,
        invite,
        SipLeg("cf", MsrpLeg("msrp://pf/cf")),
        SipLeg("client", MsrpLeg("msrp://pf/client")),
        invite,
        kind=SessionKind.TERMINATING,
    )
    sub = FocusSubscription(ALICE, FOCUS, "conv", "contrib", invite)
    for version, view in enumerate(views, 1):
        sub.state.apply(replace(view, version=version))
    sub.history = [(float(i), v) for i, v in enumerate(views)]
    entry = DeferredSession(session, ALICE, "bye", FOCUS, None)
    entry.sub = sub
    return entry


def test_the_view_before_the_closing_notification() -> None:
    entry = _entry(
        _view("connected", True, ALICE, BOB),
        _view("connected", True, ALICE, BOB, CAROL),
        _view("disconnected", False, ALICE, BOB, CAROL),
    )
    assert final_participants(entry, ActiveFaults(frozenset())) == [ALICE, BOB, CAROL]
    # the latest view alone has nobody left
    assert entry.sub is not None and entry.sub.state.view is not None
    assert present(entry.sub.state.view) == []


def test_a_cf_without_conference_state() -> None:
    entry = _entry(_view("connected", None, ALICE, BOB), _view("disconnected", None, ALICE, BOB))
    assert final_participants(entry, ActiveFaults(frozenset())) == [ALICE, BOB]
