"""CPM Conversation Function 8.3.2 steps 6 and 7.i-7.ii: the terminating PF continues for a
user with a registered client, and turns a CPM P-Preferred-Service into the
P-Asserted-Service.

The tool plays the CF (it sends the group INVITE for a served user) and the user's client
(registered through the tool's S-CSCF). Expected values are written here from the seed
text, never taken from the reference SUT.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

import pytest
from conformance.fixtures.network import ClientFactory, Guards
from conformance.testcases.procedures import expect_arrival, fork_of, pf_address, sip_evidence
from conformance.testcases.procedures_proxy import user_inbox

from conformance.catalog.profile import Pixit
from conformance.checks import EvidenceRef, VerdictRecorder, expect_equal
from conformance.protocol.sip.message import SipRequest
from conformance.roles.cf import CfEmulator
from conformance.roles.cf_invite import CfInviteHandle, cf_invite
from conformance.roles.client import IncomingInvite
from conformance.roles.core import ToolCore
from conformance.roles.sip_helpers import same_aor

log = logging.getLogger(__name__)

SESSION = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"
GROUP = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session.group"


async def _finish(handle: CfInviteHandle, fork: IncomingInvite | None) -> None:
    """Leave cleanly: the client refuses the PF's INVITE, the CF says BYE."""
    if fork is not None:
        try:
            await fork.answer(480)
        except Exception:  # the case is judged already; teardown goes on
            log.debug("teardown", exc_info=True)
    if handle.dialog is not None:
        try:
            await handle.ack()
            await handle.bye()
        except Exception:
            log.debug("teardown", exc_info=True)


async def _invitation(
    recorder: VerdictRecorder,
    requirement: str,
    client_factory: ClientFactory,
    cf_emulator: CfEmulator,
    tool_core: ToolCore,
    pixit: Pixit,
    guards: Guards,
    pics: Mapping[str, bool | str],
    **options: object,
) -> tuple[list[EvidenceRef], SipRequest | None, str]:
    """Register a suitable client of a user, send the CF's INVITE for that user, and return
    (evidence, the INVITE that went on for it, the user): at the client when the PF is a
    B2BUA, at the user's address in the SIP/IP core when it proxies."""
    user = pixit.users[0].uri
    client = await client_factory(user, 0)
    contribution_id = uuid.uuid4().hex
    fork: IncomingInvite | None = None
    got: SipRequest | None = None
    with user_inbox(tool_core, user, contribution_id) as inbox:
        handle = await cf_invite(
            cf_emulator,
            user,
            pf_address(pixit),
            originator=pixit.users[-1].uri,
            contribution_id=contribution_id,
            **options,
        )
        ev: list[EvidenceRef] = [sip_evidence(handle.request, "the CF's INVITE")]
        try:
            if pics.get("pf.media_path", True):
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
            except Exception:  # judged on what arrived
                log.debug("no final response", exc_info=True)
        finally:
            await _finish(handle, fork)
    return ev, got, user


@pytest.mark.requirement("PF-8.3.2-6")
async def test_8_3_2_6_registered_client_goes_on(
    recorder: VerdictRecorder,
    client_factory: ClientFactory,
    cf_emulator: CfEmulator,
    tool_core: ToolCore,
    pixit: Pixit,
    guards: Guards,
    pics: Mapping[str, bool | str],
) -> None:
    """with {the invited user has a client registered for the CPM session} ensure that
    { when {the CF's group INVITE reaches the PF}
      then {the PF finds the registered client and goes on: the invitation for the user
            goes on (no 480 for want of a client)} }"""
    ev, got, user = await _invitation(
        recorder, "PF-8.3.2-6", client_factory, cf_emulator, tool_core, pixit, guards, pics
    )
    if got is not None:
        expect_equal(
            recorder,
            "PF-8.3.2-6",
            expected=True,
            actual=same_aor(got.headers.get("To") or "", user),
            message="the invitation that went on is addressed to the invited user",
            evidence=[*ev, sip_evidence(got, "the INVITE that went on")],
        )


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
async def test_8_3_2_7_preferred_service_asserted(
    recorder: VerdictRecorder,
    client_factory: ClientFactory,
    cf_emulator: CfEmulator,
    tool_core: ToolCore,
    pixit: Pixit,
    guards: Guards,
    pics: Mapping[str, bool | str],
    requirement: str,
    service: str,
) -> None:
    """with {the invited user has a client registered for the CPM session} ensure that
    { when {the CF's INVITE carries P-Preferred-Service with a CPM Feature Tag and no
            P-Asserted-Service}
      then {the INVITE that goes on has no P-Preferred-Service and a P-Asserted-Service
            with that Feature Tag} }"""
    ev, got, _ = await _invitation(
        recorder,
        requirement,
        client_factory,
        cf_emulator,
        tool_core,
        pixit,
        guards,
        pics,
        asserted_service=None,
        extra_headers=(("P-Preferred-Service", service),),
    )
    if got is not None:
        expect_equal(
            recorder,
            requirement,
            expected={"P-Preferred-Service": [], "P-Asserted-Service": [service]},
            actual={
                "P-Preferred-Service": got.headers.get_all("P-Preferred-Service"),
                "P-Asserted-Service": got.headers.get_all("P-Asserted-Service"),
            },
            evidence=[*ev, sip_evidence(got, "the INVITE that went on")],
        )
