"""RFC 6665 subscriptions: subscriber and notifier tables, and both over a PeerPair."""

from __future__ import annotations

import pytest
from sip_peerpair import PeerPair, make_request

from conformance.errors import LocalProtocolError
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_branch, new_tag
from conformance.protocol.sip.layer import RequestReceived, ResponseReceived, response_to
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.subscription import (
    NOTIFIER_TABLE,
    SUBSCRIBER_TABLE,
    EventType,
    Notifier,
    NotifierState,
    Subscriber,
    SubscriberInput,
    SubscriberState,
    SubscriptionStateValue,
)
from conformance.protocol.sip.timers import Address, Transport

A = Address("192.0.2.1", 5060, Transport.UDP)


def subscribe(expires: int | None = 600, event: str = "conference") -> SipRequest:
    extra: list[tuple[str, str]] = [("Event", event)]
    if expires is not None:
        extra.append(("Expires", str(expires)))
    return make_request("SUBSCRIBE", A, extra=tuple(extra))


def ok(expires: int | None) -> SipResponse:
    headers = [] if expires is None else [("Expires", str(expires))]
    return response_to(subscribe(), 200, to_tag="n1", headers=headers)


def failure(status: int, headers: tuple[tuple[str, str], ...] = ()) -> SipResponse:
    return response_to(subscribe(), status, to_tag="n1", headers=headers)


def notify(state: str | None, event: str | None = "conference") -> SipRequest:
    extra: list[tuple[str, str]] = []
    if event is not None:
        extra.append(("Event", event))
    if state is not None:
        extra.append(("Subscription-State", state))
    return make_request("NOTIFY", A, extra=tuple(extra))


# -- subscriber ------------------------------------------------------------------------


def test_subscriber_lifecycle_with_refresh_partial_updates_and_noresource() -> None:
    sub = Subscriber("conference", 600, timer_n=1.28)
    assert sub.state is SubscriberState.INIT and sub.next_deadline() is None
    sub.on_subscribe_sent(0.0)
    assert sub.state is SubscriberState.NOTIFY_WAIT and sub.next_deadline() == 1.28
    sub.on_response(response_to(subscribe(), 100), 0.1)  # provisional: ignored
    sub.on_response(ok(300), 0.1)  # notifier shortened the duration
    assert sub.state is SubscriberState.NOTIFY_WAIT
    assert sub.expiry_deadline() == pytest.approx(300.1)
    assert sub.refresh_deadline() is None  # no NOTIFY yet
    full = sub.on_notify(notify("active;expires=299"), 0.2, version=1)
    assert (full.state, full.expires, full.response_status) == (SubscriberState.ACTIVE, 299, 200)
    assert not full.version_gap
    assert sub.expiry_deadline() == pytest.approx(299.2)
    assert sub.refresh_deadline() == pytest.approx(299.2 - 1.28)
    # partial updates follow version by version; a gap means state was lost
    assert not sub.on_notify(notify("active;expires=250"), 50.0, version=2).version_gap
    assert sub.on_notify(notify("active;expires=240"), 60.0, version=4).version_gap
    # refresh
    sub.on_subscribe_sent(200.0)
    sub.on_response(ok(600), 200.1)
    assert sub.state is SubscriberState.ACTIVE
    assert sub.expiry_deadline() == pytest.approx(800.1)
    sub.handle_timeout(500.0)
    assert sub.state is SubscriberState.ACTIVE
    # the group session ends
    final = sub.on_notify(notify("terminated;reason=noresource"), 501.0, version=5)
    assert final.state is SubscriberState.TERMINATED and final.reason == "noresource"
    assert sub.state is SubscriberState.TERMINATED and sub.reason == "noresource"
    assert not sub.should_resubscribe
    assert sub.next_deadline() is None and sub.refresh_deadline() is None
    assert sub.on_notify(notify("active"), 502.0).response_status == 481
    with pytest.raises(LocalProtocolError):
        sub.on_subscribe_sent(503.0)


@pytest.mark.parametrize(
    ("value", "again", "after"),
    [
        ("terminated;reason=noresource", False, 0),
        ("terminated;reason=rejected", False, 0),
        ("terminated;reason=invariant", False, 0),
        ("terminated;reason=timeout", True, 0),
        ("terminated;reason=deactivated", True, 0),
        ("terminated;reason=probation;retry-after=30", True, 30),
        ("terminated;reason=giveup;retry-after=60", True, 60),
        ("terminated", True, 0),
        ("terminated;reason=something-new", True, 0),
    ],
)
def test_should_resubscribe_rfc6665_4_1_3(value: str, again: bool, after: int) -> None:
    sub = Subscriber("conference", 600)
    sub.on_subscribe_sent(0.0)
    outcome = sub.on_notify(notify(value), 0.1)
    assert outcome.response_status == 200 and sub.state is SubscriberState.TERMINATED
    assert sub.should_resubscribe is again
    assert sub.resubscribe_after() == after


