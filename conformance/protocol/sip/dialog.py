"""SIP dialogs (RFC 3261 12), sans-IO.

A :class:`Dialog` holds the dialog state of RFC 3261 12.1: Call-ID, local and remote
tags, local and remote URIs, the remote target, the route set, the local and remote
sequence numbers and the secure flag. It builds in-dialog requests (12.2.1.1, including
strict-router handling), the ACK for a 2xx (13.2.2.4), and checks incoming requests
(12.2.2: CSeq ordering, target refresh).

Its life is a transition table over :class:`DialogState`, run as the ``dialog`` machine of
:mod:`conformance.protocol.fsm`. A BYE the peer sent (:meth:`Dialog.receive_request`) is a
PEER input: in a state without a transition it raises RemoteProtocolError, as the other
faults of a received request do. Every other input is LOCAL (the TU creates a request,
confirms the dialog with a response of its transaction, or ends it): a missing transition
raises LocalProtocolError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.fsm import Machine, Origin
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request, split_list
from conformance.protocol.sip.transaction import tag_of

#: RFC 3261 12.2 and the extensions the suite uses: methods that refresh the remote target.
TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})


class DialogState(Enum):
    """RFC 3261 12 (early and confirmed dialogs; 12.3 termination)."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class DialogInput(Enum):
    """What moves a dialog (RFC 3261 12.1, 12.3, 13.2.2.4, 15)."""

    PROVISIONAL = "1xx with a To tag"
    SUCCESS = "2xx"
    FAILURE = "300-699 final response"
    BYE = "BYE sent or received"
    TERMINATE = "the TU ends the dialog"


DIALOG_TABLE: dict[tuple[DialogState, DialogInput], DialogState] = {
    (DialogState.EARLY, DialogInput.PROVISIONAL): DialogState.EARLY,
    (DialogState.EARLY, DialogInput.SUCCESS): DialogState.CONFIRMED,
    (DialogState.EARLY, DialogInput.FAILURE): DialogState.TERMINATED,
    (DialogState.EARLY, DialogInput.BYE): DialogState.TERMINATED,
    (DialogState.EARLY, DialogInput.TERMINATE): DialogState.TERMINATED,
    (DialogState.CONFIRMED, DialogInput.SUCCESS): DialogState.CONFIRMED,
    # a failed re-INVITE leaves the dialog as it was (RFC 3261 14.1)
    (DialogState.CONFIRMED, DialogInput.FAILURE): DialogState.CONFIRMED,
    (DialogState.CONFIRMED, DialogInput.PROVISIONAL): DialogState.CONFIRMED,
    (DialogState.CONFIRMED, DialogInput.BYE): DialogState.TERMINATED,
    (DialogState.CONFIRMED, DialogInput.TERMINATE): DialogState.TERMINATED,
    (DialogState.TERMINATED, DialogInput.TERMINATE): DialogState.TERMINATED,
}
DIALOG = Machine("dialog", DIALOG_TABLE)


@dataclass(frozen=True)
class DialogId:
    """RFC 3261 12: Call-ID, local tag and remote tag."""

    call_id: str
    local_tag: str
    remote_tag: str

    @classmethod
    def of_incoming_request(cls, request: SipRequest) -> DialogId | None:
        """The id a received in-dialog request belongs to (local = To tag)."""
        return _make_id(request.call_id, tag_of(request, "To"), tag_of(request, "From"))

    @classmethod
    def of_incoming_response(cls, response: SipResponse) -> DialogId | None:
        """The id a response to our request belongs to (local = From tag)."""
        return _make_id(response.call_id, tag_of(response, "From"), tag_of(response, "To"))


def _make_id(call_id: str | None, local: str | None, remote: str | None) -> DialogId | None:
    if not call_id or not local or not remote:
        return None
    return DialogId(call_id, local, remote)


# ---------------------------------------------------------------------------------------
# Minimal name-addr helpers (interim until headers.py)
# ---------------------------------------------------------------------------------------


