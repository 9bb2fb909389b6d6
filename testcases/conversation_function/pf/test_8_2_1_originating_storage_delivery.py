"""CPM Conversation Function 8.2.1, after the terminating 200 OK: the storage of the
session (200 OK step 8) and the direct delivery to the user's other clients (step 10).

The tool plays the originating user's clients (through their S-CSCF), the XDMS and the CF;
the PF under test sits between them. The Message Store is read back through the profile's
``[message_store]`` URL. Expected values are written here from the seed text.
"""

from __future__ import annotations

import pytest

from conformance.catalog.profile import Pixit
from conformance.checks import (
    evidence,
    expect_equal,
    expect_true,
    inconclusive,
)
from conformance.documents.groupstate import parse_group_state
from conformance.documents.store_object import session_history_folder
from conformance.errors import DocumentError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.sip.headers import get_accept_contact, get_contacts
from conformance.protocol.sip.message import SipResponse
from conformance.protocol.sip.uri import parse_uri
from conformance.roles.cf import CfEmulator, CfSession
from conformance.roles.client import ClientEmulator, IncomingInvite
from conformance.roles.store import open_store
from conformance.testcases.procedures import (
    OriginatingSession,
    expect_arrival,
    pf_address,
    send_group_invite,
    sip_evidence,
    user_with_clients,
)
from conformance.testcases.procedures.group_state import stored_evidence
from conformance.testcases.procedures.messages import SUT_SILENCE
from conformance.testcases.procedures.sessions import GroupInvite

GROUP_STATE_TYPE = "application/group-state-object+xml"


def _comm_addr(value: str | None) -> str:
    """A participant's comm-addr; a Group State Object without one is defective."""
    if value is None:
        raise DocumentError("a participant without comm-addr")
    return value


def _aor(uri: str) -> str:
    parsed = parse_uri(uri.strip("<>"))
    return f"sip:{parsed.user}@{parsed.host}" if parsed.user else f"sip:{parsed.host}"


async def _established(
    client: ClientEmulator,
    cf: CfEmulator,
    pixit: Pixit,
    guards: Guards,
    *,
    cf_headers: tuple[tuple[str, str], ...] = (),
) -> tuple[OriginatingSession, CfSession, SipResponse]:
    """A group session of ``client`` through the PF, answered by the CF and ACKed."""
    session = await send_group_invite(client, pixit, GroupInvite(subject="conformance"))
    incoming = await cf.expect_invite(within=guards.sip, conversation_id=session.conversation_id)
    cf_session = await incoming.accept(headers=cf_headers)
    assert incoming.response is not None
    answer = await session.handle.final(within=guards.sip)
    if answer.status == 200:
        await session.handle.ack()
    return session, cf_session, incoming.response


# --------------------------------------------------------------------------- step 8


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-200OK-8", "PF-8.2.1-200OK-8-gso")
async def test_8_2_1_200_ok_8_session_is_stored(tc: Tc) -> None:
    """with {a user whose <allow-offline-storage> is true} ensure that
    { when {the user's group INVITE is answered 200 OK by the CF}
      then {the PF stores, in the Session History Folder named after the Contribution-ID,
            a Session Info Object with the INVITE's data and a Group State Object with
            the CPM Group Session Identity and the participants of the INVITE's list} }"""
    cf = await tc.cf()
    xdms = tc.xdms_preferences()
    user = tc.pixit.users[0].uri
    xdms.set_preferences(user, allow_offline_storage=True)
    client = await tc.client(user, 0)
    session, cf_session, _ = await _established(client, cf, tc.pixit, tc.guards)
    folder = session_history_folder(session.contribution_id)
    sent_ev = sip_evidence(session.sent, "the client's INVITE")
    async with open_store(tc.pixit.message_store.url) as store:
        info = await expect_arrival(
            tc.recorder,
            "PF-8.2.1-200OK-8",
            store.wait_for_object(
                folder,
                lambda o: not o.has_type(GROUP_STATE_TYPE),
                tc.guards.sip,
                what="a Session Info Object",
            ),
            expected=f"a Session Info Object in the folder {folder!r}",
            evidence=[sent_ev],
        )
        if info is not None:
            # "the storage of the SIP INVITE request data into the Session info Object"
            held = {
                "Conversation-ID": session.conversation_id.encode() in info.raw,
                "Contribution-ID": session.contribution_id.encode() in info.raw,
            }
            expect_equal(
                tc.recorder,
                "PF-8.2.1-200OK-8",
                expected={"Conversation-ID": True, "Contribution-ID": True},
                actual=held,
                message="the Session Info Object holds the INVITE's data",
                evidence=[sent_ev, stored_evidence(info, "the Session Info Object")],
            )
        gso = await expect_arrival(
            tc.recorder,
            "PF-8.2.1-200OK-8-gso",
            store.wait_for_object(
                folder,
                lambda o: o.has_type(GROUP_STATE_TYPE),
                tc.guards.sip,
                what="a Group State Object",
            ),
            expected=f"a Group State Object in the folder {folder!r}",
            evidence=[sent_ev],
        )
    if gso is not None:
        ev = [sent_ev, stored_evidence(gso, "the Group State Object")]
        try:
            state = parse_group_state(gso.body)
            focus = state.lastfocussessionid
            listed = {_aor(_comm_addr(p.comm_addr)) for p in state.participants}
        except RemoteProtocolError as exc:  # the SUT's document: its defect is a fail
            focus, listed = None, {f"unparsable: {exc}"}
        wanted = {_aor(p) for p in session.participants}
        expect_equal(
            tc.recorder,
            "PF-8.2.1-200OK-8-gso",
            expected=(cf_session.focus_uri, True),
            actual=(focus, wanted <= listed),
            message="(CPM Group Session Identity, every participant of the INVITE listed)",
            evidence=ev,
        )
    await session.handle.bye()


