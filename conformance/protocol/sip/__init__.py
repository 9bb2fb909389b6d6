"""protocol/sip layer (see DESIGN.md)."""
