"""CPM Conversation Function 8.3.2: the terminating PF handles its clients' answers (a 603
Decline; the first 200 OK: ACK, the Session History Folder and the subscription for
Participant Information).

The tool plays the CF and the invited user's client. Expected values are written here
from the seed text, never taken from the reference SUT.
"""

from __future__ import annotations

import contextlib
import logging

import pytest

from conformance.checks import expect_equal, expect_true, inconclusive
from conformance.documents.groupstate import GroupState, parse_group_state
from conformance.documents.store_object import SESSION_INFO_CONTENT_TYPE, session_history_folder
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.dialog import uri_of
from conformance.protocol.sip.headers import get_reasons
from conformance.roles.cf_invite import CfInviteHandle
from conformance.roles.client import ClientEmulator, IncomingInvite
from conformance.roles.store import ObjectNotStored, StoredObject, open_store
from conformance.testcases.procedures import (
    CfInvite,
    expect_arrival,
    fork_of,
    name_only_user,
    pf_address,
    sip_evidence,
    user_with_clients,
)
from conformance.testcases.procedures.group_state import stored_evidence
from conformance.testcases.procedures.messages import PEER_ERRORS

log = logging.getLogger(__name__)


async def _invited(
    tc: Tc,
    client: ClientEmulator,
    invite: CfInvite | None = None,
    participants: tuple[str, ...] = (),
) -> tuple[CfInviteHandle, IncomingInvite]:
    """The CF invites the client's user (offering ``participants``, else the originator and
    the user); the PF accepts (ACKed) and invites the client."""
    handle = await (invite or CfInvite()).send(
        await tc.cf(),
        client.user,
        pf_address(tc.pixit),
        originator=tc.pixit.users[0].uri,
        participants=participants,
    )
    answer = await handle.final(within=tc.guards.sip)
    if answer.status != 200:
        inconclusive(f"the PF answered the CF {answer.status}, not 200")
    await handle.ack()
    fork = await fork_of(client, handle.contribution_id, tc.guards.sip)
    return handle, fork


def _is_session_info(obj: StoredObject) -> bool:
    return obj.has_type(SESSION_INFO_CONTENT_TYPE)


@pytest.mark.requirement("PF-8.3.2-603-2")
async def test_8_3_2_603_bye_to_the_cf(tc: Tc) -> None:
    """with {a PF in the media path that accepted the CF's INVITE} ensure that
    { when {the user's client answers the PF's INVITE with 603 Decline}
      then {the PF sends the CF a BYE with Reason protocol SIP, cause 200} }"""
    cf = await tc.cf()
    client = await tc.client(user_with_clients(tc.pixit, 1), 0)
    handle, fork = await _invited(tc, client)
    fork.decline(603)
    call_id = handle.request.call_id
    ev = [sip_evidence(fork.request, "the PF's INVITE declined with 603")]
    incoming = await expect_arrival(
        tc.recorder,
        "PF-8.3.2-603-2",
        cf.expect_request(
            "BYE", within=tc.guards.sip, match=lambda r: r.request.call_id == call_id
        ),
        expected="a BYE from the PF in the CF's dialog",
        evidence=ev,
    )
    if incoming is None:
        return
    incoming.respond(200)
    reasons = [(r.protocol.upper(), r.cause) for r in get_reasons(incoming.request)]
    expect_true(
        tc.recorder,
        "PF-8.3.2-603-2",
        ("SIP", 200) in reasons,
        expected="Reason: SIP;cause=200",
        actual=incoming.request.headers.get("Reason"),
        evidence=[*ev, sip_evidence(incoming.request, "the PF's BYE to the CF")],
    )


