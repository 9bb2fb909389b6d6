"""The one convention of the protocol state machines (conformance.protocol.fsm): a missing
transition is a LocalProtocolError for our own input and a RemoteProtocolError, reported
by the machine, for the peer's."""

from __future__ import annotations

from enum import Enum

import pytest
from sip_peerpair import FAST, make_request

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.fsm import Machine, Origin, step
from conformance.protocol.msrp import session as msrp_session
from conformance.protocol.msrp.chunking import REASSEMBLY_MACHINE, TRANSITIONS
from conformance.protocol.sip import dialog, layer, subscription, transaction
from conformance.protocol.sip.dialog import Dialog, DialogState
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.subscription import Notifier, Subscriber, SubscriberState
from conformance.protocol.sip.timers import Address, Transport
from conformance.protocol.sip.transaction import (
    Action,
    InviteClientState,
    ServerTransaction,
    ServerTransactionId,
    Stimulus,
    top_via,
)

A = Address("192.0.2.1", 5060, Transport.UDP)


class Light(Enum):
    RED = "red"
    GREEN = "green"


LIGHT = Machine("light", {(Light.RED, "go"): Light.GREEN})


def test_machine_missing_transition_by_origin() -> None:
    assert LIGHT.step(Light.RED, "go", Origin.LOCAL) is Light.GREEN
    assert LIGHT.allows(Light.RED, "go") and not LIGHT.allows(Light.GREEN, "go")
    with pytest.raises(LocalProtocolError, match="light: no transition for go in state green"):
        LIGHT.step(Light.GREEN, "go", Origin.LOCAL)
    with pytest.raises(RemoteProtocolError) as caught:
        LIGHT.step(Light.GREEN, "go", Origin.PEER, raw=b"GO")
    assert caught.value.raw == b"GO"
    with pytest.raises(LocalProtocolError):
        step(LIGHT.table, Light.GREEN, "go", "light")


def test_every_machine_is_named_over_its_table() -> None:
    machines = {
        transaction.INVITE_CLIENT: transaction.INVITE_CLIENT_TABLE,
        transaction.NON_INVITE_CLIENT: transaction.NON_INVITE_CLIENT_TABLE,
        transaction.INVITE_SERVER: transaction.INVITE_SERVER_TABLE,
        transaction.NON_INVITE_SERVER: transaction.NON_INVITE_SERVER_TABLE,
        layer.UAS_ACK_WAIT: layer.UAS_ACK_WAIT_TABLE,
        dialog.DIALOG: dialog.DIALOG_TABLE,
        subscription.SUBSCRIBER: subscription.SUBSCRIBER_TABLE,
        subscription.NOTIFIER: subscription.NOTIFIER_TABLE,
        msrp_session.TRANSACTION_MACHINE: msrp_session.TRANSACTION_TRANSITIONS,
        msrp_session.CONNECTION_MACHINE: msrp_session.CONNECTION_TRANSITIONS,
        REASSEMBLY_MACHINE: TRANSITIONS,
    }
    for machine, table in machines.items():
        assert machine.table is table and machine.name
    assert len({m.name for m in machines}) == len(machines)


def test_transaction_network_stimulus_without_transition_is_a_violation() -> None:
    assert Stimulus.R2XX.origin is Origin.PEER and Stimulus.TIMER_A.origin is Origin.LOCAL
    assert Stimulus.TU_2XX.origin is Origin.LOCAL
    assert Stimulus.TRANSPORT_ERROR.origin is Origin.LOCAL
    request = make_request("OPTIONS", A)
    via = top_via(request)
    tid = ServerTransactionId(via.branch or "", via.sent_by, "OPTIONS")
    tx = ServerTransaction(request, A, FAST, tid)
    ack = make_request("ACK", A)
    (out,) = tx.receive_request(ack, 0.0)  # an ACK never belongs to a non-INVITE transaction
    assert out.action is Action.VIOLATION and out.message is ack
    assert isinstance(out.error, RemoteProtocolError) and out.error.raw == ack.raw
    # what RFC 3261 ignores has an explicit entry: a transport error before any response
    assert tx.transport_error(0.0) == []
    tx.send_response(response_to(request, 200, to_tag="t"), 0.0)
    with pytest.raises(LocalProtocolError):
        tx.send_response(response_to(request, 200, to_tag="t"), 0.0)
    for table in (
        transaction.INVITE_CLIENT_TABLE,
        transaction.NON_INVITE_CLIENT_TABLE,
        transaction.INVITE_SERVER_TABLE,
        transaction.NON_INVITE_SERVER_TABLE,
    ):
        live = {s for s, _ in table}  # type: ignore[attr-defined]
        assert {s for s, i in table if i is Stimulus.TRANSPORT_ERROR} == live  # type: ignore[attr-defined]
    assert InviteClientState.TERMINATED not in {s for s, _ in transaction.INVITE_CLIENT_TABLE}


def test_dialog_bye_from_the_peer_in_a_terminated_dialog_is_remote() -> None:
    request = make_request("INVITE", A, cseq=1, extra=(("Contact", "<sip:a@192.0.2.1>"),))
    uas = Dialog.uas(request, "uastag", "<sip:b@192.0.2.2>")
    uas.confirm(response_to(request, 200, to_tag="uastag"))
    bye = make_request(
        "BYE",
        A,
        call_id=request.call_id,
        cseq=2,
        from_tag=uas.remote_tag,
        to_tag="uastag",
    )
    uas.receive_request(bye)
    assert uas.state is DialogState.TERMINATED
    again = make_request(
        "BYE", A, call_id=request.call_id, cseq=3, from_tag=uas.remote_tag, to_tag="uastag"
    )
    with pytest.raises(RemoteProtocolError) as caught:
        uas.receive_request(again)
    assert caught.value.raw == again.raw
    with pytest.raises(LocalProtocolError):  # our own use of a terminated dialog
        uas.confirm(response_to(request, 200, to_tag="uastag"))


def test_subscription_peer_inputs_are_reported_local_ones_raise() -> None:
    sub = Subscriber("conference", 600)
    answer = response_to(make_request("SUBSCRIBE", A), 200, to_tag="n")
    error = sub.on_response(answer, 0.0)  # no SUBSCRIBE was sent
    assert isinstance(error, RemoteProtocolError) and sub.state is SubscriberState.INIT
    sub.on_subscribe_sent(0.0)
    assert sub.on_response(response_to(make_request("SUBSCRIBE", A), 489, to_tag="n"), 0.1) is None
    assert sub.state is SubscriberState.TERMINATED
    assert sub.on_response(answer, 0.2) is None  # a late answer: explicit, no effect
    assert sub.final_status == 489
    with pytest.raises(LocalProtocolError):  # our own SUBSCRIBE after the end
        sub.on_subscribe_sent(1.0)
    notifier = Notifier("conference")
    with pytest.raises(LocalProtocolError):
        notifier.authorize()  # nothing to authorize before a SUBSCRIBE
