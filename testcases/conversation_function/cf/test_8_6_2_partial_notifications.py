"""CPM Conversation Function 8.6 step 2.b.ii.2 (seed 003): the CF notifies participant
changes with partial conference-info documents.

The tool plays the participants' PFs/clients and sends straight to the CF under test (no
PF in the path). Expected values are written here from the seed text and RFC 4575.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, inconclusive
from conformance.fixtures.case import Tc
from conformance.testcases.procedures.hosted_session import (
    Notification,
    create_hosted_session,
    join,
    next_notify,
    notification_evidence,
    subscribe,
    three_users,
)


def _version(notification: Notification | None) -> int | None:
    return notification.info.version if notification and notification.info else None


def _doc_state(notification: Notification | None) -> str | None:
    return str(notification.info.state) if notification and notification.info else None


@pytest.mark.users(3)
@pytest.mark.requirement("CF-8.6-2.b.ii.2")
async def test_8_6_2_b_ii_2_changes_use_partial_notifications(tc: Tc) -> None:
    """with {a group session hosted by the CF and alice subscribed to its focus} ensure that
    { when {bob joins, then carol joins}
      then {the initial NOTIFY is state="full"; each change NOTIFY is state="partial" with a
            version one higher than the previous notification (RFC 4575 4.4)} }"""
    alice, bob, carol = three_users(tc.pixit)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob, carol))
    subscriber = session.legs[alice].client
    handle, ok = await subscribe(subscriber, session.focus, session.cf, tc.guards)
    if ok.status != 200:
        inconclusive(f"the CF answered the SUBSCRIBE with {ok.status}")
    first = await next_notify(subscriber, tc.guards)
    if first is None or first.info is None:
        inconclusive("no initial conference-info NOTIFY")
    notes: list[Notification | None] = [first]
    for user in (bob, carol):
        await join(tc, session, user)
        notes.append(await next_notify(subscriber, tc.guards))
    ev = [e for i, n in enumerate(notes) for e in notification_evidence(n, f"NOTIFY {i + 1}")]
    # CF-8.6-2.b.ii.2: "CPM Controlling Function SHALL use partial notification"
    expect_equal(
        tc.recorder,
        "CF-8.6-2.b.ii.2",
        expected=["partial", "partial"],
        actual=[_doc_state(n) for n in notes[1:]],
        message="the change notifications are partial documents",
        evidence=ev,
    )
    base = _version(first)
    expect_equal(
        tc.recorder,
        "CF-8.6-2.b.ii.2",
        expected=[base + 1, base + 2] if base is not None else "versions after the first",
        actual=[_version(n) for n in notes[1:]],
        message="each partial notification increments the version by one",
        evidence=ev,
    )
    await handle.unsubscribe()
