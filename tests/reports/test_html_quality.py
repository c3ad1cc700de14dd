"""report.html's data-quality section: counts per rule, the first records, escaped, and no
script beyond the page's own two."""

from __future__ import annotations

from partner_kpi.reports.html import QUALITY_ROWS, render_report_html
from quality import Finding, QualityCheck
from tests.reports.page_tree import Node, parse
from tests.reports.report_data import HOSTILE_ID, SCRIPT_NAME, ReportInput

HOSTILE_RECORD = "<img src=x onerror=alert(7)>"
HOSTILE_VALUE = "</td><script>alert(8)</script>"


def _check(*findings: Finding) -> QualityCheck:
    return QualityCheck.of(findings, median_won=1000.0, amount_bound=1_000_000.0)


def _page(data: ReportInput, check: QualityCheck | None) -> tuple[str, Node]:
    text = render_report_html(data.result, **data.kwargs(), quality=check)
    return text, parse(text)


def test_the_section_counts_per_rule_and_lists_the_records(data: ReportInput) -> None:
    check = _check(
        Finding(HOSTILE_RECORD, HOSTILE_ID, "amount_implausible", HOSTILE_VALUE, "exclude",
                "seed/sales_pipeline.csv", 12),
        Finding("o2", "p1", "amount_negative", "-5.0", "exclude"),
        Finding("o3", "p1", "close_before_created", "closed 2017-01-01 before created 2017-02-01",
                "keep"),
    )  # fmt: skip
    text, page = _page(data, check)
    section = page.one("section", id="data-quality")
    assert "2 records were left out of every KPI" in " ".join(section.text().split())
    counts = [
        [td.text() for td in row.find_all("td")]
        for row in section.one("table", id="quality-rules").one("tbody").find_all("tr")
    ]
    assert [(c[0], c[2], c[3]) for c in counts] == [
        ("amount_negative", "1", "0"),
        ("amount_implausible", "1", "0"),
        ("close_before_created", "0", "1"),
    ]
    records = [
        [td.text() for td in row.find_all("td")]
        for row in section.one("table", id="quality-records").one("tbody").find_all("tr")
    ]
    # in rule order: amount_negative comes before amount_implausible
    assert records[0] == ["o2", "Acme Resellers", "amount_negative", "-5.0", "exclude", ""]
    assert records[1] == [HOSTILE_RECORD, SCRIPT_NAME, "amount_implausible", HOSTILE_VALUE,
                          "exclude", "seed/sales_pipeline.csv:12"]  # fmt: skip
    # escaped: shown as text, never as markup; still only the page's own two scripts
    assert HOSTILE_VALUE not in text and HOSTILE_RECORD not in text
    code = [s for s in page.find_all("script") if s.attrs.get("type") != "application/json"]
    assert len(code) == 2
    assert any(a.attrs.get("href") == "#data-quality" for a in page.find_all("a"))


def test_more_records_than_the_section_lists_point_to_quality_csv(data: ReportInput) -> None:
    many = [Finding(f"o{i:03}", "p1", "amount_negative", "-1.0", "exclude") for i in range(25)]
    _text, page = _page(data, _check(*many))
    section = page.one("section", id="data-quality")
    rows = section.one("table", id="quality-records").one("tbody").find_all("tr")
    assert len(rows) == QUALITY_ROWS == 20
    assert "And 5 more in quality.csv." in section.text()


def test_a_clean_run_says_so_and_no_check_means_no_section(data: ReportInput) -> None:
    _text, page = _page(data, _check())
    assert "No record broke a data-quality rule" in page.one("p", id="quality-clean").text()
    text, page = _page(data, None)
    assert 'id="data-quality"' not in text
