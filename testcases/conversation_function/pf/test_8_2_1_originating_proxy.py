"""CPM Conversation Function 8.2.1 step 5: the originating PF that does not stay in the
media path acts as a SIP proxy (run with ``--pics pf.media_path=false``).

The tool plays the originating client (its S-CSCF pre-loads ``Route: <sip:PF;lr>``) and,
behind the SIP/IP core, the CF. Expected values are written here from the seed text and
RFC 3261 section 16.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.errors import RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.protocol.sip.headers import get_vias
from conformance.protocol.sip.uri import parse_uri
from conformance.testcases.procedures import pf_address, send_group_invite, sip_evidence
from conformance.testcases.procedures.sessions import GroupInvite


def _hostports(values: list[str]) -> list[str]:
    """``host:port`` of each (comma-separated) name-addr of header values."""
    out: list[str] = []
    for value in values:
        for entry in value.split(","):
            text = entry.strip()
            if text.startswith("<"):
                text = text[1 : text.find(">")] if ">" in text else text[1:]
            try:
                uri = parse_uri(text)
            except RemoteProtocolError:  # the SUT's header: listed as written, never an error
                out.append(text)
                continue
            out.append(f"{uri.host}:{uri.port}" if uri.port else uri.host or text)
    return out


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.1-5.a", "PF-8.2.1-5.b", "PF-8.2.1-5.c")
async def test_8_2_1_5_pf_acts_as_proxy(tc: Tc) -> None:
    """with {a PF that does not stay in the media path} ensure that
    { when {a registered client sends a group INVITE (Route: <sip:PF;lr> pre-loaded by
            its S-CSCF)}
      then {the PF forwards it as a proxy: the same Call-ID, its own Via on top of the
            client's (5.a), a Record-Route with its own URI (5.b), and the request goes on
            to the SIP/IP core with the Route entry naming the PF removed (5.c)} }"""
    cf = await tc.cf()
    pf = pf_address(tc.pixit)
    own = f"{pf.host}:{pf.port}"
    client = await tc.client(tc.pixit.users[0].uri, 0)
    # as the S-CSCF forwards it: a Route entry naming the PF (the next hop) on top
    session = await send_group_invite(
        client, tc.pixit, GroupInvite(extra_headers=(("Route", f"<sip:{own};lr>"),))
    )
    sent = session.sent
    incoming = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    got = incoming.request
    ev = [sip_evidence(sent, "the client's INVITE"), sip_evidence(got, "the INVITE the CF got")]

    vias = get_vias(got)
    sent_vias = get_vias(sent)
    top = vias[0] if vias else None
    expect_equal(
        tc.recorder,
        "PF-8.2.1-5.a",
        expected={
            "Call-ID": sent.call_id,
            "From": sent.headers.get("From"),
            "top Via sent-by": own,
            "client's Via below": True,
        },
        actual={
            "Call-ID": got.call_id,
            "From": got.headers.get("From"),
            "top Via sent-by": f"{top.host}:{top.port}" if top else None,
            "client's Via below": bool(sent_vias)
            and any(v.branch == sent_vias[0].branch for v in vias[1:]),
        },
        message="RFC 3261 16.6: a proxy keeps Call-ID and From, and adds its Via on top",
        evidence=ev,
    )
    record_routes = _hostports(got.headers.get_all("Record-Route"))
    expect_true(
        tc.recorder,
        "PF-8.2.1-5.b",
        own in record_routes,
        expected=f"a Record-Route with the PF's own URI ({own})",
        actual=record_routes or None,
        evidence=ev,
    )
    routes = _hostports(got.headers.get_all("Route"))
    expect_equal(
        tc.recorder,
        "PF-8.2.1-5.c",
        expected=(pf.host, False),
        actual=(incoming.incoming.source.host, own in routes),
        message="(sent by the PF to the SIP/IP core, a Route entry still naming the PF)",
        evidence=ev,
    )
    incoming.reject(480)
    await session.handle.final(within=tc.guards.sip)
