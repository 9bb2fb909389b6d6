"""CPM Conversation Function 8.3.2 step 8.a: the terminating PF in the media path answers
the incoming leg (the CF) with its own 200 OK.

The tool plays the CF (it sends the group INVITE for a served user) and the user's
client (registered through the tool's S-CSCF). Expected values are written here from the
seed text, never taken from the reference SUT.
"""

from __future__ import annotations

import logging

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.errors import LocalProtocolError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.protocol.sip.headers import (
    cpm_release,
    get_contacts,
    get_option_tags,
    parse_session_expires,
)
from conformance.roles.cf_invite import CfInviteHandle, cf_invite
from conformance.roles.client import ClientEmulator, sdp_of
from conformance.testcases.procedures import (
    fork_of,
    msrp_media,
    pf_address,
    sip_evidence,
    user_with_clients,
)
from conformance.testcases.procedures.messages import PEER_ERRORS

log = logging.getLogger(__name__)


CPM_IDS = ("Conversation-ID", "Contribution-ID", "InReplyTo-Contribution-ID")
MSRP_PROTOS = ("TCP/MSRP", "TCP/TLS/MSRP")


async def _finish(handle: CfInviteHandle, client: ClientEmulator, guards: Guards) -> None:
    """Leave cleanly: the client answers the PF's INVITE (when it came), the CF says BYE."""
    try:
        fork = await fork_of(client, handle.contribution_id, guards.sip)
        await fork.answer(480)
    except PEER_ERRORS:  # the case is judged already; teardown goes on
        log.debug("teardown", exc_info=True)
    if handle.dialog is not None:
        try:
            await handle.bye()
        except PEER_ERRORS:
            log.debug("teardown", exc_info=True)


