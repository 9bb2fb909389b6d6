"""Configuration of the reference SUT (frozen; see topology.md for the addresses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.protocol.msrp.session import DEFAULT_TRANSACTION_TIMEOUT, MsrpConfig
from conformance.protocol.sip.timers import Address, Timers
from conformance.reference.faults import NO_FAULTS, ActiveFaults

#: T1 of the reference SUT: small, so that timeout cases take milliseconds (DESIGN "Time")
REFERENCE_T1 = 0.02


def _reference_timers() -> Timers:
    return Timers(t1=REFERENCE_T1)


@dataclass(frozen=True, slots=True)
class ReferenceUser:
    """A user of the reference network: its SIP URI and its clients' instance ids."""

    uri: str
    instances: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReferenceConfig:
    """How a reference SUT runs.

    ``core`` is where the SUT sends every SIP request it originates (the tool's core
    address, PIXIT ``[tool] sip``). When it is ``None`` (unit tests without a core),
    requests go straight to the next hop of their dialog or Request-URI.
    """

    host: str = "127.0.0.1"
    domain: str = "reference.test"
    timers: Timers = field(default_factory=_reference_timers)
    #: RFC 4975 7.1.1 transaction timeout of the SUT's MSRP, seconds (PIXIT
    #: ``timers.msrp_transaction_timeout``): the PF counts a connection whose SEND stays
    #: unanswered this long as lost (seed 004 8.3.2.9 editor's note)
    msrp_transaction_timeout: float = DEFAULT_TRANSACTION_TIMEOUT
    core: Address | None = None
    faults: ActiveFaults = NO_FAULTS
    users: tuple[ReferenceUser, ...] = ()
    #: 0: a run-time port
    sip_port: int = 0
    msrp_port: int = 0
    #: the upper tester's HTTP port (0: a run-time port; None: no upper tester)
    upper_tester_port: int | None = 0
    #: the user part of the CF's conference-factory URI
    factory_user: str = "cpm-factory"
    #: the longest conference subscription the CF grants, seconds (RFC 6665 4.2.1.1)
    max_subscription_expires: int = 3600
    #: seconds without a chat message after which a group session goes inactive
    #: (None: never)
    inactivity_timeout: float | None = None
    #: the PF's own SIP URI (PIXIT uris.pf)
    pf_uri: str = "sip:pf.reference.test"
    #: the PF's CPMDeferredMsgMgmtURI (PIXIT uris.deferred_msg_mgmt), From of its SUBSCRIBEs
    deferred_uri: str = "sip:deferred@pf.reference.test"
    #: the service provider's configured CF URI (PIXIT uris.conference_factory)
    conference_factory_uri: str = "sip:conference-factory@cf.reference.test"
    #: the ISF the PF sends non-SIP/TEL destinations to (PIXIT uris.isf; 8.2.1 4.n, 5.c)
    isf_uri: str = "sip:isf@isf.reference.test"
    #: where the PF sends a request for the ISF ("directly", not through ``core``); None:
    #: like any other request
    isf_hop: Address | None = None
    #: base URL of the XDMS the PF reads user preferences from (the tool's XDMS emulator);
    #: None: defaults (no preferences stored)
    xdms_url: str | None = None
    #: the Message Store the PF writes to: "maildir:/path" or "imap://user:pass@host:port/";
    #: None: no Message Store
    store_url: str | None = None
    #: service-provider options of the PF (mirrors the profile's PICS claims); the PF module
    #: defines the type, so config stays free of PF details
    pf_policy: object | None = None
    #: PICS client.subscribe_during_inactive_delivery: the client subscribes to the PF after
    #: the ACK of an inactive (sendonly) deferred delivery (SD B.2.3.5.X 3, 5.2.3.5) instead
    #: of following 7.3.11 1.a.vi (SHALL NOT subscribe)
    client_subscribe_during_inactive_delivery: bool = False

    def msrp_config(self) -> MsrpConfig:
        """The MSRP limits and timers of the SUT's MSRP pumps."""
        return MsrpConfig(transaction_timeout=self.msrp_transaction_timeout)

    def guard(self) -> float:
        """A guard for one SIP round trip of the SUT (Timer B = 64*T1)."""
        return self.timers.b


__all__ = ["REFERENCE_T1", "ReferenceConfig", "ReferenceUser"]
