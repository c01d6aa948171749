"""arXiv's bulk metadata snapshot as a source of papers, read without a single request.

The snapshot (Kaggle `Cornell-University/arxiv`, `arxiv-metadata-oai-snapshot.json`) is JSON
Lines, one object per paper, about 3 million lines and several GB (docs/arxiv.md §10). It is
read as a stream of blocks, never whole: in each block only the lines of wanted IDs are
parsed (by polars, as one frame), the others are skipped by their `"id"` prefix. polars'
own `scan_ndjson` memory-maps a plain file and inflates a gzip'ed one whole before scanning,
so its peak memory grows with the file (bench/snapshot.py measures both).

Each wanted line becomes a row of a stored-papers frame (pipeline.tables.STORED_PAPER, as
the store keeps papers), held as columns and decoded on lookup into the same `PaperRecord`
as an Atom answer would be (docs/arxiv.md §4 and §10): authors in order from
`authors_parsed` ("First Last Suffix"; a 4th element is an affiliation), version 1 and
latest dates from `versions`, categories primary first, whitespace collapsed; plus what
only the snapshot has: the license and the version history.
The papers are not copied into the metadata store (pipeline.fetch.papers says why), except
those the title index (snapshot_titles.py) finds for an entry without ID. The pass that
builds the title index also writes a plain file's line index (where each ID's first line
begins): with it, only the wanted lines are read, not the whole file.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate, islice
from pathlib import Path
from typing import IO, cast

import orjson
import polars as pl
from isal import igzip, isal_zlib
from polars._typing import PolarsDataType

from pipeline.fetch.atom import is_withdrawal
from pipeline.model import Problem
from pipeline.pool import available_cores, started_ahead
from pipeline.store import FrameRecords, file_signature
from pipeline.tables import STORED_PAPER

# Read at a time; bounds memory whatever the file's size. Not larger: glibc maps a buffer
# of 32 MB afresh each time, so every byte read was a page fault (10x the faults, 1.5x the
# system time of 8 MB reads).
BLOCK_BYTES = 8 * 1024 * 1024
# Wanted lines decoded in one go (a block of papers, from one read or more): in fewer, the
# cost of each polars call shows (bench/snapshot.py).
LINES_PER_DECODE = 5_000
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
# What reading a damaged archive raises (isal's stub types its error as an instance).
DAMAGED_ARCHIVE = (
    OSError,
    EOFError,
    zlib.error,
    cast(type[Exception], isal_zlib.error),
    zipfile.BadZipFile,
)
# Every line of the Kaggle dump starts with its id (its first 200 lines are in
# tests/fixtures/snapshot); a line that does not is decoded whole to find it, so another
# key order costs time, never a paper.
ID_PREFIX = b'{"id":"'
# docs/arxiv.md §10: "Mon, 2 Apr 2007 19:18:42 GMT" (RFC 2822, GMT).
VERSION_TIME_FORMAT = "%a, %d %b %Y %H:%M:%S GMT"
# A stored time as datetime.isoformat() writes one in UTC (pipeline.store.record_to_json).
STORED_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"

# Annotated: a dict of type classes and type instances is otherwise a dict of objects to mypy.
_SNAPSHOT_COLUMNS: dict[str, PolarsDataType] = {
    "id": pl.String,  # as a string: number inference would drop zeros (docs/arxiv.md §10)
    "title": pl.String,
    "abstract": pl.String,
    "comments": pl.String,
    "journal-ref": pl.String,
    "doi": pl.String,
    "categories": pl.String,
    "license": pl.String,
    "versions": pl.List(pl.Struct({"version": pl.String, "created": pl.String})),
    "authors_parsed": pl.List(pl.List(pl.String)),
}
SNAPSHOT_SCHEMA = pl.Schema(_SNAPSHOT_COLUMNS)
SNAPSHOT_STRUCT = pl.Struct(_SNAPSHOT_COLUMNS)  # a line's object, as str.json_decode reads it


class SnapshotError(OSError):
    """The snapshot file cannot be read at all (missing, unreadable, not JSON Lines): an
    OSError, so a run ends as for any file it needs and cannot use (exit 5)."""


@dataclass
class SnapshotAnswer:
    """What the snapshot held of the wanted IDs, and what was wrong with its lines."""

    # The papers as one stored-papers frame (`records.frame`), each decoded when looked up.
    records: FrameRecords
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0  # lines read


def _collapsed(text: pl.Expr) -> pl.Expr:
    """Whitespace runs as one space, none at the ends, like " ".join(text.split()). The
    dump's breaks are newlines; replacing them literally first makes this 3x quicker than
    one regex over every whitespace character."""
    one_line = text.str.replace_all("\n", " ", literal=True)
    return one_line.str.replace_all(r"\s{2,}|[^\S ]", " ").str.strip_chars()


def _collapse(column: str) -> pl.Expr:
    text = _collapsed(pl.col(column))
    return pl.when(text != "").then(text)


def _mapped(raw: pl.LazyFrame) -> pl.LazyFrame:
    """The snapshot's columns as a stored paper's, one row per line read (pure polars);
    a version's number or time is null where the line's cannot be read."""
    parts = pl.element().list
    version = pl.element().struct.field("version").str.strip_prefix("v")
    created = pl.element().struct.field("created")
    return raw.select(
        "line",
        arxiv_id=pl.col("id").str.strip_chars(),
        title=_collapse("title").fill_null(""),
        abstract=_collapse("abstract").fill_null(""),
        # "First Last Suffix", empty parts left out, as the API writes a name.
        authors=pl.col("authors_parsed").list.eval(
            _collapsed(
                pl.concat_str(
                    [parts.get(i, null_on_oob=True) for i in (1, 0, 2)],
                    separator=" ",
                    ignore_nulls=True,
                )
            )
        ),
        affiliations=pl.col("authors_parsed").list.eval(
            parts.slice(3)
            .list.eval(_collapsed(pl.element()))
            .list.eval(pl.element().filter(pl.element() != ""))
        ),
        versions=pl.col("versions").list.eval(
            pl.struct(
                version=version.cast(pl.Int32, strict=False),
                submitted=created.str.strptime(
                    pl.Datetime("us", "UTC"), VERSION_TIME_FORMAT, strict=False
                ).dt.strftime(STORED_TIME_FORMAT),
                size_kb=pl.lit(None, pl.Int32),  # only OAI's arXivRaw has these two
                source_type=pl.lit(None, pl.String),
            )
        ),
        categories=pl.col("categories")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != "")),
        comment=_collapse("comments"),
        journal_ref=_collapse("journal-ref"),
        dois=pl.col("doi")
        .fill_null("")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != "")),
        license=_collapse("license"),
    )


def _stored_papers(
    mapped: pl.DataFrame, fetched_at: datetime, source: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """The mapped rows as a stored-papers frame (pipeline.tables.STORED_PAPER), the shape
    the store's records have; a row that cannot be a paper is a Problem.

    No Python object is made per paper (a few kB each: a million of them did not fit the
    memory a run may use); only the withdrawal check runs in Python, over the comments, as
    the one heuristic every source shares (pipeline.fetch.atom.is_withdrawal).
    """
    version = pl.element().struct.field("version")
    history_ok = (
        (pl.col("versions").list.len() > 0)
        & pl.col("versions").list.eval(version.is_null().any()).list.first().not_()
        & pl.col("versions")
        .list.eval(pl.element().struct.field("submitted").is_null().any())
        .list.first()
        .not_()
    )
    checked = mapped.with_columns(
        why=pl.when(history_ok.not_())
        .then(pl.lit("its versions lack a number or a readable date"))
        .when(pl.col("categories").list.len() == 0)
        .then(pl.lit("it has no category"))
    )
    problems = [
        Problem("fetch", source, "bad_snapshot_line", f"{i}: snapshot line skipped: {why}", line)
        for line, i, why in checked.filter(pl.col("why").is_not_null())
        .select("line", "arxiv_id", "why")
        .iter_rows()
    ]
    good = checked.filter(pl.col("why").is_null()).with_columns(
        # v1 first, whatever order the line lists them in
        versions=pl.col("versions").list.eval(pl.element().sort_by(version)),
        categories=pl.col("categories").list.unique(maintain_order=True),
    )
    latest = pl.col("versions").list.last().struct
    papers = good.select(
        "arxiv_id",
        version=latest.field("version"),
        title="title",
        abstract="abstract",
        authors="authors",
        affiliated=pl.col("affiliations").list.eval(
            pl.struct(
                position=pl.int_range(pl.len(), dtype=pl.Int32), affiliations=pl.element()
            ).filter(pl.element().list.len() > 0)
        ),
        published=pl.col("versions").list.first().struct.field("submitted"),
        updated=latest.field("submitted"),
        primary_category=pl.col("categories").list.first(),  # docs/arxiv.md §10: the first
        categories="categories",
        comment="comment",
        journal_ref="journal_ref",
        dois="dois",
        license="license",
        source=pl.lit("snapshot"),
        fetched_at=pl.lit(fetched_at.isoformat()),
        versions="versions",
    )
    withdrawn = map(is_withdrawal, papers.get_column("comment"), papers.get_column("version"))
    papers = papers.with_columns(withdrawn=pl.Series(list(withdrawn), dtype=pl.Boolean))
    return papers.select(pl.col(n).cast(t) for n, t in STORED_PAPER.schema().items()), problems


def snapshot_key(path: Path) -> str:
    """The name of this snapshot file's indexes: a replaced file (size, time) gets others."""
    return hashlib.sha1(json.dumps(file_signature(path)).encode()).hexdigest()[:16]


