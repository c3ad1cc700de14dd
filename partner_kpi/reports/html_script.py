"""The report page's own script: the ranked table and the scorecards, built from the
data block (``partner_data``), and every chart drawn as it nears the screen.

It runs before plotly.js (which follows it in the page), so the table is up before the
browser has read plotly.js, and charts wait until plotly.js has run. The table shows a
page of rows at a time (more on scrolling to its end or on "Show more"), so a page of
50,000 partners opens about as fast as one of 50; search, the tier filter, sorting and
the added KPI column work on the data, not on DOM rows. A scorecard, and its charts, is
built only when it is opened; its KPIs against the median come in two tables, the
opportunity KPIs and the funnel, customers and service ones (``kpi.funnel``), with one
line for each object the CRM lacks (``data.missing``). Every string from the data goes
into the page as text (``textContent``, attributes, CSS custom properties), never as HTML.
Its hash is in the page's Content-Security-Policy, which is computed from this constant.
"""

from __future__ import annotations

SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var P = data.partners;
  var count = P.id.length;
  var CHUNK = 100;
  var TITLES = {components: "Score components", channels: "Channel mix",
    stages: "Days in stage", trend: "Score run by run"};

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function add(parent) {
    for (var a = 1; a < arguments.length; a += 1) {
      var child = arguments[a];
      parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return parent;
  }
  function copy(value) { return JSON.parse(JSON.stringify(value)); }

  // charts: drawn when they near the screen (plotly cannot size a hidden chart, and
  // drawing only what is looked at keeps a long page quick)
  function draw(holder) {
    if (holder.getAttribute("data-drawn")) { return; }
    holder.setAttribute("data-drawn", "1");
    var spec = holder.spec || data.overview[holder.getAttribute("data-chart")];
    Plotly.newPlot(holder, spec.data, spec.layout, spec.config);
  }
  var observer = null;
  if ("IntersectionObserver" in window) {
    observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          draw(entry.target);
        }
      });
    }, { rootMargin: "400px 0px" });
  }
  // plotly.js comes after this script in the page, so the table is up before the
  // browser has even read plotly.js; charts wait for it (DOMContentLoaded)
  var waiting = [];
  function watch(holder) {
    if (waiting) { waiting.push(holder); } else if (observer) { observer.observe(holder); } else {
      draw(holder);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var held = waiting;
    waiting = null;
    held.forEach(watch);
  });
  document.querySelectorAll(".chart[data-chart]").forEach(watch);

  // words shared by the table and the scorecards
  function drivers(i, which, label) {
    return P[which][i].map(function (c) {
      return data.components[c][label] + " (p" + P.pct[i][c] + ")";
    }).join(", ");
  }
  function driversText(i) {
    return ["strong: " + drivers(i, "strong", 0), "weak: " + drivers(i, "weak", 0)]
      .concat(P.notes[i]).join("; ");
  }
  // a KPI's text for partner i: P.text[k] is 0 when every text is the value as written
  function kpiText(k, i) {
    return P.text[k] === 0 ? String(P.value[k][i]) : P.text[k][i];
  }
  function badge(t) {
    var node = make("span", "badge", data.tiers[t][0]);
    node.style.setProperty("--tier", data.tiers[t][1]);
    return node;
  }

  // the ranked table
  var table = document.getElementById("ranking-table");
  var body = table.tBodies[0];
  var filter = document.getElementById("ranking-filter");
  var tierFilter = document.getElementById("ranking-tier");
  var counter = document.getElementById("ranking-count");
  var more = document.getElementById("ranking-more");
  var wrap = document.getElementById("ranking-wrap");
  var searchText = P.name.map(function (name, i) { return (name + " " + P.id[i]).toLowerCase(); });
  var everyone = P.id.map(function (_, i) { return i; });
  var order = everyone;
  var shown = order;
  var rowsDrawn = 0;
  var extra = -1;  // the KPI of the column added from the menu (-1: none)

  function row(i) {
    var tr = make("tr");
    tr.setAttribute("data-partner-id", P.id[i]);
    var link = make("a", "", P.name[i]);
    link.setAttribute("href", "#partner-" + (i + 1));
    var cues = make("td", "drivers");
    cues.title = driversText(i);
    add(cues, make("span", "up", "\\u25b2 " + drivers(i, "strong", 2)), make("br"),
      make("span", "down", "\\u25bc " + drivers(i, "weak", 2)));
    add(tr, make("td", "num", String(P.rank[i])),
      add(make("td", "partner"), link, make("span", "id", P.id[i])),
      make("td", "num score", P.score[i]), add(make("td"), badge(P.tier[i])), cues);
    data.key.forEach(function (k) { tr.appendChild(make("td", "num", kpiText(k, i))); });
    if (extra >= 0) { tr.appendChild(make("td", "num added", kpiText(extra, i))); }
    return tr;
  }
  function showMore() {
    var end = Math.min(shown.length, rowsDrawn + CHUNK);
    var rows = document.createDocumentFragment();
    for (; rowsDrawn < end; rowsDrawn += 1) { rows.appendChild(row(shown[rowsDrawn])); }
    body.appendChild(rows);
    var left = shown.length - rowsDrawn;
    more.hidden = left === 0;
    more.textContent = "Show " + Math.min(left, CHUNK) + " more (" + left + " not shown)";
  }
  function refresh() {
    var query = filter.value.trim().toLowerCase();
    var tier = tierFilter.value;
    shown = order.filter(function (i) {
      return (!query || searchText[i].indexOf(query) !== -1) &&
        (!tier || data.tiers[P.tier[i]][0] === tier);
    });
    counter.textContent = String(shown.length);
    body.textContent = "";
    rowsDrawn = 0;
    showMore();
  }
  filter.addEventListener("input", refresh);
  tierFilter.addEventListener("change", refresh);
  more.addEventListener("click", showMore);
  wrap.addEventListener("scroll", function () {
    if (!more.hidden && wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 200) {
      showMore();
    }
  });

  var collator = new Intl.Collator();
  function sortKeys(th) {
    var kind = th.getAttribute("data-sort");
    if (kind === "rank") { return P.rank; }
    if (kind === "score") { return P.rank.map(function (r) { return -r; }); }
    if (kind === "tier") { return P.tier.map(function (t) { return -t; }); }
    var k = Number(th.getAttribute("data-kpi"));
    return P.value[k].map(function (value) { return value === null ? -Infinity : value; });
  }
  // one listener on the head, so the added column sorts like the others
  table.tHead.addEventListener("click", function (event) {
    var th = event.target.closest("th[data-sort]");
    if (!th) { return; }
    var descending = th.getAttribute("aria-sort") !== "descending";
    table.querySelectorAll("th[aria-sort]").forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var compare;
    if (th.getAttribute("data-sort") === "name") {
      compare = function (a, b) { return collator.compare(P.name[a], P.name[b]); };
    } else {
      var keys = sortKeys(th);
      compare = function (a, b) { return keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0; };
    }
    order = everyone.slice().sort(function (a, b) {
      var found = compare(a, b);
      return (descending ? -found : found) || a - b;
    });
    refresh();
  });

  // any other KPI as one more column, from the menu
  var columnChoice = document.getElementById("ranking-column");
  if (columnChoice) {
    columnChoice.addEventListener("change", function () {
      var head = table.tHead.rows[0];
      var old = head.querySelector("th.added");
      if (old) { head.removeChild(old); }
      extra = columnChoice.value === "" ? -1 : Number(columnChoice.value);
      if (extra >= 0) {
        var kpi = data.kpis[extra];
        var th = make("th", "num added", kpi.label);
        th.setAttribute("data-sort", "kpi");
        th.setAttribute("data-kpi", String(extra));
        th.title = kpi.meaning;
        head.appendChild(th);
      }
      refresh();
    });
  }

  // a scorecard's charts: the page's templates with this partner's arrays
  function componentsSpec(i) {
    var spec = copy(data.charts.components);
    var trace = spec.data[0];
    trace.x = []; trace.text = []; trace.marker.color = [];
    for (var c = data.components.length - 1; c >= 0; c -= 1) {  // the first at the bottom
      trace.x.push(P.pct[i][c]);
      trace.text.push("p" + P.pct[i][c]);
      trace.marker.color.push(P.strong[i].indexOf(c) !== -1 ? data.colours.strong
        : P.weak[i].indexOf(c) !== -1 ? data.colours.weak : data.colours.neutral);
    }
    return spec;
  }
  function channelsSpec(i) {
    var spec = copy(data.charts.channels);
    spec.data[0].y = P.mix[i][0];
    spec.data[0].hovertext = P.mix[i][1].map(function (f) {
      if (f === 0) { f = data.mix_empty; }
      return f ? "won " + f[0] + " in " + f[1] + " deal(s), close rate " + f[2] : "no deals";
    });
    return spec;
  }
  function stagesSpec(i) {
    var spec = copy(data.charts.stages);
    var days = P.days[i];
    var stages = days.map(function (d) { return data.stages[d[0]]; });
    spec.data[0].x = stages;
    spec.data[0].y = days.map(function (d) { return d[1]; });
    spec.data[1].x = stages.slice();
    spec.data[1].y = days.map(function (d) { return data.stage_medians[d[0]]; });
    return spec;
  }
  function trendSpec(i) {
    var spec = copy(data.charts.trend);
    var points = P.trend[i];
    var trace = spec.data[0];
    trace.x = points.map(function (p) { return data.runs[p[0]]; });
    trace.y = points.map(function (p) { return p[1]; });
    trace.customdata = points.map(function (p) { return data.tiers[p[2]][2]; });
    trace.marker.color = points.map(function (p) { return data.tiers[p[2]][1]; });
    return spec;
  }

  function round2(value) { return Math.round(value * 100) / 100; }
  function position(value, scale) {
    var span = scale[1] - scale[0];
    return span > 0 ? round2(100 * (value - scale[0]) / span) : 0;
  }
  function kpiRow(i, k) {
    var kpi = data.kpis[k];
    var raw = P.value[k][i];
    var verdict = data.verdicts[P.verdict[k].charAt(i)];
    var value = make("td", "num value", kpiText(k, i));
    var bar = make("td", "bar");
    var track = make("div", "track");
    track.title = verdict[1];
    if (raw !== null) {
      var zero = position(0, kpi.scale);
      var mine = position(raw, kpi.scale);
      var fill = make("div", "fill " + verdict[0]);
      fill.style.left = Math.min(zero, mine) + "%";
      fill.style.width = round2(Math.abs(mine - zero)) + "%";
      track.appendChild(fill);
    } else if (kpi.empty) {
      value.title = kpi.empty;
      bar.appendChild(make("span", "empty", kpi.empty));
    }
    if (kpi.tick !== null) {
      var tick = make("div", "tick");
      tick.style.left = kpi.tick + "%";
      track.appendChild(tick);
    }
    var label = add(make("td"), kpi.label);
    if (kpi.lower) { label.appendChild(make("span", "lower", "lower is better")); }
    var tr = add(make("tr"), add(label, make("span", "meaning", kpi.meaning)),
      value, make("td", "num median", kpi.median), add(bar, track));
    tr.setAttribute("data-kpi", kpi.name);
    return tr;
  }
  function missingRow(missing) {
    var tr = add(make("tr", "missing"), make("td", "", missing[2].map(function (k) {
      return data.kpis[k].label;
    }).join(", ")));
    var note = make("td", "note", missing[1]);
    note.colSpan = 3;
    tr.appendChild(note);
    tr.setAttribute("data-object", missing[0]);
    return tr;
  }
  var absent = {};
  data.missing.forEach(function (m) { m[2].forEach(function (k) { absent[k] = true; }); });
  var opportunityKpis = [];
  var funnelKpis = [];
  data.kpis.forEach(function (kpi, k) {
    if (!kpi.funnel) { opportunityKpis.push(k); } else if (!absent[k]) { funnelKpis.push(k); }
  });
  function kpiTable(i, kpis, missing) {
    var rows = make("tbody");
    kpis.forEach(function (k) { rows.appendChild(kpiRow(i, k)); });
    missing.forEach(function (m) { rows.appendChild(missingRow(m)); });
    var head = add(make("tr"), make("th", "", "KPI"), make("th", "num", "Partner"),
      make("th", "num", "Portfolio median"), make("th", "", "Partner against the median"));
    return add(make("table", "kpis"), add(make("thead"), head), rows);
  }
  function funnelPart(i) {
    var part = make("div", "funnel-kpis");
    if (!funnelKpis.length && !data.missing.length) { return part; }
    return add(part, make("h3", "", "Funnel, customers and service"),
      kpiTable(i, funnelKpis, data.missing));
  }
  function chartCell(i, kind, spec, note, holders) {
    var cell = make("div");
    if (!spec) { return add(cell, make("p", kind === "trend" ? "note trend-note" : "note", note)); }
    var holder = make("div", "chart");
    holder.id = "partner-" + (i + 1) + "-" + kind;
    holder.setAttribute("role", "img");
    holder.setAttribute("aria-label", TITLES[kind]);
    holder.spec = spec;
    holders.push(holder);
    return add(cell, holder);
  }
  function fillCard(details, i) {
    if (details.querySelector(".body")) { return; }
    var words = add(make("p"), make("strong", "", "Strongest:"),
      " " + drivers(i, "strong", 1) + ".", make("br"), make("strong", "", "Weakest:"),
      " " + drivers(i, "weak", 1) + ".");
    if (P.top[i] >= 0) {
      add(words, make("br"), make("strong", "", "Top channel:"), " " + data.tops[P.top[i]] + ".");
    }
    var holders = [];
    var grid = add(make("div", "grid2"),
      chartCell(i, "components", componentsSpec(i), "", holders),
      chartCell(i, "channels", P.mix[i] && channelsSpec(i), data.notes.no_mix, holders),
      chartCell(i, "stages", P.days[i] && stagesSpec(i), data.notes.no_stages, holders),
      chartCell(i, "trend", P.trend[i] && trendSpec(i), data.notes.trend, holders));
    details.appendChild(add(make("div", "body"), words, kpiTable(i, opportunityKpis, []),
      funnelPart(i), grid));
    holders.forEach(watch);
  }

  // the scorecards: the best data.listed listed collapsed, any other added when opened
  var list = document.getElementById("scorecard-list");
  var cards = {};
  function card(i) {
    if (cards[i]) { return cards[i]; }
    var details = make("details", "scorecard");
    details.id = "partner-" + (i + 1);
    details.style.setProperty("--tier", data.tiers[P.tier[i]][1]);
    details.setAttribute("data-partner-id", P.id[i]);
    details.appendChild(add(make("summary"), make("span", "rank", "#" + P.rank[i]), " ",
      make("strong", "name", P.name[i]), " ", make("span", "score", P.score[i]), " ",
      badge(P.tier[i]), " ", make("span", "muted", P.id[i])));
    details.addEventListener("toggle", function () { if (details.open) { fillCard(details, i); } });
    cards[i] = details;
    return details;
  }
  var listed = document.createDocumentFragment();
  for (var i = 0; i < data.listed; i += 1) { listed.appendChild(card(i)); }
  list.appendChild(listed);

  function openTarget() {
    var match = /^#partner-([0-9]+)$/.exec(location.hash);
    var i = match ? Number(match[1]) - 1 : -1;
    if (i < 0 || i >= count) { return; }
    var details = card(i);
    if (!details.parentNode) { list.insertBefore(details, list.firstChild); }
    details.open = true;
    fillCard(details, i);
    details.scrollIntoView();
  }
  window.addEventListener("hashchange", openTarget);
  body.addEventListener("click", function (event) {
    var link = event.target.closest("a");
    if (link && link.getAttribute("href") === location.hash) { openTarget(); }
  });
  function setAll(open) {
    list.querySelectorAll("details.scorecard").forEach(function (d) { d.open = open; });
  }
  document.getElementById("open-all").addEventListener("click", function () { setAll(true); });
  document.getElementById("close-all").addEventListener("click", function () { setAll(false); });

  refresh();
  openTarget();
})();
"""
