"""Report writers: the files an audit leaves behind."""

from partner_kpi.reports.tables import (
    QUALITY_COLUMNS,
    csv_columns,
    write_quality_csv,
    write_scores_csv,
    write_scores_json,
)

__all__ = [
    "QUALITY_COLUMNS",
    "csv_columns",
    "write_quality_csv",
    "write_scores_csv",
    "write_scores_json",
]
