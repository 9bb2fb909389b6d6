#!/usr/bin/env bash
# Runs the conformance suite against the embedded reference SUT and writes the report
# to reports/latest/. Does its own set-up.
#
# Until the reference SUT lands, this runs what exists: a loopback demo in which two of
# the tool's own SIP/MSRP engines set up a CPM session, exchange a chunked MSRP message
# and tear down, printing the captured exchange and writing it as a pcap.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=${PYTHON:-python3}
exec "$PY" -m conformance demo --report-dir "${REPORT_DIR:-reports/latest}" "$@"
