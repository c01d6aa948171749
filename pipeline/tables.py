"""The output tables, declared once: columns, types, key and meaning.

The Parquet schema (`Table.schema`), the data dictionary (`docs/tables.md`, from
`tables_markdown`) and the schema checks in `pipeline.write.validate` all come from
`TABLES`, so the code, the files and the documentation cannot drift apart.

Conventions every table follows: arXiv IDs are canonical, unversioned strings; timestamps
are UTC (`Datetime("us", "UTC")`); dates are dates; lists are lists, never joined
strings, and a list column that is not nullable holds an empty list rather than null.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, get_args

import polars as pl
import pyarrow as pa
from polars._typing import PolarsDataType

from pipeline.model import (
    FetchOutcomeKind,
    IdStatus,
    MismatchKind,
    PaperSource,
    ProblemStage,
    ResolutionKind,
    RunStatus,
    TitleSource,
)

UTC_TIMESTAMP = pl.Datetime("us", "UTC")
ID = pl.String

CANDIDATE = pl.Struct(
    {
        "arxiv_id": ID,
        "title": pl.String,
        "score": pl.Float64,
        "accepted": pl.Boolean,
        "why": pl.String,
    }
)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: PolarsDataType
    meaning: str
    nullable: bool = True
    # The only values the column may hold, taken from the Literal of the code that produces
    # them (so the docs and the schema export cannot miss one), and pipeline.write.validate
    # refuses any other; None when any value may occur.
    allowed: tuple[str, ...] | None = None

    def describe(self) -> str:
        """The meaning, with the allowed values appended when they are declared."""
        if self.allowed is None:
            return self.meaning
        return f"{self.meaning} Allowed: " + ", ".join(f"`{v}`" for v in self.allowed) + "."


@dataclass(frozen=True)
class Table:
    name: str
    meaning: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # True for tables that record runs themselves (runs, fetch_log): every other table is
    # byte-identical when a run is repeated on the same inputs.
    varies_by_run: bool = False

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names in {names}")
        by_name = {c.name: c for c in self.columns}
        for k in self.key:
            if k not in by_name:
                raise ValueError(f"table {self.name}: key column {k} is not declared")
            if by_name[k].nullable:
                raise ValueError(f"table {self.name}: key column {k} must not be nullable")

    def schema(self) -> pl.Schema:
        return pl.Schema([(c.name, c.dtype) for c in self.columns])

    def arrow_schema(self, frame: pl.DataFrame) -> pa.Schema:
        """`frame`'s Arrow schema with the non-nullable columns marked required, so the
        Parquet file says which columns always hold a value (polars writes all optional)."""
        inferred = pa.table(frame.head(0)).schema
        nullable = {c.name: c.nullable for c in self.columns}
        return pa.schema(f.with_nullable(nullable[f.name]) for f in inferred)


def _required(
    name: str, dtype: PolarsDataType, meaning: str, allowed: tuple[str, ...] | None = None
) -> Column:
    return Column(name, dtype, meaning, nullable=False, allowed=allowed)


MISMATCH_KINDS: tuple[str, ...] = get_args(MismatchKind)


_DIGEST = _required("digest", pl.String, "Digest file, path relative to the raw folder.")
_POSITION = _required("position", pl.Int32, "1-based position of the entry in its digest.")

TABLES: tuple[Table, ...] = (
    Table(
        "entries",
        "One row per digest entry: what the digest says, and which arXiv paper it is. "
        "Several entries may resolve to the same paper (appearances); `arxiv_id` joins "
        "to `papers`.",
        key=("digest", "position"),
        columns=(
            _DIGEST,
            _POSITION,
            Column("digest_date", pl.Date, "Date of the digest (from its header or file name)."),
            _required(
                "layout",
                pl.String,
                "How the file was read (docs/formats.md): markdown, html, text, csv, json, "
                "jsonl, bibtex, feed, hf_json, or the exact seed layouts heading_link and "
                "newsletter.",
            ),
            Column("line", pl.Int32, "1-based line where the entry starts (text layouts)."),
            Column(
                "title_digest",
                pl.String,
                "English title as the digest gives it, whitespace collapsed; where arXiv's "
                "title is written in the entry's text and the parser's guess was weaker, that "
                "span as written (docs/reconcile.md 2.1).",
            ),
            Column("title_digest_raw", pl.String, "English title exactly as written."),
            _required(
                "title_source",
                pl.String,
                "Where the parser found the English title: field, column, emphasis, quoted, "
                "link text, heading (the entry's own), line (text around the reference), "
                "shared heading, none.",
                get_args(TitleSource),
            ),
            Column("title_translated", pl.String, "Translated title (e.g. Chinese), if any."),
            Column("abstract_digest", pl.String, "The digest's own abstract or summary text."),
            Column(
                "authors_digest",
                pl.List(pl.String),
                "Authors as the digest lists them; null when the digest lists none.",
            ),
            Column("link", pl.String, "The paper reference exactly as written (URL, arXiv:ID)."),
            Column(
                "link_arxiv_id",
                ID,
                "arXiv ID the link names, when valid; may differ from `arxiv_id`.",
            ),
            Column("version_linked", pl.Int32, "Version the link names (the N of vN), if any."),
            _required(
                "id_status",
                pl.String,
                "What the link held: ok (a valid ID), invalid_id, missing.",
                get_args(IdStatus),
            ),
            Column("arxiv_id", ID, "Resolved arXiv ID; null when unresolved."),
            _required(
                "resolution",
                pl.String,
                "How the paper was found: link (the digest's ID), title (title search, no "
                "usable link), corrected (the link was wrong; found by title), unresolved.",
                get_args(ResolutionKind),
            ),
            Column("resolution_reason", pl.String, "Why the reconcile stage decided so."),
            Column(
                "title_similarity",
                pl.Float64,
                "Similarity of digest and arXiv title, 0..100 after normalisation.",
            ),
            Column("title_arxiv", pl.String, "arXiv title of the resolved paper."),
            _required(
                "candidates",
                pl.List(CANDIDATE),
                "Papers considered during title resolution, in the order considered, with "
                "score (0..100), whether accepted, and why.",
            ),
            _required(
                "mismatch_kinds",
                pl.List(pl.String),
                "Kinds of the entry's rows in `mismatches`, in their `seq` order.",
            ),
            _required("warnings", pl.List(pl.String), "Parse warnings about this entry."),
            Column(
                "block_text",
                pl.String,
                "Text of the digest lines the entry spans (at most 4,000 characters): the "
                "evidence reconcile searches for arXiv's title and authors.",
            ),
        ),
    ),
    Table(
        "papers",
        "One row per arXiv paper that at least one entry resolves to, with arXiv's metadata "
        "for its latest version.",
        key=("arxiv_id",),
        columns=(
            _required("arxiv_id", ID, "Canonical unversioned arXiv ID."),
            _required("version", pl.Int32, "Latest version number."),
            _required("title", pl.String, "arXiv title, whitespace collapsed."),
            _required("abstract", pl.String, "arXiv abstract, whitespace collapsed."),
            _required(
                "authors", pl.List(pl.String), "Author names in order (details in `authors`)."
            ),
            _required("published", UTC_TIMESTAMP, "Submission time of version 1."),
            _required("updated", UTC_TIMESTAMP, "Submission time of the latest version."),
            _required("primary_category", pl.String, "Primary arXiv category."),
            _required(
                "categories", pl.List(pl.String), "All categories, primary first (cross-lists)."
            ),
            Column("comment", pl.String, "Author comment (pages, figures, venue...)."),
            Column("journal_ref", pl.String, "Journal reference supplied by the authors."),
            _required(
                "doi",
                pl.List(pl.String),
                "Published-version DOIs the authors supplied (arxiv:doi, may hold several); "
                "empty when none. Not arXiv's own DOI: see `datacite_doi`.",
            ),
            _required("datacite_doi", pl.String, "arXiv's own DataCite DOI (10.48550/arXiv.ID)."),
            _required("abs_url", pl.String, "Abstract page URL (latest version)."),
            _required("pdf_url", pl.String, "PDF URL (latest version)."),
            _required("withdrawn", pl.Boolean, "True when the latest version is a withdrawal."),
            Column(
                "license",
                pl.String,
                "License URI, when the source gives it (the snapshot, OAI; not the query API).",
            ),
            _required(
                "source",
                pl.String,
                "Where this metadata came from: api (the query API), snapshot (the bulk "
                "metadata snapshot), oai (OAI-PMH).",
                get_args(PaperSource),
            ),
            _required(
                "fetched_at",
                UTC_TIMESTAMP,
                "When this metadata was fetched from arXiv (or read from the snapshot).",
            ),
            _required("appearances", pl.Int32, "Number of digest entries resolving to it."),
            _required("digests", pl.Int32, "Number of distinct digests listing it."),
            Column("first_digest_date", pl.Date, "Earliest date of a digest listing it."),
            Column("last_digest_date", pl.Date, "Latest date of a digest listing it."),
        ),
    ),
    Table(
        "authors",
        "One row per author of a paper in `papers`, in arXiv's order.",
        key=("arxiv_id", "position"),
        columns=(
            _required("arxiv_id", ID, "Paper, joins to `papers`."),
            _required("position", pl.Int32, "1-based position in the author list."),
            _required("name", pl.String, "Author name as arXiv gives it."),
            _required("affiliations", pl.List(pl.String), "Affiliations arXiv gives; often empty."),
        ),
    ),
    Table(
        "categories",
        "One row per category of a paper in `papers`.",
        key=("arxiv_id", "category"),
        columns=(
            _required("arxiv_id", ID, "Paper, joins to `papers`."),
            _required("category", pl.String, "arXiv category, e.g. cs.CL."),
            _required(
                "position",
                pl.Int32,
                "1-based position in the paper's category list (repeats dropped).",
            ),
            _required("is_primary", pl.Boolean, "True for the primary category."),
        ),
    ),
    Table(
        "versions",
        "One row per version of a paper in `papers`, for the papers whose source gives the "
        "version history (the snapshot, OAI arXivRaw); the query API gives only the first "
        "and latest dates, which `papers` has.",
        key=("arxiv_id", "version"),
        columns=(
            _required("arxiv_id", ID, "Paper, joins to `papers`."),
            _required("version", pl.Int32, "Version number (the N of vN)."),
            _required("submitted", UTC_TIMESTAMP, "When this version was submitted."),
            Column("size_kb", pl.Int32, "Size of the version's source in kB (OAI arXivRaw)."),
            Column(
                "source_type",
                pl.String,
                "OAI arXivRaw source type of the version; one containing I is a withdrawal.",
            ),
        ),
    ),
    Table(
        "mismatches",
        "Every difference found between a digest entry and its arXiv record, and what was "
        "done about it. (`digest`, `position`) joins to `entries`.",
        key=("digest", "position", "seq"),
        columns=(
            _DIGEST,
            _POSITION,
            _required("seq", pl.Int32, "1-based number of the mismatch within its entry."),
            _required(
                "kind",
                pl.String,
                "What differs (docs/reconcile.md 3).",
                MISMATCH_KINDS,
            ),
            Column("arxiv_id", ID, "arXiv ID concerned, if any."),
            Column("digest_value", pl.String, "What the digest says."),
            Column("arxiv_value", pl.String, "What arXiv says."),
            Column("similarity", pl.Float64, "Similarity of the two values, 0..100, if scored."),
            _required("action", pl.String, "What the pipeline did about it."),
        ),
    ),
    Table(
        "fetch_log",
        "One row per arXiv ID per run that asked arXiv for it: the history of fetches. "
        "`run_id` joins to `runs` for `enrich` runs; the `fetch` and `reconcile` commands "
        "fetch under run IDs of their own that have no `runs` row.",
        key=("run_id", "arxiv_id"),
        columns=(
            _required("run_id", pl.String, "Run that asked."),
            _required("arxiv_id", ID, "ID asked for."),
            _required("outcome", pl.String, "What arXiv answered.", get_args(FetchOutcomeKind)),
            _required("attempts", pl.Int32, "Requests that included this ID."),
            Column("reason", pl.String, "Why it was not found, invalid or failed."),
            _required("logged_at", UTC_TIMESTAMP, "When the outcome was recorded."),
        ),
        varies_by_run=True,
    ),
    Table(
        "problems",
        "Every input problem a stage reported: unreadable digests and entries (parse), IDs "
        "and title searches arXiv could not answer (fetch), and so on.",
        key=("problem_id",),
        columns=(
            _required(
                "problem_id",
                pl.Int32,
                "1-based number after sorting by stage, source, line, kind, message.",
            ),
            _required(
                "stage",
                pl.String,
                "Stage that saw it: parse, fetch, reconcile.",
                get_args(ProblemStage),
            ),
            _required(
                "source",
                pl.String,
                "Digest path (relative to the raw folder), arXiv ID or searched title.",
            ),
            Column("line", pl.Int32, "1-based line in the digest, when known."),
            _required("kind", pl.String, "Short tag, e.g. undecodable, no_entries, http_400."),
            _required("message", pl.String, "What is wrong, for a person."),
        ),
    ),
    Table(
        "runs",
        "One row per pipeline run: what it read, asked, resolved and wrote, and how long "
        "each stage took. A run's own row is taken just before its tables are written: "
        "there, `ended_at` is when writing began and `write_seconds` is 0; the tables of "
        "later runs give the final values.",
        key=("run_id",),
        columns=(
            _required("run_id", pl.String, "Run identifier; sorts by start time."),
            _required("started_at", UTC_TIMESTAMP, "When the run started."),
            Column("ended_at", UTC_TIMESTAMP, "When it ended; null while running or if killed."),
            _required(
                "status",
                pl.String,
                "running, ok, unchanged (nothing new since the last complete run: its tables "
                "were carried over and no stage ran), incomplete (some IDs could not be "
                "fetched), interrupted (killed), failed (stopped by an unexpected error).",
                get_args(RunStatus),
            ),
            Column("exit_code", pl.Int32, "Process exit code; null while running."),
            Column(
                "out_dir",
                pl.String,
                "The output folder the run wrote its tables to (absolute): runs of every "
                "output folder sharing a raw folder are listed; null for runs logged before "
                "the column existed.",
            ),
            _required("digests", pl.Int32, "Digest files read."),
            _required("entries", pl.Int32, "Digest entries found."),
            _required("parse_problems", pl.Int32, "Problems the parse stage reported."),
            _required("ids_requested", pl.Int32, "Distinct arXiv IDs needed."),
            _required("found", pl.Int32, "IDs arXiv returned."),
            _required("not_found", pl.Int32, "Well-formed IDs arXiv does not know."),
            _required("invalid", pl.Int32, "IDs arXiv rejected as malformed."),
            _required("failed", pl.Int32, "IDs whose requests failed after all retries."),
            _required("from_store", pl.Int32, "IDs answered from stored metadata."),
            _required(
                "from_snapshot",
                pl.Int32,
                "Papers read from the bulk snapshot, no request: the IDs it answered and the "
                "candidates its title index found for entries without ID (`papers.source`).",
            ),
            _required("title_searches", pl.Int32, "Title searches sent to arXiv."),
            _required("resolved_link", pl.Int32, "Entries resolved by their link."),
            _required("resolved_title", pl.Int32, "Entries resolved by title search."),
            _required("corrected", pl.Int32, "Entries whose wrong link was corrected."),
            _required("unresolved", pl.Int32, "Entries left unresolved."),
            _required("mismatches", pl.Int32, "Rows written to `mismatches`."),
            _required(
                "requests",
                pl.Int32,
                "HTTP requests sent to arXiv (tries that could not connect too).",
            ),
            _required("retries", pl.Int32, "Of those, retries."),
            _required("parse_seconds", pl.Float64, "Time spent parsing."),
            _required("fetch_seconds", pl.Float64, "Time spent fetching."),
            _required("reconcile_seconds", pl.Float64, "Time spent reconciling."),
            _required("write_seconds", pl.Float64, "Time spent writing tables."),
        ),
        varies_by_run=True,
    ),
)

_BY_NAME = {t.name: t for t in TABLES}


def _papers_column(name: str) -> Column:
    return next(c for c in _BY_NAME["papers"].columns if c.name == name)


# The parse stage's frame (pipeline.parse.entries_frame, one column per DigestEntry field in
# field order): each column is the entries table's column named here, under the parser's
# name (the digest's view of a paper gets a _digest/_linked suffix in the table, so that it
# cannot be confused with arXiv's).
PARSED_ENTRY_COLUMNS: dict[str, str] = {
    "digest": "digest",
    "position": "position",
    "layout": "layout",
    "digest_date": "digest_date",
    "line": "line",
    "title_raw": "title_digest_raw",
    "title": "title_digest",
    "title_source": "title_source",
    "title_translated": "title_translated",
    "abstract": "abstract_digest",
    "authors": "authors_digest",
    "link": "link",
    "arxiv_id": "link_arxiv_id",
    "version": "version_linked",
    "id_status": "id_status",
    "warnings": "warnings",
    "block_text": "block_text",
}
_ENTRIES = {c.name: c for c in _BY_NAME["entries"].columns}
PARSED_ENTRY = Table(
    "parsed_entries",
    "One row per digest entry as the parse stage read it.",
    key=("digest", "position"),
    columns=tuple(
        dataclasses.replace(_ENTRIES[column], name=field)
        for field, column in PARSED_ENTRY_COLUMNS.items()
    ),
)

_AFFILIATED = pl.Struct({"position": pl.Int32, "affiliations": pl.List(pl.String)})
_STORED_VERSION = pl.Struct(
    {"version": pl.Int32, "submitted": pl.String, "size_kb": pl.Int32, "source_type": pl.String}
)

# A paper as the metadata store keeps it (one JSON object per row, pipeline.store) and hands
# it to the write stage as a frame. The columns it shares with `papers` are that table's own;
# times stay ISO text until the write stage turns them into UTC.
STORED_PAPER = Table(
    "stored_papers",
    "One row per paper in the metadata store, as arXiv last gave it.",
    key=("arxiv_id",),
    columns=(
        *(_papers_column(n) for n in ("arxiv_id", "version", "title", "abstract", "authors")),
        _required(
            "affiliated",
            pl.List(_AFFILIATED),
            "The authors that have affiliations: 0-based position in `authors`, affiliations.",
        ),
        _required("published", pl.String, "Submission time of version 1, ISO 8601."),
        _required("updated", pl.String, "Submission time of the latest version, ISO 8601."),
        *(_papers_column(n) for n in ("primary_category", "categories", "comment")),
        _papers_column("journal_ref"),
        Column("dois", pl.List(pl.String), _papers_column("doi").meaning, nullable=False),
        *(_papers_column(n) for n in ("withdrawn", "license", "source")),
        _required("fetched_at", pl.String, "When this metadata was fetched, ISO 8601."),
        _required(
            "versions",
            pl.List(_STORED_VERSION),
            "Every version the source gives (v1 first; empty from the query API), times in "
            "ISO 8601: the rows of `versions`.",
        ),
    ),
)


def table(name: str) -> Table:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no table {name!r}; tables are {', '.join(_BY_NAME)}") from None


# A flat declared type's name in DuckDB and in SQLite.
_SQL_TYPES: dict[PolarsDataType, tuple[str, str]] = {
    pl.String: ("VARCHAR", "TEXT"),
    pl.Int32: ("INTEGER", "INTEGER"),
    pl.Float64: ("DOUBLE", "REAL"),
    pl.Boolean: ("BOOLEAN", "INTEGER"),
}


def duckdb_type(dtype: PolarsDataType) -> str:
    """DuckDB's name for a declared column type (nested ones too), e.g. for its JSON reader."""
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    if isinstance(dtype, pl.Struct):
        return f"STRUCT({', '.join(f'{f.name} {duckdb_type(f.dtype)}' for f in dtype.fields)})"
    return _SQL_TYPES[dtype.base_type()][0]


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sqlite_ddl(declared: Table) -> str:
    """CREATE TABLE for a flat table kept in the metadata store as it is declared here
    (timestamps as ISO 8601 text)."""
    columns = [
        f"    {c.name} "
        + ("TEXT" if isinstance(c.dtype, pl.Datetime) else _SQL_TYPES[c.dtype.base_type()][1])
        + ("" if c.nullable else " NOT NULL")
        for c in declared.columns
    ]
    columns.append(f"    PRIMARY KEY ({', '.join(declared.key)})")
    return f"CREATE TABLE IF NOT EXISTS {declared.name} (\n" + ",\n".join(columns) + "\n);\n"


