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

from conformance.checks import expect_true
from conformance.fixtures.case import Tc
from conformance.protocol.sip.message import SipMessage, SipResponse
from conformance.testcases.procedures import CfInvite, sip_evidence
from conformance.testcases.procedures.messages import PEER_ERRORS
from conformance.testcases.procedures.rejections import expect_rejection
from conformance.testcases.procedures.stimulus import (
    PJSUA_AUDIO_OFFER,
    StimulusStack,
    terminating_invite,
)

AUDIO_ONLY = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 49170 RTP/AVP 0\r\na=sendrecv\r\n"
)


@dataclass(frozen=True)
class _Invitation:
    """The CF's group INVITE for a served user, sent to the PF with the case's stimulus
    stack (testcases/procedures/stimulus.py)."""

    stack: StimulusStack
    tc: Tc

    async def final(
        self, user: str | None = None, invite: CfInvite | None = None, *, pjsip_sdp: str = ""
    ) -> SipResponse:
        """The PF's final response to the INVITE for ``user`` (default: the second user)."""
        user = user if user is not None else self.tc.pixit.users[1].uri
        return await terminating_invite(self.stack, self.tc, user, invite, pjsip_sdp=pjsip_sdp)

    async def expect_403(
        self,
        requirements: tuple[str, str],
        warning: tuple[int, str],
        invite: CfInvite | None = None,
    ) -> None:
        """The INVITE for the second user (built as ``invite`` says) is answered 403
        (``requirements[0]``) with the Warning ``warning`` (``requirements[1]``)."""
        answer = await self.final(invite=invite)
        expect_rejection(
            self.tc.recorder,
            answer,
            requirements[0],
            403,
            warning_requirement=requirements[1],
            warning=warning,
        )


@pytest.fixture
def invitation(stimulus_stack: StimulusStack, tc: Tc) -> _Invitation:
    """The CF's INVITE towards the PF, with the stack of this run of the case."""
    return _Invitation(stimulus_stack, tc)


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-1", "PF-8.3.2-1-warning")
async def test_8_3_2_1_unsupported_version(tc: Tc, invitation: _Invitation) -> None:
    """with {a PF that requires the CPM 2.0 release} ensure that
    { when {the CF's INVITE for a served user carries User-Agent CPM-serv/OMA1.0}
      then {the PF answers 403 with Warning "132 Version not supported"} }"""
    await invitation.expect_403(
        ("PF-8.3.2-1", "PF-8.3.2-1-warning"),
        (132, "Version not supported"),
        CfInvite(user_agent="CPM-serv/OMA1.0 old-cf/1"),
    )


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-2", "PF-8.3.2-2-warning")
async def test_8_3_2_2_anonymity(tc: Tc, invitation: _Invitation) -> None:
    """with {a PF that does not allow anonymity} ensure that
    { when {the CF's INVITE carries Privacy: id}
      then {the PF answers 403 with Warning "119 Anonymity not allowed"} }"""
    await invitation.expect_403(
        ("PF-8.3.2-2", "PF-8.3.2-2-warning"),
        (119, "Anonymity not allowed"),
        CfInvite(extra_headers=(("Privacy", "id"),)),
    )


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-3", "PF-8.3.2-3-warning")
async def test_8_3_2_3_blacklisted_originator(tc: Tc, invitation: _Invitation) -> None:
    """with {the invited user's chat Blacklist holding the originator} ensure that
    { when {the CF's INVITE asserts that originator}
      then {the PF answers 403 with Warning "122 Function not allowed"} }"""
    user = tc.pixit.users[1].uri
    tc.xdms.set_preferences(user, blacklist=[tc.pixit.users[0].uri])
    try:
        await invitation.expect_403(
            ("PF-8.3.2-3", "PF-8.3.2-3-warning"),
            (122, "Function not allowed"),
        )
    finally:
        tc.xdms.remove(user)


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-4")
async def test_8_3_2_4_do_not_disturb(tc: Tc, invitation: _Invitation) -> None:
    """with {the invited user's policy allowing do-not-disturb and a registered client of
    the user} ensure that
    { when {the CF invites the user} then {the PF answers 480 Temporarily Unavailable and
      no INVITE reaches the user's client} }"""
    user = tc.pixit.users[1].uri
    # a registered client: without one, 480 would also be the answer of step 8.b.ii.1
    client = await tc.client(user, 0)

    async def declined() -> SipMessage:
        invite = await client.expect_invite(within=tc.guards.sip)
        invite.decline(603)  # ends the PF's fork, so that its final response comes
        return invite.request

    disturbed = asyncio.ensure_future(declined())
    tc.xdms.set_preferences(user, do_not_disturb=True)
    try:
        answer = await invitation.final(user)
    finally:
        tc.xdms.remove(user)
    # the client is watched until the final response (a PF that forked anyway answers only
    # after the client's 603), and for the observation window after it: an INVITE forked
    # to it anyway is a disturbance
    await asyncio.wait({disturbed}, timeout=tc.guards.observe)
    disturbed.cancel()
    fork: SipMessage | None = None
    with contextlib.suppress(asyncio.CancelledError, *PEER_ERRORS):
        fork = await disturbed
    more = [sip_evidence(fork, "the INVITE the user's client received")] if fork else []
    expect_rejection(tc.recorder, answer, "PF-8.3.2-4", 480, more_evidence=more)
    expect_true(
        tc.recorder,
        "PF-8.3.2-4",
        fork is None,
        expected="no INVITE at the user's client (observed until the final response and "
        f"for the observation window, {tc.guards.observe:.2f} s, after it)",
        actual=fork.first_line() if fork is not None else "none",
        evidence=more,
    )


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-5")
async def test_8_3_2_5_sdp_against_policy(tc: Tc, invitation: _Invitation) -> None:
    """with {a PF whose service provider policy accepts only MSRP message media} ensure that
    { when {the CF's INVITE offers audio only} then {the PF answers 488 Not Acceptable Here} }"""
    # pjsua2's own offer is audio-only (its audio m-line): exactly the violating stimulus
    answer = await invitation.final(invite=CfInvite(sdp=AUDIO_ONLY), pjsip_sdp=PJSUA_AUDIO_OFFER)
    expect_rejection(tc.recorder, answer, "PF-8.3.2-5", 488)


@pytest.mark.users(2)
@pytest.mark.requirement("PF-8.3.2-7.iii", "PF-8.3.2-7.iii-warning")
async def test_8_3_2_7_iii_unexpected_service(tc: Tc, invitation: _Invitation) -> None:
    """with {a PF that rejects unexpected services} ensure that
    { when {the CF's INVITE asserts a service other than the CPM session tags}
      then {the PF answers 403 with Warning "122 Function not allowed"} }"""
    await invitation.expect_403(
        ("PF-8.3.2-7.iii", "PF-8.3.2-7.iii-warning"),
        (122, "Function not allowed"),
        CfInvite(asserted_service="urn:urn-7:3gpp-service.ims.icsi.mmtel"),
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2-8.b.ii.1")
async def test_8_3_2_8_b_ii_1_no_suitable_client(tc: Tc, invitation: _Invitation) -> None:
    """with {a PF in the media path without deferred delivery or interworking} ensure that
    { when {the CF invites a user with no registered client}
      then {the PF answers 480 Temporarily Unavailable} }"""
    answer = await invitation.final(invitation.tc.pixit.users[-1].uri)
    if answer.status == 200:
        # the PF accepted: leave the dialog cleanly
        pass
    expect_rejection(tc.recorder, answer, "PF-8.3.2-8.b.ii.1", 480)
