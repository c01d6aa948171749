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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import store
from pipeline.companions import COMPANION_FILES, write_companions
from pipeline.health import Health
from pipeline.model import Mismatch, PaperRecord, Problem, Resolution
from pipeline.store import Paths
from pipeline.tables import CANDIDATE, TABLES, Table, table

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


assert [f.name for f in fields(RunRecord)] == table("runs").schema().names(), "declare runs once"


# --- building -----------------------------------------------------------------------
#
# polars converts a nested Python list cell by cell (~15 us each, plus a Series per cell),
# which dominated the stage at 100,000 entries. So every list column is built from a flat
# frame, one row per list item, and nested with group_by/agg; Python only makes flat lists
# of plain values (no tuple or dict per row, which also keeps the garbage collector idle).


def build_tables(
    *,
    entries: pl.DataFrame,
    papers: Mapping[str, PaperRecord],
    resolutions: Sequence[Resolution],
    mismatches: Sequence[Mismatch],
    fetch_log: Sequence[FetchLogRow],
    problems: Sequence[Problem],
    runs: Sequence[RunRecord],
    inputs_read: Callable[[], None] | None = None,
) -> dict[str, pl.DataFrame]:
    """Every output table, validated and sorted by its key.

    `papers` may hold more records than the entries resolve to (e.g. rejected title-search
    candidates); only resolved papers get a row. Raises InconsistentInputError when an entry
    has no resolution or two, or resolves to an ID without a record.

    `inputs_read` is called once `papers`, `resolutions` and `mismatches` have been turned
    into frames, so that a caller can drop them before the larger frames are built (at
    scale the records and the frames would otherwise peak together).
    """
    mismatches_table = _mismatches_table(mismatches)
    entries_table = _entries_table(entries, papers, resolutions, mismatches_table)
    resolved_ids = entries_table["arxiv_id"].drop_nulls().unique().sort().to_list()
    records = [papers[arxiv_id] for arxiv_id in resolved_ids]
    authors_table = _authors_table(records)
    listed_categories = _listed_categories(records)
    paper_columns, dois = _paper_frames(records)
    versions_table = _versions_table(records)
    del records
    if inputs_read is not None:
        inputs_read()
    papers_table = _papers_table(
        paper_columns, dois, entries_table, authors_table, listed_categories
    )
    frames = {
        "entries": entries_table,
        "papers": papers_table,
        "authors": authors_table,
        "categories": _categories_table(listed_categories, papers_table),
        "versions": versions_table,
        "mismatches": mismatches_table,
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
    papers: Mapping[str, PaperRecord],
    resolutions: Sequence[Resolution],
    mismatches_table: pl.DataFrame,
) -> pl.DataFrame:
    missing = [c for c in ENTRY_INPUT_COLUMNS if c not in entries.columns]
    if missing:
        raise SchemaError("entries", missing[0], "the parsed entries frame lacks this column")
    schema = table("entries").schema()
    digest_entries = entries.select(
        pl.col(source).alias(target).cast(schema[target])
        for source, target in ENTRY_INPUT_COLUMNS.items()
    )
    entry_keys = digest_entries.select("digest", "position")
    resolved = _resolutions_frame(entry_keys, resolutions)
    unknown = mismatches_table.join(
        entry_keys, on=["digest", "position"], how="anti", maintain_order="left"
    )
    if unknown.height:
        m = unknown.row(0, named=True)
        raise InconsistentInputError(
            f"mismatch {m['kind']} for unknown entry {m['digest']}#{m['position']}"
        )
    resolved_ids = resolved["arxiv_id"].drop_nulls().unique(maintain_order=True).to_list()
    unfetched = [arxiv_id for arxiv_id in resolved_ids if arxiv_id not in papers]
    if unfetched:
        example = resolved.join(entry_keys, on=["digest", "position"], maintain_order="right")
        key = example.filter(pl.col("arxiv_id").is_in(unfetched)).row(0, named=True)
        raise InconsistentInputError(
            f"entry {key['digest']}#{key['position']} resolves to {key['arxiv_id']}, "
            "which has no arXiv record"
        )
    titles = pl.DataFrame(
        {"arxiv_id": resolved_ids, "title_arxiv": [papers[i].title for i in resolved_ids]},
        schema={"arxiv_id": pl.String, "title_arxiv": pl.String},
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


def _resolutions_frame(entry_keys: pl.DataFrame, resolutions: Sequence[Resolution]) -> pl.DataFrame:
    """Each entry's one resolution with its candidates, keyed by (digest, position);
    anything but one resolution per entry is a bug in the reconcile stage."""
    frame = _columns(
        "entries",
        {
            "digest": [r.digest for r in resolutions],
            "position": [r.position for r in resolutions],
            "arxiv_id": [r.arxiv_id for r in resolutions],
            "resolution": [r.resolution for r in resolutions],
            "resolution_reason": [r.reason for r in resolutions],
            "title_similarity": [r.title_similarity for r in resolutions],
        },
    ).with_row_index("resolution_index")
    found = pl.Series("title_found", [r.title_found for r in resolutions], dtype=pl.String)
    frame = frame.with_columns(found)
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


def _authors_table(records: Sequence[PaperRecord]) -> pl.DataFrame:
    authors = [a for r in records for a in r.authors]
    authors_frame = _columns(
        "authors",
        {
            "arxiv_id": [r.arxiv_id for r in records for _ in r.authors],
            "position": [i for r in records for i in range(1, len(r.authors) + 1)],
            "name": [a.name for a in authors],
        },
    ).with_row_index("author_index")
    # Most authors have no affiliation: only the ones they have become rows.
    affiliations = pl.DataFrame(
        {
            "author_index": pl.Series(
                [i for i, a in enumerate(authors) for _ in a.affiliations], dtype=pl.UInt32
            ),
            "affiliation": pl.Series(
                [affiliation for a in authors for affiliation in a.affiliations], dtype=pl.String
            ),
        }
    )
    return _with_lists(
        authors_frame, "author_index", affiliations, affiliations=pl.col("affiliation")
    ).drop("author_index")


def _listed_categories(records: Sequence[PaperRecord]) -> pl.DataFrame:
    """(arxiv_id, category) as arXiv lists them, a repeat included, in record order."""
    return _columns(
        "categories",
        {
            "arxiv_id": [r.arxiv_id for r in records for _ in r.categories],
            "category": [c for r in records for c in r.categories],
        },
    )


def _categories_table(listed: pl.DataFrame, papers_table: pl.DataFrame) -> pl.DataFrame:
    # A category listed twice is one row, at its first position.
    distinct = listed.unique(["arxiv_id", "category"], keep="first", maintain_order=True)
    primary = papers_table.select("arxiv_id", "primary_category")
    return distinct.join(primary, on="arxiv_id", how="left", maintain_order="left").select(
        "arxiv_id",
        "category",
        position=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("arxiv_id"),
        is_primary=pl.col("category") == pl.col("primary_category"),
    )


def _paper_frames(records: Sequence[PaperRecord]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The papers' own columns, one row per record, and their DOIs, one row per DOI."""
    base = _columns(
        "papers",
        {
            "arxiv_id": [r.arxiv_id for r in records],
            "version": [r.version for r in records],
            "title": [r.title for r in records],
            "abstract": [r.abstract for r in records],
            "published": [_utc(r.published, f"{r.arxiv_id} published") for r in records],
            "updated": [_utc(r.updated, f"{r.arxiv_id} updated") for r in records],
            "primary_category": [r.primary_category for r in records],
            "comment": [r.comment for r in records],
            "journal_ref": [r.journal_ref for r in records],
            "datacite_doi": [r.datacite_doi for r in records],
            "abs_url": [r.abs_url for r in records],
            "pdf_url": [r.pdf_url for r in records],
            "withdrawn": [r.withdrawn for r in records],
            "license": [r.license for r in records],
            "source": [r.source for r in records],
            "fetched_at": [_utc(r.fetched_at, f"{r.arxiv_id} fetched_at") for r in records],
        },
    )
    dois = pl.DataFrame(
        {
            "arxiv_id": pl.Series([r.arxiv_id for r in records for _ in r.dois], dtype=pl.String),
            "doi": pl.Series([d for r in records for d in r.dois], dtype=pl.String),
        }
    )
    return base, dois


def _versions_table(records: Sequence[PaperRecord]) -> pl.DataFrame:
    """The version history of the records whose source gave one, one row per version."""
    return _columns(
        "versions",
        {
            "arxiv_id": [r.arxiv_id for r in records for _ in r.versions],
            "version": [v.version for r in records for v in r.versions],
            "submitted": [
                _utc(v.submitted, f"{r.arxiv_id}v{v.version}") for r in records for v in r.versions
            ],
            "size_kb": [v.size_kb for r in records for v in r.versions],
            "source_type": [v.source_type for r in records for v in r.versions],
        },
    )


def _papers_table(
    base: pl.DataFrame,
    dois: pl.DataFrame,
    entries_table: pl.DataFrame,
    authors_table: pl.DataFrame,
    listed_categories: pl.DataFrame,
) -> pl.DataFrame:
    """`base` (see _paper_frames) with its list columns and the entries' counts."""
    declared = table("papers")
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
    with_lists = _with_lists(base, "arxiv_id", authors_table, authors=pl.col("name"))
    with_lists = _with_lists(
        with_lists, "arxiv_id", listed_categories, categories=pl.col("category")
    )
    with_lists = _with_lists(with_lists, "arxiv_id", dois, doi=pl.col("doi"))
    return with_lists.join(appearances, on="arxiv_id", how="left").select(
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
            values = frame[c.name].drop_nulls().unique()
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


def parquet_bytes(frame: pl.DataFrame, declared: Table | None = None) -> bytes:
    """`frame` as Parquet with the fixed settings that make the bytes reproducible; with
    `declared`, its non-nullable columns are marked required in the file's schema."""
    buffer = io.BytesIO()
    frame.write_parquet(
        buffer,
        arrow_schema=declared.arrow_schema(frame) if declared else None,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        statistics=True,
        row_group_size=ROW_GROUP_ROWS,
    )
    return buffer.getvalue()


def write_generation(
    frames: Mapping[str, pl.DataFrame], paths: Paths, run_id: str, health: Health | None = None
) -> Path:
    """Validate every table and write it into a new, unpublished generation folder, with
    the companion files (schema, DuckDB views, report; `health`: the run's staleness
    assessment, from the tables alone when None).

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
        data = parquet_bytes(frame, table(name))
        store.atomic_write_bytes(generation / f"{name}.parquet", data)
        manifest["tables"][name] = {
            "file": f"{name}.parquet",
            "rows": frame.height,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    write_companions(generation, ordered, run_id, health)
    store.atomic_write_bytes(
        generation / MANIFEST_NAME,
        (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
    )
    return generation


def write_tables(
    frames: Mapping[str, pl.DataFrame], paths: Paths, run_id: str, health: Health | None = None
) -> Path:
    """Write a generation and publish it: readers switch to the new tables all at once."""
    generation = write_generation(frames, paths, run_id, health)
    store.publish_generation(paths, generation, [t.name for t in TABLES], COMPANION_FILES)
    return generation


def read_table(paths: Paths, name: str, columns: list[str] | None = None) -> pl.DataFrame:
    """The published table `name` (`<out>/<name>.parquet`), all columns or `columns`."""
    table(name)  # an unknown name is a KeyError listing the tables
    path = paths.table(name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no published table {name}; run the pipeline first")
    return pl.read_parquet(path, columns=columns)


def runs_table(runs: Sequence[RunRecord]) -> pl.DataFrame:
    """The `runs` table alone, for a run that carries the other tables over unchanged."""
    return _sorted(table("runs"), validate("runs", _frame("runs", [_run_row(r) for r in runs])))
