"""The fetch stage against real local servers, proven from what the servers saw.

Most tests use the arXiv stand-in (tests/conftest.py) and read its request log: batch
sizes, spacing, requests in flight, retries. Answers the stand-in cannot give (entity
declarations, an endless body, a server that goes away) come from `ScriptedServer`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest

import pipeline.fetch.papers
from pipeline.config import Settings, load_settings
from pipeline.fetch import ArxivUnreachable, fetch_papers, reparse_stored_responses, search_titles
from pipeline.fetch.atom import MAX_ANSWER_BYTES
from pipeline.fetch.transport import THROTTLED_TRIES_TO_STOP, FetchBudget, fetch_deadline
from pipeline.model import Author, PaperSource
from pipeline.standin import CorpusRecord, Fault, LoggedRequest, StandIn
from pipeline.store import MetadataStore, StoreError, response_paths

DELAY = 0.02
EPSILON = 0.005  # client and server clocks see the same gap up to scheduling noise
GENUINE = Path(__file__).parent / "fixtures" / "standin" / "genuine"
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
NONEXISTENT = "2501.99999"  # well-formed, not in the corpus


def settings_for(tmp_path: Path, url: str, **overrides: object) -> Settings:
    flags: dict[str, object] = {
        "raw_dir": tmp_path / "raw",
        "out_dir": tmp_path / "out",
        "api_url": url,
        "delay_seconds": DELAY,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
        "max_attempts": 3,
        "max_backoff_seconds": 0.2,
        "contact": "digest-tests@example.org",
    }
    flags.update(overrides)
    return load_settings(flags=flags, env={})


def open_store(settings: Settings) -> MetadataStore:
    return MetadataStore(settings.paths.metadata_db)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    with MetadataStore(tmp_path / "raw" / "arxiv" / "metadata.sqlite") as opened:
        yield opened


def ids_of(corpus: list[CorpusRecord], count: int, start: int = 0) -> list[str]:
    return [r.id for r in corpus[start : start + count]]


def assert_polite(log: list[LoggedRequest]) -> None:
    assert log, "no request reached the server"
    assert [e.in_flight for e in log] == [1] * len(log)
    gaps = [e.since_previous for e in log if e.since_previous is not None]
    assert all(gap >= DELAY - EPSILON for gap in gaps), gaps


def expected_record(record: CorpusRecord) -> dict[str, object]:
    """What the stand-in serves for `record`'s latest version, as PaperRecord fields."""
    shown = record.at_version(record.latest_version)

    def text(value: str | None) -> str | None:
        return " ".join(value.split()) or None if value else None

    return {
        "arxiv_id": record.id,
        "version": record.latest_version,
        "title": text(shown.title),
        "abstract": text(shown.abstract) or "",
        "authors": [
            Author(" ".join(name.split()), tuple(" ".join(a.split()) for a in affiliations))
            for name, affiliations in shown.authors
        ],
        "published": datetime.strptime(shown.published, ISO_UTC).replace(tzinfo=UTC),
        "updated": datetime.strptime(shown.updated, ISO_UTC).replace(tzinfo=UTC),
        "primary_category": shown.primary_category,
        "categories": shown.categories,
        "comment": text(shown.comment),
        "journal_ref": text(shown.journal_ref),
        "dois": (shown.doi or "").split(),
    }


# --- what is fetched --------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["new", "old"])
def test_every_field_equals_what_the_standin_served(
    tmp_path: Path, store: MetadataStore, standin_corpus: list[CorpusRecord], dialect: str
) -> None:
    with StandIn(standin_corpus, dialect=dialect) as server:  # type: ignore[arg-type]
        settings = settings_for(tmp_path, server.url)  # default batch size
        report = fetch_papers([r.id for r in standin_corpus], settings, store, "run-1")
        log = server.log
    assert [o.outcome for o in report.outcomes] == ["found"] * len(standin_corpus)
    assert report.problems == []
    for record in standin_corpus:
        fetched = report.records[record.id]
        expected = expected_record(record)
        assert {name: getattr(fetched, name) for name in expected} == expected, record.id
    # docs/arxiv.md §7: 2601.00004's reason does not say "withdrawn"; 2601.00005 is a
    # revision fixing an error.
    withdrawn = {r.id for r in standin_corpus if "has been withdrawn" in (r.comment or "")}
    assert len(withdrawn) == 2
    withdrawn.add("2601.00004")
    assert {i for i, r in report.records.items() if r.withdrawn} == withdrawn
    assert store.get_papers() == report.records
    # The default batch (200) is sent by POST; the short remainder fits a GET.
    assert settings.batch_size >= 200
    assert [(e.method, len(e.ids)) for e in log] == [
        ("POST", 200),
        ("GET", len(standin_corpus) - 200),
    ]
    assert {e.params["max_results"] for e in log} == {str(settings.batch_size)}
    assert_polite(log)


