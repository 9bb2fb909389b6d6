"""CPM System Description 5.2.3.5 (seed 000): the CF handles Participant Information
subscriptions.

The tool plays the participants' PFs/clients and sends to the CF under test from its SIP/IP
core (no PF of the SUT in the path); the reverse-path case has the core Record-Route the
SUBSCRIBE, as a PF/core on the subscriber's path would, and gives the subscriber a Contact
at an address of its own. Expected values are written here from the seed text and RFC
4575/6665.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import expect_equal, expect_true, inconclusive
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.message import Header, Headers, SipRequest, with_headers
from conformance.testcases.procedures import expect_arrival, sip_evidence
from conformance.testcases.procedures.hosted_session import (
    asserted,
    cf_address,
    create_hosted_session,
    endpoint_of,
    join,
    leave,
    lose_connection,
    next_notify,
    notification_evidence,
    subscribe,
    three_users,
    unknown_focus,
)

CONFERENCE_INFO = "application/conference-info+xml"


@pytest.mark.users(3)
@pytest.mark.requirement("CF-5.2.3.5-200", "CF-5.2.3.5-NOTIFY-INITIAL", "CF-5.2.3.5-NOTIFY-CHANGES")
async def test_5_2_3_5_subscription_follows_participant_changes(tc: Tc) -> None:
    """with {a group session hosted by the CF: alice (creator) and bob connected} ensure that
    { when {alice subscribes to the focus (Event: conference, Expires: 600), then carol joins,
            bob leaves with BYE and carol's MSRP connection fails}
      then {the CF answers 200 with Expires <= 600, sends an initial NOTIFY listing alice
            and bob, and a NOTIFY on each change: carol connected, bob
            disconnected/departed, carol disconnected/failed and still listed} }"""
    alice, bob, carol = three_users(tc.pixit)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob, carol))
    await join(tc, session, bob)
    subscriber = session.legs[alice].client
    handle, ok = await subscribe(subscriber, session.focus, session.cf, tc.guards, expires=600)
    ev_ok = sip_evidence(ok, "the CF's response to the SUBSCRIBE")
    expires = ok.headers.get("Expires")
    # CF-5.2.3.5-200: "respond with the Participant Information subscription successful
    # response" (RFC 6665: 200, Expires not longer than requested)
    expect_equal(
        tc.recorder, "CF-5.2.3.5-200", expected=200, actual=ok.status, evidence=ev_ok, fatal=True
    )
    expect_true(
        tc.recorder,
        "CF-5.2.3.5-200",
        expires is not None and expires.strip().isdigit() and int(expires) <= 600,
        expected="Expires <= 600 (the requested duration)",
        actual=expires,
        evidence=ev_ok,
    )

    # CF-5.2.3.5-NOTIFY-INITIAL: "send the initial Participant Information notification"
    first = await next_notify(subscriber, tc.guards)
    expect_true(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-INITIAL",
        first is not None,
        expected="a NOTIFY in the subscription dialog",
        actual=(
            f"none within the SIP guard ({tc.guards.sip:g} s)"
            if first is None
            else first.request.first_line()
        ),
        evidence=[ev_ok, *notification_evidence(first, "the initial NOTIFY")],
        fatal=True,
    )
    assert first is not None
    ev_first = notification_evidence(first, "the initial NOTIFY")
    expect_equal(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-INITIAL",
        expected=("conference", CONFERENCE_INFO),
        actual=(
            (first.request.headers.get("Event") or "").split(";")[0].strip().lower(),
            (first.request.headers.get("Content-Type") or "").split(";")[0].strip().lower(),
        ),
        message="Event: conference with a conference-info body",
        evidence=ev_first,
    )
    expect_equal(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-INITIAL",
        expected={alice: ("connected", None), bob: ("connected", None)},
        actual={u: endpoint_of(first.info, u) for u in (alice, bob)},
        message="the participants alice and bob are listed connected",
        evidence=ev_first,
    )

    # CF-5.2.3.5-NOTIFY-CHANGES: "continue sending ... whenever the Participant
    # Information changes"
    await join(tc, session, carol)
    joined = await next_notify(subscriber, tc.guards)
    expect_equal(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-CHANGES",
        expected=("connected", None),
        actual=endpoint_of(joined.info if joined else None, carol),
        message="carol's join is notified",
        evidence=notification_evidence(joined, "the NOTIFY after carol joined"),
    )
    await leave(session, bob, tc.guards)
    left = await next_notify(subscriber, tc.guards)
    expect_equal(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-CHANGES",
        expected=("disconnected", "departed"),
        actual=endpoint_of(left.info if left else None, bob),
        message="bob's BYE is notified as disconnected/departed",
        evidence=notification_evidence(left, "the NOTIFY after bob's BYE"),
    )
    await lose_connection(session, carol)
    failed = await next_notify(subscriber, tc.guards)
    expect_equal(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-CHANGES",
        expected=("disconnected", "failed"),
        actual=endpoint_of(failed.info if failed else None, carol),
        message="carol's connection failure is notified; carol stays listed, failed",
        evidence=notification_evidence(failed, "the NOTIFY after carol's connection failed"),
    )
    await handle.unsubscribe()


@pytest.mark.users(3)
@pytest.mark.requirement("CF-5.2.3.5-NOTIFY-INITIAL")
async def test_5_2_3_5_initial_notify_takes_the_reverse_path(tc: Tc) -> None:
    """with {a group session hosted by the CF: alice (creator) and bob connected} ensure that
    { when {alice's SUBSCRIBE to the focus reaches the CF through the SIP/IP core (the
            tool's core Record-Routes it, as the PF/core on the subscriber's path would),
            with a Contact at an address of alice's own, not the core's}
      then {the CF's initial NOTIFY comes back along that path: it arrives at the core,
            not straight at alice's Contact} }"""
    alice, bob, carol = three_users(tc.pixit)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob, carol))
    await join(tc, session, bob)
    subscriber = session.legs[alice].client
    own = await subscriber.own_address()
    core = subscriber.core.address
    base = subscriber.build_subscribe(
        session.focus,
        extra_headers=(
            *asserted(alice),
            # the path the SUBSCRIBE took (RFC 3261 16.6 step 4): the core stays on it
            ("Record-Route", f"<sip:{core.host}:{core.port};lr>"),
        ),
    )
    contact = Header("Contact", f"<sip:alice-own@{own.host}:{own.port}>")
    request = with_headers(
        base,
        Headers(contact if h.name.lower() in ("contact", "m") else h for h in base.headers),
    )
    assert isinstance(request, SipRequest)
    handle = await subscriber.subscribe(session.focus, to=session.cf, request=request)
    ok = await handle.final(within=tc.guards.sip)
    if ok.status != 200:
        inconclusive(f"the CF did not accept the subscription ({ok.status})")
    first = await expect_arrival(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-INITIAL",
        subscriber.expect_request("NOTIFY", within=tc.guards.sip),
        expected="the initial NOTIFY in the subscription dialog",
    )
    if first is None:
        return
    first.send(subscriber.response(first, 200))
    arrived = subscriber.arrived_at(first)
    expect_equal(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-INITIAL",
        expected=f"{core.host}:{core.port}",
        actual=f"{arrived.host}:{arrived.port}",
        message="the initial NOTIFY arrives at the SIP/IP core the SUBSCRIBE came through "
        "(its reverse path), not at the address of the subscriber's Contact",
        evidence=[
            sip_evidence(request, "alice's SUBSCRIBE (Record-Route: the core)"),
            sip_evidence(first.request, "the CF's initial NOTIFY"),
        ],
    )


