"""CPM Conversation Function, "Termination of all CPM Sessions of a CPM User due to
Administrative Trigger" (catalogued as section ADMIN).

The tool plays the user's client, the S-CSCF and the CF; the upper tester fires the
trigger. The state the PF acts on is made by real flows: an active group session through
the PF, and inactive long-lived group sessions (set up with allow-offline-storage so the
PF stores a Group State Object, then ended by the CF's BYE).
"""

from __future__ import annotations

import asyncio

import pytest

from conformance.checks import EvidenceRef, VerdictRecorder, expect_equal, expect_true
from conformance.documents.resource_lists import parse_resource_list
from conformance.documents.store_object import session_history_folder
from conformance.errors import ProtocolError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import CaptureView, Guards
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.headers import (
    get_accept_contact,
    get_asserted_identities,
    get_asserted_services,
    get_contacts,
    get_reasons,
)
from conformance.protocol.sip.message import SipMessage, SipRequest, parse_message
from conformance.protocol.sip.multipart import find_recipient_list, parse_multipart
from conformance.roles.cf import CfEmulator, CfIncomingInvite, CfSession
from conformance.roles.client import ClientEmulator, InviteHandle
from conformance.roles.core import ToolCore
from conformance.roles.msrp_peer import MsrpPeer
from conformance.roles.store import open_store
from conformance.roles.xdms import XdmsServer
from conformance.testcases.procedures import (
    expect_arrival,
    msrp_media,
    new_ids,
    pf_address,
    sip_evidence,
)
from conformance.testcases.procedures.messages import PEER_ERRORS, SUT_SILENCE

ICSI_SESSION = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"
ICSI_GROUP = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session.group"


def _reason(message: SipMessage) -> tuple[str, int | None, str | None] | None:
    try:
        reasons = get_reasons(message)
    except RemoteProtocolError:  # a Reason that does not parse is no Reason to judge
        return None
    return (reasons[0].protocol.upper(), reasons[0].cause, reasons[0].text) if reasons else None


async def _released(peer: MsrpPeer, guards: Guards) -> object:
    """Send on the MSRP session: a released session gets 481 (or a closed connection)."""
    try:
        requests = peer.send(b"after BYE", "text/plain")
        channel = peer.channel
        if channel is None:
            return "no response (no MSRP connection)"
        response = await channel.response(requests[0], within=guards.msrp)
        return response.status_code
    except PEER_ERRORS as exc:
        return f"no response ({type(exc).__name__})"


def _acked(capture: CaptureView, rejected: SipRequest) -> bool:
    """The SUT sent the ACK of a final non-2xx response to ``rejected`` (RFC 3261 17.1.1.3):
    an ACK with its Call-ID and CSeq number among the datagrams the tool received."""
    number, _ = rejected.cseq
    for record in capture.records:
        if record.direction != "in" or not record.data.startswith(b"ACK "):
            continue
        try:
            ack = parse_message(record.data)
        except RemoteProtocolError:
            continue
        if ack.call_id == rejected.call_id and ack.cseq == (number, "ACK"):
            return True
    return False


class _Stored:
    def __init__(
        self, conversation_id: str, contribution_id: str, focus: str, participants: tuple[str, ...]
    ) -> None:
        self.conversation_id = conversation_id
        self.contribution_id = contribution_id
        self.focus = focus
        self.participants = participants


