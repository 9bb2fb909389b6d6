"""The Group State Object the PF stores with a group session it takes part in (seed 003
8.2.1 200 OK step 8 on the originating side, 8.3.2 200 OK step 2 on the terminating side)."""

from __future__ import annotations

import datetime as _dt
import logging

from conformance.documents.groupstate import GroupState, GsParticipant
from conformance.documents.resource_lists import parse_resource_list
from conformance.documents.store_object import format_date
from conformance.protocol.sip.multipart import BodyPart
from conformance.reference.pf.registrations import aor

log = logging.getLogger(__name__)


def session_group_state(
    user: str, recipient_list: BodyPart | None, focus: str | None
) -> GroupState:
    """``focus`` (the CPM Group Session Identity) and the participants: the served ``user``,
    then each URI of the INVITE's ``recipient_list`` once. A list that does not parse is the
    peer's fault: it is logged and the served user alone is listed."""
    uris: list[str] = [user]
    if recipient_list is not None:
        try:
            uris += [aor(u) for u in parse_resource_list(recipient_list.body).uris()]
        except Exception as exc:  # a document error is the peer's, not ours
            log.warning("recipient list unusable: %s", exc)
    seen: list[str] = []
    for uri in uris:
        if uri not in seen:
            seen.append(uri)
    return GroupState(
        lastfocussessionid=focus,
        timestamp=format_date(_dt.datetime.now(_dt.UTC)),
        participants=tuple(GsParticipant(comm_addr=u) for u in seen),
    )


__all__ = ["session_group_state"]
