"""arXiv's bulk metadata snapshot as a source of papers, read without a single request.

The snapshot (Kaggle `Cornell-University/arxiv`, `arxiv-metadata-oai-snapshot.json`) is JSON
Lines, one object per paper, about 3 million lines and several GB (docs/arxiv.md §10). It is
read as a stream of blocks, never whole: in each block only the lines of wanted IDs are
parsed (by polars, as one frame), the others are skipped by their `"id"` prefix. polars'
own `scan_ndjson` memory-maps a plain file and inflates a gzip'ed one whole before scanning,
so its peak memory grows with the file (bench/snapshot.py measures both).

Each wanted line becomes the same `PaperRecord` as an Atom answer would (docs/arxiv.md §4
and §10): authors in order from `authors_parsed` ("First Last Suffix"; a 4th element is an
affiliation), version 1 and latest dates from `versions`, categories primary first,
whitespace collapsed; plus what only the snapshot has: the license and the version history.
The papers are not copied into the metadata store (pipeline.fetch.papers says why), except
those the title index (snapshot_titles.py) finds for an entry without ID.
"""

from __future__ import annotations

import gc
import gzip
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, cast

import orjson
import polars as pl
from polars._typing import PolarsDataType

from pipeline.fetch.atom import is_withdrawal
from pipeline.model import Author, PaperRecord, PaperVersion, Problem, authors_named

BLOCK_BYTES = 32 * 1024 * 1024  # read at a time; bounds memory whatever the file's size
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
# Every line of the Kaggle dump starts with its id (its first 200 lines are in
# tests/fixtures/snapshot); a line that does not is decoded whole to find it, so another
# key order costs time, never a paper.
ID_PREFIX = b'{"id":"'
# docs/arxiv.md §10: "Mon, 2 Apr 2007 19:18:42 GMT" (RFC 2822, GMT).
VERSION_TIME_FORMAT = "%a, %d %b %Y %H:%M:%S GMT"

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


class SnapshotError(OSError):
    """The snapshot file cannot be read at all (missing, unreadable, not JSON Lines): an
    OSError, so a run ends as for any file it needs and cannot use (exit 5)."""


@dataclass
class SnapshotAnswer:
    """What the snapshot held of the wanted IDs, and what was wrong with its lines."""

    records: dict[str, PaperRecord] = field(default_factory=dict)
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


def _version_numbers() -> pl.Expr:
    return pl.element().struct.field("version").str.strip_prefix("v").cast(pl.Int32, strict=False)


