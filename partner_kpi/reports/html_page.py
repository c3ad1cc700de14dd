"""The report page's fixed parts: the Jinja template and its stylesheet.

Nothing here holds data. The template is rendered with autoescaping on, so every
``{{ value }}`` is HTML-escaped; the only unescaped insertions are the stylesheet, the
two scripts (plotly.js and ``html_script.SCRIPT``) and the data block, which is JSON
with ``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes (``html.script_json``), so no
string in it can close the ``<script type="application/json">`` element it sits in.
"""

from __future__ import annotations

STYLE = """
:root { --ink: #1d2733; --muted: #5f6b7a; --line: #dde3ea; --bg: #f6f8fa;
  --good: #2e7d32; --bad: #c62828; --even: #78909c; --accent: #1f6fb2; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #fff; overflow-wrap: anywhere; }
header, main, footer, nav { max-width: 1200px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; padding-top: 8px; border-top: 2px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
.lede { font-size: 15px; margin: 0 0 6px; }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; }
nav { position: sticky; top: 0; background: #fff; z-index: 5; padding-top: 6px;
  padding-bottom: 6px; border-bottom: 1px solid var(--line); }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
dl.source { display: flex; flex-wrap: wrap; gap: 2px 14px; margin: 0; font-size: 13px;
  color: var(--muted); }
dl.source dt { font-weight: 600; }
dl.source dt::after { content: ":"; }
dl.source dd { margin: 0; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; min-width: 130px;
  background: var(--bg); }
.tile .value { font-size: 20px; font-weight: 600; }
.tile .label { font-size: 12px; color: var(--muted); }
.tile.tier { border-left: 6px solid var(--tier); }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
.chart { min-height: 200px; width: 100%; }
.table-wrap { max-height: 75vh; overflow: auto; border: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: var(--bg); position: sticky; top: 0; z-index: 1; font-weight: 600;
  white-space: nowrap; }
th[data-sort] { cursor: pointer; }
th[data-sort]::after { content: " \\2195"; color: var(--muted); font-size: 11px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .id { display: block; font-size: 11px; color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-size: 12px; background: var(--tier); }
.drivers { font-size: 12px; min-width: 220px; }
td.partner { min-width: 170px; max-width: 320px; }
.drivers .up { color: var(--good); }
.drivers .down { color: var(--bad); }
input[type=search] { padding: 5px 8px; width: 280px; margin: 6px 0; }
select { padding: 4px 6px; margin: 6px 6px; }
#ranking-more { margin: 8px; }
button { padding: 4px 10px; margin: 0 6px 6px 0; }
details.scorecard { border: 1px solid var(--line); border-radius: 8px; margin: 8px 0;
  border-left: 6px solid var(--tier); }
details.scorecard > summary { padding: 8px 12px; cursor: pointer; font-size: 15px; }
details.scorecard > summary .score { font-weight: 600; margin-left: 8px; }
details.scorecard > .body { padding: 0 12px 12px; }
.kpis td.bar { width: 34%; min-width: 160px; }
.track { position: relative; height: 12px; background: var(--bg); border: 1px solid var(--line);
  border-radius: 3px; margin-top: 4px; }
.track .fill { position: absolute; top: 0; bottom: 0; background: var(--even); }
.track .fill.better { background: var(--good); }
.track .fill.worse { background: var(--bad); }
.track .tick { position: absolute; top: -3px; bottom: -3px; width: 2px; margin-left: -1px;
  background: var(--ink); }
.kpis .meaning { display: block; font-size: 12px; color: var(--muted); }
.kpis .lower, .funnel .lower { font-size: 11px; color: var(--muted); margin-left: 6px; }
.kpis .empty { font-size: 12px; color: var(--muted); }
tr.missing td.note { font-style: italic; }
table.funnel { width: auto; min-width: 60%; }
dl.glossary dt { font-weight: 600; margin-top: 8px; }
dl.glossary dd { margin: 0 0 0 16px; }
code { font-size: 12px; }
footer { margin-top: 30px; padding-bottom: 30px; font-size: 12px; color: var(--muted); }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="partner-kpi">
<title>Partner scores as of {{ page.as_of }}</title>
<style>{{ style }}</style>
</head>
{%- macro chart(c) %}
<div class="chart" id="{{ c.id }}" data-chart="{{ c.id }}" role="img"
 aria-label="{{ c.title }}"></div>
{%- endmacro %}
{%- macro tier_badge(tier, colour) -%}
<span class="badge" style="--tier: {{ colour }}">{{ tier }}</span>
{%- endmacro %}
<body>
<header>
<h1>Partner scores</h1>
<p class="lede">As of <strong>{{ page.as_of }}</strong>
 · window {{ page.window_start }} – {{ page.as_of }} ({{ page.window_days }} days)
 · <strong>{{ page.partner_count }}</strong> partners scored</p>
<dl class="source" id="source">
{%- for key, value in page.source %}<dt>{{ key }}</dt><dd>{{ value }}</dd>{% endfor -%}
</dl>
</header>
<nav>
{%- for anchor, label in [("summary", "Summary"), ("trend", "Trend"), ("ranking", "Ranking"),
  ("scorecards", "Scorecards"), ("how-to-read", "How to read this")] -%}
<a href="#{{ anchor }}">{{ label }}</a>
{%- if anchor == "summary" and page.quality %}<a href="#data-quality">Data quality</a>{% endif %}
{%- endfor %}
</nav>
<main>
<section id="summary">
<h2>Summary</h2>
<div class="tiles" id="tier-counts">
{%- for tier in page.tiers %}
<div class="tile tier" style="--tier: {{ tier.colour }}" data-tier="{{ tier.name }}">
<div class="value">{{ tier.count }}</div>
<div class="label">{{ tier.name }} · {{ tier.rule }}</div></div>
{%- endfor %}
</div>
<h3>Portfolio in the window</h3>
<div class="tiles" id="portfolio-totals">
{%- for tile in page.totals %}
<div class="tile" data-key="{{ tile.key }}"><div class="value">{{ tile.value }}</div>
<div class="label">{{ tile.label }}</div></div>
{%- endfor %}
</div>
{%- if page.funnel or page.funnel_missing %}
<h3>Funnel, customers and service</h3>
<p class="note">KPIs from the CRM's {{ page.funnel_objects }}: the median partner (of
those with a value) and how many partners have a value. Each scorecard shows its
partner's against the median. A KPI that reads an object the CRM lacks is empty for every
partner; the page says so once for that object.</p>
<table class="funnel" id="portfolio-funnel">
<thead><tr><th>KPI</th><th class="num">Portfolio median</th>
<th class="num">Partners with a value</th></tr></thead>
<tbody>
{%- for f in page.funnel %}
<tr data-kpi="{{ f.kpi.name }}"><td title="{{ f.kpi.meaning }}">{{ f.kpi.label }}
{%- if f.lower_is_better %}<span class="lower">lower is better</span>{% endif %}</td>
<td class="num median">{{ f.median_text }}</td><td class="num share">{{ f.share_text }}</td></tr>
{%- endfor %}
{%- for m in page.funnel_missing %}
<tr class="missing" data-object="{{ m.stream }}"><td>{{ m.labels }}</td>
<td class="note" colspan="2">{{ m.note }}</td></tr>
{%- endfor %}
</tbody></table>
{%- endif %}
<h3>Opportunities with no partner</h3>
<p class="note">Deals without a sourcing partner are counted under
<strong>{{ page.no_partner_name }}</strong> and are not scored.
{%- if page.unlisted_count %} Another {{ page.unlisted_count }} opportunities name a partner
that is not among the partner accounts; they are not scored either.{% endif %}</p>
<div class="tiles" id="no-partner">
{%- for tile in page.no_partner %}
<div class="tile" data-key="{{ tile.key }}"><div class="value">{{ tile.value }}</div>
<div class="label">{{ tile.label }}</div></div>
{%- endfor %}
</div>
<div class="grid2">
<div>{{ chart(page.charts.distribution) }}</div>
<div>{{ chart(page.charts.tiers) }}</div>
</div>
{{ chart(page.charts.channels) }}
</section>
{%- if page.quality %}

<section id="data-quality">
<h2>Data quality</h2>
{%- set q = page.quality %}
{%- if q.rows %}
<p class="note"><strong>{{ q.excluded }}</strong> records were left out of every KPI by
data-quality rules, as if the CRM did not hold them; {{ q.kept }} more broke a rule whose
policy is keep and were scored. Every one is listed in quality.csv beside this file.
Implausible amount bound: {{ q.bound }}.</p>
<table class="quality-rules" id="quality-rules">
<thead><tr><th>Rule</th><th>Catches</th><th class="num">Excluded</th><th class="num">Kept</th>
</tr></thead>
<tbody>
{%- for r in q.rules %}
<tr><td>{{ r.rule }}</td><td>{{ r.meaning }}</td><td class="num">{{ r.excluded }}</td>
<td class="num">{{ r.kept }}</td></tr>
{%- endfor %}
</tbody></table>
<h3>Records caught</h3>
<table class="quality-records" id="quality-records">
<thead><tr><th>Record</th><th>Partner</th><th>Rule</th><th>Value</th><th>Action</th>
<th>Where</th></tr></thead>
<tbody>
{%- for f in q.rows %}
<tr><td>{{ f.record_id }}</td><td>{{ f.partner }}</td><td>{{ f.rule }}</td>
<td>{{ f.value }}</td><td>{{ f.action }}</td><td>{{ f.where }}</td></tr>
{%- endfor %}
</tbody></table>
{%- if q.more %}
<p class="note">And {{ q.more }} more in quality.csv.</p>
{%- endif %}
{%- else %}
<p class="note" id="quality-clean">No record broke a data-quality rule (implausible amount
bound: {{ q.bound }}).</p>
{%- endif %}
</section>
{%- endif %}

<section id="trend">
<h2>Trend</h2>
{%- if page.trend %}
<p class="note">{{ page.trend.runs }} runs in the store, from {{ page.trend.first }}
to {{ page.trend.last }}. Each scorecard shows that partner's score run by run.</p>
{{ chart(page.trend.chart) }}
{%- if page.trend.movers %}
<h3>Largest moves since the previous run ({{ page.trend.previous }})</h3>
<table class="movers" id="movers">
<thead><tr><th>Partner</th><th class="num">Before</th><th class="num">Now</th>
<th class="num">Change</th><th>Tier</th></tr></thead>
<tbody>
{%- for m in page.trend.movers %}
<tr><td>{{ m.name }}<span class="id">{{ m.partner_id }}</span></td>
<td class="num">{{ m.before }}</td><td class="num">{{ m.now }}</td>
<td class="num">{{ m.change }}</td><td>{{ m.tiers }}</td></tr>
{%- endfor %}
</tbody></table>
{%- endif %}
{%- else %}
<p class="note" id="trend-note">{{ page.trend_note }}</p>
{%- endif %}
</section>

<section id="ranking">
<h2>Ranking</h2>
<p class="note">All {{ page.partner_count }} partners, best score first. Click a column to
sort; a name opens its scorecard. Drivers: the two score components that lift the score
most (▲) and the two that hold it down most (▼), with the partner's percentile among all
partners (p100 = best).</p>
<noscript><p class="note">The ranking and the scorecards are drawn by the page's script:
allow it, or read every partner in scores.csv beside this file.</p></noscript>
<input type="search" id="ranking-filter" placeholder="Filter by partner name or id"
 aria-label="Filter partners">
<select id="ranking-tier" aria-label="Filter by tier"><option value="">All tiers</option>
{%- for tier in page.tier_names %}<option value="{{ tier }}">{{ tier }}</option>{% endfor -%}
</select>
{%- if page.column_choice %}
<select id="ranking-column" aria-label="Add a KPI column"><option value="">Add a column…</option>
{%- for group in page.column_choice %}<optgroup label="{{ group.label }}">
{%- for column in group.columns %}<option value="{{ column.index }}">{{ column.label }}</option>
{%- endfor %}</optgroup>{% endfor -%}
</select>
{%- endif %}
<span class="muted"><span id="ranking-count">{{ page.partner_count }}</span> shown</span>
<div class="table-wrap" id="ranking-wrap">
<table id="ranking-table">
<thead><tr>
<th class="num" data-sort="rank">Rank</th><th data-sort="name">Partner</th>
<th class="num" data-sort="score">Score</th><th data-sort="tier">Tier</th>
<th>Top drivers</th>
{%- for column in page.key_columns %}
<th class="num" data-sort="kpi" data-kpi="{{ column.index }}" title="{{ column.meaning }}">
{{- column.label }}</th>
{%- endfor %}
</tr></thead>
<tbody></tbody>
</table>
</div>
<button type="button" id="ranking-more" hidden>Show more</button>
</section>

<section id="scorecards">
<h2>Scorecards</h2>
<p class="note" id="scorecard-note">{{ page.scorecard_note }}</p>
<button type="button" id="open-all">Open all</button>
<button type="button" id="close-all">Close all</button>
<div id="scorecard-list"></div>
</section>

<section id="how-to-read">
<h2>How to read this</h2>
<p>The <strong>score</strong> (0–100) is the weighted average of the partner's percentile
among all partners on {{ page.component_count }} components; a percentile of 100 means best
of all partners. Small samples are pulled toward the portfolio's rates before ranking
(prior strength {{ page.prior_strength }} deals), so one lucky deal does not make a top
partner. Tiers: {{ page.tier_rules }}. The KPI bars in each scorecard run from the lowest to
the highest partner value (including 0); the black tick is the <strong>portfolio median</strong>
(the middle partner, not the average, so one very large partner does not move it); green
means better than the median, red worse.</p>
<h3>Components and weights</h3>
<ul id="weights">
{%- for item in page.weights %}<li>{{ item.label }}: weight {{ item.weight }}</li>{% endfor %}
</ul>
<h3>KPIs</h3>
<dl class="glossary">
{%- for item in page.glossary %}
<dt>{{ item.label }} <code>{{ item.name }}</code></dt>
<dd>{{ item.meaning }}{% if item.null_when %} Empty when {{ item.null_when }}.{% endif %}
{%- if item.reads %} Reads the CRM's {{ item.reads }}.{% endif %}</dd>
{%- endfor %}
</dl>
<h3>Channel groups</h3>
<dl class="glossary" id="channel-groups">
{%- for item in page.channel_groups %}
<dt>{{ item.label }} <code>{{ item.name }}</code></dt><dd>{{ item.meaning }}</dd>
{%- endfor %}
</dl>
</section>
</main>
<footer>Written by partner-kpi. This page is self-contained: it needs no network, and its
charts are drawn with plotly.js {{ plotly_version }}, embedded in the file.</footer>
<script type="application/json" id="report-data">{{ data }}</script>
<script>{{ script }}</script>
<script>{{ plotly_js }}</script>
</body>
</html>
"""
