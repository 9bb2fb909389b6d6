"""roles layer (see DESIGN.md): scriptable peers, every wait bounded, no judgement.

- :mod:`.core`: :class:`~.core.ToolCore`, the tool's SIP/IP core (one SIP pump, dispatch
  of incoming requests to the role emulators), and :class:`~.core.CoreUA`, the SIP side
  of a role behind it;
- :mod:`.ims_core`: the S-CSCF (third-party REGISTER towards the PF);
- :mod:`.client`: CPM Client instances; :mod:`.cf`: the Controlling Function and focus;
- :mod:`.msrp_peer`: one emulated MSRP endpoint; :mod:`.xdms`: user preferences over HTTP;
- :mod:`.sip_helpers`: request inspection and destinations shared by the roles;
- :mod:`.store`, :mod:`.upper_tester`, :mod:`.pjsip_peer`: Message Store reader, upper
  tester client, pjsua2 peer.
"""