def test_notify_checks() -> None:
    sub = Subscriber("conference;id=7", 600)
    assert sub.on_notify(notify("active"), 0.0).response_status == 481  # not subscribed
    sub.on_subscribe_sent(0.0)
    assert sub.on_notify(notify("active", event="presence"), 0.1).response_status == 489
    assert sub.on_notify(notify("active", event="conference"), 0.1).response_status == 489
    assert sub.on_notify(notify("active", event=None), 0.1).response_status == 400
    assert sub.on_notify(notify(None, event="conference;id=7"), 0.1).response_status == 400
    for bad in ("bogus", "active;expires=soon"):
        assert sub.on_notify(notify(bad, event="conference;id=7"), 0.1).response_status == 400
    assert sub.state is SubscriberState.NOTIFY_WAIT
    pending = sub.on_notify(notify("pending", event="Conference;id=7"), 0.2)
    assert pending.state is SubscriberState.PENDING and pending.expires is None
    assert sub.should_resubscribe is False  # still alive
    assert sub.on_notify(notify("active;expires=60", event="conference;id=7"), 0.3).state is (
        SubscriberState.ACTIVE
    )


def test_notify_before_the_2xx_and_timer_n() -> None:
    sub = Subscriber("conference", 600, timer_n=1.0)
    sub.on_subscribe_sent(0.0)
    sub.on_notify(notify("active;expires=600"), 0.1)
    sub.on_response(ok(None), 0.2)  # no Expires: the requested duration stands
    assert sub.state is SubscriberState.ACTIVE
    assert sub.expiry_deadline() == pytest.approx(600.2)
    sub.handle_timeout(5.0)  # Timer N was stopped by the NOTIFY
    assert sub.state is SubscriberState.ACTIVE

    lonely = Subscriber("conference", 600, timer_n=1.0)
    lonely.on_subscribe_sent(0.0)
    lonely.on_response(ok(600), 0.1)
    lonely.handle_timeout(0.99)
    assert lonely.state is SubscriberState.NOTIFY_WAIT
    lonely.handle_timeout(1.0)
    assert lonely.state is SubscriberState.TERMINATED and lonely.cause == "timer-n"
    assert lonely.should_resubscribe


def test_failure_responses() -> None:
    initial = Subscriber("conference", 10)
    initial.on_subscribe_sent(0.0)
    initial.on_response(failure(423, (("Min-Expires", "60"),)), 0.1)
    assert initial.state is SubscriberState.TERMINATED
    assert initial.min_expires == 60 and initial.final_status == 423
    assert not initial.should_resubscribe

    # a failed refresh keeps the subscription unless the status is fatal (RFC 6665 4.1.2.2)
    sub = Subscriber("conference", 600)
    sub.on_subscribe_sent(0.0)
    sub.on_notify(notify("active;expires=600"), 0.1)
    sub.on_subscribe_sent(300.0)
    sub.on_response(failure(500), 300.1)
    assert sub.state is SubscriberState.ACTIVE
    sub.on_subscribe_sent(400.0)
    sub.on_response(failure(481), 400.1)
    assert sub.state is SubscriberState.TERMINATED and sub.cause == "response"
    sub.on_response(failure(500), 401.0)  # nothing left to fail
    assert sub.final_status == 481


def test_expiry_and_unsubscribe() -> None:
    sub = Subscriber("conference", 100, timer_n=2.0)
    sub.on_subscribe_sent(0.0)
    sub.on_notify(notify("active;expires=100"), 0.0)
    sub.handle_timeout(100.0)
    assert sub.state is SubscriberState.TERMINATED and sub.cause == "expired"
    assert sub.should_resubscribe

    bye = Subscriber("conference", 100, timer_n=2.0)
    bye.on_subscribe_sent(0.0)
    bye.on_notify(notify("active;expires=100"), 0.0)
    bye.on_subscribe_sent(10.0, expires=0)
    bye.on_response(ok(0), 10.1)
    assert bye.state is SubscriberState.ACTIVE and bye.refresh_deadline() is None
    assert bye.expiry_deadline() == pytest.approx(12.1)  # waits Timer N for the final NOTIFY
    done = bye.on_notify(notify("terminated;reason=timeout"), 10.2)
    assert done.state is SubscriberState.TERMINATED


