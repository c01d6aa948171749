"""A table in parts (write.TableParts) is the table its parts make: the same Parquet bytes and
content hash as the whole frame, parts out of key order refused; a run's scratch folder
(store.scratch_dir) is gone when the run ends, and a killed run's goes at the next."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from test_write import inputs, paper, paths_in  # noqa: F401  (fixtures)

from pipeline import store
from pipeline.run import _stored_again
from pipeline.tables import table
from pipeline.write import (
    InconsistentInputError,
    SetAsidePapers,
    TableParts,
    build_tables,
    content_hash,
    write_generation,
    write_parquet,
)


def parts_of(frame: pl.DataFrame, name: str, folder: Path, rows: int) -> TableParts:
    parts = TableParts(name, folder)
    for start in range(0, frame.height, rows):
        parts.append(frame.slice(start, rows))
    return parts


@pytest.mark.parametrize("name", ["entries", "papers", "authors", "mismatches"])
@pytest.mark.parametrize("one_part", [False, True])
def test_parts_write_the_bytes_and_hash_of_the_whole_table(tmp_path, inputs, name, one_part):  # noqa: F811
    frame = build_tables(**inputs)[name]
    assert frame.height >= 2
    parts = parts_of(frame, name, tmp_path, rows=frame.height if one_part else 1)
    # One part is held as it is; more are set aside on disk, every one.
    assert len(parts.files) == (0 if one_part else frame.height)
    assert parts.height == frame.height
    whole, streamed = tmp_path / "whole.parquet", tmp_path / "parts.parquet"
    with whole.open("wb") as target:
        write_parquet(frame, target, table(name))
    with streamed.open("wb") as target:
        parts.write_parquet(target)
    assert (
        hashlib.sha256(whole.read_bytes()).digest()
        == hashlib.sha256(streamed.read_bytes()).digest()
    )
    assert content_hash(parts, table(name)) == content_hash(frame, table(name))
    assert parts.scan().collect().equals(frame)


def test_parts_out_of_key_order_are_refused(tmp_path, inputs):  # noqa: F811
    entries = build_tables(**inputs)["entries"]
    parts = TableParts("entries", tmp_path)
    parts.append(entries.slice(1))
    with pytest.raises(InconsistentInputError, match="do not follow"):
        parts.append(entries.slice(0, 1))
    with pytest.raises(InconsistentInputError, match="do not follow"):
        parts.append(entries.slice(entries.height - 1))  # the same key again


def test_a_generation_of_parts_equals_one_of_frames(tmp_path, inputs):  # noqa: F811
    frames = build_tables(**inputs)
    in_parts: dict[str, pl.DataFrame | TableParts] = dict(frames)
    for name in ("entries", "papers", "mismatches"):
        in_parts[name] = parts_of(frames[name], name, tmp_path, rows=2)
    one = write_generation(frames, paths_in(tmp_path, "one"), "run-1")
    two = write_generation(in_parts, paths_in(tmp_path, "two"), "run-1")
    # The tables and the manifest (the report says when it was drawn; the DuckDB file's
    # bytes vary).
    for path in [*sorted(one.glob("*.parquet")), one / "manifest.json"]:
        assert (two / path.name).read_bytes() == path.read_bytes(), path.name


def test_scratch_folder_is_removed_at_the_end_and_a_killed_runs_at_the_next(tmp_path):
    paths = paths_in(tmp_path)
    left = paths.scratch / "killed-run"
    left.mkdir(parents=True)
    (left / "entries-00000.arrow").write_bytes(b"half")
    with store.scratch_dir(paths, "run-2") as folder:
        assert not left.exists()
        assert folder.is_dir() and not any(folder.iterdir())
        (folder / "part").write_bytes(b"x")
    assert not paths.scratch.exists()
    with pytest.raises(RuntimeError), store.scratch_dir(paths, "run-3"):
        raise RuntimeError("the run failed")
    assert not paths.scratch.exists()


def test_set_aside_papers_are_each_kept_once_and_read_by_id_range(tmp_path):
    first = [paper(i, f"T{i}") for i in ("2401.00003", "2401.00001", "2401.00002")]
    later = [paper(i, f"U{i}") for i in ("2401.00002", "2401.00005")]  # 00002 seen before
    aside = SetAsidePapers(tmp_path)
    for records in (first, later):
        aside.add(store.records_frame(map(store.record_to_json, records)))
    rows = aside.between("2401.00002", "2401.00005")
    assert rows.get_column("arxiv_id").to_list() == ["2401.00002", "2401.00003", "2401.00005"]
    assert rows.get_column("title").to_list() == ["T2401.00002", "T2401.00003", "U2401.00005"]


def test_papers_stored_again_since_their_part_come_from_the_store(tmp_path):
    records = [paper(i, f"T{i}") for i in ("2401.00001", "2401.00002")]
    frame = store.records_frame(map(store.record_to_json, records))
    began = records[0].fetched_at
    with store.MetadataStore(tmp_path / "m.sqlite") as db:
        db.put_papers(records)
        assert _stored_again(db, frame, db.fetched_since_frame(began)).equals(frame)
        fetched_again = replace(records[1], title="Retitled", fetched_at=datetime.now(UTC))
        db.put_papers([fetched_again])
        again = _stored_again(db, frame, db.fetched_since_frame(began))
    assert again.get_column("title").to_list() == ["T2401.00001", "Retitled"]
