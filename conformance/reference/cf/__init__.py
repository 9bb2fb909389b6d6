"""The reference CPM Controlling Function (CF).

- :mod:`.service`: :class:`ControllingFunction`, the conference factory and focus (INVITE,
  BYE, the MSRP relay, the upper-tester actions);
- :mod:`.conference`: the ``conference`` event package of its foci (SUBSCRIBE/NOTIFY);
- :mod:`.dialout`: its INVITEs to the recipients of a new group session;
- :mod:`.model`: what it knows of its group sessions.

The modules import only downward (model, then conference and dialout, then service); the
CF is a :class:`~conformance.reference.element.SipElement`.
"""

from conformance.reference.cf.model import (
    ConferenceSubscription,
    GroupSession,
    Participant,
    SessionState,
)
from conformance.reference.cf.service import ActionHandler, ControllingFunction
from conformance.reference.element import address_of, aor, identity_of
from conformance.reference.upper_tester_server import ActionError

__all__ = [
    "ActionError",
    "ActionHandler",
    "ConferenceSubscription",
    "ControllingFunction",
    "GroupSession",
    "Participant",
    "SessionState",
    "address_of",
    "aor",
    "identity_of",
]
