"""Seed 003 8.6 "Procedures upon Receiving MSRP" in the reference PF: what happens to one
complete MSRP message received on a leg of a B2BUA session.

- Step 1 (PF-8.6-1): the message goes to the other leg(s) in chunks no larger than the
  leg's negotiated maximum (its SDP ``a=max-size``, catalogue interpretation), else the
  default chunk size; the body bytes are unchanged.
- Step 2.a.i (single-client policy, PF-8.6-2.a.i.1.a-c): a terminating session that
  several clients of the user answered (the PF keeps every answering fork, see
  :func:`keeps_all_forks`); the first chat message, display IMDN or isComposing from one
  of them makes the PF BYE the others with ``Reason: SIP;cause=200;text="Call completed
  elsewhere"``, release their MSRP sessions after the 200, and forward the SEND.
- Step 2.b (conference-info from the CF): :mod:`.confinfo_msrp`.
- Step 2.a.ii (direct delivery, PF-8.6-2.a.ii.1): a message from one of the user's
  clients goes to the user's other connected clients with the CPIM header
  ``Message-Direction: sent``.

Where both policies are claimed, the reference applies 2.a.i to the clients that answered
one terminating invitation (the user has not chosen yet) and 2.a.ii to the clients the PF
invited by direct delivery (8.2.1 200 OK step 10): those were added to mirror the
originator's messages.
"""

from __future__ import annotations

import logging

from conformance.documents.cpim import CPIM_CORE_NS, CpimHeader, build_cpim, parse_cpim
from conformance.errors import DocumentError, LocalProtocolError, RemoteProtocolError
from conformance.protocol.msrp.session import DEFAULT_CHUNK_SIZE, MessageReceived
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.cpm import MESSAGE_DIRECTION
from conformance.protocol.sip.dialog import DialogState
from conformance.reference.pf.core import PfCore
from conformance.reference.pf.interfaces import ConferenceInfoSends
from conformance.reference.pf.model import B2buaSession, SipLeg

log = logging.getLogger(__name__)

#: 2.a.i.1.a: the Reason of the BYE towards the clients the user did not choose
COMPLETED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'
CPIM_TYPE = "message/cpim"
IMDN_TYPE = "message/imdn+xml"
ISCOMPOSING_TYPE = "application/im-iscomposing+xml"