def test_subscriber_table_covers_every_live_state() -> None:
    states = {s for s, _ in SUBSCRIBER_TABLE}
    assert states == set(SubscriberState)
    assert {i for _, i in SUBSCRIBER_TABLE} == set(SubscriberInput)
    # once terminated, only a late final response is accepted, and changes nothing
    ended = {i for s, i in SUBSCRIBER_TABLE if s is SubscriberState.TERMINATED}
    assert ended == {
        SubscriberInput.RESPONSE_2XX,
        SubscriberInput.RESPONSE_FATAL,
        SubscriberInput.RESPONSE_FAILED_REFRESH,
    }
    assert all(
        SUBSCRIBER_TABLE[(SubscriberState.TERMINATED, i)] is SubscriberState.TERMINATED
        for i in ended
    )


# -- notifier --------------------------------------------------------------------------


def test_notifier_accepts_refreshes_and_terminates_noresource() -> None:
    notifier = Notifier("conference", max_expires=3600, min_expires=60)
    with pytest.raises(LocalProtocolError):
        notifier.subscription_state_value(0.0)
    decision = notifier.on_subscribe(subscribe(7200), 0.0)
    assert (decision.status, decision.expires, decision.notify) == (200, 3600, True)
    assert decision.headers == (("Expires", "3600"),)
    assert notifier.state is NotifierState.ACTIVE
    assert notifier.subscription_state_value(8.4) == "active;expires=3591"
    refresh = notifier.on_subscribe(subscribe(600), 1000.0)
    assert (refresh.status, refresh.expires) == (200, 600)
    assert notifier.expiry_deadline() == pytest.approx(1600.0)
    assert notifier.next_deadline() == notifier.expiry_deadline()
    notifier.terminate("noresource")
    assert notifier.subscription_state_value(1001.0) == "terminated;reason=noresource"
    assert notifier.on_subscribe(subscribe(600), 1002.0).status == 481
    with pytest.raises(LocalProtocolError):
        notifier.terminate()


def test_notifier_rejections() -> None:
    notifier = Notifier("conference", min_expires=60)
    wrong = notifier.on_subscribe(subscribe(600, event="presence"), 0.0)
    assert (wrong.status, wrong.headers) == (489, (("Allow-Events", "conference"),))
    assert not wrong.notify
    assert notifier.on_subscribe(subscribe(600, event=""), 0.0).status == 489
    no_event = make_request("SUBSCRIBE", A, extra=(("Expires", "600"),))
    assert notifier.on_subscribe(no_event, 0.0).status == 489
    brief = notifier.on_subscribe(subscribe(10), 0.0)
    assert (brief.status, brief.headers) == (423, (("Min-Expires", "60"),))
    bad = make_request("SUBSCRIBE", A, extra=(("Event", "conference"), ("Expires", "soon")))
    assert notifier.on_subscribe(bad, 0.0).status == 400
    assert notifier.state is NotifierState.INIT
    default = notifier.on_subscribe(subscribe(None), 0.0)
    assert default.expires == 3600
    assert notifier.on_subscribe(subscribe(600, event="conference;id=2"), 1.0).status == 481


def test_notifier_unsubscribe_fetch_expiry_and_pending() -> None:
    notifier = Notifier("conference")
    notifier.on_subscribe(subscribe(600), 0.0)
    gone = notifier.on_subscribe(subscribe(0), 10.0)
    assert (gone.status, gone.expires, gone.notify) == (200, 0, True)
    assert notifier.subscription_state_value(10.0) == "terminated;reason=timeout"

    fetch = Notifier("conference")
    assert fetch.on_subscribe(subscribe(0), 0.0).status == 200
    assert fetch.state is NotifierState.TERMINATED

    expiring = Notifier("conference")
    expiring.on_subscribe(subscribe(60), 0.0)
    expiring.handle_timeout(59.0)
    assert expiring.state is NotifierState.ACTIVE
    expiring.handle_timeout(60.0)
    assert expiring.subscription_state_value(60.0) == "terminated;reason=timeout"

    pending = Notifier("conference", authorization_pending=True)
    pending.on_subscribe(subscribe(60), 0.0)
    assert pending.subscription_state_value(0.0) == "pending;expires=60"
    pending.on_subscribe(subscribe(120), 1.0)
    assert pending.state is NotifierState.PENDING
    pending.authorize()
    assert pending.subscription_state_value(1.0) == "active;expires=120"
    pending.terminate("probation", retry_after=30)
    assert pending.subscription_state_value(2.0) == "terminated;reason=probation;retry-after=30"

    never = Notifier("conference")
    never.terminate("rejected")
    assert never.state is NotifierState.TERMINATED
    assert {s for s, _ in NOTIFIER_TABLE} == set(NotifierState) - {NotifierState.TERMINATED}


