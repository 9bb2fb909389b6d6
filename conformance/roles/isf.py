"""The ISF (Interworking Selection Function): the peer a PF sends an INVITE to when its
destination is neither a SIP nor a TEL URI (seed 003 8.2.1 steps 4.n and 5.c, and the
200 OK step 1: the streams an ISF rejected).

Section 6.5 ("Communicating with the ISF and IWF") is not in the seeds, so how a PF
reaches the ISF is open. The ISF sits at PIXIT ``uris.isf``, behind the tool's core like
the CF: an :class:`IsfEmulator` owns a route for the requests addressed to that URI,
either as their Request-URI or as their topmost Route entry (a PF that keeps the
destination as Request-URI, 4.d, and pre-loads the ISF's Route). The route goes before
every other one, since the Request-URI of such a request is the far destination.

It answers like the CF (:class:`~conformance.roles.cf.CfIncomingInvite`: ``accept``,
``reject``), with a plain ``Contact: <isf>`` (no ``isfocus``) unless told otherwise.
"""

from __future__ import annotations

from conformance.protocol.sip.message import SipRequest
from conformance.roles.cf import CfEmulator
from conformance.roles.core import ToolCore
from conformance.roles.sip_helpers import request_targets, same_aor, unbracket


def top_route(request: SipRequest) -> str | None:
    """The URI of the topmost Route entry, or ``None``."""
    value = request.headers.get("Route")
    if not value:
        return None
    first = value.split(",", 1)[0].strip()
    if first.startswith("<"):
        return unbracket(first[: first.find(">") + 1] if ">" in first else first)
    return first.split(";", 1)[0]


def addressed_to(request: SipRequest, uri: str) -> bool:
    """Whether ``request`` is addressed to ``uri``: its Request-URI, or its topmost Route."""
    if request_targets(request, [uri]):
        return True
    route = top_route(request)
    return route is not None and same_aor(route, uri)


class IsfEmulator(CfEmulator):
    """The ISF at ``isf_uri`` (module docstring). Build it with :meth:`create`."""

    def __init__(self, core: ToolCore, isf_uri: str, *, msrp_host: str = "127.0.0.1") -> None:
        super().__init__(core, isf_uri, msrp_host=msrp_host)
        self.name = f"ISF {isf_uri}"
        self.isf_uri = isf_uri
        self.route_name = f"isf:{isf_uri}"
        self.role_name = "tool: ISF"
        #: Request-URIs also taken when not addressed to the ISF (:meth:`watch`)
        self.watched: list[str] = []

    @classmethod
    async def create(
        cls, core: ToolCore, factory_uri: str, *, msrp_host: str = "127.0.0.1"
    ) -> IsfEmulator:
        isf = cls(core, factory_uri, msrp_host=msrp_host)
        core.add_route(isf.route_name, isf.owns, isf.on_request, first=True)
        return isf

    def watch(self, destination: str) -> None:
        """Also take requests whose Request-URI is ``destination`` though they are not
        addressed to the ISF (the core would answer them 404), so that a test case sees
        where they went; :func:`addressed_to` tells them apart."""
        self.watched.append(destination)

    def owns(self, request: SipRequest) -> bool:
        return (
            addressed_to(request, self.isf_uri)
            or request_targets(request, self.focus_uris)
            or request.uri in self.watched
        )


__all__ = ["IsfEmulator", "addressed_to", "top_route"]
