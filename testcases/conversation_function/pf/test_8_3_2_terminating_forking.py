"""CPM Conversation Function 8.3.2 steps 8.b-8.e: the terminating PF in the media path
invites the user's clients (Session-Replaces, suitable clients, the B2BUA INVITE).

The tool plays the CF (it sends the group INVITE for a served user) and the user's clients
(registered through the tool's S-CSCF). Expected values are written here from the seed
text, never taken from the reference SUT.
"""

from __future__ import annotations

import logging
import uuid

import pytest

from conformance.checks import EvidenceRef, VerdictRecorder, expect_equal, expect_true
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.headers import (
    cpm_release,
    get_accept_contact,
    get_contacts,
    get_content_type,
    get_option_tags,
    parse_session_expires,
)
from conformance.protocol.sip.message import SipMessage
from conformance.protocol.sip.multipart import find_recipient_list, parse_multipart
from conformance.roles.cf_invite import CfInviteHandle, cf_invite
from conformance.roles.client import ClientEmulator, IncomingInvite, sdp_of
from conformance.roles.sip_helpers import from_tag
from conformance.testcases.procedures import (
    expect_arrival,
    fork_of,
    msrp_media,
    pf_address,
    sip_evidence,
    user_with_clients,
)
from conformance.testcases.procedures.messages import PEER_ERRORS

log = logging.getLogger(__name__)


CPM_IDS = ("Conversation-ID", "Contribution-ID", "InReplyTo-Contribution-ID")
#: a service that is not the CPM session: a client registered with only it is unsuitable
MMTEL = "urn:urn-7:3gpp-service.ims.icsi.mmtel"


def _history(message: SipMessage) -> bytes | None:
    """The body of the recipient-list-history part (RFC 5364), if any."""
    ct = get_content_type(message)
    if ct is None or ct.type.lower() != "multipart":
        return None
    part = find_recipient_list(parse_multipart(message.body, ct), history=True)
    return part.body if part is not None else None


def _recipient_list(message: SipMessage) -> bytes | None:
    ct = get_content_type(message)
    if ct is None or ct.type.lower() != "multipart":
        return None
    part = find_recipient_list(parse_multipart(message.body, ct))
    return part.body if part is not None else None


async def _finish(handle: CfInviteHandle, forks: list[IncomingInvite | None]) -> None:
    """Leave cleanly: the CF says BYE, the clients refuse the PF's INVITEs."""
    if handle.dialog is not None:
        try:
            await handle.ack()
            await handle.bye()
        except PEER_ERRORS:  # the case is judged already; teardown goes on
            log.debug("teardown", exc_info=True)
    for fork in forks:
        if fork is not None:
            try:
                await fork.answer(480)
            except PEER_ERRORS:
                log.debug("teardown", exc_info=True)


async def _expect_fork(
    recorder: VerdictRecorder,
    requirement: str,
    client: ClientEmulator,
    handle: CfInviteHandle,
    guards: Guards,
    forks: list[IncomingInvite | None],
    *,
    expected: str,
    evidence: list[EvidenceRef],
) -> IncomingInvite | None:
    """The PF's INVITE for ``handle`` at ``client`` (``requirement`` fails when it does not
    come within the guard time); kept in ``forks`` for the teardown."""
    fork = await expect_arrival(
        recorder,
        requirement,
        fork_of(client, handle.contribution_id, guards.sip),
        expected=expected,
        evidence=evidence,
    )
    forks.append(fork)
    return fork


