"""The report as a person sees it: rendered by headless Chromium from file://.

``--dump-dom`` prints the DOM after the page's script ran: the filter script must have run
(``data-ready``), the SUT's ``<script>`` payloads must not (no ``data-pwned`` on <body>),
and the structure must be there (counts, matrix rows, a ladder diagram). The filters are
preselected from the address (``?verdict=fail``). Needs the Debian ``chromium`` package.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from conformance.catalog.loader import load_catalog
from conformance.report.html import write_html
from conformance.report.model import RunResults

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium(binary: str, *args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="cpm-chromium-") as profile:
        proc = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.needs_server("chromium")
def test_report_in_chromium(results: RunResults, tmp_path: Path) -> None:
    import shutil

    binary = shutil.which("chromium")
    assert binary is not None
    page = write_html(results, tmp_path / "report.html")
    dom = chromium(binary, "--dump-dom", page.as_uri())
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert 'data-ready="yes"' in body.group(0)  # the report's own script ran
    assert "data-pwned" not in body.group(0)  # none of the SUT's did
    assert "<img src=\"x\"" not in dom
    assert "&lt;script&gt;document.body.setAttribute" in dom  # shown as text
    n = len(list(load_catalog()))
    assert dom.count('<tr data-role="') == n
    assert re.search(r'<td class="num" data-verdict="fail">1</td>', dom)
    assert dom.count('<svg class="ladder"') == 2
    # the filter, preselected from the address: only the failed requirement is shown
    filtered = chromium(binary, "--dump-dom", page.as_uri() + "?verdict=fail")
    assert re.search(r'<span id="f-count">1</span>', filtered)
    assert filtered.count('<tr data-role="') - filtered.count(" hidden=") == 1
    shot = tmp_path / "report.png"
    chromium(binary, f"--screenshot={shot}", "--window-size=1400,2000", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
