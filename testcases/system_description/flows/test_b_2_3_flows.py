"""CPM System Description B.2.3.x.y (seed 002) and B.2.3.5.X (seed 000) end to end: the
SUT's PF and CF run the group session together.

The tool is the SIP/IP core between them (it relays and records both legs:
conformance/roles/sut_relay.py, docs/dev/topology.md "System flows"), the S-CSCF
(third-party REGISTER), client B of the PF, and the other participants, alice (the
creator) and carol, whose legs go straight to the CF. Expected values are written here
from the flows of seeds 000 and 002.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest

from conformance.catalog.profile import Pixit
from conformance.checks import (
    EvidenceRef,
    expect_equal,
    inconclusive,
    not_applicable,
)
from conformance.documents.conference_info import (
    ConferenceInfo,
    ConferenceState,
    parse_conference_info,
)
from conformance.documents.resource_lists import parse_resource_list
from conformance.errors import DocumentError, LocalProtocolError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.sip.headers import get_content_type
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.multipart import find_part, parse_multipart
from conformance.protocol.sip.sdp import parse_sdp
from conformance.roles.client import ClientEmulator, IncomingInvite, InviteHandle, sdp_of
from conformance.roles.sip_helpers import aor
from conformance.roles.sut_relay import Relayed, SutRelay
from conformance.testcases.procedures import expect_arrival, pf_address, sip_evidence
from conformance.testcases.procedures.deferred import INVOLUNTARY, deliveries, received
from conformance.testcases.procedures.hosted_session import (
    HostedSession,
    create_hosted_session,
    join,
)
from conformance.testcases.procedures.messages import SUT_SILENCE

pytestmark = pytest.mark.sut_roles("pf", "cf")

#: 001 7.3.11 / B.2.3.x.y NOTE: the feature tags, percent-encoded in +g.3gpp.icsi-ref
DEFERRED_TAG = "urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.deferred"
SESSION_TAG = "urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session"
TEXTS = ("flow-deferred-1", "flow-deferred-2")


def _accept_contact(request: SipRequest) -> str:
    return " ".join(request.headers.get_all("Accept-Contact"))


def _direction(request: SipRequest) -> str | None:
    try:
        return parse_sdp(sdp_of(request)).msrp.direction
    except (RemoteProtocolError, AttributeError):
        return None


def _listed(request: SipRequest) -> set[str] | None:
    """The URIs of the resource-lists part of ``request`` (None without one)."""
    ct = get_content_type(request)
    if ct is None or ct.type.lower() != "multipart" or not request.body:
        return None
    try:
        part = find_part(parse_multipart(request.body, ct), "application/resource-lists+xml")
        return set(parse_resource_list(part.body).uris()) if part is not None else None
    except (RemoteProtocolError, DocumentError):
        return None


def _info(request: SipRequest) -> ConferenceInfo | None:
    try:
        return parse_conference_info(request.body) if request.body else None
    except DocumentError:
        return None


def _users(info: ConferenceInfo | None) -> dict[str, str | None]:
    """entity -> status of its first endpoint."""
    if info is None:
        return {}
    return {u.entity: (u.endpoints[0].status if u.endpoints else None) for u in info.users}


@dataclass
class Flow:
    """A group session alice created at the SUT CF with recipient B; the CF's invitation
    reached client B through the SUT PF, and client B has gone."""

    session: HostedSession
    client: ClientEmulator
    alice: str
    bob: str
    carol: str


async def _flow(tc: Tc, sut_relay: SutRelay) -> Flow:
    """B.2.3.x.y steps 1-2 and the precondition: client B in the group session through
    the PF, then gone (BYE with cause 480: the PF keeps the CF leg). Both flows need a
    PF that stays in the media path and defers the delivery (B.2.3.x.y 4-6)."""
    pics = tc.pics
    if not (pics.get("pf.deferred_delivery", False) and pics.get("pf.media_path", False)):
        not_applicable(
            "the flow needs a PF in the media path with deferred delivery "
            "(pf.media_path, pf.deferred_delivery)"
        )
    pixit, guards = tc.pixit, tc.guards
    if len(pixit.users) < 3:
        inconclusive("the profile needs three users")
    alice, bob, carol = (u.uri for u in pixit.users[:3])
    client = await tc.client(bob)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob,))
    try:
        await sut_relay.expect("INVITE", to="pf", within=2 * guards.sip)
        invite = await client.expect_invite(within=2 * guards.sip)
    except WaitTimeout:
        inconclusive("the CF's invitation did not reach client B through the PF")
    await invite.answer(sdp_setup="passive")
    try:
        await invite.establish_msrp(within=guards.msrp)
    except WaitTimeout:
        inconclusive("no MSRP session between the PF and client B")
    await _gone(invite, guards)
    return Flow(session, client, alice, bob, carol)


async def _gone(invite: IncomingInvite, guards: Guards) -> None:
    """Client B leaves involuntarily: BYE with cause 480 in the dialog with the PF. Its
    remote target is the focus (the PF copies the CF's isfocus Contact, 003 8.3.2 8.d.v):
    the BYE reaches the PF by the dialog's route set, the PF's own Record-Route."""
    handle = await invite.bye(INVOLUNTARY)
    try:
        final = await handle.final(guards.sip)
    except (WaitTimeout, TransactionTimeoutError):
        inconclusive("nobody answered client B's BYE")
    if final.status >= 300:
        inconclusive(
            f"client B's BYE got {final.status}: it did not reach the PF (no Record-Route "
            "of the PF in its INVITE, whose Contact is the focus?)"
        )


async def _carol_joins(tc: Tc, flow: Flow, relay: SutRelay) -> None:
    """carol joins at the focus: a participant change the CF notifies the PF of."""
    guards = tc.guards
    await join(tc, flow.session, flow.carol)
    with contextlib.suppress(WaitTimeout):  # judged through what the PF does with it
        await relay.expect(
            "NOTIFY",
            to="pf",
            within=guards.sip,
            match=lambda r: flow.carol in _users(_info(r.request)),
        )


async def _alice_sends(flow: Flow, guards: Guards) -> None:
    """alice sends the messages; each accepted by the CF (its MSRP 200)."""
    leg = flow.session.legs[flow.alice]
    channel = leg.msrp.channel
    for text in TEXTS:
        requests = leg.msrp.send_cpim(
            from_=f"<{flow.alice}>", to=f"<{flow.bob}>", body=text.encode()
        )
        if channel is None:
            inconclusive("alice has no MSRP connection with the CF")
        try:
            response = await channel.response(requests[-1], within=guards.msrp)
        except SUT_SILENCE:
            inconclusive(f"the CF did not answer alice's SEND of {text!r}")
        if response.status_code != 200:
            inconclusive(f"the CF answered alice's SEND {response.status_code}")


def _cf_state(relay: SutRelay) -> tuple[ConferenceInfo | None, list[SipRequest]]:
    """The CF's conference state on the CF->PF leg (its NOTIFYs merged, RFC 4575 4.6)."""
    state = ConferenceState()
    notifies = [r.request for r in relay.relayed if r.method == "NOTIFY" and r.to == "pf"]
    for request in notifies:
        info = _info(request)
        if info is not None:
            with contextlib.suppress(DocumentError):
                state.apply(info)
    return state.view, notifies


def _on_behalf_of(request: SipRequest) -> str | None:
    """The user a SUBSCRIBE is for: its P-Asserted-Identity, else its From."""
    value = request.headers.get("P-Asserted-Identity") or request.headers.get("From")
    return aor(value.split(",")[0]) if value else None


def _subscribed(relay: SutRelay, sub: Relayed) -> bool:
    """``sub`` got a 2xx and its subscription is still on: no un-SUBSCRIBE (Expires: 0)
    from the PF and no terminating NOTIFY from the CF relayed since."""
    final = sub.final
    if final is None or not 200 <= final.status < 300:
        return False
    call_id = sub.request.call_id
    for item in relay.relayed:
        if item.request.call_id != call_id:
            continue
        expires = (item.request.headers.get("Expires") or "").strip()
        if item.method == "SUBSCRIBE" and expires == "0":
            return False
        state = item.request.headers.get("Subscription-State") or ""
        if item.method == "NOTIFY" and state.strip().lower().startswith("terminated"):
            return False
    return True


async def _client_returns(tc: Tc, flow: Flow) -> None:
    """Client B is back: the S-CSCF's third-party REGISTER to the PF."""
    try:
        await tc.scscf.third_party_register(
            pf_address(tc.pixit),
            flow.bob,
            flow.client.instance,
            contact_user=flow.client.contact_user,
            within=tc.guards.sip,
        )
    except (WaitTimeout, TransactionTimeoutError):
        inconclusive("the PF did not answer the third-party REGISTER")


@pytest.mark.requirement(
    "SD-B.2.3.x.y-7-8.a",
    "SD-B.2.3.x.y-8-cf",
    "SD-B.2.3.x.y-FIG-CF-KEEP",
    "SD-B.2.3.x.y-11-12.a",
    "SD-B.2.3.x.y-11-12.c",
    "SD-B.2.3.x.y-11-12.d",
    "SD-B.2.3.x.y-18-19",
)
async def test_b_2_3_x_y_flow_active_session(tc: Tc, sut_relay: SutRelay) -> None:
    """with {client B in a group session hosted by the SUT CF, through the SUT PF; client
    B gone (BYE cause 480)} ensure that
    { when {carol joins, alice sends two messages and client B is back (third-party
            REGISTER)}
      then {the PF subscribes to the focus at the CF, whose first NOTIFY is full; the CF
            keeps client B connected and relays the messages to the PF's leg; the PF
            invites client B into the active session (cpm.session, a=sendrecv, the latest
            participants: carol too) and delivers both messages} }"""
    flow = await _flow(tc, sut_relay)
    sub = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-7-8.a",
        sut_relay.expect("SUBSCRIBE", to="cf", within=2 * tc.guards.sip),
        expected="the PF's SUBSCRIBE to the focus, relayed to the CF",
    )
    first = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-8-cf",
        sut_relay.expect(
            "NOTIFY",
            to="pf",
            within=2 * tc.guards.sip,
            match=lambda r: sub is None or r.request.call_id == sub.request.call_id,
        ),
        expected="the CF's first NOTIFY in the PF's subscription",
    )
    if first is not None:
        info = _info(first.request)
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-8-cf",
            expected="full",
            actual=str(info.state) if info is not None else None,
            message="the state attribute of the first conference-info document",
            evidence=sip_evidence(first.request, "the CF's first NOTIFY on the CF->PF leg"),
        )
    await _carol_joins(tc, flow, sut_relay)
    await _alice_sends(flow, tc.guards)
    await _client_returns(tc, flow)
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-11-12.a",
        flow.client.expect_invite(within=2 * tc.guards.sip),
        expected="the PF's invitation of client B to the active group session",
    )
    if sub is not None:  # judged when client B is back, before the session is re-established
        event = (sub.request.headers.get("Event") or "").split(";")[0].strip()
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-7-8.a",
            expected=(flow.session.focus, "conference", flow.bob, True),
            actual=(
                sub.request.uri,
                event,
                _on_behalf_of(sub.request),
                _subscribed(sut_relay, sub),
            ),
            message="the PF's subscription (Request-URI, Event, the user it asserts) is "
            "accepted and still on when client B is back (before it answers)",
            evidence=sip_evidence(sub.request, "the PF's SUBSCRIBE on the PF->CF leg"),
        )
    delivered: list[bool] | None = None
    ev: list[EvidenceRef] = []
    if invite is not None:
        ev = [sip_evidence(invite.request, "the PF's invitation after the REGISTER")]
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-11-12.a",
            expected=True,
            actual=SESSION_TAG in _accept_contact(invite.request),
            message="the invitation to the active group session carries cpm.session",
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-11-12.c",
            expected={flow.alice, flow.bob, flow.carol},
            actual=_listed(invite.request),
            message="the participants the CF last notified (carol joined after B left)",
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-11-12.d",
            expected="sendrecv",
            actual=_direction(invite.request),
            evidence=ev,
        )
        await invite.answer(sdp_setup="passive")
        got = await deliveries(invite, tc.guards, *TEXTS)
        delivered = [g is not None for g in got]
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-18-19",
            expected=[True, True],
            actual=delivered,
            message="alice's messages reach client B",
            evidence=ev,
        )
    view, notifies = _cf_state(sut_relay)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-FIG-CF-KEEP",
        expected="connected",
        actual=_users(view).get(flow.bob),
        message="client B's status in the CF's conference state on the CF->PF leg "
        "(its NOTIFYs merged) after alice's messages",
        evidence=[sip_evidence(r, "a NOTIFY of the CF to the PF") for r in notifies],
    )
    if delivered is not None:
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-FIG-CF-KEEP",
            expected=[True, True],
            actual=delivered,
            message="the CF relayed every message to the PF's leg while client B was gone "
            "(each reached client B through the PF)",
            evidence=ev,
        )


