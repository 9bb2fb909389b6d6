"""Fault sets of the reference SUT, one module per role and spec section.

A module is named after the role and the section of the requirement a fault breaks first
(``pf_8_2_1``: PF, Conversation Function TS 8.2.1; ``client_b_2_3_5_x``: CPM Client,
System Description B.2.3.5.X; ``pf_admin``: the administrative trigger). Each module
defines ``FAULTS: tuple[Fault, ...]``, every fault written as one :class:`Fault` call;
the registry in :mod:`conformance.reference.faults` collects every module found here.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from conformance.errors import LocalProtocolError

#: the roles a fault can affect (the reference SUT's functions)
ROLES = ("pf", "cf", "client")

# The claims a run needs for a fault's broken behaviour to be observable (``Fault.pics``).
#: the PF acts as a proxy (8.2.1 step 5, 8.3.2 step 9)
PROXY_MODE = (("pf.media_path", "false"),)
#: the PF does no deferred delivery (8.3.2 step 8.b.ii.1)
NO_DEFERRED_DELIVERY = (("pf.deferred_delivery", "false"),)
#: a proxy PF that does no deferred delivery (8.3.2 step 9.e)
PROXY_MODE_NO_DEFERRED_DELIVERY = (("pf.media_path", "false"), ("pf.deferred_delivery", "false"))
#: the PF sends Participant Information over MSRP (8.6 step 2.b)
CONFINFO_VIA_MSRP = (("pf.conference_info_via_msrp", "true"),)
#: the PF forwards a client's conference SUBSCRIBE to the CF (8.2.3)
FORWARD_MODE = (("pf.client_subscribe_mode", "forward"),)
#: the PF asserts a configured service for another P-Preferred-Service (8.2.1 4.c.iv.2)
PPS_OTHER_BY_CONFIGURATION = (("pf.pps_other_policy", "configuration"),)
#: the client subscribes during an inactive deferred delivery (B.2.3.5.X step 3; the side
#: of the seed conflict with 7.3.11 1.a.vi, docs/dev/protocol-notes.md "Known conflicts")
SUBSCRIBES_DURING_INACTIVE_DELIVERY = (("client.subscribe_during_inactive_delivery", "true"),)


@dataclass(frozen=True, slots=True)
class Fault:
    """One named fault: the role it affects and the requirements it breaks.

    ``pics`` are the claims a run needs for the broken behaviour to be observable (for
    example :data:`PROXY_MODE` for a proxy-mode fault); the selftest runs the fault, and a
    clean control run, with those claims.
    """

    name: str
    role: str
    requirement_ids: tuple[str, ...]
    description: str
    pics: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLES or not self.name.startswith(f"{self.role}."):
            raise LocalProtocolError(
                f"fault {self.name!r}: role {self.role!r} must be one of {', '.join(ROLES)}"
                " and prefix the name"
            )
        if not self.requirement_ids or not self.description:
            raise LocalProtocolError(f"fault {self.name!r}: no requirement id or description")


def discovered_faults() -> tuple[Fault, ...]:
    """The faults of every fault set of this package, in module-name order."""
    found: list[Fault] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(module.FAULTS)
    return tuple(found)


__all__ = [
    "CONFINFO_VIA_MSRP",
    "FORWARD_MODE",
    "NO_DEFERRED_DELIVERY",
    "PPS_OTHER_BY_CONFIGURATION",
    "PROXY_MODE",
    "PROXY_MODE_NO_DEFERRED_DELIVERY",
    "ROLES",
    "SUBSCRIBES_DURING_INACTIVE_DELIVERY",
    "Fault",
    "discovered_faults",
]
