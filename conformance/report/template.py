# ruff: noqa: E501 - HTML lines
"""The jinja2 template of the HTML report (a module, so the wheel needs no package data).

Rendered with autoescape on by :mod:`conformance.report.html`; nothing here is marked
``|safe``. The only script is the matrix filter below: no external asset, no network.
"""

from __future__ import annotations

__all__ = ["TEMPLATE"]

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>CPM conformance report: {{ profile.name or run.sut or "run" }}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 3em;color:#222}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right}
.v{font-weight:600;padding:0 .4em;border-radius:3px;white-space:nowrap}
.v-pass{background:#d7f5d7}.v-fail{background:#f9c9c9}.v-error{background:#f3b0e8}
.v-inconc{background:#fbe7b0}.v-na{background:#e6e6e6}.v-untested{background:#fff;border:1px dashed #aaa}.v-not-evaluated{background:#fff;border:1px dotted #c77}
#matrix td.q{max-width:38em;font-size:12px}#matrix tr[hidden]{display:none}
.filters select{margin-right:1em}
details.tc{border:1px solid #ddd;margin:.4em 0;padding:.2em .6em}
details.tc>summary{cursor:pointer}
.purpose{white-space:pre-wrap;color:#333}
pre{white-space:pre-wrap;word-break:break-all;background:#f8f8f8;padding:.4em;margin:.2em 0;font-size:12px}
.check{border-left:4px solid #d33;padding-left:.6em;margin:.4em 0}
svg.ladder{display:block;margin:.4em 0;font:11px monospace}
svg .lane{stroke:#999;stroke-dasharray:4 3}svg .arr{stroke:#246;fill:none}
svg .bad .arr{stroke:#d00;stroke-width:2}svg .bad text{fill:#d00;font-weight:bold}
svg .msrp .arr{stroke:#285}
details.msg{margin:0}details.msg>summary{font:12px monospace;cursor:pointer}
details.msg.bad>summary{background:#fdd;color:#a00;font-weight:bold}
</style>
</head>
<body>
<h1>CPM 2.0 conformance report</h1>

<section id="summary">
<h2>Summary</h2>
<table class="facts">
<tr><th>Run verdict</th><td><span class="v v-{{ verdict_class|replace('/', '') }}" id="run-verdict">{{ verdict }}</span></td></tr>
<tr><th>SUT</th><td>{{ profile.name or run.sut or "" }}{% if profile.target %} ({{ profile.target }}){% endif %}</td></tr>
{% if profile.roles %}<tr><th>Roles under test</th><td>{{ profile.roles|join(", ") }}</td></tr>{% endif %}
{% if profile.path %}<tr><th>Profile</th><td>{{ profile.path }}</td></tr>{% endif %}
<tr><th>Date</th><td>{{ date }}</td></tr>
<tr><th>Duration</th><td>{{ duration }}</td></tr>
<tr><th>Tool version</th><td>cpm-conformance {{ version }}</td></tr>
{% if run.strict is defined %}<tr><th>Strict (SHOULD/MAY judged)</th><td>{{ run.strict }}</td></tr>{% endif %}
{% if run.faults %}<tr><th>Faults</th><td>{{ run.faults }}</td></tr>{% endif %}
{% if run.incomplete %}<tr><th>Incomplete</th><td>the run did not finish</td></tr>{% endif %}
</table>
{% if pics %}
<details><summary>PICS ({{ pics|length }} claims)</summary>
<table id="pics">{% for k, v in pics|dictsort %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
</details>
{% endif %}

<h3>Counts</h3>
<table id="counts">
<tr><th></th>{% for c in columns %}<th>{{ c }}</th>{% endfor %}<th>total</th></tr>
<tr id="count-testcases"><th>test cases</th>{% for c in columns %}<td class="num" data-verdict="{{ c }}">{{ tc_counts.get(c, 0) }}</td>{% endfor %}<td class="num" data-verdict="total">{{ tc_counts.total }}</td></tr>
<tr id="count-requirements"><th>requirements</th>{% for c in columns %}<td class="num" data-verdict="{{ c }}">{{ req_counts.get(c, 0) }}</td>{% endfor %}<td class="num" data-verdict="total">{{ req_counts.total }}</td></tr>
{% for role, counts in by_role.items() %}
<tr class="by-role"><th>test cases, role {{ role }}</th>{% for c in columns %}<td class="num">{{ counts.get(c, 0) }}</td>{% endfor %}<td class="num">{{ counts.total }}</td></tr>
{% endfor %}
{% for doc, counts in by_doc.items() %}
<tr class="by-doc"><th>requirements, {{ doc }}</th>{% for c in columns %}<td class="num">{{ counts.get(c, 0) }}</td>{% endfor %}<td class="num">{{ counts.total }}</td></tr>
{% endfor %}
</table>
</section>

<section id="requirements">
<h2>Requirement matrix</h2>
<div class="filters">
<label>Role <select id="f-role"><option value="">all</option>{% for r in roles %}<option>{{ r }}</option>{% endfor %}</select></label>
<label>Verdict <select id="f-verdict"><option value="">all</option>{% for v in verdicts %}<option>{{ v }}</option>{% endfor %}</select></label>
<label>Strength <select id="f-strength"><option value="">all</option>{% for s in strengths %}<option>{{ s }}</option>{% endfor %}</select></label>
<span id="f-count">{{ rows|length }}</span> shown
</div>
<table id="matrix">
<thead><tr><th>Requirement</th><th>Section</th><th>Strength</th><th>Role</th><th>Verdict</th><th>Quote</th><th>Test cases</th></tr></thead>
<tbody>
{% for r in rows %}
<tr data-role="{{ r.role }}" data-verdict="{{ r.verdict }}" data-strength="{{ r.strength }}"><td>{{ r.id }}</td><td>{{ r.section }}</td><td>{{ r.strength }}</td><td>{{ r.role }}</td><td><span class="v v-{{ r.verdict|replace('/', '')|replace(' ', '-') }}"{% if r.reason %} title="{{ r.reason }}"{% endif %}>{{ r.verdict }}</span>{% if r.reason %}<br><small>{{ r.reason }}</small>{% endif %}</td><td class="q">{{ r.quote }}</td><td>{% for t in r.tests %}<a href="#{{ tc_ids.get(t, '') }}">{{ t.rpartition('::')[2] }}</a>{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}
</tbody>
</table>
</section>

<section id="testcases">
<h2>Test cases ({{ cases|length }})</h2>
{% for c in cases %}
{% set tc = c.tc %}
<details class="tc" id="{{ c.anchor }}" data-verdict="{{ tc.verdict }}"{% if c.open %} open{% endif %}>
<summary><span class="v v-{{ tc.verdict|replace('/', '') }}">{{ tc.verdict }}</span> {{ tc.nodeid }}{% if tc.role %} [{{ tc.role }}]{% endif %}</summary>
{% if tc.purpose %}<p class="purpose">{{ tc.purpose }}</p>{% endif %}
<p>Requirements: {{ tc.requirements|join(", ") }}. Duration {{ "%.3f"|format(tc.duration) }} s.{% if tc.reason %} Reason: {{ tc.reason }}{% endif %}</p>
{% for f in c.failed %}
<div class="check"><b>{{ f.verdict }}: {{ f.requirement }}</b><br>expected: <code>{{ f.expected }}</code><br>actual: <code>{{ f.actual }}</code>{% if f.message %}<br>{{ f.message }}{% endif %}
{% for e in f.evidence %}<br>evidence: {{ e.kind }}: {{ e.description }}{% if e.pointer %} @ <code>{{ e.pointer }}</code>{% endif %}{% endfor %}</div>
{% endfor %}
{% if tc.details and not c.failed and tc.verdict in ("fail", "error") %}<details><summary>failure text</summary><pre>{{ tc.details }}</pre></details>{% endif %}
{% if c.files %}<p>Evidence: {% for kind, href, path in c.files %}{% if href %}<a href="{{ href }}">{{ kind }}</a>{% else %}{{ kind }} (<code>{{ path }}</code>: not a path inside the report folder, no link){% endif %} {% endfor %}</p>{% endif %}
{% set lad = c.ladder %}
{% if lad %}
<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="{{ lad.width }}" height="{{ lad.height }}" role="img" aria-label="message sequence">
<defs><marker id="ah" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#444"/></marker></defs>
{% for l in lad.lanes %}<text x="{{ l.x }}" y="14" text-anchor="middle" font-weight="bold">{{ l.side }}</text><text x="{{ l.x }}" y="28" text-anchor="middle">{{ l.label }}</text><line class="lane" x1="{{ l.x }}" y1="34" x2="{{ l.x }}" y2="{{ lad.height }}"/>
{% endfor %}
{% for a in lad.arrows %}<a href="#{{ c.anchor }}-m{{ a.index }}"><g class="{{ a.protocol }}{% if a.bad %} bad{% endif %}"><line class="arr" x1="{{ a.x1 }}" y1="{{ a.y }}" x2="{{ a.x2 }}" y2="{{ a.y }}" marker-end="url(#ah)"/><text x="{{ (a.x1 + a.x2) // 2 }}" y="{{ a.y - 4 }}" text-anchor="middle">{{ a.label }}</text></g></a>
{% endfor %}
</svg>
{% for m, clock, bad in c.messages %}
<details class="msg{% if bad %} bad{% endif %}" id="{{ c.anchor }}-m{{ m.index }}"{% if bad %} open{% endif %}><summary>#{{ m.index }} {{ clock }} {{ m.direction }} {{ m.protocol }} {{ m.src_label }} &rarr; {{ m.dst_label }} ({{ m.size }} bytes): {{ m.first_line }}</summary><pre>{{ m.text }}{% if m.truncated %}
[... truncated: see the .log file]{% endif %}</pre></details>
{% endfor %}
{% endif %}
</details>
{% endfor %}
</section>
<p><small>Generated {{ generated }} by cpm-conformance {{ version }}.</small></p>
<script>
(function () {
  var rows = document.querySelectorAll('#matrix tbody tr');
  var sel = {role: document.getElementById('f-role'), verdict: document.getElementById('f-verdict'),
             strength: document.getElementById('f-strength')};
  var count = document.getElementById('f-count');
  function apply() {
    var r = sel.role.value, v = sel.verdict.value, s = sel.strength.value, n = 0;
    for (var i = 0; i < rows.length; i++) {
      var d = rows[i].dataset;
      var show = (!r || d.role === r) && (!v || d.verdict === v) && (!s || d.strength === s);
      rows[i].hidden = !show;
      if (show) n++;
    }
    count.textContent = String(n);
  }
  for (var k in sel) sel[k].addEventListener('change', apply);
  var q = new URLSearchParams(location.search);
  for (var k2 in sel) { if (q.get(k2)) sel[k2].value = q.get(k2); }
  apply();
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
