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
import io
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import store
from pipeline.model import Mismatch, PaperRecord, Problem, Resolution
from pipeline.store import Paths
from pipeline.tables import TABLES, Table, table

# Fixed writer settings: the bytes of a file may depend on its rows only.
ZSTD_LEVEL = 3  # zstd's own default, stated so a library default change cannot alter bytes
ROW_GROUP_ROWS = 128 * 1024
MANIFEST_NAME = "manifest.json"

# Columns of pipeline.parse.entries_frame that the entries table is built from, and the
# names they get there (the digest's view of a paper gets a _digest/_linked suffix so it
# cannot be confused with arXiv's).
ENTRY_INPUT_COLUMNS: dict[str, str] = {
    "digest": "digest",
    "position": "position",
    "digest_date": "digest_date",
    "layout": "layout",
    "line": "line",
    "title": "title_digest",
    "title_raw": "title_digest_raw",
    "title_translated": "title_translated",
    "abstract": "abstract_digest",
    "authors": "authors_digest",
    "link": "link",
    "arxiv_id": "link_arxiv_id",
    "version": "version_linked",
    "id_status": "id_status",
    "warnings": "warnings",
}

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
EntryKey = tuple[str, int]


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
    digests: int = 0
    entries: int = 0
    parse_problems: int = 0
    ids_requested: int = 0
    found: int = 0
    not_found: int = 0
    invalid: int = 0
    failed: int = 0
    from_store: int = 0
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


assert [f.name for f in fields(RunRecord)] == table("runs").schema().names(), "declare runs once"


# --- building -----------------------------------------------------------------------


def build_tables(
    *,
    entries: pl.DataFrame,
    papers: Mapping[str, PaperRecord],
    resolutions: Sequence[Resolution],
    mismatches: Sequence[Mismatch],
    fetch_log: Sequence[FetchLogRow],
    problems: Sequence[Problem],
    runs: Sequence[RunRecord],
) -> dict[str, pl.DataFrame]:
    """Every output table, validated and sorted by its key.

    `papers` may hold more records than the entries resolve to (e.g. rejected title-search
    candidates); only resolved papers get a row. Raises InconsistentInputError when an entry
    has no resolution or two, or resolves to an ID without a record.
    """
    ordered_mismatches = sorted(mismatches, key=_mismatch_order)
    entries_table = _entries_table(entries, papers, resolutions, ordered_mismatches)
    resolved_ids = sorted(set(entries_table["arxiv_id"].drop_nulls()))
    records = [papers[arxiv_id] for arxiv_id in resolved_ids]
    frames = {
        "entries": entries_table,
        "papers": _papers_table(entries_table, records),
        "authors": _frame(
            "authors",
            [
                (r.arxiv_id, i, a.name, list(a.affiliations))
                for r in records
                for i, a in enumerate(r.authors, start=1)
            ],
        ),
        "categories": _frame(
            "categories",
            [
                (r.arxiv_id, category, i, category == r.primary_category)
                for r in records
                for i, category in enumerate(dict.fromkeys(r.categories), start=1)
            ],
        ),
        "mismatches": _frame("mismatches", _mismatch_rows(ordered_mismatches)),
        "fetch_log": _frame(
            "fetch_log",
            [
                (run_id, arxiv_id, outcome, attempts, reason, _utc(logged_at, "fetch_log"))
                for run_id, arxiv_id, outcome, attempts, reason, logged_at in fetch_log
            ],
        ),
        "problems": _frame("problems", _problem_rows(problems)),
        "runs": _frame("runs", [_run_row(r) for r in runs]),
    }
    return {t.name: _sorted(t, validate(t.name, frames[t.name])) for t in TABLES}


def _frame(name: str, rows: Sequence[Sequence[Any]]) -> pl.DataFrame:
    """A frame of `rows` (tuples in declared column order) with the declared schema."""
    return pl.DataFrame(rows, schema=table(name).schema(), orient="row")


