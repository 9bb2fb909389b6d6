"""Which parallel worker owns a request the SUT sent to the tool's one SIP address.

Several workers (pytest-xdist) run test cases against one SUT, whose outbound proxy is the
tool's fixed address. A dispatcher sits there and hands each request to the worker that
owns it (conformance/net/dispatcher.py, docs/dev/topology.md). Each worker *claims* its
slice of the profile's users, its client instances, its own SIP addresses and its XDMS;
:class:`DispatchTable` decides, sans-IO, which claim a request falls under.

Rules, first match wins (:meth:`DispatchTable.decide`):

1. ``call-id``: the Call-ID was already decided for a worker (learned, least recently used
   entries evicted beyond :data:`CALL_ID_LIMIT`): in-dialog requests follow their dialog;
2. ``request-uri-address``: the Request-URI's host:port is one of a worker's addresses
   (a Contact or focus URI at the worker's core or own address);
3. ``request-uri-user``: the Request-URI's AOR (``scheme:user@host``) is a claimed user;
4. ``instance``: the Request-URI's ``gr`` parameter (RFC 5627 GRUU) or an Accept-Contact
   ``+sip.instance`` is a claimed instance;
5. ``to``, ``p-asserted-identity`` (first value), ``from``: the AOR is a claimed user;
6. else ``unroutable``.

Every decision for a worker learns the request's Call-ID. A value the SUT sent that does
not parse never raises: that rule does not match and the next one is tried. When two
claims hold the same user or address, the latest claim wins.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.dialog import uri_of
from conformance.protocol.sip.headers import (
    get_accept_contact,
    get_asserted_identities,
    get_from,
    get_to,
)
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.uri import SipUri, parse_uri

#: learned Call-IDs kept (least recently used evicted first)
CALL_ID_LIMIT = 4096

RULES = (
    "call-id",
    "request-uri-address",
    "request-uri-user",
    "instance",
    "to",
    "p-asserted-identity",
    "from",
    "unroutable",
)


@dataclass(frozen=True, slots=True)
class Claim:
    """What one worker owns: requests for these go to ``worker``."""

    worker: str
    #: user AORs, e.g. ``sip:alice@reference.test``
    users: frozenset[str]
    #: client instance URNs (``urn:uuid:...``) or GRUUs of those users
    instances: frozenset[str] = frozenset()
    #: (host, port) of the worker's SIP core and its other own SIP addresses
    addresses: frozenset[tuple[str, int]] = frozenset()
    #: the worker's XDMS emulator (host, port)
    xdms: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The worker a request goes to (``None``: unroutable) and the rule that decided."""

    worker: str | None
    rule: str


def user_key(uri: str) -> str | None:
    """The AOR ``scheme:user@host`` of a URI or name-addr, host in lower case, for
    comparing users (``None`` when it does not parse)."""
    parsed = _parse(uri)
    if parsed is None:
        return None
    return _aor_key(parsed)


def _aor_key(parsed: SipUri) -> str:
    if parsed.is_sip:
        host = parsed.host.lower()
        return f"{parsed.scheme}:{parsed.user}@{host}" if parsed.user else f"{parsed.scheme}:{host}"
    return parsed.aor


def _parse(uri: str) -> SipUri | None:
    """``uri`` (a URI, or a name-addr whose URI is in ``<>``) parsed; None if invalid."""
    try:
        return parse_uri(uri_of(uri) if "<" in uri else uri.strip())
    except RemoteProtocolError:
        return None


def _instance_key(value: str) -> str:
    """An instance URN compared case-insensitively, without quotes or ``<>``."""
    text = value.strip().strip('"').strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    return text.lower()


def _host_key(host: str) -> str:
    return host.strip().strip("[]").lower()


def _instance_keys(value: str) -> set[str]:
    """The keys a claimed instance matches: itself, and the ``gr`` of a GRUU."""
    keys = {_instance_key(value)}
    parsed = _parse(value) if value.strip().lower().startswith(("sip:", "sips:", "<")) else None
    if parsed is not None and parsed.param("gr"):
        keys.add(_instance_key(parsed.param("gr") or ""))
    return keys


