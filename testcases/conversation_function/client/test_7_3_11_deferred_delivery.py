"""CPM Conversation Function 7.3.11: the CPM Client receives deferred group chat messages.

The tool plays the PF and the S-CSCF (``await tc.pf()``); the client under test serves the
first user of the profile. Expected values are written here from seed 001 7.3.11.
"""

from __future__ import annotations

import pytest

from conformance.catalog.profile import Pixit
from conformance.checks import VerdictRecorder, evidence, expect_equal, expect_true, inconclusive
from conformance.documents.cpim import parse_cpim
from conformance.documents.imdn import parse_imdn
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.protocol.sip.cpm import CONTRIBUTION_ID, CONVERSATION_ID
from conformance.roles.pf import GroupSession, InviteKind, PfEmulator, PfInvite
from conformance.testcases.procedures import sip_evidence
from conformance.testcases.procedures.client_flows import (
    absent,
    client_user,
    delivered,
    joined_session,
    msrp_cpim,
    others,
)

IMDN_TYPE = "message/imdn+xml"


def _imdn_message_id(body: bytes) -> str | None:
    """The ``<message-id>`` of the IMDN a CPIM body carries (None when it is none)."""
    try:
        return parse_imdn(parse_cpim(body).body).message_id
    except DocumentError:
        return None


async def _inactive_delivery(
    pf: PfEmulator, pixit: Pixit, guards: Guards
) -> tuple[GroupSession, PfInvite]:
    """A group session the client knows and the PF's deferred INVITE for it, accepted
    with its MSRP session set up; ``inconc`` when the client does not get that far."""
    session = await _known_session(pf, pixit, guards)
    invite = await pf.invite(InviteKind.DEFERRED, session)
    answer = await invite.final(guards.sip)
    if answer.status != 200 or not await delivered(pf, invite, within=guards.sip):
        inconclusive(f"the deferred delivery was not set up ({answer.status})")
    return session, invite


async def _expect_answer(
    recorder: VerdictRecorder,
    requirement: str,
    invite: PfInvite,
    status: int,
    what: str,
    guards: Guards,
) -> None:
    """The client answers the PF's ``invite`` (``what``) with ``status``; a session it
    accepted all the same is ended again."""
    answer = await invite.final(guards.sip)
    expect_equal(
        recorder,
        requirement,
        expected=status,
        actual=answer.status,
        evidence=[sip_evidence(invite.request, what), sip_evidence(answer, "the client's answer")],
    )
    if answer.status == 200:
        await invite.ack()
        await invite.bye()


async def _known_session(pf: PfEmulator, pixit: Pixit, guards: Guards) -> GroupSession:
    session, invite = await joined_session(pf, pixit, within=guards.sip)
    if invite.response is None or invite.response.status != 200:
        inconclusive("the client did not accept the group invitation (preamble)")
    return session


