"""OAI-PMH as a source: genuine arXivRaw records equal the genuine Atom answers for the same
papers; harvests against the stand-in's /oai endpoint page by resumption token, wait out
503 + Retry-After, resume after a failure or a SIGKILL, and harvest nothing when nothing
is new."""

from __future__ import annotations

import dataclasses
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from test_enrich_e2e import ROOT, clean_env, cli, run_cli
from test_fetch import DELAY, EPSILON, GENUINE, settings_for
from test_fetch_runs import write_link_digest

from pipeline.config import ConfigError, Settings
from pipeline.fetch import fetch_papers, reparse_stored_responses
from pipeline.fetch.atom import feed_records, read_feed
from pipeline.fetch.oai import (
    HARVEST_LEDGER,
    OaiError,
    answer_records,
    asks_oai_for_histories,
    get_record,
    harvest,
    raw_record,
    read_oai,
)
from pipeline.fetch.transport import RequestFailed
from pipeline.model import PaperRecord, PaperVersion
from pipeline.standin import CorpusRecord, Fault, StandIn
from pipeline.standin.oai import datestamp
from pipeline.store import MetadataStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RAW = "{http://arxiv.org/OAI/arXivRaw/}arXivRaw"
SNAPSHOT_SAMPLE = Path(__file__).parent / "fixtures" / "snapshot" / "snapshot-sample.jsonl"
PAGE = 40
PAIRS = [
    (
        "oai-arxivraw-getrecord-hep-th-9711200.xml",
        "idlist-oldstyle-id-hep-th-9711200-newformat-2026.xml",
    ),
    ("oai-arxivraw-getrecord-1706.03762.xml", "idlist-1706.03762-newformat-2026.xml"),
]
ONE_SOURCE_FIELDS = {"source", "license", "versions", "fetched_at"}


def oai_record(name: str) -> PaperRecord:
    root = read_oai((GENUINE / name).read_bytes())
    record = raw_record(next(root.iter(RAW)), NOW)
    assert not isinstance(record, str), record
    return record


@pytest.mark.parametrize(("oai_name", "atom_name"), PAIRS)
def test_genuine_arxivraw_equals_the_genuine_atom_answer_field_by_field(
    oai_name: str, atom_name: str
) -> None:
    from_oai = dataclasses.asdict(oai_record(oai_name))
    atom, problems = feed_records(read_feed((GENUINE / atom_name).read_bytes()), NOW, atom_name)
    assert problems == [] and len(atom) == 1
    from_api = dataclasses.asdict(atom[0])
    for name in set(from_oai) - ONE_SOURCE_FIELDS:
        assert from_oai[name] == from_api[name], name
    assert (from_oai["source"], from_api["source"]) == ("oai", "api")


def test_arxivraw_gives_every_version_with_its_size() -> None:
    record = oai_record(PAIRS[0][0])
    assert record.versions == [
        PaperVersion(1, datetime(1997, 11, 27, 23, 53, 13, tzinfo=UTC), 21),
        PaperVersion(2, datetime(1997, 12, 8, 18, 59, 11, tzinfo=UTC), 23),
        PaperVersion(3, datetime(1998, 1, 22, 15, 42, 41, tzinfo=UTC), 23),
    ]
    assert record.version == 3 and not record.withdrawn


def test_a_withdrawn_source_type_marks_the_paper_withdrawn() -> None:
    body = (
        (GENUINE / PAIRS[0][0])
        .read_bytes()
        .replace(
            b"<size>23kb</size>\n            </version>\n        <title>",
            b"<size>23kb</size><source_type>I</source_type>"
            b"\n            </version>\n        <title>",
        )
    )
    record = raw_record(next(read_oai(body).iter(RAW)), NOW)
    assert not isinstance(record, str)
    assert record.withdrawn and record.versions[-1].source_type == "I"
    assert "withdr" not in (record.comment or "")  # the flag, not the comment, says so


def test_a_record_without_its_header_is_skipped_and_said_not_a_traceback() -> None:
    """OAI-PMH requires a header in every record; an answer (or a kept one being read back
    by rebuild-store) that lacks it loses that record with a problem, not the whole page."""
    genuine = (GENUINE / PAIRS[1][0]).read_bytes()
    header = re.compile(rb"<header>.*?</header>", re.S)
    assert header.search(genuine)
    records, problems = answer_records(header.sub(b"", genuine, count=1), NOW)
    assert records == []
    assert problems == ["a record without its OAI-PMH header: skipped"]


@pytest.fixture
def oai_standin(standin_corpus: list[CorpusRecord]) -> Iterator[StandIn]:
    with StandIn(standin_corpus, oai_page_size=PAGE) as server:
        yield server