@pytest.mark.requirement(
    "SD-B.2.3.5.X-1",
    "SD-B.2.3.5.X-4",
    "SD-B.2.3.5.X-4-only-b",
    "SD-B.2.3.5.X-5",
    "SD-B.2.3.5.X-6",
    "SD-B.2.3.5.X-7",
)
async def test_b_2_3_5_x_flow_participant_info(tc: Tc, sut_relay: SutRelay) -> None:
    """with {client B gone from a group session of the SUT CF, through the SUT PF; carol
    joined, alice sent two messages, then the CF ended the session (inactive)} ensure that
    { when {client B is back (third-party REGISTER), accepts and subscribes to the PF}
      then {the PF invites with cpm.deferred and a=sendonly; accepts the SUBSCRIBE and
            its first NOTIFY lists only client B; delivers both messages over MSRP; its
            next NOTIFY lists every participant prior to the session's end (alice, bob,
            carol); then BYE} }"""
    flow = await _flow(tc, sut_relay)
    try:
        await sut_relay.expect("SUBSCRIBE", to="cf", within=2 * tc.guards.sip)
    except WaitTimeout:
        inconclusive("the PF did not subscribe to the focus (SD-B.2.3.x.y-7-8.a)")
    await _carol_joins(tc, flow, sut_relay)
    await _alice_sends(flow, tc.guards)
    await tc.upper_tester.end_session(flow.session.focus)
    try:
        await sut_relay.expect("BYE", to="pf", within=2 * tc.guards.sip)
    except WaitTimeout:
        inconclusive("the CF did not end the group session with the PF (no BYE)")
    await _client_returns(tc, flow)
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-1",
        flow.client.expect_invite(within=2 * tc.guards.sip),
        expected="the PF's deferred delivery INVITE after the third-party REGISTER",
    )
    if invite is None:
        return
    ev = sip_evidence(invite.request, "the PF's deferred delivery INVITE")
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-1",
        expected=(True, "sendonly"),
        actual=(DEFERRED_TAG in _accept_contact(invite.request), _direction(invite.request)),
        message="inactive session: Accept-Contact cpm.deferred and a=sendonly",
        evidence=ev,
    )
    await invite.answer(sdp_setup="passive")
    client_sub = await flow.client.subscribe(flow.session.focus, to=pf_address(tc.pixit))
    answer = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-4",
        client_sub.final(within=tc.guards.sip),
        expected="the PF's response to client B's SUBSCRIBE",
    )
    first = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-4",
        flow.client.expect_request("NOTIFY", within=tc.guards.sip),
        expected="the PF's NOTIFY in client B's subscription",
    )
    if answer is not None:
        expect_equal(
            tc.recorder,
            "SD-B.2.3.5.X-4",
            expected=True,
            actual=answer.status < 300,
            message="the SUBSCRIBE is accepted (2xx)",
            evidence=sip_evidence(answer, "the PF's response to the SUBSCRIBE"),
        )
    if first is not None:
        first.respond(200)
        expect_equal(
            tc.recorder,
            "SD-B.2.3.5.X-4-only-b",
            expected=[flow.bob],
            actual=list(_users(_info(first.request))),
            message="the users of the first NOTIFY's conference-info",
            evidence=sip_evidence(first.request, "the PF's first NOTIFY to client B"),
        )
    got = await deliveries(invite, tc.guards, *TEXTS)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-5",
        expected=[True, True],
        actual=[g is not None for g in got],
        message="alice's messages reach client B over MSRP",
        evidence=ev,
    )
    final = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-6",
        flow.client.expect_request("NOTIFY", within=tc.guards.sip),
        expected="the PF's NOTIFY after the last SEND",
    )
    if final is not None:
        final.respond(200)
        expect_equal(
            tc.recorder,
            "SD-B.2.3.5.X-6",
            expected={flow.alice, flow.bob, flow.carol},
            actual=set(_users(_info(final.request))),
            message="every participant of the session prior to its end at the CF",
            evidence=sip_evidence(final.request, "the PF's NOTIFY after the last SEND"),
        )
    bye = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-7",
        flow.client.expect_request("BYE", within=tc.guards.sip),
        expected="the PF's BYE ending the deferred delivery session",
    )
    if bye is not None:
        bye.respond(200)


