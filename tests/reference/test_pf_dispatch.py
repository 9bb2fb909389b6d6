"""The reference PF's answers to what it does not serve (RFC 3261 8.2, 11.2, 21.5.2):
OPTIONS gets 200 with its Allow, CANCEL 481, a method it does not implement 501 with Allow,
and an in-dialog request outside any dialog it knows 481."""

from __future__ import annotations

from conformance.reference.pf.core import ALLOW
from tests.reference.test_pf_originating import network, send, with_header


async def test_options_cancel_and_unsupported_methods() -> None:
    async with network() as net:
        options = await send(net, net.client.request("OPTIONS", "sip:bob@reference.test"))
        assert options.status == 200 and options.headers.get("Allow") == ALLOW
        cancel = await send(net, net.client.request("CANCEL", "sip:bob@reference.test"))
        assert cancel.status == 481
        message = await send(net, net.client.request("MESSAGE", "sip:bob@reference.test"))
        assert message.status == 501 and message.headers.get("Allow") == ALLOW
        info = net.client.request("INFO", "sip:bob@reference.test")
        unknown = await send(net, with_header(info, "To", "<sip:bob@x>;tag=nope"))
        assert unknown.status == 481
        reinvite = net.client.request("INVITE", "sip:bob@reference.test")
        assert (await send(net, with_header(reinvite, "To", "<sip:bob@x>;tag=nope"))).status == 481
