"""protocol/sip layer (see DESIGN.md): sans-IO SIP codec, typed header accessors, SDP and
multipart bodies. The public API is re-exported here."""

from conformance.protocol.sip import cpm as cpm
from conformance.protocol.sip.headers import *  # noqa: F403
from conformance.protocol.sip.headers import __all__ as _headers_all
from conformance.protocol.sip.message import *  # noqa: F403
from conformance.protocol.sip.message import __all__ as _message_all
from conformance.protocol.sip.multipart import *  # noqa: F403
from conformance.protocol.sip.multipart import __all__ as _multipart_all
from conformance.protocol.sip.sdp import *  # noqa: F403
from conformance.protocol.sip.sdp import __all__ as _sdp_all
from conformance.protocol.sip.uri import *  # noqa: F403
from conformance.protocol.sip.uri import __all__ as _uri_all

__all__ = sorted({*_message_all, *_uri_all, *_headers_all, *_sdp_all, *_multipart_all, "cpm"})
