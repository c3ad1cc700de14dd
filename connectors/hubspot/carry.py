"""The stage-change carry: one pass over the deals feeds two streams.

The stage changes derived while reading opportunities are kept (as Arrow
batches, spilled to a temporary file past ``CARRY_MEMORY_BYTES``) and served
to ``fetch_stage_changes`` for the same window, so one pass over the deals
feeds both streams at any size.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence

import pyarrow as pa

from core.connector import Cursor

#: Bytes of stage changes an opportunities read keeps in memory for the stage-change
#: read (about 40 each) before spilling them to a temporary file.
CARRY_MEMORY_BYTES = 16 * 1024 * 1024

#: A stage visit: (stage id, entered at in epoch ms).
Visit = tuple[str, int]

_CARRY_SCHEMA = pa.schema(
    [("deal_id", pa.string()), ("entered_ms", pa.int64()), ("stage_id", pa.string())]
)


class Carry:
    """Stage visits an opportunities read derived, kept for the stage-change read.

    One Arrow record batch per page, in a temporary file that stays in memory
    up to ``CARRY_MEMORY_BYTES`` and spills to disk past it: one listing of the
    deals feeds both streams however many deals there are, in bounded memory.
    """

    def __init__(self, start_ms: int | None, mid_listing: bool = False) -> None:
        self.start_ms = start_ms
        #: filled by a full read continued mid-listing: it holds only the deals after that point
        self.mid_listing = mid_listing
        self.complete = False
        self._file = tempfile.SpooledTemporaryFile(max_size=CARRY_MEMORY_BYTES)  # noqa: SIM115
        self._writer = pa.ipc.new_stream(self._file, _CARRY_SCHEMA)
        self._cursors: list[Cursor | None] = []

    def add(self, visits: Mapping[str, Sequence[Visit]], cursor: Cursor | None) -> None:
        rows = [(deal_id, ms, stage_id) for deal_id, vs in visits.items() for stage_id, ms in vs]
        columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[], [], []]
        self._writer.write_batch(pa.record_batch(columns, schema=_CARRY_SCHEMA))
        self._cursors.append(cursor)

    def finish(self) -> None:
        """The read that filled it reached its end: it now covers every deal of its window."""
        self._writer.close()
        self.complete = True

    def serves(self, start_ms: int | None) -> bool:
        """Whether the read that filled it covered every deal a read from ``start_ms`` would."""
        if not self.complete or self.mid_listing:
            return False
        return self.start_ms is None or (start_ms is not None and start_ms >= self.start_ms)

    def pages(self) -> Iterator[tuple[list[tuple[str, int, str]], Cursor | None]]:
        """The carried visits, page by page as they were added, then the file is freed."""
        try:
            self._file.seek(0)
            reader = pa.ipc.open_stream(self._file)
            for batch, cursor in zip(reader, self._cursors, strict=True):
                columns = batch.to_pydict()  # in schema order: deal, ms, stage
                yield list(zip(*columns.values(), strict=True)), cursor
        finally:
            self.close()

    @property
    def on_disk(self) -> bool:
        """Whether the carry outgrew memory and went to its temporary file."""
        return bool(getattr(self._file, "_rolled", False))

    def close(self) -> None:
        self._file.close()
