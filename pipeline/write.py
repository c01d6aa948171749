"""Write stage: turn a run's results into the declared tables and publish them atomically.

    build_tables      entries, records, resolutions, ... -> one frame per table (pure)
    validate          a frame against its declaration in pipeline.tables
    write_generation  validated, key-sorted zstd Parquet + manifest.json into a new generation
    write_tables      write_generation, then store.publish_generation (one symlink flip)

Every table except `runs` and `fetch_log` is a function of the inputs alone and is written
with fixed settings, so repeating a run on the same inputs rewrites it byte for byte.

Errors:
    ValueError
     +-- SchemaError             a frame does not match its table's declaration
     +-- InconsistentInputError  the stages' results do not fit together (a bug upstream)
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from pipeline import store
from pipeline.companions import COMPANION_FILES, report_parts, tables_key, write_companions
from pipeline.health import Health
from pipeline.model import (
    ABS_URL_PREFIX,
    DATACITE_DOI_PREFIX,
    PDF_URL_PREFIX,
    Mismatch,
    PaperRecord,
    Problem,
    Resolution,
)
from pipeline.report import REPORT_COLUMNS, Frame
from pipeline.store import Paths
from pipeline.tables import CANDIDATE, PARSED_ENTRY_COLUMNS, STORED_PAPER, TABLES, Table, table

# Fixed writer settings: the bytes of a file may depend on its rows only.
ZSTD_LEVEL = 3  # zstd's own default, stated so a library default change cannot alter bytes
ROW_GROUP_ROWS = 128 * 1024
MANIFEST_NAME = "manifest.json"
LOG_ROWS = 50_000  # fetch log rows held as Python tuples at a time

# The entries table's columns that the reconcile stage decides, in row-tuple order.
RECONCILED_ENTRY_COLUMNS = (
    "arxiv_id",
    "resolution",
    "resolution_reason",
    "title_similarity",
    "title_arxiv",
    "candidates",
    "mismatch_kinds",
)

FetchLogRow = tuple[str, str, str, int, str | None, str]


class SchemaError(ValueError):
    """A frame does not match its declaration; names the table and, if one, the column."""

    def __init__(self, table_name: str, column: str | None, problem: str) -> None:
        super().__init__(table_name, column, problem)  # args, so the error survives pickling
        self.table = table_name
        self.column = column
        self.problem = problem

    def __str__(self) -> str:
        where = f"table {self.table}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.problem}"


class InconsistentInputError(ValueError):
    """The stages' results contradict each other, e.g. an entry without a resolution."""


@dataclass
class RunRecord:
    """One row of `runs`; the meaning of each field is declared in pipeline.tables."""

    run_id: str
    started_at: datetime
    ended_at: datetime | None = None
    status: str = "running"
    exit_code: int | None = None
    out_dir: str | None = None
    digests: int = 0
    entries: int = 0
    parse_problems: int = 0
    ids_requested: int = 0
    found: int = 0
    not_found: int = 0
    invalid: int = 0
    failed: int = 0
    from_store: int = 0
    from_snapshot: int = 0
    title_searches: int = 0
    resolved_link: int = 0
    resolved_title: int = 0
    corrected: int = 0
    unresolved: int = 0
    mismatches: int = 0
    requests: int = 0
    retries: int = 0
    parse_seconds: float = 0.0
    fetch_seconds: float = 0.0
    reconcile_seconds: float = 0.0
    write_seconds: float = 0.0


# --- building -----------------------------------------------------------------------
#
# polars converts a nested Python list cell by cell (~15 us each, plus a Series per cell),
# which dominated the stage at 100,000 entries. So every list column is built from a flat
# frame, one row per list item, and nested with group_by/agg; Python only makes flat lists
# of plain values (no tuple or dict per row, which also keeps the garbage collector idle).


