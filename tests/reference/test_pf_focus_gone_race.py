"""The reference PF, deferred delivery (seed 003 8.3.2.9, seed 000 B.2.3.5.X step 6): the
focus ends the PF's subscription before the PF has seen the 2xx to its SUBSCRIBE.

Client B (alice) leaves with cause 480 while the PF's SUBSCRIBE of 8.3.2 200 OK step 3 is
pending, so the deferred procedure waits for that subscription. The focus's NOTIFYs
overtake its 2xx (RFC 6665 allows that): a full state with a newcomer, then
``terminated;reason=noresource``. The subscription the deferred procedure keeps is that
one, with the newcomer in its last state; the PF does not subscribe again to a resource
that is gone (RFC 6665 4.1.3).

Under load the same order came from the pool's dispatcher: the final NOTIFY of B.2.3.5.X
step 6 then lacked the newcomer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    User,
    build_conference_info,
)
from conformance.protocol.sip.dialog import Dialog
from conformance.reference.pf.deferred import final_participants, latest_participants
from conformance.reference.pf.participants import FocusSubscription
from tests.reference.test_pf_originating import ALICE, FOCUS, INSTANCE_A, Net, network, register
from tests.reference.test_pf_terminating_leave_race import focus_accepts, invite_alice, leave
from tests.reference.ua import WITHIN

NEWCOMER = "sip:newcomer@reference.test"
PARTICIPANTS = (ALICE, "sip:bob@reference.test", NEWCOMER)


def state(version: int) -> bytes:
    return build_conference_info(
        ConferenceInfo(
            entity=FOCUS,
            state=DocState.FULL,
            version=version,
            users=tuple(User(entity=u) for u in PARTICIPANTS),
        )
    )


async def test_focus_ended_before_the_2xx_is_the_deferred_subscription(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with network() as net:
        pf = net.pf
        started: list[tuple[Any, ...]] = []
        subscribe = pf.participants.subscribe_to_focus

        def counted(*args: Any, **kwargs: Any) -> Coroutine[Any, Any, FocusSubscription | None]:
            started.append(args)
            return subscribe(*args, **kwargs)

        monkeypatch.setattr(pf.participants, "subscribe_to_focus", counted)
        assert await register(net, INSTANCE_A, "sip:alice@127.0.0.1:6001") == 200
        _, dialog = await invite_alice(net)
        # 8.3.2 200 OK step 3: the PF's SUBSCRIBE, left unanswered for now
        step3 = await net.core.sip.expect_request("SUBSCRIBE", within=WITHIN)
        assert len(started) == 1
        # client B is gone (cause 480): the deferred procedure waits for that subscription
        await leave(net, dialog, 'SIP;cause=480;text="Temporarily Unavailable"')
        # the focus: its NOTIFYs first (full state, then the end), its 2xx last
        focus_dialog = Dialog.uas(step3.request, "focus-tag", FOCUS)
        await notify(net, focus_dialog, 1, "active;expires=600")
        await notify(net, focus_dialog, 2, "terminated;reason=noresource")
        focus_accepts(step3, "focus-tag")
        (entry,) = pf.deferred.entries.values()
        await asyncio.wait_for(entry.focus_settled.wait(), WITHIN)
        # the deferred procedure kept the ended subscription, and started none of its own
        assert entry.sub is not None and entry.sub.request.call_id == step3.request.call_id
        assert len(started) == 1
        # B.2.3.5.X step 6: the participants before the session ended, the newcomer too
        assert final_participants(entry, pf.faults) == list(PARTICIPANTS)


async def notify(net: Net, focus_dialog: Dialog, version: int, subscription_state: str) -> None:
    """The focus's NOTIFY with the full state (``PARTICIPANTS``), answered 200 by the PF."""
    core = net.core
    request = focus_dialog.create_request(
        "NOTIFY",
        via=core.via(),
        headers=[
            ("Event", "conference"),
            ("Subscription-State", subscription_state),
            ("Content-Type", "application/conference-info+xml"),
        ],
        body=state(version),
    )
    answer = await (await core.sip.request(request, net.pf.address)).final(WITHIN)
    assert answer.status == 200, answer


async def test_the_pending_subscription_is_the_deferred_one_at_once() -> None:
    """The messages the PF buffers while its SUBSCRIBE's 2xx is not yet seen are stored
    with the participants the focus has already reported (5.2.3.5 CPIM To): the deferred
    procedure takes the pending subscription as its own at once."""
    async with network() as net:
        pf = net.pf
        assert await register(net, INSTANCE_A, "sip:alice@127.0.0.1:6001") == 200
        _, dialog = await invite_alice(net)
        step3 = await net.core.sip.expect_request("SUBSCRIBE", within=WITHIN)
        await leave(net, dialog, 'SIP;cause=480;text="Temporarily Unavailable"')
        await notify(net, Dialog.uas(step3.request, "focus-tag", FOCUS), 1, "active;expires=600")
        # no 2xx yet: the participants are already the focus's
        (entry,) = pf.deferred.entries.values()
        assert not entry.focus_settled.is_set()
        assert latest_participants(entry, pf.faults) == list(PARTICIPANTS)
        focus_accepts(step3, "focus-tag")
        await asyncio.wait_for(entry.focus_settled.wait(), WITHIN)
        assert entry.sub is not None and entry.sub.request.call_id == step3.request.call_id
