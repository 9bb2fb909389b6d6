"""protocol/msrp layer (see DESIGN.md)."""