def uri_of(value: str) -> str:
    """The URI of a name-addr / addr-spec value (``"A" <sip:a@x>;tag=1`` -> ``sip:a@x``)."""
    value = value.strip()
    start = _unquoted_index(value, "<")
    if start >= 0:
        end = value.find(">", start)
        if end < 0:
            raise RemoteProtocolError(f"unterminated <...> in {value!r}")
        return value[start + 1 : end].strip()
    return value.split(";", 1)[0].strip()


def _unquoted_index(value: str, char: str) -> int:
    in_quote = False
    escape = False
    for i, ch in enumerate(value):
        if escape:
            escape = False
        elif ch == "\\" and in_quote:
            escape = True
        elif ch == '"':
            in_quote = not in_quote
        elif ch == char and not in_quote:
            return i
    return -1


def without_tag(value: str) -> str:
    """A From/To value with its ``tag`` header parameter removed."""
    close = value.rfind(">")
    if close < 0:
        head, _, params = value.partition(";")
        prefix = head
    else:
        prefix, params = value[: close + 1], value[close + 1 :].lstrip(";")
    kept = [p for p in split_list(params, ";") if p and p.split("=")[0].strip().lower() != "tag"]
    return ";".join([prefix.strip(), *kept])


def _single_contact(message: SipRequest | SipResponse) -> str | None:
    contacts = message.headers.values("Contact")
    return uri_of(contacts[0]) if contacts else None


def is_loose_route(route: str) -> bool:
    """A Route/Record-Route element whose URI has the ``lr`` parameter (RFC 3261 19.1.1)."""
    uri = uri_of(route)
    return any(p.split("=")[0].strip().lower() == "lr" for p in uri.split(";")[1:])


def uac_route_set(record_routes: Sequence[str], own: Sequence[str] = ()) -> list[str]:
    """RFC 3261 12.1.2: the UAC's route set, the response's Record-Route in reverse order.

    ``own`` are the Record-Route values the UAC put in its request itself (a B2BUA that
    sends a Contact which is not its own, say, Record-Routes its leg so that the peer's
    in-dialog requests still reach it). The UAS copies them back at the bottom of the
    list; they name the UAC, not a hop towards the peer, so they are left out.
    """
    routes = list(record_routes)
    if own and len(routes) >= len(own):
        tail = routes[len(routes) - len(own) :]
        if [uri_of(r) for r in tail] == [uri_of(o) for o in own]:
            routes = routes[: len(routes) - len(own)]
    return list(reversed(routes))


# ---------------------------------------------------------------------------------------
# The dialog
# ---------------------------------------------------------------------------------------


