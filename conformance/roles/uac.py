"""A request a role emulator sent whose 2xx creates a dialog: the client's and the CF's
INVITE (RFC 3261 12.1.2), the PF's INVITE towards the client, the client's SUBSCRIBE
(RFC 6665 4.1.2.1). The handles of those requests share how they await the final response
and keep the dialog, routed back to the emulator that sent the request."""

from __future__ import annotations

from conformance.errors import LocalProtocolError
from conformance.net.sip_pump import ClientTransactionHandle
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.roles.core import CoreUA


class DialogRequest:
    """The base of such a handle: ``request``, its ``transaction`` and the ``dialog`` of its
    2xx (``None`` until then), set by the handle's ``__init__``."""

    request: SipRequest
    transaction: ClientTransactionHandle
    dialog: Dialog | None

    def _sender(self) -> CoreUA:
        """The emulator that sent the request: it tracks the dialog."""
        raise NotImplementedError

    async def final(self, within: float) -> SipResponse:
        """The final response; a 2xx creates :attr:`dialog`, tracked by the sender."""
        response = await self.transaction.final(within)
        if 200 <= response.status < 300 and self.dialog is None:
            self.dialog = Dialog.uac(self.request, response)
            self._sender().track_dialog(self.dialog)
        return response

    def _dialog(self) -> Dialog:
        if self.dialog is None:
            raise LocalProtocolError("no dialog: await final() for a 2xx first")
        return self.dialog


__all__ = ["DialogRequest"]
