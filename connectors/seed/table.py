"""One seed CSV as a Polars frame of strings, and the line of the file each row is on.

Polars reads the file in native code into columns; nothing is typed here (every
cell is a string, an empty cell ""), so that the mapping decides what a value
means and can name the row of a value it cannot read. ``ROW`` numbers the rows
as the file holds them (a blank line is a row, then dropped, as csv.DictReader
drops it); ``line_numbers`` turns those numbers into the lines a user sees.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from core.errors import SeedFormatError

#: the column holding each row's place among the file's rows (0 is the line after the header)
ROW = "__row"


def read_table(path: Path, required: Iterable[str]) -> pl.DataFrame:
    """The rows of one seed CSV (column names stripped, empty cells ""), with ``ROW``;
    a missing file, a missing column or a file that is no CSV names the file."""
    if not path.is_file():
        raise SeedFormatError(f"{path}: file not found (a seed folder needs it)")
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except pl.exceptions.NoDataError:
        frame = pl.DataFrame()
    except pl.exceptions.ComputeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SeedFormatError(f"{path}: not a CSV file a seed can read ({reason})") from None
    frame = frame.rename({name: name.strip() for name in frame.columns})
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise SeedFormatError(
            f"{path}: missing column {', '.join(repr(c) for c in missing)} "
            f"(found: {', '.join(frame.columns) or 'no header'})"
        )
    columns = [name for name in frame.columns if name]
    frame = frame.select(columns).with_row_index(ROW)
    if not columns:
        return frame.clear()
    # a blank line is a row of nulls, so a file whose first column has none has no blank line
    # (most files): the filter and the fills are paid only by the columns that need them
    if frame[columns[0]].null_count():
        frame = frame.filter(~pl.all_horizontal(pl.col(columns).is_null()))
    holey = [name for name in columns if frame[name].null_count()]
    return frame.with_columns(pl.col(holey).fill_null("")) if holey else frame


def line_numbers(path: Path, rows: Iterable[int]) -> dict[int, int]:
    """The line of ``path`` each of ``rows`` (``ROW`` values) ends on.

    Without a quote in the file no value spans lines, so a row's line is its place
    plus the header's; otherwise the file is read again with the csv module, which
    counts the lines a quoted value spans.
    """
    wanted = set(rows)
    if not wanted:
        return {}
    with path.open("rb") as handle:
        quoted = any(b'"' in chunk for chunk in iter(lambda: handle.read(1 << 20), b""))
    if not quoted:
        return {row: row + 2 for row in wanted}
    lines: dict[int, int] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row, _cells in enumerate(reader):
            if row in wanted:
                lines[row] = reader.line_num
                if len(lines) == len(wanted):
                    break
    return lines