# -- B.2.3.x.y+1 and +2: client B's re-join through the SUT PF ---------------------------


async def _rejoin(flow: Flow, pixit: Pixit) -> InviteHandle:
    """Client B's re-join (001 7.3.11; B.2.3.x.y+1 step 11): a group INVITE to the focus
    with the session's Conversation-ID and Contribution-ID, sent to its PF."""
    peer = await flow.client.new_msrp_peer()
    request = flow.client.build_group_invite(
        flow.session.focus,
        msrp=peer,
        conversation_id=flow.session.conversation_id,
        contribution_id=flow.session.contribution_id,
        participants=(flow.alice,),
        extra_headers=(("P-Asserted-Identity", f"<{flow.bob}>"),),
    )
    return await flow.client.send_invite(request, pf_address(pixit), msrp=peer)


async def _subscribed_to_focus(relay: SutRelay, guards: Guards) -> None:
    """B.2.3.x.y 7-8 (judged by SD-B.2.3.x.y-7-8.a): the PF's SUBSCRIBE reached the CF,
    so the PF holds the group session for client B."""
    try:
        await relay.expect("SUBSCRIBE", to="cf", within=2 * guards.sip)
    except WaitTimeout:
        inconclusive("the PF did not subscribe to the focus (SD-B.2.3.x.y-7-8.a)")


