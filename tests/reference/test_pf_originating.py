"""The reference PF, originating side (seed 003 8.2.1), driven over loopback sockets.

alice's client sends its INVITE to the PF; a second engine peer plays the SIP/IP core
and the terminating side (``config.core``), answering like a CF would: a focus Contact
with ``isfocus`` and an MSRP answer with ``a=setup:passive``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.documents.groupstate import parse_group_state
from conformance.documents.resource_lists import Entry, ResourceList, build_resource_list
from conformance.documents.store_object import parse_store_object, session_history_folder
from conformance.net.clock import WaitTimeout
from conformance.net.maildir import MaildirStore
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.cpm import ICSI_SESSION, ICSI_SESSION_GROUP
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.headers import (
    format_icsi_ref,
    get_contacts,
    get_option_tags,
    get_warnings,
    parse_session_expires,
)
from conformance.protocol.sip.ids import new_branch
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.multipart import (
    build_multipart,
    build_part,
    find_recipient_list,
    parse_multipart,
)
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.protocol.sip.transaction import tag_of
from conformance.reference.config import ReferenceConfig, ReferenceUser
from conformance.reference.faults import ActiveFaults
from conformance.reference.pf.policy import PfPolicy
from conformance.reference.pf.service import ParticipatingFunction
from conformance.reference.pf.xdms import fetch_preferences
from tests.reference.ua import WITHIN, Peer

ABSENCE = ReferenceConfig().timers.b
ALICE = "sip:alice@reference.test"
UA = ("User-Agent", "CPM-client/OMA2.0 test-client/1")
CONV = ("Conversation-ID", "c0ffee0000000000000000000000c0de")
CONTRIB = ("Contribution-ID", "abcdef0123456789abcdef0123456789")
INSTANCE_A = "<urn:uuid:00000000-0000-0000-0000-00000000000a>"
INSTANCE_B = "<urn:uuid:00000000-0000-0000-0000-00000000000b>"
FOCUS = "sip:conf-1@127.0.0.1:5999"
ACCEPT_CONTACT = f"*;{format_icsi_ref([ICSI_SESSION])};require;explicit"


# -- a tiny XDMS --------------------------------------------------------------------------
@asynccontextmanager
async def xdms(preferences: dict[str, dict[str, object]]) -> AsyncIterator[str]:
    """An HTTP server answering GET /preferences/<user> from ``preferences``."""
    import urllib.parse

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1].decode()
        user = urllib.parse.unquote(path.rsplit("/", 1)[-1])
        doc = preferences.get(user)
        if doc is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        else:
            body = json.dumps(doc).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


# -- the network ----------------------------------------------------------------------------
@dataclass
class Net:
    pf: ParticipatingFunction
    client: Peer
    core: Peer
    store: Path | None = None


@asynccontextmanager
async def network(
    *faults: str,
    policy: PfPolicy | None = None,
    xdms_url: str | None = None,
    store: Path | None = None,
) -> AsyncIterator[Net]:
    client = await Peer.start("alice")
    core = await Peer.start("core")
    config = ReferenceConfig(
        core=core.sip.address(),
        faults=ActiveFaults(frozenset(faults)),
        users=(ReferenceUser(ALICE), ReferenceUser("sip:mallory@reference.test")),
        xdms_url=xdms_url,
        store_url=f"maildir:{store}" if store is not None else None,
        pf_policy=policy,
    )
    pf = await ParticipatingFunction.start(config)
    try:
        yield Net(pf, client, core, store)
    finally:
        await pf.close()
        await client.close()
        await core.close()


def offer(peer: Peer, session_id: str = "c1") -> bytes:
    return build_msrp_sdp(
        host="127.0.0.1",
        port=peer.msrp.address().port,
        path=[peer.msrp.uri(session_id)],
        accept_types=("message/cpim",),
        accept_wrapped_types=("text/plain", "message/imdn+xml"),
        setup="active",
    )


def group_invite(
    net: Net,
    *,
    headers: Sequence[tuple[str, str]] = (),
    identity: str | None = None,
    user_agent: tuple[str, str] | None = UA,
    recipients: Sequence[str] = ("sip:bob@reference.test", "sip:carol@reference.test"),
) -> SipRequest:
    """alice's group INVITE to the conference factory (RFC 5366)."""
    parts = [build_part("application/sdp", offer(net.client))]
    if recipients:
        rl = build_resource_list(ResourceList(tuple(Entry(u) for u in recipients)))
        parts.append(build_part("application/resource-lists+xml", rl, disposition="recipient-list"))
    content_type, body = build_multipart(parts)
    hs = [
        ("P-Preferred-Service", ICSI_SESSION_GROUP),
        ("Accept-Contact", ACCEPT_CONTACT),
        CONV,
        CONTRIB,
        ("Subject", "plans"),
        ("Supported", "timer, recipient-list-invite"),
        ("Require", "recipient-list-invite"),
        *([user_agent] if user_agent else []),
        *headers,
    ]
    request = net.client.request(
        "INVITE",
        "sip:cpm-factory@cf.reference.test",
        headers=hs,
        body=body,
        content_type=content_type,
        identity=identity,
    )
    # the client's Contact carries its feature tags (copied per 4.h)
    contact = (
        f'<{net.client.contact}>;+sip.instance="{INSTANCE_A}";{format_icsi_ref([ICSI_SESSION])}'
    )
    return with_header(request, "Contact", contact)


