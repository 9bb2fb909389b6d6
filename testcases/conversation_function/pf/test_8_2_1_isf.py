"""CPM Conversation Function 8.2.1 steps 4.n and 5.c: an INVITE whose destination address
is neither a SIP URI nor a TEL URI goes "directly to the ISF"; 200 OK step 1: the Media
Streams the ISF rejected get a new session (PICS pf.retry_rejected_media).

The tool plays the originating client (through its S-CSCF) and the ISF at PIXIT
``uris.isf`` (conformance/roles/isf.py). Section 6.5 ("Communicating with the ISF and
IWF"), which says how a PF reaches its ISF, is not in the seeds: an INVITE counts as sent
to the ISF when the ISF URI is its Request-URI or its topmost Route entry (the catalogue's
interpretation). The destination is an ``im:`` URI (RFC 3860) of a profile user.
Expected values are written here from the seed text, never taken from the reference SUT.
"""

from __future__ import annotations

import pytest

from conformance.checks import check, expect_equal, expect_true, inconclusive
from conformance.errors import RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.headers import get_option_tags, parse_session_expires
from conformance.protocol.sip.message import SipRequest
from conformance.roles.client import ClientEmulator
from conformance.roles.isf import IsfEmulator, addressed_to
from conformance.testcases.procedures import (
    expect_arrival,
    msrp_media,
    new_ids,
    pf_address,
    sip_evidence,
)

ICSI_SESSION = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"


def non_sip_destination(tc: Tc) -> str:
    """An ``im:`` URI (neither SIP nor TEL) of the second profile user (else the first)."""
    users = tc.pixit.users
    uri = users[1].uri if len(users) > 1 else users[0].uri
    return "im:" + uri.split(":", 1)[1].split(";", 1)[0]


async def invite_non_sip(tc: Tc, client: ClientEmulator) -> tuple[SipRequest, str]:
    """The client's CPM session INVITE to a non-SIP/TEL destination, with the Route entry
    naming the PF that its S-CSCF pre-loads (a SIP/IP core that routes by Request-URI
    might not take an im: URI); (the INVITE, its Conversation-ID)."""
    pf = pf_address(tc.pixit)
    route = f"<sip:{pf.host}:{pf.port};lr>"
    conversation_id, contribution_id = new_ids()
    msrp = await client.new_msrp_peer()
    extra = [("P-Asserted-Identity", f"<{client.user}>"), ("Route", route)]
    request = client.build_group_invite(
        non_sip_destination(tc),
        msrp=msrp,
        conversation_id=conversation_id,
        contribution_id=contribution_id,
        participants=(),
        extra_headers=tuple(extra),
        p_preferred_service=ICSI_SESSION,
    )
    await client.send_invite(request, pf_address(tc.pixit), msrp=msrp)
    return request, conversation_id


async def _expect_at_isf(
    tc: Tc, isf: IsfEmulator, requirement: str, sent: SipRequest, conversation_id: str
) -> None:
    incoming = await expect_arrival(
        tc.recorder,
        requirement,
        isf.expect_invite(within=tc.guards.sip, conversation_id=conversation_id),
        expected=f"the PF's INVITE for {sent.uri} reaches the ISF ({isf.isf_uri}): the ISF URI "
        "is its Request-URI or its topmost Route entry",
        evidence=[sip_evidence(sent, "the client's INVITE")],
    )
    if incoming is not None:
        incoming.reject(480)


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.2.1-4.n-isf")
async def test_8_2_1_4_n_non_sip_destination_goes_to_isf(tc: Tc) -> None:
    """with {a PF in the media path and the ISF at PIXIT uris.isf} ensure that
    { when {a registered client sends a CPM session INVITE to an im: URI}
      then {the PF sends its generated INVITE directly to the ISF (the ISF URI is its
            Request-URI or its topmost Route entry)} }"""
    isf = await tc.isf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    sent, conversation_id = await invite_non_sip(tc, client)
    await _expect_at_isf(tc, isf, "PF-8.2.1-4.n-isf", sent, conversation_id)


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.2.1-5.c-isf")
async def test_8_2_1_5_c_non_sip_destination_is_forwarded_to_isf(tc: Tc) -> None:
    """with {a PF that does not stay in the media path and the ISF at PIXIT uris.isf}
    ensure that
    { when {a registered client sends a CPM session INVITE to an im: URI (Route:
            <sip:PF;lr> pre-loaded by its S-CSCF)}
      then {the PF forwards the INVITE directly to the ISF (the ISF URI is its
            Request-URI or its topmost Route entry)} }"""
    isf = await tc.isf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    sent, conversation_id = await invite_non_sip(tc, client)
    await _expect_at_isf(tc, isf, "PF-8.2.1-5.c-isf", sent, conversation_id)


def rejected_msrp_answer(host: str) -> bytes:
    """An SDP answer that rejects the offered MSRP stream (port 0, RFC 3264 section 6)."""
    return (
        f"v=0\r\no=isf 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        "m=message 0 TCP/MSRP *\r\n"
    ).encode()


def _refresher(request: SipRequest) -> str | None:
    value = request.headers.get("Session-Expires")
    try:
        return parse_session_expires(value).refresher if value else None
    except RemoteProtocolError:
        return None


