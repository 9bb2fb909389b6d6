"""Dialogs (RFC 3261 12): creation on both sides, routing, CSeq ordering, target refresh."""

from __future__ import annotations

import pytest
from sip_peerpair import PeerPair, make_request

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.sip.dialog import (
    DIALOG_TABLE,
    Dialog,
    DialogId,
    DialogInput,
    DialogState,
    is_loose_route,
    uac_route_set,
    uri_of,
    without_tag,
)
from conformance.protocol.sip.ids import new_branch, new_tag
from conformance.protocol.sip.layer import (
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
    response_to,
)
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.timers import Address, Transport
from conformance.protocol.sip.transaction import tag_of

A = Address("192.0.2.1", 5060, Transport.UDP)
VIA = f"SIP/2.0/UDP 192.0.2.1:5060;branch={new_branch()}"
RR = (("Record-Route", "<sip:p1.example.com;lr>"), ("Record-Route", "<sip:p2.example.com;lr>"))


def invite(extra: tuple[tuple[str, str], ...] = (), uri: str = "sip:bob@example.com") -> SipRequest:
    return make_request("INVITE", A, uri=uri, cseq=10, extra=extra)


def answer(
    request: SipRequest,
    status: int,
    *,
    contact: str | None = "<sip:bob@192.0.2.2:5070>",
    extra: tuple[tuple[str, str], ...] = (),
    tag: str | None = "bobtag",
) -> SipResponse:
    headers = list(extra)
    if contact:
        headers.append(("Contact", contact))
    return response_to(request, status, to_tag=tag, headers=headers)


def test_uac_dialog_from_2xx_with_loose_route_set() -> None:
    request = invite(RR)
    ok = answer(request, 200, extra=RR)
    dialog = Dialog.uac(request, ok)
    assert dialog.state is DialogState.CONFIRMED and dialog.is_uac
    assert dialog.id == DialogId(request.call_id or "", tag_of(request, "From") or "", "bobtag")
    assert dialog.id == DialogId.of_incoming_response(ok)
    assert dialog.route_set == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert dialog.remote_target == "sip:bob@192.0.2.2:5070"
    assert dialog.local_target == "sip:alice@192.0.2.1:5060"
    assert dialog.local_uri == "sip:alice@example.com"
    assert dialog.remote_uri == "sip:bob@example.com"
    assert dialog.local_cseq == 10 and dialog.remote_cseq is None and not dialog.secure
    assert dialog.next_hop() == "sip:p2.example.com;lr"

    ack = dialog.create_ack(10, via=VIA)
    assert ack.method == "ACK" and ack.cseq == (10, "ACK")
    assert ack.uri == "sip:bob@192.0.2.2:5070"
    assert dialog.local_cseq == 10

    info = dialog.create_request(
        "INFO", via=VIA, headers=[("Content-Type", "text/plain")], body=b"hi"
    )
    assert info.uri == dialog.remote_target
    assert info.cseq == (11, "INFO")
    assert info.headers.get_all("Route") == dialog.route_set
    assert info.headers.get("Max-Forwards") == "70"
    assert tag_of(info, "From") == dialog.local_tag and tag_of(info, "To") == "bobtag"
    assert "Contact" not in info.headers and info.body == b"hi"

    reinvite = dialog.create_request("INVITE", via=VIA)
    assert reinvite.headers.get("Contact") == "<sip:alice@192.0.2.1:5060>"
    own = dialog.create_request("UPDATE", via=VIA, headers=[("Contact", "<sip:x@y>")])
    assert own.headers.get_all("Contact") == ["<sip:x@y>"]

    bye = dialog.create_request("BYE", via=VIA)
    assert bye.cseq == (14, "BYE") and dialog.state is DialogState.TERMINATED
    with pytest.raises(LocalProtocolError):
        dialog.create_request("INFO", via=VIA)


