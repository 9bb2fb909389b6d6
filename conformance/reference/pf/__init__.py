"""The reference CPM Participating Function (seed 003 8.2.1 and the later sections).

- :mod:`.policy` — the service-provider options (the profile's PICS claims);
- :mod:`.registrations` — clients learnt from third-party REGISTERs (3GPP TS 24.229 5.4.1.7);
- :mod:`.xdms` — user preferences read from the XDMS over HTTP;
- :mod:`.originating` — 8.2.1 "Handle a CPM Session Invitation", originating side;
- :mod:`.service` — :class:`ParticipatingFunction`, the SIP/MSRP service itself.
"""

from conformance.reference.pf.policy import PfPolicy
from conformance.reference.pf.service import ParticipatingFunction

__all__ = ["ParticipatingFunction", "PfPolicy"]
