"""SIP transport addresses and transaction timer values (RFC 3261 17 and table 4).

All values are in seconds. The suite runs the reference SUT with a small T1 (for example
20 ms) so that timeout cases finish quickly; every timer therefore scales with T1.

Scaled rule for Timer D
    RFC 3261 17.1.1.2 says Timer D is "at least 32 seconds" on an unreliable transport,
    which is 64*T1 with the default T1 of 500 ms. This module uses ``64 * t1`` so that a
    profile with a small T1 also gets a short Timer D (with the default T1 the value is
    exactly the 32 s of the RFC). On a reliable transport D is 0.

Reliable transports (TCP)
    RFC 3261 17.1.1.2, 17.1.2.2, 17.2.1, 17.2.2: Timers A, E and G are not used (no
    retransmissions), and D, I, J and K are 0. :meth:`Timers.for_transport` applies that.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Transport(StrEnum):
    """Transport protocols the suite speaks (RFC 3261 18)."""

    UDP = "UDP"
    TCP = "TCP"

    @property
    def reliable(self) -> bool:
        return self is not Transport.UDP


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message came from or goes to."""

    host: str
    port: int
    transport: Transport

    @property
    def reliable(self) -> bool:
        return self.transport.reliable

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.transport.value}"


#: Timers that are not started at all on a reliable transport.
RETRANSMIT_TIMERS = frozenset({"A", "E", "G"})
#: Timers that are zero on a reliable transport.
ZERO_ON_RELIABLE = frozenset({"D", "I", "J", "K"})


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 table 4. The properties give the unreliable-transport (UDP) values."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self) -> None:
        if self.t1 <= 0 or self.t2 < self.t1 or self.t4 < 0:
            raise ValueError(f"invalid timer values T1={self.t1} T2={self.t2} T4={self.t4}")

    @property
    def a(self) -> float:
        """INVITE request retransmit interval, initially T1 (17.1.1.2)."""
        return self.t1

    @property
    def b(self) -> float:
        """INVITE transaction timeout, 64*T1 (17.1.1.2)."""
        return 64 * self.t1

    @property
    def d(self) -> float:
        """Wait time for response retransmits; 64*T1 (scaled rule, see module doc)."""
        return 64 * self.t1

    @property
    def e(self) -> float:
        """Non-INVITE request retransmit interval, initially T1 (17.1.2.2)."""
        return self.t1

    @property
    def f(self) -> float:
        """Non-INVITE transaction timeout, 64*T1 (17.1.2.2)."""
        return 64 * self.t1

    @property
    def g(self) -> float:
        """INVITE response retransmit interval, initially T1 (17.2.1)."""
        return self.t1

    @property
    def h(self) -> float:
        """Wait time for ACK receipt, 64*T1 (17.2.1)."""
        return 64 * self.t1

    @property
    def i(self) -> float:
        """Wait time for ACK retransmits, T4 (17.2.1)."""
        return self.t4

    @property
    def j(self) -> float:
        """Wait time for non-INVITE request retransmits, 64*T1 (17.2.2)."""
        return 64 * self.t1

    @property
    def k(self) -> float:
        """Wait time for non-INVITE response retransmits, T4 (17.1.2.2)."""
        return self.t4

    @property
    def l(self) -> float:  # noqa: E743 - the RFC's name
        """RFC 6026 Timer L: INVITE server transaction in Accepted, 64*T1."""
        return 64 * self.t1

    @property
    def m(self) -> float:
        """RFC 6026 Timer M: INVITE client transaction in Accepted, 64*T1."""
        return 64 * self.t1

    def for_transport(self, timer: str, transport: Transport) -> float | None:
        """The value of ``timer`` ("A" ... "M") on ``transport``.

        ``None`` means the timer is not started at all (A, E, G on a reliable transport).
        """
        name = timer.upper()
        if transport.reliable:
            if name in RETRANSMIT_TIMERS:
                return None
            if name in ZERO_ON_RELIABLE:
                return 0.0
        value: float = getattr(self, name.lower())
        return value


__all__ = ["RETRANSMIT_TIMERS", "ZERO_ON_RELIABLE", "Address", "Timers", "Transport"]
