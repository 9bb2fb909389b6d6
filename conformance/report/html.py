"""The HTML compliance report: one self-contained file rendered from a :class:`RunResults`.

- no external asset and no network: the CSS and the filter script are inline, the message
  sequence (ladder) diagrams are inline SVG;
- jinja2 with autoescape on: everything the SUT controls (headers, display names, bodies,
  reasons) is text, never markup;
- lean: a test case is a closed ``<details>`` (failed ones open), each raw message another
  closed ``<details>``; the requirement matrix is one table filtered by a few lines of JS
  (``report.html?verdict=fail&role=pf`` preselects the filters);
- test cases are listed worst first (fail and error on top).

:func:`render_html` returns the page, :func:`write_html` writes it. The catalogue (every
requirement, with its quote) comes from :func:`conformance.catalog.loader.load_catalog`
unless given; requirements the run never tested show as ``untested``.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from conformance import __version__
from conformance.checks.verdict import CheckResult, Verdict
from conformance.report.evidence import MessageRecord, endpoint_label, matches_evidence
from conformance.report.model import NOT_EVALUATED, RunResults, TestCaseResult

if TYPE_CHECKING:
    from conformance.catalog.loader import Catalog

__all__ = ["REPORT_NAME", "UNTESTED", "Ladder", "ladder", "render_html", "safe_link", "write_html"]

REPORT_NAME = "report.html"
UNTESTED = "untested"
VERDICT_ORDER = [v.value for v in Verdict] + [NOT_EVALUATED, UNTESTED]

# geometry of the ladder diagram
_LANE_W = 210
_TOP = 46
_ROW_H = 26
_LABEL_MAX = 64
#: width of a character of the lane labels (11px monospace), to widen lanes for long labels
_CHAR_W = 7


@dataclass(frozen=True, slots=True)
class Arrow:
    index: int
    y: int
    x1: int
    x2: int
    label: str
    protocol: str
    bad: bool


@dataclass(frozen=True, slots=True)
class Lane:
    x: int
    address: str
    side: str  # "tool" or "SUT"
    #: the role the address played ("tool: client bob#1", "SUT: PF"; "": unknown)
    role: str = ""

    @property
    def label(self) -> str:
        """``role (address)``, or the address alone when its role is unknown."""
        return endpoint_label(self.address, self.role)


@dataclass(frozen=True, slots=True)
class Ladder:
    width: int
    height: int
    lanes: tuple[Lane, ...]
    arrows: tuple[Arrow, ...]


def _ends(r: MessageRecord) -> tuple[tuple[str, str], tuple[str, str]]:
    """(address, role) of the tool's end and of the far end of ``r``."""
    if r.direction == "out":
        return (r.src, r.src_role), (r.dst, r.dst_role)
    return (r.dst, r.dst_role), (r.src, r.src_role)


def ladder(records: Sequence[MessageRecord], bad: set[int]) -> Ladder:
    """Lanes (the tool's addresses on the left, the SUT's on the right), each labelled
    ``role (address)`` when the capture knew the address's role, and one arrow per
    message, labelled with its first line. An address that played two roles in the test
    case gets a lane per role."""
    tool: dict[tuple[str, str], None] = {}
    sut: dict[tuple[str, str], None] = {}
    for r in records:
        local, remote = _ends(r)
        tool.setdefault(local)
        sut.setdefault(remote)
    longest = max((len(endpoint_label(*e)) for e in (*tool, *sut)), default=0)
    lane_w = max(_LANE_W, longest * _CHAR_W + 16)
    lanes: list[Lane] = []
    xs: dict[tuple[str, str, str], int] = {}
    for side, ends in (("tool", tool), ("SUT", sut)):
        for address, role in ends:
            x = lane_w // 2 + len(lanes) * lane_w
            lanes.append(Lane(x, address, side, role))
            xs[(side, address, role)] = x
    arrows: list[Arrow] = []
    for i, r in enumerate(records):
        local, remote = _ends(r)
        xl, xr = xs[("tool", *local)], xs[("SUT", *remote)]
        x1, x2 = (xl, xr) if r.direction == "out" else (xr, xl)
        label = r.first_line
        if len(label) > _LABEL_MAX:
            label = label[: _LABEL_MAX - 1] + "\u2026"
        arrows.append(Arrow(r.index, _TOP + 14 + i * _ROW_H, x1, x2, label,
                            r.protocol or "-", r.index in bad))
    return Ladder(max(len(lanes), 1) * lane_w, _TOP + 24 + len(records) * _ROW_H,
                  tuple(lanes), tuple(arrows))


def _bad_records(tc: TestCaseResult) -> set[int]:
    refs = [e for c in tc.checks if c.verdict >= Verdict.FAIL for e in c.evidence]
    if not refs:
        return set()
    return {m.index for m in tc.evidence if any(matches_evidence(m, ref) for ref in refs)}