# --------------------------------------------------------------------------- step 10


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.1-200OK-10.b",
    "PF-8.2.1-200OK-10.b.i",
    "PF-8.2.1-200OK-10.b.ii",
    "PF-8.2.1-200OK-10.b.iii",
    "PF-8.2.1-200OK-10.c",
)
async def test_8_2_1_200_ok_10_direct_delivery_to_other_clients(tc: Tc) -> None:
    """with {a PF that delivers originated sessions to all of the user's clients, and a
    user with two registered CPM 2.0 clients} ensure that
    { when {client 0 originates a group session and the CF answers 200 OK with a
            P-Asserted-Identity}
      then {client 1 gets an INVITE through the SIP/IP core, addressed per 8.3.2 step 8.d
            (the user's address, Accept-Contact with its +sip.instance, the focus Contact),
            with the P-Asserted-Identity of the CF's 200 and the original header fields} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    first = await tc.client(user, 0)
    second = await tc.client(user, 1)
    answerer = f"<{cf.new_focus_uri()}>"
    session, cf_session, cf_ok = await _established(
        first, cf, tc.pixit, tc.guards, cf_headers=(("P-Asserted-Identity", answerer),)
    )
    sent = session.sent
    # the INVITE reaches the SIP/IP core (the tool): client 1 gets it, or the core holds it
    # unrouted (one that does not name client 1's instance reaches no client)
    try:
        incoming: IncomingInvite | None = await second.expect_invite(within=tc.guards.sip)
    except SUT_SILENCE:
        incoming = None
    conversation_id = sent.headers.get("Conversation-ID")
    got = (
        incoming.request
        if incoming is not None
        else next(
            (
                u.request
                for u in tc.core.unrouted
                if u.request.method == "INVITE"
                and u.request.headers.get("Conversation-ID") == conversation_id
            ),
            None,
        )
    )
    for rid in ("PF-8.2.1-200OK-10.b", "PF-8.2.1-200OK-10.c"):
        expect_true(
            tc.recorder,
            rid,
            got is not None,
            expected="an INVITE to the user's other registered client at the SIP/IP core",
            actual=f"INVITE {got.uri}" if got is not None else "nothing within the guard time",
            evidence=[sip_evidence(sent, "the originating client's INVITE")],
        )
    if got is None:
        await session.handle.bye()
        return
    ev = [
        sip_evidence(sent, "the originating client's INVITE"),
        sip_evidence(got, "the INVITE client 1 received"),
    ]
    # 10.b.i -> 8.3.2 step 8.d.i, 8.d.ii (no GRUU) and 8.d.v
    instance = second.instance.strip('"')
    instances = [(p.instance or "").strip('"<>') for p in get_accept_contact(got)]
    contacts = get_contacts(got)
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-10.b.i",
        expected={
            "Request-URI": _aor(user),
            "Accept-Contact +sip.instance": True,
            "Contact": (cf_session.focus_uri, True),
        },
        actual={
            "Request-URI": _aor(got.uri),
            "Accept-Contact +sip.instance": instance.strip("<>") in instances,
            "Contact": (contacts[0].uri, contacts[0].isfocus) if contacts else None,
        },
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-10.b.ii",
        expected=answerer,
        actual=got.headers.get("P-Asserted-Identity"),
        evidence=[*ev, sip_evidence(cf_ok, "the CF's 200")],
    )
    copied = ("Conversation-ID", "Contribution-ID", "Subject")
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-10.b.iii",
        expected={h: sent.headers.get(h) for h in copied},
        actual={h: got.headers.get(h) for h in copied},
        evidence=ev,
    )
    if incoming is not None:
        expect_equal(
            tc.recorder,
            "PF-8.2.1-200OK-10.c",
            expected=pf_address(tc.pixit).host,
            actual=incoming.incoming.source.host,
            message="the INVITE reaches the SIP/IP core (the tool) from the PF",
            evidence=ev,
        )
        incoming.decline(603)
    await session.handle.bye()


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-200OK-10.a.i")
async def test_8_2_1_200_ok_10_a_i_no_delivery_to_old_clients(tc: Tc) -> None:
    """with {a PF that requires the CPM 2.0 release and delivers originated sessions to
    all of the user's clients, and a user whose other client registered with
    User-Agent CPM-client/OMA1.0} ensure that
    { when {the user's CPM 2.0 client originates a group session and the CF answers 200}
      then {the old client gets no INVITE (the PF skips the direct delivery)} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    first = await tc.client(user, 0)
    old = await tc.client(user, 1, user_agent="CPM-client/OMA1.0 old-client/1")
    session, _, _ = await _established(first, cf, tc.pixit, tc.guards)
    ev = [sip_evidence(session.sent, "the originating client's INVITE")]
    try:
        got = await old.expect_invite(within=tc.guards.observe)
    except WaitTimeout:
        got = None
    expect_true(
        tc.recorder,
        "PF-8.2.1-200OK-10.a.i",
        got is None,
        expected="no INVITE to the client registered with CPM-client/OMA1.0",
        actual=(
            got.request.first_line()
            if got is not None
            else f"no INVITE within the observation window ({tc.guards.observe:.2f} s)"
        ),
        evidence=[
            *ev,
            *(
                [sip_evidence(got.request, "the INVITE the old client got")]
                if got is not None
                else []
            ),
        ],
    )
    if got is not None:
        got.decline(603)
    await session.handle.bye()


async def _delivered_invite(
    client: ClientEmulator, contribution_id: str | None, within: float
) -> IncomingInvite:
    """The PF's INVITE to ``client`` for this case's session only (same Contribution-ID)."""
    incoming = await client.expect_request(
        "INVITE",
        within=within,
        match=lambda r: (
            ";tag=" not in (r.request.headers.get("To") or "")
            and contribution_id is not None
            and r.request.headers.get("Contribution-ID") == contribution_id
        ),
    )
    return IncomingInvite(client, incoming)


async def _msrp_up(invite: IncomingInvite, within: float) -> bool:
    """The accepted client's MSRP session is established (True; a timeout raises)."""
    await invite.establish_msrp(within=within)
    return True


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-200OK-10.d")
async def test_8_2_1_200_ok_10_d_msrp_with_accepting_client(tc: Tc) -> None:
    """with {a PF in the media path that delivers originated sessions to all of the user's
    clients, and a user with two registered clients} ensure that
    { when {client 0 originates a group session answered 200 by the CF, client 1 accepts
            the PF's direct-delivery INVITE (a=setup:passive) and client 0 sends a message}
      then {the PF establishes the MSRP session with client 1 and the message reaches
            client 1 over it} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    first, second = await tc.client(user, 0), await tc.client(user, 1)
    session = await send_group_invite(first, tc.pixit)
    incoming = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    cf_session = await incoming.accept()
    answer = await session.handle.final(within=tc.guards.sip)
    if answer.status != 200:
        inconclusive(f"the group session was not established ({answer.status})")
    await session.handle.ack()
    await cf_session.establish_msrp(within=tc.guards.sip)
    await session.handle.establish_msrp(within=tc.guards.sip)
    try:
        delivered = await _delivered_invite(second, session.contribution_id, tc.guards.sip)
    except WaitTimeout:
        inconclusive("the PF did not deliver the session to the user's other client")
    # the client answers passive: the MSRP session is the PF's to establish (RFC 4975)
    await delivered.answer(sdp_setup="passive")
    ev = [sip_evidence(delivered.request, "the PF's INVITE client 1 accepted")]
    established = await expect_arrival(
        tc.recorder,
        "PF-8.2.1-200OK-10.d",
        _msrp_up(delivered, tc.guards.sip),
        expected="the PF's MSRP connection to client 1 (which answered a=setup:passive)",
        evidence=ev,
    )
    channel = delivered.msrp.channel if delivered.msrp is not None else None
    if established:
        text = b"to every client that accepted"
        session.msrp.send_cpim(from_=f"<{user}>", to="<sip:anonymous@anonymous.invalid>", body=text)
        got = None
        if channel is not None:
            got = await expect_arrival(
                tc.recorder,
                "PF-8.2.1-200OK-10.d",
                channel.expect(MessageReceived, within=tc.guards.sip, match=lambda m: bool(m.body)),
                expected="client 0's message at client 1 over the MSRP session",
                evidence=ev,
            )
        if got is not None:
            expect_true(
                tc.recorder,
                "PF-8.2.1-200OK-10.d",
                text in got.body,
                expected="client 0's message received by client 1 over MSRP",
                actual=got.body[:200],
                evidence=[*ev, evidence("msrp", "the message client 1 received", "", got.body)],
            )
    await session.handle.bye()
    call_id = delivered.request.call_id
    try:
        bye = await second.expect_request(
            "BYE", within=tc.guards.sip, match=lambda r: r.request.call_id == call_id
        )
    except WaitTimeout:
        return
    bye.respond(200)
