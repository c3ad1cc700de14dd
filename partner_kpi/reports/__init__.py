"""Report writers: the files an audit leaves behind."""

from partner_kpi.reports.tables import csv_columns, write_scores_csv, write_scores_json

__all__ = ["csv_columns", "write_scores_csv", "write_scores_json"]