def _mime(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def keeps_all_forks(pf: PfCore) -> bool:
    """8.6 step 2.a presumes a session "setup with more than one of the served CPM User's
    Clients": under the single-client policy the terminating PF keeps every fork that
    answers (no CANCEL), the user's first use of one chooses it."""
    return pf.policy.media_path and pf.policy.single_client_policy


def chunk_size(pf: PfCore, leg: SipLeg) -> int | None:
    """PF-8.6-1: the chunk size towards ``leg`` (None: the default)."""
    limit = leg.msrp.max_size
    if limit is None or limit <= 0 or pf.faults.on("pf.msrp-chunk-size-ignored"):
        return None
    return min(limit, DEFAULT_CHUNK_SIZE)


def chooses_client(content_type: str | None, body: bytes) -> bool:
    """2.a.i.1: a chat message, an IMDN display notification or an isComposing."""
    outer = _mime(content_type)
    if outer == ISCOMPOSING_TYPE:
        return True
    if outer != CPIM_TYPE:
        return False
    try:
        cpim = parse_cpim(body)
    except DocumentError:
        return False
    inner = _mime(cpim.content_type)
    if inner == ISCOMPOSING_TYPE:
        return True
    if inner == IMDN_TYPE:
        return b"<display" in cpim.body
    return inner not in ("application/conference-info+xml", "")


def with_direction_sent(content_type: str | None, body: bytes) -> bytes:
    """2.a.ii.1: the CPIM message with ``Message-Direction: sent`` added."""
    if _mime(content_type) != CPIM_TYPE:
        return body
    try:
        cpim = parse_cpim(body)
    except DocumentError:
        return body
    headers = tuple(h for h in cpim.headers if h.local_name.lower() != MESSAGE_DIRECTION.lower())
    header = CpimHeader(MESSAGE_DIRECTION, "sent", namespace=CPIM_CORE_NS)
    updated = type(cpim)(
        headers=(*headers, header), content_headers=cpim.content_headers, body=cpim.body
    )
    return build_cpim(updated)


def user_legs(session: B2buaSession) -> list[SipLeg]:
    """The legs towards the served user's clients."""
    if session.terminating:
        return [session.core, *session.extra]
    return [session.client, *(leg for leg in session.extra if leg.name == "direct")]


def sync_path(leg: SipLeg) -> None:
    """The bound session of ``leg`` sends to the leg's negotiated remote path: a peer that
    connected before the PF read its answer was bound with a placeholder path."""
    session = leg.msrp.session
    if session is None or not leg.msrp.remote_path:
        return
    try:
        path = tuple(parse_msrp_uri(u) for u in leg.msrp.remote_path)
    except (LocalProtocolError, RemoteProtocolError, DocumentError, ValueError):
        return
    if session.remote_path != path:
        session.remote_path = path


def _send(pf: PfCore, leg: SipLeg, body: bytes, content_type: str | None) -> None:
    if leg.msrp.channel is None or leg.msrp.session is None:
        # the leg's MSRP session is still being set up (its binding SEND may come in after
        # a message on another connection): relay once it is bound, within the MSRP
        # transaction timeout, rather than lose the message
        pf.spawn(_send_when_bound(pf, leg, body, content_type))
        return
    sync_path(leg)
    try:
        leg.msrp.channel.send_message(
            leg.msrp.session, body, content_type, chunk_size=chunk_size(pf, leg)
        )
    except LocalProtocolError as exc:
        log.warning("MSRP relay to the %s leg failed: %s", leg.name, exc)


async def _send_when_bound(pf: PfCore, leg: SipLeg, body: bytes, content_type: str | None) -> None:
    if await leg.msrp.bound(pf.config.msrp_transaction_timeout) and leg.msrp.channel is not None:
        _send(pf, leg, body, content_type)


def relay(
    pf: PfCore,
    session: B2buaSession,
    sender: SipLeg,
    event: MessageReceived,
    over_msrp: ConferenceInfoSends,
) -> None:
    """Steps 1 and 2.a for one message ``event`` received on ``sender``'s leg."""
    if pf.faults.on("pf.msrp-not-forwarded") or (
        session.terminating
        and sender is session.client
        and pf.faults.on("pf.deferred-next-message-withheld")
    ):
        return
    clients = user_legs(session)
    body, content_type = event.body, event.content_type
    # 2.b: conference-info from the CF (:mod:`.confinfo_msrp`)
    notified = over_msrp.on_send(session, sender, content_type, body, clients)
    single = session.terminating and pf.policy.single_client_policy
    chooses = single and sender in clients and _chooses(pf, content_type, body)
    if chooses and session.chosen is None:
        # 2.a.i.1: the user chose ``sender``, also when it is the only client that has
        # answered yet (its SEND may overtake another client's 2xx): a fork that answers
        # later is released (terminating.py)
        session.chosen = sender
    if sender not in clients or len(clients) < 2:
        for leg in session.legs:
            if leg is not sender and leg not in notified:
                _send(pf, leg, body, content_type)
        return
    others = [leg for leg in clients if leg is not sender]
    if chooses:
        # 2.a.i.1: the others are released
        session.core = sender
        session.extra = [leg for leg in session.extra if leg not in others]
        if sender in session.extra:
            session.extra.remove(sender)
        for leg in others:
            pf.spawn(release(pf, leg))
        others = []
    network = [leg for leg in session.legs if leg is not sender and leg not in clients]
    for leg in network:
        _send(pf, leg, body, content_type)
    if others and pf.policy.direct_delivery_all_clients:
        copy = (
            body
            if pf.faults.on("pf.no-message-direction-sent")
            else (with_direction_sent(content_type, body))
        )
        for leg in others:
            _send(pf, leg, copy, content_type)


def _chooses(pf: PfCore, content_type: str | None, body: bytes) -> bool:
    """Whether a message with this content is the user's choice (2.a.i.1), faults applied."""
    chooses = chooses_client(content_type, body)
    if (
        pf.faults.on("pf.single-client-display-imdn-ignored")
        and _mime(content_type) == CPIM_TYPE
        and b"<display" in body
    ):
        chooses = False
    if pf.faults.on("pf.single-client-any-content-chooses"):
        chooses = True
    if (
        chooses
        and pf.faults.on("pf.single-client-bye-on-iscomposing-ignored")
        and (ISCOMPOSING_TYPE.encode() in body or _mime(content_type) == ISCOMPOSING_TYPE)
    ):
        chooses = False
    return chooses


def send_to(pf: PfCore, leg: SipLeg, body: bytes, content_type: str | None) -> None:
    """One message to ``leg`` in the leg's chunk size (used by :mod:`.confinfo_msrp`)."""
    _send(pf, leg, body, content_type)


async def release(pf: PfCore, leg: SipLeg) -> None:
    """2.a.i.1.a/b: BYE with Reason cause=200, then (after its 200) the MSRP release."""
    dialog = leg.dialog
    if dialog is None or dialog.state is not DialogState.CONFIRMED:
        return
    if pf.faults.on("pf.single-client-no-bye"):
        return
    reason = (
        'SIP;cause=480;text="Temporarily Unavailable"'
        if pf.faults.on("pf.single-client-bye-wrong-reason")
        else COMPLETED_ELSEWHERE
    )
    pf.table.unbind_dialog(dialog)
    try:
        target = dialog.next_hop()
        bye = dialog.create_request("BYE", via=pf.via(), headers=[("Reason", reason)])
        handle = await pf.sip.request(bye, pf.destination(target))
    except (LocalProtocolError, RemoteProtocolError) as exc:
        log.warning("cannot BYE the unchosen client: %s", exc)
        return
    outcome = await handle.outcome(pf.config.timers.b * 2)
    if isinstance(outcome, str) or not 200 <= outcome.status < 300:
        log.warning(
            "BYE towards the unchosen client: %s",
            outcome if isinstance(outcome, str) else outcome.status,
        )
    if pf.faults.on("pf.single-client-media-kept"):
        return
    channel, msrp_session = leg.msrp.channel, leg.msrp.session
    if channel is not None and msrp_session is not None:
        channel.machine.remove_session(msrp_session)
        shared = any(
            other.msrp.channel is channel
            for s in pf.table.values()
            for other in s.legs
            if other is not leg
        )
        if not shared:
            channel.close()


__all__ = [
    "COMPLETED_ELSEWHERE",
    "chooses_client",
    "chunk_size",
    "keeps_all_forks",
    "relay",
    "release",
    "send_to",
    "sync_path",
    "user_legs",
    "with_direction_sent",
]
