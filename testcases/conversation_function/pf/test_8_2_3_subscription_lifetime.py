"""CPM Conversation Function 8.2.3: the PF's own subscription to the focus over its
lifetime — the response to the SUBSCRIBE (RFC 6665) and the end of the subscription.

The tool plays the originating CPM Client (through its S-CSCF) and the CF. Expected values
are written here from the seed text and RFC 6665.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.testcases.procedures import sip_evidence
from conformance.testcases.procedures.participants import subscribed

#: the subscription duration the CF emulator grants (seconds): short, so that a refresh
#: is due within the test case
GRANTED = 2


def _in_dialog(call_id: str | None) -> Callable[[IncomingRequest], bool]:
    def match(r: IncomingRequest) -> bool:
        return r.request.call_id == call_id and ";tag=" in (r.request.headers.get("To") or "")

    return match


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.3-RESP")
async def test_8_2_3_pf_does_not_resubscribe_after_an_error(tc: Tc) -> None:
    """with {a PF subscribing to the focus after the 200 OK of a group session} ensure that
    { when {the CF answers the PF's SUBSCRIBE with 404 Not Found}
      then {the PF does not send the same SUBSCRIBE again at once (RFC 6665 4.1.2.1:
            no subscription exists; no retry loop)} }"""
    cf = await tc.cf()
    fs, sub = await subscribed(tc)
    rejection = sub.reject(404)
    try:  # "at once": the PF's reaction to the 404, watched for the observation window
        again = await cf.expect_subscribe(within=tc.guards.observe)
        seen: str | None = again.request.first_line()
        again.reject(404)
    except WaitTimeout:
        seen = None
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RESP",
        expected=None,
        actual=seen,
        message="no new SUBSCRIBE to the focus after the 404 (observed for the observation "
        f"window, {tc.guards.observe:.2f} s)",
        evidence=[
            sip_evidence(sub.request, "the PF's SUBSCRIBE"),
            sip_evidence(rejection, "the CF's 404"),
        ],
    )
    await fs.session.handle.bye()


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.3-RESP")
async def test_8_2_3_pf_refreshes_before_expiry(tc: Tc) -> None:
    """with {a PF subscribing to the focus after the 200 OK of a group session} ensure that
    { when {the CF accepts the PF's SUBSCRIBE with a short Expires}
      then {the PF refreshes the subscription in its dialog before it expires
            (RFC 6665 4.1.2.2)} }"""
    cf = await tc.cf()
    fs, sub = await subscribed(tc)
    accepted = sub.accept(GRANTED)
    try:
        refresh = await cf.expect_request(
            "SUBSCRIBE", within=GRANTED, match=_in_dialog(sub.request.call_id)
        )
        refresh.respond(200, headers=[("Expires", str(GRANTED))])
        expires: str | None = refresh.request.headers.get("Expires")
        ev = [sip_evidence(accepted, "the CF's 200"), sip_evidence(refresh.request, "the refresh")]
    except WaitTimeout:
        expires = None
        ev = [sip_evidence(accepted, "the CF's 200")]
    expect_true(
        tc.recorder,
        "PF-8.2.3-RESP",
        expires is not None and expires.strip().isdigit() and int(expires) > 0,
        expected="an in-dialog SUBSCRIBE with Expires > 0 before the subscription expires "
        f"(the granted Expires: {GRANTED} s)",
        actual=expires,
        evidence=ev,
    )
    await fs.session.handle.bye()


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.3-TERM")
async def test_8_2_3_pf_ends_its_subscription(tc: Tc) -> None:
    """with {a PF subscribed to the focus for a user in a group session} ensure that
    { when {the user's client leaves the session (BYE)}
      then {the PF terminates its subscription: an in-dialog SUBSCRIBE with Expires: 0
            (RFC 6665 4.1.2.3)} }"""
    cf = await tc.cf()
    fs, sub = await subscribed(tc)
    accepted = sub.accept()
    # the PF has the 200 once the CF's first NOTIFY is answered (RFC 6665 4.1.2.4)
    await (await sub.notify(b"")).final(tc.guards.sip)
    await (await fs.session.handle.bye()).final(tc.guards.sip)
    try:
        ending = await cf.expect_request(
            "SUBSCRIBE", within=tc.guards.sip, match=_in_dialog(sub.request.call_id)
        )
        ending.respond(200, headers=[("Expires", "0")])
        expires: str | None = ending.request.headers.get("Expires")
        ev = [sip_evidence(accepted, "the CF's 200"), sip_evidence(ending.request, "the SUBSCRIBE")]
    except WaitTimeout:
        expires = None
        ev = [sip_evidence(accepted, "the CF's 200")]
    expect_equal(
        tc.recorder,
        "PF-8.2.3-TERM",
        expected="0",
        actual=expires.strip() if expires is not None else None,
        message="an in-dialog SUBSCRIBE with Expires: 0 after the user left",
        evidence=ev,
    )