def with_header(request: SipRequest, name: str, value: str) -> SipRequest:
    headers = [(h.name, h.value) for h in request.headers if h.name.lower() != name.lower()]
    headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
    headers.append((name, value))
    return build_request(request.method, request.uri, headers, request.body)


async def send(net: Net, request: SipRequest) -> SipResponse:
    handle = await net.client.sip.request(request, net.pf.address)
    return await handle.final(WITHIN)


@dataclass
class Established:
    client_invite: SipRequest
    core_invite: IncomingRequest
    core_ok: SipResponse
    client_ok: SipResponse
    client_dialog: Dialog
    ack: IncomingRequest | None


async def establish(
    net: Net, invite: SipRequest | None = None, *, focus: bool = True, expect_ack: bool = True
) -> Established:
    """alice INVITEs, the core answers 200 (a CF), alice ACKs; the core's view returned."""
    invite = invite or group_invite(net)
    handle = await net.client.sip.request(invite, net.pf.address)
    incoming = await net.core.sip.expect_request("INVITE", within=WITHIN)
    answer = build_msrp_sdp(
        host="127.0.0.1",
        port=net.core.msrp.address().port,
        path=[net.core.msrp.uri("cf1")],
        accept_types=("message/cpim",),
        accept_wrapped_types=("text/plain",),
        setup="passive",
    )
    contact = f"<{FOCUS}>;isfocus" if focus else f"<{net.core.contact}>"
    ok = response_to(
        incoming.request,
        200,
        to_tag="cf-tag",
        headers=[("Contact", contact), ("Content-Type", "application/sdp"), CONV, CONTRIB],
        body=answer,
    )
    net.core.sip.retransmit_2xx_until_ack(incoming, ok)
    client_ok = await handle.final(WITHIN)
    assert client_ok.status == 200, client_ok
    dialog = Dialog.uac(invite, client_ok)
    a = net.client.sip.address()
    via = f"SIP/2.0/UDP {a.host}:{a.port};branch={new_branch()}"
    ack = dialog.create_ack(invite.cseq[0], via=via)
    await net.client.sip.request(ack, net.pf.address)
    core_ack = None
    if expect_ack:
        core_ack = await net.core.sip.expect_request("ACK", within=WITHIN)
    return Established(invite, incoming, ok, client_ok, dialog, core_ack)


