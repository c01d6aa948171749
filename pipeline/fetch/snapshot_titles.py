"""The snapshot's titles: an index of normalised titles, answered before any title search.

The index (phrase, arxiv_id) is built in one pass over the snapshot and kept as Parquet
beside the store, one per snapshot file; entries without ID whose phrase it holds get their
candidates from the snapshot, stored as a title search would have been, so `search_titles`
takes them from the store and sends a search only for the rest.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
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
from pipeline.store import (
    SNAPSHOT_LINE_INDEX_PREFIX,
    SNAPSHOT_TITLE_INDEX_PREFIX,
    FrameRecords,
    MetadataStore,
    Paths,
    atomic_write_bytes,
    utc_now,
)


def title_index(paths: Paths, snapshot: Path) -> Path:
    """The snapshot's title index (phrase, arxiv_id; phrase as `title_phrase` makes it, the
    form title searches are stored under), built in one pass unless this snapshot's is kept.
    The same pass writes a plain snapshot's line index (arxiv_id, line, offset, length: the
    first line of each ID), so that a later read of a few IDs reads only their lines
    (snapshot.read_snapshot).

    Kept beside the store, named by the snapshot's signature, so a replaced snapshot gets
    new indexes and the old ones are removed. A line without an id or title is not in the
    title index (the ID pass names bad lines).
    """
    key = snapshot_key(snapshot)
    target = paths.snapshot_title_index(key)
    if target.is_file():
        return target
    plain = is_plain(snapshot)
    titled: list[pl.DataFrame] = []
    located: list[pl.DataFrame] = []
    lines_before = offset = 0
    with open_snapshot(snapshot) as stream:
        for lines in snapshot_blocks(stream, snapshot):
            block = line_index_block(lines, lines_before + 1, offset)
            if plain:
                located.append(block)
            titled.append(_block_phrases(lines, block, lines_before + 1))
            offset += sum(map(len, lines)) + len(lines)
            lines_before += len(lines)
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


def _block_phrases(lines: list[bytes], located: pl.DataFrame, first_line: int) -> pl.DataFrame:
    """(phrase, arxiv_id) of each line of a block (its first numbered `first_line`) with an
    id and a title whose phrase is not empty; `located`: the block's line_index_block.
    polars reads the titles without a Python object per line: a Python JSON decode of
    each line was most of the pass's time."""
    with_id = [lines[at] for at in (located.get_column("line") - first_line).to_list()]
    text = pl.Series(with_id, dtype=pl.Binary).cast(pl.String, strict=False)
    titles = text.str.json_path_match("$.title").to_list()
    return pl.DataFrame(
        {
            "phrase": [title_phrase(t) if t else "" for t in titles],
            "arxiv_id": located.get_column("arxiv_id"),
        },
        schema=TITLE_INDEX_SCHEMA,
    ).filter(pl.col("phrase") != "")


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
    found = titles_in_index(title_index(settings.paths, settings.snapshot_path), phrases)
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
