"""The HTML compliance report: one self-contained file rendered from a :class:`RunResults`.

- no external asset and no network: the CSS and the script are inline, the message
  sequence (ladder) diagrams are inline SVG;
- jinja2 with autoescape on: everything the SUT controls (headers, display names, bodies,
  reasons, run metadata) is text, never markup;
- a run panel (command line, selection, layout, store, process mode, faults, PICS as a
  proforma table), a summary, the requirement matrix scoped to the run's selection (worst
  first, filters in the address: ``report.html?verdict=fail&role=pf&strength=SHALL&q=NOTIFY``),
  and the test cases (worst first) with their failed checks and a ladder of the messages;
- a requirement's status tells apart what the run judged (the verdicts), what a test case
  declared but no check carried (``not evaluated``), what the selection held but no test
  case ran (``not run``), what no test can observe (``untestable``, with the catalogue's
  reason) and what lies outside the run's selection (``not selected``, hidden unless asked).

:func:`render_html` returns the page, :func:`write_html` writes it.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from conformance import __version__
from conformance.checks.verdict import CheckResult, Verdict
from conformance.report.evidence import MessageRecord, endpoint_label, evidence_records
from conformance.report.model import NOT_EVALUATED, RunResults, TestCaseResult

if TYPE_CHECKING:
    from conformance.catalog.loader import Catalog

__all__ = [
    "NOT_RUN",
    "NOT_SELECTED",
    "REPORT_NAME",
    "UNTESTABLE",
    "UNTESTED",
    "Ladder",
    "bad_records",
    "human_duration",
    "human_value",
    "ladder",
    "plural",
    "render_html",
    "safe_link",
    "write_html",
]

REPORT_NAME = "report.html"
#: in the run's selection, testable, but no test case of the run declared it
NOT_RUN = "not run"
#: no test can observe it (the catalogue says why)
UNTESTABLE = "untestable"
#: outside the run's selection (--role, --clause, --requirement)
NOT_SELECTED = "not selected"
#: the former word for "not run" (kept for callers)
UNTESTED = NOT_RUN
#: statuses, worst first: the matrix sorts by this order
STATUS_ORDER = [
    "fail",
    "error",
    "inconc",
    NOT_EVALUATED,
    "pass",
    "n/a",
    NOT_RUN,
    UNTESTABLE,
    NOT_SELECTED,
]
VERDICT_ORDER = [v.value for v in Verdict]
#: the strength families of the filter (``?strength=SHALL`` is the family; ``=SHALL`` alone)
STRENGTH_GROUPS = {
    "SHALL": ("SHALL family", ("SHALL", "SHALL NOT", "flow-shall")),
    "SHOULD": ("SHOULD family", ("SHOULD", "SHOULD NOT")),
    "MAY": ("MAY family", ("MAY", "flow-may")),
}


def _strength_option(strength: str) -> str:
    """The filter value of one strength alone (a family's name stands for the family)."""
    return "=" + strength if strength in STRENGTH_GROUPS else strength


# geometry of the ladder diagram
_TIME_W = 112  # the time column on the left
_LANE_W = 180
_LANE_MIN = 120
_PAD_R = 40  # room on the right for the labels of arrows into the last lane
_FIT_W = 1280  # lanes narrow down to fit this width before the diagram scrolls
_ROW_H = 24
_TOP = 10
_CHAR_W = 6.6  # a character of 11px monospace
_LABEL_MIN = 44
_LABEL_MAX = 72


@dataclass(frozen=True, slots=True)
class Arrow:
    index: int
    y: int
    x1: int
    x2: int
    label: str
    protocol: str
    bad: bool
    #: the full first line (the label may be cut)
    title: str = ""
    #: seconds since the first drawn message, and since the previous one
    at: float = 0.0
    delta: float = 0.0

    @property
    def text_x(self) -> int:
        """The label sits near the arrow's start (never in the middle of a long arrow)."""
        return self.x1 + 8 if self.x2 >= self.x1 else self.x1 - 8

    @property
    def anchor(self) -> str:
        return "start" if self.x2 >= self.x1 else "end"


@dataclass(frozen=True, slots=True)
class Lane:
    x: int
    address: str
    side: str  # "tool" or "SUT"
    #: the role the lane stands for ("tool: client bob#1", "SUT: PF"; "": unknown)
    role: str = ""
    #: every address the lane's role used in the test case (the first is ``address``)
    addresses: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The role without its side (the header says tool or SUT), else the address."""
        if not self.role:
            return self.address
        prefix = f"{self.side}: "
        return self.role[len(prefix) :] if self.role.startswith(prefix) else self.role

    @property
    def where(self) -> str:
        """The lane's addresses, shortened: ``127.0.0.1:5060 +2``."""
        if not self.role:
            return ""
        extra = len(self.addresses) - 1
        return self.address + (f" +{extra}" if extra > 0 else "")

    @property
    def full(self) -> str:
        return endpoint_label(", ".join(self.addresses or (self.address,)), self.role)


@dataclass(frozen=True, slots=True)
class Ladder:
    width: int
    height: int
    lanes: tuple[Lane, ...]
    arrows: tuple[Arrow, ...]
    lane_w: int = _LANE_W
    #: messages captured before the test case started (left over from the previous one)
    skipped: int = 0


def _ends(r: MessageRecord) -> tuple[tuple[str, str], tuple[str, str]]:
    """(address, role) of the tool's end and of the far end of ``r``."""
    if r.direction == "out":
        return (r.src, r.src_role), (r.dst, r.dst_role)
    return (r.dst, r.dst_role), (r.src, r.src_role)


def _lane_key(side: str, address: str, role: str) -> tuple[str, str]:
    # a named role is one lane whatever its ports (SIP, MSRP, ephemeral connections);
    # an unnamed address is a lane of its own
    return (side, role) if role else (side, "@" + address)


def ladder(records: Sequence[MessageRecord], bad: set[int], *, since: float = 0.0) -> Ladder:
    """One lane per network element and role (the tool's on the left, the SUT's on the
    right; the tool's emulators merged per role and user, whatever ports they used), one
    arrow per message labelled with its first line near its start, with the time since
    the first message and since the previous one. Records before ``since`` (the test
    case's start) are left out."""
    drawn = [r for r in records if not (since and r.timestamp and r.timestamp < since)]
    addresses: dict[tuple[str, str], dict[str, None]] = {}
    order: dict[str, list[tuple[str, str]]] = {"tool": [], "SUT": []}
    for r in drawn:
        for side, (address, role) in zip(("tool", "SUT"), _ends(r), strict=True):
            key = _lane_key(side, address, role)
            if key not in addresses:
                addresses[key] = {}
                order[side].append(key)
            addresses[key].setdefault(address)
    keys = order["tool"] + order["SUT"]
    n = max(len(keys), 1)
    lane_w = max(_LANE_MIN, min(_LANE_W, (_FIT_W - _TIME_W) // n))
    lanes: list[Lane] = []
    xs: dict[tuple[str, str], int] = {}
    for i, key in enumerate(keys):
        side, name = key
        addrs = tuple(addresses[key])
        role = "" if name.startswith("@") else name
        x = _TIME_W + lane_w // 2 + i * lane_w
        lanes.append(Lane(x, addrs[0], side, role, addrs))
        xs[key] = x
    width = _TIME_W + n * lane_w + _PAD_R
    arrows: list[Arrow] = []
    first = drawn[0].timestamp if drawn else 0.0
    previous = first
    for i, r in enumerate(drawn):
        (la, lr), (ra, rr) = _ends(r)
        xl, xr = xs[_lane_key("tool", la, lr)], xs[_lane_key("SUT", ra, rr)]
        x1, x2 = (xl, xr) if r.direction == "out" else (xr, xl)
        if x1 == x2:
            x2 = x1 + lane_w // 2
        room = int(max(abs(x2 - x1) - 16, lane_w - 16) / _CHAR_W)
        # never past the diagram's edge nor into the time column
        avail = width - x1 - 12 if x2 >= x1 else x1 - 8 - _TIME_W
        cap = max(
            12,
            min(_LABEL_MIN if room < _LABEL_MIN else min(_LABEL_MAX, room), int(avail / _CHAR_W)),
        )
        title = r.first_line
        label = title if len(title) <= cap else title[: cap - 1] + "\u2026"
        arrows.append(
            Arrow(
                r.index,
                _TOP + 16 + i * _ROW_H,
                x1,
                x2,
                label,
                r.protocol or "-",
                r.index in bad,
                title,
                r.timestamp - first,
                r.timestamp - previous,
            )
        )
        previous = r.timestamp
    return Ladder(
        width,
        _TOP + 16 + len(drawn) * _ROW_H,
        tuple(lanes),
        tuple(arrows),
        lane_w,
        len(records) - len(drawn),
    )


def bad_records(tc: TestCaseResult) -> set[int]:
    """The exact messages the failed checks of ``tc`` point at (by capture index, else by
    the excerpt's bytes), never every message that shares a first line."""
    refs = [e for c in tc.checks if c.verdict >= Verdict.FAIL for e in c.evidence]
    return evidence_records(tc.evidence, refs) if refs else set()


# --------------------------------------------------------------------------- wording


def plural(n: int, word: str, many: str = "") -> str:
    """``1 test case``, ``3 test cases``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def human_duration(seconds: Any) -> str:
    """``250 ms``, ``1.5 s``, ``2 min 05 s``; "" when unknown."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return ""
    if s < 0:
        return ""
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    m, rest = divmod(round(s), 60)
    return f"{m} min {rest:02d} s"


def _delta(seconds: float) -> str:
    if seconds < 0.001:
        return "+0 ms"
    if seconds < 10:
        return f"+{seconds * 1000:.0f} ms"
    return f"+{seconds:.1f} s"


def _word(value: Any, nested: bool = False) -> str:
    """A value in words; a list inside a list keeps its brackets (``1, [yes, yes], none``)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            return "none"
        inner = ", ".join(_word(v, True) for v in value)
        return f"[{inner}]" if nested else inner
    if isinstance(value, dict):
        if not value:
            return "none"
        inner = "; ".join(f"{_word(k, True)}: {_word(v, True)}" for k, v in value.items())
        return f"{{{inner}}}" if nested else inner
    return str(value)


_REPR = re.compile(r"^\s*[\(\[\{].*[\)\]\}]\s*$|^\s*(None|True|False)\s*$", re.S)


def human_value(text: Any) -> str:
    """A check's expected or actual value for a reader: booleans as yes/no, None as
    none, and a Python tuple or list repr (``('connected', None)``) as a plain list
    (``connected, none``). Anything else is shown as it is."""
    if not isinstance(text, str):
        return _word(text)
    if not _REPR.match(text):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return _word(value)


def _meta(value: Any) -> str:
    """Run metadata as text: lists joined, booleans yes/no, mappings as ``k: v``."""
    if isinstance(value, str):
        return value
    return _word(value)


# --------------------------------------------------------------------------- the view


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


def _counts(values: Iterable[str], order: Sequence[str]) -> dict[str, int]:
    c = Counter(values)
    out = {v: c[v] for v in order if c.get(v)}
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


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, Iterable):
        return [str(v) for v in value if str(v)]
    return [str(value)]


def _selection(run: Mapping[str, Any]) -> dict[str, list[str]]:
    """The run's selection (``run.selection``: roles/clauses/requirements, or the singular
    spellings), each a list; empty lists select everything."""
    sel = run.get("selection")
    if not isinstance(sel, Mapping):
        sel = {}
    out: dict[str, list[str]] = {}
    for key, alias in (("roles", "role"), ("clauses", "clause"), ("requirements", "requirement")):
        out[key] = _strings(sel.get(key, sel.get(alias)))
    return out


def _clause_matches(section: str, clause: str) -> bool:
    clause = clause.rstrip(".")
    return section == clause or section.startswith(clause + ".")


def _selected(q: Any, sel: Mapping[str, list[str]]) -> bool:
    roles = {r.lower() for r in sel["roles"]}
    if roles and not roles & {r.value for r in q.roles}:
        return False
    if sel["clauses"] and not any(_clause_matches(q.section, c) for c in sel["clauses"]):
        return False
    return not sel["requirements"] or q.id in sel["requirements"]


def _row(res: Any, **facts: Any) -> dict[str, Any]:
    row = {
        "id": "",
        "section": "",
        "strength": "",
        "role": "",
        "roles": [],
        "document": "",
        "quote": "",
        "title": "",
        "verdict": NOT_RUN,
        "reason": "",
        "tests": [],
    }
    row.update(facts)
    if res is not None:
        row["verdict"] = res.status
        row["reason"] = res.reason
        row["tests"] = list(res.test_cases)
    return row


def _rows(
    results: RunResults, catalog: Catalog | None, sel: Mapping[str, list[str]]
) -> list[dict[str, Any]]:
    reqs = {r.id: r for r in results.requirements()}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    if catalog is not None:
        for q in catalog:
            res = reqs.get(q.id)
            seen.add(q.id)
            row = _row(
                res,
                id=q.id,
                section=q.section,
                strength=q.strength.value,
                role=q.role.value,
                roles=[r.value for r in q.roles],
                document=q.document.value,
                quote=q.quote,
                title=q.title,
                applicability=q.applicability,
            )
            if res is None:
                if not _selected(q, sel):
                    row["verdict"] = NOT_SELECTED
                elif not q.testable:
                    row["verdict"] = UNTESTABLE
                    row["reason"] = q.untestable_reason
            rows.append(row)
    for rid, res in reqs.items():
        if rid in seen:
            continue
        info = dict(res.info)
        rows.append(
            _row(
                res,
                id=rid,
                section=info.get("section", ""),
                strength=info.get("strength", ""),
                role=info.get("role", ""),
                roles=[info["role"]] if info.get("role") else [],
                document=info.get("document", ""),
                quote=info.get("quote", info.get("title", "")),
                title=info.get("title", ""),
            )
        )
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    order = {id(r): i for i, r in enumerate(rows)}
    rows.sort(key=lambda r: (rank.get(r["verdict"], 0), order[id(r)]))
    return rows


def _pics_rows(claimed: Mapping[str, Any], catalog: Catalog | None) -> list[dict[str, Any]]:
    """The PICS as a proforma: every registered option (claimed value, or its default),
    what it means, and the requirements it gates; then claims the registry does not know."""
    from conformance.catalog.pics import PICS_OPTIONS

    gates: dict[str, list[str]] = {}
    if catalog is not None:
        from conformance.catalog.gates import pics_gates

        try:
            gates = pics_gates(catalog)
        except Exception:  # a catalogue problem must not lose the report
            gates = {}
    by_role: Counter[str] = Counter()
    for q in catalog or ():
        by_role.update({r.value for r in q.roles})
    rows: list[dict[str, Any]] = []
    for o in PICS_OPTIONS.values():
        has = o.name in claimed
        role = o.name.partition(".")[2] if o.name.startswith("role.") else ""
        rows.append(
            {
                "option": o.name,
                "value": _meta(claimed[o.name] if has else o.default),
                "claimed": has,
                "description": o.description,
                "source": o.source,
                "gates": gates.get(o.name, []),
                "note": (
                    f"every requirement of role {role} ({by_role[role]})"
                    if role and by_role.get(role)
                    else ""
                ),
            }
        )
    for name in sorted(set(claimed) - set(PICS_OPTIONS)):
        rows.append(
            {
                "option": name,
                "value": _meta(claimed[name]),
                "claimed": True,
                "description": "(not a registered PICS option)",
                "source": "",
                "gates": gates.get(name, []),
                "note": "",
            }
        )
    return rows


#: run keys the panel shows in its own rows (every other key is listed after them)
_RUN_SHOWN = frozenset(
    {
        "sut",
        "strict",
        "selection",
        "start",
        "stop",
        "profile",
        "pics",
        "version",
        "faults",
        "incomplete",
        "dispatcher_unroutable",
        "command",
        "layout",
        "store",
        "reference_process",
        "pytest_exit_status",
        "format",
        "type",
        "merged_from",
        "catalogue",
    }
)


def _faults(run: Mapping[str, Any]) -> list[str]:
    value = run.get("faults")
    if isinstance(value, Mapping):
        return [f"{k}={_meta(v)}" for k, v in value.items()]
    return _strings(value)


def _command(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        import shlex

        return " ".join(shlex.quote(str(v)) for v in value)
    return ""


def _case(i: int, tc: TestCaseResult, strengths: Mapping[str, str]) -> dict[str, Any]:
    bad = bad_records(tc)
    failed: list[CheckResult] = [c for c in tc.checks if c.verdict >= Verdict.FAIL]
    lad = ladder(tc.evidence, bad, since=tc.start) if tc.evidence else None
    drawn = {a.index for a in lad.arrows} if lad else set()
    return {
        "anchor": f"tc{i}",
        "tc": tc,
        "failed": failed,
        "checks": [
            {
                "c": c,
                "expected": human_value(c.expected),
                "actual": human_value(c.actual),
                "bad": [
                    m.index
                    for m in tc.evidence
                    if m.index in bad and m.index in evidence_records(tc.evidence, c.evidence)
                ],
            }
            for c in failed
        ],
        "ladder": lad,
        "messages": [
            (m, _clock(m.timestamp), m.index in bad)
            for m in tc.evidence
            if m.index in drawn or not lad
        ],
        "open": tc.verdict >= Verdict.INCONC,
        "files": [(kind, safe_link(path), path) for kind, path in sorted(tc.files.items())],
        "duration": human_duration(tc.duration),
        "strengths": "|".join(sorted({strengths[r] for r in tc.requirements if r in strengths})),
        "name": tc.nodeid.rpartition("::")[2],
    }


def _view(results: RunResults, catalog: Catalog | None) -> dict[str, Any]:
    run = results.run
    sel = _selection(run)
    rows = _rows(results, catalog, sel)
    strengths = {r["id"]: r["strength"] for r in rows}
    tc_ids = {tc.nodeid: f"tc{i}" for i, tc in enumerate(results.test_cases)}
    cases = [_case(i, tc, strengths) for i, tc in enumerate(results.test_cases)]
    # the worst first (fail and error on top), in run order within a verdict
    rank = {c["anchor"]: tc.verdict.rank for c, tc in zip(cases, results.test_cases, strict=True)}
    cases.sort(key=lambda c: -rank[c["anchor"]])
    scoped = [r for r in rows if r["verdict"] != NOT_SELECTED]
    by_doc: dict[str, list[str]] = {}
    for row in scoped:
        by_doc.setdefault(row["document"] or "?", []).append(row["verdict"])
    by_role: dict[str, list[str]] = {}
    for tc in results.test_cases:
        by_role.setdefault(tc.role or "?", []).append(tc.verdict.value)
    profile = run.get("profile") if isinstance(run.get("profile"), dict) else {}
    profile = profile or {}
    start, stop = run.get("start"), run.get("stop")
    duration = ""
    if isinstance(start, (int, float)) and isinstance(stop, (int, float)) and stop >= start:
        duration = human_duration(stop - start)
    claimed = dict(run.get("pics") or profile.get("pics") or {})
    statuses = [s for s in STATUS_ORDER if s != NOT_SELECTED]
    columns = [s for s in statuses if s in VERDICT_ORDER or any(r["verdict"] == s for r in rows)]
    tested_roles = sorted({tc.role for tc in results.test_cases if tc.role})
    other = {k: _meta(v) for k, v in run.items() if k not in _RUN_SHOWN}
    other.update(
        {
            f"profile {k}": _meta(v)
            for k, v in profile.items()
            if k not in ("name", "target", "roles", "path", "pics")
        }
    )
    return {
        "run": run,
        "profile": profile,
        "sut_name": _meta(profile.get("name") or run.get("sut") or ""),
        "command": _command(run.get("command")),
        "selection": sel,
        "layout": _meta(run["layout"]) if "layout" in run else "",
        "store": _meta(run["store"]) if "store" in run else "",
        "reference_process": (
            _meta(run["reference_process"]) if "reference_process" in run else ""
        ),
        "faults": _faults(run),
        "strict": _meta(run["strict"]) if "strict" in run else "",
        "claimed_roles": _strings(profile.get("roles")),
        "tested_roles": tested_roles,
        "other": other,
        "merged_from": _merged_from(run.get("merged_from")),
        "pics_rows": _pics_rows(claimed, catalog) if claimed else [],
        "pics_claims": len(claimed),
        "date": _when(start),
        "duration": duration,
        "version": _meta(run.get("version") or __version__),
        "verdict": _run_verdict(results),
        "verdict_class": "inconc" if run.get("incomplete") else results.verdict().value,
        "tc_counts": _counts((tc.verdict.value for tc in results.test_cases), VERDICT_ORDER),
        "req_counts": _counts((r["verdict"] for r in scoped), statuses),
        "not_selected": len(rows) - len(scoped),
        "by_role": {k: _counts(v, VERDICT_ORDER) for k, v in sorted(by_role.items())},
        "by_doc": {k: _counts(v, statuses) for k, v in sorted(by_doc.items())},
        "rows": rows,
        "roles": sorted({x for r in rows for x in (r["roles"] or [r["role"]]) if x}),
        "strengths": [
            (_strength_option(x), x) for x in sorted({r["strength"] for r in rows if r["strength"]})
        ],
        "strength_groups": [
            (k, f"{label} ({', '.join(members)})")
            for k, (label, members) in STRENGTH_GROUPS.items()
        ],
        "groups_json": json.dumps({k: list(v) for k, (_, v) in STRENGTH_GROUPS.items()}),
        "verdicts": [*statuses, NOT_SELECTED],
        "columns": columns,
        "cases": cases,
        "tc_ids": tc_ids,
        "plural": plural,
        "delta": _delta,
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _merged_from(value: Any) -> list[dict[str, Any]]:
    """The inputs of a merged run (``run.merged_from``: results, shard, test-case count),
    as text; anything else in it is ignored."""
    if not isinstance(value, list):
        return []
    out: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        count = item.get("test_cases")
        out.append(
            {
                "results": _meta(item.get("results", "")),
                "shard": _meta(item.get("shard", "")),
                "test_cases": count if isinstance(count, int) else 0,
                "incomplete": bool(item.get("incomplete")),
            }
        )
    return out


def _run_verdict(results: RunResults) -> str:
    """The run's verdict; an incomplete run is never a pass (it says what it found so far)."""
    verdict = results.verdict()
    if not results.run.get("incomplete"):
        return verdict.value
    if verdict in (Verdict.PASS, Verdict.NA):
        return "incomplete"
    return f"incomplete ({verdict.value} so far)"


_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def render_html(
    results: RunResults, catalog: Catalog | None = None, *, load_catalogue: bool = True
) -> str:
    """The report page. Without ``catalog`` the installed catalogue is loaded (when
    ``load_catalogue``); a catalogue that cannot load leaves only the tested requirements."""
    if catalog is None and load_catalogue:
        from conformance.catalog.loader import CatalogError, load_catalog

        try:
            catalog = load_catalog()
        except (CatalogError, OSError):
            catalog = None
    return _template().render(**_view(results, catalog))


@functools.cache
def _template() -> jinja2.Template:
    from conformance.report.template import TEMPLATE

    return _ENV.from_string(TEMPLATE)


def warm() -> None:
    """Compile the page's template and load the installed catalogue ahead of a render:
    ``run`` does it on a thread while its test cases run, which takes this part of the
    report off the end of the run."""
    _template()
    from conformance.catalog.loader import CatalogError, load_catalog

    with contextlib.suppress(CatalogError, OSError):
        load_catalog()


def write_html(results: RunResults, path: str | Path, catalog: Catalog | None = None) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(results, catalog), encoding="utf-8")
    tmp.replace(out)
    return out
