"""The ``cpm-conformance`` entry point (and ``python -m conformance``).

It only settles where the process's bytecode goes (:func:`conformance.child.use_bytecode_cache`)
before the command line and everything it imports load."""

from __future__ import annotations


def main() -> int:
    from conformance.child import use_bytecode_cache

    use_bytecode_cache()
    from conformance.cli import main as cli_main

    return cli_main()