class DispatchTable:
    """The claims of the workers and the decisions they imply (module docstring)."""

    def __init__(self, *, call_id_limit: int = CALL_ID_LIMIT) -> None:
        self.call_id_limit = call_id_limit
        self._claims: dict[str, tuple[int, Claim]] = {}
        self._sequence = 0
        self._users: dict[str, str] = {}
        self._instances: dict[str, str] = {}
        self._addresses: dict[tuple[str, int], str] = {}
        self._call_ids: OrderedDict[str, str] = OrderedDict()

    # -- claims ---------------------------------------------------------------------
    def claim(self, claim: Claim) -> None:
        """Replace ``claim.worker``'s claim; what another worker also claims is now this
        worker's (the latest claim wins)."""
        self._sequence += 1
        self._claims[claim.worker] = (self._sequence, claim)
        self._reindex()

    def release(self, worker: str) -> None:
        """Forget ``worker``'s claim and the Call-IDs learned for it."""
        self._claims.pop(worker, None)
        for call_id in [c for c, w in self._call_ids.items() if w == worker]:
            del self._call_ids[call_id]
        self._reindex()

    def claim_of(self, worker: str) -> Claim | None:
        entry = self._claims.get(worker)
        return entry[1] if entry is not None else None

    @property
    def workers(self) -> list[str]:
        """The workers with a claim, oldest claim first."""
        return [c.worker for _, c in sorted(self._claims.values(), key=lambda e: e[0])]

    def owner_of_user(self, uri: str) -> str | None:
        """The worker that owns the user ``uri`` (a URI or name-addr; None: nobody)."""
        key = user_key(uri)
        return self._users.get(key) if key is not None else None

    def _reindex(self) -> None:
        self._users.clear()
        self._instances.clear()
        self._addresses.clear()
        for _, claim in sorted(self._claims.values(), key=lambda e: e[0]):
            for user in claim.users:
                self._users[user_key(user) or user.strip()] = claim.worker
            for instance in claim.instances:
                for key in _instance_keys(instance):
                    self._instances[key] = claim.worker
            for host, port in claim.addresses:
                self._addresses[(_host_key(host), int(port))] = claim.worker

    # -- decisions ------------------------------------------------------------------
    def decide(self, request: SipRequest) -> Decision:
        """The worker that owns ``request`` (module docstring); learns its Call-ID."""
        call_id = _safe(lambda: request.call_id)
        if call_id:
            worker = self._call_ids.get(call_id)
            if worker is not None:
                self._call_ids.move_to_end(call_id)
                return Decision(worker, "call-id")
        for rule, probe in self._rules(request):
            worker = _safe(probe)
            if worker is not None:
                if call_id:
                    self._learn(call_id, worker)
                return Decision(worker, rule)
        return Decision(None, "unroutable")

    def _rules(self, request: SipRequest) -> list[tuple[str, Callable[[], str | None]]]:
        ruri = _parse(request.uri)
        return [
            ("request-uri-address", lambda: self._by_address(ruri)),
            ("request-uri-user", lambda: self._by_uri(ruri)),
            ("instance", lambda: self._by_instance(request, ruri)),
            ("to", lambda: self.owner_of_user(get_to(request).uri)),
            ("p-asserted-identity", lambda: self._by_asserted(request)),
            ("from", lambda: self.owner_of_user(get_from(request).uri)),
        ]

    def _by_address(self, ruri: SipUri | None) -> str | None:
        if ruri is None or not ruri.is_sip or not ruri.host:
            return None
        port = ruri.port if ruri.port is not None else (5061 if ruri.scheme == "sips" else 5060)
        return self._addresses.get((_host_key(ruri.host), port))

    def _by_uri(self, ruri: SipUri | None) -> str | None:
        return self._users.get(_aor_key(ruri)) if ruri is not None else None

    def _by_instance(self, request: SipRequest, ruri: SipUri | None) -> str | None:
        candidates: list[str] = []
        if ruri is not None and ruri.is_sip:
            gr = ruri.param("gr")
            if gr:
                candidates.append(gr)
        with contextlib.suppress(RemoteProtocolError):
            candidates += [p.instance for p in get_accept_contact(request) if p.instance]
        for value in candidates:
            worker = self._instances.get(_instance_key(value))
            if worker is not None:
                return worker
        return None

    def _by_asserted(self, request: SipRequest) -> str | None:
        identities = get_asserted_identities(request)
        return self.owner_of_user(identities[0].uri) if identities else None

    def _learn(self, call_id: str, worker: str) -> None:
        self._call_ids[call_id] = worker
        self._call_ids.move_to_end(call_id)
        while len(self._call_ids) > self.call_id_limit:
            self._call_ids.popitem(last=False)

    @property
    def learned_call_ids(self) -> int:
        return len(self._call_ids)


def _safe(probe: Callable[[], str | None]) -> str | None:
    """``probe()``, or None when what the SUT sent does not parse."""
    try:
        return probe()
    except (RemoteProtocolError, ValueError, IndexError):
        return None


__all__ = ["CALL_ID_LIMIT", "RULES", "Claim", "Decision", "DispatchTable", "user_key"]
