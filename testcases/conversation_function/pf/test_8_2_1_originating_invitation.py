"""CPM Conversation Function 8.2.1: the originating PF handles a CPM Session Invitation.

The tool plays the originating CPM Client (through its S-CSCF) and the CF; the PF under
test sits between them. The rejection cases send their INVITE twice: with our engine and
with pjsua2 (``stimulus_stack``: ``engine`` / ``pjsip``, testcases/stimulus.py).
Each check names the catalogue requirement it judges, and the
expected values are written here from the seed text, never taken from the reference SUT.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true, inconclusive
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.protocol.sip.headers import (
    cpm_release,
    get_asserted_services,
    get_contacts,
    get_from,
    get_option_tags,
    get_vias,
    parse_session_expires,
)
from conformance.protocol.sip.message import SipMessage
from conformance.protocol.sip.multipart import find_recipient_list, parse_multipart
from conformance.protocol.sip.sdp import MediaDescription
from conformance.roles.cf import CfIncomingInvite
from conformance.testcases.procedures import (
    expect_arrival,
    msrp_media,
    pf_address,
    send_group_invite,
    sip_evidence,
)
from conformance.testcases.procedures.messages import SUT_SILENCE
from conformance.testcases.procedures.rejections import expect_rejection
from conformance.testcases.procedures.sessions import GroupInvite
from conformance.testcases.procedures.stimulus import StimulusStack, originating_invite

ICSI_SESSION = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"
ICSI_GROUP = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session.group"


def _is_cpm2_server(value: str | None) -> bool:
    """Appendix D: the CPM release token ``CPM-serv/OMA2.x`` leads the product list."""
    release = cpm_release(value or "")
    return release is not None and release[0] == "serv" and release[1].startswith("OMA2.")


#: the header fields RFC 3261 8.1.1 requires in every request (and Contact in an INVITE)
RFC3261_REQUIRED = ("To", "From", "CSeq", "Call-ID", "Max-Forwards", "Via", "Contact")


def _from_tag(message: SipMessage) -> str | None:
    try:
        return get_from(message).param("tag")
    except RemoteProtocolError:
        return None


def _msrp_parameters(media: MediaDescription) -> tuple[str, str, list[str], list[str]]:
    """What 5.2.1.2 keeps of an MSRP media line at an intermediate node (the catalogue's
    interpretation): the m-line's media and protocol, accept-types, accept-wrapped-types."""
    return (media.media, media.proto, media.accept_types, media.accept_wrapped_types)