@pytest.mark.requirement(
    "PF-8.3.2-8.a",
    "PF-8.3.2-8.a.i",
    "PF-8.3.2-8.a.ii",
    "PF-8.3.2-8.a.iii",
    "PF-8.3.2-8.a.iv",
    "PF-8.3.2-8.a.vi",
    "PF-8.3.2-8.a.vii",
    "PF-8.3.2-8.a.vii-media",
    "PF-8.3.2-8.a.vii-path",
    "PF-8.3.2-8.a.vii-sendrecv",
    "PF-8.3.2-8.a.vii-setup",
    "PF-8.3.2-8.a.vii-cema",
    "PF-8.3.2-8.a.viii",
    "PF-8.3.2-8.a.viii-listen",
)
async def test_8_3_2_8_a_200_ok_towards_the_cf(tc: Tc) -> None:
    """with {a PF in the media path and a registered suitable client of the invited user}
    ensure that
    { when {the CF's group INVITE (InReplyTo-Contribution-ID, no Session-Expires, an MSRP
            offer with a=setup:actpass) reaches the PF}
      then {the PF answers 200 OK with the CPM ids copied, Server CPM-serv/OMA2.x, its own
            Contact, Supported: timer, Session-Expires refresher=uas below 1800, an MSRP
            answer (own path, sendrecv, setup passive, msrp-cema), and accepts the CF's
            MSRP connection and SEND} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 1)
    client = await tc.client(user, 0)
    handle = await cf_invite(
        cf,
        user,
        pf_address(tc.pixit),
        originator=tc.pixit.users[0].uri,
        extra_headers=(("InReplyTo-Contribution-ID", "c0ffee00c0ffee00c0ffee00c0ffee00"),),
    )
    sent = handle.request
    try:
        answer = await handle.final(within=tc.guards.sip)
        ev = [sip_evidence(sent, "the CF's INVITE"), sip_evidence(answer, "the PF's answer")]
        expect_equal(tc.recorder, "PF-8.3.2-8.a", expected=200, actual=answer.status, evidence=ev)
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.a.viii",
            expected=200,
            actual=answer.status,
            message="the 200 OK reaches the incoming leg",
            evidence=ev,
            fatal=True,
        )
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.a.i",
            expected={h: sent.headers.get(h) for h in CPM_IDS},
            actual={h: answer.headers.get(h) for h in CPM_IDS},
            evidence=ev,
        )
        server = answer.headers.get("Server")
        release = cpm_release(server or "")
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.ii",
            release is not None and release[0] == "serv" and release[1].startswith("OMA2."),
            expected="Server: CPM-serv/OMA2.x <product tokens> (Appendix D)",
            actual=server,
            evidence=ev,
        )
        contacts = get_contacts(answer)
        cf_contact = get_contacts(sent)[0].uri
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.iii",
            bool(contacts) and contacts[0].uri != cf_contact,
            expected=f"a Contact URI of the PF's own (not the CF's {cf_contact})",
            actual=contacts[0].uri if contacts else None,
            evidence=ev,
        )
        tags = get_option_tags(answer, "Supported")
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.iv",
            "timer" in tags,
            expected="Supported: timer",
            actual=list(tags),
            evidence=ev,
        )
        se_value = answer.headers.get("Session-Expires")
        se = parse_session_expires(se_value) if se_value else None
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.vi",
            se is not None and se.refresher == "uas" and se.delta < 1800,
            expected="Session-Expires: <delta < 1800>;refresher=uas",
            actual=se_value,
            evidence=ev,
        )
        media = msrp_media(answer)
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.vii",
            media is not None,
            expected="an SDP answer with an MSRP media description",
            actual=sdp_of(answer) or None,
            evidence=ev,
        )
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.vii-media",
            media is not None
            and media.media == "message"
            and media.port != 0
            and media.proto.upper() in MSRP_PROTOS,
            expected="m=message <port != 0> TCP/MSRP (or TCP/TLS/MSRP) *",
            actual=(media.media, media.port, media.proto) if media else None,
            evidence=ev,
        )
        cf_path = handle.msrp.uri
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.vii-path",
            media is not None
            and bool(media.path)
            and cf_path not in media.path
            and media.path[-1].lower().startswith(("msrp://", "msrps://")),
            expected=f"a=path with the PF's own MSRP URI (not the CF's {cf_path})",
            actual=media.path if media else None,
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.a.vii-sendrecv",
            expected="sendrecv",
            actual=media.direction if media else None,
            evidence=ev,
        )
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.a.vii-setup",
            expected="passive",
            actual=media.setup if media else None,
            evidence=ev,
        )
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.vii-cema",
            media is not None and media.msrp_cema,
            expected="a=msrp-cema in the MSRP media description",
            actual=media.attributes if media else None,
            evidence=ev,
        )
        # 8.a.viii: "start listening for incoming MSRP": the CF (active) connects and sends
        await handle.ack()
        try:
            await handle.establish_msrp(within=tc.guards.msrp)
            requests = handle.msrp.send(b"hello", "text/plain")
            channel = handle.msrp.channel
            if channel is None:
                raise LocalProtocolError("no MSRP connection after its set-up")
            response = await channel.response(requests[0], within=tc.guards.msrp)
            listened: object = response.status_code
        except PEER_ERRORS as exc:
            listened = f"no MSRP session ({type(exc).__name__}: {exc})"
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.a.viii-listen",
            expected=200,
            actual=listened,
            message="the CF's SEND on the answered MSRP session",
            evidence=ev,
        )
    finally:
        await _finish(handle, client, tc.guards)


@pytest.mark.requirement("PF-8.3.2-8.a.v")
async def test_8_3_2_8_a_v_session_expires_copied(tc: Tc) -> None:
    """with {a PF in the media path and a registered suitable client of the invited user}
    ensure that
    { when {the CF's INVITE carries Session-Expires: 1500}
      then {the PF's 200 OK carries Session-Expires with delta-seconds 1500 (RFC 4028: the
            UAS may add refresher=uac)} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 1)
    client = await tc.client(user, 0)
    handle = await cf_invite(
        cf, user, pf_address(tc.pixit), originator=tc.pixit.users[0].uri, session_expires=1500
    )
    try:
        answer = await handle.final(within=tc.guards.sip)
        ev = [
            sip_evidence(handle.request, "the CF's INVITE"),
            sip_evidence(answer, "the PF's answer"),
        ]
        expect_equal(
            tc.recorder,
            "PF-8.3.2-8.a.v",
            expected=200,
            actual=answer.status,
            evidence=ev,
            fatal=True,
        )
        se_value = answer.headers.get("Session-Expires")
        se = parse_session_expires(se_value) if se_value else None
        expect_true(
            tc.recorder,
            "PF-8.3.2-8.a.v",
            se is not None and se.delta == 1500 and se.refresher in (None, "uac"),
            expected="Session-Expires: 1500 (refresher absent or uac)",
            actual=se_value,
            evidence=ev,
        )
        await handle.ack()
    finally:
        await _finish(handle, client, tc.guards)
