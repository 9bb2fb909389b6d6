"""The reference CPM network: CF, PF (when available), the CPM Client and one upper tester.

:meth:`ReferenceNetwork.start` starts every service on its own run-time ports and one
:class:`UpperTesterServer` that routes each action to the service owning it:

- ``client-offline``, ``client-online``, ``user-accept``, ``user-decline``,
  ``user-unavailable``, ``send-message`` -> the Client;
- ``admin-trigger``, ``set-preference`` (and any other PF action not listed above) -> the PF;
- ``end-session`` -> the CF;
- ``reset`` -> every service.

The PF module (``conformance.reference.pf``) is imported lazily: without it the network
runs the CF and the Client, and ``endpoints.pf`` is ``None``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.protocol.sip.timers import Address
from conformance.reference.cf import ControllingFunction
from conformance.reference.client import ReferenceClient
from conformance.reference.config import ReferenceConfig
from conformance.reference.upper_tester_server import Handler, UpperTesterServer

log = logging.getLogger(__name__)

CLIENT_ACTIONS = frozenset(
    {
        "client-offline",
        "client-online",
        "user-accept",
        "user-decline",
        "user-unavailable",
        "send-message",
    }
)
PF_ACTIONS = frozenset({"admin-trigger", "set-preference"})
CF_ACTIONS = frozenset({"end-session"})


@dataclass(frozen=True, slots=True)
class ReferenceEndpoints:
    """Where the services of a running reference network listen."""

    pf: Address | None
    cf: Address
    client: Address
    upper_tester_url: str | None


def load_pf_class() -> Any | None:
    """``conformance.reference.pf.ParticipatingFunction`` when that module exists."""
    try:
        module = importlib.import_module("conformance.reference.pf")
    except ImportError as exc:
        log.info("reference PF not available: %s", exc)
        return None
    found = getattr(module, "ParticipatingFunction", None)
    if found is None:
        try:
            found = getattr(
                importlib.import_module("conformance.reference.pf.service"),
                "ParticipatingFunction",
                None,
            )
        except ImportError:
            return None
    return found


class ReferenceNetwork:
    """A running reference network; build it with :meth:`start`, end it with :meth:`close`."""

    def __init__(
        self,
        config: ReferenceConfig,
        cf: ControllingFunction,
        client: ReferenceClient,
        pf: Any | None,
        upper_tester: UpperTesterServer | None,
    ) -> None:
        self.config = config
        self.cf = cf
        self.client = client
        self.pf = pf
        self.upper_tester = upper_tester
        #: action -> the service that performs it ("client", "pf", "cf"; reset: all)
        self.routes: dict[str, str] = {}
        if upper_tester is not None:
            self._route(upper_tester)

    @classmethod
    async def start(cls, config: ReferenceConfig, *, pf_enabled: bool = True) -> ReferenceNetwork:
        """Start the CF, the PF (when importable and ``pf_enabled``), the Client and the
        upper tester (unless ``config.upper_tester_port`` is None). The configured SIP and
        MSRP ports go to the PF (the CF without a PF); the others bind run-time ports."""
        started: list[Any] = []
        try:
            pf_class = load_pf_class() if pf_enabled else None
            pf: Any | None = None
            if pf_class is not None:
                pf = await pf_class.start(config)
                started.append(pf)
            others = dataclasses.replace(config, sip_port=0, msrp_port=0)
            cf = await ControllingFunction.start(config if pf is None else others)
            started.append(cf)
            client = await ReferenceClient.start(others)
            started.append(client)
            server: UpperTesterServer | None = None
            if config.upper_tester_port is not None:
                server = UpperTesterServer()
                await server.start(config.host, config.upper_tester_port)
                started.append(server)
        except BaseException:
            for service in reversed(started):
                await _close(service, config.timers.b * 4)
            raise
        return cls(config, cf, client, pf, server)

    def _route(self, server: UpperTesterServer) -> None:
        services: list[tuple[str, Mapping[str, Handler]]] = [("client", self.client.actions())]
        if self.pf is not None:
            services.append(("pf", self.pf.actions()))
        services.append(("cf", self.cf.actions()))
        for name, handlers in services:
            for action, handler in handlers.items():
                if action == "reset":
                    server.register(action, handler)
                    continue
                owner = self.routes.get(action)
                if owner is not None:
                    log.info("upper-tester action %s stays with %s, not %s", action, owner, name)
                    continue
                server.register(action, handler)
                self.routes[action] = name
        self.routes["reset"] = "all"

    @property
    def endpoints(self) -> ReferenceEndpoints:
        pf_address = self.pf.address if self.pf is not None else None
        return ReferenceEndpoints(
            pf=pf_address,
            cf=self.cf.sip.address(),
            client=self.client.address,
            upper_tester_url=self.upper_tester.url if self.upper_tester is not None else None,
        )

    def profile_values(self) -> dict[str, Any]:
        """What a SUT profile needs to point the tool at this network (the TOML layout of
        conformance/profiles/vendor-template.toml, as plain data)."""
        ep = self.endpoints
        roles = [r for r, a in (("pf", ep.pf), ("cf", ep.cf), ("client", ep.client)) if a]
        sut: dict[str, Any] = {
            "name": "reference network",
            "target": "external",
            "roles": roles,
            "faults": list(self.config.faults.sorted),
        }
        for role, address in (("pf", ep.pf), ("cf", ep.cf), ("client", ep.client)):
            if address is not None:
                sut[role] = {
                    "host": address.host,
                    "port": address.port,
                    "transport": address.transport.value.lower(),
                }
        core = self.config.core
        values: dict[str, Any] = {
            "sut": sut,
            "tool": {
                "host": core.host if core else self.config.host,
                "port": core.port if core else 0,
            },
            "uris": {
                "pf": self.config.pf_uri,
                "deferred_msg_mgmt": self.config.deferred_uri,
                "conference_factory": self.cf.factory_uri,
                "isf": self.config.isf_uri,
            },
            "users": [{"uri": u.uri, "clients": list(u.instances)} for u in self.config.users],
            "timers": {
                "t1": self.config.timers.t1,
                "t2": self.config.timers.t2,
                "t4": self.config.timers.t4,
            },
            "upper_tester": {"url": ep.upper_tester_url} if ep.upper_tester_url else {},
        }
        return values

    async def close(self) -> None:
        """Close every service, each bounded by a guard."""
        guard = self.config.timers.b * 4
        for service in (self.upper_tester, self.client, self.pf, self.cf):
            if service is not None:
                await _close(service, guard)

    async def __aenter__(self) -> ReferenceNetwork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _close(service: Any, guard: float) -> None:
    try:
        await asyncio.wait_for(service.close(), guard)
    except Exception:
        log.exception("closing %s failed", type(service).__name__)


__all__ = [
    "CF_ACTIONS",
    "CLIENT_ACTIONS",
    "PF_ACTIONS",
    "ReferenceEndpoints",
    "ReferenceNetwork",
    "load_pf_class",
]