async def _group_session(
    tc: Tc, user: str, *, ids: tuple[str, str] | None = None, focus: str | None = None
) -> tuple[tuple[ClientEmulator, InviteHandle], CfSession, _Stored]:
    """A group session from ``user``'s client through the PF, accepted by the CF."""
    pixit, guards = tc.pixit, tc.guards
    cf = await tc.cf()
    client = await tc.client(user, 0)
    conversation_id, contribution_id = ids or new_ids()
    participants = tuple(u.uri for u in pixit.users if u.uri != user)[:2]
    msrp = await client.new_msrp_peer()
    request = client.build_group_invite(
        pixit.uris.conference_factory,
        msrp=msrp,
        conversation_id=conversation_id,
        contribution_id=contribution_id,
        participants=participants,
        extra_headers=(("P-Asserted-Identity", f"<{user}>"),),
    )
    handle = await client.send_invite(request, pf_address(pixit), msrp=msrp)
    incoming = await cf.expect_invite(within=guards.sip, conversation_id=conversation_id)
    cf_session = await incoming.accept(focus_uri=focus)
    await handle.final(within=guards.sip)
    await handle.ack()
    await cf.expect_request("ACK", within=guards.sip)
    await cf_session.establish_msrp(within=guards.sip)
    stored = _Stored(conversation_id, contribution_id, cf_session.focus_uri, (user, *participants))
    return (client, handle), cf_session, stored


async def _inactive_session(
    tc: Tc, user: str, *, ids: tuple[str, str] | None = None, focus: str | None = None
) -> _Stored:
    """A stored group session (allow-offline-storage) the CF then ends with BYE."""
    (client, _), cf_session, stored = await _group_session(tc, user, ids=ids, focus=focus)
    async with open_store(tc.pixit.message_store.url) as store:
        # the PF stores after the 200 OK: wait for this session's Group State Object
        await store.wait_for_object(
            session_history_folder(stored.contribution_id),
            lambda o: o.is_group_state and stored.focus.encode() in o.raw,
            tc.guards.sip,
            what="the Group State Object of the session",
        )
    await cf_session.bye()
    bye = await client.expect_request("BYE", within=tc.guards.sip)
    bye.respond(200)
    return stored


async def _stored_then_triggered(
    tc: Tc,
    xdms: XdmsServer,
    count: int = 1,
    *,
    ids: tuple[str, str] | None = None,
    focus: str | None = None,
) -> tuple[str, list[_Stored]]:
    """``count`` inactive long-lived group sessions of the first user (allow-offline-storage)
    in the Message Store; then the administrative trigger fires for the user."""
    user = tc.pixit.users[0].uri
    xdms.set_preferences(user, allow_offline_storage=True)
    stored = [await _inactive_session(tc, user, ids=ids, focus=focus) for _ in range(count)]
    await tc.upper_tester.admin_trigger(user)
    return user, stored


def _expect_acked(
    recorder: VerdictRecorder,
    requirement: str,
    capture: CaptureView,
    rejected: SipRequest,
    status: int,
    ev: list[EvidenceRef],
) -> None:
    acked = _acked(capture, rejected)
    expect_true(
        recorder,
        requirement,
        acked,
        expected=f"an ACK for the {status} (same Call-ID and CSeq number)",
        actual="ACK received" if acked else "no ACK",
        evidence=ev,
    )


async def _next_invite(
    cf: CfEmulator,
    conversations: set[str],
    guards: Guards,
    contributions: frozenset[str] = frozenset(),
) -> CfIncomingInvite:
    """The next INVITE of this case's conversations (by Conversation-ID, or by one of
    ``contributions`` as Contribution-ID); others (stale sessions) get 403.

    The PF re-joins the user's stored sessions one after another, oldest first (2.j), and
    earlier test cases left some: each INVITE of such a session, here or at the core (a
    focus no emulator holds any more, answered 404 there), shows the PF still at work, and
    the wait of two SIP transaction guards starts again from it."""
    core = cf.core
    seen = len(core.unrouted)
    while True:
        incoming = await _invite_or_progress(cf, core, seen, guards.sip * 2)
        if isinstance(incoming, int):
            seen = incoming
            continue
        headers = incoming.request.headers
        if (
            headers.get("Conversation-ID") in conversations
            or headers.get("Contribution-ID") in contributions
        ):
            return incoming
        incoming.reject(403)