@pytest.mark.users(3)
@pytest.mark.requirement(
    "CLIENT-7.3.11-1.a.v-200",
    "CLIENT-7.3.11-1.a.v-msrp",
    "CLIENT-7.3.11-1.a.i",
    "CLIENT-7.3.11-1.a.ii",
)
async def test_7_3_11_1_inactive_deferred_delivery(tc: Tc) -> None:
    """with {a client that knows a group session} ensure that
    { when {the PF sends an INVITE with the cpm.deferred feature tag and a=sendonly, then a
            stored message requesting positive-delivery over MSRP}
      then {the client answers 200, sets up MSRP after the ACK, receives the message and
            returns its delivery notification in a SIP MESSAGE} }"""
    pf = await tc.pf()
    session = await _known_session(pf, tc.pixit, tc.guards)
    invite = await pf.invite(InviteKind.DEFERRED, session)
    answer = await invite.final(tc.guards.sip)
    ev = [sip_evidence(invite.request, "the deferred INVITE"), sip_evidence(answer, "answer")]
    expect_equal(
        tc.recorder,
        "CLIENT-7.3.11-1.a.v-200",
        expected=200,
        actual=answer.status,
        evidence=ev,
        fatal=True,
    )
    up = await delivered(pf, invite, within=tc.guards.sip)
    expect_true(
        tc.recorder,
        "CLIENT-7.3.11-1.a.v-msrp",
        up,
        expected="the client sets up the MSRP session after the ACK",
        actual="connected" if up else "no MSRP connection",
        evidence=ev,
        fatal=True,
    )
    sender = others(tc.pixit)[0]
    pf.own(sender)
    mid = invite.send_stored("stored while offline", sender=sender)
    # the MESSAGE that must come (awaited for the SIP guard), then the IMDN over the
    # sendonly MSRP session that must not (any SEND since the session began, watched for
    # the observation window more): the client's reaction to the same stored message
    message = await absent(pf, "MESSAGE", sender, within=tc.guards.sip)
    window = tc.guards.observe
    over_msrp = await msrp_cpim(invite, IMDN_TYPE, within=window)
    reported = [
        m
        for m in (
            _imdn_message_id(message.request.body) if message else None,
            _imdn_message_id(over_msrp[0].body) if over_msrp else None,
        )
        if m
    ]
    if over_msrp is not None:
        ev.append(evidence("msrp", "IMDN in the MSRP session", "SEND", over_msrp[0].body))
    if message is not None:
        ev.append(sip_evidence(message.request, "the client's MESSAGE"))
        message.respond(200)
    expect_true(
        tc.recorder,
        "CLIENT-7.3.11-1.a.i",
        mid in reported,
        expected=f"the stored message {mid} is received (its IMDN names it)",
        actual=reported,
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "CLIENT-7.3.11-1.a.ii",
        expected=mid,
        actual=_imdn_message_id(message.request.body) if message else None,
        message="the delivery notification comes back in SIP MESSAGE",
        evidence=ev,
    )
    expect_true(
        tc.recorder,
        "CLIENT-7.3.11-1.a.ii",
        over_msrp is None,
        expected="no IMDN over the sendonly MSRP session (observed until the observation "
        f"window, {window:.2f} s, after the MESSAGE)",
        actual="an IMDN in a SEND" if over_msrp is not None else "none",
        evidence=ev,
    )
    await invite.bye()


@pytest.mark.users(3)
@pytest.mark.requirement("CLIENT-7.3.11-1.a.vi")
async def test_7_3_11_1_a_vi_no_subscription_when_inactive(tc: Tc) -> None:
    """with {a client that knows a group session} ensure that
    { when {it accepts an inactive deferred delivery (cpm.deferred, a=sendonly)}
      then {it does not subscribe to the conference state of the session} }"""
    pf = await tc.pf()
    _, invite = await _inactive_delivery(pf, tc.pixit, tc.guards)
    subscribe = await absent(pf, "SUBSCRIBE", None, within=tc.guards.observe)
    expect_true(
        tc.recorder,
        "CLIENT-7.3.11-1.a.vi",
        subscribe is None,
        expected="no SUBSCRIBE during the inactive delivery (observed for the observation "
        f"window, {tc.guards.observe:.2f} s)",
        actual=subscribe.request.first_line() if subscribe else "none",
        evidence=[
            sip_evidence(invite.request, "the deferred INVITE"),
            *([sip_evidence(subscribe.request, "SUBSCRIBE")] if subscribe else []),
        ],
    )
    if subscribe is not None:
        subscribe.respond(403)
    await invite.bye()


@pytest.mark.users(3)
@pytest.mark.requirement("CLIENT-7.3.11-1.a.iv")
async def test_7_3_11_1_a_iv_unknown_session_481(tc: Tc) -> None:
    """with {a client} ensure that
    { when {it receives a deferred INVITE (cpm.deferred, a=sendonly) whose Conversation-ID
            and Contribution-ID it does not know}
      then {it answers 481} }"""
    pf = await tc.pf()
    session = pf.new_session(others(tc.pixit)[:2])
    invite = await pf.invite(InviteKind.DEFERRED, session)
    await _expect_answer(
        tc.recorder, "CLIENT-7.3.11-1.a.iv", invite, 481, "the deferred INVITE", tc.guards
    )