def test_strict_router_first_in_route_set() -> None:
    request = invite()
    ok = answer(
        request,
        200,
        extra=(
            ("Record-Route", "<sip:strict.example.com;maddr=1.2.3.4>"),
            ("Record-Route", "<sip:loose.example.com;lr>"),
        ),
    )
    dialog = Dialog.uac(request, ok)
    assert dialog.route_set == [
        "<sip:loose.example.com;lr>",
        "<sip:strict.example.com;maddr=1.2.3.4>",
    ]
    dialog.route_set.reverse()  # make the strict router first
    assert not is_loose_route(dialog.route_set[0])
    bye = dialog.create_request("BYE", via=VIA)
    assert bye.uri == "sip:strict.example.com;maddr=1.2.3.4"
    assert bye.headers.get_all("Route") == [
        "<sip:loose.example.com;lr>",
        "<sip:bob@192.0.2.2:5070>",
    ]
    assert dialog.next_hop() == "sip:strict.example.com;maddr=1.2.3.4"


def test_no_route_set_goes_to_the_remote_target() -> None:
    request = invite(uri="sips:bob@example.com")
    dialog = Dialog.uac(request, answer(request, 200))
    assert dialog.next_hop() == "sip:bob@192.0.2.2:5070" and dialog.secure
    assert "Route" not in dialog.create_request("OPTIONS", via=VIA).headers


def test_early_dialog_confirmed_by_2xx_recomputes_route_set_and_target() -> None:
    request = invite()
    ringing = answer(request, 180, extra=(("Record-Route", "<sip:early;lr>"),))
    dialog = Dialog.uac(request, ringing)
    assert dialog.state is DialogState.EARLY and dialog.route_set == ["<sip:early;lr>"]
    dialog.confirm(answer(request, 183, contact="<sip:bob@early-target>"))
    assert dialog.state is DialogState.EARLY and dialog.remote_target == "sip:bob@early-target"
    dialog.confirm(answer(request, 200, extra=RR, contact="<sip:bob@final>"))
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.route_set == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert dialog.remote_target == "sip:bob@final"
    dialog.confirm(answer(request, 491))  # a failed re-INVITE keeps the dialog
    assert dialog.state is DialogState.CONFIRMED
    dialog.terminate()
    dialog.terminate()
    assert dialog.state is DialogState.TERMINATED


def test_uac_own_record_route_is_not_in_its_route_set() -> None:
    """A B2BUA that Record-Routes the leg it originates (its Contact is not its own) gets
    its entry back at the bottom of the Record-Route: the route set holds only the hops
    above it, so its in-dialog requests do not go to itself."""
    own = "<sip:b2bua.example.com;lr>"
    request = invite((("Record-Route", own),))
    # the proxy on the way Record-Routes above it; the UAS copies both
    proxy = ("Record-Route", "<sip:p1.example.com;lr=on;ftag=x>")
    ringing = answer(request, 180, extra=(proxy, ("Record-Route", own)))
    dialog = Dialog.uac(request, ringing, own_record_route=[own])
    assert dialog.route_set == ["<sip:p1.example.com;lr=on;ftag=x>"]
    dialog.confirm(answer(request, 200, extra=(proxy, ("Record-Route", " " + own))))
    assert dialog.route_set == ["<sip:p1.example.com;lr=on;ftag=x>"]
    bye = dialog.create_request("BYE", via=VIA)
    assert bye.headers.get_all("Route") == ["<sip:p1.example.com;lr=on;ftag=x>"]
    assert bye.uri == "sip:bob@192.0.2.2:5070"
    # without a proxy the route set is empty: requests go to the remote target
    direct = Dialog.uac(
        request, answer(request, 200, extra=(("Record-Route", own),)), own_record_route=[own]
    )
    assert direct.route_set == [] and direct.next_hop() == "sip:bob@192.0.2.2:5070"
    # by default (no own entries) every Record-Route entry is a route
    assert Dialog.uac(request, answer(request, 200, extra=RR)).route_set == [
        "<sip:p2.example.com;lr>",
        "<sip:p1.example.com;lr>",
    ]


