"""Procedures the test cases share (preambles, stimuli, evidence), never copied into a case.

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
One module a concern:

- :mod:`.messages`: a SIP message as evidence, a bounded wait that fails its requirement,
  the MSRP media of an SDP, the first Warning;
- :mod:`.sessions`: fresh ids, the PF under test, a client's group INVITE through the PF
  (:class:`GroupInvite`), the CF's INVITE to the PF (:class:`CfInvite`), the PF's INVITE
  to a client;
- :mod:`.stimulus`: the same INVITE sent by our engine or by pjsua2;
- :mod:`.rejections`: the judging step of the PF's rejection cases;
- :mod:`.proxy`: the SIP/IP core's side of a user's address when the PF proxies;
- :mod:`.participants`: a group session through the PF up to the PF's SUBSCRIBE;
- :mod:`.group_state`: Group State Objects in the Message Store;
- :mod:`.conference_info_msrp`: a group session with MSRP on both legs and conference-info
  bodies (8.6 2.b, 8.2.3 RCV 4);
- :mod:`.deferred`: the deferred group session preambles (client B gone, back, re-join);
- :mod:`.deferred_invites`: what the PF's deferred-delivery INVITE carries;
- :mod:`.hosted_session`: a group session hosted by the CF under test, its NOTIFYs;
- :mod:`.system_flows`: the system flows' preambles (the SUT's PF and CF together);
- :mod:`.client_flows`: the PF emulator invites the CPM Client under test, delivers, observes.

The names of :mod:`.messages` and :mod:`.sessions` are importable from this package too.
"""

from conformance.testcases.procedures.messages import (
    PEER_ERRORS,
    SUT_SILENCE,
    expect_arrival,
    first_warning,
    msrp_media,
    sip_evidence,
)
from conformance.testcases.procedures.sessions import (
    CfInvite,
    GroupInvite,
    OriginatingSession,
    expect_cf_invite,
    fork_of,
    name_only_user,
    new_ids,
    pf_address,
    send_group_invite,
    user_with_clients,
)

__all__ = [
    "PEER_ERRORS",
    "SUT_SILENCE",
    "CfInvite",
    "GroupInvite",
    "OriginatingSession",
    "expect_arrival",
    "expect_cf_invite",
    "first_warning",
    "fork_of",
    "msrp_media",
    "name_only_user",
    "new_ids",
    "pf_address",
    "send_group_invite",
    "sip_evidence",
    "user_with_clients",
]
