"""The committed stand-in corpus and the code that loads and builds it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.standin import CorpusError, CorpusRecord, load_corpus
from pipeline.standin.corpus import dump_corpus
from tools.build_standin_corpus import check, fill_versions, snapshot_author

FIXTURES = Path(__file__).parent / "fixtures"
README = FIXTURES / "standin" / "README.md"


def test_committed_corpus_passes_the_build_checks(standin_corpus: list[CorpusRecord]) -> None:
    # Unique IDs, every ID the sample digests cite, and every title of the link-less
    # newsletter findable by ti: search (read from the digest copies in tests/fixtures).
    check(standin_corpus, FIXTURES)


def test_every_record_with_synthetic_fields_is_documented(
    standin_corpus: list[CorpusRecord],
) -> None:
    readme = README.read_text(encoding="utf-8")
    marked = [r.id for r in standin_corpus if r.note]
    assert all("synthetic" in (r.note or "") for r in standin_corpus if r.note)
    assert {"2601.00001", "2601.00002", "2601.00003"} <= set(marked)
    assert [paper_id for paper_id in marked if f"`{paper_id}`" not in readme] == []


def test_snapshot_records_keep_source_text_and_convert_dates(
    standin_corpus: list[CorpusRecord],
) -> None:
    record = next(r for r in standin_corpus if r.id == "0704.0001")
    assert record.versions == ["2007-04-02T19:18:42Z", "2007-07-24T20:10:27Z"]
    assert record.authors[0] == ("C. Balázs", [])
    assert "\n  LHC energies" in record.title  # hard wrap kept; the renderer decides layout
    assert record.note is None


def test_dump_and_load_round_trip(tmp_path: Path, standin_corpus: list[CorpusRecord]) -> None:
    path = tmp_path / "corpus.jsonl"
    dump_corpus(standin_corpus, path)
    assert load_corpus(path) == standin_corpus


def line_of(record: CorpusRecord, **changes: object) -> str:
    return json.dumps({**record.to_json(), **changes})


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("{not json", "bad.jsonl:2"),
        ('{"id": "2601.00009"}', "bad.jsonl:2"),
        ("VERSIONED", "bad.jsonl:2: record '1207.7214v2'"),
        ("UNSORTED", "not in order"),
        ("DUPLICATE", "duplicate id '1207.7214' (first on line 1)"),
    ],
)
def test_bad_lines_name_file_line_and_reason(
    tmp_path: Path, standin_corpus: list[CorpusRecord], bad_line: str, expected: str
) -> None:
    good = next(r for r in standin_corpus if r.id == "1207.7214")
    replacements = {
        "VERSIONED": line_of(good, id="1207.7214v2"),
        "UNSORTED": line_of(good, versions=list(reversed(good.versions))),
        "DUPLICATE": line_of(good),
    }
    path = tmp_path / "bad.jsonl"
    path.write_text(line_of(good) + "\n" + replacements.get(bad_line, bad_line) + "\n")
    with pytest.raises(CorpusError) as error:
        load_corpus(path)
    assert expected in str(error.value)


def test_version_times_fill_unknown_middle_versions() -> None:
    times = fill_versions("2024-08-16T12:00:00Z", "2024-08-19T12:00:00Z", 4)
    assert times == [
        "2024-08-16T12:00:00Z",
        "2024-08-17T12:00:00Z",
        "2024-08-18T12:00:00Z",
        "2024-08-19T12:00:00Z",
    ]
    same_day = fill_versions("2024-08-20T12:00:00Z", "2024-08-20T12:00:00Z", 2)
    assert same_day[0] < same_day[1]


def test_snapshot_author_order_suffix_and_affiliation() -> None:
    assert snapshot_author(["Evans", "Neal J.", "II"]) == ("Neal J. Evans II", [])
    assert snapshot_author(["Schekochihin", "A. A.", "", "Oxford"]) == (
        "A. A. Schekochihin",
        ["Oxford"],
    )
    assert snapshot_author(["The BABAR Collaboration", "", ""]) == (
        "The BABAR Collaboration",
        [],
    )