@pytest.mark.requirement(
    "PF-8.3.2-200OK-1",
    "PF-8.3.2-200OK-2",
    "PF-8.3.2-200OK-2-gso",
    "PF-8.3.2-200OK-2.a.ii",
    "PF-8.3.2-200OK-2.a.i",
)
async def test_8_3_2_200_ok_ack_and_session_history(tc: Tc) -> None:
    """with {a PF in the media path; the user's <allow-offline-storage> is true} ensure that
    { when {the user's client answers the PF's INVITE with 200 OK, and later a second
            session with the same Contribution-ID is answered too}
      then {the PF ACKs the client's 200; the Message Store holds a Session History Folder
            named after the Contribution-ID with one Session Info Object and a Group State
            Object} }"""
    xdms = tc.xdms_preferences()
    client = await tc.client(user_with_clients(tc.pixit, 1), 0)
    xdms.set_preferences(client.user, allow_offline_storage=True)
    # a participant list with a third user, so that the stored list can be told from the
    # originator's or the user's alone. The third is only a name in the CF's resource list
    # (the PF stores it in the served user's Group State Object and sends it nothing): a
    # URI no profile user has, not another worker's carol
    domain = client.user.rpartition("@")[2]
    third = name_only_user("carol", domain)
    participants = (tc.pixit.users[0].uri, client.user, third)
    handle, fork = await _invited(tc, client, participants=participants)
    contribution = handle.contribution_id or ""
    await fork.answer(200)
    call_id = fork.request.call_id
    ev = [sip_evidence(fork.request, "the PF's INVITE answered 200")]
    ack = await expect_arrival(
        tc.recorder,
        "PF-8.3.2-200OK-1",
        client.expect_request(
            "ACK", within=tc.guards.sip, match=lambda r: r.request.call_id == call_id
        ),
        expected="the PF's ACK of the client's 200 OK",
        evidence=ev,
    )
    if ack is not None:
        expect_equal(
            tc.recorder,
            "PF-8.3.2-200OK-1",
            expected="ACK",
            actual=ack.request.method,
            evidence=[*ev, sip_evidence(ack.request, "the ACK")],
        )
    # the seed: "a Session History Folder ... with the folder name set to the Contribution-ID"
    folder = session_history_folder(contribution)
    async with open_store(tc.pixit.message_store.url) as store:
        info = await expect_arrival(
            tc.recorder,
            "PF-8.3.2-200OK-2.a.ii",
            store.wait_for_object(
                folder, _is_session_info, tc.guards.sip, what="the Session Info Object"
            ),
            expected=f"a Session Info Object in the folder {contribution!r}",
            evidence=ev,
        )
        expect_true(
            tc.recorder,
            "PF-8.3.2-200OK-2",
            info is not None,
            expected="the INVITE stored as the Session Info Object",
            actual=await store.folders(),
            evidence=ev,
        )
        gso = await expect_arrival(
            tc.recorder,
            "PF-8.3.2-200OK-2-gso",
            store.wait_for_object(
                folder, lambda o: o.is_group_state, tc.guards.sip, what="the Group State Object"
            ),
            expected=f"a Group State Object in the folder {contribution!r}",
            evidence=ev,
        )
        if gso is not None:
            # what it contains: the CPM Group Session Identity and the Participant list (the
            # CF's INVITE offered both: its focus and its resource list)
            gso_ev = [*ev, stored_evidence(gso, "the Group State Object")]
            try:
                state: GroupState | None = parse_group_state(gso.body)
            except DocumentError:
                state = None
            expect_equal(
                tc.recorder,
                "PF-8.3.2-200OK-2-gso",
                expected=handle.focus_uri,
                actual=state.lastfocussessionid if state is not None else None,
                message="the CPM Group Session Identity (the focus of the CF's INVITE)",
                evidence=gso_ev,
            )
            expect_equal(
                tc.recorder,
                "PF-8.3.2-200OK-2-gso",
                expected=sorted(set(participants)),
                actual=(
                    sorted({p.comm_addr or "" for p in state.participants})
                    if state is not None
                    else None
                ),
                message="the Participant list (the CF's INVITE's resource list)",
                evidence=gso_ev,
            )
        if info is None:
            return
        # 2.a.i: a second session with the same Contribution-ID: no second Session Info Object
        again, fork2 = await _invited(
            tc,
            client,
            CfInvite(conversation_id=handle.conversation_id, contribution_id=contribution),
        )
        await fork2.answer(200)
        # the PF stores on the 200 it ACKs: from its ACK on, a second object is watched
        # for the observation window
        call_id2 = fork2.request.call_id
        with contextlib.suppress(WaitTimeout):
            await client.expect_request(
                "ACK", within=tc.guards.sip, match=lambda r: r.request.call_id == call_id2
            )
        try:
            second: object = await store.wait_for_object(
                folder,
                lambda o: _is_session_info(o) and o.uid != info.uid,
                tc.guards.observe,
                what="a second Session Info Object",
            )
        except ObjectNotStored:
            second = None
        count = len([o for o in await store.objects(folder) if _is_session_info(o)])
        expect_true(
            tc.recorder,
            "PF-8.3.2-200OK-2.a.i",
            second is None and count == 1,
            expected="one Session Info Object in the existing folder (a second one watched "
            f"for the observation window, {tc.guards.observe:.2f} s)",
            actual=f"{count} Session Info Objects",
            evidence=ev,
        )
    for h in (handle, again):
        try:
            await h.bye()
        except PEER_ERRORS:  # the case is judged already; teardown goes on
            log.debug("teardown", exc_info=True)


@pytest.mark.requirement("PF-8.3.2-200OK-3")
async def test_8_3_2_200_ok_3_subscribe_for_participants(tc: Tc) -> None:
    """with {a PF in the media path, conference-info over MSRP not applicable} ensure that
    { when {the CF invites the user with Contact <focus>;isfocus and the user's client
            answers the PF's INVITE with 200 OK}
      then {the PF obtains Participant Information: a SUBSCRIBE for the conference event
            package to the focus URI of the CF's INVITE} }"""
    cf = await tc.cf()
    client = await tc.client(user_with_clients(tc.pixit, 1), 0)
    handle, fork = await _invited(tc, client)
    await fork.answer(200)
    focus = handle.focus_uri
    ev = [
        sip_evidence(handle.request, "the CF's INVITE"),
        sip_evidence(fork.request, "the PF's INVITE answered 200"),
    ]
    # any initial SUBSCRIBE of the PF: its Request-URI and Event package are judged below
    subscribe = await expect_arrival(
        tc.recorder,
        "PF-8.3.2-200OK-3",
        cf.expect_subscribe(within=tc.guards.sip),
        expected=f"the PF's SUBSCRIBE to the focus {focus}",
        evidence=ev,
    )
    if subscribe is not None:
        subscribe.accept()
        got = subscribe.request
        expect_equal(
            tc.recorder,
            "PF-8.3.2-200OK-3",
            expected=(focus, "conference"),
            actual=(
                uri_of(got.uri),
                (got.headers.get("Event") or "").split(";")[0].strip().lower(),
            ),
            message="(Request-URI, Event package) of the PF's SUBSCRIBE",
            evidence=[*ev, sip_evidence(got, "the PF's SUBSCRIBE")],
        )
    try:
        await handle.bye()
    except PEER_ERRORS:  # the case is judged already; teardown goes on
        log.debug("teardown", exc_info=True)
