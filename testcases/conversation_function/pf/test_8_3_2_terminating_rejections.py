"""CPM Conversation Function 8.3.2: the terminating PF rejects a CPM Session Invitation
(steps 1-5, 7.iii, 8.b.ii.1).

The tool plays the CF: it sends the group INVITE for a served user to the PF under test,
once with our engine and once with pjsua2 (``stimulus_stack``: ``engine`` / ``pjsip``,
testcases/stimulus.py); the checks judge the raw bytes of the final response either way.
Expected values are written here from the seed text.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import pytest
from conformance.fixtures.network import ClientFactory, Guards
from conformance.testcases.procedures import sip_evidence
from conformance.testcases.procedures_rejections import expect_rejection
from conformance.testcases.stimulus import PJSUA_AUDIO_OFFER, StimulusStack, terminating_invite

from conformance.catalog.profile import Pixit
from conformance.checks import VerdictRecorder
from conformance.protocol.sip.message import SipMessage
from conformance.roles.cf import CfEmulator
from conformance.roles.xdms import XdmsServer

AUDIO_ONLY = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 49170 RTP/AVP 0\r\na=sendrecv\r\n"
)


@dataclass(frozen=True)
class _Invitation:
    """The CF's group INVITE for a served user, sent to the PF with the case's stimulus
    stack (testcases/stimulus.py)."""

    stack: StimulusStack
    cf: CfEmulator
    pixit: Pixit
    guards: Guards

    async def final(self, user: str | None = None, **options: object) -> SipMessage:
        """The PF's final response to the INVITE for ``user`` (default: the second user)."""
        user = user if user is not None else self.pixit.users[1].uri
        return await terminating_invite(  # type: ignore[arg-type]
            self.stack, self.cf, self.pixit, self.guards, user, **options
        )

    async def expect_403(
        self,
        recorder: VerdictRecorder,
        requirements: tuple[str, str],
        warning: tuple[int, str],
        **options: object,
    ) -> None:
        """The INVITE for the second user (built with ``options``) is answered 403
        (``requirements[0]``) with the Warning ``warning`` (``requirements[1]``)."""
        answer = await self.final(**options)
        expect_rejection(
            recorder,
            answer,
            requirements[0],
            403,
            warning_requirement=requirements[1],
            warning=warning,
        )


@pytest.fixture
def invitation(
    stimulus_stack: StimulusStack, cf_emulator: CfEmulator, pixit: Pixit, guards: Guards
) -> _Invitation:
    """The CF's INVITE towards the PF, with the stack of this run of the case."""
    return _Invitation(stimulus_stack, cf_emulator, pixit, guards)


@pytest.mark.requirement("PF-8.3.2-1", "PF-8.3.2-1-warning")
async def test_8_3_2_1_unsupported_version(
    recorder: VerdictRecorder, invitation: _Invitation
) -> None:
    """with {a PF that requires the CPM 2.0 release} ensure that
    { when {the CF's INVITE for a served user carries User-Agent CPM-serv/OMA1.0}
      then {the PF answers 403 with Warning "132 Version not supported"} }"""
    await invitation.expect_403(
        recorder,
        ("PF-8.3.2-1", "PF-8.3.2-1-warning"),
        (132, "Version not supported"),
        user_agent="CPM-serv/OMA1.0 old-cf/1",
    )


@pytest.mark.requirement("PF-8.3.2-2", "PF-8.3.2-2-warning")
async def test_8_3_2_2_anonymity(recorder: VerdictRecorder, invitation: _Invitation) -> None:
    """with {a PF that does not allow anonymity} ensure that
    { when {the CF's INVITE carries Privacy: id}
      then {the PF answers 403 with Warning "119 Anonymity not allowed"} }"""
    await invitation.expect_403(
        recorder,
        ("PF-8.3.2-2", "PF-8.3.2-2-warning"),
        (119, "Anonymity not allowed"),
        extra_headers=(("Privacy", "id"),),
    )


