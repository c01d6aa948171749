"""Paths, state and atomic writes: the one module that knows where things live on disk.

Layout under the two configured folders (nothing is written anywhere else):

    <raw>/digests/...                 input digests (read only)
    <raw>/arxiv/responses/*.xml.gz    every arXiv answer as received, re-parseable offline
    <raw>/arxiv/metadata.sqlite       metadata store: papers, ID outcomes, title searches
    <raw>/arxiv/snapshot-titles-<key>.parquet   normalised titles of the bulk snapshot <key>
    <raw>/arxiv/snapshot-lines-<key>.parquet    where each ID's line of a plain snapshot is
    <raw>/arxiv/.lock                 held while a run uses the store (and talks to arXiv)
    <out>/<table>.parquet             symlinks into the current generation
    <out>/current                     symlink to the generation of the last finished run
    <out>/.generations/<run_id>/      one folder of tables per run
    <out>/.lock                       held while a run is in progress

SQLite commits after every batch, so a killed fetch keeps what it had. Tables are
published by writing a whole generation, then renaming one symlink: a reader sees the
previous run or the new one, never a mix.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import orjson
import polars as pl

from pipeline import tables
from pipeline.model import Author, FetchOutcome, PaperRecord, PaperVersion, authors_named
from pipeline.tables import STORED_PAPER, duckdb_type, sql_literal, sqlite_ddl

DIGESTS_SUBDIR = "digests"
ARXIV_SUBDIR = "arxiv"
GENERATIONS_SUBDIR = ".generations"
SCRATCH_SUBDIR = ".scratch"
CURRENT_LINK = "current"
KEEP_GENERATIONS = 3  # the current one and two before it, for readers mid-read
SNAPSHOT_TITLE_INDEX_PREFIX = "snapshot-titles-"
SNAPSHOT_LINE_INDEX_PREFIX = "snapshot-lines-"


@dataclass(frozen=True)
class Paths:
    raw: Path
    out: Path

    @property
    def digests(self) -> Path:
        return self.raw / DIGESTS_SUBDIR

    @property
    def arxiv(self) -> Path:
        return self.raw / ARXIV_SUBDIR

    @property
    def responses(self) -> Path:
        return self.arxiv / "responses"

    @property
    def metadata_db(self) -> Path:
        return self.arxiv / "metadata.sqlite"

    def snapshot_title_index(self, snapshot_key: str) -> Path:
        """The title index of the snapshot whose `file_signature` hashes to `snapshot_key`."""
        return self.arxiv / f"{SNAPSHOT_TITLE_INDEX_PREFIX}{snapshot_key}.parquet"

    def snapshot_line_index(self, snapshot_key: str) -> Path:
        """The line index (arxiv_id, line, offset, length) of the plain snapshot whose
        `file_signature` hashes to `snapshot_key`."""
        return self.arxiv / f"{SNAPSHOT_LINE_INDEX_PREFIX}{snapshot_key}.parquet"

    @property
    def store_lock_file(self) -> Path:
        return self.arxiv / ".lock"

    @property
    def lock_file(self) -> Path:
        return self.out / ".lock"

    @property
    def generations(self) -> Path:
        return self.out / GENERATIONS_SUBDIR

    @property
    def current(self) -> Path:
        return self.out / CURRENT_LINK

    @property
    def scratch(self) -> Path:
        return self.out / SCRATCH_SUBDIR

    def table(self, name: str) -> Path:
        return self.out / f"{name}.parquet"


def path_name(relative: Path) -> str:
    """A path as tables and problems name it: POSIX, with the bytes of a name that is not
    UTF-8 (another system's encoding) escaped as \\xNN, since Parquet strings are UTF-8."""
    return os.fsencode(relative.as_posix()).decode("utf-8", "backslashreplace")


def utc_now() -> datetime:
    return datetime.now(UTC)


def file_signature(path: Path) -> list[object]:
    """Path, size and modification time: a new file in place of the old one changes it."""
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


# --- atomic file writes -------------------------------------------------------------


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never half."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Have `write` fill a new file that then replaces `path` in one rename: a reader sees
    the old file or the new one, never half. The bytes go straight to the file, never
    held in memory as a whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    # Not mkstemp: its 0600 would keep readers (a dashboard's account) out; 0666 less the
    # umask is what any other written file gets. O_EXCL: a name clash fails, never shares.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:  # (write, fsync): say where
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def link_or_copy(source: Path, target: Path) -> None:
    """Put `source`'s bytes at `target` (which must not exist): a hard link where the file
    system allows one (no bytes copied), else a copy written atomically."""
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        atomic_write_bytes(target, source.read_bytes())


def atomic_symlink(target: str, link: Path) -> None:
    """Point `link` at `target` with one rename (atomic on POSIX)."""
    tmp = link.parent / f".{link.name}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


# --- raw answers --------------------------------------------------------------------


def save_response(paths: Paths, kind: str, request_key: str, body: bytes) -> Path:
    """Keep an arXiv answer exactly as received, gzip'ed, named by time and request hash.

    The name sorts by time, so re-parsing the folder in name order replays history.
    """
    stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
    digest = hashlib.sha1(request_key.encode()).hexdigest()[:12]
    path = paths.responses / f"{stamp}-{kind}-{digest}.xml.gz"
    atomic_write_bytes(path, gzip.compress(body, mtime=0))
    return path


def response_paths(paths: Paths) -> list[Path]:
    """Every stored answer's file, oldest first."""
    if not paths.responses.is_dir():
        return []
    return sorted(paths.responses.glob("*.xml.gz"))


def read_response(path: Path) -> bytes:
    """A stored answer's body. Raises OSError (gzip.BadGzipFile too), EOFError (a truncated
    file) or zlib.error (damaged data) when it cannot be read back."""
    return gzip.decompress(path.read_bytes())


# --- metadata store -----------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    arxiv_id   TEXT PRIMARY KEY,
    record     TEXT NOT NULL,          -- PaperRecord as JSON
    fetched_at TEXT NOT NULL,
    source     TEXT NOT NULL DEFAULT 'api'  -- api, snapshot, oai (PaperRecord.source)
);
-- state_marker and ids_fetched_since read the fetch times alone: an index, not a table scan
-- through every record (0.2 s at 100,000 papers, on every run).
CREATE INDEX IF NOT EXISTS papers_fetched_at ON papers (fetched_at);
CREATE TABLE IF NOT EXISTS id_outcomes (  -- latest outcome per ID, so re-runs ask nothing
    arxiv_id   TEXT PRIMARY KEY,
    outcome    TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    reason     TEXT,
    decided_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS id_outcomes_decided_at ON id_outcomes (decided_at);
CREATE TABLE IF NOT EXISTS runs (        -- the run log; a row is written when a run starts
    run_id     TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    record     TEXT NOT NULL            -- the run's row of the `runs` table, as JSON
);
CREATE TABLE IF NOT EXISTS ledger (      -- what the last complete run consumed
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL                  -- JSON
);
CREATE TABLE IF NOT EXISTS title_searches (
    query       TEXT PRIMARY KEY,       -- normalised title as searched
    arxiv_ids   TEXT NOT NULL,          -- JSON list of IDs returned, in order
    searched_at TEXT NOT NULL
);
""" + sqlite_ddl(tables.table("fetch_log"))  # the fetch_log table, kept here as it is published

# The fetch stage's freshness check reads the fetch time and source of every wanted ID: this
# index covers it, without a lookup per ID in the table of records (fetch_time_groups). Made
# once the papers table has its source column (_add_source_column).
_FETCH_TIMES_INDEX = (
    "CREATE INDEX IF NOT EXISTS papers_fetch_times ON papers (arxiv_id, fetched_at, source)"
)


# A record is stored as one JSON object whose keys and value types are the stored-papers
# frame's (pipeline.tables.STORED_PAPER): the store's rows decode straight into that frame
# (polars' NDJSON reader, no Python object per value). Authors are split into names and the
# few (position, affiliations) pairs that have any.
STORE_FORMAT = 1  # PRAGMA user_version; 0: records as positional JSON arrays (before 1)
# An array has 15 fields, or 18 when written after source, license and versions came (a
# shorter one is a paper from the API, without license or version history).
_ARRAY_TO_OBJECT = """
UPDATE papers SET record = json_object(
    'arxiv_id', record->>0, 'version', record->1, 'title', record->>2, 'abstract', record->>3,
    'authors', json(record->4),
    'affiliated', (SELECT json_group_array(json_object('position', value->0,
                                                       'affiliations', json(value->1)))
                   FROM json_each(record->5)),
    'published', record->>6, 'updated', record->>7, 'primary_category', record->>8,
    'categories', json(record->9), 'comment', record->10, 'journal_ref', record->11,
    'dois', json(record->12), 'withdrawn', json(record->13),
    'license', record->>16, 'source', coalesce(record->>15, 'api'),
    'fetched_at', record->>14,
    'versions', json((SELECT json_group_array(json_object('version', value->0,
                                                          'submitted', value->>1,
                                                          'size_kb', value->2,
                                                          'source_type', value->3))
                      FROM json_each(record->17)))
) WHERE json_type(record) = 'array'
"""
FRAME_ROWS = 20_000  # stored records decoded per NDJSON read: bounds the text held at once


def record_to_json(record: PaperRecord) -> str:
    authors = record.authors
    return orjson.dumps(
        {
            "arxiv_id": record.arxiv_id,
            "version": record.version,
            "title": record.title,
            "abstract": record.abstract,
            "authors": [a.name for a in authors],
            "affiliated": [
                {"position": i, "affiliations": a.affiliations}
                for i, a in enumerate(authors)
                if a.affiliations
            ],
            "published": record.published.isoformat(),
            "updated": record.updated.isoformat(),
            "primary_category": record.primary_category,
            "categories": record.categories,
            "comment": record.comment,
            "journal_ref": record.journal_ref,
            "dois": record.dois,
            "withdrawn": record.withdrawn,
            "license": record.license,
            "source": record.source,
            "fetched_at": record.fetched_at.isoformat(),
            "versions": [
                {
                    "version": v.version,
                    "submitted": v.submitted.isoformat(),
                    "size_kb": v.size_kb,
                    "source_type": v.source_type,
                }
                for v in record.versions
            ],
        }
    ).decode()


def record_from_json(text: str) -> PaperRecord:
    return record_from_dict(orjson.loads(text))


def record_from_dict(value: Mapping[str, Any]) -> PaperRecord:
    """A record from a stored record's fields: its JSON object, or a stored-papers frame's
    row (the frame's columns are the object's keys)."""
    names = value["authors"]
    authors = authors_named(names)
    for item in value["affiliated"]:
        position = item["position"]
        authors[position] = Author(names[position], tuple(item["affiliations"]))
    return PaperRecord(
        arxiv_id=value["arxiv_id"],
        version=value["version"],
        title=value["title"],
        abstract=value["abstract"],
        authors=authors,
        published=datetime.fromisoformat(value["published"]),
        updated=datetime.fromisoformat(value["updated"]),
        primary_category=value["primary_category"],
        categories=value["categories"],
        comment=value["comment"],
        journal_ref=value["journal_ref"],
        dois=value["dois"],
        withdrawn=value["withdrawn"],
        fetched_at=datetime.fromisoformat(value["fetched_at"]),
        source=value["source"],
        license=value["license"],
        versions=[
            PaperVersion(
                v["version"], datetime.fromisoformat(v["submitted"]), v["size_kb"], v["source_type"]
            )
            for v in value["versions"]
        ],
    )


def records_frame(texts: Iterable[str]) -> pl.DataFrame:
    """Stored records (JSON texts, see record_to_json) as one stored-papers frame, decoded
    FRAME_ROWS at a time by DuckDB's JSON functions (polars' own reader takes about three
    times as long on the nested columns). Timestamps stay ISO text here: the write stage
    turns them into UTC and names a record whose time has no zone."""
    schema = STORED_PAPER.schema()
    structure = json.dumps({name: duckdb_type(dtype) for name, dtype in schema.items()})
    rows = iter(texts)
    frames = []
    with duckdb.connect() as db:
        while chunk := list(islice(rows, FRAME_ROWS)):
            db.register("chunk", pl.DataFrame({"record": pl.Series(chunk, dtype=pl.String)}))
            # from_json takes its structure as a constant, not a parameter.
            query = f"SELECT unnest(from_json(record, {sql_literal(structure)})) FROM chunk"
            frames.append(db.sql(query).pl())
            db.unregister("chunk")
    return pl.concat(frames).cast(dict(schema)) if frames else pl.DataFrame(schema=schema)


class FrameRecords(Mapping[str, PaperRecord]):
    """The papers of a stored-papers frame by ID, each decoded when looked up and not kept:
    a stage that settles most entries on the frame's columns decodes only the few it judges
    one by one."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        ids = frame.get_column("arxiv_id").to_list()
        self._rows = dict(zip(ids, range(len(ids)), strict=True))

    def __getitem__(self, arxiv_id: str) -> PaperRecord:
        return record_from_dict(self.frame.row(self._rows[arxiv_id], named=True))

    def __contains__(self, arxiv_id: object) -> bool:
        return arxiv_id in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


