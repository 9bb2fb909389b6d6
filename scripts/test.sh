#!/usr/bin/env bash
# The project's own tests: lint (ruff, mypy --strict), then unit, RFC 4475, integration and
# interop tests in parallel. Does its own set-up (scripts/setup.sh --servers when root).
# With CI=true (or CPM_REQUIRE_SERVERS=1) a test whose server is missing fails instead of
# skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then bash scripts/setup.sh --servers; else bash scripts/setup.sh; fi

PY=${PYTHON:-python3}
# Bytecode is cached outside the sources: with PYTHONDONTWRITEBYTECODE set (as on some CI
# images) every test process and every `conformance run` child would otherwise compile the
# tool and pytest's assertion rewrites anew (about 2.8 s of CPU per run child).
if [[ -n ${PYTHONDONTWRITEBYTECODE:-} && -z ${PYTHONPYCACHEPREFIX:-} ]]; then
    export PYTHONPYCACHEPREFIX="${XDG_CACHE_HOME:-$HOME/.cache}/cpm-conformance/pycache"
    unset PYTHONDONTWRITEBYTECODE
fi
echo "== lint"
"$PY" -m ruff check conformance tests testcases fixtures benchmarks scripts
"$PY" -m ruff format --check conformance tests testcases fixtures benchmarks scripts
# mypy --strict over conformance/, testcases/ and fixtures/ under their installed names
# (conformance.testcases, conformance.fixtures): scripts/typecheck.py
"$PY" scripts/typecheck.py
echo "== tests"
"$PY" -m pytest -n auto -q "$@" tests
echo "== conformance suite, kamailio layout (Kamailio between the tool and the reference SUT)"
status=0
# Every case must pass here.
"$PY" -m conformance run --sut reference --layout kamailio --report-dir reports/ci-kamailio \
    || status=$?
if [[ $status -ne 0 ]]; then
    echo "the conformance suite in the kamailio layout exited with $status (0 expected)" >&2
    exit "$status"
fi
echo "== self-test: the suite against the clean reference SUT and against each of its faults"
# The clean run must be clean (every result pass or n/a) and every test case must fail under
# at least one fault (none "unkilled"). A fault counts only when a check carrying one of its
# own requirement ids fails; the requirements no fault proves yet, and the faults no such
# check catches, are the known gaps of .ci/selftest-known-gaps.toml: a gap not listed there
# fails, and so does a listed gap that has been closed (the list only shrinks). The fault
# runs share a few long-lived pytest sessions (docs/selftest.md), four per CPU by default.
"$PY" -m conformance selftest --report-dir reports/ci-selftest \
    --known-gaps .ci/selftest-known-gaps.toml
echo "== coverage: every testable requirement (SHALL, SHOULD and MAY) has a test case"
# A gate: coverage exits 1 when a testable requirement has no test case (pipefail passes its
# status through tail); --strict counts the SHOULDs and MAYs too (measured: 271 of 271).
"$PY" -m conformance coverage --strict | tail -n 25
