"""The report as a person sees it: headless Chromium (Debian's ``chromium``) driven by
Playwright, on a clean and a failing report made from small synthetic runs.

What a reader meets: no console error; arrowheads drawn in a test case that was closed and
then opened (every diagram has its own marker ids); filters that change the visible rows and
test cases and stay in the address; unknown filter values shown, not dropped; a matrix link
that opens its test case; the red message is the one the failed check names; and none of the
SUT-controlled text (message bytes, expected/actual, reasons, details, evidence, file names,
profile, PICS, run metadata) runs as script.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.checks.verdict import CheckResult, EvidenceRef, Verdict
from conformance.report.html import write_html
from conformance.report.model import RunResults, TestCaseResult
from tests.report.conftest import ACK, INVITE, MSRP, T0, message

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: each payload sets window.__xss if it ever runs
XSS = (
    '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
    '"\'><svg onload="window.__xss=1">'
)


def ok_200(n: int) -> str:
    return (
        f"SIP/2.0 200 OK\r\nCall-ID: c{n}\r\nCSeq: {n} INVITE\r\n"
        f"X-Evil: {XSS}\r\nContent-Type: text/plain\r\n\r\n{XSS}"
    )


def clean_results() -> RunResults:
    cases = [
        TestCaseResult(
            nodeid=f"testcases/conversation_function/pf/test_x.py::test_pass_{i}",
            verdict=Verdict.PASS,
            requirements=(rid,),
            role="pf",
            duration=0.2,
            start=T0,
            checks=(CheckResult(rid, Verdict.PASS, "403", "403"),),
            evidence=(
                message(0, "out", INVITE),
                message(1, "in", ok_200(1)),
                message(2, "out", ACK),
                message(3, "out", MSRP, "msrp"),
            ),
        )
        for i, rid in enumerate(("PF-8.2.1-1", "PF-8.2.1-2"))
    ]
    return RunResults(
        run={
            "sut": "reference",
            "start": T0,
            "stop": T0 + 3,
            "strict": True,
            "profile": {"name": "reference SUT", "roles": ["pf"]},
        },
        test_cases=cases,
    )


def failing_results() -> RunResults:
    named = ok_200(2)
    failing = TestCaseResult(
        nodeid=f"testcases/conversation_function/pf/test_x.py::test_fail[{XSS}]",
        verdict=Verdict.FAIL,
        requirements=("PF-8.2.1-2", "PF-8.2.1-3"),
        role="pf",
        duration=0.3,
        start=T0,
        reason=f"check failed: {XSS}",
        details=XSS,
        purpose=XSS,
        checks=(
            CheckResult(
                "PF-8.2.1-2",
                Verdict.FAIL,
                f"403 {XSS}",
                f"('{XSS}', None)",
                (EvidenceRef("sip", f"the response {XSS}", "SIP/2.0 200 OK", named.encode()),),
                message=XSS,
            ),
            CheckResult("PF-8.2.1-3", Verdict.PASS, "a", "a"),
        ),
        # three 200 OKs: only the one the check names is red
        evidence=(
            message(0, "out", INVITE),
            message(1, "in", ok_200(1)),
            message(2, "in", named),
            message(3, "in", ok_200(3)),
            message(4, "out", ACK),
            message(5, "out", MSRP, "msrp"),
        ),
        files={"log": f"javascript:window.__xss=1//{XSS}", "pcap": "evidence/x.pcap"},
    )
    error = TestCaseResult(
        nodeid="testcases/conversation_function/pf/test_y.py::test_error",
        verdict=Verdict.ERROR,
        requirements=("PF-8.2.1-4.a.iii",),
        role="pf",
        reason=XSS,
        details=XSS,
    )
    run = {
        "sut": "reference",
        "start": T0,
        "stop": T0 + 12.5,
        "strict": False,
        "command": ["cpm-conformance", "run", XSS],
        "layout": XSS,
        "store": XSS,
        "reference_process": XSS,
        "faults": [XSS],
        "selection": {"roles": [XSS], "clauses": [], "requirements": []},
        "extra": {XSS: XSS},
        "profile": {
            "name": XSS,
            "target": XSS,
            "path": XSS,
            "roles": ["pf", XSS],
            "pics": {"pf.media_path": XSS, XSS: XSS},
        },
    }
    return RunResults(run=run, test_cases=[failing, error])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Page:
    """A page with its console errors collected."""

    def __init__(self, browser: Any, url: str) -> None:
        self.errors: list[str] = []
        self.page = browser.new_page(
            viewport={"width": 1400, "height": 1000}, device_scale_factor=1
        )
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready=yes]")

    def js(self, expr: str) -> Any:
        return self.page.evaluate(expr)

    def visible(self, selector: str) -> int:
        return int(
            self.js(
                f"Array.from(document.querySelectorAll({selector!r})).filter(e => !e.hidden).length"
            )
        )


def _pixels(png: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = channels = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += data
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        f, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line
    return (
        width,
        height,
        [
            [(r[x * channels], r[x * channels + 1], r[x * channels + 2]) for x in range(width)]
            for r in rows
        ],
    )


def _dark_rows_near_tip(page: Page, tc: str) -> int:
    """How many pixel rows around the first arrow's tip of ``tc`` hold dark ink: an
    arrowhead is several rows tall, a bare 1-px line is one or two."""
    box = page.js(f"""(() => {{
        const l = document.querySelector('#{tc} svg.ladder line.arr');
        l.scrollIntoView({{block: 'center'}});
        const r = l.getBoundingClientRect(), x2 = +l.getAttribute('x2'), x1 = +l.getAttribute('x1');
        const svg = l.ownerSVGElement.getBoundingClientRect();
        return {{x: svg.left + x2 + (x2 > x1 ? -7 : 1), y: r.top + r.height / 2 - 6}};
    }})()""")
    png = page.page.screenshot(clip={"x": box["x"], "y": box["y"], "width": 6, "height": 12})
    _, _, px = _pixels(png)
    return sum(any(sum(p) < 400 for p in row) for row in px)


def _open_everything(page: Page) -> None:
    page.page.click("#expand-all")
    page.js("document.querySelectorAll('details').forEach(d => d.open = true)")


@pytest.mark.needs_server("chromium")
def test_clean_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    url = write_html(clean_results(), tmp_path / "report.html").as_uri()
    page = Page(browser, url)
    assert page.js("document.querySelectorAll('details.tc[open]').length") == 0
    # every diagram has its own arrowheads: open the second (closed) test case, and the tips
    # of its arrows are drawn
    markers = page.js("Array.from(document.querySelectorAll('marker')).map(m => m.id)")
    assert len(markers) == len(set(markers)) == 6
    tc = page.js("document.querySelectorAll('details.tc')[1].id")
    page.page.click(f"#{tc} > summary")
    assert page.js(f"document.getElementById('{tc}').open") is True
    assert _dark_rows_near_tip(page, tc) >= 5
    # a matrix link opens (expands) its test case, which was closed
    page.page.click("#f-verdict")  # focus only
    page.js(f"document.getElementById('{tc}').open = false")
    page.page.click(f'#matrix a[href="#{tc}"]')
    assert page.js(f"document.getElementById('{tc}').open") is True
    # filters: a verdict nobody has is still a valid choice on a clean report
    page2 = Page(browser, url + "?verdict=fail")
    assert page2.js("document.getElementById('f-unknown').textContent") == ""
    assert page2.visible("#matrix tbody tr") == 0 and page2.visible("details.tc") == 0
    assert page.errors == [] and page2.errors == []


@pytest.mark.needs_server("chromium")
def test_failing_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    url = write_html(failing_results(), tmp_path / "report.html").as_uri()
    page = Page(browser, url)
    assert page.js("typeof window.__xss") == "undefined"
    # the red message is exactly the one the check names (the second of three 200 OKs)
    assert page.js(
        "Array.from(document.querySelectorAll('svg a.bad')).map(a => a.dataset.index)"
    ) == ["2"]
    assert page.js("Array.from(document.querySelectorAll('details.msg.bad')).map(d => d.id)") == [
        "tc0-m2"
    ]
    assert "Call-ID: c2" in page.js("document.querySelector('details.msg.bad pre').textContent")
    # the arrowheads of an opened failing case
    assert _dark_rows_near_tip(page, "tc0") >= 5
    # filters change the visible rows and test cases and the address
    rows = page.visible("#matrix tbody tr")
    page.page.select_option("#f-verdict", "fail")
    assert page.visible("#matrix tbody tr") == 1 < rows
    assert page.visible("details.tc") == 1
    assert "verdict=fail" in page.page.url
    page.page.select_option("#f-verdict", "")
    page.page.check("#f-scope")  # the requirements outside the run's selection too
    assert page.visible("#matrix tbody tr") > rows and "scope=all" in page.page.url
    page.page.select_option("#f-strength", "SHALL")  # the family
    strengths = set(
        page.js(
            "Array.from(document.querySelectorAll('#matrix tbody tr'))"
            ".filter(r => !r.hidden).map(r => r.dataset.strength)"
        )
    )
    assert {"SHALL", "SHALL NOT"} <= strengths <= {"SHALL", "SHALL NOT", "flow-shall"}
    assert "strength=SHALL" in page.page.url
    page.page.select_option("#f-strength", "=SHALL")  # SHALL alone
    assert set(
        page.js(
            "Array.from(document.querySelectorAll('#matrix tbody tr'))"
            ".filter(r => !r.hidden).map(r => r.dataset.strength)"
        )
    ) == {"SHALL"}
    page.page.select_option("#f-strength", "SHALL")
    before = page.visible("#matrix tbody tr")
    page.page.fill("#f-q", "PF-8.2.1-2")
    assert 1 <= page.visible("#matrix tbody tr") < before and "q=PF-8.2.1-2" in page.page.url
    assert all(
        "PF-8.2.1-2" in t
        for t in page.js(
            "Array.from(document.querySelectorAll('#matrix tbody tr')).filter(r => !r.hidden)"
            ".map(r => r.textContent)"
        )
    )
    # unknown values stay visible; a value differing only in case is the known one
    odd = Page(browser, url + "?verdict=bogus&role=PF")
    assert 'unknown filter value "bogus" for verdict' in odd.js(
        "document.getElementById('f-unknown').textContent"
    )
    assert odd.js("document.getElementById('f-role').value") == "pf"
    assert odd.js("document.getElementById('f-verdict').value") == "bogus"
    assert odd.visible("#matrix tbody tr") == 0
    # a link to a requirement lands on its row, even when the filters hide it
    odd.js("location.hash = '#req-PF-8.2.1-2'")
    odd.page.wait_for_function("!document.getElementById('req-PF-8.2.1-2').hidden")
    # nothing the SUT wrote ran, even with everything opened
    _open_everything(page)
    page.page.click("svg a.bad")
    assert page.js("typeof window.__xss") == "undefined"
    assert page.js("document.querySelectorAll('script').length") == 1
    assert XSS in page.js("document.getElementById('run').textContent")
    assert page.errors == [] and odd.errors == []