async def _no_invite(
    client: ClientEmulator, handle: CfInviteHandle, within: float
) -> IncomingInvite | None:
    try:
        return await fork_of(client, handle.contribution_id, within)
    except WaitTimeout:
        return None


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-8.b.i")
async def test_8_3_2_8_b_i_session_replaces_to_all_connected_clients(tc: Tc) -> None:
    """with {a PF in the media path; the invited user has a client registered for the CPM
    session and one registered for another service only} ensure that
    { when {the CF's INVITE carries a Session-Replaces header field}
      then {the PF's INVITE reaches both connected clients, carrying Session-Replaces} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    suitable = await tc.client(user, 0)
    other = await tc.client(user, 1, icsis=(MMTEL,), contact_icsis=(MMTEL,))
    replaced = uuid.uuid4().hex
    handle = await cf_invite(
        cf,
        user,
        pf_address(tc.pixit),
        originator=tc.pixit.users[0].uri,
        extra_headers=(("Session-Replaces", replaced),),
    )
    ev = [sip_evidence(handle.request, "the CF's INVITE")]
    forks: list[IncomingInvite | None] = []
    try:
        await handle.final(within=tc.guards.sip)
        for client in (suitable, other):
            fork = await _expect_fork(
                tc.recorder,
                "PF-8.3.2-8.b.i",
                client,
                handle,
                tc.guards,
                forks,
                expected=f"an INVITE to the connected client {client.instance}",
                evidence=ev,
            )
            if fork is None:
                continue
            expect_equal(
                tc.recorder,
                "PF-8.3.2-8.b.i",
                expected=replaced,
                actual=fork.request.headers.get("Session-Replaces"),
                message=f"the INVITE to {client.instance} carries the Session-Replaces",
                evidence=[*ev, sip_evidence(fork.request, "the PF's INVITE to the client")],
            )
    finally:
        await _finish(handle, forks)


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-8.b.ii")
async def test_8_3_2_8_b_ii_only_suitable_clients(tc: Tc) -> None:
    """with {a PF in the media path; the invited user has a client registered for the CPM
    session and one registered for another service only} ensure that
    { when {the CF's INVITE (no Session-Replaces) reaches the PF}
      then {the PF invites the suitable client and not the other one} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    suitable = await tc.client(user, 0)
    other = await tc.client(user, 1, icsis=(MMTEL,), contact_icsis=(MMTEL,))
    handle = await cf_invite(cf, user, pf_address(tc.pixit), originator=tc.pixit.users[0].uri)
    ev = [sip_evidence(handle.request, "the CF's INVITE")]
    forks: list[IncomingInvite | None] = []
    try:
        await handle.final(within=tc.guards.sip)
        await _expect_fork(
            tc.recorder,
            "PF-8.3.2-8.b.ii",
            suitable,
            handle,
            tc.guards,
            forks,
            expected="an INVITE to the suitable client",
            evidence=ev,
        )
        # the PF forks at once: once the suitable client has its INVITE, the other is
        # watched for the observation window
        stray = await _no_invite(other, handle, tc.guards.observe)
        forks.append(stray)
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.b.ii",
            stray is None,
            expected=f"no INVITE to {other.instance} (registered for {MMTEL} only)",
            actual="an INVITE"
            if stray is not None
            else f"none within the observation window ({tc.guards.observe:.2f} s)",
            evidence=[
                *ev,
                *(
                    [sip_evidence(stray.request, "the INVITE to the unsuitable client")]
                    if stray is not None
                    else []
                ),
            ],
        )
    finally:
        await _finish(handle, forks)


@pytest.mark.users(2)
@pytest.mark.requirement(
    "PF-8.3.2-8.c",
    "PF-8.3.2-8.d",
    "PF-8.3.2-8.d.i",
    "PF-8.3.2-8.d.ii",
    "PF-8.3.2-8.d.iii",
    "PF-8.3.2-8.d.iv",
    "PF-8.3.2-8.d.v",
    "PF-8.3.2-8.d.vi",
    "PF-8.3.2-8.d.vi-supported",
    "PF-8.3.2-8.d.vi-session-expires",
    "PF-8.3.2-8.d.vi-min-se",
    "PF-8.3.2-8.d.vi-user-agent",
    "PF-8.3.2-8.d.vii",
    "PF-8.3.2-8.d.viii",
    "PF-8.3.2-8.d.viii-setup",
    "PF-8.3.2-8.e",
)
async def test_8_3_2_8_d_invites_to_the_clients(tc: Tc) -> None:
    """with {a PF in the media path; the invited user has two clients registered for the CPM
    session} ensure that
    { when {the CF's group INVITE (isfocus Contact, Subject, InReplyTo-Contribution-ID, a
            recipient-list) reaches the PF}
      then {each client gets an INVITE of the PF's own dialog through the SIP/IP core, with
            every item of 8.d i-viii} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    clients = [await tc.client(user, 0), await tc.client(user, 1)]
    handle = await cf_invite(
        cf,
        user,
        pf_address(tc.pixit),
        originator=tc.pixit.users[0].uri,
        extra_headers=(
            ("Subject", "terminating conformance"),
            ("InReplyTo-Contribution-ID", "c0ffee00c0ffee00c0ffee00c0ffee00"),
        ),
    )
    sent = handle.request
    ev0 = [sip_evidence(sent, "the CF's INVITE")]
    forks: list[IncomingInvite | None] = []
    try:
        await handle.final(within=tc.guards.sip)
        for client in clients:
            await _expect_fork(
                tc.recorder,
                "PF-8.3.2-8.e",
                client,
                handle,
                tc.guards,
                forks,
                expected=f"the PF's INVITE forked to the registered client {client.instance}",
                evidence=ev0,
            )
        arrived = [f for f in forks if f is not None]
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.d",
            expected=len(clients),
            actual=len(arrived),
            message="one INVITE per suitable registered client",
            evidence=ev0,
        )
        pf = pf_address(tc.pixit)
        for fork in arrived:
            expect_equal(
                tc.recorder,
                "PF-8.3.2-8.e",
                expected=pf.host,
                actual=fork.incoming.source.host,
                message="the INVITE reaches the SIP/IP core (the tool) from the PF",
                evidence=[*ev0, sip_evidence(fork.request, "the PF's INVITE")],
            )
        if not arrived:
            return
        fork = arrived[0]
        client = fork.client
        got = fork.request
        ev = [*ev0, sip_evidence(got, "the PF's INVITE to the client")]
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.c",
            got.call_id != sent.call_id and from_tag(got) != from_tag(sent),
            expected="a dialog of the PF's own (new Call-ID and From tag: a B2BUA)",
            actual=(got.call_id, from_tag(got)),
            evidence=ev,
        )
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.d.i",
            got.uri in (user, client.gruu),
            expected=f"{user} (or the public GRUU {client.gruu})",
            actual=got.uri,
            evidence=ev,
        )
        prefs = get_accept_contact(got)
        own = [p for p in prefs if p.instance is not None]
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.d.ii",
            any(
                p.instance.strip('"<>') == client.instance
                and p.require
                and p.explicit
                and [k.lower() for k, _ in p.feature_params()] == ["+sip.instance"]
                for p in own
                if p.instance is not None
            ),
            expected=f'Accept-Contact: *;+sip.instance="<{client.instance}>";require;explicit',
            actual=got.headers.get_all("Accept-Contact"),
            evidence=ev,
        )
        sent_prefs = [p.params for p in get_accept_contact(sent)]
        got_prefs = [p.params for p in prefs]
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.d.iii",
            all(p in got_prefs for p in sent_prefs),
            expected=f"the CF's Accept-Contact {sent.headers.get_all('Accept-Contact')}",
            actual=got.headers.get_all("Accept-Contact"),
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.d.iv",
            expected={h: sent.headers.get(h) for h in CPM_IDS},
            actual={h: got.headers.get(h) for h in CPM_IDS},
            evidence=ev,
        )
        sent_contact = get_contacts(sent)[0]
        got_contacts = get_contacts(got)
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.d.v",
            expected=(sent_contact.uri, True),
            actual=(got_contacts[0].uri, got_contacts[0].isfocus) if got_contacts else None,
            message="the isfocus Contact is copied",
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.d.vi",
            expected=sent.headers.get("Subject"),
            actual=got.headers.get("Subject"),
            message="the Subject of the incoming INVITE is populated",
            evidence=ev,
        )
        tags = set(get_option_tags(got, "Supported"))
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.d.vi-supported",
            {"timer", "recipient-list-invite"} <= tags,
            expected="Supported: timer, recipient-list-invite",
            actual=sorted(tags),
            evidence=ev,
        )
        se_value = got.headers.get("Session-Expires")
        se = parse_session_expires(se_value) if se_value else None
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.d.vi-session-expires",
            se is not None and se.refresher == "uas" and se.delta < 1800,
            expected="Session-Expires: <delta < 1800>;refresher=uas",
            actual=se_value,
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.d.vi-min-se",
            expected=None,
            actual=got.headers.get("Min-SE"),
            message="no Min-SE",
            evidence=ev,
        )
        user_agent = got.headers.get("User-Agent")
        release = cpm_release(user_agent or "")
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.d.vi-user-agent",
            release is not None and release[0] == "serv" and release[1].startswith("OMA2."),
            expected="User-Agent: CPM-serv/OMA2.x <product tokens> (Appendix D)",
            actual=user_agent,
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.d.vii",
            expected=_recipient_list(sent),
            actual=_history(got),
            message="the recipient-list body is the recipient-list-history part",
            evidence=ev,
        )
        offer = msrp_media(got)
        cf_path = handle.msrp.uri
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.d.viii",
            offer is not None
            and offer.media == "message"
            and bool(offer.path)
            and cf_path not in offer.path,
            expected=f"an MSRP offer (m=message) with the PF's own a=path (not {cf_path})",
            actual=(offer.media, offer.path) if offer else sdp_of(got) or None,
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.d.viii-setup",
            expected="actpass",
            actual=offer.setup if offer else None,
            evidence=ev,
        )
    finally:
        await _finish(handle, forks)


@pytest.mark.requirement("PF-8.3.2-8.d.v-own")
async def test_8_3_2_8_d_v_own_contact_without_focus(tc: Tc) -> None:
    """with {a PF in the media path and a registered suitable client} ensure that
    { when {the incoming INVITE's Contact has no isfocus parameter}
      then {the PF's INVITE to the client carries a Contact of the PF, not the received one} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 1)
    client = await tc.client(user, 0)
    plain = f"sip:plain-peer@{tc.pixit.tool_host}"
    handle = await cf_invite(
        cf, user, pf_address(tc.pixit), originator=tc.pixit.users[0].uri, contact=f"<{plain}>"
    )
    ev = [sip_evidence(handle.request, "the incoming INVITE")]
    forks: list[IncomingInvite | None] = []
    try:
        await handle.final(within=tc.guards.sip)
        fork = await _expect_fork(
            tc.recorder,
            "PF-8.3.2-8.d.v-own",
            client,
            handle,
            tc.guards,
            forks,
            expected="the PF's INVITE to the client",
            evidence=ev,
        )
        if fork is None:
            return
        contacts = get_contacts(fork.request)
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.d.v-own",
            bool(contacts) and contacts[0].uri != plain and not contacts[0].isfocus,
            expected=f"a Contact URI of the PF's own (not {plain})",
            actual=fork.request.headers.get("Contact"),
            evidence=[*ev, sip_evidence(fork.request, "the PF's INVITE to the client")],
        )
    finally:
        await _finish(handle, forks)
