"""The snapshot's titles: an index of normalised titles, answered before any title search.

The index (phrase, arxiv_id) is built in one pass over the snapshot and kept as Parquet
beside the store, one per snapshot file; entries without ID whose phrase it holds get their
candidates from the snapshot, stored as a title search would have been, so `search_titles`
takes them from the store and sends a search only for the rest.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path

import polars as pl

from pipeline.config import Settings
from pipeline.fetch.report import FetchReport
from pipeline.fetch.snapshot import (
    LINE_INDEX_SCHEMA,
    is_plain,
    iter_snapshot,
    line_index_block,
    open_snapshot,
    snapshot_blocks,
    snapshot_key,
)
from pipeline.fetch.titles import title_phrase
from pipeline.pool import available_cores, started_ahead, worker_pool
from pipeline.store import (
    SNAPSHOT_LINE_INDEX_PREFIX,
    SNAPSHOT_TITLE_INDEX_PREFIX,
    FrameRecords,
    MetadataStore,
    Paths,
    atomic_write_bytes,
    utc_now,
)


def title_index(paths: Paths, snapshot: Path, workers: int | None = None) -> Path:
    """The snapshot's title index (phrase, arxiv_id; phrase as `title_phrase` makes it, the
    form title searches are stored under), built in one pass unless this snapshot's is kept.
    The same pass writes a plain snapshot's line index (arxiv_id, line, offset, length: the
    first line of each ID), so that a later read of a few IDs reads only their lines
    (snapshot.read_snapshot).

    Kept beside the store, named by the snapshot's signature, so a replaced snapshot gets
    new indexes and the old ones are removed. A line without an id or title is not in the
    title index (the ID pass names bad lines). The phrases are made by up to `workers`
    processes (None: one per core) while this one reads on, for a large file.
    """
    key = snapshot_key(snapshot)
    target = paths.snapshot_title_index(key)
    if target.is_file():
        return target
    plain = is_plain(snapshot)
    located: list[pl.DataFrame] = []
    with open_snapshot(snapshot) as stream:
        blocks = _titled_blocks(snapshot_blocks(stream, snapshot), located if plain else None)
        titled = list(_phrased(blocks, _phrase_workers(snapshot, workers)))
    if plain:
        every_line = pl.concat([pl.DataFrame(schema=LINE_INDEX_SCHEMA), *located])
        first_lines = every_line.unique("arxiv_id", keep="first", maintain_order=True)
        located.clear()
        _write_parquet(paths.snapshot_line_index(key), first_lines.sort("arxiv_id"))
    frame = pl.concat([pl.DataFrame(schema=TITLE_INDEX_SCHEMA), *titled]).sort("phrase", "arxiv_id")
    _write_parquet(target, frame)  # last: the title index says both are built
    for prefix in (SNAPSHOT_TITLE_INDEX_PREFIX, SNAPSHOT_LINE_INDEX_PREFIX):
        for old in paths.arxiv.glob(f"{prefix}*.parquet"):
            if key not in old.name:
                old.unlink(missing_ok=True)
    return target


TITLE_INDEX_SCHEMA = pl.Schema({"phrase": pl.String, "arxiv_id": pl.String})
# The "title" key's value when it is a JSON string, escapes and all: outside a string only a
# key is quoted, and inside one every quote is escaped, so its first match is the key's (the
# dump's objects nest none with a "title"). 5x quicker than a JSON path that parses the line.
TITLE_VALUE = r'"title":\s*("(?:[^"\\]|\\.)*")'


# Starting a worker costs about half a second; in one process the pass reads ~130 MB of
# snapshot a second, half of that time making phrases (bench/snapshot.py, index).
PHRASE_WORKERS_MIN_BYTES = 256_000_000
BLOCKS_AHEAD_PER_WORKER = 2  # blocks of titles handed out ahead of the one taken back


def _phrase_workers(snapshot: Path, workers: int | None) -> int:
    """How many processes make the phrases: 0 (this one) for a small file."""
    if snapshot.stat().st_size < PHRASE_WORKERS_MIN_BYTES:
        return 0
    count = available_cores() if workers is None else workers
    return count if count > 1 else 0


def _titled_blocks(
    blocks: Iterator[list[bytes]], located: list[pl.DataFrame] | None
) -> Iterator[tuple[list[str | None], pl.Series]]:
    """Each block's titles and IDs (of its lines with an id), its line index appended to
    `located` (None: not kept). polars reads the titles without a Python object per line:
    a Python JSON decode of each line was most of the pass's time, a JSON path match most
    of the rest."""
    lines_before = offset = 0
    for lines in blocks:
        block = line_index_block(lines, lines_before + 1, offset)
        if located is not None:
            located.append(block)
        with_id = [lines[at] for at in (block.get_column("line") - lines_before - 1).to_list()]
        titles = _texts(with_id).str.extract(TITLE_VALUE, 1).str.json_decode(pl.String).to_list()
        yield titles, block.get_column("arxiv_id")
        offset += sum(map(len, lines)) + len(lines)
        lines_before += len(lines)


def _texts(lines: list[bytes]) -> pl.Series:
    """The lines as strings, null where a line is not UTF-8 (polars' cast, even a lenient
    one, refuses the whole block): such a line has no title here, and reading its paper
    names it as not a JSON object."""
    try:
        return pl.Series(lines, dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:
        return pl.Series(list(map(_text_or_none, lines)), dtype=pl.String)


def _text_or_none(line: bytes) -> str | None:
    try:
        return line.decode()
    except UnicodeDecodeError:
        return None


def phrases_of(titles: list[str | None]) -> list[str]:
    """`title_phrase` of each title ("" for none); in a worker or here."""
    return [title_phrase(t) if t else "" for t in titles]


def _phrased(
    blocks: Iterator[tuple[list[str | None], pl.Series]], workers: int
) -> Iterator[pl.DataFrame]:
    """(phrase, arxiv_id) of each block's titled lines, in order, the phrases made by
    `workers` processes (0: here). A worker that dies leaves the rest to this process."""
    if not workers:
        yield from (_phrase_frame(phrases_of(titles), ids) for titles, ids in blocks)
        return
    with worker_pool(workers) as pool:

        def start(block: tuple[list[str | None], pl.Series]) -> Future[list[str]] | None:
            try:
                return pool.submit(phrases_of, block[0])
            except BrokenProcessPool:  # a worker died: this block is phrased here
                return None

        ahead = workers * BLOCKS_AHEAD_PER_WORKER
        for phrased, (titles, ids) in started_ahead(blocks, start, ahead):
            yield _taken_back(phrased, titles, ids)


def _taken_back(
    phrased: Future[list[str]] | None, titles: list[str | None], ids: pl.Series
) -> pl.DataFrame:
    try:
        phrases = phrases_of(titles) if phrased is None else phrased.result()
    except BrokenProcessPool:  # killed, or out of memory: the phrases are made here
        phrases = phrases_of(titles)
    return _phrase_frame(phrases, ids)


def _phrase_frame(phrases: list[str], ids: pl.Series) -> pl.DataFrame:
    frame = pl.DataFrame({"phrase": phrases, "arxiv_id": ids}, schema=TITLE_INDEX_SCHEMA)
    return frame.filter(pl.col("phrase") != "")


def _write_parquet(path: Path, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    atomic_write_bytes(path, buffer.getvalue())


def line_index(paths: Paths, snapshot: Path) -> Path | None:
    """This snapshot's line index, if a title index pass has built it."""
    found = paths.snapshot_line_index(snapshot_key(snapshot))
    return found if found.is_file() else None