def _invites_to_cf(relay: SutRelay, since: int, conversation_id: str) -> list[Relayed]:
    """The INVITEs of the group session relayed to the CF after ``relay.relayed[since]``."""
    return [
        r
        for r in relay.relayed[since:]
        if r.method == "INVITE"
        and r.to == "cf"
        and r.request.headers.get("Conversation-ID") == conversation_id
    ]


def _endpoints(info: ConferenceInfo | None, user: str) -> list[str | None]:
    """The status of each endpoint the conference state lists for ``user``."""
    found = info.user(user) if info is not None else None
    return [e.status for e in found.endpoints] if found is not None else []


async def _other_invite(flow: Flow, within: float) -> IncomingInvite | None:
    try:
        return await flow.client.expect_invite(within=within)
    except WaitTimeout:
        return None


@pytest.mark.requirement(
    "SD-B.2.3.x.y+1-12",
    "SD-B.2.3.x.y-18-19",
    "SD-B.2.3.x.y-20-24",
    "SD-B.2.3.x.y+2-ACTIVE-SUPPRESS",
    "SD-B.2.3.x.y+2-ACTIVE",
)
async def test_b_2_3_x_y_plus_1_flow_rejoin_first(tc: Tc, sut_relay: SutRelay) -> None:
    """with {client B gone from a group session hosted by the SUT CF, through the SUT PF;
    alice sent two messages} ensure that
    { when {client B re-joins (INVITE to the focus, through its PF) before the PF invites
            it, then client B is back (third-party REGISTER) and sends a message}
      then {the PF answers the re-join 200, the MSRP session is set up and carries both
            buffered messages; the PF sends client B no INVITE after the REGISTER; the
            CF gets no INVITE for the re-join and still lists one endpoint of B,
            connected; client B's message reaches alice through the PF and the CF} }"""
    flow = await _flow(tc, sut_relay)
    await _subscribed_to_focus(sut_relay, tc.guards)
    await _alice_sends(flow, tc.guards)
    mark = len(sut_relay.relayed)
    handle = await _rejoin(flow, tc.pixit)
    final = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y+1-12",
        handle.final(within=2 * tc.guards.sip),
        expected="the PF's final response to client B's re-join",
    )
    ev: list[EvidenceRef] = [sip_evidence(handle.request, "client B's re-join to the PF")]
    rejoined = final is not None and final.status == 200
    if final is not None:
        ev.append(sip_evidence(final, "the PF's final response to the re-join"))
    if rejoined:
        await handle.ack()
        with contextlib.suppress(WaitTimeout, LocalProtocolError, RemoteProtocolError):
            await handle.establish_msrp(within=tc.guards.msrp)
        if handle.msrp.channel is not None:
            handle.msrp.send(b"", None)  # binds the session (RFC 4975 5.4)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+1-12",
        expected=(200, True),
        actual=(
            final.status if final is not None else None,
            rejoined and handle.msrp.channel is not None,
        ),
        message="(the PF's answer to the re-join, an MSRP connection for it)",
        evidence=ev,
    )
    if rejoined:
        got = [await received(handle.msrp, t, tc.guards.msrp + tc.guards.sip) for t in TEXTS]
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-18-19",
            expected=[True, True],
            actual=[g is not None for g in got],
            message="alice's buffered messages over the re-join session",
            evidence=ev,
        )
    await _client_returns(tc, flow)
    invite = await _other_invite(flow, tc.guards.sip)
    if invite is not None:
        ev.append(sip_evidence(invite.request, "the PF's INVITE to client B after the REGISTER"))
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-ACTIVE-SUPPRESS",
        expected=None,
        actual=invite.request.first_line() if invite is not None else None,
        message="no INVITE of the PF to client B once the re-join was received",
        evidence=ev,
    )
    if rejoined and handle.msrp.channel is not None:  # 20-24: a live message of client B
        text = "flow-live-from-b"
        handle.msrp.send_cpim(
            from_=f"<{flow.bob}>", to=f"<{flow.session.focus}>", body=text.encode()
        )
        live = await received(
            flow.session.legs[flow.alice].msrp, text, tc.guards.msrp + tc.guards.sip
        )
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-20-24",
            expected=True,
            actual=live is not None,
            message="client B's message in the re-join session reaches alice "
            "(through the PF's leg to the CF)",
            evidence=ev,
        )
    view, notifies = _cf_state(sut_relay)
    to_cf = _invites_to_cf(sut_relay, mark, flow.session.conversation_id)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-ACTIVE",
        expected=(1, [], ["connected"]),
        actual=(
            int(rejoined) + int(invite is not None),
            [r.request.first_line() for r in to_cf],
            _endpoints(view, flow.bob),
        ),
        message="(sessions of client B with the PF, INVITEs relayed to the CF since the "
        "re-join, client B's endpoints in the CF's conference state)",
        evidence=ev
        + [sip_evidence(r.request, "an INVITE relayed to the CF") for r in to_cf]
        + [sip_evidence(r, "a NOTIFY of the CF to the PF") for r in notifies],
    )
    if invite is not None:
        invite.decline(486)
    if rejoined:  # the re-join dialog is with the PF: client B's BYE reaches it
        bye = await handle.bye()
        try:
            answer: SipResponse | None = await bye.final(tc.guards.sip)
        except (WaitTimeout, TransactionTimeoutError):
            answer = None
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y+1-12",
            expected=200,
            actual=answer.status if answer is not None else None,
            message="the answer to client B's BYE in the re-join dialog (its Contact is "
            "the focus: only a Record-Route of the PF keeps the PF on the path)",
            evidence=ev
            + (
                [sip_evidence(answer, "the answer to client B's BYE")] if answer is not None else []
            ),
        )