@pytest.mark.users(3)
@pytest.mark.requirement("CLIENT-7.3.11-2.a.ii")
async def test_7_3_11_2_a_ii_unknown_contribution_481(tc: Tc) -> None:
    """with {a client that knows a group session} ensure that
    { when {it receives an active re-connection INVITE (cpm.session, a=sendrecv) with that
            Conversation-ID and a Contribution-ID it does not know}
      then {it answers 481} }"""
    pf = await tc.pf()
    session = await _known_session(pf, tc.pixit, tc.guards)
    invite = await pf.invite(
        InviteKind.ACTIVE, session, contribution_id="0" * 24 + session.contribution_id[:8]
    )
    await _expect_answer(
        tc.recorder, "CLIENT-7.3.11-2.a.ii", invite, 481, "the re-connection INVITE", tc.guards
    )


@pytest.mark.users(3)
@pytest.mark.parametrize(
    ("action", "requirement", "status"),
    [
        ("user-decline", "CLIENT-7.3.11-1.a.v.1", 603),
        ("user-unavailable", "CLIENT-7.3.11-1.a.v.2", 480),
    ],
    ids=["decline-603", "unavailable-480"],
)
@pytest.mark.requirement("CLIENT-7.3.11-1.a.v.1", "CLIENT-7.3.11-1.a.v.2")
async def test_7_3_11_1_a_v_user_answers(
    tc: Tc,
    action: str,
    requirement: str,
    status: int,
) -> None:
    """with {a client that knows a group session and a user who leaves the group
            (user-decline) or defers it (user-unavailable)} ensure that
    { when {the PF sends a deferred INVITE}
      then {the client answers 603 Decline, resp. 480 Temporarily Unavailable} }"""
    pf = await tc.pf()
    session = await _known_session(pf, tc.pixit, tc.guards)
    await tc.upper_tester.act(action, user=client_user(tc.pixit))
    invite = await pf.invite(InviteKind.DEFERRED, session)
    await _expect_answer(tc.recorder, requirement, invite, status, "the deferred INVITE", tc.guards)


@pytest.mark.users(3)
@pytest.mark.requirement("CLIENT-7.3.11-1.a.viii", "CLIENT-7.3.11-3")
async def test_7_3_11_1_a_viii_reply_after_the_delivery_session(tc: Tc) -> None:
    """with {a client receiving an inactive deferred delivery} ensure that
    { when {the user replies (send-message) during the delivery}
      then {no new session starts until the delivery session ended; then the client
            re-joins the group session (INVITE to the focus with its ids)} }"""
    pf = await tc.pf()
    session, invite = await _inactive_delivery(pf, tc.pixit, tc.guards)
    await tc.upper_tester.send_message(
        client_user(tc.pixit), "a reply", conversation_id=session.conversation_id
    )
    # a re-join during the delivery would answer the reply at once: watched for the
    # observation window; the re-join after the BYE must come (the SIP guard)
    early = await absent(pf, "INVITE", session.focus, within=tc.guards.observe)
    if early is not None:
        early.respond(480)
    bye = await invite.bye()
    await bye.final(tc.guards.sip)
    late = early or await absent(pf, "INVITE", session.focus, within=tc.guards.sip)
    ev = [sip_evidence(invite.request, "the deferred INVITE")]
    if late is not None:
        ev.append(sip_evidence(late.request, "the client's re-join INVITE"))
    expect_true(
        tc.recorder,
        "CLIENT-7.3.11-1.a.viii",
        early is None and late is not None,
        expected="the reply's INVITE only after the delivery session ended",
        actual="during the delivery" if early else ("after" if late else "never"),
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "CLIENT-7.3.11-3",
        expected=(session.conversation_id, session.contribution_id),
        actual=(
            late.request.headers.get(CONVERSATION_ID),
            late.request.headers.get(CONTRIBUTION_ID),
        )
        if late
        else None,
        message="the re-join INVITE names the group session",
        evidence=ev,
    )
    if late is not None and early is None:
        late.respond(480)


