"""Conversation Function test cases of the CPM Client (the tool plays the PF and S-CSCF)."""