@pytest.mark.requirement("SD-B.2.3.x.y+2-ACTIVE-REJECT", "SD-B.2.3.x.y+2-ACTIVE")
async def test_b_2_3_x_y_plus_2_flow_race_active(tc: Tc, sut_relay: SutRelay) -> None:
    """with {client B gone from a group session hosted by the SUT CF, through the SUT PF;
    alice sent two messages; client B back (third-party REGISTER) and invited by the PF}
    ensure that
    { when {client B's re-join reaches the PF after the PF's INVITE went out}
      then {the PF rejects the re-join; the CF gets no INVITE for it and still lists one
            endpoint of B, connected; the PF's session with client B carries both
            messages} }"""
    flow = await _flow(tc, sut_relay)
    await _subscribed_to_focus(sut_relay, tc.guards)
    await _alice_sends(flow, tc.guards)
    await _client_returns(tc, flow)
    invite = await _other_invite(flow, 2 * tc.guards.sip)
    if invite is None:
        inconclusive("the PF did not invite client B after the REGISTER (SD-B.2.3.x.y-11-12.a)")
    mark = len(sut_relay.relayed)
    handle = await _rejoin(flow, tc.pixit)
    final = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y+2-ACTIVE-REJECT",
        handle.final(within=2 * tc.guards.sip),
        expected="the PF's final response to the late re-join",
    )
    ev = [
        sip_evidence(invite.request, "the PF's INVITE to client B"),
        sip_evidence(handle.request, "client B's late re-join"),
    ]
    if final is not None:
        ev.append(sip_evidence(final, "the PF's final response to the late re-join"))
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y+2-ACTIVE-REJECT",
            expected=True,
            actual=final.status >= 300,
            message=f"the late re-join is rejected (got {final.status})",
            evidence=ev,
        )
        if final.status < 300:
            await handle.ack()
    await invite.answer(sdp_setup="passive")
    got = await deliveries(invite, tc.guards, *TEXTS)
    view, notifies = _cf_state(sut_relay)
    to_cf = _invites_to_cf(sut_relay, mark, flow.session.conversation_id)
    accepted = final is not None and final.status < 300
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-ACTIVE",
        expected=(1, [True, True], [], ["connected"]),
        actual=(
            1 + int(accepted),
            [g is not None for g in got],
            [r.request.first_line() for r in to_cf],
            _endpoints(view, flow.bob),
        ),
        message="(sessions of client B with the PF, alice's messages over the PF's session, "
        "INVITEs relayed to the CF since the re-join, client B's endpoints in the "
        "CF's conference state)",
        evidence=ev
        + [sip_evidence(r.request, "an INVITE relayed to the CF") for r in to_cf]
        + [sip_evidence(r, "a NOTIFY of the CF to the PF") for r in notifies],
    )


