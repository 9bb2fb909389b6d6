"""CPM Conversation Function 8.3.2.9 "Deferred CPM Group Session handling" (seed 004):
the three cases in which the PF stays in the media path for a gone client, its
subscription to the focus, and the two ways the deferred delivery starts (A, B).

The tool plays the CF (its group INVITE to user B), client B, and the S-CSCF (the
third-party REGISTER when client B is back). Expected values are written from the seeds.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout, now
from conformance.net.sip_pump import IncomingRequest
from conformance.roles.cf import CfEmulator, IncomingSubscribe
from conformance.testcases.procedures import expect_arrival, pf_address, sip_evidence
from conformance.testcases.procedures.deferred import (
    INVOLUNTARY,
    GroupLeg,
    accept_focus_subscription,
    cf_group_session,
    cf_sends,
    client_b_leaves,
    client_returns,
    deliveries,
    in_subscription,
    received,
    refuse_focus_subscription,
    rejoin,
)


async def _cf_bye(cf: CfEmulator, within: float) -> IncomingRequest | None:
    """A BYE the PF sent towards the CF within ``within`` (None when none came)."""
    try:
        bye = await cf.expect_request("BYE", within=within)
    except WaitTimeout:
        return None
    bye.respond(200)
    return bye


async def _stays_in_media_path(
    tc: Tc,
    requirement: str,
    leg: GroupLeg,
    *,
    subscribe_within: float,
    bye_until: float | None = None,
    bye_window: str = "",
) -> None:
    """The observable of every case: no BYE towards the CF, the CF's later SENDs get 200,
    and they reach client B when it is back (third-party REGISTER).

    The PF ends the CF leg, or stays and subscribes to the focus, as its reaction to the
    trigger: from its SUBSCRIBE on (or the end of that wait), a BYE is watched for the
    observation window, or until the loop time ``bye_until`` when that is later (a
    trigger of the PF's own timer, which ``bye_window`` names)."""
    recorder, guards = tc.recorder, tc.guards
    cf = await tc.cf()
    users = leg.participants
    with contextlib.suppress(WaitTimeout):  # checked by PF-8.3.2.9-SUBSCRIBE
        await accept_focus_subscription(tc, leg, users, within=subscribe_within)
    bye_within = guards.observe
    if bye_until is None:
        bye_window = f"the observation window, {bye_within:.2f} s"
    else:
        bye_within = max(bye_until - now(), bye_within)
    bye = await _cf_bye(cf, bye_within)
    expect_equal(
        recorder,
        requirement,
        expected=None,
        actual=bye.request.first_line() if bye is not None else None,
        evidence=sip_evidence(bye.request, "the PF's BYE to the CF") if bye else None,
        message=f"no BYE towards the CF ({bye_window}): the PF remains in the media path",
    )
    statuses = await cf_sends(leg, guards, "deferred-1")
    expect_equal(
        recorder,
        requirement,
        expected=[200],
        actual=statuses,
        message="the CF's SEND is answered 200 while client B is gone",
    )
    await client_returns(tc, leg)
    invite = await expect_arrival(
        recorder,
        requirement,
        leg.client.expect_invite(within=guards.sip, conversation_id=leg.cf.conversation_id),
        expected="an INVITE of the PF to client B for the deferred delivery",
    )
    if invite is None:
        return
    await invite.answer(sdp_setup="passive")
    [message] = await deliveries(invite, guards, "deferred-1")
    expect_equal(
        recorder,
        requirement,
        expected=True,
        actual=message is not None,
        evidence=sip_evidence(invite.request, "the PF's delivery INVITE"),
        message="the message sent while client B was gone is delivered",
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2.9-BYE", "PF-8.3.2.9-1")
async def test_8_3_2_9_1_involuntary_bye(tc: Tc) -> None:
    """with {a group session CF <-> PF <-> client B} ensure that
    { when {client B sends BYE with Reason SIP;cause=480}
      then {the PF answers 200, sends no BYE to the CF, answers the CF's SENDs and
            delivers them when client B registers again} }"""
    leg = await cf_group_session(tc)
    handle = await leg.invite.bye(INVOLUNTARY)
    answer = await expect_arrival(
        tc.recorder,
        "PF-8.3.2.9-BYE",
        handle.final(within=tc.guards.sip),
        expected="a final response to the client's BYE",
    )
    if answer is not None:
        expect_equal(
            tc.recorder,
            "PF-8.3.2.9-BYE",
            expected=200,
            actual=answer.status,
            evidence=sip_evidence(answer, "the PF's response to the BYE"),
        )
    await _stays_in_media_path(
        tc,
        "PF-8.3.2.9-1",
        leg,
        subscribe_within=tc.guards.sip,
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2.9-1")
async def test_8_3_2_9_1_voluntary_bye_leaves(tc: Tc) -> None:
    """with {a group session CF <-> PF <-> client B} ensure that
    { when {client B sends BYE with Reason SIP;cause=200 (the user left voluntarily)}
      then {case 1 does not apply: the PF ends the session towards the CF with BYE} }"""
    cf = await tc.cf()
    leg = await cf_group_session(tc)
    await leg.invite.bye('SIP;cause=200;text="Call completed"')
    bye = await _cf_bye(cf, tc.guards.sip)
    expect_equal(
        tc.recorder,
        "PF-8.3.2.9-1",
        expected="BYE",
        actual=bye.request.method if bye is not None else None,
        message="a voluntary BYE (cause 200) is no trigger: the PF leaves the session",
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2.9-2")
async def test_8_3_2_9_2_invite_timeout(tc: Tc) -> None:
    """with {the CF's group INVITE accepted by the PF} ensure that
    { when {client B never answers the PF's INVITE (Timer B runs out)}
      then {the PF stays in the media path and delivers later} }"""
    leg = await cf_group_session(tc, answer=False)
    # the trigger is Timer B of the PF's INVITE (received by now): a BYE is watched until
    # Timer B after that INVITE's arrival, and for the observation window after
    timer_b = tc.pixit.timers.sip.b
    await _stays_in_media_path(
        tc,
        "PF-8.3.2.9-2",
        leg,
        subscribe_within=2 * tc.guards.sip,
        bye_until=now() + timer_b + tc.guards.observe,
        bye_window=f"until Timer B = 64*T1 = {timer_b:.2f} s after the PF's INVITE, and the "
        f"observation window, {tc.guards.observe:.2f} s, after it",
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2.9-3-lost")
async def test_8_3_2_9_3_msrp_connection_lost(tc: Tc) -> None:
    """with {a group session CF <-> PF <-> client B} ensure that
    { when {client B's MSRP connection to the PF is lost}
      then {the PF stays in the media path and delivers later} }"""
    leg = await cf_group_session(tc)
    assert leg.invite.msrp is not None
    await leg.invite.msrp.close()
    # when the connection counts as lost is the PIXIT MSRP transaction timeout (the seed's
    # editor's note): a BYE is watched until that long after the close, and for the
    # observation window after it
    timeout = tc.pixit.timers.msrp_transaction_timeout
    await _stays_in_media_path(
        tc,
        "PF-8.3.2.9-3-lost",
        leg,
        subscribe_within=tc.guards.sip,
        bye_until=now() + timeout + tc.guards.observe,
        bye_window=f"until the MSRP transaction timeout, {timeout:.2f} s, after the close, "
        f"and the observation window, {tc.guards.observe:.2f} s, after it",
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2.9-3-setup")
async def test_8_3_2_9_3_msrp_setup_fails(tc: Tc) -> None:
    """with {the CF's group INVITE accepted by the PF} ensure that
    { when {client B answers a=setup:passive with a path nobody listens on}
      then {the PF stays in the media path and delivers later} }"""
    leg = await cf_group_session(tc, answer=False)
    dead = await leg.client.new_msrp_peer()
    body = dead.sdp(setup="passive")
    await dead.close()
    await leg.invite.answer(body=body)
    await _stays_in_media_path(
        tc,
        "PF-8.3.2.9-3-setup",
        leg,
        subscribe_within=tc.guards.sip,
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2.9-SUBSCRIBE")
@pytest.mark.parametrize("earlier", ["accepted", "refused"])
async def test_8_3_2_9_subscribe_to_focus(tc: Tc, earlier: str) -> None:
    """with {a group session CF <-> PF <-> client B; the CF accepted, or refused (480),
    the PF's subscription to the focus of 8.3.2 200 OK step 3} ensure that
    { when {client B is gone (BYE with cause 480)}
      then {the PF is subscribed to the focus of the group session (Event: conference):
            the subscription it already holds (8.3.2 200 OK step 3; one per user, 8.2.3)
            stays, or it sends a SUBSCRIBE; holding none (refused), it sends a SUBSCRIBE} }"""
    cf = await tc.cf()
    leg = await cf_group_session(tc)
    held: IncomingSubscribe | None = None
    if earlier == "refused":
        await refuse_focus_subscription(tc)
    else:
        with contextlib.suppress(WaitTimeout):  # 8.3.2 200 OK step 3, when the PF opened one
            held = await accept_focus_subscription(tc, leg, leg.participants)
    await client_b_leaves(tc, leg)
    if held is not None:
        # it must stay while the PF buffers: no un-SUBSCRIBE in it, unless a new SUBSCRIBE
        # follows (bounded waits for requests that must not / may come)
        ended: IncomingRequest | None = None
        with contextlib.suppress(WaitTimeout):  # the PF's reaction to the BYE
            ended = await cf.expect_request(
                "SUBSCRIBE",
                within=tc.guards.observe,
                match=in_subscription(held, expires_zero=True),
            )
        renewed: IncomingSubscribe | None = None
        if ended is not None:
            ended.respond(200, headers=[("Expires", "0")])
            with contextlib.suppress(WaitTimeout):
                renewed = await cf.expect_subscribe(within=tc.guards.sip)
        ev = [sip_evidence(held.request, "the PF's SUBSCRIBE, accepted before client B left")]
        ev += [
            sip_evidence(r.request, what)
            for r, what in (
                (ended, "the PF's un-SUBSCRIBE after client B left"),
                (renewed, "the PF's new SUBSCRIBE"),
            )
            if r is not None
        ]
        expect_true(
            tc.recorder,
            "PF-8.3.2.9-SUBSCRIBE",
            ended is None or renewed is not None,
            expected="the PF stays subscribed to the focus while client B is gone (an "
            f"un-SUBSCRIBE watched for the observation window, {tc.guards.observe:.2f} s)",
            actual=(
                "subscription kept"
                if ended is None
                else "un-SUBSCRIBE (Expires: 0), then "
                + ("a new SUBSCRIBE" if renewed else "no new SUBSCRIBE")
            ),
            evidence=ev,
        )
        if renewed is not None:
            renewed.accept()
        return
    sub = await expect_arrival(
        tc.recorder,
        "PF-8.3.2.9-SUBSCRIBE",
        cf.expect_subscribe(within=tc.guards.sip),
        expected="a SUBSCRIBE of the PF to the focus",
    )
    if sub is None:
        return
    ev = [sip_evidence(sub.request, "the PF's SUBSCRIBE")]
    expect_equal(
        tc.recorder,
        "PF-8.3.2.9-SUBSCRIBE",
        expected=(leg.cf.focus_uri, "conference"),
        actual=(sub.request.uri, sub.event.split(";")[0].strip()),
        evidence=ev,
    )
    sub.accept()


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2.9-B-1", "PF-8.3.2.9-B-2", "SD-B.2.3.x.y+2-ACTIVE-SUPPRESS")
async def test_8_3_2_9_b_rejoin_first(tc: Tc) -> None:
    """with {client B gone from an active group session, messages buffered at the PF}
    ensure that { when {client B's re-join reaches the PF before the third-party REGISTER}
      then {the buffered messages arrive over the re-join session, and the PF sends no
            INVITE of its own after the REGISTER} }"""
    leg = await cf_group_session(tc)
    await client_b_leaves(tc, leg)
    with contextlib.suppress(WaitTimeout):
        await accept_focus_subscription(tc, leg, leg.participants)
    await cf_sends(leg, tc.guards, "deferred-1", "deferred-2")
    handle = await rejoin(leg, tc.pixit)
    final = await expect_arrival(
        tc.recorder,
        "PF-8.3.2.9-B-2",
        handle.final(within=tc.guards.sip),
        expected="a final response to the re-join",
    )
    if final is not None and final.status == 200:
        await handle.ack()
        await handle.establish_msrp(within=tc.guards.msrp)
        handle.msrp.send(b"", None)  # binds the session (RFC 4975 5.4)
        got = [
            await received(handle.msrp, t, tc.guards.msrp + tc.guards.sip)
            for t in ("deferred-1", "deferred-2")
        ]
        expect_equal(
            tc.recorder,
            "PF-8.3.2.9-B-2",
            expected=[True, True],
            actual=[g is not None for g in got],
            evidence=sip_evidence(final, "the PF's 200 to the re-join"),
        )
    else:
        expect_equal(
            tc.recorder,
            "PF-8.3.2.9-B-2",
            expected=200,
            actual=final.status if final is not None else None,
        )
    await client_returns(tc, leg)
    try:  # a delivery would answer the REGISTER at once: the observation window
        invite = await leg.client.expect_invite(
            within=tc.guards.observe, conversation_id=leg.cf.conversation_id, others=False
        )
    except WaitTimeout:
        invite = None
    actual = invite.request.first_line() if invite is not None else None
    for requirement in ("PF-8.3.2.9-B-1", "SD-B.2.3.x.y+2-ACTIVE-SUPPRESS"):
        expect_equal(
            tc.recorder,
            requirement,
            expected=None,
            actual=actual,
            message="no INVITE of the PF after the client's re-join (observed for the "
            f"observation window, {tc.guards.observe:.2f} s, after the REGISTER)",
        )
    if invite is not None:
        invite.decline(486)
    _ = pf_address
