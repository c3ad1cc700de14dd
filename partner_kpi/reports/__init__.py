"""Report writers: the files an audit leaves behind."""

from partner_kpi.reports.tables import CSV_COLUMNS, write_scores_csv, write_scores_json

__all__ = ["CSV_COLUMNS", "write_scores_csv", "write_scores_json"]