def warning_of(response: SipResponse) -> tuple[int, str, str]:
    (warning,) = get_warnings(response)
    return warning.code, warning.agent, warning.text


# -- third-party REGISTER -------------------------------------------------------------------
def third_party_register(
    net: Net, instance: str, contact: str, *, expires: int = 600, user_agent: str = UA[1]
) -> SipRequest:
    inner = build_request(
        "REGISTER",
        "sip:reference.test",
        [
            ("Via", f"SIP/2.0/UDP 127.0.0.1:5070;branch={new_branch()}"),
            ("From", f"<{ALICE}>;tag=r1"),
            ("To", f"<{ALICE}>"),
            ("Call-ID", "reg-1"),
            ("CSeq", "1 REGISTER"),
            (
                "Contact",
                f'<{contact}>;+sip.instance="{instance}";'
                f"{format_icsi_ref([ICSI_SESSION, ICSI_SESSION_GROUP])};expires={expires}",
            ),
            ("User-Agent", user_agent),
            ("Expires", str(expires)),
        ],
    )
    return net.core.request(
        "REGISTER",
        "sip:pf.reference.test",
        headers=[("To", f"<{ALICE}>"), ("Expires", str(expires))],
        body=inner.to_bytes(),
        content_type="message/sip",
        identity="sip:scscf.reference.test",
    )


async def register(net: Net, instance: str, contact: str, expires: int = 600) -> int:
    request = third_party_register(net, instance, contact, expires=expires)
    # the outer To is the user (third_party_register's request() sets To to the R-URI)
    request = with_header(request, "To", f"<{ALICE}>")
    handle = await net.core.sip.request(request, net.pf.address)
    return (await handle.final(WITHIN)).status


async def test_third_party_register_adds_and_removes_clients() -> None:
    async with network() as net:
        assert await register(net, INSTANCE_A, "sip:alice@127.0.0.1:6001") == 200
        assert await register(net, INSTANCE_B, "sip:alice@127.0.0.1:6002") == 200
        bindings = net.pf.registrations.bindings(ALICE, net.pf.loop.time())
        assert {b.instance for b in bindings} == {INSTANCE_A, INSTANCE_B}
        b = next(b for b in bindings if b.instance == INSTANCE_B)
        assert b.contact == "sip:alice@127.0.0.1:6002"
        assert ICSI_SESSION_GROUP in b.icsi and b.user_agent == UA[1]
        assert await register(net, INSTANCE_B, "sip:alice@127.0.0.1:6002", expires=0) == 200
        left = net.pf.registrations.bindings(ALICE, net.pf.loop.time())
        assert [x.instance for x in left] == [INSTANCE_A]


async def test_register_without_message_sip_body_is_400() -> None:
    async with network() as net:
        request = net.core.request("REGISTER", "sip:pf.reference.test")
        handle = await net.core.sip.request(request, net.pf.address)
        assert (await handle.final(WITHIN)).status == 400


async def test_an_invalid_option_tag_gets_a_final_answer() -> None:
    """Found by the robustness campaign (input 1:1132): the PF answered 100 Trying and then
    nothing, its task failing on the option tag; a 400 ends the transaction now."""
    async with network() as net:
        request = group_invite(net, headers=(("Supported", "timer<x>"),))
        response = await send(net, request)
        assert response.status == 400


# -- steps 1-4.a: rejections --------------------------------------------------------------
async def test_step1_unauthorised_originator_gets_403_warning_127() -> None:
    async with network() as net:
        response = await send(net, group_invite(net, identity="sip:mallory@reference.test"))
        assert (response.status, response.reason) == (403, "Forbidden")
        assert warning_of(response) == (127, "pf.reference.test", "Service not authorised")
        # a user the PF does not serve is not allowed either
        response = await send(net, group_invite(net, identity="sip:eve@elsewhere.test"))
        assert response.status == 403 and warning_of(response)[0] == 127
        with pytest.raises(WaitTimeout):
            await net.core.sip.expect_request("INVITE", within=ABSENCE)


