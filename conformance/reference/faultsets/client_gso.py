"""Faults of the reference CPM Client's use of the Group State Object (seed 000 5.2.3.5:
"If the subscription refresh resulted in an 404 NOT FOUND error ... the CPM Client SHALL
use the CPM Group State Object to retrieve the latest Participants Information").

The other Group State Object fault, ``client.ignores-group-state-object`` (001 7.3.11
1.a.vii, the object received over MSRP is not applied), is in the base registry."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "client.stale-participants-after-404",
        "client",
        ("CLIENT-5.2.3.5-404-GSO",),
        "When its subscription refresh gets 404 Not Found, the client keeps the participant "
        "list it last learned from a NOTIFY instead of taking the participants of the Group "
        "State Object it holds (its next re-join INVITE lists the stale participants).",
    ),
)
