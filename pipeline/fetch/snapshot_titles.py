"""The snapshot's titles: an index of normalised titles, answered before any title search.

The index (phrase, arxiv_id) is built in one pass over the snapshot and kept as Parquet
beside the store, one per snapshot file; entries without ID whose phrase it holds get their
candidates from the snapshot, stored as a title search would have been, so `search_titles`
takes them from the store and sends a search only for the rest.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import orjson
import polars as pl

from pipeline.config import Settings
from pipeline.fetch.report import FetchReport
from pipeline.fetch.snapshot import iter_snapshot, open_snapshot, snapshot_blocks
from pipeline.fetch.titles import title_phrase
from pipeline.store import (
    SNAPSHOT_TITLE_INDEX_PREFIX,
    FrameRecords,
    MetadataStore,
    Paths,
    atomic_write_bytes,
    file_signature,
    utc_now,
)


def title_index(paths: Paths, snapshot: Path) -> Path:
    """The snapshot's title index (phrase, arxiv_id; phrase as `title_phrase` makes it, the
    form title searches are stored under), built in one pass unless this snapshot's is kept.

    Kept beside the store, named by the snapshot's signature, so a replaced snapshot gets a
    new index and the old one is removed. A line without an id or title is not indexed (the
    ID pass names bad lines).
    """
    key = hashlib.sha1(json.dumps(file_signature(snapshot)).encode()).hexdigest()[:16]
    target = paths.snapshot_title_index(key)
    if target.is_file():
        return target
    phrases: list[str] = []
    arxiv_ids: list[str] = []
    with open_snapshot(snapshot) as stream:
        for lines in snapshot_blocks(stream, snapshot):
            for line in lines:
                try:
                    paper = orjson.loads(line)
                    arxiv_id, title = paper["id"].strip(), paper["title"]
                except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                    continue
                phrase = title_phrase(title) if isinstance(title, str) else ""
                if phrase:
                    phrases.append(phrase)
                    arxiv_ids.append(arxiv_id)
    frame = pl.DataFrame(
        {"phrase": phrases, "arxiv_id": arxiv_ids},
        schema={"phrase": pl.String, "arxiv_id": pl.String},
    ).sort("phrase", "arxiv_id")
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    atomic_write_bytes(target, buffer.getvalue())
    for old in paths.arxiv.glob(f"{SNAPSHOT_TITLE_INDEX_PREFIX}*.parquet"):
        if old != target:
            old.unlink(missing_ok=True)
    return target


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
    for block in iter_snapshot(settings.snapshot_path, unread, utc_now()):
        store.put_papers(FrameRecords(block.papers).values())
        report.problems += block.problems
        report.from_snapshot += block.papers.height
    store.put_title_searches(found)
    return report