def test_batches_have_the_configured_size(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    wanted = ids_of(standin_corpus, 25)
    report = fetch_papers(wanted, settings_for(tmp_path, standin.url, batch_size=10), store, "r")
    log = standin.log
    assert [e.ids for e in log] == [wanted[0:10], wanted[10:20], wanted[20:25]]
    assert [e.params["max_results"] for e in log] == ["10"] * 3
    assert (report.requests, report.retries, report.from_store) == (3, 0, 0)
    assert [(o.outcome, o.attempts) for o in report.outcomes] == [("found", 1)] * 25
    assert_polite(log)


def test_two_threads_share_one_gate(
    tmp_path: Path, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    reports = []

    def run(name: str, wanted: list[str]) -> None:
        settings = settings_for(tmp_path / name, standin.url, batch_size=4)
        with open_store(settings) as own_store:
            reports.append(fetch_papers(wanted, settings, own_store, name))

    threads = [
        threading.Thread(target=run, args=("a", ids_of(standin_corpus, 16))),
        threading.Thread(target=run, args=("b", ids_of(standin_corpus, 16, start=16))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r.records) for r in reports) == [16, 16]
    assert len(standin.log) == 8
    assert_polite(standin.log)


def test_old_style_and_versioned_ids_round_trip(
    tmp_path: Path, store: MetadataStore, standin: StandIn
) -> None:
    report = fetch_papers(["hep-th/9711200"], settings_for(tmp_path, standin.url), store, "r")
    record = report.records["hep-th/9711200"]
    assert record.version == 3 and record.title.startswith("The Large N Limit")
    assert standin.log[0].ids == ["hep-th/9711200"]


# --- retries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "overrides"),
    [
        (Fault("503", first_n=2), {}),
        (Fault("503", first_n=2, retry_after=0.3), {"max_backoff_seconds": 1.0}),
        (Fault("429", first_n=2), {}),
        (Fault("rate_exceeded_200", first_n=2), {}),
        (Fault("empty_page", first_n=2), {}),
        (Fault("truncated", first_n=2), {}),
        (Fault("html", first_n=2), {}),
        (Fault("reset", first_n=2), {}),
        (Fault("slow", first_n=2, delay=0.6), {"read_timeout": 0.2}),
        (Fault("hang", first_n=2), {"read_timeout": 0.2}),
    ],
    ids=[
        "503",
        "503-retry-after",
        "429",
        "rate-exceeded-200",
        "empty-page",
        "truncated",
        "html",
        "reset",
        "slow",
        "hang",
    ],
)
def test_each_fault_kind_is_retried_until_a_good_answer(
    tmp_path: Path,
    store: MetadataStore,
    standin: StandIn,
    standin_corpus: list[CorpusRecord],
    fault: Fault,
    overrides: dict[str, object],
) -> None:
    wanted = ids_of(standin_corpus, 3)
    standin.set_faults([fault])
    settings = settings_for(tmp_path, standin.url, **overrides)
    report = fetch_papers(wanted, settings, store, "run-1")
    log = standin.log
    assert [e.fault for e in log] == [fault.kind, fault.kind, None]
    assert [e.ids for e in log] == [wanted] * 3  # the same request, asked again
    assert [(o.outcome, o.attempts) for o in report.outcomes] == [("found", 3)] * 3
    assert (report.requests, report.retries) == (3, 2)
    assert report.problems == []
    gaps = [e.since_previous or 0.0 for e in log[1:]]
    assert min(gaps) >= max(DELAY, fault.retry_after or 0.0) - EPSILON
    if fault.kind not in ("slow", "hang"):  # an abandoned slow answer is still being served
        assert_polite(log)


def test_retry_after_longer_than_the_backoff_cap_gives_up(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    standin.set_faults([Fault("429", retry_after=60)])
    report = fetch_papers(
        ids_of(standin_corpus, 2), settings_for(tmp_path, standin.url), store, "r"
    )
    assert len(standin.log) == 1
    assert {(o.outcome, o.attempts) for o in report.outcomes} == {("failed", 1)}


def test_failure_after_the_budget_is_recorded_and_the_rest_completes(
    tmp_path: Path, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    wanted = ids_of(standin_corpus, 6)
    settings = settings_for(tmp_path, standin.url, batch_size=2, max_attempts=3)
    # The first batch gets 503 on all three tries; the next batches are answered.
    standin.set_faults([Fault("503", first_n=3)])
    with open_store(settings) as store:
        report = fetch_papers(wanted, settings, store, "run-1")
        outcomes = [(o.outcome, o.attempts) for o in report.outcomes]
        assert outcomes == [("failed", 3)] * 2 + [("found", 1)] * 4
        assert all("HTTP 503" in (o.reason or "") for o in report.outcomes[:2])
        assert [(p.source, p.kind) for p in report.problems] == [
            (wanted[0], "fetch_failed"),
            (wanted[1], "fetch_failed"),
        ]
        assert set(store.get_papers()) == set(wanted[2:])
        # The next run asks only for the failed ones.
        standin.clear_log()
        again = fetch_papers(wanted, settings, store, "run-2")
    assert [e.ids for e in standin.log] == [wanted[:2]]
    assert [o.outcome for o in again.outcomes] == ["found"] * 6
    assert again.from_store == 4


def test_a_batch_rejected_for_a_bad_id_is_bisected(
    tmp_path: Path,
    store: MetadataStore,
    standin: StandIn,
    standin_corpus: list[CorpusRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # arXiv's rules may be stricter than ours: let a malformed ID past the local check.
    monkeypatch.setattr(pipeline.fetch.papers, "is_valid_id", lambda arxiv_id: True)
    bad = "0112019"  # docs/arxiv.md §3: an old-style ID without its archive
    wanted = [*ids_of(standin_corpus, 5), bad, *ids_of(standin_corpus, 2, start=5)]
    report = fetch_papers(wanted, settings_for(tmp_path, standin.url), store, "run-1")
    by_id = {o.arxiv_id: o for o in report.outcomes}
    assert by_id[bad].outcome == "invalid" and "incorrect id format" in (by_id[bad].reason or "")
    assert [by_id[i].outcome for i in wanted if i != bad] == ["found"] * 7
    log = standin.log
    sent = [tuple(e.ids) for e in log]
    assert len(set(sent)) == len(sent)  # a rejected batch is never sent again as is
    assert len(log) <= 1 + 2 * 3  # two requests per halving of 8 IDs at most
    assert by_id[bad].attempts == 4  # 8, 4, 2, then 1 ID
    assert [e.status for e in log if bad in e.ids] == [400] * 4


def test_missing_ids_are_asked_again_once_beside_a_witness(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    wanted = [*ids_of(standin_corpus, 3), NONEXISTENT]
    report = fetch_papers(wanted, settings_for(tmp_path, standin.url), store, "run-1")
    first, second = (e.ids for e in standin.log)
    assert first == wanted
    assert second[0] == NONEXISTENT and second[1] in wanted[:3]  # a paper found before
    assert report.outcomes[-1].outcome == "not_found" and report.outcomes[-1].attempts == 2
    assert store.get_outcomes()[NONEXISTENT][0] == "not_found"


def test_a_single_id_on_an_empty_page_is_found_on_the_second_look(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    standin.set_faults([Fault("empty_page", first_n=1)])
    report = fetch_papers(
        ids_of(standin_corpus, 1), settings_for(tmp_path, standin.url), store, "r"
    )
    assert [e.fault for e in standin.log] == ["empty_page", None]
    assert [(o.outcome, o.attempts) for o in report.outcomes] == [("found", 2)]


def test_empty_feeds_never_settle_an_id_as_not_found(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    # docs/arxiv.md §5 (arxiv.py #129, #157): arXiv serves empty pages for queries that
    # have results, and an empty first page looks like "none of these exist".
    wanted = ids_of(standin_corpus, 3)
    settings = settings_for(tmp_path, standin.url)
    standin.set_faults([Fault("empty_page")])
    first = fetch_papers(wanted, settings, store, "run-1")
    assert [o.outcome for o in first.outcomes] == ["failed"] * 3
    assert "empty page" in (first.outcomes[0].reason or "")
    assert {kind for kind, _ in store.get_outcomes().values()} == {"failed"}
    standin.set_faults([])
    second = fetch_papers(wanted, settings, store, "run-2")  # asked again, found
    assert [o.outcome for o in second.outcomes] == ["found"] * 3


def test_the_witness_may_be_one_of_the_missing_ids(
    tmp_path: Path, store: MetadataStore, standin: StandIn
) -> None:
    wanted = ["1706.03762", NONEXISTENT]  # the default witness is asked for itself
    standin.set_faults([Fault("empty_page", first_n=3)])  # the whole first request's budget
    report = fetch_papers(wanted, settings_for(tmp_path, standin.url), store, "run-1")
    assert [o.outcome for o in report.outcomes] == ["found", "not_found"]
    assert sorted(standin.log[-1].ids) == sorted(wanted)


def fresh_record(paper_id: str, title: str) -> CorpusRecord:
    return CorpusRecord(
        id=paper_id,
        title=title,
        abstract="Announced an hour ago.",
        authors=[("New Author", [])],
        primary_category="cs.LG",
        categories=["cs.LG"],
        comment=None,
        journal_ref=None,
        doi=None,
        versions=[datetime.now(UTC).strftime(ISO_UTC)],
    )


def test_a_fresh_id_the_index_lacks_is_asked_again_after_a_day(
    tmp_path: Path, store: MetadataStore, standin: StandIn
) -> None:
    # docs/arxiv.md §3: the API sees new papers from the midnight after announcement.
    now = datetime.now(UTC)
    fresh = f"{now:%y%m}.00042"
    standin.add_records([fresh_record(fresh, "A Paper Announced Today")])
    standin.set_index_lag(24 * 3600)
    settings = settings_for(tmp_path, standin.url)
    first = fetch_papers([fresh], settings, store, "run-1")
    assert [o.outcome for o in first.outcomes] == ["not_found"]
    assert first.expires_at is not None and first.expires_at <= now + timedelta(days=1.01)
    asked = len(standin.log)
    fetch_papers([fresh], settings, store, "run-2")  # within the day: not asked again
    assert len(standin.log) == asked
    standin.set_index_lag(0)
    store.db.execute(
        "UPDATE id_outcomes SET decided_at = ?", ((now - timedelta(days=1.1)).isoformat(),)
    )
    third = fetch_papers([fresh], settings, store, "run-3")
    assert [o.outcome for o in third.outcomes] == ["found"]
    # An old ID's not_found is kept refresh_days, as before.
    assert not pipeline.fetch.papers.is_fresh_id("2401.00001", now)


def test_a_refused_post_falls_back_to_gets_that_fit_a_request_line(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    # docs/arxiv.md §2: POST was refused for ten days in 2025 (commit 9ab8d32 took it
    # back); gunicorn's request line holds 4094 bytes.
    standin.set_faults([Fault("post_refused")])
    wanted = [r.id for r in standin_corpus]
    settings = settings_for(tmp_path, standin.url, batch_size=len(wanted))
    report = fetch_papers(wanted, settings, store, "run-1")
    assert [o.outcome for o in report.outcomes] == ["found"] * len(wanted)
    first, *rest = standin.log
    assert (first.method, first.status) == ("POST", 405)
    assert rest and {(e.method, e.status) for e in rest} == {("GET", 200)}
    assert sorted(i for e in rest for i in e.ids) == sorted(wanted)  # split, none twice
    assert all(len(standin.url) + len(urlencode(e.params)) + 1 < 4094 for e in rest)


def test_persistent_throttling_stops_the_whole_fetch_after_a_few_tries(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    # docs/arxiv.md §5: 429 "Rate exceeded." without Retry-After, lasting hours.
    standin.set_faults([Fault("429")])
    wanted = ids_of(standin_corpus, 100)
    settings = settings_for(tmp_path, standin.url, batch_size=10)  # ten batches
    budget = FetchBudget()
    report = fetch_papers(wanted, settings, store, "run-1", budget=budget)
    assert len(standin.log) == THROTTLED_TRIES_TO_STOP  # not 10 batches x 3 tries
    assert {o.outcome for o in report.outcomes} == {"failed"}
    assert budget.stopped is not None and "throttled" in budget.stopped
    # The title search of the same run sends nothing either.
    search_titles([standin_corpus[0].title], settings, store, "run-1", budget)
    assert len(standin.log) == THROTTLED_TRIES_TO_STOP


def test_a_slow_429_past_the_read_timeout_counts_as_throttled(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    # docs/arxiv.md §5: a 429 can take 124 s to arrive, past a 60 s read timeout.
    standin.set_faults([Fault("429", delay=0.5)])
    settings = settings_for(tmp_path, standin.url, batch_size=10, read_timeout=0.2)
    started = time.monotonic()
    report = fetch_papers(ids_of(standin_corpus, 100), settings, store, "r", budget=FetchBudget())
    assert time.monotonic() - started < 5
    assert len(standin.log) == THROTTLED_TRIES_TO_STOP
    assert {o.outcome for o in report.outcomes} == {"failed"}


def test_the_fetch_deadline_stops_a_slow_run(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    # Issue 12 item 6: a server that answers, but slowly, must not hold a run for ever.
    standin.set_faults([Fault("slow", delay=0.3)])
    settings = settings_for(tmp_path, standin.url, batch_size=10)
    started = time.monotonic()
    budget = FetchBudget(1.0)
    report = fetch_papers(ids_of(standin_corpus, 100), settings, store, "run-1", budget=budget)
    assert time.monotonic() - started < 2.0
    outcomes = [o.outcome for o in report.outcomes]
    assert 0 < outcomes.count("found") < 100 and set(outcomes) == {"found", "failed"}
    assert budget.stopped is not None and "deadline" in budget.stopped
    assert 2 <= len(standin.log) <= 5


def test_the_default_deadline_grows_with_the_requests(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "http://127.0.0.1:1/api/query")
    assert fetch_deadline(settings, 10) < fetch_deadline(settings, 20)
    fixed = settings_for(tmp_path, "http://127.0.0.1:1/api/query", fetch_deadline_seconds=7)
    assert fetch_deadline(fixed, 10) == 7


# --- the store makes it incremental -----------------------------------------------------


def test_second_run_with_nothing_new_sends_nothing(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    wanted = [*ids_of(standin_corpus, 3), NONEXISTENT, "not-an-id"]
    settings = settings_for(tmp_path, standin.url)
    first = fetch_papers(wanted, settings, store, "run-1")
    kinds = [o.outcome for o in first.outcomes]
    assert kinds == ["found"] * 3 + ["not_found", "invalid"]
    standin.clear_log()
    second = fetch_papers(wanted, settings, store, "run-2")
    assert standin.log == [] and second.requests == 0
    assert [o.outcome for o in second.outcomes] == kinds
    assert second.from_store == 4 and second.records == first.records
    # Once refresh_days have passed, known papers and not-found IDs are asked again.
    stale = settings_for(tmp_path, standin.url, refresh_days=0)
    fetch_papers(wanted, stale, store, "run-3")
    assert {i for e in standin.log for i in e.ids} == set(wanted[:4])


def test_each_stored_paper_is_judged_by_its_own_fetch_time_and_source(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    wanted = ids_of(standin_corpus, 4)
    first = fetch_papers(wanted, settings_for(tmp_path, standin.url), store, "run-1")
    now = datetime.now(UTC)
    days_ago = {1: 5, 2: 40, 3: 40}
    source: dict[int, PaperSource] = {1: "api", 2: "snapshot", 3: "api"}
    store.put_papers(
        replace(first.records[wanted[n]], fetched_at=now - timedelta(days=d), source=source[n])
        for n, d in days_ago.items()
    )
    standin.clear_log()
    settings = settings_for(tmp_path, standin.url, refresh_days=30, snapshot_refresh_days=60)
    report = fetch_papers(wanted, settings, store, "run-2")
    # Only the API paper older than refresh_days is asked again; the snapshot's keeps 60 days.
    assert [e.ids for e in standin.log] == [[wanted[3]]]
    days = [now.date(), *((now - timedelta(days=days_ago[n])).date() for n in (1, 2))]
    assert [o.reason for o in report.outcomes[:3]] == [f"stored, fetched {d}" for d in days]
    assert [(o.outcome, o.attempts) for o in report.outcomes] == [("found", 0)] * 3 + [("found", 1)]
    assert report.from_store == 3 and set(report.records) == set(wanted)


def test_each_batch_is_stored_before_the_next_is_asked(
    tmp_path: Path, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    wanted = ids_of(standin_corpus, 4)
    settings = settings_for(tmp_path, standin.url, batch_size=2, read_timeout=5.0)
    standin.set_faults([Fault("hang", every_nth=2)])  # the second request hangs
    reports = []

    def run() -> None:
        with open_store(settings) as store:  # SQLite connections stay in their thread
            reports.append(fetch_papers(wanted, settings, store, "run-1"))

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 5
    while len(standin.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    with open_store(settings) as reader:  # what a run killed now would leave behind
        stored = set(reader.get_papers())
    standin.stop()  # ends the hung answer; the run records the rest as failed
    worker.join()
    assert stored == set(wanted[:2])
    assert [o.outcome for o in reports[0].outcomes] == ["found", "found", "failed", "failed"]


def test_a_stale_paper_whose_refresh_fails_keeps_its_stored_copy(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    wanted = ids_of(standin_corpus, 2)
    first = fetch_papers(wanted, settings_for(tmp_path, standin.url), store, "run-1")
    standin.set_faults([Fault("503")])
    stale = settings_for(tmp_path, standin.url, refresh_days=0)
    report = fetch_papers(wanted, stale, store, "run-2")
    assert len(standin.log) == 1 + 3  # the first run, then three tries
    assert report.records == first.records
    assert [(o.outcome, o.attempts) for o in report.outcomes] == [("found", 3)] * 2
    assert all("refresh failed" in (o.reason or "") for o in report.outcomes)
    assert [p.kind for p in report.problems] == ["refresh_failed"] * 2


def test_offline_uses_only_the_store(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    known = ids_of(standin_corpus, 2)
    fetch_papers([*known, NONEXISTENT], settings_for(tmp_path, standin.url), store, "run-1")
    standin.clear_log()
    unknown = standin_corpus[5].id
    offline = settings_for(tmp_path, standin.url, offline=True, refresh_days=0)
    report = fetch_papers([*known, NONEXISTENT, unknown], offline, store, "run-2")
    assert standin.log == [] and report.requests == 0
    assert [o.outcome for o in report.outcomes] == ["found", "found", "not_found", "failed"]
    assert report.outcomes[-1].reason == "offline: not in the store"
    assert [(p.source, p.kind) for p in report.problems] == [(unknown, "offline_missing")]
    assert set(report.records) == set(known)


def test_stored_answers_rebuild_the_papers(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    settings = settings_for(tmp_path, standin.url, batch_size=10)
    report = fetch_papers(ids_of(standin_corpus, 25), settings, store, "run-1")
    with MetadataStore(tmp_path / "rebuilt.sqlite") as rebuilt:
        assert reparse_stored_responses(settings.paths, rebuilt).papers == 25
        papers = rebuilt.get_papers()
    assert standin.log and len(response_paths(settings.paths)) == 3
    for arxiv_id, record in report.records.items():
        again = papers[arxiv_id]
        assert abs((again.fetched_at - record.fetched_at).total_seconds()) < 1
        again.fetched_at = record.fetched_at
        assert again == record


def test_progress_bar_stays_off_when_stderr_is_not_a_terminal(
    tmp_path: Path,
    store: MetadataStore,
    standin: StandIn,
    standin_corpus: list[CorpusRecord],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(tmp_path, standin.url)
    fetch_papers(ids_of(standin_corpus, 2), settings, store, "r", progress=True)
    assert capsys.readouterr().err == ""


# --- title searches ---------------------------------------------------------------------


def test_titles_are_searched_together_and_answered_each(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    by_id = {r.id: r for r in standin_corpus}
    tex = by_id["2601.00003"]  # "$\sigma$-GPTs: A New Approach to Autoregressive Models"
    wrapped = standin_corpus[0]
    titles = [
        tex.title,
        wrapped.title.upper().replace(" ", "\n  ", 2),  # case and line wraps don't matter
        'A "quoted" (title): that \\ matches nothing at all',
    ]
    settings = settings_for(tmp_path, standin.url)
    found, report = search_titles(titles, settings, store, "run-1")
    # The phrase that found nothing is asked once more by its distinctive words (and that
    # empty answer once more, as every empty answer is).
    request, *again_by_words = standin.log
    assert [r.params["search_query"] for r in again_by_words] == [
        "(ti:matches AND ti:nothing AND ti:quoted AND ti:title) OR id:1706.03762"
    ]
    query = request.params["search_query"]
    phrases = re.findall(r'ti:"([^"]*)"', query)
    # Each request also asks for a witness, so that an empty page is a failure.
    assert query == " OR ".join(f'ti:"{phrase}"' for phrase in phrases) + " OR id:1706.03762"
    assert phrases[0] == "sigma gpts a new approach to autoregressive models"
    assert phrases[2] == "a quoted title that matches nothing at all"
    assert request.params["max_results"] == "31"
    assert found[tex.title][0].arxiv_id == tex.id
    assert found[titles[1]][0].arxiv_id == wrapped.id
    assert found[titles[2]] == []
    assert {tex.id, wrapped.id} <= set(report.records)
    assert store.get_papers([tex.id])[tex.id].title == found[tex.title][0].title
    # Stored searches answer the second time.
    standin.clear_log()
    again, second = search_titles(titles, settings, store, "run-2")
    assert standin.log == [] and second.from_store == 3
    assert again == found


HARD_TITLES = json.loads((GENUINE.parent / "hard-titles.json").read_text("utf-8"))


def test_every_hard_title_is_found_first(
    tmp_path: Path, store: MetadataStore, standin: StandIn
) -> None:
    # docs/arxiv.md §6: apostrophes and dotted versions are single words on arXiv,
    # titles keep their accents, TeX spells Greek letters and superscripts, stopwords leave
    # gaps; a digest's title that is cut short needs the second pass.
    titles = [case["digest"] for case in HARD_TITLES]
    found, report = search_titles(titles, settings_for(tmp_path, standin.url), store, "run-1")
    firsts = {case["hard"] + ": " + case["digest"]: [r.arxiv_id for r in found[case["digest"]]][:1]
              for case in HARD_TITLES}  # fmt: skip
    assert firsts == {case["hard"] + ": " + case["digest"]: [case["id"]] for case in HARD_TITLES}
    assert report.requests <= 4  # 18 titles: two OR requests, then the second pass


def test_accented_titles_are_asked_with_and_without_accents(
    tmp_path: Path, store: MetadataStore, standin: StandIn
) -> None:
    title = "Schrödinger Bridge Matching for Unpaired Translation"
    search_titles([title], settings_for(tmp_path, standin.url), store, "run-1")
    assert standin.log[0].params["search_query"] == (
        'ti:"schrödinger bridge matching for unpaired translation" OR '
        'ti:"schrodinger bridge matching for unpaired translation" OR id:1706.03762'
    )


def test_answers_go_to_the_title_they_resemble_not_to_every_title_they_contain(
    tmp_path: Path, store: MetadataStore, standin: StandIn
) -> None:
    # docs/arxiv.md §6: "attention is all you need" is contained in both titles.
    short, longer = "Attention Is All You Need", "Tensor Product Attention Is All You Need"
    found, _ = search_titles([short, longer], settings_for(tmp_path, standin.url), store, "r")
    assert [r.arxiv_id for r in found[short]] == ["1706.03762"]
    assert [r.arxiv_id for r in found[longer]] == ["2501.06425"]


def test_a_cut_page_is_asked_again_in_halves(
    tmp_path: Path, store: MetadataStore, standin: StandIn
) -> None:
    # docs/arxiv.md §6: ten phrases share one ranked page; totalResults tells a cut.
    generic = [
        CorpusRecord(
            id=f"2602.{n:05d}",
            title=f"Deep Learning {n}",
            abstract="A generic paper.",
            authors=[("Some One", [])],
            primary_category="cs.LG",
            categories=["cs.LG"],
            comment=None,
            journal_ref=None,
            doi=None,
            versions=["2026-02-01T00:00:00Z"],
        )
        for n in range(1, 31)
    ]
    standin.add_records(generic)
    rare = "Sapiens: Foundation for Human Vision Models"
    found, _ = search_titles(
        ["Deep Learning", rare], settings_for(tmp_path, standin.url), store, "r"
    )
    assert [e.params["search_query"].count("ti:") for e in standin.log] == [2, 1, 1]
    assert [r.arxiv_id for r in found[rare]][:1] == ["2408.12569"]
    assert len(found["Deep Learning"]) == 10


def test_an_empty_title_search_is_asked_once_more(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    standin.set_faults([Fault("empty_page", first_n=1)])
    title = standin_corpus[3].title
    found, report = search_titles([title], settings_for(tmp_path, standin.url), store, "run-1")
    assert [e.fault for e in standin.log] == ["empty_page", None]
    assert [r.arxiv_id for r in found[title]][:1] == [standin_corpus[3].id]
    assert report.retries == 1


def test_many_titles_go_ten_to_a_request(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    titles = [r.title for r in standin_corpus[:12]]
    found, _ = search_titles(titles, settings_for(tmp_path, standin.url), store, "run-1")
    assert [e.params["search_query"].count("ti:") for e in standin.log] == [10, 2]
    for record in standin_corpus[:12]:
        assert record.id in [r.arxiv_id for r in found[record.title]]
    assert_polite(standin.log)


def test_a_failed_title_search_is_reported_and_not_stored(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    standin.set_faults([Fault("503", first_n=3)])
    title = standin_corpus[0].title
    settings = settings_for(tmp_path, standin.url)
    found, report = search_titles([title], settings, store, "run-1")
    assert found == {title: []} and len(standin.log) == 3
    assert [(p.kind, "HTTP 503" in p.message) for p in report.problems] == [("search_failed", True)]
    assert store.get_title_searches() == {}
    again, _ = search_titles([title], settings, store, "run-2")  # asked again next time
    assert [r.arxiv_id for r in again[title]][:1] == [standin_corpus[0].id]


def test_title_searches_older_than_refresh_days_are_asked_again(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    title = standin_corpus[0].title
    search_titles([title], settings_for(tmp_path, standin.url), store, "run-1")
    asked = len(standin.log)
    assert asked > 0
    search_titles([title], settings_for(tmp_path, standin.url), store, "run-2")
    assert len(standin.log) == asked  # fresh: answered from the store
    found, _ = search_titles(
        [title], settings_for(tmp_path, standin.url, refresh_days=0), store, "run-3"
    )
    assert len(standin.log) > asked  # stale: asked again
    assert [r.arxiv_id for r in found[title]][:1] == [standin_corpus[0].id]


def test_a_damaged_metadata_store_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "metadata.sqlite"
    path.write_bytes(b"not a database, just some bytes that fill more than a header " * 4)
    with pytest.raises(
        StoreError, match=r"metadata\.sqlite: file is not a database; the file is damaged: move it"
    ):
        MetadataStore(path)


def test_offline_title_search_uses_only_stored_searches(
    tmp_path: Path, store: MetadataStore, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    known, unknown = standin_corpus[0].title, standin_corpus[1].title
    search_titles([known], settings_for(tmp_path, standin.url), store, "run-1")
    standin.clear_log()
    offline = settings_for(tmp_path, standin.url, offline=True)
    found, report = search_titles([known, unknown], offline, store, "run-2")
    assert standin.log == [] and found[unknown] == [] and found[known]
    assert [p.kind for p in report.problems] == ["offline_missing"]


# --- servers that misbehave beyond what the stand-in does ----------------------------------

ONE_PAPER = (GENUINE / "idlist-1-entry-collaboration-author-newformat-2026.xml").read_bytes()
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>&b;</id></entry></feed>"""

Script = Callable[[BaseHTTPRequestHandler], None]  # writes one whole answer


def atom(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/atom+xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def endless(handler: BaseHTTPRequestHandler) -> None:
    """A 200 whose body never ends (no Content-Length): the client must stop reading."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/atom+xml")
    handler.end_headers()
    handler.wfile.write(b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">')
    chunk = b"<!-- padding -->" * 4096
    try:
        while True:
            handler.wfile.write(chunk)
    except OSError:
        pass  # the client hung up, as it should


class ScriptedServer:
    """Answers the n-th request with the n-th script (the last one repeats)."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.requests = 0
        self.user_agents: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                server.user_agents.append(self.headers.get("User-Agent"))
                server.scripts[min(server.requests, len(server.scripts)) - 1](self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/query"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def gzipped(data: bytes | Iterator[bytes]) -> bytes:
    """`data` (or its pieces) gzip-compressed, streamed so a large input is never whole."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    pieces = [data] if isinstance(data, bytes) else data
    return b"".join(packer.compress(piece) for piece in pieces) + packer.flush()


def zeros(megabytes: int) -> Iterator[bytes]:
    block = bytes(1 << 20)
    for _ in range(megabytes):
        yield block


# Issue 12 item 5: 256 MB of zeros gzipped twice is a few kilobytes on the wire.
DOUBLE_GZIP_BOMB = gzipped(gzipped(zeros(256)))


def encoded(handler: BaseHTTPRequestHandler, body: bytes, encoding: str) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/atom+xml")
    handler.send_header("Content-Encoding", encoding)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.mark.parametrize(
    ("script", "says"),
    [
        (lambda h: atom(h, BILLION_LAUGHS), "DTD"),
        (endless, "cap"),
        (lambda h: encoded(h, DOUBLE_GZIP_BOMB, "gzip, gzip"), "cap once decoded"),
    ],
    ids=["entity-declarations", "endless-body", "double-gzip-bomb"],
)
def test_hostile_answer_is_refused_once_and_recorded_as_failed(
    tmp_path: Path, store: MetadataStore, script: Script, says: str
) -> None:
    with ScriptedServer([script]) as server:
        settings = settings_for(tmp_path, server.url)
        tracemalloc.start()
        report = fetch_papers(["1207.7214"], settings, store, "run-1")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 3 * MAX_ANSWER_BYTES  # read with a cap, not to the end
    (outcome,) = report.outcomes
    assert outcome.outcome == "failed" and says in (outcome.reason or "")
    assert outcome.attempts == 1 and server.requests == 1  # refused, not retried
    assert [p.kind for p in report.problems] == ["fetch_failed"]
    assert store.get_papers() == {} and response_paths(settings.paths) == []
    assert store.get_outcomes()["1207.7214"][0] == "failed"


def test_a_corrupt_compressed_body_is_a_bad_answer_retried_then_failed(
    tmp_path: Path, store: MetadataStore
) -> None:
    # Issue 12 item 5: httpx.DecodingError used to escape (exit 1, no tables).
    corrupt = gzipped(ONE_PAPER)[:40] + b"\x00garbage" * 20
    with ScriptedServer([lambda h: encoded(h, corrupt, "gzip")]) as server:
        settings = settings_for(tmp_path, server.url)
        report = fetch_papers(["1207.7214"], settings, store, "run-1")
    (outcome,) = report.outcomes
    assert outcome.outcome == "failed" and "corrupt compressed body" in (outcome.reason or "")
    assert server.requests == settings.max_attempts


def test_gzip_and_deflate_answers_are_decoded(tmp_path: Path, store: MetadataStore) -> None:
    deflated = zlib.compress(ONE_PAPER)
    scripts: list[Script] = [
        lambda h: encoded(h, gzipped(ONE_PAPER), "gzip"),
        lambda h: encoded(h, deflated, "deflate"),
    ]
    with ScriptedServer(scripts) as server:
        settings = settings_for(tmp_path, server.url)
        first = fetch_papers(["1207.7214"], settings, store, "run-1")
        second = fetch_papers(["1207.7214"], settings_for(tmp_path, server.url, refresh_days=0),
                              store, "run-2")  # fmt: skip
    assert [o.outcome for o in (*first.outcomes, *second.outcomes)] == ["found", "found"]


@contextmanager
def unconnectable_url(how: str) -> Iterator[str]:
    """A local address where connecting fails: refused (closed port) or timing out (a
    listener that never accepts and whose backlog is full, so further SYNs are dropped)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        if how == "refused":
            listener.close()
            yield f"http://127.0.0.1:{port}/api/query"
            return
        listener.listen(0)
        with socket.create_connection(("127.0.0.1", port)):  # fills the backlog
            yield f"http://127.0.0.1:{port}/api/query"


@pytest.mark.parametrize(
    ("call", "how"),
    [("fetch_papers", "refused"), ("search_titles", "refused"), ("fetch_papers", "timeout")],
)
def test_unconnectable_arxiv_is_reported_unreachable_within_seconds(
    tmp_path: Path, store: MetadataStore, call: str, how: str
) -> None:
    with unconnectable_url(how) as url:
        # Production-sized budget: the short first check must not run the whole retry loop.
        settings = settings_for(
            tmp_path, url, connect_timeout=10.0, max_attempts=5, max_backoff_seconds=300
        )
        started = time.monotonic()
        with pytest.raises(ArxivUnreachable, match="unreachable"):
            if call == "fetch_papers":
                fetch_papers(["1207.7214"], settings, store, "run-1")
            else:
                search_titles(["Attention Is All You Need"], settings, store, "run-1")
        assert time.monotonic() - started < 5.0
    assert store.get_outcomes() == {} and store.get_title_searches() == {}


def test_connection_lost_after_a_good_answer_is_retried_then_failed(
    tmp_path: Path, store: MetadataStore
) -> None:
    def answer_then_close(handler: BaseHTTPRequestHandler) -> None:
        atom(handler, ONE_PAPER)
        handler.close_connection = True
        server.httpd.socket.close()  # from now on connections are refused

    server = ScriptedServer([answer_then_close])
    with server:
        settings = settings_for(tmp_path, server.url, batch_size=1)
        report = fetch_papers(["1207.7214", "1205.1001"], settings, store, "run-1")
    found, lost = report.outcomes
    assert (found.outcome, found.attempts) == ("found", 1)
    assert (lost.outcome, lost.attempts) == ("failed", 3)
    assert "cannot connect" in (lost.reason or "")
    assert report.retries == 2
    assert set(store.get_papers()) == {"1207.7214"}
    # docs/arxiv.md §1: a descriptive User-Agent with the contact address.
    (agent,) = server.user_agents
    assert agent is not None and agent.startswith("digest-enrich/")
    assert agent.endswith("(+mailto:digest-tests@example.org)")


def test_unusable_entries_are_reported_with_their_stored_answer(
    tmp_path: Path, store: MetadataStore
) -> None:
    two = (GENUINE / "idlist-2-entries-oldformat-2012.xml").read_bytes()
    no_id = two.replace(b"<id>http://arxiv.org/abs/1001.1001v1</id>", b"")
    with ScriptedServer([lambda h: atom(h, no_id)]) as server:
        settings = settings_for(tmp_path, server.url)
        report = fetch_papers(["1205.1001", "1001.1001", "1207.7214"], settings, store, "r")
    outcomes = [(o.outcome, o.attempts) for o in report.outcomes]
    assert outcomes == [("found", 1), ("not_found", 2), ("not_found", 2)]
    assert server.requests == 2  # the batch, then the missing IDs once more beside a witness
    bad_entries = [p for p in report.problems if p.kind == "bad_entry"]
    assert len(bad_entries) == 2 and {p.line for p in bad_entries} == {47}
    stored = {
        path.relative_to(settings.raw_dir).as_posix() for path in response_paths(settings.paths)
    }
    assert {p.source for p in bad_entries} == stored
    # The second look brought 1205.1001 again, as the witness asked for: not a problem.
    assert [p for p in report.problems if p.kind == "unrequested_entry"] == []
    assert set(store.get_papers()) == {"1205.1001"}
