"""The HTML report: structure, escaping of what the SUT controls, regeneration from JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conformance.catalog.loader import load_catalog
from conformance.cli import main
from conformance.report.evidence import MessageRecord, exchanges, safe_name
from conformance.report.html import ladder, render_html
from conformance.report.model import RunResults
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
    assert req_cells["total"] == str(n)
    assert req_cells["untested"] == str(n - 4)
    # every catalogue requirement is a matrix row, with its quote
    rows = re.findall(r'<tr data-role="[^"]*" data-verdict="([^"]+)" data-strength=', html)
    assert len(rows) == n
    assert rows.count("untested") == n - 4
    assert catalog.get("PF-8.2.1-2").quote.split("\u201c")[0][:40] in html
    # one ladder per test case with evidence; the failing response is highlighted
    assert html.count('<svg class="ladder"') == 2
    assert html.count('<g class="sip bad">') == 1
    assert '<details class="msg bad" id="tc1-m3" open>' in html
    assert "MSRP a1 SEND" in html
    # worst first: the failing test case comes before the passing one
    assert html.index('id="tc1"') < html.index('id="tc0"')
    assert 'href="evidence/pass.pcap"' in html


def test_ladder_lanes_and_directions() -> None:
    recs = [
        MessageRecord(0, 0.0, "out", "udp", "sip", "10.0.0.1:5060", "10.0.0.9:5070", "A", 1),
        MessageRecord(1, 0.1, "in", "udp", "sip", "10.0.0.9:5070", "10.0.0.1:5060", "B", 1),
        MessageRecord(2, 0.2, "out", "tcp", "msrp", "10.0.0.1:4000", "10.0.0.9:4001", "C", 1),
    ]
    lad = ladder(recs, {1})
    assert [(lane.side, lane.address) for lane in lad.lanes] == [
        ("tool", "10.0.0.1:5060"), ("tool", "10.0.0.1:4000"),
        ("SUT", "10.0.0.9:5070"), ("SUT", "10.0.0.9:4001")]
    a, b, c = lad.arrows
    assert a.x1 < a.x2 and b.x1 > b.x2 and b.bad and not a.bad
    assert c.x1 == lad.lanes[1].x and c.x2 == lad.lanes[3].x


def test_exchanges_and_safe_names() -> None:
    from tests.report.conftest import ACK, HOSTILE_200, INVITE, MSRP, message

    recs = [message(0, "out", INVITE), message(1, "in", HOSTILE_200),
            message(2, "out", ACK), message(3, "out", MSRP, "msrp")]
    groups = exchanges(recs)
    assert [(t, [r.index for r in rs]) for t, rs in groups] == [
        ("INVITE sip:conf@sut SIP/2.0", [0, 1, 2]), ("MSRP a1 SEND", [3])]
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