@pytest.mark.requirement("PF-8.3.2-3", "PF-8.3.2-3-warning")
async def test_8_3_2_3_blacklisted_originator(
    recorder: VerdictRecorder,
    invitation: _Invitation,
    xdms: XdmsServer,
    pixit: Pixit,
) -> None:
    """with {the invited user's chat Blacklist holding the originator} ensure that
    { when {the CF's INVITE asserts that originator}
      then {the PF answers 403 with Warning "122 Function not allowed"} }"""
    user = pixit.users[1].uri
    xdms.set_preferences(user, blacklist=[pixit.users[0].uri])
    try:
        await invitation.expect_403(
            recorder,
            ("PF-8.3.2-3", "PF-8.3.2-3-warning"),
            (122, "Function not allowed"),
        )
    finally:
        xdms.remove(user)


@pytest.mark.requirement("PF-8.3.2-4")
async def test_8_3_2_4_do_not_disturb(
    recorder: VerdictRecorder,
    invitation: _Invitation,
    xdms: XdmsServer,
    pixit: Pixit,
    guards: Guards,
    client_factory: ClientFactory,
) -> None:
    """with {the invited user's policy allowing do-not-disturb and a registered client of
    the user} ensure that
    { when {the CF invites the user} then {the PF answers 480 Temporarily Unavailable} }"""
    user = pixit.users[1].uri
    # a registered client: without one, 480 would also be the answer of step 8.b.ii.1
    client = await client_factory(user, 0)

    async def declined() -> SipMessage:
        invite = await client.expect_invite(within=guards.sip)
        invite.decline(603)  # ends the PF's fork, so that its final response comes
        return invite.request

    disturbed = asyncio.ensure_future(declined())
    xdms.set_preferences(user, do_not_disturb=True)
    try:
        answer = await invitation.final(user)
    finally:
        xdms.remove(user)
    fork: SipMessage | None = None
    if disturbed.done() and disturbed.exception() is None:
        fork = disturbed.result()
    else:
        disturbed.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await disturbed
    more = [sip_evidence(fork, "the INVITE the user's client received")] if fork else []
    expect_rejection(recorder, answer, "PF-8.3.2-4", 480, more_evidence=more)


@pytest.mark.requirement("PF-8.3.2-5")
async def test_8_3_2_5_sdp_against_policy(
    recorder: VerdictRecorder, invitation: _Invitation
) -> None:
    """with {a PF whose service provider policy accepts only MSRP message media} ensure that
    { when {the CF's INVITE offers audio only} then {the PF answers 488 Not Acceptable Here} }"""
    # pjsua2's own offer is audio-only (its audio m-line): exactly the violating stimulus
    answer = await invitation.final(sdp=AUDIO_ONLY, pjsip_sdp=PJSUA_AUDIO_OFFER)
    expect_rejection(recorder, answer, "PF-8.3.2-5", 488)


@pytest.mark.requirement("PF-8.3.2-7.iii", "PF-8.3.2-7.iii-warning")
async def test_8_3_2_7_iii_unexpected_service(
    recorder: VerdictRecorder, invitation: _Invitation
) -> None:
    """with {a PF that rejects unexpected services} ensure that
    { when {the CF's INVITE asserts a service other than the CPM session tags}
      then {the PF answers 403 with Warning "122 Function not allowed"} }"""
    await invitation.expect_403(
        recorder,
        ("PF-8.3.2-7.iii", "PF-8.3.2-7.iii-warning"),
        (122, "Function not allowed"),
        asserted_service="urn:urn-7:3gpp-service.ims.icsi.mmtel",
    )


@pytest.mark.requirement("PF-8.3.2-8.b.ii.1")
async def test_8_3_2_8_b_ii_1_no_suitable_client(
    recorder: VerdictRecorder, invitation: _Invitation
) -> None:
    """with {a PF in the media path without deferred delivery or interworking} ensure that
    { when {the CF invites a user with no registered client}
      then {the PF answers 480 Temporarily Unavailable} }"""
    answer = await invitation.final(invitation.pixit.users[-1].uri)
    if answer.status == 200:
        # the PF accepted: leave the dialog cleanly
        pass
    expect_rejection(recorder, answer, "PF-8.3.2-8.b.ii.1", 480)
