"""The parse stage's outputs for the next stages: the entries frame, problems, summaries."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from pathlib import Path

import polars as pl

from pipeline.model import DigestEntry, ParsedDigest, Problem
from pipeline.parse import ENTRY_SCHEMA, entries_frame, parse_digest, problems_of, summary_line

FIXTURES = Path(__file__).parent / "fixtures"


def test_empty_frame_has_the_full_schema() -> None:
    frame = entries_frame([])
    assert frame.height == 0
    assert frame.schema == pl.Schema(ENTRY_SCHEMA)
    assert frame.columns == [f.name for f in fields(DigestEntry)]
    assert frame.schema["digest_date"] == pl.Date
    assert frame.schema["authors"] == pl.List(pl.Utf8)
    assert frame.schema["warnings"] == pl.List(pl.Utf8)
    assert frame.schema["version"] == pl.Int32


def test_frame_rows_follow_files_then_positions_and_keep_ids_as_text() -> None:
    entry = DigestEntry(
        digest="digests/x.md",
        position=1,
        layout="generic",
        digest_date=date(2025, 3, 4),
        line=7,
        title_raw="A\n  Title",
        title="A Title",
        link="arXiv:2503.02130v2",
        arxiv_id="2503.02130",
        version=2,
        id_status="ok",
        authors=["Ada", "Alan"],
        warnings=["w"],
    )
    parsed = [
        parse_digest(FIXTURES / "digests" / "2025-01-14_daily_paper.md", FIXTURES),
        ParsedDigest("digests/x.md", "generic", date(2025, 3, 4), [entry], []),
    ]
    frame = entries_frame(parsed)
    assert frame.height == 10 and frame.schema == pl.Schema(ENTRY_SCHEMA)
    assert frame["position"].to_list() == [*range(1, 10), 1]
    last = frame.row(9, named=True)
    assert last == {name: getattr(entry, name) for name in ENTRY_SCHEMA}
    assert last["arxiv_id"] == "2503.02130"  # a string, trailing zero kept
    assert frame["arxiv_id"][0] == "2501.07301" and frame["authors"][0] is None


def test_summary_line_counts_entries_by_how_they_will_be_found(tmp_path: Path) -> None:
    path = tmp_path / "digests" / "mixed.md"
    path.parent.mkdir()
    path.write_text(
        "## One\n[一](https://arxiv.org/abs/2408.08872)\n\n"
        "## Two\n[二](https://arxiv.org/abs/2408.123)\n\n"
        "## Three\nno link\n",
        encoding="utf-8",
    )
    parsed = parse_digest(path, tmp_path)
    assert summary_line(parsed) == (
        "digests/mixed.md: heading_link, no date, 3 entries "
        "(1 by title only, 1 invalid ID), 2 problems"
    )
    unreadable = ParsedDigest(
        "digests/x.bin", None, None, [], [Problem("parse", "x", "binary", "m")]
    )
    assert summary_line(unreadable) == (
        "digests/x.bin: unreadable, no date, 0 entries (0 by title only, 0 invalid IDs), 1 problem"
    )


def test_problems_of_collects_every_file_in_order() -> None:
    first = Problem("parse", "digests/a.md", "empty", "the file is empty")
    second = Problem("parse", "digests/b.md", "invalid_id", "bad", line=3)
    third = Problem("parse", "digests/b.md", "missing_link", "none", line=9)
    parsed = [
        ParsedDigest("digests/a.md", None, None, [], [first]),
        ParsedDigest("digests/b.md", "generic", None, [], [second, third]),
    ]
    assert problems_of(parsed) == [first, second, third]
