"""CPM System Description B.2.3.x.y, B.2.3.x.y+1 and B.2.3.x.y+2 (seed 002) end to end: the
SUT's PF and CF run the group session together.

The tool is the SIP/IP core between them (it relays and records both legs:
conformance/roles/sut_relay.py, docs/dev/topology.md "System flows"), the S-CSCF
(third-party REGISTER), client B of the PF, and the other participants, alice (the
creator) and carol, whose legs go straight to the CF. Expected values are written here
from the flows of seed 002.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from conformance.catalog.profile import Pixit
from conformance.checks import (
    EvidenceRef,
    expect_equal,
    inconclusive,
)
from conformance.documents.conference_info import (
    ConferenceInfo,
    ConferenceState,
)
from conformance.documents.resource_lists import parse_resource_list
from conformance.errors import DocumentError, LocalProtocolError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.sip.headers import get_content_type
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.multipart import find_part, parse_multipart
from conformance.roles.client import IncomingInvite, InviteHandle
from conformance.roles.sip_helpers import aor
from conformance.roles.sut_relay import Relayed, SutRelay
from conformance.testcases.procedures import expect_arrival, pf_address, sip_evidence
from conformance.testcases.procedures.deferred import deliveries, received
from conformance.testcases.procedures.system_flows import (
    TEXTS,
    Flow,
    accept_contact,
    alice_sends,
    carol_joins,
    client_b_returns,
    conference_info_of,
    for_the_session,
    sdp_direction,
    start_flow,
    user_states,
)

pytestmark = pytest.mark.sut_roles("pf", "cf")


SESSION_TAG = "urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session"


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


def _cf_state(relay: SutRelay, focus: str) -> tuple[ConferenceInfo | None, list[SipRequest]]:
    """The CF's conference state of the group session ``focus`` on the CF->PF leg (its
    NOTIFYs merged, RFC 4575 4.6). Only this session's documents (their ``entity``): the
    CF under test may host other sessions at the same time (parallel workers)."""
    state = ConferenceState()
    notifies: list[SipRequest] = []
    for r in relay.relayed:
        if r.method != "NOTIFY" or r.to != "pf":
            continue
        info = conference_info_of(r.request)
        if info is not None and aor(info.entity) != aor(focus):
            continue
        notifies.append(r.request)
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


@pytest.mark.users(3)
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
    flow = await start_flow(tc, sut_relay)
    sub = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-7-8.a",
        sut_relay.expect(
            "SUBSCRIBE",
            to="cf",
            within=2 * tc.guards.sip,
            match=for_the_session(flow, tc.pixit.uris.conference_factory),
        ),
        expected="the PF's SUBSCRIBE to the focus, relayed to the CF",
    )
    first = await _first_cf_notify(
        tc, sut_relay, sub, "SD-B.2.3.x.y-8-cf", "the CF's first NOTIFY in the PF's subscription"
    )
    if first is not None:
        info = conference_info_of(first.request)
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y-8-cf",
            expected="full",
            actual=str(info.state) if info is not None else None,
            message="the state attribute of the first conference-info document",
            evidence=sip_evidence(first.request, "the CF's first NOTIFY on the CF->PF leg"),
        )
    await carol_joins(tc, flow, sut_relay)
    await alice_sends(flow, tc.guards)
    if sub is not None:
        # SD-B.2.3.x.y-7-8.a: the subscription stays up while the PF buffers alice's
        # messages. A PF that ends it as it buffers does so at once: watched for the
        # observation window, so that client B's return does not race it
        watched = sub
        await sut_relay.watch(lambda: not _subscribed(sut_relay, watched), within=tc.guards.observe)
    await client_b_returns(tc, flow)
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-11-12.a",
        flow.client.expect_invite(
            within=2 * tc.guards.sip, conversation_id=flow.session.conversation_id
        ),
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
            actual=SESSION_TAG in accept_contact(invite.request),
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
            actual=sdp_direction(invite.request),
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
    view, notifies = _cf_state(sut_relay, flow.session.focus)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-FIG-CF-KEEP",
        expected="connected",
        actual=user_states(view).get(flow.bob),
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


async def _final_acked(handle: InviteHandle, within: float) -> SipResponse | None:
    """The final response to ``handle``'s INVITE, a 2xx ACKed at once, as a UA does (None
    when none came within ``within`` s or the transaction timed out)."""
    try:
        final = await handle.final(within=within)
    except (WaitTimeout, TransactionTimeoutError):
        return None
    if final.status < 300:
        await handle.ack()
    return final


async def _first_cf_notify(
    tc: Tc,
    relay: SutRelay,
    sub: Relayed | None,
    requirement: str,
    expected: str,
    *,
    evidence: list[EvidenceRef] | None = None,
) -> Relayed | None:
    """The CF's first NOTIFY relayed to the PF in the subscription of ``sub`` (any
    subscription when ``sub`` is None), judged under ``requirement`` as an arrival."""
    return await expect_arrival(
        tc.recorder,
        requirement,
        relay.expect(
            "NOTIFY",
            to="pf",
            within=2 * tc.guards.sip,
            match=lambda r: sub is None or r.request.call_id == sub.request.call_id,
        ),
        expected=expected,
        evidence=evidence,
    )


async def _subscribed_to_focus(relay: SutRelay, tc: Tc, flow: Flow) -> Relayed:
    """B.2.3.x.y 7-8 (judged by SD-B.2.3.x.y-7-8.a): the PF's SUBSCRIBE reached the CF,
    so the PF holds the group session for client B. Returns the relayed SUBSCRIBE."""
    try:
        return await relay.expect(
            "SUBSCRIBE",
            to="cf",
            within=2 * tc.guards.sip,
            match=for_the_session(flow, tc.pixit.uris.conference_factory),
        )
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


async def _other_invite(flow: Flow, within: float, *, others: bool) -> IncomingInvite | None:
    """The PF's INVITE to client B for this flow's session within ``within``. One for an
    earlier test case's session of the same user (still deferred at the PF) is passed over;
    taken only when none of this session came and ``others`` (an INVITE with new ids is
    still the PF's invitation, judged by SD-B.2.3.x.y-11-12.b), never for a check that no
    INVITE comes."""
    try:
        return await flow.client.expect_invite(
            within=within, conversation_id=flow.session.conversation_id, others=others
        )
    except WaitTimeout:
        return None


@pytest.mark.users(3)
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
    flow = await start_flow(tc, sut_relay)
    await _subscribed_to_focus(sut_relay, tc, flow)
    await alice_sends(flow, tc.guards)
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
    await client_b_returns(tc, flow)
    # an INVITE would answer the REGISTER at once: the observation window
    invite = await _other_invite(flow, tc.guards.observe, others=False)
    if invite is not None:
        ev.append(sip_evidence(invite.request, "the PF's INVITE to client B after the REGISTER"))
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-ACTIVE-SUPPRESS",
        expected=None,
        actual=invite.request.first_line() if invite is not None else None,
        message="no INVITE of the PF to client B once the re-join was received (observed "
        f"for the observation window, {tc.guards.observe:.2f} s, after the REGISTER)",
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
    view, notifies = _cf_state(sut_relay, flow.session.focus)
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


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y+2-ACTIVE-REJECT", "SD-B.2.3.x.y+2-ACTIVE")
async def test_b_2_3_x_y_plus_2_flow_race_active(tc: Tc, sut_relay: SutRelay) -> None:
    """with {client B gone from a group session hosted by the SUT CF, through the SUT PF;
    alice sent two messages; client B back (third-party REGISTER) and invited by the PF}
    ensure that
    { when {client B's re-join reaches the PF after the PF's INVITE went out}
      then {the PF rejects the re-join; the CF gets no INVITE for it and still lists one
            endpoint of B, connected; the PF's session with client B carries both
            messages} }"""
    flow = await start_flow(tc, sut_relay)
    sub = await _subscribed_to_focus(sut_relay, tc, flow)
    # The CF's conference state judged below is what its NOTIFYs told the PF: wait for the
    # first one (B.2.3.x.y step 8) now, while nothing else can end or change the PF's
    # subscription, instead of reading whatever NOTIFYs happen to be relayed at the end
    # (a terminating NOTIFY after the PF's un-SUBSCRIBE may or may not be there by then).
    first = await _first_cf_notify(
        tc,
        sut_relay,
        sub,
        "SD-B.2.3.x.y+2-ACTIVE",
        "the CF's first NOTIFY in the PF's subscription (the conference state that lists "
        "client B's endpoints)",
        evidence=[sip_evidence(sub.request, "the PF's SUBSCRIBE on the PF->CF leg")],
    )
    await alice_sends(flow, tc.guards)
    await client_b_returns(tc, flow)
    invite = await _other_invite(flow, 2 * tc.guards.sip, others=True)
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
    view, notifies = _cf_state(sut_relay, flow.session.focus)
    if first is None:  # without the CF's first NOTIFY its state is unknown, whatever came later
        view = None
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


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y+2-INACTIVE-COMPLETE", "SD-B.2.3.x.y+2-INACTIVE-FORWARD")
async def test_b_2_3_x_y_plus_2_flow_race_inactive(tc: Tc, sut_relay: SutRelay) -> None:
    """with {client B gone from a group session of the SUT CF, through the SUT PF; alice
    sent two messages, then the CF ended the session (inactive); client B back
    (third-party REGISTER) and invited for deferred delivery} ensure that
    { when {client B's re-join reaches the PF after that INVITE, and client B accepts it}
      then {the PF delivers both messages, and forwards the re-join to the CF (the focus,
            the session's Conversation-ID and Contribution-ID), which re-starts the
            session: its 200 reaches client B through the PF} }"""
    flow = await start_flow(tc, sut_relay)
    await _subscribed_to_focus(sut_relay, tc, flow)
    await alice_sends(flow, tc.guards)
    await tc.upper_tester.end_session(flow.session.focus)
    try:
        await sut_relay.expect("BYE", to="pf", within=2 * tc.guards.sip)
    except WaitTimeout:
        inconclusive("the CF did not end the group session with the PF (no BYE)")
    await client_b_returns(tc, flow)
    invite = await _other_invite(flow, 2 * tc.guards.sip, others=True)
    if invite is None:
        inconclusive("no deferred delivery INVITE of the PF (SD-B.2.3.5.X-1)")
    handle = await _rejoin(flow, tc.pixit)
    # client B ACKs the re-join's 2xx when it comes, while it takes the delivery: an ACK
    # held until the delivery is over would let the PF's Timer H end the re-started session
    answered = asyncio.get_running_loop().create_task(_final_acked(handle, 2 * tc.guards.sip))
    try:
        await _race_inactive_after_rejoin(tc, sut_relay, flow, invite, handle, answered)
    finally:
        if not answered.done():
            answered.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await answered


async def _race_inactive_after_rejoin(
    tc: Tc,
    sut_relay: SutRelay,
    flow: Flow,
    invite: IncomingInvite,
    handle: InviteHandle,
    answered: asyncio.Task[SipResponse | None],
) -> None:
    """test_b_2_3_x_y_plus_2_flow_race_inactive from client B's acceptance of the deferred
    delivery on (``answered``: the re-join's final response, ACKed when a 2xx)."""
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
    final = await answered
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
