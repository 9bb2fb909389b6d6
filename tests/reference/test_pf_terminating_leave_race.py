"""The reference PF, terminating side (seed 003 8.3.2): the client leaves while the PF is
still opening its MSRP connection to it.

The core peer plays the CF (its INVITE for alice), the SIP/IP core and alice's client: it
answers the PF's INVITE 200 with ``a=setup:passive``, and the PF's MSRP connect waits on
an event of the test, so the client's BYE is handled before the connect completes.

- With ``Reason: SIP;cause=480`` the deferred procedure (8.3.2.9) takes the leg over and
  subscribes to the focus; once connected, the PF drops the MSRP session of the leg the
  client left (and the connection it opened for it) and does not start the subscription of
  200 OK step 3 as well: one subscription per user towards the CF (8.2.3).
- Without a Reason the session ends: the connection is dropped and nothing subscribes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from conformance.net.msrp_pump import MsrpChannel
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.msrp.session import ConnectionClosed
from conformance.protocol.sip.cpm import ICSI_SESSION_GROUP
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.sdp import build_msrp_sdp
from conformance.reference.pf.participants import FocusSubscription
from tests.reference.test_pf_originating import (
    ALICE,
    CONTRIB,
    CONV,
    FOCUS,
    INSTANCE_A,
    Net,
    network,
    offer,
    register,
    with_header,
)
from tests.reference.ua import WITHIN

CF_UA = ("User-Agent", "CPM-serv/OMA2.0 test-cf/1")


class Hooks:
    """The PF's MSRP connect held on ``gate``; the PF's subscriptions to a focus
    observed."""

    def __init__(self, net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
        pf = net.pf
        self.gate = asyncio.Event()
        self.connecting = asyncio.Event()
        self.channels: list[MsrpChannel] = []
        self.subscriptions: list[tuple[Any, ...]] = []
        connect = pf.msrp.connect
        subscribe = pf.participants.subscribe_to_focus

        async def gated_connect(host: str, port: int, *, reuse: bool = True) -> MsrpChannel:
            self.connecting.set()
            await asyncio.wait_for(self.gate.wait(), WITHIN)
            channel = await connect(host, port, reuse=reuse)
            self.channels.append(channel)
            return channel

        def counted_subscribe(
            *args: Any, **kwargs: Any
        ) -> Coroutine[Any, Any, FocusSubscription | None]:
            self.subscriptions.append(args)
            return subscribe(*args, **kwargs)

        monkeypatch.setattr(pf.msrp, "connect", gated_connect)
        monkeypatch.setattr(pf.participants, "subscribe_to_focus", counted_subscribe)


async def invite_alice(net: Net) -> tuple[IncomingRequest, Dialog]:
    """The CF's INVITE for alice (answered 200 and ACKed); the PF's INVITE to her client,
    answered 200 with a=setup:passive; the client's side of that dialog."""
    core = net.core
    invite = core.request(
        "INVITE",
        ALICE,
        headers=[
            CF_UA,
            ("P-Asserted-Service", ICSI_SESSION_GROUP),
            CONV,
            CONTRIB,
        ],
        body=offer(core, "cf1"),
        identity="sip:bob@reference.test",
    )
    invite = with_header(invite, "Contact", f"<{FOCUS}>;isfocus")
    handle = await core.sip.request(invite, net.pf.address)
    cf_ok = await handle.final(WITHIN)
    assert cf_ok.status == 200, cf_ok
    cf_dialog = Dialog.uac(invite, cf_ok)
    await core.sip.request(cf_dialog.create_ack(invite.cseq[0], via=core.via()), net.pf.address)
    fork = await core.sip.expect_request("INVITE", within=WITHIN)
    answer = build_msrp_sdp(
        host="127.0.0.1",
        port=core.msrp.address().port,
        path=[core.msrp.uri("alice1")],
        accept_types=("message/cpim",),
        setup="passive",
    )
    ok = response_to(
        fork.request,
        200,
        to_tag="alice-tag",
        headers=[("Contact", f"<{core.contact}>"), ("Content-Type", "application/sdp")],
        body=answer,
    )
    dialog = Dialog.uas(fork.request, "alice-tag", core.contact)
    dialog.confirm(ok)
    core.sip.retransmit_2xx_until_ack(fork, ok)
    return fork, dialog