async def test_step2_user_agent_without_the_release_gets_403_warning_132() -> None:
    async with network() as net:
        for ua in (("User-Agent", "CPM-client/OMA1.0 old/1"), None):
            response = await send(net, group_invite(net, user_agent=ua))
            assert response.status == 403
            assert warning_of(response) == (132, "pf.reference.test", "Version not supported")
    # no check when the PF requires no version
    async with network(policy=PfPolicy(required_ua_release=None)) as net:
        established = await establish(net, group_invite(net, user_agent=None))
        assert established.client_ok.status == 200


async def test_step3_anonymity_gets_403_warning_119() -> None:
    async with network() as net:
        for extra in (
            [("Privacy", "id"), ("P-Asserted-Identity", f"<{ALICE}>")],
            [("P-Asserted-Identity", f"<{ALICE}>")],
        ):
            invite = group_invite(net, headers=extra)
            if len(extra) == 1:  # an anonymous From with the asserted identity alice
                invite = with_header(
                    invite, "From", '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=x1'
                )
            response = await send(net, invite)
            assert response.status == 403
            assert warning_of(response) == (119, "pf.reference.test", "Anonymity not allowed")


async def test_step4a_unexpected_asserted_service_gets_403() -> None:
    async with network() as net:
        invite = group_invite(
            net, headers=[("P-Asserted-Service", "urn:urn-7:3gpp-service.ims.icsi.mmtel")]
        )
        response = await send(net, invite)
        assert response.status == 403 and not get_warnings(response)


async def test_invite_to_a_served_user_is_480_for_now_and_garbage_is_answered() -> None:
    async with network() as net:
        request = net.client.request(
            "INVITE", ALICE, headers=[UA], body=offer(net.client), identity="sip:bob@x.test"
        )
        assert (await send(net, request)).status == 480
        no_sdp = net.client.request("INVITE", "sip:bob@reference.test", headers=[UA])
        assert (await send(net, no_sdp)).status == 488
        bye = net.client.request("BYE", "sip:bob@reference.test")
        assert (await send(net, with_header(bye, "To", "<sip:bob@x>;tag=nope"))).status == 481


# -- steps 4.b-4.m: the generated INVITE ----------------------------------------------------
async def test_generated_invite_items() -> None:
    async with network() as net:
        est = await establish(net)
        original, out = est.client_invite, est.core_invite.request
        # 4.d: Request-URI, CPM ids, Subject and the recipient list copied
        assert out.uri == original.uri
        for name in ("Conversation-ID", "Contribution-ID", "Subject"):
            assert out.headers.get(name) == original.headers.get(name), name
        assert out.headers.get("InReplyTo-Contribution-ID") is None
        out_ct = out.headers.get("Content-Type") or ""
        original_ct = original.headers.get("Content-Type") or ""
        out_list = find_recipient_list(parse_multipart(out.body, out_ct))
        in_list = find_recipient_list(parse_multipart(original.body, original_ct))
        assert out_list is not None and in_list is not None
        assert out_list.body == in_list.body
        # 4.e: a new dialog
        assert out.call_id != original.call_id
        assert tag_of(out, "From") != tag_of(original, "From")
        assert net.pf.hostport in (out.headers.get("Via") or "")
        # 4.c.iii: P-Preferred-Service group -> P-Asserted-Service group
        assert out.headers.get("P-Asserted-Service") == ICSI_SESSION_GROUP
        assert out.headers.get("P-Preferred-Service") is None
        # 4.g: User-Agent with the CPM-serv release
        assert (out.headers.get("User-Agent") or "").startswith("CPM-serv/OMA2.0")
        # 4.h / 4.i: Contact parameters copied, URI the PF's own; Accept-Contact copied
        (contact,) = get_contacts(out)
        assert net.pf.hostport in contact.uri and contact.uri != net.client.contact
        assert contact.instance == INSTANCE_A and contact.icsi_refs == (ICSI_SESSION,)
        assert out.headers.get_all("Accept-Contact") == [ACCEPT_CONTACT]
        # 4.j: timer and recipient-list-invite
        assert set(get_option_tags(out, "Supported")) == {"timer", "recipient-list-invite"}
        # 4.k / 4.l
        se = parse_session_expires(out.headers.get("Session-Expires") or "")
        assert se.refresher == "uac" and se.delta <= 1800
        # 4.m: an offer based on the client's, with the PF's own path
        sdp_part = next(
            p for p in parse_multipart(out.body, out_ct) if p.mime_type == "application/sdp"
        )
        media = parse_sdp(sdp_part.body).msrp
        assert media.accept_types == ["message/cpim"]
        assert media.accept_wrapped_types == ["text/plain", "message/imdn+xml"]
        assert media.path and str(net.pf.msrp.address().port) in media.path[0]
        assert media.setup == "actpass"