def test_uac_route_set_keeps_a_foreign_bottom_entry() -> None:
    own = ["<sip:b2bua.example.com;lr>"]
    records = ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    # the UAS did not copy the UAC's own entry: nothing is taken away
    assert uac_route_set(records, own) == list(reversed(records))
    assert uac_route_set([], own) == []
    assert uac_route_set([*records, "<sip:b2bua.example.com;lr>"], own) == list(reversed(records))
    # an own entry in the middle (not at the bottom) is another hop, kept
    middle = ["<sip:p1.example.com;lr>", own[0], "<sip:p2.example.com;lr>"]
    assert uac_route_set(middle, own) == list(reversed(middle))
    with pytest.raises(RemoteProtocolError):
        uac_route_set(["<sip:broken"], own)


def test_early_dialog_ends_with_a_failure_and_1xx_without_contact() -> None:
    request = invite()
    dialog = Dialog.uac(request, answer(request, 180, contact=None))
    assert dialog.remote_target == "sip:bob@example.com"
    dialog.confirm(answer(request, 486))
    assert dialog.state is DialogState.TERMINATED
    with pytest.raises(LocalProtocolError):
        dialog.confirm(answer(request, 200))


def test_uac_creation_errors() -> None:
    request = invite()
    with pytest.raises(RemoteProtocolError):
        Dialog.uac(request, answer(request, 200, tag=None))
    with pytest.raises(RemoteProtocolError):
        Dialog.uac(request, answer(request, 200, contact=None))
    with pytest.raises(LocalProtocolError):
        Dialog.uac(request, answer(request, 100))
    with pytest.raises(LocalProtocolError):
        Dialog.uac(request, answer(request, 486))


def test_uas_dialog_cseq_ordering_and_target_refresh() -> None:
    request = invite(RR)
    dialog = Dialog.uas(request, "bobtag", "<sip:bob@192.0.2.2:5070>")
    assert not dialog.is_uac and dialog.state is DialogState.EARLY
    assert dialog.id == DialogId.of_incoming_request(
        make_request(
            "BYE", A, call_id=request.call_id, from_tag=tag_of(request, "From"), to_tag="bobtag"
        )
    )
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.remote_target == "sip:alice@192.0.2.1:5060"
    assert dialog.local_target == "sip:bob@192.0.2.2:5070"
    assert dialog.remote_cseq == 10 and dialog.local_cseq is None
    dialog.confirm(answer(request, 200))
    assert dialog.state is DialogState.CONFIRMED

    def incoming(method: str, cseq: int, contact: str | None = None) -> SipRequest:
        req = make_request(
            method,
            A,
            call_id=request.call_id,
            cseq=cseq,
            from_tag=tag_of(request, "From"),
            to_tag="bobtag",
        )
        if contact is not None:
            req = req.__class__(
                headers=req.headers.set("Contact", contact),
                body=b"",
                version=req.version,
                raw=req.raw,
                method=method,
                uri=req.uri,
            )
        return req

    dialog.receive_request(incoming("ACK", 10))
    dialog.receive_request(incoming("INFO", 11))
    assert dialog.remote_cseq == 11
    with pytest.raises(RemoteProtocolError):  # lower: the caller answers 500
        dialog.receive_request(incoming("INFO", 9))
    dialog.receive_request(incoming("INVITE", 12, contact="<sip:alice@new-place>"))
    assert dialog.remote_target == "sip:alice@new-place" and dialog.remote_cseq == 12
    dialog.receive_request(incoming("ACK", 12))
    dialog.receive_request(incoming("CANCEL", 5))
    assert dialog.remote_cseq == 12
    with pytest.raises(RemoteProtocolError):
        dialog.receive_request(make_request("INFO", A, call_id=request.call_id, cseq=13))
    # the UAS picks its first local CSeq when it first sends
    assert dialog.create_request("INFO", via=VIA).cseq == (1, "INFO")
    dialog.receive_request(incoming("BYE", 13))
    assert dialog.state is DialogState.TERMINATED


def test_uas_creation_errors() -> None:
    no_contact = make_request("INVITE", A)
    no_contact = no_contact.__class__(
        headers=no_contact.headers.remove("Contact"),
        body=b"",
        version="SIP/2.0",
        raw=no_contact.raw,
        method="INVITE",
        uri=no_contact.uri,
    )
    with pytest.raises(RemoteProtocolError):
        Dialog.uas(no_contact, "t", "<sip:b@h>")
    no_from_tag = no_contact.__class__(
        headers=no_contact.headers.set("From", "<sip:alice@example.com>"),
        body=b"",
        version="SIP/2.0",
        raw=b"",
        method="INVITE",
        uri=no_contact.uri,
    )
    with pytest.raises(RemoteProtocolError):
        Dialog.uas(no_from_tag, "t", "<sip:b@h>")
    with pytest.raises(LocalProtocolError):
        Dialog.uac(no_from_tag, answer(no_from_tag, 200))


