"""The table declarations and the data dictionary generated from them."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.tables import TABLES, Column, Table, table, tables_markdown, type_name

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


def all_dtypes(dtype: pl.DataType) -> list[pl.DataType]:
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
            "arxiv_id": pl.String,
            "position": pl.Int32,
            "name": pl.String,
            "affiliations": pl.List(pl.String),
        }
    )


def test_unknown_table_lists_the_known_ones():
    with pytest.raises(KeyError, match="no table 'paper'; tables are entries, papers, authors"):
        table("paper")