@pytest.mark.parametrize(
    ("pps", "policy", "expected"),
    [
        (ICSI_SESSION, PfPolicy(), ICSI_SESSION),
        ("urn:urn-7:other", PfPolicy(), ICSI_SESSION),  # from Accept-Contact (4.c.iv.1)
        (
            "urn:urn-7:other",
            PfPolicy(pps_other_policy="configuration", configured_service="urn:x-conf"),
            "urn:x-conf",
        ),
    ],
)
async def test_step4c_asserted_service(pps: str, policy: PfPolicy, expected: str) -> None:
    async with network(policy=policy) as net:
        invite = with_header(group_invite(net), "P-Preferred-Service", pps)
        est = await establish(net, invite)
        out = est.core_invite.request
        assert out.headers.get("P-Asserted-Service") == expected
        assert out.headers.get("P-Preferred-Service") is None


# -- the 200 OK steps ---------------------------------------------------------------------
async def test_200_ok_items_and_ack() -> None:
    async with network() as net:
        est = await establish(net)
        ok = est.client_ok
        # 3: Server with the CPM-serv release
        assert (ok.headers.get("Server") or "").startswith("CPM-serv/OMA2.0")
        # 4: the answer from the terminating one, a=setup:passive, the PF's path
        media = parse_sdp(ok.body).msrp
        assert media.setup == "passive"
        assert media.accept_types == ["message/cpim"]
        assert str(net.pf.msrp.address().port) in media.path[0]
        # 5: the focus Contact is copied
        (contact,) = get_contacts(ok)
        assert contact.uri == FOCUS and contact.isfocus
        # 7: the ACK reaches the terminating leg, in its dialog
        assert est.ack is not None
        assert est.ack.request.call_id == est.core_invite.request.call_id
        assert tag_of(est.ack.request, "To") == "cf-tag"


async def test_200_ok_contact_is_own_without_isfocus_and_bye_crosses() -> None:
    async with network() as net:
        est = await establish(net, focus=False)
        (contact,) = get_contacts(est.client_ok)
        assert not contact.isfocus and net.pf.hostport in contact.uri
        # BYE from the client ends the terminating leg with BYE
        a = net.client.sip.address()
        bye = est.client_dialog.create_request(
            "BYE", via=f"SIP/2.0/UDP {a.host}:{a.port};branch={new_branch()}"
        )
        handle = await net.client.sip.request(bye, net.pf.address)
        assert (await handle.final(WITHIN)).status == 200
        core_bye = await net.core.sip.expect_request("BYE", within=WITHIN)
        assert core_bye.request.call_id == est.core_invite.request.call_id
        core_bye.respond(200)


