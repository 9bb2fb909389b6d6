"""SIP-specific event notification (RFC 6665), both sides, sans-IO.

:class:`Subscriber` and :class:`Notifier` are transition tables over their state enums,
run as the ``subscriber`` and ``notifier`` machines of :mod:`conformance.protocol.fsm`.
They judge nothing and send nothing: they tell the caller which status to answer with,
which ``Subscription-State`` value to send, and when to refresh or expire.

Inputs from the peer (a response to our SUBSCRIBE, a NOTIFY, a SUBSCRIBE) are PEER inputs:
a missing transition is a RemoteProtocolError, which :meth:`Subscriber.on_response`
returns and :meth:`Notifier.on_subscribe` answers with 481 (a NOTIFY outside a
subscription is answered 481 before the table is asked). Our own SUBSCRIBE, our decisions
(authorize, terminate) and our timers are LOCAL inputs: a missing transition raises
LocalProtocolError.

Time comes in as ``now`` (seconds); deadlines go out as floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.fsm import Machine, Origin
from conformance.protocol.sip.message import SipRequest, SipResponse, split_list

#: RFC 6665 4.1.3: reasons after which the subscriber must not re-subscribe.
NO_RESUBSCRIBE_REASONS = frozenset({"noresource", "rejected", "invariant"})
#: RFC 6665 4.1.3: reasons after which a re-subscription waits for ``retry-after``.
RETRY_AFTER_REASONS = frozenset({"probation", "giveup"})
#: RFC 6665 4.1.2.2: answers to a refreshing SUBSCRIBE that end the subscription.
FATAL_REFRESH_STATUSES = frozenset(
    {404, 405, 410, 416, 480, 481, 482, 483, 484, 485, 489, 501, 604}
)


@dataclass(frozen=True, slots=True)
class EventType:
    """An ``Event`` header value: package (lower case) and optional ``id`` (RFC 6665 8.2.1)."""

    package: str
    id: str | None = None

    @classmethod
    def parse(cls, value: str) -> EventType:
        package, *params = split_list(value, ";")
        event_id: str | None = None
        for param in params:
            name, eq, val = param.partition("=")
            if name.strip().lower() == "id" and eq:
                event_id = val.strip()
        return cls(package.strip().lower(), event_id)


@dataclass(frozen=True, slots=True)
class SubscriptionStateValue:
    """A parsed ``Subscription-State`` (RFC 6665 8.2.3)."""

    state: str
    reason: str | None = None
    expires: int | None = None
    retry_after: int | None = None

    @classmethod
    def parse(cls, value: str) -> SubscriptionStateValue | None:
        """None when the value cannot be parsed (the caller answers 400)."""
        state, *params = split_list(value, ";")
        state = state.strip().lower()
        if state not in ("active", "pending", "terminated"):
            return None
        found: dict[str, str] = {}
        for param in params:
            name, _, val = param.partition("=")
            found[name.strip().lower()] = val.strip().strip('"')
        numbers: dict[str, int | None] = {}
        for name in ("expires", "retry-after"):
            text = found.get(name)
            if text is None:
                numbers[name] = None
            elif text.isdigit():
                numbers[name] = int(text)
            else:
                return None
        reason = found.get("reason")
        return cls(
            state,
            reason.lower() if reason else None,
            numbers["expires"],
            numbers["retry-after"],
        )

    def __str__(self) -> str:
        out = self.state
        if self.reason:
            out += f";reason={self.reason}"
        if self.expires is not None:
            out += f";expires={self.expires}"
        if self.retry_after is not None:
            out += f";retry-after={self.retry_after}"
        return out


# ---------------------------------------------------------------------------------------
# Subscriber
# ---------------------------------------------------------------------------------------


class SubscriberState(Enum):
    """RFC 6665 4.1 (subscriber behaviour) with Timer N of 4.1.2.4."""

    INIT = "init"
    NOTIFY_WAIT = "notify-wait"
    PENDING = "pending"
    ACTIVE = "active"
    TERMINATED = "terminated"


class SubscriberInput(Enum):
    """What moves a subscriber (RFC 6665 4.1.2, 4.1.3)."""

    SUBSCRIBE_SENT = "SUBSCRIBE sent"
    RESPONSE_2XX = "2xx to SUBSCRIBE"
    RESPONSE_FATAL = "failure response that ends the subscription"
    RESPONSE_FAILED_REFRESH = "failure response to a refresh that keeps the subscription"
    NOTIFY_ACTIVE = "NOTIFY with active"
    NOTIFY_PENDING = "NOTIFY with pending"
    NOTIFY_TERMINATED = "NOTIFY with terminated"
    TIMER_N = "Timer N fired (no NOTIFY)"
    EXPIRED = "subscription duration elapsed"


_SS = SubscriberState
_SI = SubscriberInput

SUBSCRIBER_TABLE: dict[tuple[SubscriberState, SubscriberInput], SubscriberState] = {
    (_SS.INIT, _SI.SUBSCRIBE_SENT): _SS.NOTIFY_WAIT,
    (_SS.NOTIFY_WAIT, _SI.SUBSCRIBE_SENT): _SS.NOTIFY_WAIT,
    (_SS.NOTIFY_WAIT, _SI.RESPONSE_2XX): _SS.NOTIFY_WAIT,
    (_SS.NOTIFY_WAIT, _SI.RESPONSE_FATAL): _SS.TERMINATED,
    (_SS.NOTIFY_WAIT, _SI.RESPONSE_FAILED_REFRESH): _SS.TERMINATED,
    (_SS.NOTIFY_WAIT, _SI.NOTIFY_ACTIVE): _SS.ACTIVE,
    (_SS.NOTIFY_WAIT, _SI.NOTIFY_PENDING): _SS.PENDING,
    (_SS.NOTIFY_WAIT, _SI.NOTIFY_TERMINATED): _SS.TERMINATED,
    (_SS.NOTIFY_WAIT, _SI.TIMER_N): _SS.TERMINATED,
    (_SS.NOTIFY_WAIT, _SI.EXPIRED): _SS.TERMINATED,
    **{
        (state, stimulus): target
        for state in (_SS.PENDING, _SS.ACTIVE)
        for stimulus, target in (
            (_SI.SUBSCRIBE_SENT, state),
            (_SI.RESPONSE_2XX, state),
            (_SI.RESPONSE_FATAL, _SS.TERMINATED),
            (_SI.RESPONSE_FAILED_REFRESH, state),
            (_SI.NOTIFY_ACTIVE, _SS.ACTIVE),
            (_SI.NOTIFY_PENDING, _SS.PENDING),
            (_SI.NOTIFY_TERMINATED, _SS.TERMINATED),
            (_SI.EXPIRED, _SS.TERMINATED),
        )
    },
    # a final response that arrives after the subscription ended (a NOTIFY with
    # "terminated" may overtake the answer to an un-SUBSCRIBE): no effect
    (_SS.TERMINATED, _SI.RESPONSE_2XX): _SS.TERMINATED,
    (_SS.TERMINATED, _SI.RESPONSE_FATAL): _SS.TERMINATED,
    (_SS.TERMINATED, _SI.RESPONSE_FAILED_REFRESH): _SS.TERMINATED,
}
SUBSCRIBER = Machine("subscriber", SUBSCRIBER_TABLE)


@dataclass(frozen=True, slots=True)
class NotifyOutcome:
    """What a received NOTIFY did, and the status the caller answers it with."""

    state: SubscriberState
    reason: str | None
    expires: int | None
    retry_after: int | None
    response_status: int
    #: the body version given to on_notify does not follow the previous one (state lost)
    version_gap: bool = False


class Subscriber:
    """The subscriber side of one subscription (RFC 6665 4.1)."""

    def __init__(self, event: str, expires: int, *, timer_n: float = 32.0) -> None:
        self.event = EventType.parse(event)
        self.requested_expires = expires
        #: Timer N = 64*T1 (RFC 6665 4.1.2.4); pass 64 * profile T1
        self.timer_n = timer_n
        self.state = SubscriberState.INIT
        self.reason: str | None = None
        self.retry_after: int | None = None
        #: why the subscription ended locally: "notify", "response", "timer-n", "expired"
        self.cause: str | None = None
        #: the failure status that ended it, if any; Min-Expires of a 423, if any
        self.final_status: int | None = None
        self.min_expires: int | None = None
        self.notify_received = False
        self.last_version: int | None = None
        self._expires_at: float | None = None
        self._granted: int | None = None
        self._timer_n_at: float | None = None
        self._pending_expires: int | None = None

    def _step(
        self, stimulus: SubscriberInput, origin: Origin = Origin.LOCAL, raw: bytes | None = None
    ) -> None:
        self.state = SUBSCRIBER.step(self.state, stimulus, origin, raw=raw)

    def _set_expiry(self, seconds: int, now: float) -> None:
        self._granted = seconds
        self._expires_at = now + seconds

    # -- inputs -----------------------------------------------------------------------
    def on_subscribe_sent(self, now: float, *, expires: int | None = None) -> None:
        """An initial or refreshing SUBSCRIBE left (``expires=0`` unsubscribes)."""
        self._step(SubscriberInput.SUBSCRIBE_SENT)
        self._pending_expires = self.requested_expires if expires is None else expires
        if not self.notify_received and self._timer_n_at is None:
            self._timer_n_at = now + self.timer_n

    def on_response(self, response: SipResponse, now: float) -> RemoteProtocolError | None:
        """The final response to the last SUBSCRIBE (1xx are ignored).

        Returns the RemoteProtocolError of a response no transition accepts (one before
        any SUBSCRIBE was sent), else None. A response after the subscription ended has no
        effect.
        """
        if response.status < 200:
            return None
        ended = self.state is SubscriberState.TERMINATED
        if response.status < 300:
            try:
                self._step(SubscriberInput.RESPONSE_2XX, Origin.PEER, response.raw)
            except RemoteProtocolError as exc:
                return exc
            if not ended:
                value = response.headers.get("Expires")
                granted = (
                    int(value.strip())
                    if value is not None and value.strip().isdigit()
                    else self._pending_expires
                )
                if granted == 0:
                    # unsubscribing: wait up to Timer N for the final NOTIFY
                    self._granted = 0
                    self._expires_at = now + self.timer_n
                elif granted is not None:
                    self._set_expiry(granted, now)
            return None
        if response.status == 423:
            value = response.headers.get("Min-Expires")
            if value is not None and value.strip().isdigit():
                self.min_expires = int(value.strip())
        fatal = self.state is SubscriberState.NOTIFY_WAIT or (
            response.status in FATAL_REFRESH_STATUSES
        )
        stimulus = (
            SubscriberInput.RESPONSE_FATAL if fatal else SubscriberInput.RESPONSE_FAILED_REFRESH
        )
        try:
            self._step(stimulus, Origin.PEER, response.raw)
        except RemoteProtocolError as exc:
            return exc
        if not ended and self.state is SubscriberState.TERMINATED:
            self.cause = "response"
            self.final_status = response.status
            self._clear_timers()
        return None

    def on_notify(
        self, request: SipRequest, now: float, *, version: int | None = None
    ) -> NotifyOutcome:
        """Check a NOTIFY and apply it (RFC 6665 4.1.3).

        481 when no subscription exists (not subscribed yet, or terminated); 400 when
        Subscription-State or Event is missing or invalid; 489 when the Event differs.
        ``version`` is the body's version number when the package has one (RFC 4575):
        a gap is reported in the outcome.
        """

        def reject(status: int) -> NotifyOutcome:
            return NotifyOutcome(self.state, self.reason, None, None, status)

        if self.state in (SubscriberState.INIT, SubscriberState.TERMINATED):
            return reject(481)
        event_value = request.headers.get("Event")
        if event_value is None:
            return reject(400)
        if EventType.parse(event_value) != self.event:
            return reject(489)
        state_value = request.headers.get("Subscription-State")
        parsed = SubscriptionStateValue.parse(state_value) if state_value is not None else None
        if parsed is None:
            return reject(400)
        gap = False
        if version is not None:
            gap = self.last_version is not None and version != self.last_version + 1
            self.last_version = version
        self.notify_received = True
        self._timer_n_at = None
        stimulus = {
            "active": SubscriberInput.NOTIFY_ACTIVE,
            "pending": SubscriberInput.NOTIFY_PENDING,
            "terminated": SubscriberInput.NOTIFY_TERMINATED,
        }[parsed.state]
        self._step(stimulus, Origin.PEER, request.raw)
        if stimulus is SubscriberInput.NOTIFY_TERMINATED:
            self.reason = parsed.reason
            self.retry_after = parsed.retry_after
            self.cause = "notify"
            self._clear_timers()
        elif parsed.expires is not None:
            self._set_expiry(parsed.expires, now)
        return NotifyOutcome(
            self.state, parsed.reason, parsed.expires, parsed.retry_after, 200, gap
        )

    def handle_timeout(self, now: float) -> None:
        """Timer N (no NOTIFY) and expiry of the subscription."""
        if self._timer_n_at is not None and now >= self._timer_n_at:
            self._timer_n_at = None
            self._step(SubscriberInput.TIMER_N)
            self.cause = "timer-n"
            self._clear_timers()
            return
        if self._expires_at is not None and now >= self._expires_at:
            self._expires_at = None
            self._step(SubscriberInput.EXPIRED)
            self.cause = "expired"
            self._clear_timers()

    def _clear_timers(self) -> None:
        self._timer_n_at = None
        self._expires_at = None

    # -- deadlines and decisions ---------------------------------------------------------
    def expiry_deadline(self) -> float | None:
        return self._expires_at

    def refresh_deadline(self) -> float | None:
        """When to send the refreshing SUBSCRIBE: ``min(granted/2, Timer N)`` before
        expiry (a convention; RFC 6665 leaves the choice to the subscriber)."""
        if self._expires_at is None or self._granted is None or self._granted == 0:
            return None
        if self.state not in (SubscriberState.ACTIVE, SubscriberState.PENDING):
            return None
        return self._expires_at - min(self._granted / 2, self.timer_n)

    def next_deadline(self) -> float | None:
        deadlines = [d for d in (self._timer_n_at, self._expires_at) if d is not None]
        return min(deadlines, default=None)

    @property
    def should_resubscribe(self) -> bool:
        """RFC 6665 4.1.3: may the subscriber try again after termination?

        No after noresource, rejected or invariant, nor after a failure response; yes
        after timeout, deactivated, no or an unknown reason, and (after ``retry_after``)
        probation and giveup; yes after a local expiry or Timer N.
        """
        if self.state is not SubscriberState.TERMINATED:
            return False
        if self.cause == "response":
            return False
        return self.reason not in NO_RESUBSCRIBE_REASONS

    def resubscribe_after(self) -> int:
        """Seconds to wait before re-subscribing (``retry-after``, or 0)."""
        return self.retry_after or 0


# ---------------------------------------------------------------------------------------
# Notifier
# ---------------------------------------------------------------------------------------


class NotifierState(Enum):
    """RFC 6665 4.2 (notifier behaviour); PENDING while authorization is pending."""

    INIT = "init"
    PENDING = "pending"
    ACTIVE = "active"
    TERMINATED = "terminated"


class NotifierInput(Enum):
    ACCEPT = "SUBSCRIBE accepted"
    ACCEPT_PENDING = "SUBSCRIBE accepted, authorization pending"
    REFRESH = "refreshing SUBSCRIBE accepted"
    UNSUBSCRIBE = "SUBSCRIBE with Expires: 0"
    AUTHORIZE = "authorization granted"
    TERMINATE = "the notifier ends the subscription"
    EXPIRED = "subscription duration elapsed"


_NS = NotifierState
_NI = NotifierInput

NOTIFIER_TABLE: dict[tuple[NotifierState, NotifierInput], NotifierState] = {
    (_NS.INIT, _NI.ACCEPT): _NS.ACTIVE,
    (_NS.INIT, _NI.ACCEPT_PENDING): _NS.PENDING,
    (_NS.INIT, _NI.UNSUBSCRIBE): _NS.TERMINATED,  # a fetch (RFC 6665 4.4.3)
    (_NS.INIT, _NI.TERMINATE): _NS.TERMINATED,
    (_NS.PENDING, _NI.REFRESH): _NS.PENDING,
    (_NS.PENDING, _NI.UNSUBSCRIBE): _NS.TERMINATED,
    (_NS.PENDING, _NI.AUTHORIZE): _NS.ACTIVE,
    (_NS.PENDING, _NI.TERMINATE): _NS.TERMINATED,
    (_NS.PENDING, _NI.EXPIRED): _NS.TERMINATED,
    (_NS.ACTIVE, _NI.REFRESH): _NS.ACTIVE,
    (_NS.ACTIVE, _NI.UNSUBSCRIBE): _NS.TERMINATED,
    (_NS.ACTIVE, _NI.AUTHORIZE): _NS.ACTIVE,
    (_NS.ACTIVE, _NI.TERMINATE): _NS.TERMINATED,
    (_NS.ACTIVE, _NI.EXPIRED): _NS.TERMINATED,
}
NOTIFIER = Machine("notifier", NOTIFIER_TABLE)


@dataclass(frozen=True, slots=True)
class SubscribeDecision:
    """How to answer a SUBSCRIBE: status, granted expiry, and headers to add
    (``Expires``, ``Min-Expires`` for 423, ``Allow-Events`` for 489)."""

    status: int
    expires: int
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def notify(self) -> bool:
        """RFC 6665 4.2.1.2: an accepted (or refreshed) SUBSCRIBE is followed at once by
        a NOTIFY."""
        return 200 <= self.status < 300


class Notifier:
    """The notifier side of one subscription (RFC 6665 4.2)."""

    def __init__(
        self,
        event: str,
        max_expires: int = 3600,
        min_expires: int = 0,
        *,
        default_expires: int = 3600,
        authorization_pending: bool = False,
    ) -> None:
        self.event = EventType.parse(event)
        self.max_expires = max_expires
        self.min_expires = min_expires
        self.default_expires = default_expires
        self.authorization_pending = authorization_pending
        self.state = NotifierState.INIT
        self.reason: str | None = None
        self.retry_after: int | None = None
        self.event_id: str | None = None
        self._expires_at: float | None = None

    def _step(
        self, stimulus: NotifierInput, origin: Origin = Origin.LOCAL, raw: bytes | None = None
    ) -> None:
        self.state = NOTIFIER.step(self.state, stimulus, origin, raw=raw)

    def on_subscribe(self, request: SipRequest, now: float) -> SubscribeDecision:
        """Decide on an initial or refreshing SUBSCRIBE (RFC 6665 4.2.1)."""
        event_value = request.headers.get("Event")
        allow = (("Allow-Events", self.event.package),)
        if event_value is None:
            return SubscribeDecision(489, 0, allow)
        event = EventType.parse(event_value)
        if event.package != self.event.package:
            return SubscribeDecision(489, 0, allow)
        if self.state is NotifierState.TERMINATED:
            return SubscribeDecision(481, 0)
        if self.state is not NotifierState.INIT and event.id != self.event_id:
            return SubscribeDecision(481, 0)
        text = request.headers.get("Expires")
        if text is None:
            requested = self.default_expires
        elif text.strip().isdigit():
            requested = int(text.strip())
        else:
            return SubscribeDecision(400, 0)
        if requested == 0:
            try:
                self._step(NotifierInput.UNSUBSCRIBE, Origin.PEER, request.raw)
            except RemoteProtocolError:
                return SubscribeDecision(481, 0)
            self.event_id = event.id
            self.reason = "timeout"
            self._expires_at = None
            return SubscribeDecision(200, 0, (("Expires", "0"),))
        if requested < self.min_expires:
            return SubscribeDecision(423, 0, (("Min-Expires", str(self.min_expires)),))
        granted = min(requested, self.max_expires)
        initial = self.state is NotifierState.INIT
        if initial:
            stimulus = (
                NotifierInput.ACCEPT_PENDING if self.authorization_pending else NotifierInput.ACCEPT
            )
        else:
            stimulus = NotifierInput.REFRESH
        try:
            self._step(stimulus, Origin.PEER, request.raw)
        except RemoteProtocolError:
            return SubscribeDecision(481, 0)
        if initial:
            self.event_id = event.id
        self._expires_at = now + granted
        return SubscribeDecision(200, granted, (("Expires", str(granted)),))

    def authorize(self) -> None:
        """Authorization granted: pending becomes active (send a NOTIFY)."""
        self._step(NotifierInput.AUTHORIZE)

    def terminate(self, reason: str = "noresource", retry_after: int | None = None) -> None:
        """End the subscription; the next (final) NOTIFY carries ``terminated;reason=``."""
        self._step(NotifierInput.TERMINATE)
        self.reason = reason
        self.retry_after = retry_after
        self._expires_at = None

    def handle_timeout(self, now: float) -> None:
        if self._expires_at is not None and now >= self._expires_at:
            self._expires_at = None
            self._step(NotifierInput.EXPIRED)
            self.reason = "timeout"

    def expiry_deadline(self) -> float | None:
        return self._expires_at

    def next_deadline(self) -> float | None:
        return self._expires_at

    def subscription_state_value(self, now: float) -> str:
        """The ``Subscription-State`` for the NOTIFY sent now (RFC 6665 4.2.2)."""
        if self.state is NotifierState.INIT:
            raise LocalProtocolError("no subscription yet: nothing to notify")
        if self.state is NotifierState.TERMINATED:
            return str(SubscriptionStateValue("terminated", self.reason, None, self.retry_after))
        remaining = 0 if self._expires_at is None else max(0, int(self._expires_at - now))
        return str(SubscriptionStateValue(self.state.value, None, remaining))


__all__ = [
    "FATAL_REFRESH_STATUSES",
    "NOTIFIER",
    "NOTIFIER_TABLE",
    "NO_RESUBSCRIBE_REASONS",
    "RETRY_AFTER_REASONS",
    "SUBSCRIBER",
    "SUBSCRIBER_TABLE",
    "EventType",
    "Notifier",
    "NotifierInput",
    "NotifierState",
    "NotifyOutcome",
    "SubscribeDecision",
    "Subscriber",
    "SubscriberInput",
    "SubscriberState",
    "SubscriptionStateValue",
]