def is_plain(path: Path) -> bool:
    """Whether the snapshot is a plain file, whose lines can be read where they begin."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise SnapshotError(f"snapshot {path}: {exc}") from exc
    return not head.startswith((GZIP_MAGIC, ZIP_MAGIC))


@contextmanager
def open_snapshot(path: Path) -> Iterator[IO[bytes]]:
    """The snapshot's bytes as a stream: plain, gzip'ed, or the one file of Kaggle's zip."""
    with ExitStack() as stack:
        try:
            with path.open("rb") as fh:
                head = fh.read(4)
            if head.startswith(GZIP_MAGIC):
                # ISA-L's gzip reader: the standard one's inflating took 2.5x the CPU time
                # (bench/snapshot.py, scan gzip). A binary stream, though not typed an IO.
                stream = cast(IO[bytes], stack.enter_context(igzip.open(path, "rb")))
            elif head.startswith(ZIP_MAGIC):
                archive = stack.enter_context(zipfile.ZipFile(path))
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) != 1:
                    raise SnapshotError(f"snapshot {path}: a zip of {len(members)} files, not 1")
                stream = stack.enter_context(archive.open(members[0]))
            else:
                stream = stack.enter_context(path.open("rb"))
        except (OSError, zipfile.BadZipFile) as exc:
            if isinstance(exc, SnapshotError):
                raise
            raise SnapshotError(f"snapshot {path}: {exc}") from exc
        yield stream