def _sorted(declared: Table, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(list(declared.key), maintain_order=True).rechunk()


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


def _mismatch_order(m: Mismatch) -> tuple[tuple[bool, object], ...]:
    return _sort_key(
        m.digest, m.position, m.kind, m.arxiv_id, m.digest_value, m.arxiv_value,
        m.similarity, m.action,
    )  # fmt: skip


def _mismatch_rows(ordered: Sequence[Mismatch]) -> list[tuple[Any, ...]]:
    """Rows of `mismatches`, numbered within their entry (seq) so that the key is unique."""
    seq: Counter[EntryKey] = Counter()
    rows = []
    for m in ordered:
        seq[(m.digest, m.position)] += 1
        rows.append(
            (m.digest, m.position, seq[(m.digest, m.position)], m.kind, m.arxiv_id,
             m.digest_value, m.arxiv_value, m.similarity, m.action)
        )  # fmt: skip
    return rows


def _entries_table(
    entries: pl.DataFrame,
    papers: Mapping[str, PaperRecord],
    resolutions: Sequence[Resolution],
    ordered_mismatches: Sequence[Mismatch],
) -> pl.DataFrame:
    missing = [c for c in ENTRY_INPUT_COLUMNS if c not in entries.columns]
    if missing:
        raise SchemaError("entries", missing[0], "the parsed entries frame lacks this column")
    digest_entries = entries.select(
        pl.col(source).alias(target) for source, target in ENTRY_INPUT_COLUMNS.items()
    )
    by_entry = _resolutions_by_entry(digest_entries, resolutions)
    kinds: defaultdict[EntryKey, list[str]] = defaultdict(list)
    for m in ordered_mismatches:
        key = (m.digest, m.position)
        if key not in by_entry:
            raise InconsistentInputError(f"mismatch {m.kind} for unknown entry {_name(key)}")
        kinds[key].append(m.kind)

    # Only the reconciled columns are built in Python; the digest's own columns (abstracts
    # included) stay in polars instead of a round trip through one dict per entry.
    keys = list(
        zip(digest_entries["digest"].to_list(), digest_entries["position"].to_list(), strict=True)
    )
    rows = []
    for key in keys:
        resolution = by_entry[key]
        record = None
        if resolution.arxiv_id is not None:
            record = papers.get(resolution.arxiv_id)
            if record is None:
                raise InconsistentInputError(
                    f"entry {_name(key)} resolves to {resolution.arxiv_id}, "
                    "which has no arXiv record"
                )
        rows.append(
            (
                resolution.arxiv_id,
                resolution.resolution,
                resolution.reason,
                resolution.title_similarity,
                record.title if record else None,
                [asdict(c) for c in resolution.candidates],
                kinds[key],
            )
        )
    schema = table("entries").schema()
    reconciled = pl.DataFrame(
        rows, schema={name: schema[name] for name in RECONCILED_ENTRY_COLUMNS}, orient="row"
    )
    return pl.concat([digest_entries, reconciled], how="horizontal").select(
        pl.col(name).cast(dtype) for name, dtype in schema.items()
    )


def _resolutions_by_entry(
    digest_entries: pl.DataFrame, resolutions: Sequence[Resolution]
) -> dict[EntryKey, Resolution]:
    """Each entry's one resolution; anything else is a bug in the reconcile stage."""
    entry_keys = set(digest_entries.select("digest", "position").iter_rows())
    by_entry: dict[EntryKey, Resolution] = {}
    for r in resolutions:
        key = (r.digest, r.position)
        if key not in entry_keys:
            raise InconsistentInputError(f"resolution for unknown entry {_name(key)}")
        if key in by_entry:
            raise InconsistentInputError(f"entry {_name(key)} has two resolutions")
        if (r.arxiv_id is None) != (r.resolution == "unresolved"):
            raise InconsistentInputError(
                f"entry {_name(key)}: resolution {r.resolution} with arxiv_id {r.arxiv_id}"
            )
        by_entry[key] = r
    unresolved = sorted(entry_keys - by_entry.keys())
    if unresolved:
        raise InconsistentInputError(
            f"{len(unresolved)} entries have no resolution, e.g. {_name(unresolved[0])}"
        )
    return by_entry


def _name(key: EntryKey) -> str:
    return f"{key[0]}#{key[1]}"


def _papers_table(entries_table: pl.DataFrame, records: Sequence[PaperRecord]) -> pl.DataFrame:
    declared = table("papers")
    appearance_columns = ["appearances", "digests", "first_digest_date", "last_digest_date"]
    record_schema = pl.Schema(
        (name, dtype) for name, dtype in declared.schema().items() if name not in appearance_columns
    )
    base = pl.DataFrame(
        [
            (
                r.arxiv_id,
                r.version,
                r.title,
                r.abstract,
                [a.name for a in r.authors],
                _utc(r.published, f"{r.arxiv_id} published"),
                _utc(r.updated, f"{r.arxiv_id} updated"),
                r.primary_category,
                r.categories,
                r.comment,
                r.journal_ref,
                r.dois,
                r.datacite_doi,
                r.abs_url,
                r.pdf_url,
                r.withdrawn,
                _utc(r.fetched_at, f"{r.arxiv_id} fetched_at"),
            )
            for r in records
        ],
        schema=record_schema,
        orient="row",
    )
    appearances = (
        entries_table.filter(pl.col("arxiv_id").is_not_null())
        .group_by("arxiv_id")
        .agg(
            appearances=pl.len(),
            digests=pl.col("digest").n_unique(),
            first_digest_date=pl.col("digest_date").min(),
            last_digest_date=pl.col("digest_date").max(),
        )
    )
    return base.join(appearances, on="arxiv_id", how="left").select(
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


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """`frame` as Parquet with the fixed settings that make the bytes reproducible."""
    buffer = io.BytesIO()
    frame.write_parquet(
        buffer,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        statistics=True,
        row_group_size=ROW_GROUP_ROWS,
    )
    return buffer.getvalue()


def write_generation(frames: Mapping[str, pl.DataFrame], paths: Paths, run_id: str) -> Path:
    """Validate every table and write it into a new, unpublished generation folder.

    Nothing under `<out>` that readers see changes; `manifest.json` is written last, so a
    generation with a manifest is complete.
    """
    for name in frames:
        if name not in {t.name for t in TABLES}:
            raise SchemaError(name, None, "not a declared table")
    for t in TABLES:
        if t.name not in frames:
            raise SchemaError(t.name, None, "no frame given for this table")
    ordered = {t.name: _sorted(t, validate(t.name, frames[t.name])) for t in TABLES}

    published = store.current_generation(paths)
    if published is not None and published.name == run_id:
        # new_generation_dir empties the folder: that would pull the tables from under readers.
        raise ValueError(f"run {run_id} is the published generation; use a new run id")
    generation = store.new_generation_dir(paths, run_id)
    manifest: dict[str, Any] = {"run_id": run_id, "tables": {}}
    for name, frame in ordered.items():
        data = parquet_bytes(frame)
        store.atomic_write_bytes(generation / f"{name}.parquet", data)
        manifest["tables"][name] = {
            "file": f"{name}.parquet",
            "rows": frame.height,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    store.atomic_write_bytes(
        generation / MANIFEST_NAME,
        (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
    )
    return generation


def write_tables(frames: Mapping[str, pl.DataFrame], paths: Paths, run_id: str) -> Path:
    """Write a generation and publish it: readers switch to the new tables all at once."""
    generation = write_generation(frames, paths, run_id)
    store.publish_generation(paths, generation, [t.name for t in TABLES])
    return generation


def read_table(paths: Paths, name: str) -> pl.DataFrame:
    """The published table `name` (`<out>/<name>.parquet`)."""
    table(name)  # an unknown name is a KeyError listing the tables
    path = paths.table(name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no published table {name}; run the pipeline first")
    return pl.read_parquet(path)


def runs_table(runs: Sequence[RunRecord]) -> pl.DataFrame:
    """The `runs` table alone, for a run that carries the other tables over unchanged."""
    return _sorted(table("runs"), validate("runs", _frame("runs", [_run_row(r) for r in runs])))