def focus_accepts(subscribe: IncomingRequest, to_tag: str) -> None:
    """The focus answers the PF's SUBSCRIBE 200 (Contact: the focus; Expires: 600)."""
    subscribe.send(
        response_to(
            subscribe.request,
            200,
            to_tag=to_tag,
            headers=[("Contact", f"<{FOCUS}>"), ("Expires", "600")],
        )
    )


async def leave(net: Net, dialog: Dialog, reason: str | None) -> None:
    headers = [("Reason", reason)] if reason else []
    bye = dialog.create_request("BYE", via=net.core.via(), headers=headers)
    response = await (await net.core.sip.request(bye, net.pf.address)).final(WITHIN)
    assert response.status == 200, response


async def fork_done(net: Net) -> None:
    """The PF's INVITE to alice's client and what followed its answer are over."""
    (state,) = net.pf.terminating.states.values()
    (fork,) = state.forks
    await asyncio.wait_for(fork.done.wait(), WITHIN)


def answered_leg_msrp(net: Net) -> tuple[object, object]:
    (state,) = net.pf.terminating.states.values()
    assert state.answered is not None
    msrp = state.answered.leg.msrp
    return msrp.channel, msrp.session


def pending_or_held(net: Net) -> list[FocusSubscription]:
    return net.pf.participants.subscriptions(ALICE, FOCUS)


async def test_client_gone_during_msrp_setup_deferred_keeps_one_subscription(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with network() as net:
        hooks = Hooks(net, monkeypatch)
        assert await register(net, INSTANCE_A, "sip:alice@127.0.0.1:6001") == 200
        _, dialog = await invite_alice(net)
        await asyncio.wait_for(hooks.connecting.wait(), WITHIN)
        # the client is gone (cause 480) while the PF's MSRP connection is opening
        await leave(net, dialog, 'SIP;cause=480;text="Temporarily Unavailable"')
        (session_id,) = net.pf.deferred.entries
        # the deferred procedure's SUBSCRIBE (PF-8.3.2.9-SUBSCRIBE)
        subscribe = await net.core.sip.expect_request("SUBSCRIBE", within=WITHIN)
        focus_accepts(subscribe, "focus-sub")
        assert len(hooks.subscriptions) == 1
        hooks.gate.set()
        await fork_done(net)
        # 1. no live MSRP session on the leg the client left; the connection is closed
        assert answered_leg_msrp(net) == (None, None)
        (channel,) = hooks.channels
        assert not channel.machine.sessions
        accepted = await net.core.msrp.accepted(within=WITHIN)
        await accepted.expect(ConnectionClosed, within=WITHIN)
        assert net.pf.deferred.entries[session_id].session.core.dialog is None
        # 2. 200 OK step 3 started no second subscription to the focus for alice
        assert len(hooks.subscriptions) == 1
        assert len(pending_or_held(net)) == 1


async def test_client_leaving_during_msrp_setup_ends_without_subscription(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with network() as net:
        hooks = Hooks(net, monkeypatch)
        assert await register(net, INSTANCE_A, "sip:alice@127.0.0.1:6001") == 200
        _, dialog = await invite_alice(net)
        await asyncio.wait_for(hooks.connecting.wait(), WITHIN)
        # the user leaves (no Reason: not a loss): the session ends, BYE to the CF
        await leave(net, dialog, None)
        cf_bye = await net.core.sip.expect_request("BYE", within=WITHIN)
        cf_bye.respond(200)
        assert not net.pf.sessions and not net.pf.deferred.entries
        hooks.gate.set()
        await fork_done(net)
        assert answered_leg_msrp(net) == (None, None)
        (channel,) = hooks.channels
        assert not channel.machine.sessions
        accepted = await net.core.msrp.accepted(within=WITHIN)
        await accepted.expect(ConnectionClosed, within=WITHIN)
        # no subscription for a session that is already over
        assert hooks.subscriptions == []
        assert pending_or_held(net) == []
