"""The table declarations and the data dictionary generated from them."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars._typing import PolarsDataType

from pipeline.model import Candidate, DigestEntry, FetchOutcome, Mismatch
from pipeline.parse import ENTRY_SCHEMA
from pipeline.store import MetadataStore
from pipeline.tables import (
    CANDIDATE,
    MISMATCH_KINDS,
    PARSED_ENTRY,
    PARSED_ENTRY_COLUMNS,
    TABLES,
    Column,
    Table,
    table,
    tables_markdown,
    type_name,
)
from pipeline.write import RECONCILED_ENTRY_COLUMNS, RunRecord, SchemaError, validate

DOCS_TABLES = Path(__file__).resolve().parent.parent / "docs" / "tables.md"


def test_docs_tables_md_is_generated_from_the_declarations():
    written = DOCS_TABLES.read_text(encoding="utf-8") if DOCS_TABLES.exists() else ""
    assert written == tables_markdown(), "docs/tables.md is out of date: run make docs"


def dictionary_sections() -> dict[str, str]:
    sections = tables_markdown().split("\n## ")[1:]
    return {section.split("\n", 1)[0]: section for section in sections}


def test_dictionary_gives_every_table_its_meaning_key_and_columns():
    sections = dictionary_sections()
    assert list(sections) == [t.name for t in TABLES]
    for t in TABLES:
        section = sections[t.name]
        assert t.meaning in section
        assert "Key: " + ", ".join(f"`{k}`" for k in t.key) in section
        for c in t.columns:
            nullable = "yes" if c.nullable else "no"
            assert f"| `{c.name}` | {type_name(c.dtype)} | {nullable} | {c.describe()} |" in section


def test_dictionary_names_the_tables_that_vary_by_run():
    assert "except `fetch_log` and `runs`, which record the runs" in tables_markdown()


@pytest.mark.parametrize(
    ("dtype", "name"),
    [
        (pl.String, "string"),
        (pl.Int32, "int32"),
        (pl.Datetime("us", "UTC"), "timestamp (UTC)"),
        (pl.List(pl.String), "list<string>"),
        (
            pl.List(pl.Struct({"id": pl.String, "ok": pl.Boolean})),
            "list<struct<id: string, ok: boolean>>",
        ),
    ],
)
def test_type_names_read_plainly(dtype, name):
    assert type_name(dtype) == name


def all_dtypes(dtype: PolarsDataType) -> list[PolarsDataType]:
    """`dtype` and every type nested in it."""
    if isinstance(dtype, pl.List):
        return [dtype, *all_dtypes(dtype.inner)]
    if isinstance(dtype, pl.Struct):
        return [dtype, *(d for f in dtype.fields for d in all_dtypes(f.dtype))]
    return [dtype]


def test_ids_are_strings_and_timestamps_are_utc():
    for t in TABLES:
        for c in t.columns:
            if c.name.endswith("arxiv_id") or c.name == "run_id":
                assert c.dtype == pl.String, f"{t.name}.{c.name}"
            for dtype in all_dtypes(c.dtype):
                if isinstance(dtype, pl.Datetime):
                    assert dtype == pl.Datetime("us", "UTC"), f"{t.name}.{c.name}"


def test_every_table_has_a_meaning_and_every_column_too():
    for t in TABLES:
        assert t.meaning.strip() and t.key
        for c in t.columns:
            assert c.meaning.endswith("."), f"{t.name}.{c.name}: say what it is, in a sentence"


@pytest.mark.parametrize(
    ("columns", "key", "message"),
    [
        ((Column("a", pl.String, "A."),), ("a",), "key column a must not be nullable"),
        ((Column("a", pl.String, "A.", nullable=False),), ("b",), "key column b is not declared"),
        (
            (Column("a", pl.String, "A.", nullable=False), Column("a", pl.Int32, "A again.")),
            ("a",),
            "duplicate column names",
        ),
    ],
)
def test_a_bad_declaration_fails_at_import(columns, key, message):
    with pytest.raises(ValueError, match=f"table t: {message}"):
        Table("t", "A table.", key=key, columns=columns)


def test_schema_follows_the_declared_order():
    declared = table("authors")
    assert declared.schema() == pl.Schema(
        {
            "arxiv_id": pl.String(),
            "position": pl.Int32(),
            "name": pl.String(),
            "affiliations": pl.List(pl.String),
        }
    )


def test_unknown_table_lists_the_known_ones():
    with pytest.raises(KeyError, match="no table 'paper'; tables are entries, papers, authors"):
        table("paper")


# --- one declaration per row shape: everything else derives from it, or is checked here ---

_PYTHON_TYPES: dict[object, pl.DataType] = {
    int: pl.Int32(),
    float: pl.Float64(),
    str: pl.String(),
    bool: pl.Boolean(),
    date: pl.Date(),
    datetime: pl.Datetime("us", "UTC"),
}


def polars_type(annotation: object) -> tuple[pl.DataType, bool]:
    """The column type a dataclass field's annotation stands for, and whether it may be None."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        return polars_type(args[0])[0], True
    if typing.get_origin(annotation) is typing.Literal:
        return pl.String(), False
    if typing.get_origin(annotation) is list:
        return pl.List(polars_type(args[0])[0]), False
    return _PYTHON_TYPES[annotation], False


