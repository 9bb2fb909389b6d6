# ruff: noqa: E501 - HTML lines
"""The jinja2 template of the HTML report (a module, so the wheel needs no package data).

Rendered with autoescape on by :mod:`conformance.report.html`; nothing here is marked
``|safe``. The only script is the report's own (filters kept in the address, links that open
their target, expand/collapse): no external asset, no network. Data reaches the script only
through escaped ``data-`` attributes, never inside the script element.
"""

from __future__ import annotations

__all__ = ["TEMPLATE"]

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CPM conformance report: {{ sut_name or "run" }}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 1.5em 3em;color:#222;max-width:1500px}
h1{font-size:1.5em;margin:.6em 0 .3em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:1.4em}h3{font-size:1.05em;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right}
code{font-size:12px;background:#f4f4f4;padding:0 .2em;word-break:break-word}
.v{font-weight:600;padding:0 .4em;border-radius:3px;white-space:nowrap}
.v-pass{background:#d7f5d7}.v-fail{background:#f9c9c9}.v-error{background:#f3b0e8}
.v-inconc{background:#fbe7b0}.v-na{background:#e6e6e6}.v-not-run{background:#fff;border:1px dashed #aaa}
.v-untestable{background:#eef;border:1px dashed #99c}.v-not-evaluated{background:#fff;border:1px dotted #c77}.v-not-selected{background:#fff;color:#888;border:1px dotted #ccc}
.banner{padding:.5em .8em;border-radius:4px;margin:.5em 0;font-weight:600}
.banner.fault{background:#fff1d6;border:2px solid #e0a000}
table.facts th{width:17em}#pics details{display:inline}#pics details[open]{display:block}
#pics td.d{max-width:40em;font-size:12px}#pics td.g{max-width:26em;font-size:12px}#pics tr.default td.val{color:#777}
.filters{position:sticky;top:0;background:#fff;z-index:3;padding:.4em 0;border-bottom:1px solid #eee}
.filters label{margin-right:.8em;white-space:nowrap}.filters input[type=search]{width:16em}
#f-unknown{color:#a40;font-weight:600}#f-unknown:empty{display:none}
#matrix{width:100%}#matrix td.q{min-width:24em;font-size:12px}#matrix td.id{white-space:nowrap}#matrix td.t{font-size:12px;min-width:18em;max-width:26em;overflow-wrap:anywhere}#matrix td.r{max-width:16em;font-size:12px;overflow-wrap:anywhere}#f-strength{max-width:16em}#matrix tr[hidden],details.tc[hidden]{display:none}
#matrix tr:target td{background:#ffd}
details.tc{border:1px solid #ddd;margin:.4em 0;padding:.2em .6em}
details.tc>summary{cursor:pointer}details.tc[open]>summary{margin-bottom:.3em}
.purpose{white-space:pre-wrap;color:#333}
pre{white-space:pre-wrap;word-break:break-all;background:#f8f8f8;padding:.4em;margin:.2em 0;font-size:12px}
.check{border-left:4px solid #d33;padding:.1em .6em;margin:.5em 0;background:#fff8f8}
.check dl{display:grid;grid-template-columns:max-content 1fr;gap:0 .8em;margin:.2em 0}.check dt{font-weight:600}.check dd{margin:0}
.ladder-wrap{max-height:75vh;overflow:auto;border:1px solid #e3e3e3;margin:.4em 0;position:relative}
.lanes{position:sticky;top:0;z-index:2;background:#fafafa;border-bottom:1px solid #ddd;height:46px}
.lanes div{position:absolute;top:2px;text-align:center;font:11px/1.3 monospace;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.lanes b{display:block;font-size:10px;color:#666;font-weight:normal}.lanes .sut b{color:#036}.lanes .sut{color:#036;font-weight:bold}
.lanes small{color:#777}
svg.ladder{display:block;font:11px monospace}
svg .lane{stroke:#aaa;stroke-dasharray:4 3}svg .arr{stroke:#246;fill:none}
svg .t{fill:#555}svg .dt{fill:#999}
svg a.bad .arr{stroke:#d00;stroke-width:2}svg a.bad text.l{fill:#c00;font-weight:bold}svg .badrow{fill:#fde3e3}
svg a.msrp .arr{stroke:#285}svg a.msrp text.l{fill:#174}
svg a:hover text.l{text-decoration:underline}svg a{cursor:pointer}svg .hit{fill:transparent}svg a:hover .hit{fill:rgba(0,60,120,.06)}svg .badrow{pointer-events:none}
.skipped{color:#777;font-size:12px}
details.msgs>summary{cursor:pointer;color:#444;font-size:13px}details.msg{margin:0}details.msg>summary{font:12px monospace;cursor:pointer}
details.msg.bad>summary{background:#fdd;color:#a00;font-weight:bold}
details.msg:target>summary{outline:2px solid #e0a000}
.tools button{margin-right:.5em}
.shard{font-size:11px;padding:0 .4em;border:1px solid #99b;border-radius:3px;background:#eef;color:#335;white-space:nowrap}
</style>
</head>
<body>
<h1>CPM 2.0 conformance report</h1>
{% if faults %}
<div class="banner fault" id="faults-banner">{% if run.sut == "reference" or profile.target == "reference" %}reference SUT{% else %}SUT{% endif %} with faults switched on: {{ faults|join(", ") }}. Failures where these faults break requirements are expected: this run tests the test suite, not the SUT.</div>
{% endif %}

<section id="run">
<h2>Run</h2>
<table class="facts">
<tr><th>Run verdict</th><td><span class="v v-{{ verdict_class|replace('/', '') }}" id="run-verdict">{{ verdict }}</span></td></tr>
<tr><th>SUT</th><td>{{ sut_name }}{% if profile.target %} ({{ profile.target }}){% endif %}</td></tr>
{% if profile.path %}<tr><th>SUT profile</th><td><code>{{ profile.path }}</code></td></tr>{% endif %}
{% if claimed_roles %}<tr><th>Roles the SUT claims</th><td>{{ claimed_roles|join(", ") }}</td></tr>{% endif %}
<tr id="run-selection"><th>Selection</th><td>{% if selection.roles or selection.clauses or selection.requirements %}{% if selection.roles %}role {{ selection.roles|join(", ") }}{% endif %}{% if selection.clauses %}{% if selection.roles %}; {% endif %}clause {{ selection.clauses|join(", ") }}{% endif %}{% if selection.requirements %}{% if selection.roles or selection.clauses %}; {% endif %}requirement {{ selection.requirements|join(", ") }}{% endif %}{% else %}every test case{% endif %}</td></tr>
{% if tested_roles %}<tr><th>Roles tested</th><td>{{ tested_roles|join(", ") }}</td></tr>{% endif %}
{% if command %}<tr id="run-command"><th>Command</th><td><code>{{ command }}</code></td></tr>{% endif %}
{% if layout %}<tr><th>Layout</th><td>{{ layout }}</td></tr>{% endif %}
{% if store %}<tr><th>Message store</th><td>{{ store }}</td></tr>{% endif %}
{% if reference_process %}<tr><th>Reference SUT process</th><td>{{ reference_process }}</td></tr>{% endif %}
{% if run.faults is defined %}<tr id="run-faults"><th>Faults</th><td>{% if faults %}<b>{{ faults|join(", ") }}</b>{% else %}none{% endif %}</td></tr>{% endif %}
{% if strict %}<tr><th>Strict (SHOULD and MAY judged)</th><td>{{ strict }}</td></tr>{% endif %}
<tr><th>Date</th><td>{{ date or "unknown" }}</td></tr>
<tr><th>Duration</th><td>{{ duration or "unknown" }}</td></tr>
<tr><th>Tool version</th><td>cpm-conformance {{ version }}</td></tr>
{% if run.incomplete %}<tr><th>Incomplete</th><td>the run did not finish</td></tr>{% endif %}
{% if run.dispatcher_unroutable and run.dispatcher_unroutable.count %}<tr id="run-unroutable"><th>Requests no parallel worker took</th><td>{{ run.dispatcher_unroutable.count }}: a serial run's core would have taken them, so verdicts may differ from a serial run's (compare with <code>-n 0</code>){% for line in run.dispatcher_unroutable.first %}<br><code>{{ line }}</code>{% endfor %}</td></tr>{% endif %}
{% if run.pytest_exit_status is defined %}<tr><th>pytest exit status</th><td>{{ run.pytest_exit_status }}</td></tr>{% endif %}
{% if merged_from %}<tr id="run-merged"><th>Merged from</th><td>{% for m in merged_from %}{% if m.shard %}shard {{ m.shard }}: {% endif %}<code>{{ m.results }}</code> ({{ plural(m.test_cases, "test case") }}{% if m.incomplete %}, incomplete{% endif %}){% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>{% endif %}
{% for k, v in other.items() %}<tr class="other"><th>{{ k }}</th><td>{{ v }}</td></tr>
{% endfor %}
</table>
{% if pics_rows %}
<details id="pics-panel"><summary>PICS proforma: {{ plural(pics_claims, "claim") }} (option, claimed value, description, the requirements it gates)</summary>
<table id="pics">
<thead><tr><th>Option</th><th>Claimed value</th><th>Description</th><th>Gates</th></tr></thead>
<tbody>
{% for p in pics_rows %}
<tr{% if not p.claimed %} class="default"{% endif %}><td><code>{{ p.option }}</code></td><td class="val">{{ p.value }}{% if not p.claimed %} (default, not claimed){% endif %}</td><td class="d">{{ p.description }}{% if p.source %} <small>({{ p.source }})</small>{% endif %}</td><td class="g">{% if p.note %}{{ p.note }}{% if p.gates %}; {% endif %}{% elif not p.gates %}nothing{% endif %}{% if p.gates|length > 6 %}<details><summary>{{ plural(p.gates|length, "requirement") }}</summary>{% endif %}{% for g in p.gates %}<a href="#req-{{ g }}">{{ g }}</a>{% if not loop.last %}, {% endif %}{% endfor %}{% if p.gates|length > 6 %}</details>{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>
</details>
{% endif %}
</section>

<section id="summary">
<h2>Summary</h2>
<table id="counts">
<tr><th></th>{% for c in columns %}<th>{{ c }}</th>{% endfor %}<th>total</th></tr>
<tr id="count-testcases"><th>test cases</th>{% for c in columns %}<td class="num" data-verdict="{{ c }}">{{ tc_counts.get(c, 0) if c in tc_counts or c in ("pass", "fail", "inconc", "error", "n/a") else "" }}</td>{% endfor %}<td class="num" data-verdict="total">{{ tc_counts.total }}</td></tr>
<tr id="count-requirements"><th>requirements in the selection</th>{% for c in columns %}<td class="num" data-verdict="{{ c }}">{{ req_counts.get(c, 0) }}</td>{% endfor %}<td class="num" data-verdict="total">{{ req_counts.total }}</td></tr>
{% for role, counts in by_role.items() %}
<tr class="by-role"><th>test cases, role {{ role }}</th>{% for c in columns %}<td class="num">{{ counts.get(c, 0) if c in ("pass", "fail", "inconc", "error", "n/a") else "" }}</td>{% endfor %}<td class="num">{{ counts.total }}</td></tr>
{% endfor %}
{% for doc, counts in by_doc.items() %}
<tr class="by-doc"><th>requirements, {{ doc }}</th>{% for c in columns %}<td class="num">{{ counts.get(c, 0) }}</td>{% endfor %}<td class="num">{{ counts.total }}</td></tr>
{% endfor %}
</table>
<p><small>not evaluated: a test case declared the requirement but no check carried it; not run: in the selection and testable, but no test case of this run declared it; untestable: no test can observe it (reason in the matrix){% if not_selected %}; {{ plural(not_selected, "requirement") }} of the catalogue lie outside the selection (not selected){% endif %}.</small></p>
</section>

<section id="requirements">
<h2>Requirement matrix</h2>
<div class="filters" id="filters" data-groups="{{ groups_json }}">
<label>Role <select id="f-role"><option value="">all</option>{% for r in roles %}<option value="{{ r }}">{{ r }}</option>{% endfor %}</select></label>
<label>Verdict <select id="f-verdict"><option value="">all</option>{% for v in verdicts %}<option value="{{ v }}">{{ v }}</option>{% endfor %}</select></label>
<label>Strength <select id="f-strength"><option value="">all</option>{% for k, label in strength_groups %}<option value="{{ k }}">{{ label }}</option>{% endfor %}{% for value, s in strengths %}<option value="{{ value }}">{{ s }} only</option>{% endfor %}</select></label>
<label>Search <input type="search" id="f-q" placeholder="id, words of the quote, test case"></label>
<label><input type="checkbox" id="f-scope"> outside the selection too</label>
<span class="tools"><button type="button" id="expand-all">expand all test cases</button><button type="button" id="collapse-all">collapse all</button></span>
<br><span id="f-count">{{ rows|length - not_selected }}</span> of {{ plural(rows|length, "requirement") }} shown, <span id="f-tc-count">{{ cases|length }}</span> of {{ plural(cases|length, "test case") }} shown. <span id="f-unknown"></span>
</div>
<table id="matrix">
<thead><tr><th>Requirement</th><th>Section</th><th>Strength</th><th>Role</th><th>Verdict</th><th>Quote</th><th>Test cases</th></tr></thead>
<tbody>
{% for r in rows %}
<tr id="req-{{ r.id }}" data-role="{{ (r.roles or [r.role])|join(' ') }}" data-verdict="{{ r.verdict }}" data-strength="{{ r.strength }}"{% if r.verdict == "not selected" %} hidden{% endif %}><td class="id">{{ r.id }}</td><td>{{ r.section }}</td><td>{{ r.strength }}</td><td>{{ (r.roles or [r.role])|join(", ") }}</td><td class="r"><span class="v v-{{ r.verdict|replace('/', '')|replace(' ', '-') }}"{% if r.reason %} title="{{ r.reason }}"{% endif %}>{{ r.verdict }}</span>{% if r.reason %}<br><small>{{ r.reason }}</small>{% endif %}</td><td class="q">{% if r.title %}<b>{{ r.title }}</b>: {% endif %}{{ r.quote }}</td><td class="t">{% for t in r.tests %}<a href="#{{ tc_ids.get(t, '') }}">{{ t.rpartition('::')[2] }}</a>{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}
</tbody>
</table>
</section>

<section id="testcases">
<h2>Test cases ({{ cases|length }})</h2>
{% for c in cases %}
{% set tc = c.tc %}
<details class="tc" id="{{ c.anchor }}" data-verdict="{{ tc.verdict }}" data-role="{{ tc.role }}" data-strength="{{ c.strengths }}" data-reqs="{{ tc.requirements|join(' ') }}"{% if c.open %} open{% endif %}>
<summary><span class="v v-{{ tc.verdict|replace('/', '') }}">{{ tc.verdict }}</span> {{ c.name }}{% if tc.role %} [{{ tc.role }}]{% endif %} <small>{{ c.duration }}</small>{% if tc.shard %} <span class="shard" title="ran in shard {{ tc.shard }}">shard {{ tc.shard }}</span>{% endif %}</summary>
<p><small><code>{{ tc.nodeid }}</code></small></p>
{% if tc.purpose %}<p class="purpose">{{ tc.purpose }}</p>{% endif %}
<p class="reqs">Requirements: {% for rid in tc.requirements %}<a href="#req-{{ rid }}">{{ rid }}</a>{% if not loop.last %}, {% endif %}{% else %}none declared{% endfor %}. Duration {{ c.duration or "unknown" }}.{% if tc.reason %} Reason: {{ tc.reason }}{% endif %}</p>
{% for f in c.checks %}
{% set k = f.c %}
<div class="check"><b>{{ k.verdict }}: <a href="#req-{{ k.requirement }}">{{ k.requirement }}</a></b>
<dl><dt>expected</dt><dd><code>{{ f.expected }}</code></dd><dt>actual</dt><dd><code>{{ f.actual }}</code></dd>{% if k.message %}<dt>note</dt><dd>{{ k.message }}</dd>{% endif %}
{% for e in k.evidence %}<dt>evidence</dt><dd>{{ e.kind }}: {{ e.description }}{% if e.pointer %} @ <code>{{ e.pointer }}</code>{% endif %}</dd>{% endfor %}
{% if f.bad %}<dt>message</dt><dd>{% for i in f.bad %}<a href="#{{ c.anchor }}-m{{ i }}">#{{ i }}</a>{% if not loop.last %}, {% endif %}{% endfor %} (red in the diagram)</dd>{% endif %}</dl></div>
{% endfor %}
{% if tc.details and not c.failed and tc.verdict in ("fail", "error") %}<details><summary>failure text</summary><pre>{{ tc.details }}</pre></details>{% endif %}
{% if c.files %}<p>Evidence files: {% for kind, href, path in c.files %}{% if href %}<a href="{{ href }}">{{ kind }}</a>{% else %}{{ kind }} (<code>{{ path }}</code>: not a path inside the report folder, no link){% endif %} {% endfor %}</p>{% endif %}
{% set lad = c.ladder %}
{% if lad %}
{% if lad.skipped %}<p class="skipped">{{ plural(lad.skipped, "message") }} captured before the test case started (left over from the previous one) not drawn.</p>{% endif %}
{% if lad.arrows %}
<div class="ladder-wrap"><div class="lanes" style="width:{{ lad.width }}px"><div style="left:0;width:{{ lad.lane_w // 2 + 40 }}px;text-align:left;padding-left:4px"><b>time (s)</b>&Delta; previous</div>
{% for l in lad.lanes %}<div class="{{ 'sut' if l.side == 'SUT' else 'tool' }}" style="left:{{ l.x - lad.lane_w // 2 + 2 }}px;width:{{ lad.lane_w - 4 }}px" title="{{ l.full }}"><b>{{ l.side }}</b>{{ l.label }}{% if l.where %}<br><small>{{ l.where }}</small>{% endif %}</div>
{% endfor %}</div>
<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="{{ lad.width }}" height="{{ lad.height }}" role="img" aria-label="message sequence of {{ c.name }}">
<defs><marker id="ah-{{ c.anchor }}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#246"/></marker><marker id="ahb-{{ c.anchor }}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#d00"/></marker><marker id="ahm-{{ c.anchor }}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#285"/></marker></defs>
{% for a in lad.arrows if a.bad %}<rect class="badrow" x="0" y="{{ a.y - 16 }}" width="{{ lad.width }}" height="22"/>
{% endfor %}
{% for l in lad.lanes %}<line class="lane" x1="{{ l.x }}" y1="0" x2="{{ l.x }}" y2="{{ lad.height }}"/>
{% endfor %}
{% for a in lad.arrows %}<a href="#{{ c.anchor }}-m{{ a.index }}" class="{{ a.protocol }}{% if a.bad %} bad{% endif %}" data-index="{{ a.index }}"><title>#{{ a.index }} {{ a.title }}</title><rect class="hit" x="0" y="{{ a.y - 16 }}" width="{{ lad.width }}" height="22"/><text class="t" x="4" y="{{ a.y }}">{{ "%.3f"|format(a.at) }}</text><text class="dt" x="54" y="{{ a.y }}">{{ delta(a.delta) }}</text><line class="arr" x1="{{ a.x1 }}" y1="{{ a.y }}" x2="{{ a.x2 }}" y2="{{ a.y }}" marker-end="url(#{{ 'ahb' if a.bad else ('ahm' if a.protocol == 'msrp' else 'ah') }}-{{ c.anchor }})"/><text class="l" x="{{ a.text_x }}" y="{{ a.y - 4 }}" text-anchor="{{ a.anchor }}">{{ a.label }}</text></a>
{% endfor %}
</svg></div>
{% endif %}
{% if c.messages %}<details class="msgs"{% if c.messages|selectattr(2)|list %} open{% endif %}><summary>{{ plural(c.messages|length, "message") }}, raw (click an arrow to open one)</summary>
{% endif %}
{% for m, clock, bad in c.messages %}
<details class="msg{% if bad %} bad{% endif %}" id="{{ c.anchor }}-m{{ m.index }}"{% if bad %} open{% endif %}><summary>#{{ m.index }} {{ clock }} {{ m.direction }} {{ m.protocol }} {{ m.src_label }} &rarr; {{ m.dst_label }} ({{ plural(m.size, "byte") }}): {{ m.first_line }}</summary><pre>{{ m.text }}{% if m.truncated %}
[... truncated: see the .log file]{% endif %}</pre></details>
{% endfor %}
{% if c.messages %}</details>{% endif %}
{% endif %}
</details>
{% endfor %}
</section>
<p><small>Generated {{ generated }} by cpm-conformance {{ version }}.</small></p>
<script>
(function () {
  'use strict';
  var rows = Array.prototype.slice.call(document.querySelectorAll('#matrix tbody tr'));
  var cases = Array.prototype.slice.call(document.querySelectorAll('details.tc'));
  var groups = JSON.parse(document.getElementById('filters').dataset.groups || '{}');
  var sel = {role: document.getElementById('f-role'), verdict: document.getElementById('f-verdict'),
             strength: document.getElementById('f-strength')};
  var search = document.getElementById('f-q'), scope = document.getElementById('f-scope');
  var unknown = document.getElementById('f-unknown');
  var verdicts = ['pass', 'fail', 'inconc', 'error', 'n/a'];
  var rowText = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var caseText = cases.map(function (c) {
    var s = c.querySelector('summary'), p = c.querySelector('.purpose');
    return ((s ? s.textContent : '') + ' ' + c.id + ' ' + (c.dataset.reqs || '') + ' ' +
            (p ? p.textContent : '')).toLowerCase();
  });
  // the test cases each status row lists (for statuses that are not test-case verdicts)
  function casesWith(status) {
    var out = {};
    rows.forEach(function (r) {
      if (r.dataset.verdict !== status) return;
      r.querySelectorAll('a[href^="#tc"]').forEach(function (a) { out[a.getAttribute('href').slice(1)] = true; });
    });
    return out;
  }
  function hasStrength(list, s) {
    if (!s) return true;
    var allowed = groups[s] || [s.charAt(0) === '=' ? s.slice(1) : s];
    for (var i = 0; i < allowed.length; i++) { if (list.indexOf(allowed[i]) >= 0) return true; }
    return false;
  }
  function apply(push) {
    var r = sel.role.value, v = sel.verdict.value, s = sel.strength.value;
    var q = search.value.trim().toLowerCase(), all = scope.checked || v === 'not selected';
    var n = 0, m = 0;
    rows.forEach(function (row, i) {
      var d = row.dataset;
      var show = (all || d.verdict !== 'not selected') &&
        (!r || (' ' + d.role + ' ').indexOf(' ' + r + ' ') >= 0) &&
        (!v || d.verdict === v) && (!s || hasStrength([d.strength], s)) &&
        (!q || rowText[i].indexOf(q) >= 0);
      row.hidden = !show;
      if (show) n++;
    });
    var listed = v && verdicts.indexOf(v) < 0 ? casesWith(v) : null;
    cases.forEach(function (c, i) {
      var d = c.dataset;
      var show = (!r || d.role === r) && (!v || (listed ? !!listed[c.id] : d.verdict === v)) &&
        (!s || hasStrength((d.strength || '').split('|'), s)) &&
        (!q || caseText[i].indexOf(q) >= 0);
      c.hidden = !show;
      if (show) m++;
    });
    document.getElementById('f-count').textContent = String(n);
    document.getElementById('f-tc-count').textContent = String(m);
    if (push) {
      var p = new URLSearchParams();
      for (var k in sel) { if (sel[k].value) p.set(k, sel[k].value); }
      if (search.value.trim()) p.set('q', search.value.trim());
      if (scope.checked) p.set('scope', 'all');
      var qs = p.toString();
      try { history.replaceState(null, '', location.pathname + (qs ? '?' + qs : '') + location.hash); } catch (e) { /* file: in some browsers */ }
    }
  }
  // the address preselects the filters; a value no option has stays visible, marked
  var params = new URLSearchParams(location.search), notes = [];
  for (var k in sel) {
    var want = params.get(k);
    if (!want) continue;
    var opts = sel[k].options, hit = null;
    for (var i = 0; i < opts.length; i++) {
      if (opts[i].value === want) { hit = opts[i].value; break; }
      if (hit === null && opts[i].value.toLowerCase() === want.toLowerCase()) hit = opts[i].value;
    }
    if (hit === null) {
      var o = document.createElement('option');
      o.value = want; o.textContent = 'unknown: ' + want;
      sel[k].appendChild(o); hit = want;
      notes.push('unknown filter value "' + want + '" for ' + k + ' (nothing matches it)');
    }
    sel[k].value = hit;
  }
  if (params.get('q')) search.value = params.get('q');
  if (params.get('scope') === 'all') scope.checked = true;
  var sc = params.get('scope');
  if (sc && sc !== 'all') notes.push('unknown filter value "' + sc + '" for scope');
  unknown.textContent = notes.join('; ');
  for (var k3 in sel) sel[k3].addEventListener('change', function () { apply(true); });
  search.addEventListener('input', function () { apply(true); });
  scope.addEventListener('change', function () { apply(true); });
  apply(false);
  function clearFilters() {
    for (var k in sel) sel[k].value = '';
    search.value = ''; scope.checked = true; unknown.textContent = '';
    apply(true);
  }
  // a link opens what it points at: a test case, a message, a requirement row
  function openTarget(id) {
    if (!id) return;
    var el = document.getElementById(id);
    if (!el) return;
    for (var p = el; p; p = p.parentElement) { if (p.hidden) { clearFilters(); break; } }
    if (el.tagName === 'DETAILS') el.open = true;
    for (var a = el.parentElement; a; a = a.parentElement) { if (a.tagName === 'DETAILS') a.open = true; }
    el.scrollIntoView({block: 'center'});
  }
  function idOf(hash) { try { return decodeURIComponent((hash || '').slice(1)); } catch (e) { return ''; } }
  window.addEventListener('hashchange', function () { openTarget(idOf(location.hash)); });
  document.addEventListener('click', function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest('a') : null;
    if (!a) return;
    var href = a.getAttribute('href') || '';
    if (href.charAt(0) !== '#') return;
    ev.preventDefault();
    try { history.replaceState(null, '', href); } catch (e) { location.hash = href; }
    openTarget(idOf(href));
  });
  document.getElementById('expand-all').addEventListener('click', function () { cases.forEach(function (c) { c.open = true; }); });
  document.getElementById('collapse-all').addEventListener('click', function () { cases.forEach(function (c) { c.open = false; }); });
  if (location.hash) openTarget(idOf(location.hash));
  document.body.dataset.ready = 'yes';
  // timings (ms since navigation start), read by benchmarks/report_scale.py
  document.body.dataset.parsedMs = String(Math.round(performance.now()));
  window.addEventListener('load', function () {
    document.body.dataset.loadMs = String(Math.round(performance.now()));
  });
})();
</script>
</body>
</html>
"""
