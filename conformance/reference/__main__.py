"""``python -m conformance.reference start [--faults a,b] [--core HOST:PORT] [--host H]``."""

from __future__ import annotations

import argparse
import sys

from conformance.reference.cli import cmd_reference_start, configure_reference_start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.reference")
    commands = parser.add_subparsers(dest="command", required=True)
    configure_reference_start(commands.add_parser("start", help="run the reference network"))
    args = parser.parse_args(argv)
    return cmd_reference_start(args)


if __name__ == "__main__":
    sys.exit(main())
