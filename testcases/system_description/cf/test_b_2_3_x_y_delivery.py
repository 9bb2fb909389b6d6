"""Seed 002 B.2.3.x.y "PF initiates delivery of CPM Group Session, while the session is
still on-going": the Controlling Function's steps of the flow.

The tool plays PF B (answering for CPM Client B, here the profile's second user) and the
other participants' PFs, sending straight to the CF under test. Expected values are written
here from the flow text and figure of seed 002 and RFC 4575/6665.
"""

from __future__ import annotations

import asyncio

import pytest

from conformance.checks import expect_equal, expect_true, inconclusive
from conformance.fixtures.case import Tc
from conformance.protocol.msrp.session import MessageReceived
from conformance.roles.msrp_peer import MsrpPeer
from conformance.testcases.procedures import expect_arrival, sip_evidence
from conformance.testcases.procedures.hosted_session import (
    Notification,
    create_hosted_session,
    endpoint_of,
    join,
    next_notify,
    notification_evidence,
    subscribe,
    three_users,
)

CONFERENCE_INFO = "application/conference-info+xml"


def _doc_state(notification: Notification | None) -> str | None:
    if notification is None or notification.info is None:
        return None
    return str(notification.info.state)


def _content(notification: Notification) -> tuple[str, str]:
    request = notification.request
    return (
        (request.headers.get("Event") or "").split(";")[0].strip().lower(),
        (request.headers.get("Content-Type") or "").split(";")[0].strip().lower(),
    )


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y-8-cf")
async def test_b_2_3_x_y_8_cf_full_notify_to_pf_subscription(tc: Tc) -> None:
    """with {an on-going group session hosted by the CF: alice (creator) and bob, whose
    PF B the tool plays} ensure that
    { when {PF B subscribes to the focus (step 7, Event: conference)}
      then {the CF answers 200 and its first NOTIFY carries the full conference state
            (step 8 "NOTIFY (full)"): state="full", both participants listed} }"""
    alice, bob, _ = three_users(tc.pixit)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob,))
    pf_b = (await join(tc, session, bob)).client
    _, ok = await subscribe(pf_b, session.focus, session.cf, tc.guards)
    ev_ok = sip_evidence(ok, "the CF's response to PF B's SUBSCRIBE")
    expect_equal(
        tc.recorder, "SD-B.2.3.x.y-8-cf", expected=200, actual=ok.status, evidence=ev_ok, fatal=True
    )
    first = await next_notify(pf_b, tc.guards)
    expect_true(
        tc.recorder,
        "SD-B.2.3.x.y-8-cf",
        first is not None,
        expected="a NOTIFY in PF B's subscription dialog",
        actual=(
            f"none within the SIP guard ({tc.guards.sip:g} s)"
            if first is None
            else first.request.first_line()
        ),
        evidence=[ev_ok],
        fatal=True,
    )
    assert first is not None
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-8-cf",
        expected={
            "Event, Content-Type": ("conference", CONFERENCE_INFO),
            "state": "full",
            alice: ("connected", None),
            bob: ("connected", None),
        },
        actual={
            "Event, Content-Type": _content(first),
            "state": _doc_state(first),
            alice: endpoint_of(first.info, alice),
            bob: endpoint_of(first.info, bob),
        },
        message="NOTIFY (full): the full conference-info with every participant",
        evidence=[ev_ok, *notification_evidence(first, "the first NOTIFY")],
    )


