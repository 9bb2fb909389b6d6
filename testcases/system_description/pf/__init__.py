"""Test cases of the CPM System Description flows for the PF."""
