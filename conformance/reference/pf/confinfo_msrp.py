"""Participant Information Notifications via Conference Information Object at the reference
PF (PICS ``pf.conference_info_via_msrp``; seed 003 8.6 step 2.b and 8.2.3 "Receive
Participant Information Notification" step 4).

- 8.6 step 2.b.i: a SEND of the CF with ``application/conference-info+xml`` updates the
  Participant Information the PF keeps for (user, focus).
- 2.b.ii.2: the CF's partial notifications are merged into the kept state (RFC 4575 4.6).
- 2.b.ii.3: a change is the kept state differing from the previous one (users and
  description compared); an unchanged state makes no NOTIFY.
- 2.b.ii.1: to a client of the user with an active conference subscription at the PF the
  SEND is not relayed; the client gets a NOTIFY with the full kept Conference Information
  Object instead.
- RCV step 4: a NOTIFY of the CF (in the PF's own subscription) goes, as an MSRP SEND with
  ``application/conference-info+xml`` carrying the NOTIFY body, to the user's clients in
  the session with that focus.
"""

from __future__ import annotations

import logging

from conformance.documents.conference_info import (
    ConferenceInfo,
    ConferenceState,
    DocState,
    build_conference_info,
    parse_conference_info,
)
from conformance.errors import DocumentError
from conformance.protocol.sip.cpm import CONFERENCE_INFO_TYPE
from conformance.reference.pf import msrp_policy
from conformance.reference.pf.core import PfCore
from conformance.reference.pf.interfaces import ParticipantState
from conformance.reference.pf.model import B2buaSession, ClientSubscription, SipLeg

log = logging.getLogger(__name__)


def _mime(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def applies(pf: PfCore) -> bool:
    return pf.policy.conference_info_via_msrp


def _same_client(leg: SipLeg, client: ClientSubscription) -> bool:
    if leg.dialog is None:
        return False
    return leg.dialog.remote_target == client.dialog.remote_target


def _key(view: ConferenceInfo | None) -> object:
    return None if view is None else (view.users, view.description)


class ConferenceInfoOverMsrp:
    """The state kept from the CF's conference-info SENDs, per (user, focus)."""

    def __init__(self, pf: PfCore, participants: ParticipantState) -> None:
        self.pf = pf
        self.participants = participants
        self.states: dict[tuple[str, str], ConferenceState] = {}

    def on_send(
        self,
        session: B2buaSession,
        sender: SipLeg,
        content_type: str | None,
        body: bytes,
        clients: list[SipLeg],
    ) -> list[SipLeg]:
        """2.b for one SEND from the network side; returns the client legs the SEND is
        not relayed to (they were NOTIFYed instead)."""
        pf = self.pf
        if not applies(pf) or sender in clients or _mime(content_type) != CONFERENCE_INFO_TYPE:
            return []
        participants = self.participants
        focus = participants.focus_of_session(session)
        if focus is None:
            return []
        try:
            doc = parse_conference_info(body)
        except DocumentError as exc:
            log.warning("unusable conference-info over MSRP: %s", exc)
            return []
        key = (session.user, focus)
        state = self.states.setdefault(key, ConferenceState())
        previous = _key(state.view)
        on = pf.faults.on
        if on("pf.confinfo-msrp-partial-replaces") and doc.state is DocState.PARTIAL:
            doc = ConferenceInfo(
                entity=doc.entity,
                state=DocState.FULL,
                version=doc.version,
                description=doc.description,
                users=doc.users,
                raw=doc.raw,
            )
        try:
            state.apply(doc)  # 2.b.ii.2
        except DocumentError as exc:
            log.warning("conference-info over MSRP not applied: %s", exc)
        view = state.view
        if view is not None and not on("pf.confinfo-msrp-not-kept"):
            participants.keep(session.user, focus, view)  # 2.b.i
        subscribed = participants.subscribed_clients(session.user, focus)
        if not subscribed:
            return []
        if on("pf.confinfo-msrp-relayed-to-subscriber"):
            skipped: list[SipLeg] = []
        else:
            skipped = [leg for leg in clients if any(_same_client(leg, c) for c in subscribed)]
        # 2.b.ii.3: a NOTIFY only when the state changed
        if view is None or _key(view) == previous or on("pf.confinfo-msrp-no-notify"):
            return skipped
        payload = body if on("pf.confinfo-msrp-not-kept") else build_conference_info(view)
        for client in subscribed:  # 2.b.ii.1
            participants.notify_client(client, payload, f"active;expires={client.expires}")
        return skipped

    def on_notify(self, user: str, focus: str, body: bytes) -> None:
        """RCV step 4: the NOTIFY body to the user's clients over MSRP."""
        pf = self.pf
        if not applies(pf) or not body or pf.faults.on("pf.confinfo-notify-not-sent-over-msrp"):
            return
        session = self.participants.session_for(user, focus)
        if session is None or session.ended:
            return
        for leg in msrp_policy.user_legs(session):
            msrp_policy.send_to(pf, leg, body, CONFERENCE_INFO_TYPE)


__all__ = ["ConferenceInfoOverMsrp", "applies"]