def build_tables(
    *,
    entries: pl.DataFrame,
    papers: pl.DataFrame | Mapping[str, PaperRecord],
    resolutions: Sequence[Resolution],
    mismatches: Sequence[Mismatch],
    fetch_log: Iterable[FetchLogRow],
    settled: pl.DataFrame | None = None,
    problems: Sequence[Problem],
    runs: Sequence[RunRecord],
) -> dict[str, pl.DataFrame]:
    """Every output table, validated and sorted by its key.

    `settled`: (digest, position, arxiv_id) of the entries the reconcile stage settled by
    their link in one join (ReconcileResult.settled), resolved as `resolutions` are not.

    `papers` is a stored-papers frame (pipeline.tables.STORED_PAPER, as
    `MetadataStore.papers_frame` gives it) or records by ID. It may hold more papers than
    the entries resolve to (e.g. rejected title-search candidates); only resolved papers get
    a row. Raises InconsistentInputError when an entry has no resolution or two, or
    resolves to an ID without a record.
    """
    if not isinstance(papers, pl.DataFrame):
        papers = store.records_frame(map(store.record_to_json, papers.values()))
    entries_table, mismatches_table = entry_tables(
        entries, papers, resolutions, settled, mismatches
    )
    resolved_ids = entries_table.select(pl.col("arxiv_id").drop_nulls().unique().sort())
    records = (
        papers  # already the resolved papers in key order (as the store hands them): no copy
        if papers.get_column("arxiv_id").equals(resolved_ids.get_column("arxiv_id"))
        else resolved_ids.join(papers, on="arxiv_id", maintain_order="left")
    )
    counts = paper_counts(entries_table)
    frames = {
        "entries": entries_table,
        **paper_tables(records, counts),
        "mismatches": mismatches_table,
        **log_tables(fetch_log, problems, runs),
    }
    return {t.name: _sorted(t, validate(t.name, frames[t.name])) for t in TABLES}