def snapshot_blocks(stream: IO[bytes], path: Path) -> Iterator[list[bytes]]:
    """The stream's lines, a block at a time (the last line of a block completed first).
    Raises SnapshotError when no line of the first block has an id: not a snapshot."""
    rest = b""
    first = True
    while True:
        try:
            block = stream.read(BLOCK_BYTES)
        except DAMAGED_ARCHIVE as exc:
            raise SnapshotError(f"snapshot {path}: {exc}") from exc
        if not block:
            break
        lines = block.split(b"\n")
        lines[0] = rest + lines[0]  # not rest + block: a copy of the whole block
        rest = lines.pop()
        if first and lines:
            _refuse_other_files(lines, path)
            first = False
        yield lines
    if rest:
        if first:
            _refuse_other_files([rest], path)
        yield [rest]


def _refuse_other_files(lines: list[bytes], path: Path) -> None:
    """Raise SnapshotError when no line of these (a file's first) but blank ones has an id:
    the file is not a snapshot."""
    ids = [i for i, line in zip(_line_ids(lines), lines, strict=True) if line.strip()]
    if ids and all(i is None for i in ids):
        raise SnapshotError(f"snapshot {path}: not JSON Lines with an id on each line")


def _line_ids(lines: list[bytes]) -> list[bytes | None]:
    """The id of each line, read from its prefix when it has the dump's, else decoded.

    One comprehension over the block, with no call and no object per line but the id: the
    scan makes nothing the collector would have to walk.
    """
    start = len(ID_PREFIX)
    return [
        line[start : line.find(b'"', start)] if line.startswith(ID_PREFIX) else _decoded_id(line)
        for line in lines
    ]


def _decoded_id(line: bytes) -> bytes | None:
    """The id of a line without the dump's prefix (another key order), decoded whole."""
    try:
        value = orjson.loads(line).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value.strip().encode() if isinstance(value, str) else None


