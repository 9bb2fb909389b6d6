"""The CPIM To of a stored message at the reference PF (seed 000 5.2.3.5, fourth deferred
delivery bullet, and B.2.3.5.X step 5, a MAY; PICS ``pf.cpim_to_actual_recipients``).

"Whenever a stored message is delivered to a recipient, the CPM Participating Function MAY
set the CPIM To header(s) to reflect the actual recipient list for the message. This is the
store messages may be delivered in Private Message format explicitly listing all recipients
for each message. This can be used to record that the participant list for the session may
have changes as the messages were recorded."

The reading (catalogue PF-5.2.3.5-CPIM-TO): the actual recipients of a stored message are
the participants of the group session when the PF received the message to store (the
time its SEND arrived, not when the PF got round to buffering it): the participant
information it held then, the latest full state its focus subscription had notified, else
the invitation's list, the deferred user included, the message's sender (CPIM From) left
out. The message carries one CPIM To header per recipient. The list is fixed when the
message is stored, so messages stored around a change of participants list different
recipients. IMDNs (``message/imdn+xml`` content) are notifications to one user, not
messages to the group: they go as they came.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.documents.cpim import (
    CPIM_CONTENT_TYPE,
    CPIM_CORE_NS,
    CpimHeader,
    CpimMessage,
    build_cpim,
    parse_cpim,
)
from conformance.errors import DocumentError

IMDN_CONTENT_TYPE = "message/imdn+xml"


def actual_recipients(participants: Sequence[str], user: str, sender: str | None) -> list[str]:
    """The recipients of a message stored now: ``participants`` with ``user`` (the deferred
    recipient) and without ``sender``, each once, in order."""
    out: list[str] = []
    for uri in (*participants, user):
        if uri and uri != sender and uri not in out:
            out.append(uri)
    return out


def sender_of(body: bytes, content_type: str | None) -> str | None:
    """The CPIM From URI of a stored chat message (None when it is not one)."""
    message = _chat_message(body, content_type)
    return message.from_uri if message is not None else None


def with_recipients(body: bytes, content_type: str | None, recipients: Sequence[str]) -> bytes:
    """``body`` with its CPIM To header(s) replaced by one To per recipient, in place of
    the first To (the other headers keep their order). Anything but a CPIM chat message,
    or an empty list, is returned unchanged."""
    message = _chat_message(body, content_type)
    if message is None or not recipients:
        return body
    headers: list[CpimHeader] = []
    placed = False
    for header in message.headers:
        if header.local_name.lower() == "to" and header.namespace == CPIM_CORE_NS:
            if not placed:
                headers += [CpimHeader("To", f"<{uri}>") for uri in recipients]
                placed = True
            continue
        headers.append(header)
    if not placed:
        at = 1 if headers and headers[0].local_name.lower() == "from" else 0
        headers[at:at] = [CpimHeader("To", f"<{uri}>") for uri in recipients]
    rebuilt = CpimMessage(
        headers=tuple(headers), content_headers=message.content_headers, body=message.body
    )
    return build_cpim(rebuilt)


def _chat_message(body: bytes, content_type: str | None) -> CpimMessage | None:
    if (content_type or "").split(";")[0].strip().lower() != CPIM_CONTENT_TYPE:
        return None
    try:
        message = parse_cpim(body)
    except DocumentError:
        return None
    inner = (message.content_type or "").split(";")[0].strip().lower()
    if inner == IMDN_CONTENT_TYPE:
        return None
    return message


__all__ = ["actual_recipients", "sender_of", "with_recipients"]