def titles_in_index(index: Path, phrases: Iterable[str]) -> dict[str, list[str]]:
    """The IDs of the snapshot papers whose title is each phrase (phrases without any left
    out), read lazily: only the matching rows leave the file."""
    hits = (
        pl.scan_parquet(index)
        .filter(pl.col("phrase").is_in(list(set(phrases))))
        .group_by("phrase")
        .agg(pl.col("arxiv_id").sort())
        .collect()
    )
    return dict(hits.iter_rows())


def store_snapshot_titles(
    titles: Iterable[str], settings: Settings, store: MetadataStore
) -> FetchReport:
    """Answer from the snapshot's title index every title whose phrase has no recent stored
    search: its papers go into the store, and the phrase is stored as searched, so that
    `search_titles` takes it from the store and sends a search only for the rest."""
    assert settings.snapshot_path is not None
    report = FetchReport()
    recent = store.get_title_searches(since=utc_now() - timedelta(days=settings.refresh_days))
    phrases = {title_phrase(t) for t in titles} - set(recent) - {""}
    if not phrases:
        return report
    index = title_index(settings.paths, settings.snapshot_path, settings.parse_workers)
    found = titles_in_index(index, phrases)
    ids = {i for matched in found.values() for i in matched}
    stored = store.get_fetched_at(ids)
    fresh_since = {s: utc_now() - timedelta(days=settings.refresh_days_of(s)) for s in stored}
    unread = [i for i in ids if i not in stored or stored[i][0] < fresh_since[stored[i][1]]]
    lines = line_index(settings.paths, settings.snapshot_path)
    for block in iter_snapshot(settings.snapshot_path, unread, utc_now(), lines):
        store.put_papers(FrameRecords(block.papers).values())
        report.problems += block.problems
        report.from_snapshot += block.papers.height
    store.put_title_searches(found)
    return report
