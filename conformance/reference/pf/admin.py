"""Termination of all CPM Sessions of a CPM User due to Administrative Trigger (seed 003,
section catalogued as ADMIN), run by the upper-tester action ``admin-trigger``.

Step 1: every active B2BUA session of the user gets a BYE with
``Reason: SIP;cause=200;text="Call Completed"`` on each leg, and its MSRP sessions go.
Step 2: for each CPM Group Session of the user in the Message Store, the last Group State
Object (by timestamp) without ``<status><removed/>`` gives the Conversation-ID,
Contribution-ID (the stored object's header fields), the group session identity
(``lastfocussessionid``) and the participants; the PF re-joins (INVITE to the identity):
403 -> next session; 404 -> a new INVITE to the configured CF URI with a resource-list of
the participants; 200 -> ACK, MSRP, then BYE with Reason cause=200 and media released.

Interpretations (reference only):

- the user's Session History Folders are those whose Session Info Object holds an INVITE
  the user originated (``Message-Direction: Out`` and P-Asserted-Identity, else From, is
  the user) or received (``In`` and the Request-URI is the user): the store is shared by
  every served user;
- "inactive Long-lived Group Sessions in which the CPM User is still a Participant": the
  selected Group State Object lists the user, and no active session of the PF has its
  Contribution-ID;
- after a session is processed the PF appends a Group State Object whose participants no
  longer include the user (the user has been removed from it), so a second trigger does
  not process it again.
"""

from __future__ import annotations

import datetime as _dt
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.documents.groupstate import GroupState, build_group_state, parse_group_state
from conformance.documents.resource_lists import (
    RECIPIENT_LIST_DISPOSITION,
    RESOURCE_LISTS_CONTENT_TYPE,
    Entry,
    ResourceList,
    build_resource_list,
)
from conformance.documents.store_object import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    GROUP_STATE_CONTENT_TYPE,
    MESSAGE_DIRECTION,
    SESSION_INFO_CONTENT_TYPE,
    StoreMessage,
    build_group_state_object,
    format_date,
    parse_date,
    parse_store_object,
    same_media_type,
)
from conformance.errors import DocumentError, LocalProtocolError, RemoteProtocolError
from conformance.protocol.sip.cpm import ICSI_SESSION, ICSI_SESSION_GROUP
from conformance.protocol.sip.dialog import Dialog, DialogState, uri_of
from conformance.protocol.sip.headers import (
    format_contact_preference,
    format_icsi_ref,
    format_reason,
)
from conformance.protocol.sip.ids import new_call_id, new_tag
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request, parse_message
from conformance.protocol.sip.multipart import build_multipart, build_part
from conformance.protocol.sip.sdp import build_msrp_sdp
from conformance.protocol.sip.timers import Address
from conformance.reference.pf.core import PfCore, address_of
from conformance.reference.pf.model import B2buaSession, MsrpLeg, SipLeg
from conformance.reference.pf.originating import msrp_media, split_body
from conformance.reference.pf.registrations import aor
from conformance.reference.upper_tester_server import ActionError

log = logging.getLogger(__name__)

#: PF-ADMIN-1.a / 2.f: RFC 3326 Reason of the PF's BYEs
CALL_COMPLETED = format_reason("SIP", 200, "Call Completed")


@dataclass(frozen=True, slots=True)
class StoredGroupSession:
    """What step 2.a derives for one CPM Group Session of the user."""

    folder: str
    conversation_id: str
    contribution_id: str
    focus: str
    participants: tuple[str, ...]
    state: GroupState
    order: tuple[_dt.datetime, int]


def _when(gs: GroupState, stored: StoreMessage) -> _dt.datetime:
    """The Group State Object's timestamp (RFC 5322 or RFC 3339), else the store's Date."""
    found = parse_date(gs.timestamp)
    if found is None:
        try:
            found = gs.timestamp_datetime()
        except DocumentError:
            found = None
    if found is None:
        found = stored.date or _dt.datetime.min.replace(tzinfo=_dt.UTC)
    if found.tzinfo is None:
        found = found.replace(tzinfo=_dt.UTC)
    return found


