"""A tiny engine UA for driving the reference SUT over loopback in tests/reference/.

One :class:`Peer` is one user (an AOR in From) with its own SIP pump and MSRP pump; it
builds out-of-dialog requests by hand and uses :class:`Dialog` for in-dialog ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from conformance.documents.conference_info import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ConferenceInfo,
    parse_conference_info,
)
from conformance.documents.resource_lists import Entry, ResourceList, build_resource_list
from conformance.net.msrp_pump import MsrpChannel, MsrpPump
from conformance.net.sip_pump import IncomingRequest, SipPump
from conformance.protocol.msrp.session import MsrpSession
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.multipart import build_multipart, build_part
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.protocol.sip.timers import Address, Timers

WITHIN = 5.0
TIMERS = Timers(t1=0.02)


@dataclass
class Call:
    """A joined group session as one participant sees it."""

    invite: SipRequest
    response: SipResponse
    dialog: Dialog | None = None
    channel: MsrpChannel | None = None
    session: MsrpSession | None = None


@dataclass
class Notification:
    incoming: IncomingRequest
    state: str
    info: ConferenceInfo | None


class Peer:
    def __init__(self, name: str, sip: SipPump, msrp: MsrpPump, domain: str) -> None:
        self.name = name
        self.sip = sip
        self.msrp = msrp
        self.aor = f"sip:{name}@{domain}"

    @classmethod
    async def start(cls, name: str, domain: str = "reference.test") -> Peer:
        sip = await SipPump.start(timers=TIMERS, retransmit_2xx=True)
        msrp = await MsrpPump.start()
        return cls(name, sip, msrp, domain)

    async def close(self) -> None:
        await self.sip.close()
        await self.msrp.close()

    @property
    def contact(self) -> str:
        a = self.sip.address()
        return f"sip:{self.name}@{a.host}:{a.port}"

    def via(self) -> str:
        a = self.sip.address()
        return f"SIP/2.0/UDP {a.host}:{a.port};branch={new_branch()};rport"

    def request(
        self,
        method: str,
        uri: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        identity: str | None = None,
    ) -> SipRequest:
        hs = [
            ("Via", self.via()),
            ("Max-Forwards", "70"),
            ("From", f"<{identity or self.aor}>;tag={new_tag()}"),
            ("To", f"<{uri}>"),
            ("Call-ID", new_call_id()),
            ("CSeq", f"1 {method}"),
            ("Contact", f"<{self.contact}>"),
            *headers,
        ]
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        return build_request(method, uri, hs, body)

    def _offer(self, session_id: str) -> bytes:
        return build_msrp_sdp(
            host="127.0.0.1",
            port=self.msrp.address().port,
            path=[self.msrp.uri(session_id)],
            accept_types=("message/cpim", "text/plain"),
            setup="active",
        )

    async def invite(
        self,
        target: str,
        destination: Address,
        *,
        recipients: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
        connect: bool = True,
    ) -> Call:
        """INVITE ``target`` (the factory with a recipient list, or a focus), ACK a 2xx
        and connect MSRP (bound with an empty SEND)."""
        session_id = new_tag()
        sdp = self._offer(session_id)
        if recipients:
            rl = build_resource_list(ResourceList(tuple(Entry(u) for u in recipients)))
            content_type, body = build_multipart(
                [
                    build_part("application/sdp", sdp),
                    build_part(
                        "application/resource-lists+xml",
                        rl,
                        disposition="recipient-list",
                    ),
                ]
            )
        else:
            content_type, body = "application/sdp", sdp
        invite = self.request(
            "INVITE", target, headers=headers, body=body, content_type=content_type
        )
        handle = await self.sip.request(invite, destination)
        response = await handle.final(WITHIN)
        call = Call(invite, response)
        if response.status != 200:
            return call
        dialog = Dialog.uac(invite, response)
        call.dialog = dialog
        ack = dialog.create_ack(invite.cseq[0], via=self.via())
        await self.sip.request(ack, destination)
        if connect:
            remote = parse_sdp(response.body).msrp.path
            uri = parse_msrp_uri(remote[-1])
            call.channel = await self.msrp.connect(uri.host, uri.port or 0, reuse=False)
            call.session = call.channel.add_session(self.msrp.uri(session_id), remote)
            call.channel.send_message(call.session, b"", None)
        return call

    async def bye(self, call: Call, destination: Address) -> SipResponse:
        assert call.dialog is not None
        bye = call.dialog.create_request("BYE", via=self.via())
        return await (await self.sip.request(bye, destination)).final(WITHIN)

    async def subscribe(
        self,
        focus: str,
        destination: Address,
        *,
        event: str = "conference",
        expires: int = 600,
        identity: str | None = None,
    ) -> tuple[SipRequest, SipResponse]:
        subscribe = self.request(
            "SUBSCRIBE",
            focus,
            headers=[
                ("Event", event),
                ("Accept", CONFERENCE_INFO_CONTENT_TYPE),
                ("Expires", str(expires)),
            ],
            identity=identity,
        )
        handle = await self.sip.request(subscribe, destination)
        return subscribe, await handle.final(WITHIN)

    async def notification(self, within: float = WITHIN) -> Notification:
        """The next NOTIFY (answered 200) with its Subscription-State and document."""
        incoming = await self.sip.expect_request("NOTIFY", within=within)
        incoming.respond(200)
        body = incoming.request.body
        info = parse_conference_info(body) if body else None
        return Notification(
            incoming, incoming.request.headers.get("Subscription-State") or "", info
        )


def endpoint_of(info: ConferenceInfo, user: str) -> tuple[str | None, str | None]:
    """``(status, disconnection-method)`` of the user's first endpoint."""
    found = info.user(user)
    assert found is not None, f"{user} not listed"
    ep = found.endpoints[0]
    return ep.status, ep.disconnection_method