class StoredRecords(Mapping[str, PaperRecord]):
    """The stored papers of some IDs, decoded when looked up and not kept: a stage that
    reads one record per entry holds a batch of records at a time, not all of them (memory
    at scale). A lookup decodes the next RECORDS_PER_LOOKUP IDs in the order given with it,
    one query for the batch: stages look papers up in about that order (the entries').
    Valid while its store is open."""

    RECORDS_PER_LOOKUP = 1000

    def __init__(self, db: sqlite3.Connection, ids: Iterable[str]) -> None:
        self._db = db
        self._ids = list(dict.fromkeys(ids))
        self._index = dict(zip(self._ids, range(len(self._ids)), strict=True))
        self._batch: dict[str, PaperRecord] = {}

    def __getitem__(self, arxiv_id: str) -> PaperRecord:
        if arxiv_id not in self._batch:
            start = self._index[arxiv_id]  # KeyError for an ID not among them
            batch = self._ids[start : start + self.RECORDS_PER_LOOKUP]
            rows = self._db.execute(
                "SELECT record FROM papers WHERE arxiv_id IN (SELECT value FROM json_each(?))",
                (json.dumps(batch),),
            )
            records = (record_from_json(text) for (text,) in rows)
            self._batch = {record.arxiv_id: record for record in records}
        return self._batch[arxiv_id]

    def __contains__(self, arxiv_id: object) -> bool:
        return arxiv_id in self._index  # without decoding the record

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class StoreError(Exception):
    """The metadata store cannot be used: it cannot be opened or written (a full disk, a
    read-only folder), or it is damaged or not a SQLite database. The message names the
    file and the way out."""


