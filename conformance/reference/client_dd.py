"""The reference client's side of the seed conflict on subscribing during an inactive
deferred delivery (PROTOCOL_NOTES "Known conflicts").

Seed 001 7.3.11 1.a.vi: the client "SHALL NOT subscribe to the CPM Session conference state
event package" in the inactive (sendonly) case. Seed 000 B.2.3.5.X step 3 and 5.2.3.5: upon
the ACK of the deferred-delivery INVITE the client subscribes to the PF handling the
deferred delivery, with the group session identity and the CPM feature tag. The PICS option
``client.subscribe_during_inactive_delivery`` picks one; the reference client gets the claim
through :attr:`ReferenceConfig.client_subscribe_during_inactive_delivery`.
"""

from __future__ import annotations

from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import ActiveFaults


def dd_subscribes(config: ReferenceConfig, faults: ActiveFaults) -> bool:
    """Whether the client subscribes upon the ACK of an inactive deferred delivery."""
    if not config.client_subscribe_during_inactive_delivery:
        return False
    return not faults.on("client.no-dd-subscribe")


__all__ = ["dd_subscribes"]