async def test_200_ok_copies_record_route_and_keeps_the_pf_on_the_clients_path() -> None:
    """RFC 3261 12.1.1: the 200 OK copies the INVITE's Record-Route; the PF, whose Contact
    is the focus's, puts its own entry on top, so the client's route set (12.1.2, the
    Record-Route reversed) leads through the proxy to the PF, not by the focus URI."""
    proxy = "<sip:proxy.reference.test;lr;ftag=x>"
    async with network() as net:
        invite = with_header(group_invite(net), "Record-Route", proxy)
        est = await establish(net, invite)
        own = f"<sip:{net.pf.hostport};lr>"
        assert est.client_ok.headers.get_all("Record-Route") == [own, proxy]
        (contact,) = get_contacts(est.client_ok)
        assert contact.uri == FOCUS and contact.isfocus
        assert est.client_dialog.route_set == [proxy, own]
        assert est.client_dialog.remote_target == FOCUS
        # the client's BYE: Request-URI the focus, Route the proxy then the PF; the proxy
        # takes its own entry off (RFC 3261 16.4) and hands it to the PF
        a = net.client.sip.address()
        bye = est.client_dialog.create_request(
            "BYE", via=f"SIP/2.0/UDP {a.host}:{a.port};branch={new_branch()}"
        )
        assert bye.uri == FOCUS
        assert bye.headers.get_all("Route") == [proxy, own]
        at_pf = with_header(
            build_request(
                "BYE",
                bye.uri,
                [
                    (h.name, h.value)
                    for h in bye.headers
                    if h.name.lower() not in ("route", "content-length")
                ],
            ),
            "Route",
            own,
        )
        handle = await net.client.sip.request(at_pf, net.pf.address)
        assert (await handle.final(WITHIN)).status == 200
        core_bye = await net.core.sip.expect_request("BYE", within=WITHIN)
        assert core_bye.request.call_id == est.core_invite.request.call_id
        core_bye.respond(200)


async def test_200_ok_without_record_route_in_the_invite_has_the_pfs_own() -> None:
    async with network() as net:
        est = await establish(net)
        own = f"<sip:{net.pf.hostport};lr>"
        assert est.client_ok.headers.get_all("Record-Route") == [own]
        assert est.client_dialog.route_set == [own]
        assert est.client_dialog.next_hop() == f"sip:{net.pf.hostport};lr"
    async with network("pf.ok-no-record-route") as net:
        est = await establish(net, with_header(group_invite(net), "Record-Route", "<sip:p;lr>"))
        assert not est.client_ok.headers.has("Record-Route")
        assert est.client_dialog.route_set == []


async def test_client_subscribe_200_copies_record_route() -> None:
    """RFC 3261 12.1.1 / RFC 6665 4.2.1: the PF's 200 to a client's SUBSCRIBE (a dialog-
    creating 2xx, B2BUA mode of 8.2.3) copies the SUBSCRIBE's Record-Route in order, so the
    client's route set leads through the proxy; the PF's Contact is its own."""
    proxy = "<sip:proxy.reference.test;lr;ftag=y>"
    async with network() as net:
        await establish(net)
        subscribe = net.client.request(
            "SUBSCRIBE",
            FOCUS,
            identity=ALICE,
            headers=[
                ("Event", "conference"),
                ("Expires", "600"),
                ("Accept", "application/conference-info+xml"),
                ("Record-Route", proxy),
                ("Record-Route", "<sip:second.test;lr>"),
            ],
        )
        handle = await net.client.sip.request(subscribe, net.pf.address)
        ok = await handle.final(WITHIN)
        assert ok.status == 200, ok
        assert ok.headers.get_all("Record-Route") == [proxy, "<sip:second.test;lr>"]
        (contact,) = get_contacts(ok)
        assert net.pf.hostport in contact.uri


async def test_terminating_failure_goes_back_to_the_client() -> None:
    async with network() as net:
        handle = await net.client.sip.request(group_invite(net), net.pf.address)
        incoming = await net.core.sip.expect_request("INVITE", within=WITHIN)
        incoming.respond(486, "Busy Here")
        assert (await handle.final(WITHIN)).status == 486