def is_store_failure(exc: BaseException) -> bool:
    """A SQLite error that is the environment's or the file's doing, not the code's: the
    disk (full, I/O error, read-only, locked) or damage ("malformed", "not a database").
    IntegrityError, ProgrammingError and the like stay bugs."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def store_failure(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    """The StoreError for a SQLite error met using the store at `path`, with the way out."""
    name = getattr(exc, "sqlite_errorname", "")
    # A write to a full tmpfs or disk can also come back as an I/O error (the WAL's
    # shared memory, say): the free space tells which it was.
    if name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _nearly_full(path.parent)):
        advice = (
            f"the file system holding {path.parent} is full: free space there and run again "
            "(what the store held is kept, the published tables are left as they were)"
        )
    elif isinstance(exc, sqlite3.OperationalError):
        advice = (
            f"check that {path.parent} is writable and its disk healthy (`df`, `dmesg`), "
            "then run again; the published tables are left as they were"
        )
    else:  # damaged pages, or not a database at all
        advice = (
            f"the file is damaged: move it aside with its -wal and -shm files (e.g. "
            f"`mv {path} {path}.damaged`), then run `python -m pipeline rebuild-store` to "
            "rebuild the papers from the kept arXiv answers (or just run again: they are "
            "fetched afresh); the published tables are left as they were"
        )
    return StoreError(f"metadata store {path}: {exc}; {advice}")


NEARLY_FULL_BYTES = 1024 * 1024


def _nearly_full(folder: Path) -> bool:
    try:
        vfs = os.statvfs(folder)
    except OSError:
        return False
    return vfs.f_bavail * vfs.f_frsize < NEARLY_FULL_BYTES


class MetadataStore:
    """SQLite store keyed by arXiv ID. Each write commits, so an interrupted run resumes.

    Used as a context manager, it turns the SQLite errors of a full disk or a damaged file
    met inside the block into a StoreError naming the file and the way out.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=30)
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(_SCHEMA)
                self._add_source_column()
                self.db.execute(_FETCH_TIMES_INDEX)
                self._upgrade()
            except BaseException:
                self.db.close()
                raise
        except sqlite3.DatabaseError as exc:
            raise store_failure(path, exc) from exc

    def _add_source_column(self) -> None:
        """A store made before papers had a source: every paper in it came from the API."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(papers)")}
        if "source" not in columns:
            with self.db:
                self.db.execute("ALTER TABLE papers ADD COLUMN source TEXT NOT NULL DEFAULT 'api'")

    def _upgrade(self) -> None:
        """Bring a store written by an older version to STORE_FORMAT, in one transaction."""
        (version,) = self.db.execute("PRAGMA user_version").fetchone()
        if version >= STORE_FORMAT:
            return
        with self.db:
            self.db.execute(_ARRAY_TO_OBJECT)
            self.db.execute(f"PRAGMA user_version = {STORE_FORMAT}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.close()
        if isinstance(exc, sqlite3.DatabaseError) and is_store_failure(exc):
            raise store_failure(self.path, exc) from exc

    # papers
    def put_papers(self, records: Iterable[PaperRecord]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO papers (arxiv_id, record, fetched_at, source) "
                "VALUES (?, ?, ?, ?)",
                [
                    (r.arxiv_id, record_to_json(r), r.fetched_at.isoformat(), r.source)
                    for r in records
                ],
            )

    def get_papers(self, ids: Iterable[str] | None = None) -> dict[str, PaperRecord]:
        """The stored papers among `ids` (all stored papers when None), by ID."""
        records = (record_from_json(text) for (text,) in self._select("record", "papers", ids))
        return {record.arxiv_id: record for record in records}

    def papers_frame(self, ids: Iterable[str] | None = None) -> pl.DataFrame:
        """The stored papers among `ids` (all when None) as a stored-papers frame
        (pipeline.tables.STORED_PAPER), sorted by ID, without a Python object per paper."""
        rows = self._select("record", "papers", ids, order_by="arxiv_id")
        return records_frame(text for (text,) in rows)

    def stored_records(self, ids: Iterable[str]) -> StoredRecords:
        """The stored papers of `ids` (IDs known to be stored) by ID, each decoded only when
        looked up."""
        return StoredRecords(self.db, ids)

    def ids_fetched_since(self, moment: datetime) -> set[str]:
        """IDs of the papers stored at or after `moment`, e.g. those the current run fetched."""
        return set(self.fetched_since_frame(moment).get_column("arxiv_id"))

    def answer_counts(self, ids: Iterable[str]) -> dict[str, int]:
        """How many of `ids` (distinct) the store answers each way: `found` where the paper
        is stored, else the ID's latest outcome, `invalid` for an ID arXiv was never asked
        about (one the fetch stage rejects by its form). One query, no row per ID; an
        outcome is looked up only for an ID whose paper is not stored (coalesce stops at the
        first value): joining both tables for every ID took four times as long."""
        rows = self.db.execute(
            "SELECT coalesce((SELECT 'found' FROM papers WHERE arxiv_id = j.value),"
            " (SELECT outcome FROM id_outcomes WHERE arxiv_id = j.value), 'invalid') AS kind,"
            " count(*) FROM json_each(?) AS j GROUP BY kind",
            (json.dumps(list(ids)),),
        )
        return dict(rows.fetchall())

    def get_fetched_at(self, ids: Iterable[str]) -> dict[str, tuple[datetime, str]]:
        """When and from which source each stored paper among `ids` was read, undecoded."""
        rows = self._select("arxiv_id, fetched_at, source", "papers", ids)
        return {arxiv_id: (datetime.fromisoformat(at), src) for arxiv_id, at, src in rows}

    def fetched_since_frame(self, moment: datetime) -> pl.DataFrame:
        """(arxiv_id, fetched_at as stored: ISO text, source) of the papers stored at or
        after `moment`, e.g. those the current run fetched."""
        rows = self.db.execute(
            "SELECT arxiv_id, fetched_at, source FROM papers WHERE fetched_at >= ?",
            (moment.isoformat(),),
        ).fetchall()
        schema = {"arxiv_id": pl.String, "fetched_at": pl.String, "source": pl.String}
        return pl.DataFrame(rows, schema=schema, orient="row")

    def fetch_time_groups(self, ids: Iterable[str]) -> Iterator[tuple[str, str, list[str]]]:
        """The stored papers among `ids` grouped by when and from which source they were
        read: (fetched_at as stored, ISO text; source; their IDs). Papers fetched in one
        batch share both, so a caller judging a million IDs judges a few hundred groups, and
        no Python row is made per paper. One query, on the index of fetch times."""
        rows = self.db.execute(
            "SELECT fetched_at, source, json_group_array(arxiv_id)"
            " FROM papers INDEXED BY papers_fetch_times"
            " WHERE arxiv_id IN (SELECT value FROM json_each(?)) GROUP BY fetched_at, source",
            (json.dumps(list(ids)),),
        )
        return ((at, source, orjson.loads(group)) for at, source, group in rows)

    def _select(
        self, columns: str, table: str, ids: Iterable[str] | None, order_by: str | None = None
    ) -> sqlite3.Cursor:
        """`columns` of the rows of `table` whose arxiv_id is in `ids` (all when None),
        as a cursor, so that rows stream instead of all being held at once."""
        query = f"SELECT {columns} FROM {table}"
        order = f" ORDER BY {order_by}" if order_by else ""
        if ids is None:
            return self.db.execute(query + order)
        # All IDs in one JSON parameter: one query however many, no bound-parameter limit.
        return self.db.execute(
            f"{query} WHERE arxiv_id IN (SELECT value FROM json_each(?)){order}",
            (json.dumps(list(ids)),),
        )

    # outcomes
    def put_outcomes(self, run_id: str, outcomes: Iterable[FetchOutcome]) -> None:
        now = utc_now().isoformat()
        rows = [(o.arxiv_id, o.outcome, o.attempts, o.reason) for o in outcomes]
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO id_outcomes VALUES (?, ?, ?, ?, ?)",
                [(*r, now) for r in rows],
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO fetch_log VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, *r, now) for r in rows],
            )

    def get_outcomes(self, ids: Iterable[str] | None = None) -> dict[str, tuple[str, datetime]]:
        """Latest outcome and when it was decided, per ID among `ids` (every ID when None)."""
        rows = self._select("arxiv_id, outcome, decided_at", "id_outcomes", ids)
        return {a: (o, datetime.fromisoformat(t)) for a, o, t in rows}

    def fetch_log_rows(self) -> Iterator[tuple[str, str, str, int, str | None, str]]:
        """The fetch log's rows in order, read as they are consumed (a million rows as
        Python tuples at once would take as much memory as the rest of a run)."""
        return self.db.execute(
            f"SELECT {', '.join(tables.table('fetch_log').schema())} FROM fetch_log "
            "ORDER BY logged_at, run_id, arxiv_id"
        )

    # run log
    def put_run(self, run_id: str, started_at: datetime, record: dict[str, object]) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?)",
                (run_id, started_at.isoformat(), json.dumps(record, default=str, sort_keys=True)),
            )

    def get_runs(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT record FROM runs ORDER BY started_at, run_id")
        return [json.loads(r[0]) for r in rows]

    # title searches
    def put_title_search(self, query: str, arxiv_ids: list[str]) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO title_searches VALUES (?, ?, ?)",
                (query, json.dumps(arxiv_ids), utc_now().isoformat()),
            )

    def put_title_searches(self, searches: dict[str, list[str]]) -> None:
        """Store many searches (query -> IDs) in one transaction."""
        now = utc_now().isoformat()
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO title_searches VALUES (?, ?, ?)",
                [(query, json.dumps(ids), now) for query, ids in searches.items()],
            )

    def get_title_searches(self, since: datetime | None = None) -> dict[str, list[str]]:
        """Stored searches by query; with `since`, only those made at or after it."""
        rows = self.db.execute("SELECT query, arxiv_ids, searched_at FROM title_searches")
        return {
            q: json.loads(ids)
            for q, ids, at in rows
            if since is None or datetime.fromisoformat(at) >= since
        }

    def title_search_times(self, queries: Iterable[str]) -> list[datetime]:
        """When each of these stored searches was made (unknown queries are skipped)."""
        rows = self.db.execute(
            "SELECT searched_at FROM title_searches"
            " WHERE query IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(set(queries))),),
        )
        return [datetime.fromisoformat(at) for (at,) in rows]

    # ledger: lets a re-run with nothing new skip the stages (git-history's idea)
    def state_marker(self) -> list[object]:
        """Changes whenever papers, ID outcomes or title searches change."""
        marker: list[object] = []
        for table, column in (
            ("papers", "fetched_at"),
            ("id_outcomes", "decided_at"),
            ("title_searches", "searched_at"),
        ):
            marker += self.db.execute(f"SELECT count(*), max({column}) FROM {table}").fetchone()
        return marker

    def put_ledger(self, name: str, value: dict[str, Any]) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO ledger VALUES (?, ?)",
                (name, json.dumps(value, default=str, sort_keys=True)),
            )

    def get_ledger(self, name: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT value FROM ledger WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None


def _digest_stats(paths: Paths) -> list[tuple[Path, str, os.stat_result]]:
    """Every file under the digests folder: its path, its name as tables give it (relative
    to the digests folder, see path_name) and its stat."""
    if not paths.digests.is_dir():
        return []
    return [
        (path, path_name(path.relative_to(paths.digests)), path.stat())
        for path in sorted(paths.digests.rglob("*"))
        if path.is_file()
    ]


# [size, mtime_ns, sha256 of the content or None when it could not be read], as JSON keeps it
DigestFileState = list[Any]


def digest_files(paths: Paths, known: Mapping[str, DigestFileState]) -> dict[str, DigestFileState]:
    """Every file under the digests folder, named as entries name their digest (relative to
    the raw folder), with its size, modification time and content hash. A file whose size
    and time are as `known` records them keeps the recorded hash (git's index does the
    same), so only new and touched files are read. A file that cannot be read has no hash
    (the parse stage reports it) and is read again next time."""
    files: dict[str, DigestFileState] = {}
    for path, name, stat in _digest_stats(paths):
        source = f"{DIGESTS_SUBDIR}/{name}"
        size, mtime_ns = stat.st_size, stat.st_mtime_ns
        before = known.get(source)
        if before is not None and before[2] is not None and before[:2] == [size, mtime_ns]:
            files[source] = before
            continue
        try:
            with path.open("rb") as fh:
                content = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError:
            content = None
        files[source] = [size, mtime_ns, content]
    return files


# --- publishing tables --------------------------------------------------------------


@contextmanager
def scratch_dir(paths: Paths, run_id: str) -> Iterator[Path]:
    """An empty folder for one run's files that no reader sees (its tables in parts),
    removed when the run ends. Called under the run's lock: whatever else is there was
    left by a killed run and goes first."""
    shutil.rmtree(paths.scratch, ignore_errors=True)
    folder = paths.scratch / run_id
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(paths.scratch, ignore_errors=True)


def new_generation_dir(paths: Paths, run_id: str) -> Path:
    """An empty folder to write one run's tables into before they are published."""
    gen = paths.generations / run_id
    if gen.exists():
        shutil.rmtree(gen)
    gen.mkdir(parents=True)
    return gen


def publish_generation(
    paths: Paths, gen: Path, table_names: Iterable[str], other_files: Iterable[str] = ()
) -> None:
    """Make `gen` the current generation with one atomic rename, then tidy up.

    `<out>/<table>.parquet` (and `<out>/<file>` for each of `other_files`) are stable
    symlinks through `<out>/current`, so flipping `current` publishes every file of the
    run at once.
    """
    for file_name in [f"{name}.parquet" for name in table_names] + list(other_files):
        link = paths.out / file_name
        target = f"{CURRENT_LINK}/{file_name}"
        if not (link.is_symlink() and os.readlink(link) == target):
            atomic_symlink(target, link)
    atomic_symlink(f"{GENERATIONS_SUBDIR}/{gen.name}", paths.current)
    _prune_generations(paths, keep=gen.name)


def _prune_generations(paths: Paths, keep: str) -> None:
    others = sorted(p for p in paths.generations.iterdir() if p.is_dir() and p.name != keep)
    for g in others[: max(0, len(others) - (KEEP_GENERATIONS - 1))]:
        shutil.rmtree(g, ignore_errors=True)


def current_generation(paths: Paths) -> Path | None:
    return paths.current.resolve() if paths.current.is_symlink() else None
