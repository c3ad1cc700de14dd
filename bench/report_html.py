"""Benchmark of report.html at thousands of partners: the time to write it, its size, and
how fast headless Chromium shows its table and opens a scorecard.

For each partner count, a data set from bench/kpi_engine.py's generator (20
opportunities a partner by default) is scored by the engine. That generator makes no
leads, quotes, cases, calls or line items, so every KPI that reads them would be null
for every partner (and the page would say "no lead data in the CRM" instead of sending
values): such KPIs get a made-up value (seeded; a tenth of partners null) so the page is
measured with every KPI of the catalogue filled. Then:

* ``write_report_html``: best of ``--repeat`` writes, and the page's size beyond plotly.js;
* in Chromium (/usr/bin/chromium through Playwright, as the browser tests use it), best
  of ``--visits`` fresh visits, from navigation start by the page's own clock: the
  table drawn, plotly.js run (charts can draw); and from clicking the last partner's
  name (found with the search box) to its scorecard's first chart drawn (scrolled to: a
  chart is drawn as it nears the screen, and the KPI tables above it are taller than
  the screen).

Targets (reported, never asserted): at 5,000 partners the page ≤ 3 MB beyond plotly.js
and its table visible ≤ 2 s.

Run from the repository root::

    python -m bench.report_html                         # 5,000 and 50,000 partners
    python -m bench.report_html --partners 2000 --visits 1
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from bench.kpi_engine import generate, run_engine
from kpi_engine import KpiValue, ScoringResult, ScoringSettings
from partner_kpi.reports.funnel import funnel_kpis
from partner_kpi.reports.html import write_report_html

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
MB = 1_000_000


def with_funnel_values(result: ScoringResult, seed: int) -> tuple[ScoringResult, list[str]]:
    """``result`` with a made-up value for every KPI that reads an activity object and is
    null for every partner (the generator has none of that object): an integer 0..400 for
    a whole-number kind, else a float 0..50 at full precision, as a ratio comes out;
    about a tenth of partners null. Also the names of the KPIs filled."""
    empty = [
        kpi
        for kpi in funnel_kpis()
        if all(p.kpis.values.get(kpi.name) is None for p in result.partners)
    ]
    rng = random.Random(seed)

    def made_up(whole: bool) -> KpiValue:
        if rng.random() < 0.1:
            return None
        return rng.randint(0, 400) if whole else rng.uniform(0, 50)

    partners = tuple(
        p.model_copy(
            update={
                "kpis": p.kpis.model_copy(
                    update={
                        "values": {
                            **p.kpis.values,
                            **{k.name: made_up(k.kind.decimals == 0) for k in empty},
                        }
                    }
                )
            }
        )
        for p in result.partners
    )
    return result.model_copy(update={"partners": partners}), [k.name for k in empty]


def write_timed(result: ScoringResult, path: Path, repeat: int) -> float:
    """Best wall time of ``repeat`` writes of report.html."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        write_report_html(result, path, settings=ScoringSettings(), source={"kind": "bench"})
        best = min(best, time.perf_counter() - start)
    return best


#: Runs in the page before its own scripts: notes when the first table row is in the
#: document and when the next frame after it starts (the table is painted in that frame),
#: in milliseconds from navigation start, as the page's clock measures them.
FIRST_ROW_CLOCK = """
window.__bench = {};
new MutationObserver(function (records, observer) {
  if (document.querySelector("#ranking-table tbody tr")) {
    observer.disconnect();
    window.__bench.row = performance.now();
    requestAnimationFrame(function () { window.__bench.frame = performance.now(); });
  }
}).observe(document, {childList: true, subtree: true});
document.addEventListener("DOMContentLoaded", function () {
  window.__bench.ready = performance.now();
});
"""


def browser_timed(path: Path, last_partner: str, visits: int) -> dict[str, float]:
    """Best of ``visits`` fresh visits, in seconds: the table drawn (the frame after its
    first row), plotly.js run (DOMContentLoaded: charts can draw), and from clicking the
    last partner's name (found with the search box) to its scorecard's first chart."""
    from playwright.sync_api import sync_playwright

    best = {"table": float("inf"), "charts": float("inf"), "scorecard": float("inf")}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        for _ in range(visits):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.add_init_script(FIRST_ROW_CLOCK)
            page.goto(path.as_uri(), wait_until="load")
            clock = page.evaluate("() => window.__bench")
            best["table"] = min(best["table"], clock["frame"] / 1000)
            best["charts"] = min(best["charts"], clock["ready"] / 1000)
            page.fill("#ranking-filter", last_partner.lower())
            link = page.locator(f"#ranking-table tbody tr[data-partner-id='{last_partner}'] a")
            start = time.perf_counter()
            link.click()
            chart = page.locator("details.scorecard[open] .chart").first
            chart.scroll_into_view_if_needed()
            chart.locator(".main-svg").first.wait_for()
            best["scorecard"] = min(best["scorecard"], time.perf_counter() - start)
            context.close()
        browser.close()
    return best


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--opportunities-per-partner", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="writes timed (best taken)")
    parser.add_argument("--visits", type=int, default=3, help="browser visits (best taken)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plotly_bytes = len(get_plotlyjs().encode())
    print(f"plotly.js inlined once: {plotly_bytes / MB:.2f} MB")
    with tempfile.TemporaryDirectory() as folder:
        for partners in args.partners:
            dataset = generate(partners * args.opportunities_per_partner, partners, seed=7)
            result, filled = with_funnel_values(run_engine(dataset, ScoringSettings()), seed=7)
            if filled:
                print(f"made-up values for {len(filled)} KPIs: {', '.join(filled)}")
            path = Path(folder) / f"report-{partners}.html"
            seconds = write_timed(result, path, args.repeat)
            beyond = (path.stat().st_size - plotly_bytes) / MB
            line = (f"{len(result.partners):>7,} partners: write {seconds:.2f} s, "
                    f"{beyond:.2f} MB beyond plotly.js")  # fmt: skip
            if CHROMIUM.exists():
                shown = browser_timed(path, result.partners[-1].partner_id, args.visits)
                line += (f"; table drawn {shown['table']:.2f} s, charts ready "
                         f"{shown['charts']:.2f} s, "
                         f"scorecard opened {shown['scorecard']:.2f} s")  # fmt: skip
            else:
                line += "; no Chromium at /usr/bin/chromium: browser timings skipped"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
