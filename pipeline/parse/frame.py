"""Digest entries as a polars DataFrame with fixed column types."""

from __future__ import annotations

from operator import attrgetter

import polars as pl
import pyarrow as pa

from pipeline.model import ParsedDigest
from pipeline.tables import PARSED_ENTRY

# One column per DigestEntry field, in field order, typed as the entries table's column it
# becomes (pipeline.tables.PARSED_ENTRY), so that an empty frame has the same schema as a
# full one, and IDs stay strings (2503.02130).
ENTRY_SCHEMA: dict[str, pl.DataType] = dict(PARSED_ENTRY.schema())
# The list columns as Arrow types: polars builds a list column from Python lists at ~15 µs
# a row, and through one JSON array of all rows at ~1 ms a call (a frame per digest file
# makes thousands of calls); pyarrow converts the lists in C++ at a fraction of either.
_ARROW_LISTS: dict[str, pa.DataType] = {
    field.name: field.type
    for field in pl.DataFrame(schema=ENTRY_SCHEMA).to_arrow().schema
    if isinstance(ENTRY_SCHEMA[field.name], pl.List)
}
_FIELDS = attrgetter(*ENTRY_SCHEMA)  # every column's value of one entry, by one C call


def entries_frame(parsed: list[ParsedDigest]) -> pl.DataFrame:
    """One row per entry of every parsed digest, in file then position order."""
    rows = [_FIELDS(entry) for digest in parsed for entry in digest.entries]
    columns = list(zip(*rows, strict=True)) or [()] * len(ENTRY_SCHEMA)
    return pl.DataFrame(
        [
            _column(name, dtype, list(values))
            for (name, dtype), values in zip(ENTRY_SCHEMA.items(), columns, strict=True)
        ]
    )


def _column(name: str, dtype: pl.DataType, values: list[object]) -> pl.Series:
    if name in _ARROW_LISTS and values:
        return pl.Series(name, pa.array(values, type=_ARROW_LISTS[name]))
    return pl.Series(name, values, dtype=dtype)
