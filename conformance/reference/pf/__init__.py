"""The reference CPM Participating Function (seed 003 8.2.1 and the later sections).

- :mod:`.policy` — the service-provider options (the profile's PICS claims);
- :mod:`.registrations` — clients learnt from third-party REGISTERs (3GPP TS 24.229 5.4.1.7);
- :mod:`.xdms` — user preferences read from the XDMS over HTTP;
- :mod:`.model` — legs, sessions (their phase table), forks and subscriptions;
- :mod:`.core` — :class:`~.core.PfCore`, what the features share, and the session table;
- :mod:`.interfaces` — the protocols one feature sees of another;
- :mod:`.originating`, :mod:`.originating_side` — 8.2.1 "Handle a CPM Session Invitation",
  originating side (the messages, the I/O);
- :mod:`.terminating` — 8.3.2, the terminating side; :mod:`.deferred` — 8.3.2.9;
- :mod:`.participants`, :mod:`.subscribe_forward`, :mod:`.confinfo_msrp` — 8.2.3 and 8.6
  step 2.b; :mod:`.msrp_policy` — 8.6; :mod:`.admin` — the administrative trigger;
- :mod:`.service` — :class:`ParticipatingFunction`: the features wired together and the
  dispatch of what arrives.
"""

from conformance.reference.pf.policy import PfPolicy
from conformance.reference.pf.service import ParticipatingFunction

__all__ = ["ParticipatingFunction", "PfPolicy"]