def test_ack_and_cancel_are_not_create_request() -> None:
    request = invite()
    dialog = Dialog.uac(request, answer(request, 200))
    for method in ("ACK", "CANCEL"):
        with pytest.raises(LocalProtocolError):
            dialog.create_request(method, via=VIA)
    assert "Dialog" in repr(dialog)


def test_helpers() -> None:
    assert uri_of('"A <x>" <sip:a@x;lr>;tag=1') == "sip:a@x;lr"
    assert uri_of("sip:a@x;tag=1") == "sip:a@x"
    with pytest.raises(RemoteProtocolError):
        uri_of("<sip:a@x")
    assert without_tag('"A" <sip:a@x>;tag=1;foo=2') == '"A" <sip:a@x>;foo=2'
    assert without_tag("sip:a@x;tag=1") == "sip:a@x"
    assert DialogId.of_incoming_request(make_request("INFO", A)) is None
    every_state = {s for s, _ in DIALOG_TABLE} | set(DIALOG_TABLE.values())
    assert every_state == set(DialogState)
    assert {i for _, i in DIALOG_TABLE} == set(DialogInput)


def test_dialog_over_peerpair_invite_ack_bye() -> None:
    """Both sides drive their dialogs through the transaction layers."""
    pair = PeerPair()
    invite_req = make_request("INVITE", pair.a.address, extra=RR)
    invite_tid = pair.a.layer.send_request(invite_req, pair.b.address, 0.0)
    pair.run_until(lambda: bool(pair.b.seen(RequestReceived)), within=1.0)
    (got,) = pair.b.take(RequestReceived)
    assert got.transaction is not None
    uas = Dialog.uas(got.request, new_tag(), "<sip:bob@192.0.2.2:5070>")
    ok = response_to(
        got.request,
        200,
        to_tag=uas.local_tag,
        headers=[*RR, ("Contact", "<sip:bob@192.0.2.2:5070>")],
    )
    pair.b.layer.retransmit_2xx_until_ack(got.transaction, ok, pair.now)
    uas.confirm(ok)
    pair.run_until(lambda: bool(pair.a.seen(ResponseReceived)), within=1.0)
    (resp,) = pair.a.take(ResponseReceived)
    assert resp.transaction == invite_tid
    uac = Dialog.uac(invite_req, resp.response)
    assert uac.id.local_tag == uas.id.remote_tag and uac.id.remote_tag == uas.id.local_tag
    via = f"SIP/2.0/UDP 192.0.2.1:5060;branch={new_branch()}"
    pair.a.layer.send_request(uac.create_ack(invite_req.cseq[0], via=via), pair.b.address, 0.0)
    pair.run_until(lambda: bool(pair.b.seen(RequestReceived)), within=1.0)
    (ack,) = pair.b.take(RequestReceived)
    assert ack.transaction is None and ack.request.method == "ACK"
    uas.receive_request(ack.request)
    bye = uac.create_request("BYE", via=f"SIP/2.0/UDP 192.0.2.1:5060;branch={new_branch()}")
    assert bye.headers.get_all("Route") == uac.route_set
    pair.a.layer.send_request(bye, pair.b.address, pair.now)
    pair.run_until(lambda: bool(pair.b.seen(RequestReceived)), within=1.0)
    (got_bye,) = pair.b.take(RequestReceived)
    assert got_bye.transaction is not None
    uas.receive_request(got_bye.request)
    assert uas.state is DialogState.TERMINATED and uac.state is DialogState.TERMINATED
    pair.b.layer.send_response(got_bye.transaction, response_to(got_bye.request, 200), pair.now)
    pair.settle(within=10.0)
    assert not pair.a.seen(TransactionTimedOut) and not pair.b.seen(TransactionTimedOut)
