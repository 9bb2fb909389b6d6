"""``python -m conformance``: the ``cpm-conformance`` command line."""

from conformance.cli import main

raise SystemExit(main())