@pytest.mark.requirement("SD-B.2.3.x.y+2-INACTIVE-COMPLETE", "SD-B.2.3.x.y+2-INACTIVE-FORWARD")
async def test_b_2_3_x_y_plus_2_flow_race_inactive(tc: Tc, sut_relay: SutRelay) -> None:
    """with {client B gone from a group session of the SUT CF, through the SUT PF; alice
    sent two messages, then the CF ended the session (inactive); client B back
    (third-party REGISTER) and invited for deferred delivery} ensure that
    { when {client B's re-join reaches the PF after that INVITE, and client B accepts it}
      then {the PF delivers both messages, and forwards the re-join to the CF (the focus,
            the session's Conversation-ID and Contribution-ID), which re-starts the
            session: its 200 reaches client B through the PF} }"""
    flow = await _flow(tc, sut_relay)
    await _subscribed_to_focus(sut_relay, tc.guards)
    await _alice_sends(flow, tc.guards)
    await tc.upper_tester.end_session(flow.session.focus)
    try:
        await sut_relay.expect("BYE", to="pf", within=2 * tc.guards.sip)
    except WaitTimeout:
        inconclusive("the CF did not end the group session with the PF (no BYE)")
    await _client_returns(tc, flow)
    invite = await _other_invite(flow, 2 * tc.guards.sip)
    if invite is None:
        inconclusive("no deferred delivery INVITE of the PF (SD-B.2.3.5.X-1)")
    handle = await _rejoin(flow, tc.pixit)
    await invite.answer(sdp_setup="passive")
    got = await deliveries(invite, tc.guards, *TEXTS)
    ev = [
        sip_evidence(invite.request, "the PF's deferred delivery INVITE"),
        sip_evidence(handle.request, "client B's re-join"),
    ]
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-INACTIVE-COMPLETE",
        expected=[True, True],
        actual=[g is not None for g in got],
        message="alice's messages delivered over the deferred delivery session despite the re-join",
        evidence=ev,
    )
    with contextlib.suppress(WaitTimeout):  # the end of the delivery (SD-B.2.3.5.X-7)
        bye = await flow.client.expect_request("BYE", within=tc.guards.sip)
        bye.respond(200)
    forwarded = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y+2-INACTIVE-FORWARD",
        sut_relay.expect(
            "INVITE",
            to="cf",
            within=2 * tc.guards.sip,
            match=lambda r: (
                r.request.headers.get("Conversation-ID") == flow.session.conversation_id
            ),
        ),
        expected="client B's re-join forwarded by the PF to the CF",
        evidence=ev,
    )
    if forwarded is None:
        return
    ev.append(sip_evidence(forwarded.request, "the re-join relayed to the CF"))
    with contextlib.suppress(WaitTimeout):
        await sut_relay.expect_final(forwarded, within=2 * tc.guards.sip)
    final: SipResponse | None = None
    with contextlib.suppress(WaitTimeout, TransactionTimeoutError):
        final = await handle.final(within=2 * tc.guards.sip)
    cf_final = forwarded.final
    ev += [
        sip_evidence(r, what)
        for r, what in (
            (cf_final, "the CF's final response, relayed to the PF"),
            (final, "the final response to client B's re-join"),
        )
        if r is not None
    ]
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-INACTIVE-FORWARD",
        expected=(flow.session.focus, flow.session.contribution_id, 200, 200),
        actual=(
            forwarded.request.uri,
            forwarded.request.headers.get("Contribution-ID"),
            cf_final.status if cf_final is not None else None,
            final.status if final is not None else None,
        ),
        message="(Request-URI and Contribution-ID of the INVITE relayed to the CF, the CF's "
        "final response, the final response client B got): the CF re-started the "
        "session for client B",
        evidence=ev,
    )
    if final is not None and final.status < 300:
        await handle.ack()
