"""The suite's command-line options (``pytest --help``, group "cpm-conformance")."""

from __future__ import annotations

import argparse

import pytest

from conformance.catalog.model import Role
from conformance.net.layout import LAYOUTS

#: the SUT profile when ``--sut`` is not given
ENV_SUT = "CPM_SUT"
#: the command line of ``cpm-conformance run`` (set by the CLI for its pytest child), kept
#: in results.json
ENV_COMMAND = "CPM_COMMAND"
#: another requirement catalogue (the hidden ``--catalog-dir``)
ENV_CATALOG = "CPM_CATALOG_DIR"
#: where the reference SUT stores: its embedded Maildir, or a real Dovecot over IMAP
STORES = ("maildir", "dovecot")
#: where the reference SUT runs: in the test process, or as a subprocess per session
REFERENCE_PROCESSES = ("inprocess", "subprocess")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cpm-conformance", "OMA CPM conformance")
    group.addoption(
        "--sut",
        dest="cpm_sut",
        default=None,
        metavar="PROFILE|reference",
        help="SUT profile (TOML), or 'reference' for the embedded reference SUT"
        f" (default: ${ENV_SUT} or reference)",
    )
    group.addoption(
        "--cpm-strict",
        "--strict-requirements",
        dest="cpm_strict",
        action="store_true",
        default=False,
        help="also judge SHOULD and MAY requirements",
    )
    group.addoption(
        "--role",
        dest="cpm_roles",
        action="append",
        default=[],
        choices=[r.value for r in Role],
        help="select the test cases of a role (repeatable)",
    )
    group.addoption(
        "--clause",
        dest="cpm_clauses",
        action="append",
        default=[],
        metavar="SECTION",
        help="select test cases by section prefix, e.g. 8.3.2 (repeatable)",
    )
    group.addoption(
        "--requirement",
        dest="cpm_requirements",
        action="append",
        default=[],
        metavar="ID",
        help="select test cases that declare a requirement id (repeatable)",
    )
    group.addoption(
        "--pics",
        dest="cpm_pics",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one PICS claim of the profile (repeatable), e.g. pf.media_path=false",
    )
    group.addoption(
        "--faults",
        dest="cpm_faults",
        default=None,
        metavar="NAME[,NAME...]",
        help="reference SUT faults to switch on (overrides the profile's sut.faults)",
    )
    group.addoption(
        "--store",
        dest="cpm_store",
        default=STORES[0],
        choices=STORES,
        help="the reference SUT's Message Store: its embedded Maildir (default) or a real"
        " Dovecot over IMAP started for the run",
    )
    group.addoption(
        "--layout",
        dest="cpm_layout",
        default=LAYOUTS[0],
        choices=LAYOUTS,
        help="how the tool reaches the SUT: direct (default), or kamailio (Kamailio as the"
        " SIP/IP core between the tool's core and the SUT)",
    )
    group.addoption(
        "--reference-process",
        dest="cpm_reference_process",
        default=REFERENCE_PROCESSES[0],
        choices=REFERENCE_PROCESSES,
        help="run the reference SUT in the test process (inprocess, the default) or as one"
        " subprocess per session (subprocess: `reference start --config`)",
    )
    group.addoption(
        "--cpm-report-dir",
        dest="cpm_report_dir",
        default=None,
        metavar="DIR",
        help="write DIR/results.jsonl as test cases end and DIR/results.json at the end",
    )
    group.addoption(
        "--cpm-shard",
        dest="cpm_shard",
        default=None,
        type=shard_option,
        metavar="K/N",
        help="run shard K of N of the selection (deterministic; balanced by the durations of"
        " --cpm-durations, else by count); the results record the shard",
    )
    group.addoption(
        "--cpm-durations",
        dest="cpm_durations",
        default=None,
        metavar="FILE",
        help="the durations --cpm-shard balances by: an earlier results.json (or its report"
        " directory), or pytest-split's .test_durations",
    )
    group.addoption(
        "--catalog-dir",
        dest="cpm_catalog_dir",
        default=None,
        help=argparse.SUPPRESS,
    )
    group.addoption(
        "--cpm-collect-json",
        dest="cpm_collect_json",
        default=None,
        help=argparse.SUPPRESS,
    )


def shard_option(text: str) -> str:
    """``--cpm-shard``: ``K/N`` (1 <= K <= N), normalised; an argparse error otherwise."""
    from conformance.report.shards import ShardError, parse_shard

    try:
        return str(parse_shard(text, option=""))
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def is_worker(config: pytest.Config) -> bool:
    """A pytest-xdist worker (only the controller writes files)."""
    return hasattr(config, "workerinput")
