"""Named faults of the reference SUT (topology.md, "Faults").

A fault is a switch that makes the reference SUT break exactly one requirement (or one
item of a compound requirement). Each :class:`Fault` names the catalogue requirement ids
it breaks, so that the selftest can run the test cases carrying those ids against a
reference SUT started with that fault and expect them to fail.

The ids are catalogue ids (``conformance/catalog/data/*.toml``); this layer does not
import the catalogue, a test in ``tests/reference/`` cross-checks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from conformance.errors import LocalProtocolError


@dataclass(frozen=True, slots=True)
class Fault:
    """One named fault: the role it affects and the requirements it breaks."""

    name: str
    role: str
    requirement_ids: tuple[str, ...]
    description: str


_ALL: tuple[Fault, ...] = (
    Fault(
        "cf.no-initial-notify",
        "cf",
        ("CF-5.2.3.5-NOTIFY-INITIAL", "SD-B.2.3.x.y-8-cf"),
        "The CF accepts a conference SUBSCRIBE with 200 but sends no initial NOTIFY; "
        "later changes are still notified.",
    ),
    Fault(
        "cf.subscribe-unauthorised-accepted",
        "cf",
        ("CF-5.2.3.5-REJECT",),
        "The CF accepts a conference SUBSCRIBE from a user who is not a participant "
        "of the group session (200 and NOTIFY instead of 403).",
    ),
    Fault(
        "cf.departed-user-kept",
        "cf",
        ("CF-5.2.3.5-NOTIFY-CHANGES",),
        "A participant who left with BYE is still reported as connected "
        "(no disconnected status, no disconnection-method departed).",
    ),
    Fault(
        "cf.no-noresource",
        "cf",
        ("CF-5.2.3.5-NOTIFY-CHANGES",),
        "When the group session ends, the CF drops its subscriptions silently: no final "
        "NOTIFY with Subscription-State terminated;reason=noresource.",
    ),
    Fault(
        "cf.unknown-focus-200",
        "cf",
        ("CF-5.2.3.5-HOSTS",),
        "A conference SUBSCRIBE for a group session identity the CF does not host gets "
        "200 (and no NOTIFY) instead of 404.",
    ),
    Fault(
        "cf.full-on-change",
        "cf",
        ("CF-8.6-2.b.ii.2",),
        "Participant changes are notified with full-state documents instead of partial "
        "notifications.",
    ),
    Fault(
        "client.deferred-480-instead-of-200",
        "client",
        ("CLIENT-7.3.11-1.a.v-200",),
        "The client answers a deferred-delivery INVITE for a known group session with 480 "
        "even when the user accepts (no 200 OK).",
    ),
    Fault(
        "client.unknown-session-200",
        "client",
        ("CLIENT-7.3.11-1.a.iv", "CLIENT-7.3.11-2.a.ii"),
        "A deferred-delivery INVITE whose Conversation-ID/Contribution-ID the client does "
        "not know is accepted with 200 instead of 481.",
    ),
    Fault(
        "client.imdn-over-msrp-when-inactive",
        "client",
        ("CLIENT-7.3.11-1.a.ii",),
        "In the inactive (sendonly) deferred delivery the client sends the delivery "
        "notifications over MSRP instead of SIP MESSAGE.",
    ),
    Fault(
        "client.imdn-over-sip-when-active",
        "client",
        ("CLIENT-7.3.11-2.a.i.2",),
        "In the active (sendrecv) delivery the client sends the delivery notifications in "
        "SIP MESSAGE instead of the MSRP session.",
    ),
    Fault(
        "client.subscribes-when-inactive",
        "client",
        ("CLIENT-7.3.11-1.a.vi",),
        "The client subscribes to the conference event package during an inactive "
        "(sendonly) deferred delivery.",
    ),
    Fault(
        "client.no-msrp-after-ack",
        "client",
        ("CLIENT-7.3.11-1.a.v-msrp", "CLIENT-7.3.11-1.a.i"),
        "After the ACK of a deferred-delivery INVITE the client never sets up the MSRP "
        "session.",
    ),
    Fault(
        "client.ignores-group-state-object",
        "client",
        ("CLIENT-7.3.11-1.a.vii",),
        "A Group State Object received over MSRP does not update the client's Participant "
        "Information (its next re-join lists the old participants).",
    ),
    Fault(
        "client.rejoin-without-message",
        "client",
        ("CLIENT-7.3.11-REJOIN-RESTRAINT",),
        "When a deferred-delivery session ends the client re-joins the group session at "
        "once, although the user has no message to send.",
    ),
    Fault(
        "client.rejoin-during-deferred-session",
        "client",
        ("CLIENT-7.3.11-1.a.viii",),
        "A message the user sends during an inactive deferred delivery leaves at once in a "
        "re-join INVITE, before the deferred-delivery session has ended.",
    ),
    Fault(
        "client.no-subscribe-refresh-when-active",
        "client",
        ("CLIENT-5.2.3.5-REFRESH",),
        "Reconnected to an active group session (sendrecv), the client does not refresh its "
        "conference subscription.",
    ),
)

#: every known fault by name
FAULTS: Mapping[str, Fault] = MappingProxyType({f.name: f for f in _ALL})


def _check_known(names: Iterable[str]) -> None:
    unknown = sorted(n for n in names if n not in FAULTS)
    if unknown:
        raise LocalProtocolError(
            f"unknown fault(s) {', '.join(unknown)}; known faults: {', '.join(sorted(FAULTS))}"
        )


@dataclass(frozen=True, slots=True)
class ActiveFaults:
    """The faults a reference SUT runs with (profile key ``faults`` or ``--faults a,b``)."""

    names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check_known(self.names)

    @classmethod
    def parse(cls, text: str) -> ActiveFaults:
        """``"a,b"`` (the command-line form); blanks and empty items are ignored."""
        return cls(frozenset(n.strip() for n in text.split(",") if n.strip()))

    def on(self, name: str) -> bool:
        """Whether fault ``name`` is active; an unknown name is our own misuse."""
        _check_known((name,))
        return name in self.names

    @property
    def sorted(self) -> tuple[str, ...]:
        return tuple(sorted(self.names))


NO_FAULTS = ActiveFaults()

__all__ = ["FAULTS", "NO_FAULTS", "ActiveFaults", "Fault"]