@pytest.mark.users(3)
@pytest.mark.requirement("CF-5.2.3.5-NOTIFY-CHANGES")
async def test_5_2_3_5_subscription_ends_with_the_session(tc: Tc) -> None:
    """with {a group session hosted by the CF, bob subscribed to its focus} ensure that
    { when {every participant leaves with BYE, so that the session ends}
      then {the subscription ends with a NOTIFY carrying Subscription-State
            terminated;reason=noresource (RFC 6665 4.1.3: the subscription became
            invalid)} }"""
    alice, bob, carol = three_users(tc.pixit)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob, carol))
    await join(tc, session, bob)
    subscriber = session.legs[bob].client
    _, ok = await subscribe(subscriber, session.focus, session.cf, tc.guards)
    if ok.status != 200:
        inconclusive(f"the CF answered the SUBSCRIBE with {ok.status}")
    await next_notify(subscriber, tc.guards)  # the initial NOTIFY (judged elsewhere)
    await leave(session, alice, tc.guards)
    await next_notify(subscriber, tc.guards)  # alice departed (judged elsewhere)
    await leave(session, bob, tc.guards)
    last = await next_notify(subscriber, tc.guards)
    expect_equal(
        tc.recorder,
        "CF-5.2.3.5-NOTIFY-CHANGES",
        expected=("terminated", "noresource"),
        actual=(last.state.state, last.state.reason) if last and last.state else None,
        message="the notifications continue until the subscription becomes invalid",
        evidence=notification_evidence(last, "the last NOTIFY"),
    )


