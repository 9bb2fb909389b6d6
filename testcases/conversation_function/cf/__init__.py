"""Test cases of the CPM Conversation Function TS for the CF, laid out like the specification."""