async def _invite_or_progress(
    cf: CfEmulator, core: ToolCore, seen: int, within: float
) -> CfIncomingInvite | int:
    """The CF's next INVITE, or (when an INVITE reached the core unrouted first) the count
    of unrouted requests after it; :class:`WaitTimeout` when neither came ``within``."""
    invite = asyncio.ensure_future(cf.expect_invite(within=within))
    stale = asyncio.ensure_future(core.expect_unrouted("INVITE", within=within, since=seen))
    try:
        await asyncio.wait({invite, stale}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (invite, stale):
            if not task.done():
                task.cancel()
        await asyncio.gather(invite, stale, return_exceptions=True)
    if not invite.cancelled() and invite.exception() is None:
        return invite.result()
    if not stale.cancelled() and stale.exception() is None:
        return core.unrouted.index(stale.result()) + 1
    raise WaitTimeout("INVITE of the PF at the CF emulator or the core", within)


#: the header fields RFC 3261 8.1.1 requires in every request (and Contact in an INVITE)
RFC3261_REQUIRED = ("To", "From", "CSeq", "Call-ID", "Max-Forwards", "Via", "Contact")


async def _in_dialog(
    cf: CfEmulator, method: str, call_id: str | None, guards: Guards
) -> IncomingRequest:
    return await cf.expect_request(
        method, within=guards.sip, match=lambda r: r.request.call_id == call_id
    )


def _icsi_checks(
    recorder: VerdictRecorder,
    ids: dict[str, str],
    got: SipMessage,
    user: str,
    ev: list[EvidenceRef] | EvidenceRef,
) -> None:
    accept = [p.icsi_refs for p in get_accept_contact(got)]
    expect_true(
        recorder,
        ids["accept"],
        any(ICSI_SESSION in r for r in accept),
        expected=f"Accept-Contact with +g.3gpp.icsi-ref {ICSI_SESSION}",
        actual=accept,
        evidence=ev,
    )
    contacts = get_contacts(got)
    expect_true(
        recorder,
        ids["contact"],
        bool(contacts) and ICSI_SESSION in contacts[0].icsi_refs,
        expected=f"Contact with +g.3gpp.icsi-ref {ICSI_SESSION}",
        actual=got.headers.get("Contact"),
        evidence=ev,
    )
    expect_equal(
        recorder,
        ids["pas"],
        expected=[ICSI_GROUP],
        actual=list(get_asserted_services(got)),
        evidence=ev,
    )
    pai = [a.uri for a in get_asserted_identities(got)]
    expect_equal(recorder, ids["pai"], expected=[user], actual=pai, evidence=ev)
    offer = msrp_media(got)
    expect_true(
        recorder,
        ids["sdp"],
        offer is not None and bool(offer.path) and offer.setup in ("actpass", "active", "passive"),
        expected="an SDP offer with an MSRP m-line, a=path and a=setup",
        actual=(offer.path, offer.setup) if offer else None,
        evidence=ev,
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-ADMIN-1.a", "PF-ADMIN-1.b")
async def test_admin_1_active_session_released(tc: Tc) -> None:
    """with {an active group session of the user through the PF} ensure that
    { when {the administrative trigger fires for the user}
      then {the PF sends BYE with Reason SIP;cause=200;text="Call Completed" on both legs
            and releases the session's MSRP resources} }"""
    cf = await tc.cf()
    tc.xdms_preferences()
    user = tc.pixit.users[0].uri
    (client, _), cf_session, _ = await _group_session(tc, user)
    await tc.upper_tester.admin_trigger(user)
    expected = 'a BYE with Reason SIP;cause=200;text="Call Completed"'
    to_client = await expect_arrival(
        tc.recorder,
        "PF-ADMIN-1.a",
        client.expect_request("BYE", within=tc.guards.sip),
        expected=f"{expected} to the client",
    )
    to_cf = await expect_arrival(
        tc.recorder,
        "PF-ADMIN-1.a",
        _in_dialog(cf, "BYE", cf_session.dialog.call_id, tc.guards),
        expected=f"{expected} to the CF",
    )
    if to_client is None or to_cf is None:
        return
    to_client.respond(200)
    to_cf.respond(200)
    for bye, leg in ((to_client.request, "client"), (to_cf.request, "CF")):
        expect_equal(
            tc.recorder,
            "PF-ADMIN-1.a",
            expected=("SIP", 200, "Call Completed"),
            actual=_reason(bye),
            message=f"the BYE on the {leg} leg",
            evidence=sip_evidence(bye, f"the PF's BYE to the {leg}"),
        )
    status = await _released(cf_session.msrp, tc.guards)
    expect_equal(
        tc.recorder,
        "PF-ADMIN-1.b",
        expected=481,
        actual=status,
        message="a SEND on the released MSRP session is refused (RFC 4975 7.2)",
        evidence=sip_evidence(to_cf.request, "the PF's BYE to the CF"),
    )


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-ADMIN-2.b",
    "PF-ADMIN-2.b.i",
    "PF-ADMIN-2.b.ii",
    "PF-ADMIN-2.b.iii",
    "PF-ADMIN-2.b.iv",
    "PF-ADMIN-2.b.v",
    "PF-ADMIN-2.b.vi",
    "PF-ADMIN-2.b.vii",
    "PF-ADMIN-2.b.viii",
    "PF-ADMIN-2.b.ix",
    "PF-ADMIN-2.e.i",
    "PF-ADMIN-2.e.ii",
    "PF-ADMIN-2.f",
    "PF-ADMIN-2.g",
    "PF-ADMIN-2.h",
    "PF-ADMIN-2.i",
)
async def test_admin_2_rejoin_and_leave(tc: Tc) -> None:
    """with {an inactive long-lived group session of the user in the Message Store} ensure
    that { when {the administrative trigger fires and the CF answers the re-join with 200}
      then {the INVITE carries every item of step 2.b, the PF ACKs, sets up MSRP, leaves
            with BYE Reason cause=200 to the group session identity via the core, and
            releases the MSRP session} }"""
    cf = await tc.cf()
    xdms = tc.xdms_preferences()
    user, (stored,) = await _stored_then_triggered(tc, xdms)
    incoming = await expect_arrival(
        tc.recorder,
        "PF-ADMIN-2.b.ix",
        _next_invite(cf, {stored.conversation_id}, tc.guards, frozenset({stored.contribution_id})),
        expected="the re-join INVITE at the SIP/IP core (the tool)",
    )
    if incoming is None:
        return
    got = incoming.request
    ev = sip_evidence(got, "the PF's re-join INVITE")
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.b",
        expected=("INVITE", []),
        actual=(got.method, [h for h in RFC3261_REQUIRED if not got.headers.has(h)]),
        message="an INVITE with every header field RFC 3261 8.1.1 requires (none missing)",
        evidence=ev,
    )
    expect_equal(tc.recorder, "PF-ADMIN-2.b.i", expected=stored.focus, actual=got.uri, evidence=ev)
    _icsi_checks(
        tc.recorder,
        {
            "accept": "PF-ADMIN-2.b.ii",
            "contact": "PF-ADMIN-2.b.iii",
            "pas": "PF-ADMIN-2.b.iv",
            "pai": "PF-ADMIN-2.b.v",
            "sdp": "PF-ADMIN-2.b.viii",
        },
        got,
        user,
        ev,
    )
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.b.vi",
        expected=stored.conversation_id,
        actual=got.headers.get("Conversation-ID"),
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.b.vii",
        expected=stored.contribution_id,
        actual=got.headers.get("Contribution-ID"),
        evidence=ev,
    )
    pf = pf_address(tc.pixit)
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.b.ix",
        expected=pf.host,
        actual=incoming.incoming.source.host,
        message="the INVITE reaches the SIP/IP core (the tool) from the PF",
        evidence=ev,
    )
    cf_session = await incoming.accept(focus_uri=stored.focus)
    try:
        ack = await _in_dialog(cf, "ACK", got.call_id, tc.guards)
        acked: object = ack.request.method
    except SUT_SILENCE as exc:
        acked = f"none ({type(exc).__name__})"
    expect_equal(tc.recorder, "PF-ADMIN-2.e.i", expected="ACK", actual=acked, evidence=ev)
    try:
        await cf_session.establish_msrp(within=tc.guards.sip)
        media: object = "connected"
    except PEER_ERRORS as exc:
        media = f"no MSRP connection ({type(exc).__name__})"
    expect_equal(tc.recorder, "PF-ADMIN-2.e.ii", expected="connected", actual=media, evidence=ev)
    try:
        bye_in = await _in_dialog(cf, "BYE", got.call_id, tc.guards)
    except SUT_SILENCE as exc:
        for rid in ("PF-ADMIN-2.f", "PF-ADMIN-2.h"):
            expect_true(
                tc.recorder,
                rid,
                False,
                expected="a BYE from the PF at the SIP/IP core (the tool)",
                actual=f"none ({type(exc).__name__})",
                evidence=ev,
            )
        return
    bye_in.respond(200)
    bye = bye_in.request
    bev = [ev, sip_evidence(bye, "the PF's BYE")]
    reason = _reason(bye)
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.f",
        expected=("SIP", 200),
        actual=reason[:2] if reason else None,
        evidence=bev,
    )
    expect_equal(tc.recorder, "PF-ADMIN-2.g", expected=stored.focus, actual=bye.uri, evidence=bev)
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.h",
        expected=pf.host,
        actual=bye_in.source.host,
        message="the BYE reaches the SIP/IP core (the tool) from the PF",
        evidence=bev,
    )
    status = await _released(cf_session.msrp, tc.guards) if media == "connected" else "no media"
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.i",
        expected=481,
        actual=status,
        message="a SEND on the left session's MSRP session is refused",
        evidence=bev,
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-ADMIN-2.c", "PF-ADMIN-2.c-next", "PF-ADMIN-2.j")
async def test_admin_2_c_forbidden_then_next_session(tc: Tc) -> None:
    """with {two inactive long-lived group sessions of the user in the Message Store} ensure
    that { when {the trigger fires and the CF answers the first re-join with 403}
      then {the PF ACKs the 403 and re-joins the other session too} }"""
    cf = await tc.cf()
    xdms = tc.xdms_preferences()
    _, (first, second) = await _stored_then_triggered(tc, xdms, count=2)
    mine = {first.conversation_id, second.conversation_id}
    one = await _next_invite(cf, mine, tc.guards)
    one.reject(403)
    seen = [one.request.headers.get("Conversation-ID")]
    ev = [sip_evidence(one.request, "the first re-join INVITE")]
    try:
        two = await _next_invite(cf, mine - set(seen), tc.guards)
        seen.append(two.request.headers.get("Conversation-ID"))
        ev.append(sip_evidence(two.request, "the second re-join INVITE"))
        two.reject(403)
    except (WaitTimeout, ProtocolError):
        two = None
    _expect_acked(tc.recorder, "PF-ADMIN-2.c", tc.capture, one.request, 403, ev)
    expect_true(
        tc.recorder,
        "PF-ADMIN-2.c-next",
        two is not None,
        expected="a re-join INVITE for the next group session after the 403",
        actual=seen,
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.j",
        expected=sorted(mine),
        actual=sorted(c for c in seen if c),
        evidence=ev,
    )


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-ADMIN-2.d",
    "PF-ADMIN-2.d.i",
    "PF-ADMIN-2.d.i.1",
    "PF-ADMIN-2.d.i.2",
    "PF-ADMIN-2.d.i.3",
    "PF-ADMIN-2.d.i.4",
    "PF-ADMIN-2.d.i.5",
    "PF-ADMIN-2.d.i.6",
    "PF-ADMIN-2.d.i.7",
    "PF-ADMIN-2.d.i.8",
)
async def test_admin_2_d_not_found_new_session(tc: Tc) -> None:
    """with {an inactive long-lived group session of the user in the Message Store} ensure
    that { when {the CF answers the re-join INVITE with 404}
      then {the PF ACKs it and sends a new INVITE to the configured CF URI with the same
            Conversation-ID and Contribution-ID and a resource-list of the participants} }"""
    cf = await tc.cf()
    xdms = tc.xdms_preferences()
    user, (stored,) = await _stored_then_triggered(tc, xdms)
    first = await _next_invite(cf, {stored.conversation_id}, tc.guards)
    first.reject(404)
    ev0 = sip_evidence(first.request, "the re-join INVITE")
    try:
        new = await _next_invite(cf, {stored.conversation_id}, tc.guards)
    except (WaitTimeout, ProtocolError) as exc:
        for rid in ("PF-ADMIN-2.d.i", "PF-ADMIN-2.d.i.8"):
            expect_true(
                tc.recorder,
                rid,
                False,
                expected="a new INVITE after the 404 at the SIP/IP core (the tool)",
                actual=f"none ({type(exc).__name__})",
                evidence=ev0,
            )
        return
    got = new.request
    ev = [ev0, sip_evidence(got, "the new INVITE")]
    _expect_acked(tc.recorder, "PF-ADMIN-2.d", tc.capture, first.request, 404, ev)
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.d.i",
        expected=(stored.conversation_id, stored.contribution_id),
        actual=(got.headers.get("Conversation-ID"), got.headers.get("Contribution-ID")),
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.d.i.1",
        expected=tc.pixit.uris.conference_factory,
        actual=got.uri,
        evidence=ev,
    )
    _icsi_checks(
        tc.recorder,
        {
            "accept": "PF-ADMIN-2.d.i.2",
            "contact": "PF-ADMIN-2.d.i.3",
            "pas": "PF-ADMIN-2.d.i.4",
            "pai": "PF-ADMIN-2.d.i.6",
            "sdp": "PF-ADMIN-2.d.i.7",
        },
        got,
        user,
        ev,
    )
    ct = got.headers.get("Content-Type") or ""
    listed: object = None
    if ct.lower().startswith("multipart/"):
        part = find_recipient_list(parse_multipart(got.body, ct))
        if part is not None:
            listed = sorted(u for u in parse_resource_list(part.body).uris() if u != user)
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.d.i.5",
        expected=sorted(p for p in stored.participants if p != user),
        actual=listed,
        message="the resource-list holds the stored participants",
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-ADMIN-2.d.i.8",
        expected=pf_address(tc.pixit).host,
        actual=new.incoming.source.host,
        evidence=ev,
    )
    new.reject(403)


@pytest.mark.users(3)
@pytest.mark.requirement("PF-ADMIN-2.a", "PF-ADMIN-2.b.i")
async def test_admin_2_a_last_group_state_object(tc: Tc) -> None:
    """with {a group session stored twice (same Conversation-/Contribution-ID), the newer
    Group State Object naming another focus} ensure that
    { when {the trigger fires} then {the re-join INVITE targets the newer object's focus} }"""
    cf = await tc.cf()
    xdms = tc.xdms_preferences()
    ids = new_ids()
    _, (_, newer) = await _stored_then_triggered(tc, xdms, 2, ids=ids)
    got = await _next_invite(cf, {ids[0]}, tc.guards)
    ev = sip_evidence(got.request, "the re-join INVITE")
    for rid in ("PF-ADMIN-2.a", "PF-ADMIN-2.b.i"):
        expect_equal(
            tc.recorder,
            rid,
            expected=newer.focus,
            actual=got.request.uri,
            message="the focus of the last Group State Object",
            evidence=ev,
        )
    got.reject(403)