class Dialog:
    """One SIP dialog (RFC 3261 12). Build it with :meth:`uac` or :meth:`uas`."""

    def __init__(
        self,
        *,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local_party: str,
        remote_party: str,
        local_target: str,
        remote_target: str,
        route_set: Sequence[str],
        local_cseq: int | None,
        remote_cseq: int | None,
        secure: bool,
        state: DialogState,
        is_uac: bool,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        #: From/To values without tag (display name and URI), as the dialog sends them
        self.local_party = local_party
        self.remote_party = remote_party
        self.local_target = local_target
        self.remote_target = remote_target
        #: Route header elements in the order the requests carry them
        self.route_set: list[str] = list(route_set)
        self.local_cseq = local_cseq
        self.remote_cseq = remote_cseq
        self.secure = secure
        self.state = state
        self.is_uac = is_uac
        #: the Record-Route entries the UAC put in its own dialog-creating request
        self.own_record_route: list[str] = []

    # -- creation -------------------------------------------------------------------
    @classmethod
    def uac(
        cls, request: SipRequest, response: SipResponse, *, own_record_route: Sequence[str] = ()
    ) -> Dialog:
        """RFC 3261 12.1.2: the dialog a UAC gets from a 1xx (with To tag) or 2xx.

        ``own_record_route``: the Record-Route values the UAC put in ``request`` itself;
        they are not part of its route set (:func:`uac_route_set`).
        """
        if not 101 <= response.status < 300:
            raise LocalProtocolError(f"a {response.status} response creates no dialog")
        remote_tag = tag_of(response, "To")
        if not remote_tag:
            raise RemoteProtocolError("dialog-creating response without To tag", raw=response.raw)
        local_tag = tag_of(request, "From")
        if not local_tag:
            raise LocalProtocolError("dialog-creating request without From tag")
        contact = _single_contact(response)
        if contact is None:
            if response.status < 200:
                contact = uri_of(request.uri)
            else:
                raise RemoteProtocolError("dialog-creating 2xx without Contact", raw=response.raw)
        routes = uac_route_set(response.headers.values("Record-Route"), own_record_route)
        number, _ = request.cseq
        dialog = cls(
            call_id=request.call_id or "",
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_party=without_tag(request.headers.get("From") or ""),
            remote_party=without_tag(request.headers.get("To") or ""),
            local_target=_single_contact(request) or "",
            remote_target=contact,
            route_set=routes,
            local_cseq=number,
            remote_cseq=None,
            secure=request.uri.lower().startswith("sips:"),
            state=DialogState.EARLY if response.status < 200 else DialogState.CONFIRMED,
            is_uac=True,
        )
        dialog.own_record_route = list(own_record_route)
        return dialog

    @classmethod
    def uas(cls, request: SipRequest, local_tag: str, local_contact: str) -> Dialog:
        """RFC 3261 12.1.1: the dialog a UAS creates when it answers with a tag.

        The dialog starts EARLY; :meth:`confirm` with the 2xx the UAS sends confirms it.
        """
        remote_tag = tag_of(request, "From")
        if not remote_tag:
            raise RemoteProtocolError("dialog-creating request without From tag", raw=request.raw)
        contact = _single_contact(request)
        if contact is None:
            raise RemoteProtocolError("dialog-creating request without Contact", raw=request.raw)
        number, _ = request.cseq
        return cls(
            call_id=request.call_id or "",
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_party=without_tag(request.headers.get("To") or ""),
            remote_party=without_tag(request.headers.get("From") or ""),
            local_target=uri_of(local_contact),
            remote_target=contact,
            route_set=request.headers.values("Record-Route"),
            local_cseq=None,
            remote_cseq=number,
            secure=request.uri.lower().startswith("sips:"),
            state=DialogState.EARLY,
            is_uac=False,
        )

    # -- views ----------------------------------------------------------------------
    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    @property
    def local_uri(self) -> str:
        return uri_of(self.local_party)

    @property
    def remote_uri(self) -> str:
        return uri_of(self.remote_party)

    def next_hop(self) -> str:
        """URI the request goes to: the first route if there is a route set (loose or
        strict router alike), else the remote target (RFC 3261 12.2.1.1, 8.1.2)."""
        if self.route_set:
            return uri_of(self.route_set[0])
        return self.remote_target

    def _step(
        self, stimulus: DialogInput, origin: Origin = Origin.LOCAL, raw: bytes | None = None
    ) -> None:
        self.state = DIALOG.step(self.state, stimulus, origin, raw=raw)

    # -- building requests ----------------------------------------------------------
    def _request_uri_and_routes(self) -> tuple[str, list[str]]:
        """RFC 3261 12.2.1.1: loose routing keeps the remote target as Request-URI; a
        strict router first in the route set becomes the Request-URI and the remote
        target goes to the end of the Route header."""
        if not self.route_set:
            return self.remote_target, []
        if is_loose_route(self.route_set[0]):
            return self.remote_target, list(self.route_set)
        first = uri_of(self.route_set[0])
        # parameters not allowed in a Request-URI are stripped (19.1.1): method, headers
        request_uri = ";".join(
            p for p in first.split("?")[0].split(";") if not p.lower().startswith("method=")
        )
        return request_uri, [*self.route_set[1:], f"<{self.remote_target}>"]

    def _base_headers(self, via: str, number: int, method: str) -> list[tuple[str, str]]:
        _, routes = self._request_uri_and_routes()
        headers: list[tuple[str, str]] = [("Via", via), ("Max-Forwards", "70")]
        headers += [("Route", r) for r in routes]
        headers += [
            ("From", f"{self.local_party};tag={self.local_tag}"),
            ("To", f"{self.remote_party};tag={self.remote_tag}"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{number} {method}"),
        ]
        return headers

    def create_request(
        self,
        method: str,
        *,
        via: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> SipRequest:
        """An in-dialog request (RFC 3261 12.2.1.1). The local CSeq goes up by one.

        ``via`` is the whole Via value (with its branch). A Contact with the local target
        is added for target-refresh methods unless ``headers`` carries one.
        """
        if method in ("ACK", "CANCEL"):
            raise LocalProtocolError(f"use create_ack / build_cancel for {method}")
        if self.state is DialogState.TERMINATED:
            raise LocalProtocolError(f"{method} in a terminated dialog")
        self.local_cseq = 1 if self.local_cseq is None else self.local_cseq + 1
        request_uri, _ = self._request_uri_and_routes()
        out = self._base_headers(via, self.local_cseq, method)
        has_contact = any(name.lower() in ("contact", "m") for name, _ in headers)
        if method in TARGET_REFRESH_METHODS and self.local_target and not has_contact:
            out.append(("Contact", f"<{self.local_target}>"))
        out.extend(headers)
        request = build_request(method, request_uri, out, body)
        if method == "BYE":
            self._step(DialogInput.BYE)
        return request

    def create_ack(
        self,
        invite_cseq: int,
        *,
        via: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> SipRequest:
        """The ACK for a 2xx to INVITE (RFC 3261 13.2.2.4): same CSeq number, method ACK,
        routed like any in-dialog request (the local CSeq does not change)."""
        request_uri, _ = self._request_uri_and_routes()
        out = self._base_headers(via, invite_cseq, "ACK")
        out.extend(headers)
        return build_request("ACK", request_uri, out, body)

    # -- receiving ------------------------------------------------------------------
    def receive_request(self, request: SipRequest) -> None:
        """RFC 3261 12.2.2: check and account for a request received in the dialog.

        Raises RemoteProtocolError when the CSeq is lower than the remote CSeq (the caller
        answers 500) or when the request belongs to another dialog (481).
        """
        if DialogId.of_incoming_request(request) != self.id:
            raise RemoteProtocolError("request does not belong to this dialog", raw=request.raw)
        number, _ = request.cseq
        if request.method not in ("ACK", "CANCEL"):
            if self.remote_cseq is not None and number < self.remote_cseq:
                raise RemoteProtocolError(
                    f"CSeq {number} lower than the remote CSeq {self.remote_cseq}",
                    raw=request.raw,
                )
            self.remote_cseq = number
        if request.method in TARGET_REFRESH_METHODS:
            contact = _single_contact(request)
            if contact is not None:
                self.remote_target = contact
        if request.method == "BYE":
            self._step(DialogInput.BYE, Origin.PEER, request.raw)

    def confirm(self, response: SipResponse) -> None:
        """Account for a response in the dialog's INVITE (or SUBSCRIBE) transaction.

        1xx: stays early; 2xx: confirmed (the UAC also takes the route set of the 2xx,
        13.2.2.4, and every 2xx to a target refresh updates the remote target, 12.2.1.2);
        300-699: an early dialog terminates, a confirmed one is unchanged.
        """
        if response.status >= 300:
            self._step(DialogInput.FAILURE)
            return
        if response.status < 200:
            self._step(DialogInput.PROVISIONAL)
        else:
            if self.is_uac and self.state is DialogState.EARLY:
                self.route_set = uac_route_set(
                    response.headers.values("Record-Route"), self.own_record_route
                )
            self._step(DialogInput.SUCCESS)
        _, method = response.cseq
        if self.is_uac and method in TARGET_REFRESH_METHODS:
            contact = _single_contact(response)
            if contact is not None:
                self.remote_target = contact

    def terminate(self) -> None:
        self._step(DialogInput.TERMINATE)

    def __repr__(self) -> str:
        return f"<Dialog {self.id} {self.state.value}>"


__all__ = [
    "DIALOG",
    "DIALOG_TABLE",
    "TARGET_REFRESH_METHODS",
    "Dialog",
    "DialogId",
    "DialogInput",
    "DialogState",
    "is_loose_route",
    "uac_route_set",
    "uri_of",
    "without_tag",
]