def test_value_parsers() -> None:
    assert EventType.parse("Conference ; id=9") == EventType("conference", "9")
    parsed = SubscriptionStateValue.parse('Terminated;reason="NoResource";retry-after=5')
    assert parsed == SubscriptionStateValue("terminated", "noresource", None, 5)
    assert str(parsed) == "terminated;reason=noresource;retry-after=5"
    assert SubscriptionStateValue.parse("active;expires=-1") is None


# -- both sides through the transaction layers ---------------------------------------------


def test_subscribe_notify_refresh_terminate_over_peerpair() -> None:
    pair = PeerPair()
    sub = Subscriber("conference", 600, timer_n=64 * pair.timers.t1)
    notifier = Notifier("conference", max_expires=300)

    def via(peer: Address) -> str:
        return f"SIP/2.0/UDP {peer.host}:{peer.port};branch={new_branch()}"

    def request_to_b(request: SipRequest) -> RequestReceived:
        pair.a.layer.send_request(request, pair.b.address, pair.now)
        pair.run_until(lambda: bool(pair.b.seen(RequestReceived)), within=1.0)
        (got,) = pair.b.take(RequestReceived)
        return got

    def request_to_a(request: SipRequest) -> RequestReceived:
        pair.b.layer.send_request(request, pair.a.address, pair.now)
        pair.run_until(lambda: bool(pair.a.seen(RequestReceived)), within=1.0)
        (got,) = pair.a.take(RequestReceived)
        return got

    def answer_at(peer: str, got: RequestReceived, response: SipResponse) -> SipResponse:
        layer = pair.b.layer if peer == "b" else pair.a.layer
        assert got.transaction is not None
        layer.send_response(got.transaction, response, pair.now)
        asker = pair.a if peer == "b" else pair.b
        pair.run_until(lambda: bool(asker.seen(ResponseReceived)), within=1.0)
        (resp,) = asker.take(ResponseReceived)
        return resp.response

    initial = make_request(
        "SUBSCRIBE", pair.a.address, extra=(("Event", "conference"), ("Expires", "600"))
    )
    sub.on_subscribe_sent(pair.now)
    got = request_to_b(initial)
    decision = notifier.on_subscribe(got.request, pair.now)
    uas = Dialog.uas(got.request, new_tag(), "<sip:focus@192.0.2.2:5070>")
    response = response_to(
        got.request,
        decision.status,
        to_tag=uas.local_tag,
        headers=[*decision.headers, ("Contact", "<sip:focus@192.0.2.2:5070>")],
    )
    uas.confirm(response)
    received = answer_at("b", got, response)
    sub.on_response(received, pair.now)
    uac = Dialog.uac(initial, received)
    assert sub.expiry_deadline() == pytest.approx(pair.now + 300)

    def send_notify() -> int:
        n = uas.create_request(
            "NOTIFY",
            via=via(pair.b.address),
            headers=[
                ("Event", "conference"),
                ("Subscription-State", notifier.subscription_state_value(pair.now)),
            ],
        )
        got_n = request_to_a(n)
        uac.receive_request(got_n.request)
        outcome = sub.on_notify(got_n.request, pair.now)
        answer_at("a", got_n, response_to(got_n.request, outcome.response_status))
        return outcome.response_status

    assert decision.notify and send_notify() == 200
    assert sub.state is SubscriberState.ACTIVE
    refresh_at = sub.refresh_deadline()
    assert refresh_at is not None and refresh_at < (sub.expiry_deadline() or 0)
    pair.now = refresh_at
    sub.on_subscribe_sent(pair.now)
    got_r = request_to_b(
        uac.create_request(
            "SUBSCRIBE",
            via=via(pair.a.address),
            headers=[("Event", "conference"), ("Expires", "600")],
        )
    )
    uas.receive_request(got_r.request)
    decision = notifier.on_subscribe(got_r.request, pair.now)
    sub.on_response(
        answer_at("b", got_r, response_to(got_r.request, 200, headers=decision.headers)),
        pair.now,
    )
    assert send_notify() == 200
    notifier.terminate("noresource")
    assert send_notify() == 200
    assert sub.state is SubscriberState.TERMINATED and not sub.should_resubscribe
    assert send_notify() == 481  # the subscription is gone
    pair.settle(within=10.0)
