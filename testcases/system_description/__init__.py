"""Test cases of the CPM System Description flows, laid out like the specification."""
