"""CPM Conversation Function 8.2.3 (client SUBSCRIBE, forward mode) and System Description
5.2.3.5: a PF claiming pf.client_subscribe_mode=forward forwards a client's conference
SUBSCRIBE to the CF and terminates the subscription it initiated itself.

The tool plays the originating CPM Client (through its S-CSCF) and the CF. Expected values
are written here from the seed text ("SHALL either forward this request to the CPM
Controlling Function and terminate any subscription that it may have initiated itself").
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.dialog import uri_of
from conformance.roles.cf import IncomingSubscribe
from conformance.testcases.procedures import expect_arrival, pf_address, sip_evidence
from conformance.testcases.procedures.deferred import conference_body
from conformance.testcases.procedures.participants import subscribed


def _in_dialog(call_id: str | None) -> Callable[[IncomingRequest], bool]:
    def match(r: IncomingRequest) -> bool:
        return r.request.call_id == call_id and ";tag=" in (r.request.headers.get("To") or "")

    return match


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.2.3-CLSUB-FORWARD",
    "PF-8.2.3-CLSUB-FORWARD-TERMINATE",
    "PF-5.2.3.5-FWD-SUB",
    "PF-8.2.3-RCV-5",
)
async def test_8_2_3_client_subscribe_forwarded(tc: Tc) -> None:
    """with {a PF claiming forward mode, in a group session, whose own subscription to the
    focus the CF accepted} ensure that
    { when {the user's client sends a conference SUBSCRIBE for the session to the PF}
      then {the client's SUBSCRIBE reaches the CF through the SIP/IP core with the group
            session identity (the focus) as Request-URI, and the PF terminates its own
            subscription (a SUBSCRIBE with Expires: 0 in its own dialog)}
    and { when {the CF notifies in the forwarded subscription}
      then {the client receives that Participant Information in a NOTIFY of its
            subscription} }"""
    cf = await tc.cf()
    fs, own = await subscribed(tc)
    focus = fs.cf_session.focus_uri
    user = fs.client.user
    accepted = own.accept()
    # the PF holds the 200 once the CF's first NOTIFY is answered (RFC 6665 4.1.2.4)
    await (await own.notify(b"")).final(tc.guards.sip)
    handle = await fs.client.subscribe(focus, to=pf_address(tc.pixit))
    ev = [
        sip_evidence(accepted, "the CF's 200 to the PF's own SUBSCRIBE"),
        sip_evidence(handle.request, "the client's SUBSCRIBE to the PF"),
    ]
    # a PF the PICS rule out of forward mode (the checks are n/a) is only watched for the
    # observation window: nothing is awaited from it, and what comes is still recorded
    forward = "PF-8.2.3-CLSUB-FORWARD" not in tc.recorder.not_applicable
    within = tc.guards.sip if forward else tc.guards.observe
    forwarded: IncomingSubscribe | None
    try:
        forwarded = await cf.expect_subscribe(within=within)
        ev.append(sip_evidence(forwarded.request, "the SUBSCRIBE at the CF"))
    except WaitTimeout:
        forwarded = None
    got = forwarded.request if forwarded is not None else None
    actual = None if got is None else (uri_of(got.uri), uri_of(got.headers.get("From") or ""))
    wanted = (focus, user)
    expect_equal(
        tc.recorder,
        "PF-8.2.3-CLSUB-FORWARD",
        expected=wanted,
        actual=actual,
        message="the client's SUBSCRIBE (From the user) at the CF, Request-URI the focus",
        evidence=ev,
    )
    expect_true(
        tc.recorder,
        "PF-5.2.3.5-FWD-SUB",
        actual == wanted
        and forwarded is not None
        and forwarded.incoming.source.host == pf_address(tc.pixit).host,
        expected=f"a SUBSCRIBE of {user} for {focus} from the PF to the SIP/IP core (the tool)",
        actual=None if forwarded is None else (actual, forwarded.incoming.source.host),
        evidence=ev,
    )
    try:
        ending = await cf.expect_request(
            "SUBSCRIBE", within=within, match=_in_dialog(own.request.call_id)
        )
        ending.respond(200, headers=[("Expires", "0")])
        expires: str | None = ending.request.headers.get("Expires")
        ev.append(sip_evidence(ending.request, "the SUBSCRIBE in the PF's own dialog"))
    except WaitTimeout:
        expires = None
    expect_equal(
        tc.recorder,
        "PF-8.2.3-CLSUB-FORWARD-TERMINATE",
        expected="0",
        actual=expires.strip() if expires is not None else None,
        message="a SUBSCRIBE with Expires: 0 in the PF's own subscription dialog",
        evidence=ev,
    )
    if forwarded is not None:
        forwarded.accept()
        await handle.final(tc.guards.sip)
        # RCV-5 (5.2.3.5 FORWARD-SUPPORT): the CF's notification reaches the client
        body = conference_body(focus, (user, tc.pixit.users[1].uri))
        await forwarded.notify(body)
        call_id = handle.request.call_id
        relayed = await expect_arrival(
            tc.recorder,
            "PF-8.2.3-RCV-5",
            fs.client.expect_request(
                "NOTIFY", within=tc.guards.sip, match=lambda r: r.request.call_id == call_id
            ),
            expected="the CF's NOTIFY relayed in the client's subscription",
            evidence=ev,
        )
        if relayed is not None:
            relayed.respond(200)
            expect_equal(
                tc.recorder,
                "PF-8.2.3-RCV-5",
                expected=body,
                actual=relayed.request.body,
                message="the Participant Information of the CF's NOTIFY, forwarded",
                evidence=[*ev, sip_evidence(relayed.request, "the NOTIFY the client received")],
            )
    await fs.session.handle.bye()
