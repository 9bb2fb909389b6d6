"""CPM Conversation Function 8.3.2 step 9: the terminating PF that does not stay in the
media path acts as a SIP proxy (run with ``--pics pf.media_path=false``; 9.e also with
``--pics pf.deferred_delivery=false``).

The tool plays the CF (it sends the group INVITE for a served user to the PF), the user's
clients (registered through the tool's S-CSCF) and, behind them, the SIP/IP core that
would fork the proxied INVITE. The proxied INVITE names no client instance in an
Accept-Contact (only the CF's CPM session ICSI), so no client route takes it: this module
adds a route for the invited user's address (the case's Contribution-ID) and answers it
itself. Expected values are written here from the seed text and RFC 3261 section 16.
"""

from __future__ import annotations

import uuid

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.errors import RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.sip.headers import (
    get_reject_contact,
    get_vias,
    parse_request_disposition,
)
from conformance.protocol.sip.message import SipMessage
from conformance.protocol.sip.uri import parse_uri
from conformance.roles.cf_invite import CfInviteHandle, cf_invite
from conformance.roles.sip_helpers import same_aor, unbracket
from conformance.testcases.procedures import (
    expect_arrival,
    pf_address,
    sip_evidence,
    user_with_clients,
)
from conformance.testcases.procedures.proxy import CORE_ANSWER, user_inbox

#: a service that is not the CPM session: a client registered with only it is unsuitable
MMTEL = "urn:urn-7:3gpp-service.ims.icsi.mmtel"


def _hostports(values: list[str]) -> list[str]:
    """``host:port`` of each (comma-separated) name-addr of header values."""
    out: list[str] = []
    for value in values:
        for entry in value.split(","):
            text = entry.strip()
            if text.startswith("<"):
                text = text[1 : text.find(">")] if ">" in text else text[1:]
            try:
                uri = parse_uri(text)
            except RemoteProtocolError:  # the SUT's header: listed as written, never an error
                out.append(text)
                continue
            out.append(f"{uri.host}:{uri.port}" if uri.port else uri.host or text)
    return out


def _rejected(message: SipMessage) -> list[str] | None:
    """The ``+sip.instance`` values of the Reject-Contact headers (None: unparsable)."""
    try:
        return [unbracket(p.instance.strip('"')) for p in get_reject_contact(message) if p.instance]
    except RemoteProtocolError:
        return None


def _disposition(message: SipMessage) -> tuple[str, ...] | None:
    values = message.headers.get_all("Request-Disposition")
    try:
        return tuple(d for v in values for d in parse_request_disposition(v))
    except RemoteProtocolError:
        return None


async def _cf_final(handle: CfInviteHandle, within: float) -> SipMessage | None:
    try:
        return await handle.final(within=within)
    except (WaitTimeout, TransactionTimeoutError):  # judged on what arrived
        return None


