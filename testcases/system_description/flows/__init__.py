"""System flows: two SUT roles (PF and CF) under test at once, the tool as the SIP/IP core."""