def type_name(dtype: PolarsDataType) -> str:
    """A reader's name for a column type, as the data dictionary shows it."""
    if isinstance(dtype, pl.Datetime):
        return f"timestamp ({dtype.time_zone or 'no time zone'})"
    if isinstance(dtype, pl.List):
        return f"list<{type_name(dtype.inner)}>"
    if isinstance(dtype, pl.Struct):
        return "struct<" + ", ".join(f"{f.name}: {type_name(f.dtype)}" for f in dtype.fields) + ">"
    return str(dtype).lower()


def _markdown_row(c: Column) -> str:
    meaning = c.describe().replace("|", "\\|")  # a bare | would end the cell
    return f"| `{c.name}` | {type_name(c.dtype)} | {'yes' if c.nullable else 'no'} | {meaning} |"


def tables_markdown() -> str:
    """The data dictionary (docs/tables.md), generated from TABLES."""
    lines = [
        "# Output tables",
        "",
        "<!-- Generated from pipeline/tables.py by `make docs`; do not edit by hand. -->",
        "",
        "Each table is a Parquet file (zstd); read it as `<out>/<table>.parquet`, e.g.",
        '`pl.read_parquet("enriched/entries.parquet")` or, in DuckDB,',
        "`select * from 'enriched/entries.parquet'`. Rows are sorted by the key. A run",
        "publishes all tables at once; `<out>/current/manifest.json` names its run and gives",
        "each file's row count and SHA-256. The same declarations, for tools, are in",
        "`<out>/schema.json` (columns, types, nullability, key, meaning, allowed values);",
        "non-nullable columns are `required` in the Parquet files' own schema.",
        "",
        "- arXiv IDs are canonical, unversioned strings (`2401.01234`, `hep-th/9711200`).",
        "- Timestamps are UTC; dates are dates; lists are lists. A list column that is not",
        "  nullable holds an empty list rather than null.",
        "- Similarities are 0..100 (100: identical after normalisation).",
        "- Repeating a run on the same inputs and stored metadata rewrites every table byte",
        "  for byte, except "
        + " and ".join(f"`{t.name}`" for t in TABLES if t.varies_by_run)
        + ", which record the runs themselves.",
        "",
    ]
    for t in TABLES:
        lines += [
            f"## {t.name}",
            "",
            t.meaning,
            "",
            "Key: " + ", ".join(f"`{k}`" for k in t.key),
            "",
            "| column | type | nullable | meaning |",
            "|---|---|---|---|",
        ]
        lines += [_markdown_row(c) for c in t.columns]
        lines.append("")
    return "\n".join(lines)