async def test_msrp_is_relayed_between_the_legs() -> None:
    async with network() as net:
        est = await establish(net)
        # the PF connects to the terminating side (it answered passive)
        core_channel = await net.core.msrp.accepted(within=WITHIN)
        out = est.core_invite.request
        parts = parse_multipart(out.body, out.headers.get("Content-Type") or "")
        sdp = next(p.body for p in parts if p.mime_type == "application/sdp")
        remote = parse_sdp(sdp).msrp.path
        core_session = core_channel.add_session(net.core.msrp.uri("cf1"), remote)
        # the client connects to the PF (it offered active)
        path = parse_sdp(est.client_ok.body).msrp.path
        uri = parse_msrp_uri(path[-1])
        channel = await net.client.msrp.connect(uri.host, uri.port or 0, reuse=False)
        session = channel.add_session(net.client.msrp.uri("c1"), path)
        channel.send_message(session, b"hello group", "text/plain")
        got = await core_channel.expect(
            MessageReceived, within=WITHIN, match=lambda e: e.body == b"hello group"
        )
        assert got.content_type == "text/plain"
        core_channel.send_message(core_session, b"hi alice", "text/plain")
        back = await channel.expect(
            MessageReceived, within=WITHIN, match=lambda e: e.body == b"hi alice"
        )
        assert back.session is session


# -- step 8: storage ------------------------------------------------------------------------
async def test_step8_storage_when_the_xdms_allows_offline_storage(tmp_path: Path) -> None:
    async with xdms({ALICE: {"allow-offline-storage": True}}) as url:
        assert (await fetch_preferences(url, ALICE)).allow_offline_storage
        assert not (await fetch_preferences(url, "sip:nobody@x")).allow_offline_storage
        async with network(xdms_url=url, store=tmp_path) as net:
            await establish(net)
            folder = session_history_folder(CONTRIB[1])
            store = MaildirStore(tmp_path)
            messages = await wait_for_messages(store, folder, 2)
    objects = [parse_store_object(m.raw) for m in messages]
    types = [o.header("Content-Type") for o in objects]
    assert types == ["application/x-cpm-session", "application/group-state-object+xml"]
    for obj in objects:
        assert obj.header("Conversation-ID") == CONV[1]
        assert obj.header("Contribution-ID") == CONTRIB[1]
    assert b"INVITE sip:cpm-factory@cf.reference.test" in objects[0].body
    gso = parse_group_state(objects[1].body)
    assert gso.lastfocussessionid == FOCUS
    assert [p.comm_addr for p in gso.participants] == [
        ALICE,
        "sip:bob@reference.test",
        "sip:carol@reference.test",
    ]


async def test_step8_nothing_stored_without_the_preference(tmp_path: Path) -> None:
    async with xdms({}) as url, network(xdms_url=url, store=tmp_path) as net:
        await establish(net)
        with pytest.raises(WaitTimeout):
            await wait_for_messages(
                MaildirStore(tmp_path, create=True),
                session_history_folder(CONTRIB[1]),
                1,
                within=ABSENCE,
            )


async def wait_for_messages(
    store: MaildirStore, folder: str, count: int, within: float = WITHIN
) -> list[object]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if store.folder_exists(folder):
            found = store.messages(folder)
            if len(found) >= count:
                return list(found)
        if loop.time() > deadline:
            raise WaitTimeout(f"{count} message(s) in {folder}", within)
        await asyncio.sleep(0.01)


# -- step 10: direct delivery -------------------------------------------------------------
async def test_step10_direct_delivery_to_the_other_client() -> None:
    async with network() as net:
        await register(net, INSTANCE_A, net.client.contact)
        await register(net, INSTANCE_B, "sip:alice@127.0.0.1:6002")
        est = await establish(net)
        delivered = await net.core.sip.expect_request("INVITE", within=WITHIN)
        request = delivered.request
        assert request.uri == ALICE
        assert INSTANCE_B in (request.headers.get("Accept-Contact") or "")
        # 10.b.ii: P-Asserted-Identity of the terminating 200 OK (here its focus Contact)
        assert FOCUS in (request.headers.get("P-Asserted-Identity") or "")
        # 10.b.iii: the rest copied
        assert request.headers.get("Conversation-ID") == CONV[1]
        assert request.headers.get("Subject") == "plans"
        assert request.call_id != est.core_invite.request.call_id
        delivered.respond(480)


