"""cpm-conformance: a conformance test system for OMA CPM 2.0 group chat."""

__version__ = "0.1.0"