def _when(ts: Any) -> str:
    try:
        value = float(ts)
    except (TypeError, ValueError):
        return ""
    if not value:
        return ""
    return _dt.datetime.fromtimestamp(value, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%H:%M:%S.%f")[:-3]


def _counts(values: Iterable[str]) -> dict[str, int]:
    c = Counter(values)
    out = {v: c[v] for v in VERDICT_ORDER if c.get(v)}
    out["total"] = sum(c.values())
    return out


_SAFE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")


def safe_link(path: str) -> str | None:
    """``path`` when it is a relative path inside the report directory (no scheme, not
    absolute, no ``..``), else None: results.json is input, and a link from it must never
    run script or leave the report's folder."""
    if not _SAFE_PATH.fullmatch(path) or any(part in ("", "..") for part in path.split("/")):
        return None
    return path


def _view(results: RunResults, catalog: Catalog | None) -> dict[str, Any]:
    reqs = {r.id: r for r in results.requirements()}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    if catalog is not None:
        for q in catalog:
            res = reqs.get(q.id)
            seen.add(q.id)
            rows.append({
                "id": q.id, "section": q.section, "strength": q.strength.value,
                "role": q.role.value, "document": q.document.value, "quote": q.quote,
                "title": q.title,
                "verdict": res.status if res else UNTESTED,
                "reason": res.reason if res else "",
                "tests": list(res.test_cases) if res else [],
            })
    for rid, res in reqs.items():
        if rid in seen:
            continue
        info = dict(res.info)
        rows.append({
            "id": rid, "section": info.get("section", ""), "strength": info.get("strength", ""),
            "role": info.get("role", ""), "document": info.get("document", ""),
            "quote": info.get("quote", info.get("title", "")), "title": info.get("title", ""),
            "verdict": res.status, "reason": res.reason, "tests": list(res.test_cases),
        })
    tc_ids = {tc.nodeid: f"tc{i}" for i, tc in enumerate(results.test_cases)}
    cases = []
    for i, tc in enumerate(results.test_cases):
        bad = _bad_records(tc)
        failed: list[CheckResult] = [c for c in tc.checks if c.verdict >= Verdict.FAIL]
        cases.append({
            "anchor": f"tc{i}", "tc": tc, "failed": failed,
            "ladder": ladder(tc.evidence, bad) if tc.evidence else None,
            "messages": [(m, _clock(m.timestamp), m.index in bad) for m in tc.evidence],
            "open": tc.verdict >= Verdict.INCONC,
            "files": [(kind, safe_link(path), path) for kind, path in sorted(tc.files.items())],
        })
    # the worst first (fail and error on top), in run order within a verdict
    rank = {c["anchor"]: tc.verdict.rank for c, tc in zip(cases, results.test_cases, strict=True)}
    cases.sort(key=lambda c: -rank[c["anchor"]])
    by_doc: dict[str, list[str]] = {}
    for row in rows:
        by_doc.setdefault(row["document"] or "?", []).append(row["verdict"])
    by_role: dict[str, list[str]] = {}
    for tc in results.test_cases:
        by_role.setdefault(tc.role or "?", []).append(tc.verdict.value)
    run = results.run
    profile = run.get("profile") if isinstance(run.get("profile"), dict) else {}
    start, stop = run.get("start"), run.get("stop")
    duration = ""
    if isinstance(start, (int, float)) and isinstance(stop, (int, float)) and stop >= start:
        duration = f"{stop - start:.1f} s"
    return {
        "run": run,
        "profile": profile or {},
        "pics": dict(run.get("pics") or (profile or {}).get("pics") or {}),
        "date": _when(start),
        "duration": duration,
        "version": run.get("version") or __version__,
        "verdict": _run_verdict(results),
        "verdict_class": "inconc" if run.get("incomplete") else results.verdict().value,
        "tc_counts": _counts(tc.verdict.value for tc in results.test_cases),
        "req_counts": _counts(r["verdict"] for r in rows),
        "by_role": {k: _counts(v) for k, v in sorted(by_role.items())},
        "by_doc": {k: _counts(v) for k, v in sorted(by_doc.items())},
        "rows": rows,
        "roles": sorted({r["role"] for r in rows if r["role"]}),
        "strengths": sorted({r["strength"] for r in rows if r["strength"]}),
        "verdicts": [v for v in VERDICT_ORDER if any(r["verdict"] == v for r in rows)],
        "columns": VERDICT_ORDER,
        "cases": cases,
        "tc_ids": tc_ids,
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _run_verdict(results: RunResults) -> str:
    """The run's verdict; an incomplete run is never a pass (it says what it found so far)."""
    verdict = results.verdict()
    if not results.run.get("incomplete"):
        return verdict.value
    if verdict in (Verdict.PASS, Verdict.NA):
        return "incomplete"
    return f"incomplete ({verdict.value} so far)"


_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def render_html(results: RunResults, catalog: Catalog | None = None,
                *, load_catalogue: bool = True) -> str:
    """The report page. Without ``catalog`` the installed catalogue is loaded (when
    ``load_catalogue``); a catalogue that cannot load leaves only the tested requirements."""
    if catalog is None and load_catalogue:
        from conformance.catalog.loader import CatalogError, load_catalog

        try:
            catalog = load_catalog()
        except (CatalogError, OSError):
            catalog = None
    from conformance.report.template import TEMPLATE

    return _ENV.from_string(TEMPLATE).render(**_view(results, catalog))


def write_html(results: RunResults, path: str | Path, catalog: Catalog | None = None) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(results, catalog), encoding="utf-8")
    tmp.replace(out)
    return out