# -- faults change what is observed ---------------------------------------------------------
async def test_faults_change_the_observed_items() -> None:
    async with network("pf.no-warning-127") as net:
        response = await send(net, group_invite(net, identity="sip:mallory@reference.test"))
        assert response.status == 403 and not get_warnings(response)
    async with network("pf.warning-text-132-wrong") as net:
        response = await send(net, group_invite(net, user_agent=None))
        assert warning_of(response)[2] == "Version unsupported"
    async with network(
        "pf.session-expires-3600",
        "pf.refresher-uas",
        "pf.no-user-agent",
        "pf.contribution-id-not-copied",
        "pf.no-timer-tag",
        "pf.server-header-missing",
        "pf.answer-setup-active",
        "pf.isfocus-contact-replaced",
    ) as net:
        est = await establish(net)
        out = est.core_invite.request
        se = parse_session_expires(out.headers.get("Session-Expires") or "")
        assert (se.delta, se.refresher) == (3600, "uas")
        assert out.headers.get("User-Agent") is None
        assert out.headers.get("Contribution-ID") is None
        assert "timer" not in get_option_tags(out, "Supported")
        assert est.client_ok.headers.get("Server") is None
        assert parse_sdp(est.client_ok.body).msrp.setup == "active"
        assert not get_contacts(est.client_ok)[0].isfocus
    async with network("pf.ack-not-propagated") as net:
        await establish(net, expect_ack=False)
        with pytest.raises(WaitTimeout):
            await net.core.sip.expect_request("ACK", within=ABSENCE)
    async with network("pf.no-direct-delivery") as net:
        await register(net, INSTANCE_B, "sip:alice@127.0.0.1:6002")
        await establish(net)
        with pytest.raises(WaitTimeout):
            await net.core.sip.expect_request("INVITE", within=ABSENCE)


async def test_no_gso_fault(tmp_path: Path) -> None:
    async with (
        xdms({ALICE: {"allow-offline-storage": True}}) as url,
        network("pf.no-gso-stored", xdms_url=url, store=tmp_path) as net,
    ):
        await establish(net)
        store = MaildirStore(tmp_path)
        messages = await wait_for_messages(store, session_history_folder(CONTRIB[1]), 1)
        with pytest.raises(WaitTimeout):
            await wait_for_messages(store, session_history_folder(CONTRIB[1]), 2, within=ABSENCE)
    assert len(messages) == 1


# -- step 5: proxy ----------------------------------------------------------------------------
async def test_step5_proxy_record_routes_and_forwards() -> None:
    async with network(policy=PfPolicy(media_path=False)) as net:
        invite = group_invite(net)
        handle = await net.client.sip.request(invite, net.pf.address)
        incoming = await net.core.sip.expect_request("INVITE", within=WITHIN)
        out = incoming.request
        assert out.call_id == invite.call_id
        assert tag_of(out, "From") == tag_of(invite, "From")
        assert out.headers.get("Record-Route") == f"<sip:{net.pf.hostport};lr>"
        assert len(out.headers.get_all("Via")) == 2
        incoming.respond(486, "Busy Here")
        assert (await handle.final(WITHIN)).status == 486
    async with network("pf.no-record-route", policy=PfPolicy(media_path=False)) as net:
        await net.client.sip.request(group_invite(net), net.pf.address)
        incoming = await net.core.sip.expect_request("INVITE", within=WITHIN)
        assert incoming.request.headers.get("Record-Route") is None
        incoming.respond(486)
