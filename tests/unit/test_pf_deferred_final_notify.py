"""The reference PF's final NOTIFY of an inactive deferred delivery lists the participants
prior to the session's end (seed 000 B.2.3.5.X step 6), even though the CF's closing
notification reports every user disconnected."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from conformance.documents.conference_info import (
    ConferenceInfo,
    ConferenceStatus,
    DocState,
    Endpoint,
    User,
)
from conformance.reference.faults import ActiveFaults
from conformance.reference.pf.deferred import DeferredDelivery

FOCUS = "sip:conf-1@127.0.0.1:5070"
ALICE, BOB, CAROL = "sip:alice@x.test", "sip:bob@x.test", "sip:carol@x.test"


def _view(status: str, active: bool | None, *users: str) -> ConferenceInfo:
    return ConferenceInfo(
        entity=FOCUS,
        state=DocState.FULL,
        version=1,
        conference_state=None if active is None else ConferenceStatus(active=active),
        users=tuple(User(entity=u, endpoints=(Endpoint(u, status=status),)) for u in users),
    )


def _delivery(*faults: str) -> DeferredDelivery:
    pf: Any = SimpleNamespace(faults=ActiveFaults(frozenset(faults)))
    return DeferredDelivery(pf)


def _entry(*views: ConferenceInfo) -> Any:
    history = [(float(i), v) for i, v in enumerate(views)]
    sub = SimpleNamespace(history=history, state=SimpleNamespace(view=views[-1]))
    return SimpleNamespace(sub=sub)


def test_the_view_before_the_closing_notification() -> None:
    entry = _entry(
        _view("connected", True, ALICE, BOB),
        _view("connected", True, ALICE, BOB, CAROL),
        _view("disconnected", False, ALICE, BOB, CAROL),
    )
    assert _delivery().final_participants(entry) == [ALICE, BOB, CAROL]
    # the latest view alone has nobody left
    assert DeferredDelivery.present(entry.sub.state.view) == []


def test_a_cf_without_conference_state() -> None:
    entry = _entry(_view("connected", None, ALICE, BOB), _view("disconnected", None, ALICE, BOB))
    assert _delivery().final_participants(entry) == [ALICE, BOB]
