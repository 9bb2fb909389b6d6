#!/usr/bin/env bash
# Runs the conformance suite against the embedded reference SUT and writes the report to
# reports/latest/ (results.json, junit.xml, report.html, evidence). Does its own set-up.
# The reference SUT claims its optional features, so --strict judges the SHOULDs and MAYs
# too. Extra arguments go to `cpm-conformance run` (e.g. --role pf, --clause 8.2.1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=${PYTHON:-python3}
exec "$PY" -m conformance run --sut reference --strict \
    --report-dir "${REPORT_DIR:-reports/latest}" "$@"
