"""Take the report screenshots of docs/report.md from a failing run's report.

    cpm-conformance run --sut reference --strict --faults cf.no-initial-notify \
        --report-dir /tmp/report-fail
    python docs/img/screenshots.py /tmp/report-fail/report.html docs/img

Needs Debian's ``chromium`` and Playwright for Python (the dev extras). Writes report.png
(the top of the page, filtered on failed requirements), report-run-panel.png (the run panel
with the PICS proforma open), report-matrix.png (the matrix, failures first) and
report-ladder.png (the ladder of a failed two-role flow, its red message open).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: the failed test case whose ladder is shown: a system flow with two SUT roles
FLOW = "test_b_2_3_x_y_plus_2_flow_race_active"


def _box(page: Any, selector: str) -> Any:
    """The element's box in page coordinates (what a full-page clip takes)."""
    return page.evaluate(
        "s => { const e = document.querySelector(s); if (!e) return null;"
        " const r = e.getBoundingClientRect();"
        " return {x: r.left, y: r.top + scrollY, width: r.width, height: r.height}; }",
        selector,
    )


def main(report: str, out: str) -> int:
    folder = Path(out)
    url = Path(report).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
        page.goto(url + "?verdict=fail")
        page.wait_for_selector("body[data-ready=yes]")
        matrix = _box(page, "#matrix")
        page.screenshot(
            path=str(folder / "report.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 1400, "height": matrix["y"] + 620},
        )
        page.goto(url)
        page.wait_for_selector("body[data-ready=yes]")
        page.evaluate("document.getElementById('pics-panel').open = true")
        box = _box(page, "#run")
        banner = _box(page, "#faults-banner")
        if banner is not None:  # the faults banner over the panel
            box = {**box, "y": banner["y"] - 4, "height": box["height"] + box["y"] - banner["y"]}
        page.set_viewport_size({"width": 1400, "height": int(min(box["height"], 1150)) + 20})
        page.locator("#run").scroll_into_view_if_needed()
        page.screenshot(
            path=str(folder / "report-run-panel.png"),
            clip={"x": 0, "y": box["y"], "width": 1400, "height": min(box["height"], 1150)},
            full_page=True,
        )
        page.set_viewport_size({"width": 1400, "height": 900})
        page.evaluate("document.getElementById('pics-panel').open = false")
        top = _box(page, "#requirements")
        page.screenshot(
            path=str(folder / "report-matrix.png"),
            full_page=True,
            clip={"x": 0, "y": top["y"], "width": 1400, "height": 760},
        )
        case = page.locator("details.tc", has_text=FLOW).first
        case.evaluate("d => { d.open = true; d.scrollIntoView(); }")
        wrap = case.locator(".ladder-wrap")
        # scroll the diagram (inside its own box, under its sticky lane headers) to the red
        # message the failed check names
        wrap.evaluate(
            "w => { const r = w.querySelector('rect.badrow');"
            " if (r) w.scrollTop = r.y.baseVal.value - 160; }"
        )
        wbox = wrap.bounding_box()
        head = case.locator("> summary").bounding_box()
        assert wbox is not None and head is not None
        height = min(wbox["y"] + wbox["height"] - head["y"], 1100)
        page.set_viewport_size({"width": 1400, "height": int(height) + 40})
        case.evaluate("d => d.scrollIntoView()")
        head = case.locator("> summary").bounding_box()
        assert head is not None
        page.screenshot(
            path=str(folder / "report-ladder.png"),
            clip={"x": 0, "y": head["y"], "width": 1400, "height": height},
        )
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
