"""The SIP/IP core's side for a user's address when the PF proxies (``pf.media_path``
false, 8.2.1 step 5 / 8.3.2 step 9): the proxied INVITE names no client instance, so no
client route takes it; :func:`user_inbox` routes the case's INVITEs (same Contribution-ID)
for the user's address to a :class:`UserInbox` that answers them ``CORE_ANSWER``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conformance.net.clock import Notifier
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.message import SipRequest
from conformance.roles.core import ToolCore
from conformance.roles.sip_helpers import same_aor

#: what the tool's SIP/IP core answers a proxied INVITE with (not 480, so that 9.e's 480
#: can only come from the PF itself)
CORE_ANSWER = 486


class UserInbox:
    """The SIP/IP core's side for the invited user's address: the INVITEs the PF forwarded
    for this case (same Contribution-ID), each answered ``CORE_ANSWER``."""

    def __init__(self, core: ToolCore, user: str, contribution_id: str) -> None:
        self.core = core
        self.user = user
        self.contribution_id = contribution_id
        self.name = f"pf-proxy-user:{user}:{contribution_id}"
        self.received: list[IncomingRequest] = []
        self._changed = Notifier()

    def owns(self, request: SipRequest) -> bool:
        return (
            request.method == "INVITE"
            and ";tag=" not in (request.headers.get("To") or "")
            and request.headers.get("Contribution-ID") == self.contribution_id
            and same_aor(request.uri, self.user)
        )

    def on_request(self, incoming: IncomingRequest) -> None:
        self.received.append(incoming)
        incoming.respond(CORE_ANSWER)
        self._changed.notify()

    async def invite(self, within: float) -> IncomingRequest:
        return await self._changed.wait_until(
            lambda: self.received[0] if self.received else None,
            within,
            f"the proxied INVITE for {self.user}",
        )


@contextmanager
def user_inbox(core: ToolCore, user: str, contribution_id: str) -> Iterator[UserInbox]:
    inbox = UserInbox(core, user, contribution_id)
    core.add_route(inbox.name, inbox.owns, inbox.on_request)  # after the client routes
    try:
        yield inbox
    finally:
        core.remove_route(inbox.name)