def entry_tables(
    entries: pl.DataFrame,
    papers: pl.DataFrame,
    resolutions: Sequence[Resolution],
    settled: pl.DataFrame | None,
    mismatches: Sequence[Mismatch],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The `entries` and `mismatches` tables of some entries (see build_tables), unsorted."""
    mismatches_table = _mismatches_table(mismatches)
    entries_table = _entries_table(entries, papers, resolutions, settled, mismatches_table)
    return entries_table, mismatches_table


def paper_tables(records: pl.DataFrame, counts: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The tables of the papers (one or more rows per paper) of `records`, a stored-papers
    frame in key order; `counts`: the papers' counts over the entries (paper_counts)."""
    return {
        "papers": _papers_table(records, counts),
        "authors": _authors_table(records),
        "categories": _categories_table(records),
        "versions": _versions_table(records),
    }


def log_tables(
    fetch_log: Iterable[FetchLogRow], problems: Sequence[Problem], runs: Sequence[RunRecord]
) -> dict[str, pl.DataFrame]:
    """The tables of what the runs did: `fetch_log`, `problems`, `runs`."""
    return {
        "fetch_log": _fetch_log_table(fetch_log),
        "problems": _frame("problems", _problem_rows(problems)),
        "runs": _frame("runs", [_run_row(r) for r in runs]),
    }


def _fetch_log_table(rows: Iterable[FetchLogRow]) -> pl.DataFrame:
    """The store's fetch log, made a frame LOG_ROWS rows at a time; its times (ISO text)
    made UTC once per distinct value: a batch's outcomes share one."""
    schema = table("fetch_log").schema()
    as_text: dict[str, pl.DataType] = {**schema, "logged_at": pl.String()}
    remaining = iter(rows)
    frames = [pl.DataFrame(schema=as_text)]
    while batch := list(islice(remaining, LOG_ROWS)):
        # Column by column: polars builds a frame from rows at about half the speed.
        columns = zip(as_text, map(list, zip(*batch, strict=True)), strict=True)
        frames.append(pl.DataFrame(dict(columns), schema=as_text))
    logged = pl.concat(frames)
    if logged.is_empty():
        return pl.DataFrame(schema=schema)
    moments = {at: _utc(at, "fetch_log") for at in logged.get_column("logged_at").unique()}
    return logged.with_columns(
        pl.col("logged_at").replace_strict(moments, return_dtype=schema["logged_at"])
    )


def _frame(name: str, rows: Sequence[Sequence[Any]]) -> pl.DataFrame:
    """A frame of `rows` (tuples in declared column order) with the declared schema."""
    return pl.DataFrame(rows, schema=table(name).schema(), orient="row")


def _columns(name: str, columns: Mapping[str, Sequence[Any]]) -> pl.DataFrame:
    """A frame of flat `columns`, each typed as the same-named column of table `name`."""
    schema = table(name).schema()
    return pl.DataFrame(
        {
            column: pl.Series(column, values, dtype=schema[column])
            for column, values in columns.items()
        }
    )


def _with_lists(
    frame: pl.DataFrame, on: str | list[str], items: pl.DataFrame, **lists: pl.Expr
) -> pl.DataFrame:
    """`frame` plus a list column per `lists` expression, aggregated over the rows of `items`
    that share `frame`'s key `on`, in the order of `items`; a row without items gets []."""
    grouped = items.group_by(on).agg(**lists)
    joined = frame.join(grouped, on=on, how="left", maintain_order="left")
    return joined.with_columns(
        pl.col(name).fill_null(pl.lit([], dtype=joined.schema[name])) for name in lists
    )


def _sorted(declared: Table, frame: pl.DataFrame) -> pl.DataFrame:
    key = list(declared.key)
    # Frames come here sorted already (built so, or validated twice): checking the key order
    # is cheap, while sorting copies every column, abstracts included.
    in_order = frame.select(
        (pl.arg_sort_by(key, maintain_order=True) == pl.int_range(pl.len())).all()
    ).item()
    return (frame if in_order else frame.sort(key, maintain_order=True)).rechunk()


def _sort_key(*values: object) -> tuple[tuple[bool, object], ...]:
    """Orders values that may be None (None first) without comparing None to a value."""
    return tuple((v is not None, "" if v is None else v) for v in values)


def _utc(value: datetime | str, what: str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        # A naive time could be local or UTC; guessing would shift it silently.
        raise InconsistentInputError(f"{what}: timestamp {value} has no time zone")
    return moment.astimezone(UTC)


def _problem_rows(problems: Sequence[Problem]) -> list[tuple[Any, ...]]:
    """Problem rows numbered in a fixed order, so the same problems get the same IDs."""
    ordered = sorted(
        problems, key=lambda p: _sort_key(p.stage, p.source, p.line, p.kind, p.message)
    )
    return [(i, p.stage, p.source, p.line, p.kind, p.message) for i, p in enumerate(ordered, 1)]


def _mismatches_table(mismatches: Sequence[Mismatch]) -> pl.DataFrame:
    """Mismatches in a fixed order (all fields, nulls first), numbered within their entry
    (seq) so that the key is unique."""
    order = (
        "digest",
        "position",
        "kind",
        "arxiv_id",
        "digest_value",
        "arxiv_value",
        "similarity",
        "action",
    )
    ordered = _columns(
        "mismatches", {name: [getattr(m, name) for m in mismatches] for name in order}
    ).sort(order, maintain_order=True)
    seq = pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("digest", "position")
    return ordered.select(
        pl.col(name) if name != "seq" else seq.alias("seq") for name in table("mismatches").schema()
    )


def _entries_table(
    entries: pl.DataFrame,
    papers: pl.DataFrame,
    resolutions: Sequence[Resolution],
    settled: pl.DataFrame | None,
    mismatches_table: pl.DataFrame,
) -> pl.DataFrame:
    missing = [c for c in PARSED_ENTRY_COLUMNS if c not in entries.columns]
    if missing:
        raise SchemaError("entries", missing[0], "the parsed entries frame lacks this column")
    schema = table("entries").schema()
    digest_entries = entries.select(
        pl.col(source).alias(target).cast(schema[target])
        for source, target in PARSED_ENTRY_COLUMNS.items()
    )
    entry_keys = digest_entries.select("digest", "position")
    resolved = _resolutions_frame(entry_keys, resolutions, settled)
    unknown = mismatches_table.join(
        entry_keys, on=["digest", "position"], how="anti", maintain_order="left"
    )
    if unknown.height:
        m = unknown.row(0, named=True)
        raise InconsistentInputError(
            f"mismatch {m['kind']} for unknown entry {m['digest']}#{m['position']}"
        )
    titles = papers.select("arxiv_id", title_arxiv="title")
    unfetched = (
        resolved.filter(pl.col("arxiv_id").is_not_null())
        .join(titles, on="arxiv_id", how="anti")
        .join(entry_keys, on=["digest", "position"], maintain_order="right")
    )
    if unfetched.height:
        key = unfetched.row(0, named=True)
        raise InconsistentInputError(
            f"entry {key['digest']}#{key['position']} resolves to {key['arxiv_id']}, "
            "which has no arXiv record"
        )
    # The reconciled columns are joined onto the keys only, then set beside the digest's own
    # columns: a join on the whole frame would copy every abstract.
    reconciled = _with_lists(
        entry_keys.join(
            resolved, on=["digest", "position"], how="left", maintain_order="left"
        ).join(titles, on="arxiv_id", how="left", maintain_order="left"),
        ["digest", "position"],
        mismatches_table,
        mismatch_kinds=pl.col("kind"),
    )
    # title_digest: the title as the entry's text writes it, where reconcile found arXiv's
    # title there and the parser's guess was weaker (Resolution.title_found).
    return (
        pl.concat(
            [digest_entries, reconciled.select(*RECONCILED_ENTRY_COLUMNS, "title_found")],
            how="horizontal",
        )
        .with_columns(pl.coalesce("title_found", "title_digest").alias("title_digest"))
        .select(schema.names())
    )


def _resolutions_frame(
    entry_keys: pl.DataFrame, resolutions: Sequence[Resolution], settled: pl.DataFrame | None
) -> pl.DataFrame:
    """Each entry's one resolution with its candidates, keyed by (digest, position);
    anything but one resolution per entry is a bug in the reconcile stage."""
    judged = _columns(
        "entries",
        {
            "digest": [r.digest for r in resolutions],
            "position": [r.position for r in resolutions],
            "arxiv_id": [r.arxiv_id for r in resolutions],
            "resolution": [r.resolution for r in resolutions],
            "resolution_reason": [r.reason for r in resolutions],
            "title_similarity": [r.title_similarity for r in resolutions],
        },
    ).with_columns(pl.Series("title_found", [r.title_found for r in resolutions], dtype=pl.String))
    if settled is not None:
        # Imported here: a run that carries its tables over reconciles nothing, and the
        # reconcile package's imports (rapidfuzz, its rules) are a tenth of such a run.
        from pipeline.reconcile.verbatim import SETTLED_REASON, SETTLED_SIMILARITY

        # Settled entries have no candidates: the indexes below point into `resolutions`.
        settled = settled.select(
            pl.col(name).cast(judged.schema[name]) for name in ("digest", "position", "arxiv_id")
        ).with_columns(
            resolution=pl.lit("link", dtype=judged.schema["resolution"]),
            resolution_reason=pl.lit(SETTLED_REASON, dtype=pl.String),
            title_similarity=pl.lit(SETTLED_SIMILARITY, dtype=judged.schema["title_similarity"]),
            title_found=pl.lit(None, dtype=pl.String),
        )
        judged = pl.concat([judged, settled])
    frame = judged.with_row_index("resolution_index")
    unknown = frame.join(entry_keys, on=["digest", "position"], how="anti", maintain_order="left")
    if unknown.height:
        raise InconsistentInputError(f"resolution for unknown entry {_entry_name(unknown)}")
    twice = frame.filter(pl.struct("digest", "position").is_duplicated())
    if twice.height:
        raise InconsistentInputError(f"entry {_entry_name(twice)} has two resolutions")
    contradicting = frame.filter(
        pl.col("arxiv_id").is_null() != (pl.col("resolution") == "unresolved")
    )
    if contradicting.height:
        r = contradicting.row(0, named=True)
        raise InconsistentInputError(
            f"entry {_entry_name(contradicting)}: resolution {r['resolution']} "
            f"with arxiv_id {r['arxiv_id']}"
        )
    unresolved = entry_keys.join(frame, on=["digest", "position"], how="anti").sort(
        "digest", "position"
    )
    if unresolved.height:
        raise InconsistentInputError(
            f"{unresolved.height} entries have no resolution, e.g. {_entry_name(unresolved)}"
        )
    owners = [i for i, r in enumerate(resolutions) for _ in r.candidates]
    candidates = [c for r in resolutions for c in r.candidates]
    items = pl.DataFrame(
        {"resolution_index": pl.Series(owners, dtype=pl.UInt32)}
        | {
            field.name: pl.Series([getattr(c, field.name) for c in candidates], dtype=field.dtype)
            for field in CANDIDATE.fields
        }
    )
    return _with_lists(
        frame,
        "resolution_index",
        items,
        candidates=pl.struct(field.name for field in CANDIDATE.fields),
    )


def _entry_name(frame: pl.DataFrame) -> str:
    """The entry of `frame`'s first row, as digest#position."""
    digest, position = frame.select("digest", "position").row(0)
    return f"{digest}#{position}"


def _exploded(records: pl.DataFrame, column: str, as_name: str) -> pl.DataFrame:
    """(arxiv_id, 1-based position, item) per item of list `column`, in record order."""
    listed = records.select("arxiv_id", pl.col(column).alias(as_name)).filter(
        pl.col(as_name).list.len() > 0  # explode makes an empty list one null row
    )
    return listed.with_columns(
        position=pl.int_ranges(1, pl.col(as_name).list.len() + 1, dtype=pl.Int32)
    ).explode(as_name, "position")


def _authors_table(records: pl.DataFrame) -> pl.DataFrame:
    schema = table("authors").schema()
    # Most authors have no affiliation: only the ones they have are stored, by position.
    affiliated = (
        records.select("arxiv_id", "affiliated")
        .filter(pl.col("affiliated").list.len() > 0)
        .explode("affiliated")
        .unnest("affiliated")
        .select("arxiv_id", pl.col("position") + 1, "affiliations")
    )
    return (
        _exploded(records, "authors", "name")
        .join(affiliated, on=["arxiv_id", "position"], how="left", maintain_order="left")
        .select(
            "arxiv_id",
            "position",
            "name",
            pl.col("affiliations").fill_null(pl.lit([], dtype=schema["affiliations"])),
        )
    )


def _categories_table(records: pl.DataFrame) -> pl.DataFrame:
    # A category listed twice is one row, at its first position.
    listed = _exploded(records, "categories", "category").drop("position")
    distinct = listed.unique(["arxiv_id", "category"], keep="first", maintain_order=True)
    primary = records.select("arxiv_id", "primary_category")
    return distinct.join(primary, on="arxiv_id", how="left", maintain_order="left").select(
        "arxiv_id",
        "category",
        position=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("arxiv_id"),
        is_primary=pl.col("category") == pl.col("primary_category"),
    )


ISO_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%.f%:z"  # datetime.isoformat() of an aware time


def _utc_column(records: pl.DataFrame, name: str) -> pl.Expr:
    """Column `name` (ISO text) as UTC timestamps; InconsistentInputError for a time
    without a zone (it could be local or UTC: guessing would shift it silently)."""
    parsed = pl.col(name).str.to_datetime(
        ISO_TIMESTAMP, time_unit="us", time_zone="UTC", strict=False
    )
    unzoned = records.filter(parsed.is_null())
    if unzoned.height:
        arxiv_id, value = unzoned.select("arxiv_id", name).row(0)
        raise InconsistentInputError(f"{arxiv_id} {name}: timestamp {value} has no time zone")
    return parsed


def _versions_table(records: pl.DataFrame) -> pl.DataFrame:
    """The version history of the papers whose source gave one, one row per version."""
    versions = (
        records.select("arxiv_id", "versions")
        .filter(pl.col("versions").list.len() > 0)
        .explode("versions")
        .unnest("versions")
    )
    return versions.select(
        "arxiv_id", "version", _utc_column(versions, "submitted"), "size_kb", "source_type"
    )


def _papers_table(records: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """The resolved papers' own columns and the entries' counts."""
    own = records.with_columns(
        *(_utc_column(records, name) for name in ("published", "updated", "fetched_at")),
        doi="dois",
        datacite_doi=DATACITE_DOI_PREFIX + pl.col("arxiv_id"),
        abs_url=ABS_URL_PREFIX + pl.col("arxiv_id"),
        pdf_url=PDF_URL_PREFIX + pl.col("arxiv_id"),
    )
    return with_paper_counts(own, counts)


def paper_counts(entries_table: pl.DataFrame) -> pl.DataFrame:
    """Each resolved paper's counts over the entries (PAPER_COUNT_COLUMNS of the papers
    table), sorted by ID."""
    declared = table("papers").schema()
    return (
        entries_table.filter(pl.col("arxiv_id").is_not_null())
        .group_by("arxiv_id")
        .agg(
            appearances=pl.len(),
            digests=pl.col("digest").n_unique(),
            first_digest_date=pl.col("digest_date").min(),
            last_digest_date=pl.col("digest_date").max(),
        )
        .select(pl.col(name).cast(declared[name]) for name in ("arxiv_id", *PAPER_COUNT_COLUMNS))
        .sort("arxiv_id")
    )


PAPER_COUNT_COLUMNS = ("appearances", "digests", "first_digest_date", "last_digest_date")


def summed_paper_counts(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """paper_counts over the entries of several parts, from each part's paper_counts: the
    parts hold different digests, so the digests a paper is listed in add up too."""
    declared = table("papers").schema()
    counts = pl.concat([paper_counts(pl.DataFrame(schema=table("entries").schema())), *parts])
    return (
        counts.group_by("arxiv_id")
        .agg(
            pl.col("appearances", "digests").sum(),
            pl.col("first_digest_date").min(),
            pl.col("last_digest_date").max(),
        )
        .select(pl.col(name).cast(declared[name]) for name in ("arxiv_id", *PAPER_COUNT_COLUMNS))
        .sort("arxiv_id")
    )


def with_paper_counts(papers: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """`papers` (their own columns, with or without counts) with their `counts` over the
    entries (paper_counts), in the papers table's declared columns."""
    declared = table("papers")
    own = papers.drop(PAPER_COUNT_COLUMNS, strict=False)
    return own.join(counts, on="arxiv_id", how="left", maintain_order="left").select(
        pl.col(name).cast(dtype) for name, dtype in declared.schema().items()
    )


def _run_row(run: RunRecord) -> tuple[Any, ...]:
    row = asdict(run)
    row["started_at"] = _utc(run.started_at, f"run {run.run_id} started_at")
    if run.ended_at is not None:
        row["ended_at"] = _utc(run.ended_at, f"run {run.run_id} ended_at")
    return tuple(row.values())


# --- validating ---------------------------------------------------------------------


def validate(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` unchanged if it matches the declaration of table `name`; SchemaError if not.

    Checks: the exact columns in the declared order, each with its declared type; no nulls
    in non-nullable columns; the key unique.
    """
    try:
        declared = table(name)
    except KeyError:
        raise SchemaError(name, None, "not a declared table") from None
    expected, actual = declared.schema(), frame.schema
    for column in expected:
        if column not in actual:
            raise SchemaError(name, column, "missing")
    for column in actual:
        if column not in expected:
            raise SchemaError(name, column, "not declared")
    if expected.names() != actual.names():
        raise SchemaError(
            name, None, f"columns in order {actual.names()}, declared {expected.names()}"
        )
    for column, dtype in expected.items():
        if actual[column] != dtype:
            raise SchemaError(name, column, f"type {actual[column]}, declared {dtype}")
    for c in declared.columns:
        nulls = frame[c.name].null_count()
        if not c.nullable and nulls:
            raise SchemaError(name, c.name, f"{nulls} null value(s) in a non-nullable column")
        if c.allowed is not None:
            values = frame.get_column(c.name).drop_nulls().unique()
            unknown = values.filter(~values.is_in(c.allowed))
            if unknown.len():
                raise SchemaError(name, c.name, f"value {unknown[0]!r} is not one of {c.allowed}")
    key = list(declared.key)
    duplicated = frame.filter(frame.select(key).is_duplicated())
    if duplicated.height:
        example = duplicated.select(key).row(0, named=True)
        raise SchemaError(
            name,
            ", ".join(key),
            f"key not unique: {duplicated.height} rows share keys, e.g. {example}",
        )
    return frame


# --- writing and publishing ---------------------------------------------------------


def write_parquet(frame: pl.DataFrame, target: BinaryIO, declared: Table | None = None) -> None:
    """`frame` as Parquet into `target`, with the fixed settings that make the bytes
    reproducible; with `declared`, its non-nullable columns are marked required in the
    file's schema."""
    frame.write_parquet(
        target,
        arrow_schema=declared.arrow_schema(frame) if declared else None,
        **PARQUET_SETTINGS,
    )


PARQUET_SETTINGS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": ZSTD_LEVEL,
    "statistics": True,
    "row_group_size": ROW_GROUP_ROWS,
}


class TableParts:
    """A table too large to hold at once (a run's entries, its papers), made a part at a
    time: each part validated and sorted when appended, the parts in key order (a part's
    first key after the last part's last key), so that together they are the table. A
    table of one part is held as it is; from the second part on, each is set aside as an
    Arrow IPC file in `folder`. Streamed into Parquet with write_parquet's settings, the
    parts give the bytes the whole frame would give (polars' writer either way), and their
    content hash is the whole frame's (tests/test_table_parts.py)."""

    def __init__(self, name: str, folder: Path) -> None:
        self.declared = table(name)
        self.folder = folder
        self.files: list[Path] = []
        self.height = 0
        self._held: pl.DataFrame | None = None
        self._last_key: tuple[tuple[bool, object], ...] | None = None
        self._content = _content_digest(self.empty(), self.declared)

    def append(self, frame: pl.DataFrame) -> None:
        """Add the next rows; InconsistentInputError when they do not come after the last."""
        name = self.declared.name
        frame = _sorted(self.declared, validate(name, frame))
        if frame.is_empty():
            return
        keys = frame.select(self.declared.key)
        first, last = _sort_key(*keys.row(0)), _sort_key(*keys.row(-1))
        if self._last_key is not None and not self._last_key < first:
            raise InconsistentInputError(f"{name}: a part's rows do not follow the last part's")
        _hash_rows(self._content, frame)
        if self._held is None and not self.files:
            self._held = frame
        else:
            if self._held is not None:
                self._set_aside(self._held)
                self._held = None
            self._set_aside(frame)
        self.height += frame.height
        self._last_key = last

    def _set_aside(self, frame: pl.DataFrame) -> None:
        path = self.folder / f"{self.declared.name}-{len(self.files):05d}.arrow"
        # lz4: a fifth of the bytes, for a quarter more time than none.
        frame.write_ipc(path, compression="lz4")
        self.files.append(path)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.declared.schema())

    def scan(self) -> pl.LazyFrame:
        if self._held is not None:
            return self._held.lazy()
        return pl.scan_ipc(self.files) if self.files else self.empty().lazy()

    def content_hash(self) -> str:
        """content_hash of the whole table."""
        return self._content.copy().hexdigest()

    def write_parquet(self, target: BinaryIO) -> None:
        """The table as Parquet into `target`, streamed part by part (write_parquet)."""
        if self._held is not None:
            write_parquet(self._held, target, self.declared)
            return
        arrow_schema = self.declared.arrow_schema(self.empty())
        self.scan().sink_parquet(target, arrow_schema=arrow_schema, **PARQUET_SETTINGS)


class SetAsidePapers:
    """The papers of a run's parts (stored-papers frames), each set aside once, by the part
    that resolved it first: a Parquet file per part in `folder`, sorted by ID, in row
    groups small enough that the papers of an ID range are read without the rest (the
    row groups' statistics). The paper tables are made from them in key order, a range of
    IDs at a time, without decoding the store's records again."""

    ROW_GROUP = 4096

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []
        self._seen = pl.Series("arxiv_id", [], dtype=pl.String)

    def add(self, papers: pl.DataFrame) -> None:
        new = papers.filter(~pl.col("arxiv_id").is_in(self._seen.implode())).sort("arxiv_id")
        if new.is_empty():
            return
        path = self.folder / f"stored-papers-{len(self.files):05d}.parquet"
        new.write_parquet(path, compression="lz4", row_group_size=self.ROW_GROUP)
        self.files.append(path)
        self._seen = pl.concat([self._seen, new.get_column("arxiv_id")])

    def between(self, first: str, last: str) -> pl.DataFrame:
        """The papers whose IDs are `first` to `last`, sorted by ID."""
        if not self.files:
            return pl.DataFrame(schema=STORED_PAPER.schema())
        in_range = pl.col("arxiv_id").is_between(pl.lit(first), pl.lit(last))
        return pl.scan_parquet(self.files).filter(in_range).collect().sort("arxiv_id")


Tables = Mapping[str, pl.DataFrame | TableParts]


def write_generation(
    frames: Tables,
    paths: Paths,
    run_id: str,
    health: Health | None = None,
    kept: Collection[str] = (),
) -> Path:
    """Validate every table and write it into a new, unpublished generation folder, with
    the companion files (schema, DuckDB views, report; `health`: the run's staleness
    assessment, from the tables alone when None; the report's parts drawn from the tables
    are the published page's when they name the same tables). The tables named in `kept`
    are the published generation's, known unchanged by the caller: linked as they are,
    neither validated nor hashed, and their frames need hold only what the report reads
    (REPORT_COLUMNS).

    Nothing under `<out>` that readers see changes; `manifest.json` is written last, so a
    generation with a manifest is complete.
    """
    for name in frames:
        if name not in {t.name for t in TABLES}:
            raise SchemaError(name, None, "not a declared table")
    for t in TABLES:
        if t.name not in frames:
            raise SchemaError(t.name, None, "no frame given for this table")
    ordered = {t.name: _ordered(t, frames[t.name], t.name in kept) for t in TABLES}

    published = store.current_generation(paths)
    if published is not None and published.name == run_id:
        # new_generation_dir empties the folder: that would pull the tables from under readers.
        raise ValueError(f"run {run_id} is the published generation; use a new run id")
    previous = _manifest(published) if published is not None else {}
    if kept and (published is None or not set(kept) <= set(previous)):
        raise InconsistentInputError(f"tables {sorted(kept)} are not all published to be kept")
    generation = store.new_generation_dir(paths, run_id)
    written = {}
    for name, frame in ordered.items():
        if name in kept:
            assert published is not None  # checked above
            store.link_or_copy(published / f"{name}.parquet", generation / f"{name}.parquet")
            written[name] = previous[name]
            continue
        content = content_hash(frame, table(name))
        before = previous.get(name, {})
        if published is not None and before.get("content") == content:
            # The same values make the same bytes: link the published file, encode nothing.
            store.link_or_copy(published / f"{name}.parquet", generation / f"{name}.parquet")
            written[name] = before
        else:
            written[name] = _write_table(generation, name, frame, content)
    key = tables_key(written)
    # Tables of the same content as the published ones (a digest touched, not changed)
    # draw the same report parts: those of the published page are taken over.
    parts = report_parts(published, key) if published is not None else None
    write_companions(generation, report_frames(ordered), run_id, health, key, parts)
    _write_manifest(generation, run_id, written)
    return generation


def _ordered(
    declared: Table, frame: pl.DataFrame | TableParts, kept: bool
) -> pl.DataFrame | TableParts:
    """A table's frame validated and sorted (parts are so as they are made; a kept table is
    the published one)."""
    if kept or isinstance(frame, TableParts):
        return frame
    return _sorted(declared, validate(declared.name, frame))


def report_frames(frames: Tables) -> dict[str, Frame]:
    """The tables as the report and the staleness assessment read them: a table in parts
    as a lazy read of them, which reads only the columns they ask for."""
    return {
        name: frame.scan() if isinstance(frame, TableParts) else frame
        for name, frame in frames.items()
    }


def content_hash(frame: pl.DataFrame | TableParts, declared: Table) -> str:
    """A digest of `frame`'s schema (with the required columns `declared` marks) and values,
    row by row in order, and of the polars version that would write it: with the fixed
    writer settings, equal digests mean equal Parquet bytes, so a table can be known
    unchanged without encoding it. Parts hash as the whole frame they make."""
    if isinstance(frame, TableParts):
        return frame.content_hash()
    h = _content_digest(frame, declared)
    _hash_rows(h, frame)
    return h.hexdigest()


def _content_digest(frame: pl.DataFrame, declared: Table) -> hashlib._Hash:
    """content_hash's digest before any row: of the schemas and the polars version."""
    arrow_schema = declared.arrow_schema(frame)
    return hashlib.sha256(f"{pl.__version__}\0{frame.schema}\0{arrow_schema}\0".encode())


def _hash_rows(digest: hashlib._Hash, frame: pl.DataFrame) -> None:
    digest.update(array("Q", frame.hash_rows(seed=0).to_list()).tobytes())


def _manifest(generation: Path) -> dict[str, Any]:
    """The tables' entries of a generation's manifest; empty when it has none."""
    try:
        tables = json.loads((generation / MANIFEST_NAME).read_bytes())["tables"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return tables if isinstance(tables, dict) else {}


def _write_table(
    generation: Path, name: str, frame: pl.DataFrame | TableParts, content: str
) -> dict[str, Any]:
    """Write one table into `generation`; its manifest entry."""
    path = generation / f"{name}.parquet"
    declared = table(name)
    if isinstance(frame, TableParts):
        store.atomic_write(path, frame.write_parquet)
    else:
        store.atomic_write(path, lambda target: write_parquet(frame, target, declared))
    with path.open("rb") as written:
        sha256 = hashlib.file_digest(written, "sha256").hexdigest()
    return {"file": path.name, "rows": frame.height, "sha256": sha256, "content": content}


def _write_manifest(generation: Path, run_id: str, tables: Mapping[str, Any]) -> None:
    """Last into a generation: a generation with a manifest is complete."""
    manifest = {"run_id": run_id, "tables": dict(tables)}
    store.atomic_write_bytes(
        generation / MANIFEST_NAME,
        (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
    )


def carry_over_tables(paths: Paths, run_id: str, runs: pl.DataFrame, health: Health) -> Path | None:
    """Publish the current generation's tables again under `run_id`, with `runs` (see
    runs_table) as the only table written: the others are hard-linked (copied where links
    are impossible), so the cost does not grow with their size. The companion files are
    written afresh for this run and `health`, its assessment: the report's parts drawn from
    the tables are the current report's (when it names these tables: report_parts), else
    the tables' REPORT_COLUMNS are read to draw them. None, and nothing written, when the
    current generation is not complete (no manifest, a table missing or not Parquet)."""
    current = store.current_generation(paths)
    if current is None or current.name == run_id:
        return None
    previous = _manifest(current)
    carried = [t.name for t in TABLES if t.name != "runs"]
    if any(
        name not in previous or not _is_parquet(current / f"{name}.parquet") for name in carried
    ):
        return None
    key = tables_key(previous)
    parts = report_parts(current, key)
    frames = {"runs": runs}
    if parts is None:
        try:
            frames |= {
                name: pl.read_parquet(current / f"{name}.parquet", columns=REPORT_COLUMNS.get(name))
                for name in carried
            }
        except (OSError, pl.exceptions.PolarsError):
            return None
    generation = store.new_generation_dir(paths, run_id)
    for name in carried:
        store.link_or_copy(current / f"{name}.parquet", generation / f"{name}.parquet")
    written = {name: previous[name] for name in carried}
    written["runs"] = _write_table(generation, "runs", runs, content_hash(runs, table("runs")))
    write_companions(generation, frames, run_id, health, key, parts)
    _write_manifest(generation, run_id, written)
    store.publish_generation(paths, generation, [t.name for t in TABLES], COMPANION_FILES)
    return generation


def _is_parquet(path: Path) -> bool:
    """Whether `path` is a Parquet file (its footer read: not a truncated or foreign file)."""
    try:
        pl.read_parquet_schema(path)
    except (OSError, pl.exceptions.PolarsError):
        return False
    return True


def write_tables(
    frames: Tables,
    paths: Paths,
    run_id: str,
    health: Health | None = None,
    kept: Collection[str] = (),
) -> Path:
    """Write a generation and publish it: readers switch to the new tables all at once.
    `kept`: see write_generation."""
    generation = write_generation(frames, paths, run_id, health, kept)
    store.publish_generation(paths, generation, [t.name for t in TABLES], COMPANION_FILES)
    return generation


def read_table(paths: Paths, name: str, columns: list[str] | None = None) -> pl.DataFrame:
    """The published table `name` (`<out>/<name>.parquet`); with `columns`, only those."""
    table(name)  # an unknown name is a KeyError listing the tables
    path = paths.table(name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no published table {name}; run the pipeline first")
    return pl.read_parquet(path, columns=columns)


def runs_table(runs: Sequence[RunRecord]) -> pl.DataFrame:
    """The `runs` table alone, for a run that carries the other tables over unchanged."""
    return _sorted(table("runs"), validate("runs", _frame("runs", [_run_row(r) for r in runs])))
