"""The metadata store's paper and outcome getters, the stored record layout and its upgrade."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.model import Author, FetchOutcome, PaperRecord, PaperVersion
from pipeline.store import (
    STORE_FORMAT,
    FrameRecords,
    MetadataStore,
    StoredRecords,
    record_from_json,
    record_to_json,
)
from pipeline.tables import STORED_PAPER

FETCHED = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def paper(arxiv_id: str, *, fetched_at: datetime = FETCHED, **changes: object) -> PaperRecord:
    fields: dict[str, object] = {
        "arxiv_id": arxiv_id,
        "version": 3,
        "title": "Attention Is All You Need — ünïcode “quotes”",
        "abstract": "We propose a new architecture.",
        "authors": [
            Author("Ashish Vaswani", ("Google Brain",)),
            Author("Noam Shazeer"),
            Author("Niki Parmar", ("Google Research", "Université de Montréal")),
        ],
        "published": datetime(2017, 6, 12, 17, 57, 34, tzinfo=UTC),
        "updated": datetime(2023, 8, 2, 0, 41, 18, tzinfo=UTC),
        "primary_category": "cs.CL",
        "categories": ["cs.CL", "cs.LG"],
        "comment": "15 pages, 5 figures",
        "journal_ref": "NeurIPS 2017",
        "dois": ["10.1000/a", "10.1000/b"],
        "withdrawn": False,
        "fetched_at": fetched_at,
    }
    fields.update(changes)
    return PaperRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    with MetadataStore(tmp_path / "metadata.sqlite") as opened:
        yield opened


# Records of every shape: affiliations in places, nones and withdrawn, no authors, history.
RECORDS = [
    paper("1706.03762"),
    paper(
        "hep-th/9711200",
        authors=[Author("Juan Maldacena")],
        comment=None,
        journal_ref=None,
        dois=[],
        withdrawn=True,
        categories=["hep-th"],
    ),
    paper("2501.00001", authors=[], abstract=""),
    paper(
        "0704.0001",
        source="snapshot",
        license="http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
        versions=[
            PaperVersion(1, datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
            PaperVersion(2, datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC), 23, "I"),
        ],
    ),
]
RECORD_KINDS = ["affiliations-in-places", "nones-and-withdrawn", "no-authors", "snapshot-history"]


@pytest.mark.parametrize("record", RECORDS, ids=RECORD_KINDS)
def test_a_record_reads_back_equal(record: PaperRecord) -> None:
    again = record_from_json(record_to_json(record))
    assert again == record
    assert all(type(a) is Author for a in again.authors)
    assert [type(a.affiliations) for a in again.authors] == [tuple] * len(record.authors)


def test_a_store_made_before_sources_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "metadata.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE papers (arxiv_id TEXT PRIMARY KEY, record TEXT NOT NULL, "
                   "fetched_at TEXT NOT NULL)")  # fmt: skip
        db.execute(
            "INSERT INTO papers VALUES (?, ?, ?)",
            ("2401.00001", record_to_json(paper("2401.00001")), FETCHED.isoformat()),
        )
    db.close()
    with MetadataStore(path) as store:
        assert store.get_fetched_at(["2401.00001"]) == {"2401.00001": (FETCHED, "api")}
        store.put_papers([paper("2401.00002", source="snapshot")])
        assert store.get_fetched_at(["2401.00002"]) == {"2401.00002": (FETCHED, "snapshot")}


def test_papers_are_got_by_id_all_or_since(store: MetadataStore) -> None:
    old = paper("2401.00001", fetched_at=FETCHED - timedelta(days=40))
    new = paper("2401.00002")
    store.put_papers([old, new])
    assert store.get_papers(["2401.00002", "2401.99999"]) == {"2401.00002": new}
    assert store.get_papers([]) == {}
    assert store.get_papers() == {"2401.00001": old, "2401.00002": new}
    assert store.ids_fetched_since(FETCHED) == {"2401.00002"}
    assert store.get_fetched_at(["2401.00001", "2401.99999"]) == {
        "2401.00001": (old.fetched_at, "api")
    }


def test_fetch_times_come_grouped_by_time_and_source(store: MetadataStore) -> None:
    earlier = FETCHED - timedelta(days=40)
    store.put_papers(
        [
            paper("2401.00001"),
            paper("2401.00002"),
            paper("2401.00003", fetched_at=earlier),
            paper("2401.00004", source="snapshot"),
            paper("2401.00005"),  # stored, not asked for
        ]
    )
    wanted = ["2401.00004", "2401.00003", "2401.00002", "2401.00001", "2401.99999"]
    groups = {(at, source): sorted(ids) for at, source, ids in store.fetch_time_groups(wanted)}
    assert groups == {
        (FETCHED.isoformat(), "api"): ["2401.00001", "2401.00002"],
        (earlier.isoformat(), "api"): ["2401.00003"],
        (FETCHED.isoformat(), "snapshot"): ["2401.00004"],
    }
    assert list(store.fetch_time_groups([])) == []


def test_fetch_times_are_read_from_the_index_alone(store: MetadataStore) -> None:
    """The freshness check of a million IDs reads an index of (ID, time, source), never the
    table whose rows hold the records."""
    store.put_papers([paper("2401.00001")])
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    list(store.fetch_time_groups(["2401.00001"]))
    store.db.set_trace_callback(None)
    (query,) = statements
    plan = [row[-1] for row in store.db.execute(f"EXPLAIN QUERY PLAN {query}")]
    assert any("COVERING INDEX papers_fetch_times" in step for step in plan), plan


def test_more_ids_than_sqlite_binds_are_asked_in_one_go(store: MetadataStore) -> None:
    stored = [paper(f"2402.{n:05d}") for n in range(1, 40_001, 4000)]
    store.put_papers(stored)
    wanted = [f"2402.{n:05d}" for n in range(1, 40_001)]  # past SQLite's 32,766 variables
    assert set(store.get_papers(wanted)) == {p.arxiv_id for p in stored}
    assert set(store.get_fetched_at(wanted)) == {p.arxiv_id for p in stored}
    grouped = {i for _, _, ids in store.fetch_time_groups(wanted) for i in ids}
    assert grouped == {p.arxiv_id for p in stored}


def test_outcomes_are_got_for_the_ids_asked(store: MetadataStore) -> None:
    store.put_outcomes(
        "run-1",
        [FetchOutcome("2401.00001", "found", 1), FetchOutcome("2401.99999", "not_found", 2)],
    )
    assert set(store.get_outcomes()) == {"2401.00001", "2401.99999"}
    only = store.get_outcomes(iter(["2401.99999", "2401.55555"]))
    assert list(only) == ["2401.99999"] and only["2401.99999"][0] == "not_found"


def test_answer_counts_take_a_stored_paper_then_the_outcome_then_invalid(
    store: MetadataStore,
) -> None:
    store.put_papers([paper("2401.00001"), paper("2401.00002")])
    store.put_outcomes(
        "run-1",
        [
            FetchOutcome("2401.00002", "found", 1),  # stored: found, one count only
            FetchOutcome("2401.99999", "not_found", 2),
            FetchOutcome("2401.88888", "failed", 3, "HTTP 503"),
        ],
    )
    asked = ["2401.00001", "2401.00002", "2401.99999", "2401.88888", "2401.77777", "junk"]
    counts = store.answer_counts(asked)
    assert counts == {"found": 2, "not_found": 1, "failed": 1, "invalid": 2}


# A record as stores before STORE_FORMAT 1 kept it: one positional JSON array.
ARRAY_RECORD = (
    '["1706.03762", 3, "Attention", "We propose.", ["Ashish Vaswani", "Noam Shazeer", '
    '"Niki Parmar"], [[0, ["Google Brain"]], [2, ["Google Research", "Montréal"]]], '
    '"2017-06-12T17:57:34+00:00", "2023-08-02T00:41:18+00:00", "cs.CL", ["cs.CL", "cs.LG"], '
    'null, "NeurIPS 2017", ["10.1000/a"], false, "2025-03-04T05:06:07.890123+00:00"]'
)
# The same after papers had a source, license and version history: 18 fields.
ARRAY_RECORD_WITH_SOURCE = (
    ARRAY_RECORD[:-1] + ', "oai", "http://creativecommons.org/licenses/by/4.0/", '
    '[[1, "2017-06-12T17:57:34+00:00", 1021, "D"], [3, "2023-08-02T00:41:18+00:00", null, null]]]'
)


def _array_format_store(tmp_path: Path, record: str, source: str) -> Path:
    """A store of format 0 holding one paper stored as `record` (array layout)."""
    path = tmp_path / "metadata.sqlite"
    with MetadataStore(path) as old:
        old.db.execute("PRAGMA user_version = 0")
        with old.db:
            old.db.execute(
                "INSERT INTO papers VALUES ('1706.03762', ?, ?, ?)",
                (record, FETCHED.isoformat(), source),
            )
    return path


def test_a_store_of_the_array_format_is_upgraded_on_open(tmp_path: Path) -> None:
    path = _array_format_store(tmp_path, ARRAY_RECORD, "api")
    with MetadataStore(path) as upgraded:
        assert upgraded.db.execute("PRAGMA user_version").fetchone() == (STORE_FORMAT,)
        record = upgraded.get_papers()["1706.03762"]
    assert record == paper(
        "1706.03762",
        title="Attention",
        abstract="We propose.",
        authors=[
            Author("Ashish Vaswani", ("Google Brain",)),
            Author("Noam Shazeer"),
            Author("Niki Parmar", ("Google Research", "Montréal")),
        ],
        comment=None,
        dois=["10.1000/a"],
    )


def test_an_array_record_with_source_and_versions_keeps_them_when_upgraded(
    tmp_path: Path,
) -> None:
    path = _array_format_store(tmp_path, ARRAY_RECORD_WITH_SOURCE, "oai")
    with MetadataStore(path) as upgraded:
        record = upgraded.get_papers()["1706.03762"]
        frame = upgraded.papers_frame()
    assert (record.source, record.license) == (
        "oai",
        "http://creativecommons.org/licenses/by/4.0/",
    )
    assert record.versions == [
        PaperVersion(1, datetime(2017, 6, 12, 17, 57, 34, tzinfo=UTC), 1021, "D"),
        PaperVersion(3, datetime(2023, 8, 2, 0, 41, 18, tzinfo=UTC)),
    ]
    assert frame.get_column("versions").to_list()[0][1] == {
        "version": 3,
        "submitted": "2023-08-02T00:41:18+00:00",
        "size_kb": None,
        "source_type": None,
    }


def test_the_papers_frame_holds_what_the_records_hold(store: MetadataStore) -> None:
    records = [paper("1706.03762"), paper("2501.00001", authors=[], dois=[], comment=None)]
    store.put_papers(records)
    frame = store.papers_frame(["2501.00001", "1706.03762", "2401.99999"]).sort("arxiv_id")
    assert frame.schema == STORED_PAPER.schema()
    first = frame.row(0, named=True)
    assert first["authors"] == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
    assert first["affiliated"] == [
        {"position": 0, "affiliations": ["Google Brain"]},
        {"position": 2, "affiliations": ["Google Research", "Université de Montréal"]},
    ]
    assert datetime.fromisoformat(first["fetched_at"]) == FETCHED
    assert frame.row(1, named=True)["authors"] == []
    assert store.papers_frame([]).schema == STORED_PAPER.schema()


@pytest.mark.parametrize("record", RECORDS, ids=RECORD_KINDS)
def test_a_record_read_from_the_papers_frame_is_the_stored_record(
    store: MetadataStore, record: PaperRecord
) -> None:
    store.put_papers([record, paper("2402.00001")])
    records = FrameRecords(store.papers_frame())
    assert sorted(records) == sorted([record.arxiv_id, "2402.00001"]) and len(records) == 2
    assert records[record.arxiv_id] == record
    assert "2402.99999" not in records
    with pytest.raises(KeyError):
        records["2402.99999"]


def test_stored_records_are_decoded_in_batches_as_looked_up(
    store: MetadataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = [paper(f"2402.{n:05d}") for n in range(1, 8)]
    store.put_papers(stored)
    monkeypatch.setattr(StoredRecords, "RECORDS_PER_LOOKUP", 3)
    records = store.stored_records([p.arxiv_id for p in stored])
    assert "2402.00007" in records and "2402.99999" not in records
    assert list(records) == [p.arxiv_id for p in stored] and len(records) == 7
    # In order, out of order, again: always the stored record.
    for p in [*stored, *reversed(stored), stored[3]]:
        assert records[p.arxiv_id] == p
    assert len(records._batch) <= 3  # never more than one batch held
    with pytest.raises(KeyError):
        records["2402.99999"]
