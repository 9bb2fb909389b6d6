"""CPM Conversation Function 8.3.2 steps 6 and 7.i-7.ii: the terminating PF continues for a
user with a registered client, and turns a CPM P-Preferred-Service into the
P-Asserted-Service.

The tool plays the CF (it sends the group INVITE for a served user) and the user's client
(registered through the tool's S-CSCF). Expected values are written here from the seed
text, never taken from the reference SUT.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

import pytest

from conformance.checks import EvidenceRef, expect_equal
from conformance.fixtures.case import Tc
from conformance.protocol.sip.message import SipRequest
from conformance.roles.cf_invite import CfInviteHandle
from conformance.roles.client import IncomingInvite
from conformance.roles.sip_helpers import same_aor
from conformance.testcases.procedures import (
    CfInvite,
    expect_arrival,
    fork_of,
    pf_address,
    sip_evidence,
)
from conformance.testcases.procedures.messages import PEER_ERRORS, SUT_SILENCE
from conformance.testcases.procedures.proxy import user_inbox

log = logging.getLogger(__name__)

SESSION = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"
GROUP = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session.group"


async def _finish(handle: CfInviteHandle, fork: IncomingInvite | None) -> None:
    """Leave cleanly: the client refuses the PF's INVITE, the CF says BYE."""
    if fork is not None:
        try:
            await fork.answer(480)
        except PEER_ERRORS:  # the case is judged already; teardown goes on
            log.debug("teardown", exc_info=True)
    if handle.dialog is not None:
        try:
            await handle.ack()
            await handle.bye()
        except PEER_ERRORS:
            log.debug("teardown", exc_info=True)


async def _invitation(
    tc: Tc, requirement: str, invite: CfInvite | None = None
) -> tuple[list[EvidenceRef], SipRequest | None, str]:
    """Register a suitable client of a user, send the CF's INVITE for that user, and return
    (evidence, the INVITE that went on for it, the user): at the client when the PF is a
    B2BUA, at the user's address in the SIP/IP core when it proxies."""
    recorder, pixit, guards = tc.recorder, tc.pixit, tc.guards
    user = pixit.users[0].uri
    client = await tc.client(user, 0)
    contribution_id = uuid.uuid4().hex
    fork: IncomingInvite | None = None
    got: SipRequest | None = None
    with user_inbox(tc.core, user, contribution_id) as inbox:
        invite = dataclasses.replace(invite or CfInvite(), contribution_id=contribution_id)
        handle = await invite.send(
            await tc.cf(), user, pf_address(pixit), originator=pixit.users[-1].uri
        )
        ev: list[EvidenceRef] = [sip_evidence(handle.request, "the CF's INVITE")]
        try:
            if tc.pics.get("pf.media_path", True):
                fork = await expect_arrival(
                    recorder,
                    requirement,
                    fork_of(client, handle.contribution_id, guards.sip),
                    expected=f"the PF's INVITE at the registered client {client.instance}",
                    evidence=ev,
                )
                got = fork.request if fork is not None else None
            else:
                proxied = await expect_arrival(
                    recorder,
                    requirement,
                    inbox.invite(guards.sip),
                    expected=f"the PF's INVITE for {user} at the SIP/IP core",
                    evidence=ev,
                )
                got = proxied.request if proxied is not None else None
            try:
                await handle.final(within=guards.sip)
            except SUT_SILENCE:  # judged on what arrived
                log.debug("no final response", exc_info=True)
        finally:
            await _finish(handle, fork)
    return ev, got, user


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2-6")
async def test_8_3_2_6_registered_client_goes_on(tc: Tc) -> None:
    """with {the invited user has a client registered for the CPM session} ensure that
    { when {the CF's group INVITE reaches the PF}
      then {the PF finds the registered client and goes on: the invitation for the user
            goes on (no 480 for want of a client)} }"""
    ev, got, user = await _invitation(tc, "PF-8.3.2-6")
    if got is not None:
        expect_equal(
            tc.recorder,
            "PF-8.3.2-6",
            expected=True,
            actual=same_aor(got.headers.get("To") or "", user),
            message="the invitation that went on is addressed to the invited user",
            evidence=[*ev, sip_evidence(got, "the INVITE that went on")],
        )


@pytest.mark.users(3)
@pytest.mark.parametrize(
    ("requirement", "service"),
    [
        pytest.param(
            "PF-8.3.2-7.i", SESSION, id="session", marks=pytest.mark.requirement("PF-8.3.2-7.i")
        ),
        pytest.param(
            "PF-8.3.2-7.ii", GROUP, id="group", marks=pytest.mark.requirement("PF-8.3.2-7.ii")
        ),
    ],
)
async def test_8_3_2_7_preferred_service_asserted(tc: Tc, requirement: str, service: str) -> None:
    """with {the invited user has a client registered for the CPM session} ensure that
    { when {the CF's INVITE carries P-Preferred-Service with a CPM Feature Tag and no
            P-Asserted-Service}
      then {the INVITE that goes on has no P-Preferred-Service and a P-Asserted-Service
            with that Feature Tag} }"""
    ev, got, _ = await _invitation(
        tc,
        requirement,
        CfInvite(asserted_service=None, extra_headers=(("P-Preferred-Service", service),)),
    )
    if got is not None:
        expect_equal(
            tc.recorder,
            requirement,
            expected={"P-Preferred-Service": [], "P-Asserted-Service": [service]},
            actual={
                "P-Preferred-Service": got.headers.get_all("P-Preferred-Service"),
                "P-Asserted-Service": got.headers.get_all("P-Asserted-Service"),
            },
            evidence=[*ev, sip_evidence(got, "the INVITE that went on")],
        )