# --------------------------------------------------------------------------- rejections


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-1", "PF-8.2.1-1-warning")
async def test_8_2_1_1_unauthorised_originator_is_rejected(
    tc: Tc,
    stimulus_stack: StimulusStack,
) -> None:
    """with {an originator the PF does not allow (PIXIT uris.unauthorised_user)} ensure that
    { when {the originator's client sends a group INVITE to the PF}
      then {the PF answers 403 Forbidden with Warning "127 Service not authorised"} }"""
    if not tc.pixit.uris.unauthorised_user:
        inconclusive("the profile names no unauthorised user (uris.unauthorised_user)")
    answer = await originating_invite(
        stimulus_stack,
        tc,
        GroupInvite(asserted_identity=tc.pixit.uris.unauthorised_user),
        register=False,
    )
    expect_rejection(
        tc.recorder,
        answer,
        "PF-8.2.1-1",
        403,
        warning_requirement="PF-8.2.1-1-warning",
        warning=(127, "Service not authorised"),
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-2", "PF-8.2.1-2-warning")
async def test_8_2_1_2_unsupported_user_agent_version_is_rejected(
    tc: Tc,
    stimulus_stack: StimulusStack,
) -> None:
    """with {a PF that requires the CPM 2.0 release in User-Agent} ensure that
    { when {a registered client sends a group INVITE with User-Agent CPM-client/OMA1.0}
      then {the PF answers 403 with Warning "132 Version not supported"} }"""
    answer = await originating_invite(
        stimulus_stack, tc, GroupInvite(user_agent="CPM-client/OMA1.0 old-client/1")
    )
    expect_rejection(
        tc.recorder,
        answer,
        "PF-8.2.1-2",
        403,
        warning_requirement="PF-8.2.1-2-warning",
        warning=(132, "Version not supported"),
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-3", "PF-8.2.1-3-warning")
async def test_8_2_1_3_anonymity_is_rejected(tc: Tc, stimulus_stack: StimulusStack) -> None:
    """with {a PF that does not allow anonymity} ensure that
    { when {a registered client sends a group INVITE with Privacy: id}
      then {the PF answers 403 with Warning "119 Anonymity not allowed"} }"""
    answer = await originating_invite(stimulus_stack, tc, GroupInvite(privacy="id"))
    expect_rejection(
        tc.recorder,
        answer,
        "PF-8.2.1-3",
        403,
        warning_requirement="PF-8.2.1-3-warning",
        warning=(119, "Anonymity not allowed"),
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-4.a.iii")
async def test_8_2_1_4_a_iii_unexpected_service_may_be_rejected(
    tc: Tc,
    stimulus_stack: StimulusStack,
) -> None:
    """with {a PF in the media path that rejects unexpected services} ensure that
    { when {a group INVITE asserts a service other than the CPM session ICSIs}
      then {the PF answers 403 Forbidden and does not continue: no INVITE leaves towards
            the CF (watched for the observation window after the 403)} }"""
    cf = await tc.cf()
    answer = await originating_invite(
        stimulus_stack,
        tc,
        GroupInvite(
            extra_headers=(("P-Asserted-Service", "urn:urn-7:3gpp-service.ims.icsi.mmtel"),),
            p_preferred_service=None,
        ),
    )
    expect_rejection(tc.recorder, answer, "PF-8.2.1-4.a.iii", 403)
    if answer.status != 403:
        return
    try:  # "... and SHALL not continue with the next steps"
        leaked: CfIncomingInvite | None = await cf.expect_invite(within=tc.guards.observe)
    except SUT_SILENCE:
        leaked = None
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.a.iii",
        leaked is None,
        expected="no INVITE towards the CF after the 403 (observed for the observation "
        f"window, {tc.guards.observe:.2f} s)",
        actual=f"an INVITE to {leaked.request.uri}" if leaked else "none",
        evidence=[sip_evidence(answer, "the PF's 403")]
        + ([sip_evidence(leaked.request, "the INVITE the CF received")] if leaked else []),
    )
    if leaked is not None:
        leaked.reject(480)


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-4.a.ii")
async def test_8_2_1_4_a_ii_cpm_asserted_service_proceeds(tc: Tc) -> None:
    """with {a PF in the media path} ensure that
    { when {a group INVITE arrives with P-Asserted-Service cpm.session.group (and no
            P-Preferred-Service)}
      then {the PF continues with step 4.b: its INVITE reaches the CF} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    session = await send_group_invite(
        client,
        tc.pixit,
        GroupInvite(extra_headers=(("P-Asserted-Service", ICSI_GROUP),), p_preferred_service=None),
    )
    incoming = await expect_arrival(
        tc.recorder,
        "PF-8.2.1-4.a.ii",
        cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id),
        expected="the PF goes on with step 4.b: its INVITE reaches the CF",
        evidence=[sip_evidence(session.sent, "the client's INVITE")],
    )
    if incoming is not None:
        incoming.reject(480)
    await session.handle.final(within=tc.guards.sip)


# --------------------------------------------------------------------------- the B2BUA INVITE


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.1-4.b",
    "PF-8.2.1-4.c.iii",
    "PF-8.2.1-4.d",
    "PF-8.2.1-4.e",
    "PF-8.2.1-4.g",
    "PF-8.2.1-4.h",
    "PF-8.2.1-4.i",
    "PF-8.2.1-4.j",
    "PF-8.2.1-4.k",
    "PF-8.2.1-4.l",
    "PF-8.2.1-4.m",
    "PF-8.2.1-4.n",
)
async def test_8_2_1_4_generated_invite(tc: Tc) -> None:
    """with {a PF in the media path and a registered client} ensure that
    { when {the client sends a group INVITE with P-Preferred-Service cpm.session.group}
      then {the PF generates its own INVITE towards the CF carrying every item of
            8.2.1 step 4 b–n} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    session = await send_group_invite(
        client,
        tc.pixit,
        GroupInvite(subject="conformance", in_reply_to="c0ffee00c0ffee00c0ffee00c0ffee00"),
    )
    sent = session.sent
    # 4.n: the PF's INVITE goes by the SIP/IP core (the tool): it arrives within the guard
    incoming = await expect_arrival(
        tc.recorder,
        "PF-8.2.1-4.n",
        cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id),
        expected="the PF's generated INVITE reaches the CF through the SIP/IP core",
        evidence=[sip_evidence(sent, "the client's INVITE")],
    )
    if incoming is None:
        return
    got = incoming.request
    ev = [sip_evidence(sent, "the client's INVITE"), sip_evidence(got, "the PF's INVITE")]
    pf = pf_address(tc.pixit)

    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.b",
        expected=("INVITE", []),
        actual=(got.method, [h for h in RFC3261_REQUIRED if not got.headers.has(h)]),
        message="an INVITE with every header field RFC 3261 8.1.1 requires (none missing)",
        evidence=ev,
    )
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.e",
        got.call_id != sent.call_id,
        expected="a new Call-ID (B2BUA)",
        actual=got.call_id,
        evidence=ev,
    )
    sent_tag, got_tag = _from_tag(sent), _from_tag(got)
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.e",
        got_tag is not None and got_tag != sent_tag,
        expected=f"a From tag of the PF's own (not the client's {sent_tag})",
        actual=got_tag,
        evidence=ev,
    )
    client_branches = {v.branch for v in get_vias(sent)}
    kept = [v.branch for v in get_vias(got) if v.branch in client_branches]
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.e",
        expected=[],
        actual=kept,
        message="the PF's INVITE has Via entries of its own: none of the client's",
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.c.iii",
        expected=([ICSI_GROUP], None),
        actual=(list(get_asserted_services(got)), got.headers.get("P-Preferred-Service")),
        evidence=ev,
    )
    copied = {
        "Request-URI": got.uri,
        **{
            h: got.headers.get(h)
            for h in ("Conversation-ID", "Contribution-ID", "InReplyTo-Contribution-ID", "Subject")
        },
    }
    wanted = {
        "Request-URI": sent.uri,
        **{
            h: sent.headers.get(h)
            for h in ("Conversation-ID", "Contribution-ID", "InReplyTo-Contribution-ID", "Subject")
        },
    }
    expect_equal(tc.recorder, "PF-8.2.1-4.d", expected=wanted, actual=copied, evidence=ev)
    sent_list = find_recipient_list(
        parse_multipart(sent.body, sent.headers.get("Content-Type") or "")
    )
    got_ct = got.headers.get("Content-Type") or ""
    got_list = (
        find_recipient_list(parse_multipart(got.body, got_ct))
        if got_ct.lower().startswith("multipart/")
        else None
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.d",
        expected=sent_list.body if sent_list else None,
        actual=got_list.body if got_list else None,
        message="the recipient-list body is copied",
        evidence=ev,
    )
    user_agent = got.headers.get("User-Agent")
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.g",
        _is_cpm2_server(user_agent),
        expected="User-Agent: CPM-serv/OMA2.x <product tokens>",
        actual=user_agent,
        evidence=ev,
    )
    sent_contact = get_contacts(sent)[0]
    got_contacts = get_contacts(got)
    got_contact = got_contacts[0] if got_contacts else None
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.h",
        expected=(sent.headers.get("Accept-Contact"), sent_contact.icsi_refs),
        actual=(got.headers.get("Accept-Contact"), got_contact.icsi_refs if got_contact else None),
        message="Accept-Contact and the Contact feature tags are copied",
        evidence=ev,
    )
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.i",
        got_contact is not None and got_contact.uri != sent_contact.uri,
        expected="a Contact URI of the PF's own, not the client's",
        actual=got_contact.uri if got_contact else None,
        evidence=ev,
    )
    tags = set(get_option_tags(got, "Supported"))
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.j",
        {"timer", "recipient-list-invite"} <= tags,
        expected="Supported: timer, recipient-list-invite",
        actual=sorted(tags),
        evidence=ev,
    )
    se_value = got.headers.get("Session-Expires")
    se = parse_session_expires(se_value) if se_value else None
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.k",
        expected="uac",
        actual=se.refresher if se else None,
        evidence=ev,
    )
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.l",
        se is not None and se.delta <= 1800,
        expected="Session-Expires delta-seconds <= 1800",
        actual=se.delta if se else None,
        evidence=ev,
    )
    offer = msrp_media(got)
    own = msrp_media(sent)
    if own is None:
        raise LocalProtocolError("the client's own INVITE has no MSRP offer")
    client_path = own.path
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.m",
        offer is not None and bool(offer.path) and offer.path != client_path,
        expected="an MSRP offer with the PF's own path (not the client's)",
        actual=offer.path if offer else None,
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.m",
        expected=_msrp_parameters(own),
        actual=_msrp_parameters(offer) if offer else None,
        message="the offer keeps the client's MSRP m-line, accept-types and accept-wrapped-types",
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.n",
        expected=pf.host,
        actual=incoming.incoming.source.host,
        message="the INVITE reaches the SIP/IP core (the tool) from the PF",
        evidence=ev,
    )
    incoming.reject(480)


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-4.j")
async def test_8_2_1_4_j_recipient_list_invite_only_when_received(tc: Tc) -> None:
    """with {a PF in the media path} ensure that
    { when {the client's INVITE names recipient-list-invite in neither Supported nor Require}
      then {the PF's INVITE has Supported with timer and without recipient-list-invite} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    session = await send_group_invite(client, tc.pixit, GroupInvite(omit=("Require",)))
    sent = session.sent
    original = set(get_option_tags(sent, "Supported")) | set(get_option_tags(sent, "Require"))
    if "recipient-list-invite" in original:
        raise LocalProtocolError("the client's INVITE still names recipient-list-invite")
    incoming = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    got = incoming.request
    tags = set(get_option_tags(got, "Supported"))
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.j",
        expected=(True, False),
        actual=("timer" in tags, "recipient-list-invite" in tags),
        message="(timer, recipient-list-invite) in the Supported of the PF's INVITE",
        evidence=[sip_evidence(sent, "the client's INVITE"), sip_evidence(got, "the PF's INVITE")],
    )
    incoming.reject(480)


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-4.c.ii")
async def test_8_2_1_4_c_ii_session_service_is_asserted(tc: Tc) -> None:
    """with {a PF in the media path} ensure that
    { when {the client's INVITE carries P-Preferred-Service cpm.session}
      then {the PF's INVITE carries P-Asserted-Service cpm.session and no P-Preferred-Service} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    session = await send_group_invite(
        client, tc.pixit, GroupInvite(p_preferred_service=ICSI_SESSION)
    )
    got = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.c.ii",
        expected=([ICSI_SESSION], None),
        actual=(
            list(get_asserted_services(got.request)),
            got.request.headers.get("P-Preferred-Service"),
        ),
        evidence=sip_evidence(got.request, "the PF's INVITE"),
    )
    got.reject(480)


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-4.c.iv", "PF-8.2.1-4.c.iv.1")
async def test_8_2_1_4_c_iv_other_preferred_service(tc: Tc) -> None:
    """with {a PF that derives the asserted service from Accept-Contact} ensure that
    { when {the client's INVITE carries another P-Preferred-Service value}
      then {the PF removes it and asserts the ICSI of the Accept-Contact (cpm.session)} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    session = await send_group_invite(
        client, tc.pixit, GroupInvite(p_preferred_service="urn:urn-7:3gpp-service.ims.icsi.mmtel")
    )
    got = (
        await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    ).request
    ev = sip_evidence(got, "the PF's INVITE")
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.c.iv",
        expected=None,
        actual=got.headers.get("P-Preferred-Service"),
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.1-4.c.iv.1",
        expected=[ICSI_SESSION],
        actual=list(get_asserted_services(got)),
        evidence=ev,
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-4.c.iv.2")
async def test_8_2_1_4_c_iv_2_configured_asserted_service(tc: Tc) -> None:
    """with {a PF that asserts a service from service provider configuration} ensure that
    { when {the client's INVITE carries another P-Preferred-Service value}
      then {the PF adds one P-Asserted-Service (the configured value), not the client's
            preferred value} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    other = "urn:urn-7:3gpp-service.ims.icsi.mmtel"
    session = await send_group_invite(client, tc.pixit, GroupInvite(p_preferred_service=other))
    got = (
        await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    ).request
    asserted = list(get_asserted_services(got))
    expect_true(
        tc.recorder,
        "PF-8.2.1-4.c.iv.2",
        len(asserted) == 1 and asserted[0] != other,
        expected=f"one P-Asserted-Service, the configured value (not {other})",
        actual=asserted,
        evidence=sip_evidence(got, "the PF's INVITE"),
    )


# --------------------------------------------------------------------------- the 200 OK


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.1-4.e",
    "PF-8.2.1-200OK-2",
    "PF-8.2.1-200OK-3",
    "PF-8.2.1-200OK-4",
    "PF-8.2.1-200OK-4-setup",
    "PF-8.2.1-200OK-5-isfocus",
    "PF-8.2.1-200OK-7",
    "PF-8.2.1-200OK-7-ack",
)
async def test_8_2_1_200_ok_towards_the_client(tc: Tc) -> None:
    """with {a PF in the media path} ensure that
    { when {the CF answers the PF's INVITE with 200 OK, Contact <focus>;isfocus}
      then {the client gets a 200 OK with a CPM Server header, an SDP answer with
            a=setup:passive and the PF's path, the focus Contact copied; and the
            client's ACK and BYE reach the CF in its own dialog} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    session = await send_group_invite(client, tc.pixit)
    incoming = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    cf_session = await incoming.accept()
    final = await expect_arrival(
        tc.recorder,
        "PF-8.2.1-200OK-7",
        session.handle.final(within=tc.guards.sip),
        expected="the PF's final response reaches the client through the SIP/IP core",
        evidence=[sip_evidence(incoming.response, "the CF's 200")] if incoming.response else None,
    )
    if final is None:
        return
    answer = final
    ev = [
        sip_evidence(incoming.response, "the CF's 200") if incoming.response else None,
        sip_evidence(answer, "the 200 the client received"),
    ]
    evs = [e for e in ev if e is not None]
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-2",
        expected=200,
        actual=answer.status,
        evidence=evs,
        fatal=True,
    )
    server = answer.headers.get("Server")
    expect_true(
        tc.recorder,
        "PF-8.2.1-200OK-3",
        _is_cpm2_server(server),
        expected="Server: CPM-serv/OMA2.x <product tokens>",
        actual=server,
        evidence=evs,
    )
    msrp = msrp_media(answer)
    cf_path = cf_session.msrp.uri
    expect_true(
        tc.recorder,
        "PF-8.2.1-200OK-4",
        msrp is not None and bool(msrp.path) and cf_path not in (msrp.path or []),
        expected="an MSRP answer with the PF's own path",
        actual=msrp.path if msrp else None,
        evidence=evs,
    )
    cf_answer = msrp_media(incoming.response) if incoming.response else None
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-4",
        expected=_msrp_parameters(cf_answer) if cf_answer else None,
        actual=_msrp_parameters(msrp) if msrp else None,
        message="the answer keeps the CF's MSRP m-line, accept-types and accept-wrapped-types",
        evidence=evs,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-4-setup",
        expected="passive",
        actual=msrp.setup if msrp else None,
        evidence=evs,
    )
    contacts = get_contacts(answer)
    contact = contacts[0] if contacts else None
    expect_equal(
        tc.recorder,
        "PF-8.2.1-200OK-5-isfocus",
        expected=(cf_session.focus_uri, True),
        actual=(contact.uri, contact.isfocus) if contact else None,
        evidence=evs,
    )
    await session.handle.ack()
    # "wait for the SIP ACK ... and SHALL propagate it": the PF's ACK must follow the
    # client's. A PF that drops the client's ACK still ends the terminating INVITE
    # transaction on its own once Timer B runs out (a fallback ACK, or a BYE); so the
    # ACK counts as propagated only when it reaches the CF within half of Timer B after
    # the client's ACK, well before any such fallback could fire. Only an ACK of the CF's
    # own dialog counts: the client's ACK reaching the CF by the focus URI is not the PF's.
    ack = await expect_arrival(
        tc.recorder,
        "PF-8.2.1-200OK-7-ack",
        cf.expect_request(
            "ACK",
            within=tc.pixit.timers.sip.b / 2,
            match=lambda r: r.request.call_id == incoming.request.call_id,
        ),
        expected="the client's ACK propagated to the CF within Timer B/2",
        evidence=evs,
    )
    if ack is not None:
        expect_equal(
            tc.recorder,
            "PF-8.2.1-200OK-7-ack",
            expected="ACK",
            actual=ack.request.method,
            evidence=[*evs, sip_evidence(ack.request, "the ACK the CF received")],
        )
    # 4.e: a B2BUA relays in-dialog requests: the client's BYE goes on in the CF's dialog
    await session.handle.bye()
    relayed = await expect_arrival(
        tc.recorder,
        "PF-8.2.1-4.e",
        cf.expect_request(
            "BYE",
            within=tc.guards.sip,
            match=lambda r: r.request.call_id == incoming.request.call_id,
        ),
        expected="the client's BYE relayed by the PF in the CF's dialog",
        evidence=evs,
    )
    if relayed is not None:
        relayed.respond(200)


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-200OK-5-own")
async def test_8_2_1_200_ok_5_own_contact_without_focus(tc: Tc) -> None:
    """with {a PF in the media path} ensure that
    { when {the terminating 200 OK has a Contact without isfocus}
      then {the 200 OK to the client carries a Contact of the PF, not the terminating one} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    session = await send_group_invite(client, tc.pixit)
    incoming = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    plain = f"<sip:plain-peer@{tc.pixit.tool_host}>"
    await incoming.accept(contact=plain)
    answer = await session.handle.final(within=tc.guards.sip)
    contacts = get_contacts(answer)
    contact = contacts[0] if contacts else None
    expect_true(
        tc.recorder,
        "PF-8.2.1-200OK-5-own",
        contact is not None and "plain-peer" not in contact.uri and not contact.isfocus,
        expected="a Contact URI of the PF (it resolves back to the received one)",
        actual=contact.uri if contact else None,
        evidence=sip_evidence(answer, "the 200 the client received"),
    )
    if answer.status == 200:
        await session.handle.ack()
        await session.handle.bye()