def oai_settings(tmp_path: Path, server: StandIn, **overrides: object) -> Settings:
    return settings_for(tmp_path, server.url, oai_url=server.oai_url, **overrides)


def test_a_harvest_pages_by_token_politely_and_a_rerun_harvests_nothing(
    tmp_path: Path, oai_standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    settings = oai_settings(tmp_path, oai_standin)
    pages = -(-len(standin_corpus) // PAGE)
    with MetadataStore(settings.paths.metadata_db) as store:
        report = harvest(settings, store, "")
        assert (report.records, report.pages, report.requests) == (
            len(standin_corpus),
            pages,
            pages,
        )
        stored = store.get_papers()
        assert set(stored) == {r.id for r in standin_corpus}
        assert {r.source for r in stored.values()} == {"oai"}
        log = oai_standin.log
        assert "resumptionToken" not in log[0].params
        assert all(set(e.params) == {"verb", "resumptionToken"} for e in log[1:])
        assert [e.in_flight for e in log] == [1] * len(log)
        assert all((e.since_previous or 0.0) >= DELAY - EPSILON for e in log[1:])
        state = store.get_ledger(HARVEST_LEDGER)
        assert state == {"from": datetime.now(UTC).date().isoformat(), "token": None}

        again = harvest(settings, store, "")
        assert (again.records, again.requests) == (0, 1)
        assert oai_standin.log[-1].params["from"] == state["from"]
        # Served from the store as an OAI copy, without a request to the query API.
        some = sorted(stored)[:5]
        served = fetch_papers(some, settings, store, "run-1")
        assert served.from_store == 5 and served.requests == 0


def test_a_set_harvests_only_its_papers(
    tmp_path: Path, oai_standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    settings = oai_settings(tmp_path, oai_standin)
    with MetadataStore(settings.paths.metadata_db) as store:
        report = harvest(settings, store, "physics:hep-th")
        expected = {r.id for r in standin_corpus if "hep-th" in r.categories}
        assert expected and set(store.get_papers()) == expected
        assert report.records == len(expected)
    assert oai_standin.log[0].params["set"] == "physics:hep-th"


def test_a_refused_token_begins_the_harvest_again(tmp_path: Path, oai_standin: StandIn) -> None:
    settings = oai_settings(tmp_path, oai_standin)
    with MetadataStore(settings.paths.metadata_db) as store:
        store.put_ledger(HARVEST_LEDGER + "cs", {"from": None, "token": "verb=Nonsense"})
        report = harvest(settings, store, "cs")
        assert report.records > 0
    first, second = oai_standin.log[:2]
    assert first.params == {"verb": "ListRecords", "resumptionToken": "verb=Nonsense"}
    assert second.params == {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs"}


def test_503_with_retry_after_is_waited_out(tmp_path: Path, oai_standin: StandIn) -> None:
    oai_standin.set_faults([Fault("503", first_n=1, retry_after=0.4)])
    settings = oai_settings(tmp_path, oai_standin, max_backoff_seconds=1.0)
    with MetadataStore(settings.paths.metadata_db) as store:
        report = harvest(settings, store, "physics:hep-th")
    log = oai_standin.log
    assert [e.status for e in log[:2]] == [503, 200] and report.records > 0
    assert (log[1].since_previous or 0.0) >= 0.4 - EPSILON
    assert log[0].params == log[1].params  # the same request asked again


def test_a_harvest_cut_off_by_an_outage_goes_on_from_its_token(
    tmp_path: Path, oai_standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    settings = oai_settings(tmp_path, oai_standin, max_attempts=2, delay_seconds=0.3)

    def break_down_after_two_pages() -> None:
        # The third request comes 0.3 s after the second answer: time enough to see it.
        while sum(1 for e in oai_standin.log if e.status == 200) < 2:
            time.sleep(0.005)
        oai_standin.set_faults([Fault("503")])  # every request fails from now on

    watcher = threading.Thread(target=break_down_after_two_pages)
    watcher.start()
    with MetadataStore(settings.paths.metadata_db) as store:
        with pytest.raises(RequestFailed):
            harvest(settings, store, "")
        watcher.join()
        kept = store.get_ledger(HARVEST_LEDGER)
        assert kept is not None and kept["token"]
        assert len(store.get_papers()) == 2 * PAGE
        assert [e.status for e in oai_standin.log] == [200, 200, 503, 503]
        oai_standin.set_faults([])
        oai_standin.clear_log()
        report = harvest(settings, store, "")
        assert oai_standin.log[0].params == {
            "verb": "ListRecords",
            "resumptionToken": kept["token"],
        }
        assert report.resumed and report.records == len(standin_corpus) - 2 * PAGE
        assert set(store.get_papers()) == {r.id for r in standin_corpus}


def test_a_killed_harvest_goes_on_from_its_last_token(
    tmp_path: Path, oai_standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    command = [
        sys.executable, "-m", "pipeline", "harvest", "--set", "",
        "--raw-dir", str(raw), "--out-dir", str(tmp_path / "out"),
        "--api-url", oai_standin.url, "--oai-url", oai_standin.oai_url,
        "--delay-seconds", "0.3",
    ]  # fmt: skip
    child = subprocess.Popen(command, cwd=ROOT, env=clean_env(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(oai_standin.log) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child.poll() is None, "the harvest ended before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    with MetadataStore(raw / "arxiv" / "metadata.sqlite") as store:
        kept = store.get_ledger(HARVEST_LEDGER)
        partial = len(store.get_papers())
    assert kept is not None and kept["token"] and 0 < partial < len(standin_corpus)
    oai_standin.clear_log()
    done = subprocess.run(
        [*command[:-1], "0.02"], cwd=ROOT, env=clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "(resumed)" in done.stdout
    assert oai_standin.log[0].params.get("resumptionToken") == kept["token"]
    with MetadataStore(raw / "arxiv" / "metadata.sqlite") as store:
        assert set(store.get_papers()) == {r.id for r in standin_corpus}


def test_get_record_stores_one_paper_with_its_history(tmp_path: Path, oai_standin: StandIn) -> None:
    settings = oai_settings(tmp_path, oai_standin)
    with MetadataStore(settings.paths.metadata_db) as store:
        record = get_record(settings, store, "hep-th/9711200")
        assert [v.version for v in record.versions] == [1, 2, 3]
        assert store.get_papers(["hep-th/9711200"])["hep-th/9711200"].source == "oai"
        with pytest.raises(OaiError, match="idDoesNotExist"):
            get_record(settings, store, "2501.99999")
    assert [e.params["verb"] for e in oai_standin.log] == ["GetRecord", "GetRecord"]


def test_arxivs_own_oai_host_is_never_asked_faster_than_every_3_s(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "http://127.0.0.1:9/api/query")  # delay 0.02
    assert settings.oai_url == "https://oaipmh.arxiv.org/oai"
    with (
        MetadataStore(settings.paths.metadata_db) as store,
        pytest.raises(ConfigError, match="below the 3 s"),
    ):
        harvest(settings, store, "cs")


def test_rebuild_store_brings_harvested_papers_back_with_their_history(
    tmp_path: Path, oai_standin: StandIn
) -> None:
    settings = oai_settings(tmp_path, oai_standin)
    with MetadataStore(settings.paths.metadata_db) as store:
        harvest(settings, store, "physics:hep-th")
        before = store.get_papers()
    settings.paths.metadata_db.unlink()
    with MetadataStore(settings.paths.metadata_db) as store:
        rebuilt = reparse_stored_responses(settings.paths, store)
        after = store.get_papers()
    assert rebuilt.skipped == [] and rebuilt.papers == len(before)
    assert {i: (r.source, r.versions) for i, r in after.items()} == {
        i: (r.source, r.versions) for i, r in before.items()
    }


def withdrawn_cli(raw: Path, out: Path, server: StandIn, *extra: str) -> list[str]:
    return [
        *cli("enrich", raw=raw, out=out, url=server.url),
        "--oai-url", server.oai_url, *extra,
    ]  # fmt: skip


def get_records(server: StandIn) -> list[str]:
    return [
        e.params["identifier"].removeprefix("oai:arXiv.org:")
        for e in server.log
        if e.params.get("verb") == "GetRecord"
    ]


def test_papers_that_look_withdrawn_get_their_history_by_get_record_bounded_per_run(
    tmp_path: Path, oai_standin: StandIn
) -> None:
    # docs/arxiv.md §7: the withdrawn flag of an Atom answer is a guess from the comment.
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_link_digest(raw, ["2601.00001", "0704.0156", "1706.03762"])  # withdrawn, withdrawn, live
    first = run_cli(withdrawn_cli(raw, out, oai_standin, "--withdrawn-lookups", "1"))
    assert first.returncode == 0, first.stderr
    assert get_records(oai_standin) == ["0704.0156"]  # the bound, in ID order
    papers = pl.read_parquet(out / "papers.parquet").select("arxiv_id", "source", "withdrawn")
    assert dict(papers.select("arxiv_id", "source").iter_rows()) == {
        "0704.0156": "oai",
        "2601.00001": "api",
        "1706.03762": "api",
    }
    versions = pl.read_parquet(out / "versions.parquet").filter(pl.col("arxiv_id") == "0704.0156")
    assert versions.height >= 2 and versions.get_column("size_kb").is_not_null().all()
    oai_standin.clear_log()
    second = run_cli(withdrawn_cli(raw, out, oai_standin))  # the default bound
    assert second.returncode == 0, second.stderr
    assert get_records(oai_standin) == ["2601.00001"]  # 0704.0156's history is stored
    papers = pl.read_parquet(out / "papers.parquet")
    assert set(papers.filter(pl.col("source") == "oai").get_column("arxiv_id")) == {
        "0704.0156",
        "2601.00001",
    }
    assert papers.filter(pl.col("arxiv_id") == "2601.00001").get_column("withdrawn").item()
    oai_standin.clear_log()
    third = run_cli(withdrawn_cli(raw, out, oai_standin))
    assert third.returncode == 0 and oai_standin.log == []  # nothing new: nothing asked


def test_a_snapshot_paper_that_looks_withdrawn_gets_its_history_too(
    tmp_path: Path, oai_standin: StandIn
) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_link_digest(raw, ["0704.0156", "0704.0001"])
    args = withdrawn_cli(raw, out, oai_standin, "--snapshot-path", str(SNAPSHOT_SAMPLE))
    done = run_cli(args)
    assert done.returncode == 0, done.stderr
    assert get_records(oai_standin) == ["0704.0156"]
    assert [e for e in oai_standin.log if e.params.get("verb") != "GetRecord"] == []
    papers = pl.read_parquet(out / "papers.parquet")
    assert dict(papers.select("arxiv_id", "source").iter_rows()) == {
        "0704.0156": "oai",
        "0704.0001": "snapshot",
    }


def test_withdrawn_histories_are_not_asked_offline_off_or_of_arxiv_from_a_stand_in_run(
    tmp_path: Path, oai_standin: StandIn
) -> None:
    asks = asks_oai_for_histories
    assert asks(oai_settings(tmp_path, oai_standin))
    assert not asks(oai_settings(tmp_path, oai_standin, offline=True))
    assert not asks(oai_settings(tmp_path, oai_standin, withdrawn_lookups=0))
    # The query API at a stand-in, OAI-PMH left at arXiv's own address: nothing to arXiv.
    assert not asks(settings_for(tmp_path, oai_standin.url))
    arxiv_both = settings_for(tmp_path, "https://export.arxiv.org/api/query", delay_seconds=3.0)
    assert asks(arxiv_both)


def test_a_harvest_until_a_day_stops_there_and_the_next_goes_on_from_it(
    tmp_path: Path, oai_standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    days = sorted({datestamp(r) for r in standin_corpus})
    until = days[len(days) // 2].isoformat()
    settings = oai_settings(tmp_path, oai_standin, harvest_until=until)
    up_to = {r.id for r in standin_corpus if datestamp(r).isoformat() <= until}
    assert 0 < len(up_to) < len(standin_corpus)
    with MetadataStore(settings.paths.metadata_db) as store:
        report = harvest(settings, store, "")
        assert report.records == len(up_to) and set(store.get_papers()) == up_to
        assert oai_standin.log[0].params["until"] == until
        assert store.get_ledger(HARVEST_LEDGER) == {"from": until, "token": None}
        oai_standin.clear_log()
        harvest(dataclasses.replace(settings, harvest_until=None), store, "")
        assert oai_standin.log[0].params["from"] == until
        assert "until" not in oai_standin.log[0].params
        assert set(store.get_papers()) == {r.id for r in standin_corpus}


@pytest.mark.parametrize("how", ["flag", "env"])
def test_harvest_until_is_a_flag_and_an_environment_setting(
    tmp_path: Path, oai_standin: StandIn, how: str
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    args = [
        *cli("harvest", raw=raw, out=tmp_path / "out", url=oai_standin.url),
        "--oai-url", oai_standin.oai_url, "--set", "physics:hep-th",
    ]  # fmt: skip
    if how == "flag":
        done = run_cli([*args, "--until", "2020-01-31"])
    else:
        done = run_cli(args, PIPELINE_HARVEST_UNTIL="2020-01-31")
    assert done.returncode == 0, done.stderr
    assert [e.params.get("until") for e in oai_standin.log][:1] == ["2020-01-31"]
    refused = run_cli([*args, "--until", "31.01.2020"])
    assert refused.returncode == 2 and "YYYY-MM-DD" in refused.stderr