def dataclass_columns(cls: type) -> dict[str, tuple[pl.DataType, bool]]:
    hints = typing.get_type_hints(cls)
    return {f.name: polars_type(hints[f.name]) for f in dataclasses.fields(cls)}


def declared_columns(declared: Table, names: list[str]) -> dict[str, tuple[PolarsDataType, bool]]:
    by_name = {c.name: c for c in declared.columns}
    return {n: (by_name[n].dtype, by_name[n].nullable) for n in names if n in by_name}


def test_the_runs_row_is_the_runs_table():
    assert dataclass_columns(RunRecord) == {
        c.name: (c.dtype, c.nullable) for c in table("runs").columns
    }


def test_a_digest_entry_is_a_row_of_the_parsed_entries_frame():
    """DigestEntry, the parse frame (ENTRY_SCHEMA) and the entries table: a field added to
    DigestEntry without its column (or the reverse) fails here."""
    assert list(PARSED_ENTRY_COLUMNS) == [f.name for f in dataclasses.fields(DigestEntry)]
    assert dict(PARSED_ENTRY.schema()) == ENTRY_SCHEMA
    entry = dataclass_columns(DigestEntry)
    assert {name: dtype for name, (dtype, _) in entry.items()} == dict(PARSED_ENTRY.schema())


def test_the_entries_table_is_the_parsed_columns_and_the_reconciled_ones():
    parsed = list(PARSED_ENTRY_COLUMNS.values())
    assert sorted(table("entries").schema().names()) == sorted(
        parsed + list(RECONCILED_ENTRY_COLUMNS)
    )


def test_mismatch_candidate_and_outcome_rows_are_their_tables_columns():
    mismatch = dataclass_columns(Mismatch)
    assert mismatch == declared_columns(table("mismatches"), list(mismatch))
    assert set(table("mismatches").schema()) - set(mismatch) == {"seq"}
    assert [f.name for f in dataclasses.fields(Candidate)] == [f.name for f in CANDIDATE.fields]
    outcome = dataclass_columns(FetchOutcome)
    assert {n: d for n, (d, _) in outcome.items()} == {
        n: d for n, (d, _) in declared_columns(table("fetch_log"), list(outcome)).items()
    }


def test_the_stores_fetch_log_is_declared_as_the_table(tmp_path: Path) -> None:
    with MetadataStore(tmp_path / "metadata.sqlite") as store:
        rows = store.db.execute("PRAGMA table_info(fetch_log)").fetchall()
    assert [(name, bool(notnull)) for _, name, _, notnull, _, _ in rows] == [
        (c.name, not c.nullable) for c in table("fetch_log").columns
    ]


def test_every_listed_value_is_named_in_the_meaning():
    listed = [(t, c) for t in TABLES for c in t.columns if c.allowed is not None]
    assert {(t.name, c.name) for t, c in listed} >= {
        ("entries", "resolution"),
        ("entries", "id_status"),
        ("entries", "title_source"),
        ("mismatches", "kind"),
        ("fetch_log", "outcome"),
        ("runs", "status"),
    }
    for t, c in listed:
        for value in c.allowed or ():
            assert re.search(rf"(?<![\w]){re.escape(value)}(?![\w])", c.describe()), (
                f"{t.name}.{c.name}: {value} is not named in the data dictionary"
            )
    assert set(table("mismatches").columns[3].allowed or ()) == set(MISMATCH_KINDS)
    assert "version_unknown" in tables_markdown()


def test_a_value_outside_the_list_is_refused():
    frame = pl.DataFrame(
        {"problem_id": [1], "stage": ["guess"], "source": ["x"], "line": [None], "kind": ["k"]}
        | {"message": ["m"]},
        schema=table("problems").schema(),
    )
    with pytest.raises(SchemaError, match="column stage: value 'guess' is not one of"):
        validate("problems", frame)