def _type_json(dtype: PolarsDataType) -> dict[str, Any]:
    """A column type as data: name, and the parts of a list, struct or timestamp."""
    if isinstance(dtype, pl.Datetime):
        return {"type": "timestamp", "unit": dtype.time_unit, "time_zone": dtype.time_zone}
    if isinstance(dtype, pl.List):
        return {"type": "list", "items": _type_json(dtype.inner)}
    if isinstance(dtype, pl.Struct):
        return {
            "type": "struct",
            "fields": [{"name": f.name, **_type_json(f.dtype)} for f in dtype.fields],
        }
    return {"type": str(dtype).lower()}


SCHEMA_EXPORT_VERSION = 1


def tables_json() -> str:
    """Every table as JSON for tools (`<out>/schema.json`): the same declarations as
    docs/tables.md, with types as data and the allowed values listed."""
    tables = [
        {
            "name": t.name,
            "meaning": t.meaning,
            "key": list(t.key),
            "file": f"{t.name}.parquet",
            "columns": [
                {
                    "name": c.name,
                    **_type_json(c.dtype),
                    "type_text": type_name(c.dtype),
                    "nullable": c.nullable,
                    "meaning": c.meaning,
                    "allowed": list(c.allowed) if c.allowed is not None else None,
                }
                for c in t.columns
            ],
        }
        for t in TABLES
    ]
    return json.dumps({"version": SCHEMA_EXPORT_VERSION, "tables": tables}, indent=2) + "\n"
