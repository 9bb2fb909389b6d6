"""Registered clients, as the PF learns them from third-party REGISTERs.

The S-CSCF sends the PF a third-party REGISTER (3GPP TS 24.229 5.4.1.7): To is the
user, Expires the registration's lifetime, and a ``message/sip`` body holds the client's
own REGISTER, whose Contact carries ``+sip.instance="<urn:uuid:...>"``, the
``+g.3gpp.icsi-ref`` list and ``expires``, and whose User-Agent tells the client's CPM
release (used by 8.2.1 200 OK step 10.a and 8.3.2 step 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.dialog import uri_of
from conformance.protocol.sip.headers import get_contacts, parse_expires
from conformance.protocol.sip.message import SipRequest, parse_message
from conformance.protocol.sip.uri import parse_uri


def aor(uri: str) -> str:
    """``scheme:user@host`` of ``uri`` (its own text when it does not parse)."""
    try:
        return parse_uri(uri).aor
    except RemoteProtocolError:
        return uri.strip()


@dataclass(frozen=True, slots=True)
class Binding:
    """One registered client of a user."""

    instance: str
    contact: str
    icsi: tuple[str, ...]
    user_agent: str | None
    expires_at: float


class Registrations:
    """Per user (AOR): instance id -> :class:`Binding`."""

    def __init__(self) -> None:
        self._users: dict[str, dict[str, Binding]] = {}

    def clear(self) -> None:
        self._users.clear()

    def bindings(self, user: str, now: float) -> list[Binding]:
        """The user's live bindings (expired ones are dropped)."""
        table = self._users.get(aor(user), {})
        for key in [k for k, b in table.items() if b.expires_at <= now]:
            del table[key]
        return list(table.values())

    def is_registered(self, user: str, now: float) -> bool:
        return bool(self.bindings(user, now))

    def on_register(self, request: SipRequest, now: float) -> str:
        """Apply a third-party REGISTER; returns the user. Raises RemoteProtocolError
        when it is not one (the caller answers 400)."""
        user = aor(uri_of(request.headers.get("To") or ""))
        outer_expires = request.headers.get("Expires")
        expires = parse_expires(outer_expires) if outer_expires is not None else 3600
        content_type = (request.headers.get("Content-Type") or "").lower()
        if not content_type.startswith("message/sip") or not request.body:
            raise RemoteProtocolError("third-party REGISTER without a message/sip body")
        inner = parse_message(request.body)
        if not isinstance(inner, SipRequest) or inner.method != "REGISTER":
            raise RemoteProtocolError("message/sip body is not a REGISTER")
        user_agent = inner.headers.get("User-Agent")
        inner_expires = inner.headers.get("Expires")
        table = self._users.setdefault(user, {})
        for contact in get_contacts(inner):
            if contact.is_star:
                table.clear()
                continue
            instance = contact.instance or contact.uri
            lifetime = contact.expires
            if lifetime is None:
                lifetime = parse_expires(inner_expires) if inner_expires is not None else expires
            lifetime = min(lifetime, expires)
            if lifetime == 0:
                table.pop(instance, None)
                continue
            table[instance] = Binding(
                instance, contact.uri, contact.icsi_refs, user_agent, now + lifetime
            )
        if not table:
            self._users.pop(user, None)
        return user


__all__ = ["Binding", "Registrations", "aor"]
