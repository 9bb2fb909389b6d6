"""CPM Conversation Function 8.2.3: the PF obtains participant information.

The tool plays the originating CPM Client (through its S-CSCF) and the CF; the PF under
test subscribes to the focus, receives the CF's NOTIFYs and serves its clients'
subscriptions. Expected values are written here from the seed text.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    Endpoint,
    User,
    build_conference_info,
    parse_conference_info,
)
from conformance.errors import ProtocolError
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.dialog import uri_of
from conformance.protocol.sip.headers import (
    cpm_release,
    get_accept_contact,
    get_asserted_services,
    get_contacts,
)
from conformance.testcases.procedures import pf_address, sip_evidence, user_with_clients
from conformance.testcases.procedures.participants import (
    group_session_with_subscription,
    subscribed,
)

ICSI_SESSION = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"
ICSI_GROUP = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session.group"
ICSI_SESSION_ENCODED = "urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session"


def _full(focus: str, users: tuple[str, ...], version: int = 1) -> bytes:
    return build_conference_info(
        ConferenceInfo(
            entity=focus,
            state=DocState.FULL,
            version=version,
            users=tuple(
                User(
                    u,
                    display_text=u.split(":")[1].split("@")[0],
                    endpoints=(Endpoint(u, status="connected"),),
                )
                for u in users
            ),
        )
    )


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.1-200OK-9",
    "PF-8.2.3-SUB-1",
    "PF-8.2.3-SUB-2",
    "PF-8.2.3-SUB-3",
    "PF-8.2.3-SUB-4",
    "PF-8.2.3-SUB-5",
    "PF-8.2.3-SUB-6",
    "PF-8.2.3-SUB-7",
    "PF-8.2.3-SUB-8",
    "PF-8.2.3-SUB-9",
    "PF-8.2.3-RCV-1",
)
async def test_8_2_3_pf_subscribes_to_the_focus(tc: Tc) -> None:
    """with {a PF in the media path, conference-info over MSRP not used} ensure that
    { when {the CF accepts the group INVITE with Contact <focus>;isfocus}
      then {the PF sends a conference SUBSCRIBE to the focus with items 1-9 of 8.2.3 and
            answers the CF's NOTIFY with 200} }"""
    cf = await tc.cf()
    # the focus URI names the CF's own address, not the core's: a SUBSCRIBE that goes
    # there directly has bypassed the SIP/IP core (item 9)
    fs = await group_session_with_subscription(tc, focus=await cf.own_focus_uri())
    expect_true(
        tc.recorder,
        "PF-8.2.1-200OK-9",
        fs.subscribe is not None,
        expected="a SUBSCRIBE of the PF to the focus after the 200 OK",
        actual=None if fs.subscribe is None else "SUBSCRIBE",
        evidence=[sip_evidence(fs.answer, "the 200 the client received")],
        fatal=True,
    )
    assert fs.subscribe is not None
    sub = fs.subscribe
    got = sub.request
    user = fs.client.user
    ev = [
        sip_evidence(fs.answer, "the 200 the client received"),
        sip_evidence(got, "the PF's SUBSCRIBE"),
    ]
    expect_equal(
        tc.recorder, "PF-8.2.1-200OK-9", expected="SUBSCRIBE", actual=got.method, evidence=ev
    )
    expires = got.headers.get("Expires")
    accept = got.headers.get("Accept")
    expect_true(
        tc.recorder,
        "PF-8.2.3-SUB-1",
        (got.headers.get("Event") or "").split(";")[0].strip().lower() == "conference"
        and expires is not None
        and expires.strip().isdigit()
        and (accept is None or "application/conference-info+xml" in accept.lower()),
        expected="Event: conference, an Expires, Accept with application/conference-info+xml",
        actual=(got.headers.get("Event"), expires, accept),
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.3-SUB-2",
        expected=fs.cf_session.focus_uri,
        actual=uri_of(got.uri),
        evidence=ev,
    )
    prefs = get_accept_contact(got)
    raw_ac = got.headers.get("Accept-Contact") or ""
    expect_true(
        tc.recorder,
        "PF-8.2.3-SUB-3",
        any(ICSI_SESSION in p.icsi_refs for p in prefs) and ICSI_SESSION_ENCODED in raw_ac,
        expected=f'Accept-Contact: *;+g.3gpp.icsi-ref="{ICSI_SESSION_ENCODED}"',
        actual=raw_ac or None,
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.3-SUB-4",
        expected=[ICSI_GROUP],
        actual=list(get_asserted_services(got)),
        evidence=ev,
    )
    contacts = get_contacts(got)
    raw_contact = got.headers.get("Contact") or ""
    expect_true(
        tc.recorder,
        "PF-8.2.3-SUB-5",
        bool(contacts)
        and ICSI_SESSION in contacts[0].icsi_refs
        and ICSI_SESSION_ENCODED in raw_contact
        and user not in contacts[0].uri,
        expected="a Contact of the PF with +g.3gpp.icsi-ref (percent-encoded cpm.session)",
        actual=raw_contact or None,
        evidence=ev,
    )
    from_uri = uri_of(got.headers.get("From") or "")
    wanted_from = tc.pixit.uris.deferred_msg_mgmt
    expect_true(
        tc.recorder,
        "PF-8.2.3-SUB-6",
        from_uri == wanted_from if wanted_from else from_uri != user,
        expected=wanted_from or f"a URI of the PF (not {user})",
        actual=from_uri,
        evidence=ev,
    )
    pai = got.headers.get("P-Asserted-Identity")
    expect_equal(
        tc.recorder,
        "PF-8.2.3-SUB-7",
        expected=user,
        actual=uri_of(pai) if pai else None,
        evidence=ev,
    )
    release = cpm_release(got.headers.get("User-Agent") or "")
    expect_true(
        tc.recorder,
        "PF-8.2.3-SUB-8",
        release is not None and release[0] == "serv" and release[1].startswith("OMA2."),
        expected="User-Agent: CPM-serv/OMA2.x ...",
        actual=got.headers.get("User-Agent"),
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.3-SUB-9",
        expected=pf_address(tc.pixit).host,
        actual=sub.incoming.source.host,
        message="the SUBSCRIBE reaches the SIP/IP core (the tool) from the PF",
        evidence=ev,
    )
    core = cf.core.address
    arrived = cf.arrived_at(sub.incoming)
    expect_equal(
        tc.recorder,
        "PF-8.2.3-SUB-9",
        expected=f"{core.host}:{core.port}",
        actual=f"{arrived.host}:{arrived.port}",
        message="the SUBSCRIBE arrives at the SIP/IP core's address, not at the address "
        "the focus URI names (the CF's own)",
        evidence=ev,
    )
    sub.accept()
    handle = await sub.notify(_full(fs.cf_session.focus_uri, (user,)))
    response = await handle.final(tc.guards.sip)
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-1",
        expected=200,
        actual=response.status,
        evidence=[sip_evidence(response, "the PF's answer to the NOTIFY")],
    )
    await fs.session.handle.bye()


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.3-CLSUB-RECEIVE",
    "PF-8.2.3-CLSUB-B2BUA",
    "PF-8.2.3-CLSUB-PARALLEL",
    "PF-8.2.3-RCV-5",
)
async def test_8_2_3_clients_subscribe_through_the_pf(tc: Tc) -> None:
    """with {a B2BUA PF subscribed to the focus for a user with two clients} ensure that
    { when {both clients send a conference SUBSCRIBE to the PF and the CF then notifies
            a change}
      then {each client's SUBSCRIBE is accepted with a NOTIFY, no second subscription
            reaches the CF, and each client gets the CF's new state} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    fs, sub = await subscribed(tc, user=user)
    focus = fs.cf_session.focus_uri
    sub.accept()
    await (await sub.notify(_full(focus, (user,)))).final(tc.guards.sip)
    second = await tc.client(user, 1)
    pf = pf_address(tc.pixit)
    handles = [await c.subscribe(focus, to=pf) for c in (fs.client, second)]
    finals = [await h.final(tc.guards.sip) for h in handles]
    ev = [sip_evidence(r, "a client's SUBSCRIBE answer") for r in finals]
    notified = []
    for c in (fs.client, second):
        try:
            n = await c.expect_request("NOTIFY", within=tc.guards.sip)
            n.respond(200)
            notified.append(n.request)
        except WaitTimeout:
            pass
    expect_true(
        tc.recorder,
        "PF-8.2.3-CLSUB-RECEIVE",
        all(200 <= r.status < 300 for r in finals) and len(notified) == 2,
        expected="2xx to each client SUBSCRIBE, then a NOTIFY",
        actual=([r.status for r in finals], len(notified)),
        evidence=ev,
    )
    try:  # one would have left on the client's SUBSCRIBE: the observation window
        extra = await cf.expect_subscribe(within=tc.guards.observe)
        extra_seen: str | None = extra.request.first_line()
    except WaitTimeout:
        extra_seen = None
    expect_equal(
        tc.recorder,
        "PF-8.2.3-CLSUB-PARALLEL",
        expected=None,
        actual=extra_seen,
        message="no second subscription of the same user at the CF (observed for the "
        f"observation window, {tc.guards.observe:.2f} s)",
        evidence=ev,
    )
    carol = next((u.uri for u in tc.pixit.users if u.uri != user), user)
    await (await sub.notify(_full(focus, (user, carol), version=2))).final(tc.guards.sip)
    forwarded = []
    for c in (fs.client, second):
        try:
            n = await c.expect_request("NOTIFY", within=tc.guards.sip)
            n.respond(200)
            doc = parse_conference_info(n.request.body)
            forwarded.append(sorted(u.entity for u in doc.users))
        except (WaitTimeout, ProtocolError):  # no NOTIFY, or a body that does not parse
            forwarded.append([])
    wanted = sorted([user, carol])
    expect_equal(
        tc.recorder, "PF-8.2.3-RCV-5", expected=[wanted, wanted], actual=forwarded, evidence=ev
    )
    expect_equal(
        tc.recorder,
        "PF-8.2.3-CLSUB-B2BUA",
        expected=[wanted, wanted],
        actual=forwarded,
        message="the clients get the CF's state from the PF",
        evidence=ev,
    )
    await fs.session.handle.bye()