def _decoded(lines: list[bytes]) -> pl.DataFrame:
    """The lines as one raw frame (SNAPSHOT_SCHEMA), decoded as a column of strings: 3x
    quicker than read_ndjson over the joined lines (bench/snapshot.py); raises PolarsError
    when a line is not a JSON object of that shape (or not UTF-8)."""
    text = pl.Series(lines, dtype=pl.Binary).cast(pl.String)
    return text.str.json_decode(SNAPSHOT_STRUCT).struct.unnest()


def _parse_lines(
    numbers: list[int], lines: list[bytes], source: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """The wanted lines as one raw frame with their line `numbers`; a line that is not a
    JSON object is a Problem."""
    try:
        return _decoded(lines).with_columns(line=pl.Series(numbers, dtype=pl.Int64)), []
    except pl.exceptions.PolarsError:
        pass  # rare: find the bad line(s), keep the others
    frames, problems = [], []
    for number, line in zip(numbers, lines, strict=True):
        try:
            one = _decoded([line])
        except pl.exceptions.PolarsError as exc:
            message = f"not a JSON object: {exc}"
            problems.append(Problem("fetch", source, "bad_snapshot_line", message, number))
            continue
        frames.append(one.with_columns(line=pl.lit(number, dtype=pl.Int64)))
    empty = pl.DataFrame(schema={**SNAPSHOT_SCHEMA, "line": pl.Int64})
    return pl.concat([empty, *frames]), problems


@dataclass
class SnapshotBlock:
    """The papers (a stored-papers frame) and problems of one block of the snapshot, and
    its line count."""

    papers: pl.DataFrame
    problems: list[Problem]
    lines: int


def read_snapshot(
    path: Path, ids: Iterable[str], fetched_at: datetime, line_index: Path | None = None
) -> SnapshotAnswer:
    """The snapshot's paper of each of `ids` that it holds; one pass over the file, or with
    its `line_index` (snapshot_titles.title_index builds it) only the lines of `ids`.

    Raises SnapshotError when the file cannot be read; a line that cannot be a paper is a
    Problem naming the file and line, and its ID is left to the query API.
    """
    frames, problems, lines = [pl.DataFrame(schema=STORED_PAPER.schema())], [], 0
    for block in iter_snapshot(path, ids, fetched_at, line_index):
        frames.append(block.papers)
        problems += block.problems
        lines += block.lines
    papers = pl.concat(frames)
    return SnapshotAnswer(FrameRecords(papers), problems, lines)


def iter_snapshot(
    path: Path, ids: Iterable[str], fetched_at: datetime, line_index: Path | None = None
) -> Iterator[SnapshotBlock]:
    """`read_snapshot` a block at a time, so a caller can store each block as it comes."""
    wanted = {i.encode() for i in ids}
    if not wanted:
        return
    if line_index is not None and line_index.is_file():
        picks = _indexed_picks(path, wanted, line_index)
    else:
        picks = _scanned_picks(path, wanted)
    yield from _decoded_in_order(picks, fetched_at, str(path))


@dataclass
class _Picked:
    """Wanted lines read from the snapshot (numbered `numbers`), the problems of the lines
    read with them, and how many lines were read: a block to decode."""

    numbers: list[int]
    lines: list[bytes]
    problems: list[Problem]
    read: int


def _scanned_picks(path: Path, wanted: set[bytes]) -> Iterator[_Picked]:
    """The wanted IDs' lines, found by a pass over the whole file (the first line of an ID
    wins), and the lines without an id, a block of LINES_PER_DECODE or more at a time."""
    source = str(path)
    lines_before = 0
    picked = _Picked([], [], [], 0)  # since the last block
    with open_snapshot(path) as stream:
        for lines in snapshot_blocks(stream, path):
            line_ids = _line_ids(lines)
            for at in [at for at, arxiv_id in enumerate(line_ids) if arxiv_id in wanted]:
                if line_ids[at] in wanted:  # the first line of an ID wins, also in one read
                    wanted.discard(line_ids[at])
                    picked.numbers.append(lines_before + at + 1)
                    picked.lines.append(lines[at])
            picked.problems += [
                Problem("fetch", source, "bad_snapshot_line", "no paper id", lines_before + at + 1)
                for at, arxiv_id in enumerate(line_ids)
                if arxiv_id is None and lines[at].strip()
            ]
            lines_before += len(lines)
            picked.read += len(lines)
            if len(picked.lines) >= LINES_PER_DECODE:
                yield picked
                picked = _Picked([], [], [], 0)
    if picked.read:
        yield picked


def _decoded_in_order(
    picks: Iterator[_Picked], fetched_at: datetime, source: str
) -> Iterator[SnapshotBlock]:
    """Each block of picked lines decoded into papers, in order, on a thread per core:
    polars decodes and maps without holding the GIL, so blocks are decoded side by side
    while the next ones are read (100,000 lines through the line index: 1.7x quicker)."""
    threads = available_cores()
    with ThreadPoolExecutor(threads) as pool:

        def start(picked: _Picked) -> Future[tuple[pl.DataFrame, list[Problem]]]:
            return pool.submit(_papers_of_lines, picked.numbers, picked.lines, fetched_at, source)

        for decode, picked in started_ahead(picks, start, threads - 1):
            yield _block(decode, picked)


def _block(decode: Future[tuple[pl.DataFrame, list[Problem]]], picked: _Picked) -> SnapshotBlock:
    papers, unusable = decode.result()
    return SnapshotBlock(papers, picked.problems + unusable, picked.read)


def _papers_of_lines(
    numbers: list[int], lines: list[bytes], fetched_at: datetime, source: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """The stored-papers frame of the wanted `lines` (numbered `numbers`), and the problems."""
    if not lines:
        return pl.DataFrame(schema=STORED_PAPER.schema()), []
    frame, unparsed = _parse_lines(numbers, lines, source)
    papers, unusable = _stored_papers(_mapped(frame.lazy()).collect(), fetched_at, source)
    return papers, unparsed + unusable


def held_ids(line_index: Path, ids: Collection[str]) -> set[str]:
    """Which of `ids` the snapshot holds, by its line index."""
    wanted = pl.lit(pl.Series(list(ids), dtype=pl.String).implode())
    found = pl.scan_parquet(line_index).filter(pl.col("arxiv_id").is_in(wanted)).collect()
    return set(found.get_column("arxiv_id"))


# Lines read through the line index per block. A block in decoding holds some 6x its
# bytes; at 20,000 lines two side by side took 300 MB more than at 10,000, for no speed.
INDEXED_LINES_PER_BLOCK = 10_000


def _indexed_picks(path: Path, wanted: set[bytes], line_index: Path) -> Iterator[_Picked]:
    """The wanted IDs' lines only, read where the line index says they begin, in file
    order; an ID it does not hold is not in the snapshot (lines without an id are named by
    the passes over the whole file, not here)."""
    found = (
        pl.scan_parquet(line_index)
        .filter(pl.col("arxiv_id").is_in(pl.lit(pl.Series([i.decode() for i in wanted]).implode())))
        .sort("offset")
        .select("line", "offset", "length")
        .collect()
    )
    try:
        with path.open("rb") as fh:
            rows = found.iter_rows()
            while block := list(islice(rows, INDEXED_LINES_PER_BLOCK)):
                picked = []
                for _, offset, length in block:
                    fh.seek(offset)
                    picked.append(fh.read(length))
                yield _Picked([number for number, _, _ in block], picked, [], len(picked))
    except OSError as exc:
        raise SnapshotError(f"snapshot {path}: {exc}") from exc


LINE_INDEX_SCHEMA = pl.Schema(
    {"arxiv_id": pl.String, "line": pl.Int64, "offset": pl.Int64, "length": pl.Int64}
)


def line_index_block(lines: list[bytes], first_line: int, offset: int) -> pl.DataFrame:
    """(arxiv_id, line number, offset, length) of each line of a block that has an id, the
    block's first line numbered `first_line` and beginning at byte `offset`."""
    lengths = list(map(len, lines))
    located = pl.DataFrame(
        {
            "arxiv_id": [
                None if i is None else i.decode(errors="replace") for i in _line_ids(lines)
            ],
            "line": list(range(first_line, first_line + len(lines))),
            # each line begins after the ones before it and their newlines
            "offset": list(accumulate((n + 1 for n in lengths), initial=offset))[:-1],
            "length": lengths,
        },
        schema=LINE_INDEX_SCHEMA,
    )
    return located.filter(pl.col("arxiv_id").is_not_null())
