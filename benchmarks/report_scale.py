"""HTML report at scale: render 500 test cases with evidence, then load the page in Chromium.

Run: ``python benchmarks/report_scale.py [--cases 500] [--messages 12] [--repeat 3]``.

Builds a synthetic run (every 10th test case fails, each test case has ``--messages``
captured SIP/MSRP messages of about 600 bytes, the whole catalogue in the matrix), then:

- times :func:`conformance.report.html.render_html` (best of ``--repeat``);
- loads ``file://.../report.html`` in headless Chromium with ``--dump-dom`` and reads the
  page's own timings (``data-parsed-ms``: the end of the page's script, after the whole
  document was parsed; ``data-load-ms``: the load event), best of ``--repeat``;
- times a headless ``--screenshot`` of the page (the whole process, layout and paint
  included) against the same for an empty page, and prints the difference.

Needs the Debian ``chromium`` package. Not a test: it prints figures (docs/report.md).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.checks.verdict import CheckResult, EvidenceRef, Verdict
from conformance.report.evidence import MessageRecord
from conformance.report.html import render_html
from conformance.report.model import RunResults, TestCaseResult

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

INVITE = (
    "INVITE sip:conf-{i}@cf.example SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{i}x{j}\r\n"
    'From: "Alice {i}" <sip:alice@example>;tag={j}\r\nTo: <sip:conf-{i}@cf.example>\r\n'
    "Call-ID: call-{i}-{j}\r\nCSeq: {j} INVITE\r\nContact: <sip:alice@127.0.0.1:5060>\r\n"
    'Accept-Contact: *;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session"\r\n'
    "Content-Type: application/sdp\r\nContent-Length: 200\r\n\r\n"
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=message 4000 TCP/MSRP *\r\na=accept-types:message/cpim\r\n"
    "a=path:msrp://127.0.0.1:4000/s{i};tcp\r\n"
)
OK = (
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{i}x{j}\r\n"
    "Call-ID: call-{i}-{j}\r\nCSeq: {j} INVITE\r\nContent-Length: 0\r\n\r\n"
)
MSRP = (
    "MSRP t{i}x{j} SEND\r\nTo-Path: msrp://127.0.0.2:4001/r{i};tcp\r\n"
    "From-Path: msrp://127.0.0.1:4000/s{i};tcp\r\nMessage-ID: m{j}\r\n"
    "Byte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------t{i}x{j}$\r\n"
)


def synthetic(cases: int, messages: int) -> RunResults:
    from conformance.catalog.loader import load_catalog

    ids = [r.id for r in load_catalog() if r.role.value == "pf"]
    out = RunResults(run={"sut": "synthetic", "start": 1.79e9, "stop": 1.79e9 + 600})
    for i in range(cases):
        recs = []
        for j in range(messages):
            kind = j % 3
            text = (INVITE if kind == 0 else OK if kind == 1 else MSRP).format(i=i, j=j)
            out_dir = kind != 1
            proto = "msrp" if kind == 2 else "sip"
            src, dst = (
                ("127.0.0.1:5060", "127.0.0.2:5070")
                if proto == "sip"
                else ("127.0.0.1:4000", "127.0.0.2:4001")
            )
            if not out_dir:
                src, dst = dst, src
            recs.append(
                MessageRecord(
                    j,
                    1.79e9 + i + j / 100,
                    "out" if out_dir else "in",
                    "tcp" if proto == "msrp" else "udp",
                    proto,
                    src,
                    dst,
                    text,
                    len(text),
                )
            )
        rid = ids[i % len(ids)]
        failed = i % 10 == 0
        check = CheckResult(
            rid,
            Verdict.FAIL if failed else Verdict.PASS,
            "200",
            "403" if failed else "200",
            (EvidenceRef("sip", "the 200", recs[1].first_line, recs[1].text.encode()),),
        )
        out.add(
            TestCaseResult(
                nodeid=f"testcases/conversation_function/pf/test_scale.py::test_{i}",
                verdict=check.verdict,
                requirements=(rid,),
                role="pf",
                duration=0.1,
                checks=(check,),
                purpose="with {...} ensure that { when {...} then {...} }",
                evidence=tuple(recs),
            )
        )
    return out


def chromium(binary: str, *args: str) -> tuple[float, str]:
    with tempfile.TemporaryDirectory(prefix="cpm-bench-") as profile:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return time.perf_counter() - t0, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--messages", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    results = synthetic(args.cases, args.messages)
    best = float("inf")
    html = ""
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        html = render_html(results)
        best = min(best, time.perf_counter() - t0)
    work = Path(tempfile.mkdtemp(prefix="cpm-report-scale-"))
    page = work / "report.html"
    page.write_text(html, encoding="utf-8")
    blank = work / "blank.html"
    blank.write_text("<!DOCTYPE html><title>x</title>", encoding="utf-8")
    print(
        f"test cases: {args.cases}, messages each: {args.messages}, "
        f"HTML: {len(html.encode()) / 1e6:.2f} MB; render: {best:.2f} s (best of {args.repeat})"
    )
    binary = shutil.which("chromium")
    if binary is None:
        print("chromium not on PATH: no load figure", file=sys.stderr)
        return 2
    parsed, loaded = [], []
    for _ in range(args.repeat):
        _, dom = chromium(binary, "--dump-dom", page.as_uri())
        m = re.search(r'data-parsed-ms="(\d+)"', dom)
        n = re.search(r'data-load-ms="(\d+)"', dom)
        if m:
            parsed.append(int(m.group(1)))
        if n:
            loaded.append(int(n.group(1)))
    shots, blanks = [], []
    for _ in range(args.repeat):
        shots.append(
            chromium(
                binary, f"--screenshot={work / 'r.png'}", "--window-size=1400,2000", page.as_uri()
            )[0]
        )
        blanks.append(
            chromium(
                binary, f"--screenshot={work / 'b.png'}", "--window-size=1400,2000", blank.as_uri()
            )[0]
        )
    print(
        f"chromium, in page: parsed + script ran at {min(parsed, default=-1)} ms, "
        f"load event at {min(loaded, default=-1)} ms (best of {args.repeat})"
    )
    print(
        f"chromium --screenshot: {min(shots):.2f} s for the report, {min(blanks):.2f} s for"
        f" an empty page: the report costs {min(shots) - min(blanks):.2f} s"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
