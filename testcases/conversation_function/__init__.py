"""Test cases of the CPM Conversation Function TS, laid out like the specification."""
