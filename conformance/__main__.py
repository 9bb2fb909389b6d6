"""``python -m conformance``: the ``cpm-conformance`` command line."""

from conformance.command import main

raise SystemExit(main())