def _owner(stored: StoreMessage) -> str | None:
    """The served user a Session Info Object belongs to (module docstring)."""
    try:
        invite = parse_message(stored.body)
    except RemoteProtocolError:
        return None
    if not isinstance(invite, SipRequest):
        return None
    direction = (stored.header(MESSAGE_DIRECTION) or "").strip().lower()
    if direction == "in":
        return aor(invite.uri)
    value = invite.headers.get("P-Asserted-Identity") or invite.headers.get("From") or ""
    try:
        return aor(uri_of(value))
    except RemoteProtocolError:
        return None


class AdminTrigger:
    """The administrative trigger of one PF (its faults switch single items off)."""

    def __init__(self, pf: PfCore) -> None:
        self.pf = pf
        self.faults = pf.faults
        #: the Call-IDs of the re-join INVITEs (the faults of 2.c / 2.d, see _drop_acks)
        self._rejoins: set[str] = set()
        if self.faults.on("pf.admin-403-not-acked"):
            self._drop_acks(403)
        if self.faults.on("pf.admin-404-not-acked"):
            self._drop_acks(404)

    def _drop_acks(self, status: int) -> None:
        """Under a fault only: the ACK the transaction layer sends for a ``status`` answer
        to a re-join INVITE never leaves (the last response the PF received in that
        Call-ID, from its capture, tells which answer the ACK is for)."""
        transport = self.pf.sip.transport
        send = transport.send_nowait
        rejoins = self._rejoins

        def answered(call_id: str) -> int | None:
            for record in reversed(transport.capture.records):
                if record.direction != "in" or not record.data.startswith(b"SIP/2.0 "):
                    continue
                try:
                    response = parse_message(record.data)
                except RemoteProtocolError:
                    continue
                if isinstance(response, SipResponse) and response.call_id == call_id:
                    return response.status
            return None

        def filtered(data: bytes, destination: Address) -> None:
            if data.startswith(b"ACK "):
                try:
                    call_id = parse_message(data).call_id
                except RemoteProtocolError:
                    call_id = None
                if call_id in rejoins and answered(call_id) == status:
                    return
            send(data, destination)

        setattr(transport, "send_nowait", filtered)  # noqa: B010 (a fault's hook)

    # -- the upper-tester action ----------------------------------------------------------
    async def action(self, params: Mapping[str, Any]) -> str:
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise ActionError(400, "admin-trigger needs a user")
        try:
            user = aor(user)
        except RemoteProtocolError as exc:
            raise ActionError(400, f"bad user {user!r}: {exc}") from exc
        if not self.pf.served(user):
            raise ActionError(400, f"unknown user {user}")
        if not self.pf.policy.admin_trigger:
            raise ActionError(409, "the administrative trigger is not supported")
        released = self.release_active(user)
        # step 2 runs on: its INVITEs wait for the CF, which the tool plays after this answer
        self.pf.spawn(self.rejoin_all(user))
        return f"pf: {released} active session(s) released; re-joining stored sessions"

    # -- step 1 ----------------------------------------------------------------------------
    def release_active(self, user: str) -> int:
        sessions = [s for s in self.pf.table.values() if s.user == user and not s.ended]
        for session in sessions:
            self._release(session)
        return len(sessions)

    def _release(self, session: B2buaSession) -> None:
        """PF-ADMIN-1.a (BYE with Reason on every leg) and 1.b (media released)."""
        pf = self.pf
        session.end()
        reason = (
            'SIP;cause=487;text="Request Terminated"'
            if self.faults.on("pf.admin-bye-reason-wrong")
            else CALL_COMPLETED
        )
        for leg in session.legs:
            if leg.dialog is not None:
                pf.table.unbind_dialog(leg.dialog)
                if leg.dialog.state is DialogState.CONFIRMED and not self.faults.on(
                    "pf.admin-no-bye"
                ):
                    pf.send_in_dialog(leg.dialog, "BYE", headers=[("Reason", reason)])
            if not self.faults.on("pf.admin-media-kept"):
                self._release_msrp(leg.msrp)
        pf.table.forget(session)

    @staticmethod
    def _release_msrp(leg: MsrpLeg) -> None:
        if leg.channel is not None and leg.session is not None:
            try:
                leg.channel.machine.remove_session(leg.session)
            except (LocalProtocolError, RemoteProtocolError, ValueError) as exc:
                log.warning("MSRP session not released: %s", exc)
            leg.session = None

    # -- step 2.a ----------------------------------------------------------------------------
    async def stored_sessions(self, user: str) -> list[StoredGroupSession]:
        store = self.pf.store
        if store is None:
            return []
        active = {s.client_request.headers.get(CONTRIBUTION_ID) for s in self.pf.table.values()}
        found: list[StoredGroupSession] = []
        for folder in await store.folders():
            try:
                raws = await store.messages(folder)
            except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
                log.warning("cannot read %s: %s", folder, exc)
                continue
            chosen = self._select(folder, raws, user)
            if chosen is not None and chosen.contribution_id not in active:
                found.append(chosen)
        found.sort(key=lambda s: s.order)
        return found

    def _select(self, folder: str, raws: list[bytes], user: str) -> StoredGroupSession | None:
        owners: set[str] = set()
        states: list[tuple[tuple[_dt.datetime, int], StoreMessage, GroupState]] = []
        for index, raw in enumerate(raws):
            try:
                stored = parse_store_object(raw)
            except RemoteProtocolError:
                continue
            if same_media_type(stored.content_type, SESSION_INFO_CONTENT_TYPE):
                owner = _owner(stored)
                if owner:
                    owners.add(owner)
            elif same_media_type(stored.content_type, GROUP_STATE_CONTENT_TYPE):
                try:
                    gs = parse_group_state(stored.body)
                except DocumentError:
                    continue
                # PF-ADMIN-2.a: "in which the element <removed> is not present"
                if gs.removed:
                    continue
                states.append(((_when(gs, stored), index), stored, gs))
        if user not in owners or not states:
            return None
        # PF-ADMIN-2.a: "the last Group State Object (based on the timestamp)"
        pick = min if self.faults.on("pf.admin-uses-first-gso") else max
        order, stored, gs = pick(states, key=lambda t: t[0])
        participants = tuple(aor(p.comm_addr) for p in gs.participants if p.comm_addr)
        if user not in participants or not gs.lastfocussessionid:
            return None  # no longer a Participant (or nothing to re-join)
        return StoredGroupSession(
            folder,
            stored.header(CONVERSATION_ID) or "",
            stored.header(CONTRIBUTION_ID) or "",
            gs.lastfocussessionid,
            participants,
            gs,
            order,
        )

    # -- step 2.b-2.j ------------------------------------------------------------------------
    async def rejoin_all(self, user: str) -> None:
        sessions = await self.stored_sessions(user)
        if self.faults.on("pf.admin-first-session-only"):
            sessions = sessions[:1]
        for stored in sessions:  # PF-ADMIN-2.j
            try:
                go_on = await self._rejoin(user, stored)
            except (LocalProtocolError, RemoteProtocolError, OSError) as exc:
                log.warning("re-join of %s failed: %s", stored.focus, exc)
                go_on = True
            await self._record_left(user, stored)
            if not go_on:
                return

    def _invite(
        self,
        user: str,
        stored: StoredGroupSession,
        uri: str,
        msrp_uri: str,
        contact_uri: str,
        *,
        resource_list: bool,
    ) -> SipRequest:
        pf = self.pf
        address = pf.msrp.address()
        offer = build_msrp_sdp(
            host=address.host,
            port=address.port,
            path=[msrp_uri],
            accept_types=["message/cpim"],
            accept_wrapped_types=["text/plain", "message/imdn+xml"],
            setup="actpass",
        )
        icsi = format_icsi_ref([ICSI_SESSION])

        def broken(rejoin: str, new_invite: str = "") -> bool:
            """The fault of step 2.b's item (``rejoin``) or 2.d.i's (``new_invite``)."""
            name = new_invite if resource_list else rejoin
            return bool(name) and self.faults.on(name)

        conversation_id, contribution_id = stored.conversation_id, stored.contribution_id
        if broken("pf.admin-rejoin-new-conversation-id"):
            conversation_id = secrets.token_hex(16)
        if broken("pf.admin-rejoin-new-contribution-id"):
            contribution_id = secrets.token_hex(16)
        if broken("pf.admin-rejoin-no-path", "pf.admin-new-invite-no-path"):
            offer = build_msrp_sdp(
                host=address.host,
                port=address.port,
                path=[],
                accept_types=["message/cpim"],
                accept_wrapped_types=["text/plain", "message/imdn+xml"],
                setup="actpass",
            )
        contact = f"<{contact_uri}>;{icsi}"  # 2.b.iii / 2.d.i.3
        if broken("pf.admin-rejoin-contact-no-icsi", "pf.admin-new-invite-contact-no-icsi"):
            contact = f"<{contact_uri}>"
        service = ICSI_SESSION_GROUP  # 2.b.iv / 2.d.i.4
        if broken("pf.admin-rejoin-pas-session", "pf.admin-new-invite-pas-session"):
            service = ICSI_SESSION
        headers: list[tuple[str, str]] = [("Via", pf.via())]
        if not broken("pf.admin-rejoin-no-max-forwards"):  # 2.b: RFC 3261 8.1.1
            headers.append(("Max-Forwards", "70"))
        headers += [
            ("From", f"<{user}>;tag={new_tag()}"),
            ("To", f"<{uri}>"),
            ("Call-ID", new_call_id()),
            ("CSeq", "1 INVITE"),
            ("Contact", contact),
            ("P-Asserted-Service", service),
            (CONVERSATION_ID, conversation_id),  # 2.b.vi
            (CONTRIBUTION_ID, contribution_id),  # 2.b.vii
            ("User-Agent", pf.policy.server),
            ("Supported", "timer, recipient-list-invite"),
            ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"),
        ]
        if not broken(  # 2.b.ii / 2.d.i.2
            "pf.admin-rejoin-no-accept-contact", "pf.admin-new-invite-no-accept-contact"
        ):
            headers.append(("Accept-Contact", format_contact_preference([icsi])))
        if not broken("pf.admin-rejoin-no-pai", "pf.admin-new-invite-no-pai"):  # 2.b.v / 2.d.i.6
            headers.append(("P-Asserted-Identity", f"<{user}>"))
        if resource_list and not self.faults.on("pf.admin-new-invite-no-resource-list"):
            # 2.d.i.5: the Participants of the Group State Object (the user is the inviter)
            others = tuple(p for p in stored.participants if p != user)
            recipients = build_resource_list(
                ResourceList(entries=tuple(Entry(uri=p) for p in others))
            )
            content_type, body = build_multipart(
                [
                    build_part("application/sdp", offer),
                    build_part(
                        RESOURCE_LISTS_CONTENT_TYPE,
                        recipients,
                        disposition=f"{RECIPIENT_LIST_DISPOSITION};handling=required",
                    ),
                ]
            )
        else:
            content_type, body = "application/sdp", offer
        headers.append(("Content-Type", content_type))
        return build_request("INVITE", uri, headers, body)

    async def _rejoin(self, user: str, stored: StoredGroupSession) -> bool:
        """One CPM Group Session; False stops step 2 (only under a fault)."""
        pf = self.pf
        target = stored.focus
        if self.faults.on("pf.admin-rejoin-wrong-ruri"):
            target = pf.config.conference_factory_uri
        outcome, invite, msrp = await self._send_invite(user, stored, target, resource_list=False)
        if outcome is None:
            return True
        if outcome.status == 403:  # PF-ADMIN-2.c: ACKed by the transaction layer
            return not self.faults.on("pf.admin-stops-after-403")
        if outcome.status == 404:  # PF-ADMIN-2.d
            if self.faults.on("pf.admin-404-no-new-invite"):
                return True
            factory = pf.config.conference_factory_uri  # 2.d.i.1
            if self.faults.on("pf.admin-new-invite-to-focus"):
                factory = stored.focus
            outcome, invite, msrp = await self._send_invite(
                user, stored, factory, resource_list=True
            )
            if outcome is None:
                return True
        if 200 <= outcome.status < 300:
            await self._joined(invite, outcome, msrp)
        return True

    async def _send_invite(
        self, user: str, stored: StoredGroupSession, uri: str, *, resource_list: bool
    ) -> tuple[SipResponse | None, SipRequest, MsrpLeg]:
        pf = self.pf
        sid = secrets.token_hex(8)
        leg = MsrpLeg(pf.msrp.uri(sid))
        invite = self._invite(
            user,
            stored,
            uri,
            leg.local_uri,
            pf.own_uri(f"admin-{sid}"),
            resource_list=resource_list,
        )
        if not resource_list and invite.call_id is not None:
            self._rejoins.add(invite.call_id)  # the faults of 2.c / 2.d (see _drop_acks)
        # 2.b.ix / 2.d.i.8: via the SIP/IP core
        destination = pf.destination(uri)
        if self.faults.on(
            "pf.admin-new-invite-not-via-core" if resource_list else "pf.admin-rejoin-not-via-core"
        ):
            destination = address_of(uri)  # straight to the Request-URI's host
        handle = await pf.sip.request(invite, destination)
        outcome = await handle.outcome(pf.config.timers.b * 2)
        if isinstance(outcome, str):
            log.warning("no answer to the re-join INVITE to %s", uri)
            return None, invite, leg
        return outcome, invite, leg

    async def _joined(self, invite: SipRequest, outcome: SipResponse, msrp: MsrpLeg) -> None:
        """PF-ADMIN-2.e-2.i: ACK, the media plane, then leave with BYE cause=200."""
        pf = self.pf
        try:
            dialog = Dialog.uac(invite, outcome)
            dialog.confirm(outcome)
            answer = msrp_media(split_body(outcome).sdp)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("unusable 2xx to the re-join INVITE: %s", exc)
            return
        leg = SipLeg("admin", msrp, dialog)
        if not self.faults.on("pf.admin-no-ack"):
            pf.send_ack(leg, invite)  # 2.e.i
        msrp.remote_path = tuple(answer.path)
        if answer.setup != "active" and not self.faults.on("pf.admin-no-media"):
            await pf.connect_msrp(msrp)  # 2.e.ii (we offered actpass)
        if self.faults.on("pf.admin-no-final-bye"):
            return
        reason = (
            "SIP;cause=480"
            if self.faults.on("pf.admin-final-bye-reason-wrong")
            else (CALL_COMPLETED)
        )
        try:
            bye = dialog.create_request("BYE", via=pf.via(), headers=[("Reason", reason)])
            if self.faults.on("pf.admin-final-bye-wrong-ruri"):
                bye = build_request(
                    "BYE",
                    pf.config.conference_factory_uri,
                    [(h.name, h.value) for h in bye.headers if h.name.lower() != "content-length"],
                    b"",
                )
            destination = pf.destination(dialog.next_hop())  # 2.h: via the core
            if self.faults.on("pf.admin-bye-not-via-core"):
                destination = address_of(dialog.next_hop())
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot leave %s: %s", dialog, exc)
            return
        handle = await pf.sip.request(bye, destination)
        if not self.faults.on("pf.admin-leave-media-kept"):
            self._release_msrp(msrp)  # 2.i
        await handle.outcome(pf.config.timers.b * 2)

    async def _record_left(self, user: str, stored: StoredGroupSession) -> None:
        """The user is no longer a Participant: a newer Group State Object without it."""
        store = self.pf.store
        if store is None:
            return
        gs = stored.state
        state = GroupState(
            lastfocussessionid=gs.lastfocussessionid,
            timestamp=format_date(_dt.datetime.now(_dt.UTC)),
            group_type=gs.group_type,
            participants=tuple(
                p for p in gs.participants if p.comm_addr is None or aor(p.comm_addr) != user
            ),
            subject=gs.subject,
            icon=gs.icon,
            max_user_count=gs.max_user_count,
            policy=gs.policy,
        )
        try:
            await store.append(
                stored.folder,
                build_group_state_object(
                    build_group_state(state),
                    conversation_id=stored.conversation_id,
                    contribution_id=stored.contribution_id,
                    imdn_message_id=secrets.token_hex(8),
                    direction="Out",
                ),
            )
        except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("Message Store write failed: %s", exc)


__all__ = ["CALL_COMPLETED", "AdminTrigger", "StoredGroupSession"]