@pytest.mark.requirement("CF-5.2.3.5-HOSTS")
async def test_5_2_3_5_subscription_to_a_session_not_hosted(tc: Tc) -> None:
    """with {a CF that hosts no group session with a given identity} ensure that
    { when {a client subscribes to that identity at the CF}
      then {the CF answers with a 4xx error (404 Not Found expected) and sends no NOTIFY} }"""
    cf = cf_address(tc.pixit)
    alice = tc.pixit.users[0].uri
    client = await tc.client(alice, 0, register=False)
    _, answer = await subscribe(client, unknown_focus(cf), cf, tc.guards)
    # CF-5.2.3.5-HOSTS: "SHALL check that it hosts the targeted CPM Group Session"
    expect_true(
        tc.recorder,
        "CF-5.2.3.5-HOSTS",
        400 <= answer.status <= 499,
        expected="a 4xx error (404 Not Found expected)",
        actual=answer.status,
        evidence=sip_evidence(answer, "the CF's response"),
    )
    window = tc.guards.observe  # a NOTIFY would follow the answer at once
    notify: IncomingRequest | None = None
    with contextlib.suppress(WaitTimeout):
        notify = await client.expect_request("NOTIFY", within=window)
    if notify is not None:
        notify.respond(481)
    expect_true(
        tc.recorder,
        "CF-5.2.3.5-HOSTS",
        notify is None,
        expected=f"no NOTIFY (observed for the observation window, {window:.2f} s)",
        actual=notify.request.first_line() if notify is not None else "none",
        evidence=[sip_evidence(answer, "the CF's response")]
        + ([sip_evidence(notify.request, "the CF's NOTIFY")] if notify is not None else []),
    )


@pytest.mark.users(3)
@pytest.mark.requirement("CF-5.2.3.5-REJECT")
async def test_5_2_3_5_unauthorised_subscription_is_rejected(tc: Tc) -> None:
    """with {a group session hosted by the CF and a user who is no participant (PIXIT
    uris.unauthorised_user)} ensure that
    { when {that user subscribes to the session's focus}
      then {the CF sends back an error response (4xx-6xx; 403 expected)} }"""
    if not tc.pixit.uris.unauthorised_user:
        inconclusive("the profile names no unauthorised user (uris.unauthorised_user)")
    alice, bob, _ = three_users(tc.pixit)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob,))
    outsider = await tc.client(
        tc.pixit.uris.unauthorised_user,
        "urn:uuid:00000000-0000-4000-8000-0000000000f0",
        register=False,
    )
    _, answer = await subscribe(outsider, session.focus, session.cf, tc.guards)
    expect_true(
        tc.recorder,
        "CF-5.2.3.5-REJECT",
        400 <= answer.status <= 699,
        expected="an error response (4xx-6xx; 403 Forbidden expected)",
        actual=answer.status,
        evidence=sip_evidence(answer, "the CF's response to the outsider's SUBSCRIBE"),
    )
