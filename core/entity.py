"""How a record type of the common schema is declared once, and what is derived from it.

A record type is a pydantic model: its fields, in order, are the entity's
columns, each with its type and nullability (``str | None`` may be null).
Marks in a field's annotation say the rest: ``Annotated[str, KEY]`` is the
field that tells records apart, ``Annotated[float, SCORED]`` a field the KPI
engine reads. ``Entity.of(Model)`` reads that declaration and derives the
Arrow layouts and the builder of Arrow tables that the store and the engine use.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from functools import cached_property
from operator import attrgetter
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel
from pydantic.fields import FieldInfo


class Mark(Enum):
    """What a field is besides its type, said in its annotation: ``Annotated[str, KEY]``."""

    #: tells the records apart: the store's primary key, the last of a page wins by it
    KEY = "key"
    #: read by the KPI engine: a column of the entity's scored layout
    SCORED = "scored"


KEY = Mark.KEY
SCORED = Mark.SCORED

# Python type → Arrow type. A datetime is kept as a naive UTC timestamp: pyarrow
# converts an aware one to UTC on the way in, so no session time zone ever shows.
# The lookup is by exact type, so a datetime never passes for the date it also is.
_ARROW_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    float: pa.float64(),
    int: pa.int32(),
    bool: pa.bool_(),
    datetime: pa.timestamp("us"),
    date: pa.date32(),
}

RecordT = TypeVar("RecordT", bound=BaseModel)


@dataclass(frozen=True)
class Column:
    """One field of an entity as a column: Arrow type, nullability, marks, allowed values."""

    name: str
    type: pa.DataType
    nullable: bool
    marks: frozenset[Mark]
    #: the values an enumerated field may take; empty when any value of its type may
    choices: tuple[str, ...] = ()

    @property
    def arrow_field(self) -> pa.Field:
        """The column as an Arrow field."""
        return pa.field(self.name, self.type, nullable=self.nullable)


def _column(name: str, info: FieldInfo) -> Column:
    annotation = info.annotation
    union = get_origin(annotation) in (Union, types.UnionType)
    members = get_args(annotation) if union else (annotation,)
    present = [member for member in members if member is not type(None)]
    if len(present) != 1:
        raise TypeError(f"field {name!r}: {annotation} is not one type or one type | None")
    (python_type,) = present
    marks = frozenset(m for m in info.metadata if isinstance(m, Mark))
    nullable = len(present) < len(members)
    if isinstance(python_type, type) and issubclass(python_type, StrEnum):
        choices = tuple(member.value for member in python_type)
        return Column(name, pa.string(), nullable, marks, choices)
    if python_type not in _ARROW_TYPES:
        raise TypeError(f"field {name!r}: no Arrow type for {python_type}")
    return Column(name, _ARROW_TYPES[python_type], nullable, marks)


@dataclass(frozen=True)
class Entity(Generic[RecordT]):
    """A record type and its columns, read off the model: build it with ``Entity.of``."""

    record: type[RecordT]
    columns: tuple[Column, ...]

    @classmethod
    def of(cls, record: type[RecordT]) -> Entity[RecordT]:
        """The entity the pydantic model ``record`` declares."""
        fields = record.model_fields.items()
        return cls(record, tuple(_column(name, info) for name, info in fields))

    @cached_property
    def label(self) -> str:
        """The record type in words, for messages: ``StageEvent`` is "stage event"."""
        return re.sub(r"(?<!^)(?=[A-Z])", " ", self.record.__name__).lower()

    @cached_property
    def key(self) -> tuple[str, ...]:
        """The fields marked ``KEY``: empty when records are not told apart."""
        return tuple(c.name for c in self.columns if KEY in c.marks)

    @cached_property
    def layout(self) -> pa.Schema:
        """Every column, in declaration order: how the record is kept whole."""
        return pa.schema([c.arrow_field for c in self.columns])

    @cached_property
    def scored_layout(self) -> pa.Schema:
        """The columns marked ``SCORED``, in declaration order: what the engine reads."""
        return pa.schema([c.arrow_field for c in self.columns if SCORED in c.marks])

    def last_per_key(self, records: Iterable[RecordT]) -> list[RecordT]:
        """The records with each key once, its last occurrence's values, in first-seen order."""
        key_of = attrgetter(*self.key)
        return list({key_of(record): record for record in records}.values())

    def to_arrow(self, records: Sequence[RecordT], layout: pa.Schema) -> pa.Table:
        """``records`` as a table of ``layout`` (``self.layout`` or ``self.scored_layout``).

        A column is built from a list of attribute values: an enum member is a
        ``str`` to pyarrow, so a record made by ``model_construct`` with a plain
        string fits as well.
        """
        arrays: list[Any] = [
            pa.array(list(map(attrgetter(f.name), records)), type=f.type) for f in layout
        ]
        return pa.Table.from_arrays(arrays, schema=layout)
