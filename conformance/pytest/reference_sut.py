"""The embedded reference SUT as the profile describes it: its configuration, the store it
writes, and the effective profile with its run-time addresses.

Shared by the session fixtures (conformance.fixtures.reference: one reference network per
pytest session) and the pooled parallel run (conformance.pytest.pool: one reference network
for every xdist worker, started by the controller).
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import AsyncIterator, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

from conformance.catalog.model import Role
from conformance.catalog.profile import (
    MessageStore,
    Pixit,
    SutProfile,
    UpperTesterConfig,
    UpperTesterMode,
)
from conformance.errors import RemoteProtocolError
from conformance.net.dovecot import Dovecot
from conformance.protocol.sip.timers import Address
from conformance.protocol.sip.uri import parse_uri
from conformance.reference.config import ReferenceConfig, ReferenceUser
from conformance.reference.faults import ActiveFaults
from conformance.reference.network import ReferenceEndpoints
from conformance.reference.pf.policy import PfPolicy


def pf_policy_from_pics(pics: Mapping[str, bool | str], pixit: Pixit) -> PfPolicy:
    """The reference PF's service-provider options, from what the profile claims.

    A ``pf.<name>`` PICS option sets the policy field of the same name; the few whose
    shape differs are mapped explicitly.
    """
    fields = {f.name for f in dataclasses.fields(PfPolicy)}
    #: PfPolicy field name -> the value of the PICS option of that name (bool | str)
    changes: dict[str, Any] = {}
    for name, value in pics.items():
        key = name.removeprefix("pf.")
        if name.startswith("pf.") and key in fields:
            changes[key] = value
    if not pics.get("pf.requires_ua_version", True):
        changes["required_ua_release"] = None
    if pics.get("pf.client_subscribe_mode") == "forward":
        changes["client_subscribe_mode"] = "proxy"
    if pixit.uris.unauthorised_user:
        changes["unauthorised_users"] = (pixit.uris.unauthorised_user,)
    return dataclasses.replace(PfPolicy(), **changes)


def _factory_user(uri: str | None) -> str | None:
    """The user part of the PIXIT conference-factory URI (None when it has none)."""
    if not uri:
        return None
    try:
        return parse_uri(uri).user or None
    except RemoteProtocolError:
        return None


def reference_config(
    profile: SutProfile,
    *,
    core: Address,
    isf_hop: Address,
    xdms_url: str,
    store_url: str,
    faults: tuple[str, ...],
) -> ReferenceConfig:
    """The reference network's configuration for ``profile``: ``core`` is its outbound
    proxy (the tool's core, Kamailio, or the dispatcher of a parallel run), ``isf_hop``
    where the tool plays the ISF, ``xdms_url`` the tool's XDMS (or the dispatcher's
    relay). It serves every user of the profile (the whole pool)."""
    pixit = profile.pixit
    defaults = ReferenceConfig()
    return ReferenceConfig(
        host=pixit.tool_host,
        timers=pixit.timers.sip,
        msrp_transaction_timeout=pixit.timers.msrp_transaction_timeout,
        core=core,
        faults=ActiveFaults(frozenset(faults)),
        users=tuple(ReferenceUser(u.uri, tuple(u.clients)) for u in pixit.all_users),
        pf_uri=pixit.uris.pf or defaults.pf_uri,
        deferred_uri=pixit.uris.deferred_msg_mgmt or defaults.deferred_uri,
        conference_factory_uri=pixit.uris.conference_factory or defaults.conference_factory_uri,
        isf_uri=pixit.uris.isf or defaults.isf_uri,
        # the tool plays the ISF behind its core: "directly" there, past any outbound proxy
        isf_hop=isf_hop,
        # the CF's factory answers the PIXIT factory URI's user part, so that a test case
        # playing a PF can send its group INVITE to uris.conference_factory at the CF
        factory_user=_factory_user(pixit.uris.conference_factory) or defaults.factory_user,
        xdms_url=xdms_url,
        store_url=store_url,
        pf_policy=pf_policy_from_pics(profile.pics, pixit),
        client_subscribe_during_inactive_delivery=bool(
            profile.pics.get("client.subscribe_during_inactive_delivery", False)
        ),
    )


def _message_store(url: str) -> MessageStore:
    """The PIXIT Message Store the tool reads, for the store the reference PF writes."""
    if url.startswith("imap"):
        parsed = urlsplit(url)
        return MessageStore(
            url,
            "imap",
            parsed.hostname or "",
            parsed.port or 0,
            unquote(parsed.username or ""),
            unquote(parsed.password or ""),
        )
    return MessageStore(url, "maildir")


@dataclasses.dataclass(frozen=True, slots=True)
class RunningReference:
    """A started reference network (in-process or a subprocess) and the store its PF writes."""

    endpoints: ReferenceEndpoints
    #: where the PF writes: "maildir:/path" (the default) or "imap://..." (Dovecot)
    store_url: str


def effective_profile(profile: SutProfile, running: RunningReference) -> SutProfile:
    """The profile with the running reference network's addresses filled in."""
    ends = running.endpoints
    sut: dict[Role, Address] = dict(profile.pixit.sut)
    if ends.pf is not None:
        sut[Role.PF] = ends.pf
    sut[Role.CF] = ends.cf
    sut[Role.CLIENT] = ends.client
    upper = (
        UpperTesterConfig(
            mode=UpperTesterMode.HTTP,
            url=ends.upper_tester_url,
            timeout=profile.pixit.upper_tester.timeout,
        )
        if ends.upper_tester_url
        else profile.pixit.upper_tester
    )
    pixit: Pixit = dataclasses.replace(
        profile.pixit,
        sut=MappingProxyType(sut),
        upper_tester=upper,
        message_store=_message_store(running.store_url),
    )
    return dataclasses.replace(profile, pixit=pixit)


@contextlib.asynccontextmanager
async def reference_store(kind: str, parent: str | None = None) -> AsyncIterator[str]:
    """The store the reference PF writes, as its URL: a fresh Maildir in a temporary
    directory (under ``parent``, when given: an owner that removes ``parent`` on every exit
    path removes the store too), or (``kind`` "dovecot") a real Dovecot on a run-time
    loopback port, fresh temp dir, stopped by pid; both removed on exit."""
    async with contextlib.AsyncExitStack() as stack:
        if kind == "dovecot":
            dovecot = await stack.enter_async_context(Dovecot.start())
            yield dovecot.url
        else:
            tmp = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="cpm-reference-store-", dir=parent)
            )
            yield f"maildir:{tmp}"


__all__ = [
    "RunningReference",
    "effective_profile",
    "pf_policy_from_pics",
    "reference_config",
    "reference_store",
]
