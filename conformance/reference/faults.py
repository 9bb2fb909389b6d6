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
from conformance.reference.faultsets import Fault, discovered_faults

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
        ("CLIENT-7.3.11-1.a.v-200", "SD-B.2.3.5.X-2", "SD-B.2.3.x.y-13"),
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
        ("CLIENT-7.3.11-1.a.v-msrp", "CLIENT-7.3.11-1.a.i", "SD-B.2.3.5.X-5"),
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
        ("CLIENT-5.2.3.5-REFRESH", "SD-B.2.3.x.y-14-15"),
        "Reconnected to an active group session (sendrecv), the client does not refresh its "
        "conference subscription.",
    ),
)

_PF: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("pf.unauthorised-accepted", ("PF-8.2.1-1", "PF-8.2.1-1-warning"),
     "An INVITE from an originator who is not allowed (PfPolicy.unauthorised_users) is "
     "served instead of being rejected with 403 and Warning 127."),
    ("pf.no-warning-127", ("PF-8.2.1-1-warning",),
     "The 403 to a not-allowed originator carries no Warning header."),
    ("pf.warning-text-132-wrong", ("PF-8.2.1-2-warning",),
     "The 403 to an unsupported User-Agent carries Warning 132 with the text "
     "\"Version unsupported\" instead of \"Version not supported\"."),
    ("pf.anonymity-accepted", ("PF-8.2.1-3", "PF-8.2.1-3-warning"),
     "An originating INVITE requesting anonymity is served instead of rejected with 403."),
    ("pf.no-warning-119", ("PF-8.2.1-3-warning",),
     "The 403 to an anonymous originator carries no Warning header."),
    ("pf.unexpected-service-accepted", ("PF-8.2.1-4.a.iii",),
     "An INVITE whose P-Asserted-Service is no CPM session ICSI is served although the PF "
     "claims to reject it (pf.rejects_unexpected_service)."),
    ("pf.pps-group-not-asserted", ("PF-8.2.1-4.c.iii",),
     "A P-Preferred-Service of cpm.session.group is passed on as P-Preferred-Service; no "
     "P-Asserted-Service is added."),
    ("pf.pps-other-kept", ("PF-8.2.1-4.c.iv",),
     "Another P-Preferred-Service value is copied to the outgoing INVITE instead of being "
     "removed."),
    ("pf.contribution-id-not-copied", ("PF-8.2.1-4.d",),
     "The outgoing INVITE carries no Contribution-ID."),
    ("pf.recipient-list-dropped", ("PF-8.2.1-4.d",),
     "The outgoing INVITE carries only the SDP offer, not the received recipient list."),
    ("pf.call-id-reused", ("PF-8.2.1-4.e",),
     "The outgoing INVITE reuses the client's Call-ID and From tag (no new dialog)."),
    ("pf.no-user-agent", ("PF-8.2.1-4.g",), "The outgoing INVITE carries no User-Agent."),
    ("pf.accept-contact-dropped", ("PF-8.2.1-4.h",),
     "The client's Accept-Contact is not copied to the outgoing INVITE."),
    ("pf.client-contact-uri", ("PF-8.2.1-4.i",),
     "The outgoing INVITE's Contact keeps the client's URI instead of the PF's own."),
    ("pf.no-timer-tag", ("PF-8.2.1-4.j",),
     "The outgoing INVITE's Supported header lacks the option tag timer."),
    ("pf.refresher-uas", ("PF-8.2.1-4.k",),
     "The outgoing INVITE's Session-Expires carries refresher=uas."),
    ("pf.session-expires-3600", ("PF-8.2.1-4.l",),
     "The outgoing INVITE's Session-Expires is 3600 (over the 1800 limit)."),
    ("pf.offer-client-path", ("PF-8.2.1-4.m",),
     "The outgoing SDP offer keeps the client's a=path instead of the PF's own."),
    ("pf.no-record-route", ("PF-8.2.1-5.b",),
     "In proxy mode (media_path false) the forwarded INVITE has no Record-Route."),
    ("pf.server-header-missing", ("PF-8.2.1-200OK-3",),
     "The 200 OK to the originating client carries no Server header."),
    ("pf.answer-setup-active", ("PF-8.2.1-200OK-4-setup",),
     "The SDP answer to the originating client carries a=setup:active."),
    ("pf.isfocus-contact-replaced", ("PF-8.2.1-200OK-5-isfocus",),
     "The focus Contact (with isfocus) of the terminating 200 OK is replaced by the PF's "
     "own in the 200 OK to the client."),
    ("pf.ack-not-propagated", ("PF-8.2.1-200OK-7-ack",),
     "The client's ACK is not propagated to the terminating leg (its 200 OK is left "
     "unacknowledged)."),
    ("pf.no-session-info-stored", ("PF-8.2.1-200OK-8",),
     "With allow-offline-storage true, no Session Info Object is stored."),
    ("pf.no-gso-stored", ("PF-8.2.1-200OK-8-gso",),
     "With allow-offline-storage true, no Group State Object is stored for a group session."),
    ("pf.no-direct-delivery", ("PF-8.2.1-200OK-10.b", "PF-8.2.1-200OK-10.c"),
     "No INVITE goes to the user's other registered clients (direct delivery skipped)."),
    ("pf.direct-delivery-pai-wrong", ("PF-8.2.1-200OK-10.b.ii",),
     "The direct-delivery INVITEs carry the originator's P-Asserted-Identity instead of "
     "the one of the terminating 200 OK."),
)

#: every known fault by name
#: the faults that only show when the PF acts as a proxy (8.2.1 step 5, 8.3.2 step 9)
_PROXY_MODE = (("pf.media_path", "false"),)
_PROXY_FAULTS = frozenset({"pf.no-record-route"})


def _collect() -> Mapping[str, Fault]:
    faults = [
        *_ALL,
        *(
            Fault(n, "pf", ids, d, _PROXY_MODE if n in _PROXY_FAULTS else ())
            for n, ids, d in _PF
        ),
        *discovered_faults(),
    ]
    registry: dict[str, Fault] = {}
    for fault in faults:
        if fault.name in registry:
            raise LocalProtocolError(f"fault {fault.name!r} is defined twice")
        registry[fault.name] = fault
    return MappingProxyType(registry)


#: every known fault by name
FAULTS: Mapping[str, Fault] = _collect()


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
