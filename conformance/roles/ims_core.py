"""The S-CSCF role: third-party registration towards the PF (3GPP TS 24.229 5.4.1.7).

When a CPM Client registers, the S-CSCF tells the application servers of the user's
initial filter criteria, here the PF, with a third-party REGISTER:

- Request-URI: the AS's URI (the PF URI of the PIXIT);
- From: the S-CSCF; To: the registered public user identity;
- Contact: the S-CSCF; Expires: the registration's remaining time (0: deregistration);
- body: the client's own REGISTER as ``message/sip`` (the iFC ``IncludeRegisterRequest``
  form), carrying the client's Contact with ``+sip.instance``, the percent-encoded
  ``+g.3gpp.icsi-ref`` list and ``expires``, and its User-Agent.

:class:`Scscf` sends it through the tool's core and returns the PF's final response; it
keeps the live registrations so a fixture can deregister them at teardown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from conformance.protocol.sip.cpm import ICSI_SESSION, ICSI_SESSION_GROUP
from conformance.protocol.sip.headers import format_icsi_ref
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.timers import Address
from conformance.roles.core import ToolCore
from conformance.roles.sip_helpers import parse_sip_uri, unbracket

DEFAULT_USER_AGENT = "CPM-client/OMA2.0 tool-client/1"
DEFAULT_ICSIS: tuple[str, ...] = (ICSI_SESSION, ICSI_SESSION_GROUP)


@dataclass(frozen=True, slots=True)
class Registration:
    """One client instance the S-CSCF announced to a PF."""

    pf: Address
    user: str
    instance: str
    contact_user: str
    user_agent: str
    icsis: tuple[str, ...]
    expires: int


@dataclass(frozen=True, slots=True)
class ThirdPartyRegister:
    """Evidence of one third-party REGISTER: what was sent, and the final response."""

    registration: Registration
    request: SipRequest
    response: SipResponse
    sent_at: float = field(default=0.0)


def contact_value(contact_uri: str, instance: str, icsis: Sequence[str], expires: int) -> str:
    """``<uri>;+sip.instance="<urn:uuid:...>";+g.3gpp.icsi-ref="...";expires=N``."""
    parts = [f"<{contact_uri}>", f'+sip.instance="<{unbracket(instance)}>"']
    if icsis:
        parts.append(format_icsi_ref(icsis))
    parts.append(f"expires={expires}")
    return ";".join(parts)


class Scscf:
    """The S-CSCF role (module docstring), sending through ``core``."""

    def __init__(self, core: ToolCore, pf_uri: str, *, uri: str | None = None) -> None:
        self.core = core
        #: the PF's URI: Request-URI of every third-party REGISTER (PIXIT ``uris.pf``)
        self.pf_uri = pf_uri
        #: the S-CSCF's own URI (From and Contact of the third-party REGISTER)
        self.uri = uri or core.uri("scscf")
        #: live registrations by (user, instance)
        self.registrations: dict[tuple[str, str], Registration] = {}
        #: every third-party REGISTER sent, with its final response
        self.sent: list[ThirdPartyRegister] = []
        self._call_ids: dict[tuple[str, str], str] = {}
        self._cseq: dict[tuple[str, str], int] = {}
        #: the name of its messages in the capture (the report's lanes)
        self.role_name = "tool: S-CSCF"

    def client_register(
        self,
        user: str,
        instance: str,
        *,
        contact_user: str,
        user_agent: str = DEFAULT_USER_AGENT,
        icsis: Sequence[str] = DEFAULT_ICSIS,
        expires: int = 600,
    ) -> SipRequest:
        """The REGISTER the client itself would have sent to the S-CSCF (the body)."""
        parsed = parse_sip_uri(user)
        registrar = f"sip:{parsed.host}" if parsed is not None and parsed.host else user
        contact_uri = self.core.uri(contact_user)
        key = (user, instance)
        return build_request(
            "REGISTER",
            registrar,
            [
                ("Via", f"SIP/2.0/UDP {self.core.host}:{self.core.port};branch={new_branch()}"),
                ("Max-Forwards", "70"),
                ("From", f"<{user}>;tag={new_tag()}"),
                ("To", f"<{user}>"),
                ("Call-ID", self._call_ids.setdefault(key, new_call_id(self.core.host))),
                ("CSeq", f"{self._next_cseq(key)} REGISTER"),
                ("Contact", contact_value(contact_uri, instance, icsis, expires)),
                ("User-Agent", user_agent),
                ("Expires", str(expires)),
            ],
        )

    def _next_cseq(self, key: tuple[str, str]) -> int:
        self._cseq[key] = self._cseq.get(key, 0) + 1
        return self._cseq[key]

    def build_third_party_register(
        self, user: str, client_register: SipRequest, *, expires: int
    ) -> SipRequest:
        """The third-party REGISTER carrying ``client_register`` (alter before sending)."""
        return self.core.build_request(
            "REGISTER",
            self.pf_uri,
            from_=self.uri,
            to=user,
            contact=self.uri,
            headers=[("Expires", str(expires))],
            body=client_register.to_bytes(),
            content_type="message/sip",
        )

    async def third_party_register(
        self,
        pf: Address,
        user: str,
        instance: str,
        *,
        contact_user: str,
        user_agent: str = DEFAULT_USER_AGENT,
        icsis: Sequence[str] = DEFAULT_ICSIS,
        expires: int = 600,
        within: float,
    ) -> SipResponse:
        """Send a third-party REGISTER for this client instance to ``pf``; the final
        response (:class:`~conformance.net.sip_pump.TransactionTimeoutError` when the
        transaction times out, :class:`~conformance.net.clock.WaitTimeout` after
        ``within``)."""
        registration = Registration(
            pf, user, instance, contact_user, user_agent, tuple(icsis), expires
        )
        body = self.client_register(
            user,
            instance,
            contact_user=contact_user,
            user_agent=user_agent,
            icsis=icsis,
            expires=expires,
        )
        request = self.build_third_party_register(user, body, expires=expires)
        sent_at = self.core.pump.now()
        handle = await self.core.send(request, pf, sender=self.role_name)
        response = await handle.final(within)
        self.sent.append(ThirdPartyRegister(registration, request, response, sent_at))
        key = (user, instance)
        if expires > 0 and 200 <= response.status < 300:
            self.registrations[key] = registration
        elif expires == 0:
            self.registrations.pop(key, None)
        return response

    async def deregister(
        self,
        pf: Address,
        user: str,
        instance: str,
        *,
        within: float,
        contact_user: str | None = None,
    ) -> SipResponse:
        """The same third-party REGISTER with expires 0 (the client deregistered)."""
        known = self.registrations.get((user, instance))
        return await self.third_party_register(
            pf,
            user,
            instance,
            contact_user=contact_user or (known.contact_user if known else "client"),
            user_agent=known.user_agent if known else DEFAULT_USER_AGENT,
            icsis=known.icsis if known else DEFAULT_ICSIS,
            expires=0,
            within=within,
        )

    async def deregister_all(self, *, within: float) -> list[SipResponse | Exception]:
        """Deregister every live registration (teardown); each outcome, never raising."""
        out: list[SipResponse | Exception] = []
        for reg in list(self.registrations.values()):
            try:
                out.append(
                    await self.deregister(
                        reg.pf,
                        reg.user,
                        reg.instance,
                        contact_user=reg.contact_user,
                        within=within,
                    )
                )
            except Exception as exc:  # teardown reports, it does not judge
                self.registrations.pop((reg.user, reg.instance), None)
                out.append(exc)
        return out


__all__ = [
    "DEFAULT_ICSIS",
    "DEFAULT_USER_AGENT",
    "Registration",
    "Scscf",
    "ThirdPartyRegister",
    "contact_value",
]
