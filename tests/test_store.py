"""The metadata store's paper and outcome getters, and the stored record layout."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from pipeline.model import Author, FetchOutcome, PaperRecord, PaperVersion
from pipeline.store import MetadataStore, record_from_json, record_to_json

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


@pytest.mark.parametrize(
    "record",
    [
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
    ],
    ids=["affiliations-in-places", "nones-and-withdrawn", "no-authors", "snapshot-history"],
)
def test_a_record_reads_back_equal(record: PaperRecord) -> None:
    again = record_from_json(record_to_json(record))
    assert again == record
    assert all(type(a) is Author for a in again.authors)
    assert [type(a.affiliations) for a in again.authors] == [tuple] * len(record.authors)


def test_a_record_stored_before_sources_reads_as_from_the_api() -> None:
    record = paper("2401.00001", source="oai", license="x", versions=[])
    fields = orjson.loads(record_to_json(record))
    older = record_from_json(orjson.dumps(fields[:15]).decode())
    assert (older.source, older.license, older.versions) == ("api", None, [])
    assert older.title == record.title and older.fetched_at == record.fetched_at


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
    assert store.get_papers_fetched_since(FETCHED) == {"2401.00002": new}
    assert store.get_fetched_at(["2401.00001", "2401.99999"]) == {
        "2401.00001": (old.fetched_at, "api")
    }


def test_more_ids_than_sqlite_binds_are_asked_in_one_go(store: MetadataStore) -> None:
    stored = [paper(f"2402.{n:05d}") for n in range(1, 40_001, 4000)]
    store.put_papers(stored)
    wanted = [f"2402.{n:05d}" for n in range(1, 40_001)]  # past SQLite's 32,766 variables
    assert set(store.get_papers(wanted)) == {p.arxiv_id for p in stored}
    assert set(store.get_fetched_at(wanted)) == {p.arxiv_id for p in stored}


def test_outcomes_are_got_for_the_ids_asked(store: MetadataStore) -> None:
    store.put_outcomes(
        "run-1",
        [FetchOutcome("2401.00001", "found", 1), FetchOutcome("2401.99999", "not_found", 2)],
    )
    assert set(store.get_outcomes()) == {"2401.00001", "2401.99999"}
    only = store.get_outcomes(iter(["2401.99999", "2401.55555"]))
    assert list(only) == ["2401.99999"] and only["2401.99999"][0] == "not_found"


@pytest.mark.parametrize("collecting", [True, False])
def test_loading_leaves_the_garbage_collector_as_it_was(
    store: MetadataStore, collecting: bool
) -> None:
    store.put_papers([paper("2401.00001")])
    with store.db:  # a damaged record: decoding it fails part-way through the load
        store.db.execute(
            "INSERT INTO papers (arxiv_id, record, fetched_at) VALUES ('2401.00002', '[1, 2', ?)",
            ("x",),
        )
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        assert set(store.get_papers(["2401.00001"])) == {"2401.00001"}
        assert gc.isenabled() is collecting
        with pytest.raises(ValueError):
            store.get_papers()
        assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()


def test_an_author_builds_compares_and_hashes_like_a_value() -> None:
    plain = Author("Ada Lovelace")
    assert plain == Author(name="Ada Lovelace", affiliations=())
    assert plain.affiliations == ()
    with_place = Author("Ada Lovelace", ("Analytical Engines Ltd",))
    assert with_place != plain
    assert len({plain, Author("Ada Lovelace"), with_place}) == 2
