"""net layer (see DESIGN.md): the only place with sockets and the clock.

- :mod:`.capture`: every datagram and TCP segment in and out, as evidence; text log.
- :mod:`.pcap`: a capture as a pcap file Wireshark dissects.
- :mod:`.sip_transport`, :mod:`.msrp_transport`: asyncio SIP (UDP+TCP) and MSRP (TCP).
- :mod:`.sip_pump`, :mod:`.msrp_pump`: feed the sans-IO machines, fire their timers, and
  give roles bounded waits.
- :mod:`.clock`: loop time, wall time, :class:`WaitTimeout`; :mod:`.ports`: run-time ports.
"""

from conformance.net.capture import Capture, CaptureRecord, TcpConnectionInfo, TextLogWriter
from conformance.net.clock import Notifier, WaitTimeout, wait_within
from conformance.net.msrp_pump import MsrpChannel, MsrpPump, MsrpTransactionTimeoutError
from conformance.net.msrp_transport import MsrpTransport
from conformance.net.pcap import pcap_bytes, write_pcap
from conformance.net.sip_pump import (
    ClientTransactionHandle,
    IncomingRequest,
    SipPump,
    TransactionTimeoutError,
)
from conformance.net.sip_transport import SipTransport, TransportError
from conformance.net.stream import InvalidMessage, StreamConnection

__all__ = [
    "Capture",
    "CaptureRecord",
    "ClientTransactionHandle",
    "IncomingRequest",
    "InvalidMessage",
    "MsrpChannel",
    "MsrpPump",
    "MsrpTransactionTimeoutError",
    "MsrpTransport",
    "Notifier",
    "SipPump",
    "SipTransport",
    "StreamConnection",
    "TcpConnectionInfo",
    "TextLogWriter",
    "TransactionTimeoutError",
    "TransportError",
    "WaitTimeout",
    "pcap_bytes",
    "wait_within",
    "write_pcap",
]
