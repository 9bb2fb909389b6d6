"""PeerPair: two sans-IO SIP transaction layers joined in memory, with a fake clock.

- Every datagram goes through the real codec (``parse_message`` on the bytes sent).
- ``drop`` decides per datagram whether the "network" loses it (only used on UDP).
- The clock only moves by jumping to the next deadline; every wait is bounded both in
  fake time and in steps, so a broken state machine fails a test instead of hanging it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.layer import Event, Outgoing, TransactionLayer
from conformance.protocol.sip.message import SipRequest, build_request, parse_message
from conformance.protocol.sip.timers import Address, Timers, Transport

FAST = Timers(t1=0.02, t2=0.16, t4=0.2)
MAX_STEPS = 10_000
E = TypeVar("E")


@dataclass
class Wire:
    """One message that crossed (or was lost on) the in-memory network."""

    at: float
    sender: str
    outgoing: Outgoing
    dropped: bool


@dataclass
class Peer:
    name: str
    layer: TransactionLayer
    address: Address
    events: list[Event] = field(default_factory=list)

    def take(self, kind: type[E]) -> list[E]:
        """Remove and return the collected events of one kind."""
        hits = [e for e in self.events if isinstance(e, kind)]
        self.events = [e for e in self.events if not isinstance(e, kind)]
        return hits

    def seen(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


class PeerPair:
    """``a`` and ``b`` exchange messages; ``now`` is the shared fake clock."""

    def __init__(
        self,
        timers: Timers = FAST,
        transport: Transport = Transport.UDP,
        *,
        drop: Callable[[Wire], bool] | None = None,
        auto_trying: bool = False,
        retransmit_2xx: bool = False,
    ) -> None:
        self.timers = timers
        self.transport = transport
        self.now = 0.0
        self.drop = drop
        self.wire: list[Wire] = []
        self.a = Peer(
            "a",
            TransactionLayer(timers, auto_trying=auto_trying, retransmit_2xx=retransmit_2xx),
            Address("192.0.2.1", 5060, transport),
        )
        self.b = Peer(
            "b",
            TransactionLayer(timers, auto_trying=auto_trying, retransmit_2xx=retransmit_2xx),
            Address("192.0.2.2", 5070, transport),
        )

    def other(self, peer: Peer) -> Peer:
        return self.b if peer is self.a else self.a

    # -- moving bytes ----------------------------------------------------------------
    def deliver(self) -> int:
        """Move every pending datagram to its peer until quiet; return how many moved."""
        moved = 0
        for _ in range(MAX_STEPS):
            progressed = False
            for peer in (self.a, self.b):
                peer.events.extend(peer.layer.events())
                for out in peer.layer.data_to_send():
                    progressed = True
                    target = self.other(peer)
                    assert out.destination == target.address, out
                    record = Wire(self.now, peer.name, out, dropped=False)
                    if self.drop is not None and not self.transport.reliable:
                        record.dropped = self.drop(record)
                    self.wire.append(record)
                    if record.dropped:
                        continue
                    moved += 1
                    message = parse_message(out.data, stream=self.transport.reliable)
                    target.layer.receive(message, peer.address, self.now)
            if not progressed:
                return moved
        raise AssertionError("messages keep flowing without end")

    def advance(self) -> bool:
        """Jump to the earliest deadline, fire it and deliver. False when none is set."""
        pending = (self.a.layer.next_deadline(), self.b.layer.next_deadline())
        deadlines = [d for d in pending if d is not None]
        if not deadlines:
            return False
        self.now = max(self.now, min(deadlines))
        self.a.layer.handle_timeout(self.now)
        self.b.layer.handle_timeout(self.now)
        self.deliver()
        return True

    def run_until(self, done: Callable[[], bool], *, within: float) -> None:
        """Deliver and advance the clock until ``done()``; fail after ``within`` fake seconds."""
        limit = self.now + within
        self.deliver()
        for _ in range(MAX_STEPS):
            if done():
                return
            if not self.advance() or self.now > limit:
                raise AssertionError(f"not done within {within}s of fake time (now={self.now})")
        raise AssertionError("too many steps")

    def settle(self, *, within: float) -> None:
        """Run until no timer is left (every transaction ended)."""
        self.run_until(
            lambda: self.a.layer.next_deadline() is None and self.b.layer.next_deadline() is None,
            within=within,
        )

    def sent(self, sender: str, first_line_start: str) -> list[Wire]:
        """Wire records sent by ``sender`` whose start line begins with the text."""
        return [
            w
            for w in self.wire
            if w.sender == sender and w.outgoing.message.first_line().startswith(first_line_start)
        ]


def make_request(
    method: str,
    src: Address,
    *,
    uri: str = "sip:bob@192.0.2.2",
    call_id: str | None = None,
    cseq: int = 1,
    from_tag: str | None = None,
    to_tag: str | None = None,
    branch: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> SipRequest:
    to = "<sip:bob@example.com>" + (f";tag={to_tag}" if to_tag else "")
    via = f"SIP/2.0/{src.transport.value} {src.host}:{src.port};branch={branch or new_branch()}"
    headers = [
        ("Via", via),
        ("Max-Forwards", "70"),
        ("From", f"<sip:alice@example.com>;tag={from_tag or new_tag()}"),
        ("To", to),
        ("Call-ID", call_id or new_call_id("example.com")),
        ("CSeq", f"{cseq} {method}"),
        ("Contact", f"<sip:alice@{src.host}:{src.port}>"),
        *extra,
    ]
    return build_request(method, uri, headers, body)