@pytest.mark.users(2)
@pytest.mark.requirement(
    "PF-8.2.1-200OK-1",
    "PF-8.2.1-200OK-1-new-session",
    "PF-8.2.1-200OK-1.b",
    "PF-8.2.1-200OK-1.b.i",
    "PF-8.2.1-200OK-1.b.ii",
    "PF-8.2.1-200OK-1.b.ii-setup",
    "PF-8.2.1-200OK-1.b.iii",
)
async def test_8_2_1_200ok_1_rejected_stream_gets_a_new_session_at_the_isf(tc: Tc) -> None:
    """with {a PF in the media path that attempts a new session for rejected Media Streams
            (pf.retry_rejected_media), and the ISF at PIXIT uris.isf} ensure that
    { when {the ISF answers the PF's INVITE for an im: destination with a 200 OK whose SDP
            rejects the MSRP stream (port 0)}
      then {the PF sends a new INVITE (1, 1.b) performing step 4 without 4.f/4.g (1.b.i),
            offering the rejected stream again (1.b.ii) with a=setup:actpass
            (1.b.ii-setup), directly to the ISF (1.b.iii)} }"""
    isf = await tc.isf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    destination = non_sip_destination(tc)
    # an INVITE for the destination that bypasses the ISF is taken too (1.b.iii judges it)
    isf.watch(destination)
    sent, conversation_id = await invite_non_sip(tc, client)
    try:
        first = await isf.expect_invite(within=tc.guards.sip, conversation_id=conversation_id)
    except WaitTimeout:
        inconclusive("the PF's INVITE for the im: destination never came (step 4)")
    if not addressed_to(first.request, isf.isf_uri):
        first.reject(480)
        inconclusive("the PF's first INVITE did not go to the ISF (step 4.n)")
    await first.accept(
        contact=f"<{isf.isf_uri}>", server=None, body=rejected_msrp_answer(tc.pixit.tool_host)
    )
    ev = [
        sip_evidence(sent, "the client's INVITE"),
        sip_evidence(first.request, "the PF's INVITE to the ISF"),
    ]
    if first.response is not None:
        ev.append(sip_evidence(first.response, "the ISF's 200 OK rejecting the MSRP stream"))
    # any new INVITE (not only of this Conversation-ID: 1.b.i judges the copied headers)
    retry = await expect_arrival(
        tc.recorder,
        "PF-8.2.1-200OK-1-new-session",
        isf.expect_invite(within=tc.guards.sip),
        expected="a new INVITE (a new session) for the MSRP stream the ISF rejected",
        evidence=ev,
    )
    new_call = retry is not None and retry.request.call_id != first.request.call_id
    check(
        tc.recorder,
        "PF-8.2.1-200OK-1",
        ok=retry is not None,
        expected="the PF finds the rejected stream in the ISF's 200 OK: a new INVITE for it",
        actual="a new INVITE" if retry is not None else "no new INVITE",
        evidence=ev,
    )
    check(
        tc.recorder,
        "PF-8.2.1-200OK-1.b",
        ok=new_call,
        expected="a new SIP INVITE request (a new Call-ID)",
        actual=retry.request.call_id if retry is not None else "no new INVITE",
        evidence=ev,
    )
    if retry is None:
        return
    got = retry.request
    ev = [*ev, sip_evidence(got, "the PF's new INVITE")]
    expect_true(
        tc.recorder,
        "PF-8.2.1-200OK-1.b.iii",
        addressed_to(got, isf.isf_uri),
        expected=f"the ISF ({isf.isf_uri}) is the Request-URI or the topmost Route entry",
        actual={"Request-URI": got.uri, "Route": got.headers.get("Route")},
        evidence=ev,
    )
    # 1.b.i: step 4 except 4.f and 4.g (so User-Agent is not asked for): 4.d's copies,
    # 4.j's timer tag, 4.k's refresher
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-1.b.i",
        expected={
            "Request-URI": sent.uri,
            "Conversation-ID": sent.headers.get("Conversation-ID"),
            "Contribution-ID": sent.headers.get("Contribution-ID"),
            "Supported timer": True,
            "Session-Expires refresher": "uac",
        },
        actual={
            "Request-URI": got.uri,
            "Conversation-ID": got.headers.get("Conversation-ID"),
            "Contribution-ID": got.headers.get("Contribution-ID"),
            "Supported timer": "timer" in get_option_tags(got, "Supported"),
            "Session-Expires refresher": _refresher(got),
        },
        message="8.2.1 step 4.d, 4.j, 4.k in the new INVITE",
        evidence=ev,
    )
    media = msrp_media(got)
    expect_true(
        tc.recorder,
        "PF-8.2.1-200OK-1.b.ii",
        media is not None and media.port != 0 and bool(media.path),
        expected="the rejected MSRP stream offered again: m=message with a port and a=path",
        actual=None if media is None else {"port": media.port, "path": media.path},
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-1.b.ii-setup",
        expected="actpass",
        actual=None if media is None else media.setup,
        evidence=ev,
    )
    retry.reject(480)
