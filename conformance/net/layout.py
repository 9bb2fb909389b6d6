"""How the tool's core reaches the SUT: the run's ``--layout`` (docs/dev/topology.md).

- ``direct``: the SUT's outbound proxy is the tool's core, and the core sends to the SUT.
- ``kamailio``: Kamailio is the SIP/IP core between them. The SUT's outbound proxy is
  Kamailio, whose next hop for every initial request without a Route is the tool's core;
  the tool's core sends through Kamailio with a pre-loaded ``Route: <sip:SUT;lr>``
  (:attr:`conformance.roles.core.ToolCore.outbound`). Kamailio Record-Routes initial
  requests, so the in-dialog requests of both sides cross it too; responses follow the
  Vias. MSRP stays direct.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from conformance.errors import LocalProtocolError
from conformance.net.kamailio import Kamailio, KamailioConfig
from conformance.protocol.sip.timers import Address, Timers, Transport

#: the ``--layout`` values, the default first
LAYOUTS: tuple[str, ...] = ("direct", "kamailio")


@contextlib.asynccontextmanager
async def sip_core_between(
    layout: str, core: Address, *, host: str = "127.0.0.1", timers: Timers | None = None
) -> AsyncIterator[Address | None]:
    """What sits between the tool's core at ``core`` and the SUT: ``None`` (direct), or
    the UDP address of a Kamailio started for the run (stopped on exit).

    Kamailio answers 408 to a request nobody answers after the run's Timer B (``timers``),
    as the sender's own Timer B would end it in the direct layout: its 100 Trying has
    stopped that timer (RFC 3261 17.1.1.2)."""
    if layout == "direct":
        yield None
        return
    if layout != "kamailio":
        raise LocalProtocolError(f"unknown layout {layout!r} (one of {', '.join(LAYOUTS)})")
    fr_timer_ms = round((timers or Timers()).b * 1000)
    config = KamailioConfig(
        host=host,
        next_hop=f"{core.host}:{core.port}",
        registrar=False,
        fr_timer_ms=fr_timer_ms,
    )
    async with Kamailio.start(config=config) as kamailio:
        yield Address(kamailio.address[0], kamailio.address[1], Transport.UDP)


__all__ = ["LAYOUTS", "sip_core_between"]
