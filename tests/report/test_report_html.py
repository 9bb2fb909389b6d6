"""The HTML report: structure, escaping of what the SUT controls, regeneration from JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from markupsafe import escape

from conformance.catalog.gates import pics_gates
from conformance.catalog.loader import load_catalog
from conformance.catalog.model import Role
from conformance.checks.verdict import CheckResult, EvidenceRef, Verdict
from conformance.cli import main
from conformance.report.evidence import exchanges, safe_name
from conformance.report.html import (
    NOT_RUN,
    NOT_SELECTED,
    UNTESTABLE,
    bad_records,
    human_duration,
    human_value,
    ladder,
    plural,
    render_html,
)
from conformance.report.model import RunResults, TestCaseResult
from conformance.report.results import load_results, write_json_atomic


def test_sut_controlled_text_is_escaped(results: RunResults) -> None:
    html = render_html(results)
    # the only script element is the report's own filter
    assert html.count("<script") == 1
    assert "<script>document.body" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;header&#39;)" in html
    assert "&#39;data-pwned&#39;,&#39;name&#39;" in html  # the display name
    assert "&#39;data-pwned&#39;,&#39;body&#39;" in html  # the body
    assert "&lt;b&gt;Evil SUT&lt;/b&gt;" in html  # the profile name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the purpose
    assert "200 &lt;script&gt;x&lt;/script&gt;" in html  # the actual value


def test_no_external_asset(results: RunResults) -> None:
    html = render_html(results)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html
    assert "default-src 'none'" in html


def test_summary_matrix_and_diagrams(results: RunResults) -> None:
    catalog = load_catalog()
    html = render_html(results, catalog)
    tc_row = re.search(r'<tr id="count-testcases">(.*?)</tr>', html, re.S)
    assert tc_row is not None
    cells = dict(re.findall(r'data-verdict="([^"]+)">(\d+)<', tc_row.group(1)))
    assert cells["pass"] == "1" and cells["fail"] == "1" and cells["n/a"] == "1"
    assert cells["total"] == "3"
    req_row = re.search(r'<tr id="count-requirements">(.*?)</tr>', html, re.S)
    assert req_row is not None
    req_cells = dict(re.findall(r'data-verdict="([^"]+)">(\d+)<', req_row.group(1)))
    n = len(list(catalog))
    untestable = sum(not q.testable for q in catalog)
    assert req_cells["total"] == str(n)
    assert req_cells[UNTESTABLE] == str(untestable)
    assert req_cells[NOT_RUN] == str(n - 4 - untestable)
    # every catalogue requirement is a matrix row, with its quote; failures first
    rows = re.findall(r'<tr id="req-([^"]+)" data-role="[^"]*" data-verdict="([^"]+)"', html)
    assert len(rows) == n
    assert rows[0] == ("PF-8.2.1-2", "fail")
    statuses = [v for _, v in rows]
    assert statuses.count(NOT_RUN) == n - 4 - untestable
    assert statuses.index("pass") < statuses.index(NOT_RUN) < statuses.index(UNTESTABLE)
    some = next(q for q in catalog if not q.testable)
    row = re.search(rf'<tr id="req-{re.escape(some.id)}".*?</tr>', html, re.S)
    assert row is not None and str(escape(some.untestable_reason)) in row.group(0)
    assert catalog.get("PF-8.2.1-2").quote.split("\u201c")[0][:40] in html
    # one ladder per test case with evidence, each with its own arrowhead markers
    assert html.count('<svg class="ladder"') == 2
    markers = re.findall(r'<marker id="([^"]+)"', html)
    assert len(markers) == len(set(markers)) == 6
    for m in re.findall(r'marker-end="url\(#([^)]+)\)"', html):
        assert m in markers
    # the failing response is highlighted, and only it
    assert html.count('class="sip bad"') == 1
    assert '<details class="msg bad" id="tc1-m3" open>' in html
    # the raw messages are folded, but open where one of them is red
    assert re.findall(r'<details class="msgs"[^>]*>', html) == [
        '<details class="msgs" open>',
        '<details class="msgs">',
    ]
    assert "MSRP a1 SEND" in html
    # worst first: the failing test case comes before the passing one
    assert html.index('id="tc1"') < html.index('id="tc0"')
    assert 'href="evidence/pass.pcap"' in html
    # a test case links back to its requirements, a requirement to its test cases
    assert '<a href="#req-PF-8.2.1-2">PF-8.2.1-2</a>' in html
    assert '<a href="#tc1">test_fail</a>' in html


def test_human_wording(results: RunResults) -> None:
    html = render_html(results)
    assert "Strict (SHOULD and MAY judged)</th><td>no</td>" in html
    assert "Duration</th><td>12.5 s</td>" in html
    assert "Duration 300 ms." in html
    assert plural(1, "test case") == "1 test case" and plural(3, "test case") == "3 test cases"
    assert human_value("('connected', None)") == "connected, none"
    assert human_value("(1, [True, True], [], ['connected'])") == "1, [yes, yes], none, [connected]"
    assert human_value("True") == "yes" and human_value("None") == "none"
    assert human_value("a NOTIFY (with [brackets]") == "a NOTIFY (with [brackets]"
    assert human_value("(__import__('os'))") == "(__import__('os'))"  # never evaluated
    assert human_duration(0.25) == "250 ms" and human_duration(125) == "2 min 05 s"


def _results_with(run: dict[str, object], *cases: TestCaseResult) -> RunResults:
    return RunResults(run=run, test_cases=list(cases))


def test_the_matrix_is_scoped_to_the_selection_and_the_run_panel_shows_it() -> None:
    catalog = load_catalog()
    cf = next(q for q in catalog if q.role.value == "cf" and q.testable)
    tc = TestCaseResult(
        "testcases/x/cf/test_a.py::test_a",
        Verdict.FAIL,
        (cf.id,),
        role="cf",
        checks=(CheckResult(cf.id, Verdict.FAIL, "x", "y"),),
    )
    run = {
        "sut": "reference",
        "strict": True,
        "selection": {"roles": ["cf"], "clauses": [], "requirements": []},
        "command": ["cpm-conformance", "run", "--role", "cf", "--faults", "cf.<b>x</b>"],
        "layout": "single",
        "store": "imap://127.0.0.1:1143",
        "reference_process": "thread",
        "faults": ["cf.no-initial-notify"],
        "future_key": {"a": 1},
        "profile": {
            "name": "reference SUT",
            "target": "reference",
            "roles": ["pf", "cf", "client"],
            "pics": {"pf.media_path": True, "x.unknown": "<i>v</i>"},
        },
    }
    html = render_html(_results_with(run, tc), catalog)
    rows = dict(re.findall(r'<tr id="req-([^"]+)" data-role="[^"]*" data-verdict="([^"]+)"', html))
    pf = next(q for q in catalog if q.roles == (Role.PF,))
    assert rows[cf.id] == "fail" and rows[pf.id] == NOT_SELECTED
    assert re.search(rf'<tr id="req-{re.escape(pf.id)}"[^>]* hidden>', html)
    in_scope = sum(1 for q in catalog if Role.CF in q.roles)
    req_row = re.search(r'<tr id="count-requirements">(.*?)</tr>', html, re.S)
    assert req_row is not None and f'data-verdict="total">{in_scope}<' in req_row.group(1)
    # the run panel
    assert 'id="faults-banner">reference SUT with faults switched on: cf.no-initial-notify' in html
    assert "Selection</th><td>role cf</td>" in html
    assert "Roles the SUT claims</th><td>pf, cf, client</td>" in html
    assert "Roles tested</th><td>cf</td>" in html
    assert "cpm-conformance run --role cf --faults &#39;cf.&lt;b&gt;x&lt;/b&gt;&#39;" in html
    assert "Layout</th><td>single</td>" in html and "thread" in html
    assert "imap://127.0.0.1:1143" in html
    assert "future_key</th><td>a: 1</td>" in html  # a key this version does not know
    # the PICS proforma: claimed value, description, the requirements it gates
    pics = re.search(r'<table id="pics">.*?</table>', html, re.S)
    assert pics is not None
    gated = pics_gates(catalog)["pf.media_path"]
    media = re.search(
        r"<tr><td><code>pf.media_path</code></td><td class=\"val\">yes</td>.*?</tr>",
        pics.group(0),
        re.S,
    )
    assert media is not None and f'<a href="#req-{gated[0]}">' in media.group(0)
    assert "(default, not claimed)" in pics.group(0)
    assert "&lt;i&gt;v&lt;/i&gt;" in pics.group(0)


def test_the_red_message_is_the_exact_one_the_check_points_at() -> None:
    from tests.report.conftest import message

    ok = "SIP/2.0 200 OK\r\nCall-ID: c{}\r\nCSeq: {} INVITE\r\n\r\n"
    msgs = tuple(message(i, "in", ok.format(i, i)) for i in range(3))
    by_bytes = CheckResult(
        "R",
        Verdict.FAIL,
        "403",
        "200",
        (EvidenceRef("sip", "the answer", "SIP/2.0 200 OK", ok.format(1, 1).encode()),),
    )
    by_index = CheckResult(
        "R", Verdict.FAIL, "403", "200", (EvidenceRef("sip", "the answer", "index=2"),)
    )
    by_line = CheckResult(
        "R", Verdict.FAIL, "403", "200", (EvidenceRef("sip", "the answer", "SIP/2.0 200 OK"),)
    )
    for check, expected in ((by_bytes, {1}), (by_index, {2}), (by_line, set())):
        tc = TestCaseResult("t.py::test_x", Verdict.FAIL, ("R",), checks=(check,), evidence=msgs)
        assert bad_records(tc) == expected, check
        html = render_html(_results_with({}, tc), load_catalogue=False)
        assert html.count('class="sip bad"') == len(expected)


def test_messages_before_the_test_case_started_are_not_drawn() -> None:
    from tests.report.conftest import INVITE, T0, message

    stray = message(0, "in", "NOTIFY sip:x SIP/2.0\r\n\r\n")
    tc = TestCaseResult(
        "t.py::test_x",
        Verdict.PASS,
        start=T0 + 0.05,
        evidence=(stray, message(1, "out", INVITE), message(2, "out", INVITE)),
    )
    lad = ladder(tc.evidence, set(), since=tc.start)
    assert [a.index for a in lad.arrows] == [1, 2] and lad.skipped == 1
    assert round(lad.arrows[1].delta, 3) == 0.1
    html = render_html(_results_with({}, tc), load_catalogue=False)
    assert "1 message captured before the test case started" in html
    assert 'id="tc0-m0"' not in html


def test_exchanges_and_safe_names() -> None:
    from tests.report.conftest import ACK, HOSTILE_200, INVITE, MSRP, message

    recs = [
        message(0, "out", INVITE),
        message(1, "in", HOSTILE_200),
        message(2, "out", ACK),
        message(3, "out", MSRP, "msrp"),
    ]
    groups = exchanges(recs)
    assert [(t, [r.index for r in rs]) for t, rs in groups] == [
        ("INVITE sip:conf@sut SIP/2.0", [0, 1, 2]),
        ("MSRP a1 SEND", [3]),
    ]
    a = safe_name("testcases/a/test_b.py::test_c[x/y]")
    assert "/" not in a and ":" not in a and a.startswith("testcases_a_test_b.py_test_c_x_y")
    assert safe_name("t::a[1]") != safe_name("t::a_1")


def test_report_command_regenerates_from_json(results: RunResults, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write_json_atomic(path, results.to_json())
    loaded = load_results(path)
    assert loaded.test_cases[1].evidence == results.test_cases[1].evidence
    assert loaded.test_cases[0].files == results.test_cases[0].files
    assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) == 0
    assert main(["report", str(tmp_path)]) == 0  # a directory: DIR/report.html
    one = (tmp_path / "r.html").read_bytes().decode("utf-8")
    two = (tmp_path / "report.html").read_bytes().decode("utf-8")
    strip = re.compile(r"Generated [^<]*")
    assert strip.sub("", one) == strip.sub("", render_html(results))
    assert strip.sub("", one) == strip.sub("", two)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["test_cases"][1]["evidence"][1]["text"].startswith("SIP/2.0 200 OK")


def test_report_command_bad_input(tmp_path: Path, capsys: object) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{}", encoding="utf-8")
    assert main(["report", str(bad)]) == 3
    assert main(["report", str(tmp_path / "missing.json")]) == 3


def test_pics_gates_name_the_requirements_an_option_gates() -> None:
    catalog = load_catalog()
    gates = pics_gates(catalog)
    assert gates["pf.media_path"] and all(catalog.get(r) for r in gates["pf.media_path"])


def test_requests_no_parallel_worker_took_are_in_the_run_panel(results: RunResults) -> None:
    assert 'id="run-unroutable"' not in render_html(results)
    results.run["dispatcher_unroutable"] = {
        "count": 3,
        "first": ["SUBSCRIBE sip:<b>focus</b>@cf.test SIP/2.0 (unroutable)"],
    }
    page = render_html(results)
    row = page[page.index('id="run-unroutable"') :].split("</tr>", 1)[0]
    assert "3: a serial run's core would have taken them" in row
    assert "&lt;b&gt;focus&lt;/b&gt;" in row and "<b>" not in row
