"""System description flows, the CPM Client steps (the tool plays the PF and S-CSCF)."""