@pytest.mark.users(3)
@pytest.mark.requirement("CLIENT-7.3.11-REJOIN-RESTRAINT")
async def test_7_3_11_no_rejoin_without_a_message(tc: Tc) -> None:
    """with {a client that received an inactive deferred delivery} ensure that
    { when {the delivery session ends and the user has nothing to send}
      then {the client does not re-join the group session} }"""
    pf = await tc.pf()
    session, invite = await _inactive_delivery(pf, tc.pixit, tc.guards)
    bye = await invite.bye()
    await bye.final(tc.guards.sip)
    rejoin = await absent(pf, "INVITE", session.focus, within=tc.guards.observe)
    expect_true(
        tc.recorder,
        "CLIENT-7.3.11-REJOIN-RESTRAINT",
        rejoin is None,
        expected="no INVITE to the focus (observed for the observation window, "
        f"{tc.guards.observe:.2f} s, after the BYE's answer)",
        actual=rejoin.request.first_line() if rejoin else "none",
        evidence=[
            sip_evidence(invite.request, "the deferred INVITE"),
            *([sip_evidence(rejoin.request, "re-join")] if rejoin else []),
        ],
    )
    if rejoin is not None:
        rejoin.respond(480)


@pytest.mark.users(3)
@pytest.mark.requirement("CLIENT-7.3.11-2.a.i.1", "CLIENT-7.3.11-2.a.i.2", "CLIENT-7.3.11-2.a.i.3")
async def test_7_3_11_2_active_session_delivery(tc: Tc) -> None:
    """with {a client that knows a group session} ensure that
    { when {the PF re-connects it to the active session (cpm.session, a=sendrecv), delivers
            a stored message requesting positive-delivery, and the user sends a message}
      then {the same MSRP session carries the stored message, its delivery notification
            and the user's new message} }"""
    pf = await tc.pf()
    session = await _known_session(pf, tc.pixit, tc.guards)
    invite = await pf.invite(InviteKind.ACTIVE, session)
    answer = await invite.final(tc.guards.sip)
    if answer.status != 200:
        inconclusive(f"the client did not accept the re-connection ({answer.status})")
    up = await delivered(pf, invite, within=tc.guards.sip)
    ev = [
        sip_evidence(invite.request, "the re-connection INVITE"),
        sip_evidence(answer, "the client's 200"),
    ]
    sender = others(tc.pixit)[0]
    pf.own(sender)
    mid = invite.send_stored("stored for you", sender=sender) if up else None
    imdn = await msrp_cpim(invite, IMDN_TYPE, within=tc.guards.sip) if up else None
    message = await absent(pf, "MESSAGE", sender, within=0.0 if imdn else tc.guards.sip)
    if message is not None:
        message.respond(200)
        ev.append(sip_evidence(message.request, "the client's MESSAGE"))
    reported = [
        m
        for m in (
            _imdn_message_id(imdn[0].body) if imdn else None,
            _imdn_message_id(message.request.body) if message else None,
        )
        if m
    ]
    expect_true(
        tc.recorder,
        "CLIENT-7.3.11-2.a.i.1",
        up and mid in reported,
        expected="the stored message is received in the sendrecv session",
        actual=reported if up else "no MSRP session",
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "CLIENT-7.3.11-2.a.i.2",
        expected=mid,
        actual=_imdn_message_id(imdn[0].body) if imdn else None,
        message="the delivery notification comes in the MSRP session",
        evidence=ev,
    )
    chat = None
    if up:
        await tc.upper_tester.send_message(
            client_user(tc.pixit), "new in the session", conversation_id=session.conversation_id
        )
        chat = await msrp_cpim(invite, "text/plain", within=tc.guards.sip)
    rejoin = await absent(pf, "INVITE", session.focus, within=0.0)
    if rejoin is not None:
        rejoin.respond(480)
    expect_true(
        tc.recorder,
        "CLIENT-7.3.11-2.a.i.3",
        chat is not None and chat[1].body == b"new in the session",
        expected="the new message in the sendrecv MSRP session",
        actual=chat[1].body if chat else ("a re-join INVITE" if rejoin else "nothing"),
        evidence=ev,
    )
    await invite.bye()