async def _message_with(peer: MsrpPeer, text: bytes, within: float) -> MessageReceived:
    """The first message on ``peer``'s connection whose body holds ``text``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    index = 0
    while True:
        got = await peer.expect_message(within=max(deadline - loop.time(), 0.0), since=index)
        if text in got.body:
            return got
        index += 1


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y-FIG-CF-KEEP")
async def test_b_2_3_x_y_fig_cf_keeps_client_b(tc: Tc) -> None:
    """with {an on-going group session hosted by the CF: alice and bob, whose PF B only
    receives (client B is offline: it sends nothing of its own)} ensure that
    { when {alice sends two chat messages}
      then {the CF relays both to PF B's leg, and alice's conference subscription still
            lists bob connected ("CPM Controlling Function keeps CPM Client B in the
            recipients list")} }"""
    alice, bob, _ = three_users(tc.pixit)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob,))
    pf_b = await join(tc, session, bob)
    sender = session.legs[alice]
    received: list[bytes] = []
    for text in (b"first while B is offline", b"second while B is offline"):
        sender.msrp.send_cpim(from_=f"<{alice}>", to=f"<{bob}>", body=text)
        got = await expect_arrival(
            tc.recorder,
            "SD-B.2.3.x.y-FIG-CF-KEEP",
            _message_with(pf_b.msrp, text, tc.guards.msrp),
            expected=f"the CF relays {text.decode()!r} to PF B's leg",
        )
        if got is None:
            break
        received.append(text)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-FIG-CF-KEEP",
        expected=[b"first while B is offline", b"second while B is offline"],
        actual=received,
        message="every message reaches PF B's leg",
    )
    _, ok = await subscribe(sender.client, session.focus, session.cf, tc.guards)
    state = await next_notify(sender.client, tc.guards) if ok.status == 200 else None
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-FIG-CF-KEEP",
        expected=("connected", None),
        actual=endpoint_of(state.info if state else None, bob),
        message="bob is still listed connected in the conference state",
        evidence=[
            sip_evidence(ok, "the CF's response to alice's SUBSCRIBE"),
            *notification_evidence(state, "the NOTIFY alice received"),
        ],
    )


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y-14-15-cf", "SD-B.2.3.x.y-16-17")
async def test_b_2_3_x_y_14_17_refresh_gets_latest_state(tc: Tc) -> None:
    """with {an on-going group session hosted by the CF: alice, bob (PF B subscribed to the
    focus) and carol, who joined after PF B's subscription} ensure that
    { when {client B, back online, subscribes again in the existing dialog (steps 14-15)}
      then {the CF refreshes the subscription (2xx) and sends a NOTIFY with the latest
            conference state, carol listed connected (steps 16-17)} }"""
    alice, bob, carol = three_users(tc.pixit)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob, carol))
    pf_b = (await join(tc, session, bob)).client
    handle, ok = await subscribe(pf_b, session.focus, session.cf, tc.guards)
    if ok.status != 200 or handle.dialog is None:
        inconclusive(f"PF B's subscription was not accepted ({ok.status})")
    await next_notify(pf_b, tc.guards)  # step 8, judged by SD-B.2.3.x.y-8-cf
    await join(tc, session, carol)
    await next_notify(pf_b, tc.guards)  # the change, judged by CF-5.2.3.5-NOTIFY-CHANGES
    refresh = await pf_b.send_in_dialog(
        handle.dialog,
        "SUBSCRIBE",
        to=handle.destination,
        headers=[("Event", "conference"), ("Expires", "600")],
    )
    answer = await refresh.final(tc.guards.sip)
    ev = [sip_evidence(answer, "the CF's response to the refresh")]
    latest = await next_notify(pf_b, tc.guards) if 200 <= answer.status < 300 else None
    ev_latest = [*ev, *notification_evidence(latest, "the NOTIFY after the refresh")]
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-14-15-cf",
        expected=(True, True),
        actual=(200 <= answer.status < 300, latest is not None),
        message="(the refresh is accepted with a 2xx, a NOTIFY with the current state follows)",
        evidence=ev_latest,
    )
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-16-17",
        expected={
            "Event, Content-Type": ("conference", CONFERENCE_INFO),
            alice: ("connected", None),
            bob: ("connected", None),
            carol: ("connected", None),
        },
        actual={
            "Event, Content-Type": _content(latest) if latest else None,
            **{u: endpoint_of(latest.info if latest else None, u) for u in (alice, bob, carol)},
        },
        message="the latest conference state: carol, who joined since, is listed",
        evidence=ev_latest,
    )