def _mapped(raw: pl.LazyFrame) -> pl.LazyFrame:
    """The snapshot's columns as a PaperRecord's, one row per line read (pure polars)."""
    parts = pl.element().list
    return raw.select(
        "line",
        arxiv_id=pl.col("id").str.strip_chars(),
        title=_collapse("title").fill_null(""),
        abstract=_collapse("abstract").fill_null(""),
        # "First Last Suffix", empty parts left out, as the API writes a name.
        author_names=pl.col("authors_parsed").list.eval(
            _collapsed(
                pl.concat_str(
                    [parts.get(i, null_on_oob=True) for i in (1, 0, 2)],
                    separator=" ",
                    ignore_nulls=True,
                )
            )
        ),
        author_affiliations=pl.col("authors_parsed").list.eval(
            parts.slice(3)
            .list.eval(_collapsed(pl.element()))
            .list.eval(pl.element().filter(pl.element() != ""))
        ),
        version_numbers=pl.col("versions").list.eval(_version_numbers()),
        version_times=pl.col("versions").list.eval(
            pl.element()
            .struct.field("created")
            .str.strptime(pl.Datetime("us", "UTC"), VERSION_TIME_FORMAT, strict=False)
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


def _flat(frame: pl.DataFrame, column: str) -> list:
    """The items of a list column, all rows' one after the other, as Python values (explode
    makes a null of an empty list; no list here holds a null of its own)."""
    return frame.get_column(column).explode().drop_nulls().to_list()


def _offsets(frame: pl.DataFrame, column: str) -> list[int]:
    """Where each row's items start in `_flat(frame, column)`, plus the end."""
    lengths = frame.get_column(column).list.len().cum_sum().to_list()
    return [0, *lengths]


def _records(
    mapped: pl.DataFrame, fetched_at: datetime, source: str
) -> tuple[list[PaperRecord], list[Problem]]:
    """The records of the mapped rows; a row that cannot be one is a Problem.

    Python builds only the records themselves, from flat columns: converting nested list
    cells to Python one by one took most of the time.
    """
    history_ok = (
        (pl.col("version_numbers").list.len() > 0)
        & (pl.col("version_numbers").list.eval(pl.element().is_null().any()).list.first().not_())
        & (pl.col("version_times").list.eval(pl.element().is_null().any()).list.first().not_())
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
        version_times=pl.col("version_times").list.gather(
            pl.col("version_numbers").list.eval(pl.element().arg_sort())
        ),
        version_numbers=pl.col("version_numbers").list.sort(),
        categories=pl.col("categories").list.unique(maintain_order=True),
    )
    names, name_at = _flat(good, "author_names"), _offsets(good, "author_names")
    affiliated = (
        good.select(pl.col("author_affiliations").explode())
        .drop_nulls()  # the row explode makes of a paper without authors
        .with_row_index("author")
        .filter(pl.col("author_affiliations").list.len() > 0)
    )
    affiliations = dict(affiliated.iter_rows())
    numbers, times = _flat(good, "version_numbers"), _flat(good, "version_times")
    version_at = _offsets(good, "version_numbers")
    categories, category_at = _flat(good, "categories"), _offsets(good, "categories")
    dois, doi_at = _flat(good, "dois"), _offsets(good, "dois")
    scalars = good.select("arxiv_id", "title", "abstract", "comment", "journal_ref", "license")
    records = []
    for row, (arxiv_id, title, abstract, comment, journal_ref, license_uri) in enumerate(
        scalars.iter_rows()
    ):
        first_author, end_author = name_at[row], name_at[row + 1]
        authors = authors_named(names[first_author:end_author])
        for position in range(first_author, end_author):
            if position in affiliations:
                authors[position - first_author] = Author(
                    names[position], tuple(affiliations[position])
                )
        first, last = version_at[row], version_at[row + 1] - 1
        paper_categories = categories[category_at[row] : category_at[row + 1]]
        records.append(
            PaperRecord(
                arxiv_id=arxiv_id,
                version=numbers[last],
                title=title,
                abstract=abstract,
                authors=authors,
                published=times[first],
                updated=times[last],
                primary_category=paper_categories[0],  # docs/arxiv.md §10: first is primary
                categories=paper_categories,
                comment=comment,
                journal_ref=journal_ref,
                dois=dois[doi_at[row] : doi_at[row + 1]],
                withdrawn=is_withdrawal(comment, numbers[last]),
                fetched_at=fetched_at,
                source="snapshot",
                license=license_uri,
                versions=list(
                    map(PaperVersion, numbers[first : last + 1], times[first : last + 1])
                ),
            )
        )
    return records, problems


@contextmanager
def open_snapshot(path: Path) -> Iterator[IO[bytes]]:
    """The snapshot's bytes as a stream: plain, gzip'ed, or the one file of Kaggle's zip."""
    with ExitStack() as stack:
        try:
            with path.open("rb") as fh:
                head = fh.read(4)
            if head.startswith(GZIP_MAGIC):
                # A GzipFile is a binary stream, though typeshed does not declare it an IO.
                stream = cast(IO[bytes], stack.enter_context(gzip.open(path, "rb")))
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
    """The stream's lines, a block at a time (the last line of a block completed first)."""
    rest = b""
    while True:
        try:
            block = stream.read(BLOCK_BYTES)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:  # damaged archive
            raise SnapshotError(f"snapshot {path}: {exc}") from exc
        if not block:
            break
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        yield lines
    if rest:
        yield [rest]


def _line_id(line: bytes) -> bytes | None:
    """The id of one line, read from its prefix when it has the dump's, else decoded."""
    if line.startswith(ID_PREFIX):
        return line[len(ID_PREFIX) : line.find(b'"', len(ID_PREFIX))]
    try:
        value = orjson.loads(line).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value.strip().encode() if isinstance(value, str) else None


def _parse_lines(lines: list[tuple[int, bytes]], source: str) -> tuple[pl.DataFrame, list[Problem]]:
    """The wanted lines as one raw frame with their line numbers; a line that is not a JSON
    object is a Problem."""
    body = b"\n".join(line for _, line in lines)
    try:
        frame = pl.read_ndjson(io.BytesIO(body), schema=SNAPSHOT_SCHEMA)
        return frame.with_columns(line=pl.Series([n for n, _ in lines], dtype=pl.Int64)), []
    except pl.exceptions.PolarsError:
        pass  # rare: find the bad line(s), keep the others
    frames, problems = [], []
    for number, line in lines:
        try:
            one = pl.read_ndjson(io.BytesIO(line), schema=SNAPSHOT_SCHEMA)
        except pl.exceptions.PolarsError as exc:
            message = f"not a JSON object: {exc}"
            problems.append(Problem("fetch", source, "bad_snapshot_line", message, number))
            continue
        frames.append(one.with_columns(line=pl.lit(number, dtype=pl.Int64)))
    empty = pl.DataFrame(schema={**SNAPSHOT_SCHEMA, "line": pl.Int64})
    return pl.concat([empty, *frames]), problems


@dataclass
class SnapshotBlock:
    """The records and problems of one block of the snapshot, and its line count."""

    records: list[PaperRecord]
    problems: list[Problem]
    lines: int


def read_snapshot(path: Path, ids: Iterable[str], fetched_at: datetime) -> SnapshotAnswer:
    """The snapshot's record of each of `ids` that it holds; one pass over the file.

    Raises SnapshotError when the file cannot be read; a line that cannot be a record is a
    Problem naming the file and line, and its ID is left to the query API.
    """
    answer = SnapshotAnswer()
    for block in iter_snapshot(path, ids, fetched_at):
        answer.records.update((r.arxiv_id, r) for r in block.records)
        answer.problems += block.problems
        answer.lines += block.lines
    return answer


def iter_snapshot(path: Path, ids: Iterable[str], fetched_at: datetime) -> Iterator[SnapshotBlock]:
    """`read_snapshot` a block at a time, so a caller can store each block as it comes."""
    wanted = {i.encode() for i in ids}
    if not wanted:
        return
    source = str(path)
    lines_before = 0
    with open_snapshot(path) as stream:
        for lines in snapshot_blocks(stream, path):
            picked, problems = [], []
            for number, line in enumerate(lines, lines_before + 1):
                arxiv_id = _line_id(line)
                if arxiv_id in wanted:
                    picked.append((number, line))
                    wanted.discard(arxiv_id)  # the first line of an ID wins
                elif arxiv_id is None and line.strip():
                    problems.append(
                        Problem("fetch", source, "bad_snapshot_line", "no paper id", number)
                    )
            written = sum(1 for line in lines if line.strip())
            if not lines_before and written and len(problems) == written:
                raise SnapshotError(f"snapshot {path}: not JSON Lines with an id on each line")
            lines_before += len(lines)
            records: list[PaperRecord] = []
            if picked:
                frame, unparsed = _parse_lines(picked, source)
                with collector_paused():
                    records, unusable = _records(
                        _mapped(frame.lazy()).collect(), fetched_at, source
                    )
                problems += unparsed + unusable
            yield SnapshotBlock(records, problems, len(lines))


@contextmanager
def collector_paused() -> Iterator[None]:
    """The records hold no reference cycles, and the collections their many objects would
    set off cost more than building them."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