@pytest.mark.users(2)
@pytest.mark.requirement(
    "PF-8.3.2-9.a",
    "PF-8.3.2-9.c",
    "PF-8.3.2-9.d.i",
    "PF-8.3.2-9.d.ii",
    "PF-8.3.2-9.d.iii",
)
async def test_8_3_2_9_pf_proxies_the_invitation(tc: Tc) -> None:
    """with {a PF that does not stay in the media path; the invited user has a client
    registered for the CPM session and one registered for another service only} ensure that
    { when {the CF's group INVITE (no Session-Replaces) reaches the PF}
      then {the PF forwards it as a proxy (same Call-ID and From, its own Via on top,
            a Record-Route with its own URI, the core's response relayed back) (9.a) to the
            SIP/IP core from its own host, Request-URI still the user's address (9.d.iii),
            with the unsuitable client's instance in a Reject-Contact (9.d.i) and not the
            suitable one's (9.c), and Request-Disposition: fork, parallel (9.d.ii)} }"""
    cf = await tc.cf()
    pf = pf_address(tc.pixit)
    own = f"{pf.host}:{pf.port}"
    user = user_with_clients(tc.pixit, 2)
    suitable = await tc.client(user, 0)
    unsuitable = await tc.client(user, 1, icsis=(MMTEL,), contact_icsis=(MMTEL,))
    contribution_id = uuid.uuid4().hex
    with user_inbox(tc.core, user, contribution_id) as inbox:
        handle = await cf_invite(
            cf, user, pf, originator=tc.pixit.users[0].uri, contribution_id=contribution_id
        )
        sent = handle.request
        ev0 = [sip_evidence(sent, "the CF's INVITE")]
        incoming = await expect_arrival(
            tc.recorder,
            "PF-8.3.2-9.d.iii",
            inbox.invite(tc.guards.sip),
            expected=f"the PF's INVITE for {user} at the SIP/IP core",
            evidence=ev0,
        )
        final = await _cf_final(handle, tc.guards.sip)
    if incoming is None:
        return
    got = incoming.request
    ev = [*ev0, sip_evidence(got, "the INVITE the PF forwarded to the SIP/IP core")]
    if final is not None:
        ev.append(sip_evidence(final, "the final response the CF got"))

    vias = get_vias(got)
    sent_vias = get_vias(sent)
    top = vias[0] if vias else None
    expect_equal(
        tc.recorder,
        "PF-8.3.2-9.a",
        expected={
            "Call-ID": sent.call_id,
            "From": sent.headers.get("From"),
            "top Via sent-by": own,
            "CF's Via below": True,
            "Record-Route with the PF's URI": True,
            "final response relayed to the CF": CORE_ANSWER,
        },
        actual={
            "Call-ID": got.call_id,
            "From": got.headers.get("From"),
            "top Via sent-by": f"{top.host}:{top.port}" if top else None,
            "CF's Via below": bool(sent_vias)
            and any(v.branch == sent_vias[0].branch for v in vias[1:]),
            "Record-Route with the PF's URI": own
            in _hostports(got.headers.get_all("Record-Route")),
            "final response relayed to the CF": getattr(final, "status", None),
        },
        message="RFC 3261 16: a proxy keeps Call-ID and From, adds its Via on top, "
        "Record-Routes to stay for the session and relays the response",
        evidence=ev,
    )
    rejected = _rejected(got)
    expect_true(
        tc.recorder,
        "PF-8.3.2-9.c",
        rejected is not None and suitable.instance not in rejected,
        expected=f"the suitable client {suitable.instance} not in a Reject-Contact",
        actual=rejected,
        evidence=ev,
    )
    expect_true(
        tc.recorder,
        "PF-8.3.2-9.d.i",
        rejected is not None and unsuitable.instance in rejected,
        expected=f"a Reject-Contact with +sip.instance of {unsuitable.instance} "
        f"(registered for {MMTEL} only)",
        actual=rejected,
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.3.2-9.d.ii",
        expected=("fork", "parallel"),
        actual=_disposition(got),
        message="Request-Disposition directives",
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.3.2-9.d.iii",
        expected={"from the PF's host": pf.host, "Request-URI is the user's address": True},
        actual={
            "from the PF's host": incoming.source.host,
            "Request-URI is the user's address": same_aor(got.uri, user),
        },
        message="forwarded to the SIP/IP core, which forks it to the user's clients",
        evidence=ev,
    )


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-9.b")
async def test_8_3_2_9_b_session_replaces_to_all_connected_clients(tc: Tc) -> None:
    """with {a PF that does not stay in the media path; the invited user has a client
    registered for the CPM session and one registered for another service only} ensure that
    { when {the CF's INVITE carries a Session-Replaces header field}
      then {the PF forwards it to the SIP/IP core carrying the Session-Replaces, with no
            connected client excluded by a Reject-Contact} }"""
    cf = await tc.cf()
    pf = pf_address(tc.pixit)
    user = user_with_clients(tc.pixit, 2)
    clients = [
        await tc.client(user, 0),
        await tc.client(user, 1, icsis=(MMTEL,), contact_icsis=(MMTEL,)),
    ]
    replaced = uuid.uuid4().hex
    contribution_id = uuid.uuid4().hex
    with user_inbox(tc.core, user, contribution_id) as inbox:
        handle = await cf_invite(
            cf,
            user,
            pf,
            originator=tc.pixit.users[0].uri,
            contribution_id=contribution_id,
            extra_headers=(("Session-Replaces", replaced),),
        )
        ev0 = [sip_evidence(handle.request, "the CF's INVITE")]
        incoming = await expect_arrival(
            tc.recorder,
            "PF-8.3.2-9.b",
            inbox.invite(tc.guards.sip),
            expected=f"the PF's INVITE for {user} at the SIP/IP core",
            evidence=ev0,
        )
        await _cf_final(handle, tc.guards.sip)
    if incoming is None:
        return
    got = incoming.request
    rejected = _rejected(got)
    expect_equal(
        tc.recorder,
        "PF-8.3.2-9.b",
        expected={"Session-Replaces": replaced, "connected clients rejected": []},
        actual={
            "Session-Replaces": got.headers.get("Session-Replaces"),
            "connected clients rejected": None
            if rejected is None
            else [c.instance for c in clients if c.instance in rejected],
        },
        message="forwarded to all connected clients of the user, Session-Replaces kept",
        evidence=[*ev0, sip_evidence(got, "the INVITE the PF forwarded")],
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2-9.e")
async def test_8_3_2_9_e_no_suitable_client(tc: Tc) -> None:
    """with {a PF that does not stay in the media path, without deferred delivery or
    interworking; the invited user's only registered client is registered for another
    service only} ensure that
    { when {the CF's group INVITE reaches the PF}
      then {the PF answers 480 Temporarily Unavailable and forwards nothing} }"""
    cf = await tc.cf()
    pf = pf_address(tc.pixit)
    user = user_with_clients(tc.pixit, 1)
    await tc.client(user, 0, icsis=(MMTEL,), contact_icsis=(MMTEL,))
    contribution_id = uuid.uuid4().hex
    with user_inbox(tc.core, user, contribution_id) as inbox:
        handle = await cf_invite(
            cf, user, pf, originator=tc.pixit.users[-1].uri, contribution_id=contribution_id
        )
        ev = [sip_evidence(handle.request, "the CF's INVITE")]
        final = await expect_arrival(
            tc.recorder,
            "PF-8.3.2-9.e",
            handle.final(within=tc.guards.sip),
            expected="a final response from the PF",
            evidence=ev,
        )
    if final is None:
        return
    ev.append(sip_evidence(final, "the final response the CF got"))
    ev += [sip_evidence(i.request, "an INVITE the PF forwarded") for i in inbox.received]
    expect_equal(
        tc.recorder,
        "PF-8.3.2-9.e",
        expected={"status": 480, "INVITEs forwarded": 0},
        actual={"status": final.status, "INVITEs forwarded": len(inbox.received)},
        evidence=ev,
    )
    if final.status == 200:
        # the PF accepted: leave the dialog cleanly
        await handle.ack()
        await handle.bye()
