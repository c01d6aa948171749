"""The bulk snapshot as a source: records equal to the Atom answers, read as a stream
(plain, gzip, zip), bad lines named, IDs it lacks asked of the query API, no request else.

The excerpt is the real Kaggle dump's first 200 lines (tests/fixtures/snapshot, a byte copy
of arxiv-samples/snapshot-sample.jsonl). No genuine Atom capture of those 200 papers exists,
so the Atom side is the stand-in's answer for them, parsed by the pipeline's Atom reader.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import multiprocessing
import os
import signal
import socket
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from test_enrich_e2e import cli, run_cli
from test_fetch import settings_for

from pipeline.config import ConfigError, Settings, load_settings
from pipeline.fetch import fetch_papers
from pipeline.fetch.snapshot import SnapshotError, read_snapshot
from pipeline.fetch.snapshot_titles import line_index, title_index, titles_in_index
from pipeline.fetch.titles import title_phrase
from pipeline.model import PaperRecord, PaperVersion
from pipeline.standin import CorpusRecord, StandIn
from pipeline.store import MetadataStore, Paths, record_to_json, records_frame
from pipeline.tables import STORED_PAPER

SAMPLE = Path(__file__).parent / "fixtures" / "snapshot" / "snapshot-sample.jsonl"
SAMPLE_LINES = SAMPLE.read_bytes().splitlines()
SAMPLE_IDS = [json.loads(line)["id"] for line in SAMPLE_LINES]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# Only one source has these: the snapshot the license and every version's date, the query
# API nothing of its own; the source and the time read differ by construction.
ONE_SOURCE_FIELDS = {"source", "license", "versions", "fetched_at"}


def compared(record: PaperRecord) -> dict[str, object]:
    fields = dataclasses.asdict(record)
    return {k: v for k, v in fields.items() if k not in ONE_SOURCE_FIELDS}


@pytest.mark.parametrize("dialect", ["new", "old"])
def test_snapshot_papers_equal_the_atom_answers_field_by_field(
    tmp_path: Path, standin_corpus: list[CorpusRecord], dialect: str
) -> None:
    snapshot = read_snapshot(SAMPLE, SAMPLE_IDS, NOW)
    assert snapshot.problems == [] and set(snapshot.records) == set(SAMPLE_IDS)
    with StandIn(standin_corpus, dialect=dialect) as server:  # type: ignore[arg-type]
        settings = settings_for(tmp_path, server.url)
        with MetadataStore(settings.paths.metadata_db) as store:
            atom = fetch_papers(SAMPLE_IDS, settings, store, "run-1").records
    assert set(atom) == set(SAMPLE_IDS)
    for arxiv_id in SAMPLE_IDS:
        assert compared(snapshot.records[arxiv_id]) == compared(atom[arxiv_id]), arxiv_id
        assert atom[arxiv_id].source == "api" and snapshot.records[arxiv_id].source == "snapshot"


def test_snapshot_papers_are_the_frame_the_store_would_hold_for_their_records() -> None:
    """The snapshot's answer is a stored-papers frame; its records, decoded from it, give
    that frame back through the store's own encoding (values and types, row by row)."""
    answer = read_snapshot(SAMPLE, SAMPLE_IDS, NOW)
    frame = answer.records.frame
    assert frame.schema == STORED_PAPER.schema() and frame.height == len(SAMPLE_IDS)
    again = records_frame(map(record_to_json, (answer.records[i] for i in SAMPLE_IDS)))
    assert_frame_equal(again, frame)  # the frame is in file order, as SAMPLE_IDS


def test_snapshot_record_of_the_first_line_as_the_dump_gives_it() -> None:
    record = read_snapshot(SAMPLE, ["0704.0001"], NOW).records["0704.0001"]
    assert record.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert record.abstract.startswith("A fully differential calculation in perturbative")
    assert "  " not in record.abstract and "\n" not in record.abstract
    assert [a.name for a in record.authors] == [
        "C. Balázs",
        "E. L. Berger",
        "P. M. Nadolsky",
        "C. -P. Yuan",
    ]
    assert record.versions == [
        PaperVersion(1, datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        PaperVersion(2, datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)),
    ]
    assert (record.version, record.published, record.updated) == (
        2,
        record.versions[0].submitted,
        record.versions[1].submitted,
    )
    assert record.dois == ["10.1103/PhysRevD.76.013009"]
    assert (record.primary_category, record.categories, record.license) == (
        "hep-ph",
        ["hep-ph"],
        None,
    )
    licensed = read_snapshot(SAMPLE, ["0704.0002"], NOW).records["0704.0002"]
    assert licensed.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert licensed.categories == ["math.CO", "cs.CG"]


def test_an_affiliation_in_authors_parsed_is_the_authors_affiliation() -> None:
    with_affiliation = [
        json.loads(line) for line in SAMPLE_LINES
        if any(len(a) > 3 for a in json.loads(line)["authors_parsed"])
    ]  # fmt: skip
    assert with_affiliation, "the excerpt has 4-element authors_parsed rows"
    line = with_affiliation[0]
    record = read_snapshot(SAMPLE, [line["id"]], NOW).records[line["id"]]
    for author, parsed in zip(record.authors, line["authors_parsed"], strict=True):
        assert author.affiliations == tuple(" ".join(x.split()) for x in parsed[3:] if x.strip())


def compress(path: Path, kind: str) -> Path:
    data = SAMPLE.read_bytes()
    if kind == "gzip":
        target = path / "snapshot.json.gz"
        target.write_bytes(gzip.compress(data))
    elif kind == "zip":
        target = path / "arxiv.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("arxiv-metadata-oai-snapshot.json", data)
    else:
        target = path / "snapshot.json"
        target.write_bytes(data)
    return target


@pytest.mark.parametrize("kind", ["plain", "gzip", "zip"])
def test_plain_gzip_and_zip_give_the_same_records(tmp_path: Path, kind: str) -> None:
    wanted = SAMPLE_IDS[::7]
    expected = read_snapshot(SAMPLE, wanted, NOW)
    answer = read_snapshot(compress(tmp_path, kind), wanted, NOW)
    assert answer.records == expected.records and answer.lines == len(SAMPLE_LINES)


def test_lines_are_found_across_block_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.fetch.snapshot.BLOCK_BYTES", 1000)  # lines are ~1.4 kB
    answer = read_snapshot(SAMPLE, SAMPLE_IDS, NOW)
    assert set(answer.records) == set(SAMPLE_IDS) and answer.problems == []


def test_bad_lines_are_named_by_line_and_the_rest_is_read(tmp_path: Path) -> None:
    other_order = json.loads(SAMPLE_LINES[2])
    reordered = json.dumps({"title": other_order.pop("title"), **other_order}).encode()
    lines = [
        SAMPLE_LINES[0],
        b"this is not json",
        reordered,  # id not first: found anyway
        SAMPLE_LINES[3].replace(b'"versions":[', b'"versions":[{"version":"v1"},'),
        b"",
        SAMPLE_LINES[4][:200],  # cut off, as a partly copied file ends
    ]
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"\n".join(lines))
    ids = [SAMPLE_IDS[i] for i in (0, 2, 3, 4)]
    answer = read_snapshot(path, ids, NOW)
    assert set(answer.records) == {SAMPLE_IDS[0], SAMPLE_IDS[2]}
    by_line = {p.line: p for p in answer.problems}
    assert by_line[2].kind == "bad_snapshot_line" and by_line[2].source == str(path)
    assert 6 in by_line and "JSON" in by_line[6].message
    assert SAMPLE_IDS[3] in by_line[4].message and "date" in by_line[4].message
    assert len(answer.problems) == 3


def test_ids_the_snapshot_lacks_are_asked_of_the_api_and_only_they(
    tmp_path: Path, standin: StandIn
) -> None:
    missing = ["hep-th/9711200", "1706.03762"]
    ids = [*SAMPLE_IDS[:50], *missing]
    settings = settings_for(tmp_path, standin.url, snapshot_path=SAMPLE)
    with MetadataStore(settings.paths.metadata_db) as store:
        report = fetch_papers(ids, settings, store, "run-1")
        assert [o.outcome for o in report.outcomes] == ["found"] * len(ids)
        asked = [i for entry in standin.log for i in entry.ids]
        assert sorted(asked) == sorted(missing)
        assert report.from_snapshot == 50 and report.requests == 1
        sources = {i: r.source for i, r in report.records.items()}
        assert sources == {
            **dict.fromkeys(SAMPLE_IDS[:50], "snapshot"),
            **dict.fromkeys(missing, "api"),
        }
        # Only what the API answered is stored; the snapshot is read again, still unasked.
        assert set(store.get_papers()) == set(missing)
        again = fetch_papers(ids, settings, store, "run-2")
        assert again.from_store == 2 and again.from_snapshot == 50
        assert len(standin.log) == 1
        assert {i: r.source for i, r in again.records.items()} == sources
        assert again.records[SAMPLE_IDS[0]].versions == report.records[SAMPLE_IDS[0]].versions
        assert [r[1] for r in store.fetch_log_rows()] == sorted(missing)  # asked of arXiv


def test_offline_the_snapshot_still_answers(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "http://127.0.0.1:9/api/query", snapshot_path=SAMPLE,
                            offline=True)  # fmt: skip
    with MetadataStore(settings.paths.metadata_db) as store:
        report = fetch_papers([SAMPLE_IDS[5], "2501.99999"], settings, store, "run-1")
    assert [o.outcome for o in report.outcomes] == ["found", "failed"]
    assert report.requests == 0 and report.from_snapshot == 1


def test_a_stale_api_copy_is_read_from_the_snapshot_instead_of_asked_again(
    tmp_path: Path, standin: StandIn
) -> None:
    asked = settings_for(tmp_path, standin.url)
    with MetadataStore(asked.paths.metadata_db) as store:
        fetch_papers(SAMPLE_IDS[:3], asked, store, "run-1")
        assert len(standin.log) == 1
        stale = dataclasses.replace(asked, refresh_days=0.0, snapshot_path=SAMPLE)
        again = fetch_papers(SAMPLE_IDS[:3], stale, store, "run-2")
        assert again.from_snapshot == 3 and again.from_store == 0
        assert {r.source for r in again.records.values()} == {"snapshot"}
    assert len(standin.log) == 1


def test_a_snapshot_path_is_set_by_file_env_and_flag_and_must_exist(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text(f'snapshot_path = "{SAMPLE}"\nsnapshot_refresh_days = 3\n')
    from_file = load_settings(env={}, config_file=config)
    assert (from_file.snapshot_path, from_file.snapshot_refresh_days) == (SAMPLE, 3.0)
    other = compress(tmp_path, "gzip")
    from_env = load_settings(env={"PIPELINE_SNAPSHOT": str(other)}, config_file=config)
    assert from_env.snapshot_path == other
    assert load_settings(flags={"snapshot_path": SAMPLE}, env={}).snapshot_path == SAMPLE
    assert load_settings(env={}).snapshot_path is None
    with pytest.raises(ConfigError, match="snapshot_path must name an existing file"):
        load_settings(env={"PIPELINE_SNAPSHOT": str(tmp_path / "nowhere.json")})


def test_enrich_with_a_snapshot_records_sources_versions_and_asks_only_the_rest(
    tmp_path: Path, standin: StandIn
) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    (raw / "digests").mkdir(parents=True)
    from_snapshot = SAMPLE_IDS[:20]
    lines = [
        f"- [{json.loads(SAMPLE_LINES[i])['title'].split(chr(10))[0]}]"
        f"(https://arxiv.org/abs/{arxiv_id})"
        for i, arxiv_id in enumerate(from_snapshot)
    ]
    lines.append("- [The Large N Limit](https://arxiv.org/abs/hep-th/9711200)")  # not in it
    (raw / "digests" / "2026-12-01_list.md").write_text("# Reading list\n\n" + "\n".join(lines))
    args = [*cli("enrich", raw=raw, out=out, url=standin.url), "--snapshot-path", str(SAMPLE)]
    done = run_cli(args)
    assert done.returncode == 0, done.stderr
    assert [i for entry in standin.log for i in entry.ids] == ["hep-th/9711200"]

    papers = pl.read_parquet(out / "papers.parquet")
    sources = dict(papers.select("arxiv_id", "source").iter_rows())
    assert sources == {**dict.fromkeys(from_snapshot, "snapshot"), "hep-th/9711200": "api"}
    versions = pl.read_parquet(out / "versions.parquet")
    assert set(versions.get_column("arxiv_id")) == set(from_snapshot)
    per_paper = versions.group_by("arxiv_id").agg(pl.len(), pl.col("version").max())
    expected = {
        i: len(json.loads(SAMPLE_LINES[n])["versions"]) for n, i in enumerate(from_snapshot)
    }
    assert {r[0]: r[1] for r in per_paper.iter_rows()} == expected
    assert {r[0]: r[2] for r in per_paper.iter_rows()} == dict(
        papers.filter(pl.col("source") == "snapshot").select("arxiv_id", "version").iter_rows()
    )
    runs = pl.read_parquet(out / "runs.parquet")
    assert runs.select("from_snapshot", "requests").row(-1) == (20, 1)

    before = len(standin.log)
    second = run_cli(args)
    assert second.returncode == 0, second.stderr
    assert len(standin.log) == before
    assert pl.read_parquet(out / "runs.parquet").get_column("status").to_list()[-1] == "unchanged"

    # A new digest: the carried rows name the snapshot's papers, which the store does not
    # hold, so they are read from the snapshot again and keep their source and versions.
    added = SAMPLE_IDS[20]
    title = json.loads(SAMPLE_LINES[20])["title"].split(chr(10))[0]
    (raw / "digests" / "2026-12-02_list.md").write_text(
        f"# More\n\n- [{title}](https://arxiv.org/abs/{added})\n"
    )
    third = run_cli(args)
    assert third.returncode == 0, third.stderr
    assert len(standin.log) == before
    papers = pl.read_parquet(out / "papers.parquet")
    assert dict(papers.select("arxiv_id", "source").iter_rows()) == {**sources, added: "snapshot"}
    versions = pl.read_parquet(out / "versions.parquet")
    assert set(versions.get_column("arxiv_id")) == {*from_snapshot, added}
    runs = pl.read_parquet(out / "runs.parquet")
    assert runs.select("status", "from_snapshot", "entries").row(-1) == ("ok", 21, 22)


def test_the_title_index_is_built_once_beside_the_store_and_replaced_with_the_snapshot(
    tmp_path: Path,
) -> None:
    paths = Paths(raw=tmp_path / "raw", out=tmp_path / "out")
    paths.arxiv.mkdir(parents=True)
    snapshot = compress(tmp_path, "plain")
    index = title_index(paths, snapshot)
    assert index.parent == paths.metadata_db.parent
    frame = pl.read_parquet(index)
    assert frame.height == len(SAMPLE_IDS) and set(frame["arxiv_id"]) == set(SAMPLE_IDS)
    first = json.loads(SAMPLE_LINES[0])
    assert titles_in_index(index, [title_phrase(first["title"]), "no such title"]) == {
        title_phrase(first["title"]): [first["id"]]
    }
    built = index.stat().st_mtime_ns
    assert title_index(paths, snapshot) == index and index.stat().st_mtime_ns == built
    snapshot.write_bytes(b"\n".join(SAMPLE_LINES[:10]) + b"\n")  # a new snapshot in its place
    old_lines = next(paths.arxiv.glob("snapshot-lines-*.parquet"))
    replaced = title_index(paths, snapshot)
    assert replaced != index and not index.exists() and not old_lines.exists()
    assert pl.read_parquet(replaced).height == 10
    new_lines = line_index(paths, snapshot)
    assert new_lines is not None and pl.read_parquet(new_lines).height == 10


def test_titles_phrased_by_worker_processes_give_the_same_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks smaller than a line, so each of the 200 titles is a block of its own."""
    monkeypatch.setattr("pipeline.fetch.snapshot.BLOCK_BYTES", 1000)
    snapshot = compress(tmp_path, "plain")
    here = Paths(raw=tmp_path / "here", out=tmp_path / "out")
    here.arxiv.mkdir(parents=True)
    expected = pl.read_parquet(title_index(here, snapshot, workers=0))
    monkeypatch.setattr("pipeline.fetch.snapshot_titles.PHRASE_WORKERS_MIN_BYTES", 0)
    pooled = Paths(raw=tmp_path / "pooled", out=tmp_path / "out")
    pooled.arxiv.mkdir(parents=True)
    assert_frame_equal(pl.read_parquet(title_index(pooled, snapshot, workers=2)), expected)
    assert expected.height == len(SAMPLE_IDS)


def test_a_killed_phrase_worker_loses_no_title() -> None:
    """The worker is killed while blocks are handed out: the blocks it had, and those
    after it, are phrased in this process."""
    from pipeline.fetch import snapshot_titles

    titles = [json.loads(line)["title"] for line in SAMPLE_LINES]
    blocks = [
        (titles[at : at + 20], pl.Series(SAMPLE_IDS[at : at + 20])) for at in range(0, 200, 20)
    ]

    def handed_out() -> Iterator[tuple[list[str | None], pl.Series]]:
        for number, (block, ids) in enumerate(blocks):
            if number == 3:
                for worker in multiprocessing.active_children():
                    assert worker.pid is not None
                    os.kill(worker.pid, signal.SIGKILL)
                    worker.join()
            yield list(block), ids

    pooled = pl.concat(snapshot_titles._phrased(handed_out(), workers=1))
    here = pl.concat(snapshot_titles._phrased(iter(blocks), workers=0))
    assert_frame_equal(pooled, here)
    assert here.height == len(SAMPLE_IDS) and multiprocessing.active_children() == []


def test_a_title_is_read_with_its_escapes_and_a_line_without_one_is_left_out(
    tmp_path: Path,
) -> None:
    lines = [
        b'{"id":"2501.00001","title":"A \\"quoted\\" \\u00e9l\\u00e8ve\\nwrapped"}',
        b'{"id":"2501.00002","title":null}',
        b'{"id":"2501.00003","authors":"x"}',
        b'{"id":"2501.00004", "title": "Spaced out"}',
    ]
    path = tmp_path / "snapshot.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    paths = Paths(raw=tmp_path / "raw", out=tmp_path / "out")
    paths.arxiv.mkdir(parents=True)
    index = pl.read_parquet(title_index(paths, path))
    assert index.sort("arxiv_id").rows() == [
        (title_phrase('A "quoted" élève\nwrapped'), "2501.00001"),
        ("spaced out", "2501.00004"),
    ]


def test_the_line_index_reads_only_the_wanted_lines_and_gives_the_same_papers(
    tmp_path: Path,
) -> None:
    paths = Paths(raw=tmp_path / "raw", out=tmp_path / "out")
    paths.arxiv.mkdir(parents=True)
    snapshot = compress(tmp_path, "plain")
    assert line_index(paths, snapshot) is None  # not before a title index pass
    title_index(paths, snapshot)
    lines = line_index(paths, snapshot)
    assert lines is not None and lines.parent == paths.metadata_db.parent
    wanted = [*SAMPLE_IDS[::9], "2501.99999"]  # the last is not in the snapshot
    scanned = read_snapshot(snapshot, wanted, NOW)
    indexed = read_snapshot(snapshot, wanted, NOW, lines)
    assert_frame_equal(indexed.records.frame, scanned.records.frame)
    assert (indexed.lines, scanned.lines) == (len(SAMPLE_IDS[::9]), len(SAMPLE_LINES))
    assert indexed.problems == scanned.problems == []


@pytest.mark.parametrize("block_bytes", [1000, 64 * 1024])  # smaller than a line, and not
def test_the_line_index_points_at_each_ids_first_line_whatever_the_block_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    monkeypatch.setattr("pipeline.fetch.snapshot.BLOCK_BYTES", block_bytes)
    paths = Paths(raw=tmp_path / "raw", out=tmp_path / "out")
    paths.arxiv.mkdir(parents=True)
    lines = [*SAMPLE_LINES[:40], b"not json", SAMPLE_LINES[7], *SAMPLE_LINES[40:80]]
    path = tmp_path / "snapshot.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    title_index(paths, path)
    kept = line_index(paths, path)
    assert kept is not None
    index = pl.read_parquet(kept)
    assert sorted(index["arxiv_id"]) == sorted(SAMPLE_IDS[:80])  # once each, no bad line
    data = path.read_bytes()
    for arxiv_id, number, offset, length in index.iter_rows():
        assert data[offset : offset + length] == lines[number - 1], arxiv_id
        assert lines.index(lines[number - 1]) == number - 1  # the first of a repeated ID


def test_a_bad_line_read_through_the_line_index_is_named_as_in_a_scan(tmp_path: Path) -> None:
    paths = Paths(raw=tmp_path / "raw", out=tmp_path / "out")
    paths.arxiv.mkdir(parents=True)
    bad_versions = SAMPLE_LINES[3].replace(b'"versions":[', b'"versions":[{"version":"v1"},')
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"\n".join([SAMPLE_LINES[0], b"not json", bad_versions, SAMPLE_LINES[5]]))
    title_index(paths, path)
    wanted = [SAMPLE_IDS[0], SAMPLE_IDS[3], SAMPLE_IDS[5]]
    indexed = read_snapshot(path, wanted, NOW, line_index(paths, path))
    scanned = read_snapshot(path, wanted, NOW)
    assert set(indexed.records) == set(scanned.records) == {SAMPLE_IDS[0], SAMPLE_IDS[5]}
    assert [(p.line, p.message) for p in indexed.problems] == [
        (p.line, p.message) for p in scanned.problems if p.line == 3
    ]
    assert indexed.problems[0].source == str(path)


@pytest.mark.parametrize("indexed", [True, False], ids=["line index", "scan"])
def test_blocks_decoded_side_by_side_come_back_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, indexed: bool
) -> None:
    """Blocks of a few lines, decoded on several threads, give the papers and problems of
    one block, in the order of the file."""
    paths = Paths(raw=tmp_path / "raw", out=tmp_path / "out")
    paths.arxiv.mkdir(parents=True)
    path = tmp_path / "snapshot.jsonl"
    lines = [*SAMPLE_LINES[:60], b"not json", *SAMPLE_LINES[60:120]]
    path.write_bytes(b"\n".join(lines) + b"\n")
    lines_at = line_index(paths, path) if indexed and title_index(paths, path) else None
    whole = read_snapshot(path, SAMPLE_IDS[:120], NOW, lines_at)
    monkeypatch.setattr("pipeline.fetch.snapshot.INDEXED_LINES_PER_BLOCK", 3)
    monkeypatch.setattr("pipeline.fetch.snapshot.LINES_PER_DECODE", 2)
    monkeypatch.setattr("pipeline.fetch.snapshot.BLOCK_BYTES", 4096)
    monkeypatch.setattr("pipeline.fetch.snapshot.available_cores", lambda: 4)
    in_blocks = read_snapshot(path, SAMPLE_IDS[:120], NOW, lines_at)
    assert_frame_equal(in_blocks.records.frame, whole.records.frame)
    assert in_blocks.records.frame.get_column("arxiv_id").to_list() == list(
        dict.fromkeys(SAMPLE_IDS[:120])
    )
    assert [(p.line, p.message) for p in in_blocks.problems] == [
        (p.line, p.message) for p in whole.problems
    ]


def test_a_line_not_utf8_is_left_out_of_the_title_index_and_named_when_read(
    tmp_path: Path,
) -> None:
    paths = Paths(raw=tmp_path / "raw", out=tmp_path / "out")
    paths.arxiv.mkdir(parents=True)
    not_utf8 = SAMPLE_LINES[2].replace(b'"title":"', b'"title":"\xff', 1)
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b"\n".join([SAMPLE_LINES[0], SAMPLE_LINES[1], not_utf8, SAMPLE_LINES[3]]))
    index = pl.read_parquet(title_index(paths, path))
    assert index.get_column("arxiv_id").sort().to_list() == sorted(
        [SAMPLE_IDS[0], SAMPLE_IDS[1], SAMPLE_IDS[3]]
    )
    answer = read_snapshot(path, SAMPLE_IDS[:4], NOW, line_index(paths, path))
    assert set(answer.records) == {SAMPLE_IDS[0], SAMPLE_IDS[1], SAMPLE_IDS[3]}
    assert [(p.kind, p.line) for p in answer.problems] == [("bad_snapshot_line", 3)]


def test_a_compressed_snapshot_gets_no_line_index(tmp_path: Path) -> None:
    paths = Paths(raw=tmp_path / "raw", out=tmp_path / "out")
    paths.arxiv.mkdir(parents=True)
    packed = compress(tmp_path, "gzip")
    title_index(paths, packed)
    assert line_index(paths, packed) is None  # its offsets could not be sought


def test_titles_in_the_snapshot_are_resolved_without_a_search(
    tmp_path: Path, standin: StandIn
) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    (raw / "digests").mkdir(parents=True)
    in_snapshot = [json.loads(SAMPLE_LINES[i]) for i in (1, 5, 9)]
    rows = ["title,arxiv_id"]
    rows += ['"' + " ".join(p["title"].split()) + '",' for p in in_snapshot]
    rows.append('"The Large N Limit of Superconformal Field Theories and Supergravity",')
    (raw / "digests" / "2026-12-01_titles.csv").write_text("\n".join(rows) + "\n")
    args = [*cli("enrich", raw=raw, out=out, url=standin.url), "--snapshot-path", str(SAMPLE)]
    done = run_cli(args)
    assert done.returncode == 0, done.stderr
    searches = [e.params.get("search_query", "") for e in standin.log]
    assert len(searches) == 1 and "large n limit" in searches[0]  # only the one it lacks
    assert not any(p["id"] in q for p in in_snapshot for q in searches)
    entries = pl.read_parquet(out / "entries.parquet").sort("position")
    assert entries.select("resolution", "arxiv_id").rows() == [
        *[("title", p["id"]) for p in in_snapshot],
        ("title", "hep-th/9711200"),
    ]
    papers = pl.read_parquet(out / "papers.parquet")
    assert dict(papers.select("arxiv_id", "source").iter_rows()) == {
        **{p["id"]: "snapshot" for p in in_snapshot},
        "hep-th/9711200": "api",
    }
    runs = pl.read_parquet(out / "runs.parquet")
    assert runs.select("title_searches", "from_snapshot").row(-1) == (1, 3)
    assert len(list((raw / "arxiv").glob("snapshot-titles-*.parquet"))) == 1


def test_a_file_that_is_not_a_snapshot_ends_the_run_with_exit_5(
    tmp_path: Path, standin: StandIn
) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    (raw / "digests").mkdir(parents=True)
    (raw / "digests" / "list.md").write_text("- [A paper](https://arxiv.org/abs/0704.0001)\n")
    not_a_snapshot = tmp_path / "notes.txt"
    not_a_snapshot.write_text("these are my notes\nnot a snapshot\n")
    args = [*cli("enrich", raw=raw, out=out, url=standin.url)]
    done = run_cli([*args, "--snapshot-path", str(not_a_snapshot)])
    assert done.returncode == 5, done.stderr
    assert "not JSON Lines" in done.stderr and "Traceback" not in done.stderr
    assert not (out / "entries.parquet").exists() and standin.log == []


def test_a_damaged_archive_is_a_snapshot_error_naming_the_file(tmp_path: Path) -> None:
    packed = compress(tmp_path, "gzip")
    packed.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    with pytest.raises(SnapshotError, match=str(packed)):
        read_snapshot(packed, SAMPLE_IDS, NOW)
    with pytest.raises(SnapshotError, match="No such file"):
        read_snapshot(tmp_path / "gone.json", SAMPLE_IDS, NOW)


def test_with_arxiv_unreachable_the_snapshot_still_answers_its_ids(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    (raw / "digests").mkdir(parents=True)
    lines = [f"- [Paper](https://arxiv.org/abs/{i})" for i in (*SAMPLE_IDS[:5], "2501.99999")]
    (raw / "digests" / "2026-12-01_list.md").write_text("\n".join(lines) + "\n")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/query"
    done = run_cli([*cli("enrich", raw=raw, out=out, url=closed), "--snapshot-path", str(SAMPLE)])
    assert done.returncode == 3, done.stderr  # the one ID the snapshot lacks waits on arXiv
    papers = pl.read_parquet(out / "papers.parquet")
    assert sorted(papers.get_column("arxiv_id")) == SAMPLE_IDS[:5]
    assert set(papers.get_column("source")) == {"snapshot"}


@pytest.mark.parametrize("kind", ["plain", "gzip"])
def test_a_run_in_parts_reads_the_whole_snapshot_once(
    tmp_path: Path, standin: StandIn, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Parts of one entry: a plain snapshot is indexed in one pass before the first part,
    then each part reads its own IDs' lines through the line index; a compressed one has no
    line index, so the run is one part and reads the file once for every ID."""
    from pipeline.fetch import papers, snapshot, snapshot_titles
    from pipeline.run import enrich

    digests = tmp_path / "raw" / "digests"
    digests.mkdir(parents=True)
    for n, arxiv_id in enumerate(SAMPLE_IDS[:3]):
        title = " ".join(json.loads(SAMPLE_LINES[n])["title"].split())
        (digests / f"2026-12-0{n + 1}_list.md").write_text(
            f"# List\n\n- [{title}](https://arxiv.org/abs/{arxiv_id})\n", encoding="utf-8"
        )
    reads: list[tuple[list[str], bool]] = []  # (IDs, through the line index)
    passes: list[Path] = []  # whole-file reads

    def counted(path: Path, ids: list[str], at: datetime, lines: Path | None) -> object:
        reads.append((sorted(ids), lines is not None))
        return read_snapshot(path, ids, at, lines)

    opened = snapshot.open_snapshot

    def whole_file(path: Path) -> object:
        passes.append(path)
        return opened(path)

    monkeypatch.setattr(papers, "read_snapshot", counted)
    for module in (snapshot, snapshot_titles):
        monkeypatch.setattr(module, "open_snapshot", whole_file)
    path = compress(tmp_path, kind)
    settings = settings_for(tmp_path, standin.url, snapshot_path=path, part_entries=1)
    summary = enrich(settings)
    assert summary.record.entries == 3 and summary.record.from_snapshot == 3
    assert len(passes) == 1 and standin.log == []
    if kind == "plain":
        assert reads == [([i], True) for i in SAMPLE_IDS[:3]]
    else:
        assert reads == [(sorted(SAMPLE_IDS[:3]), False)]
    tables = pl.read_parquet(tmp_path / "out" / "papers.parquet")
    assert sorted(tables.get_column("arxiv_id")) == sorted(SAMPLE_IDS[:3])


def _snapshot_titles(indexes: range | list[int]) -> list[tuple[str, str]]:
    """(title as a digest writes it, ID) of these sample lines."""
    lines = [json.loads(SAMPLE_LINES[i]) for i in indexes]
    return [(" ".join(line["title"].split()), line["id"]) for line in lines]


def _write_list(path: Path, papers: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"- [{title}](https://arxiv.org/abs/{arxiv_id})" for title, arxiv_id in papers]
    path.write_text("# List\n\n" + "\n".join(rows) + "\n", encoding="utf-8")


def _write_added(path: Path) -> None:
    """A reading list: a paper of the first list again, a new one, and one of the first
    list by its title only (found in the snapshot's title index, so stored)."""
    (again, new), (title_only, _) = _snapshot_titles([3, 10]), _snapshot_titles([1])[0]
    rows = ["title,arxiv_id", *(f'"{t}",{i}' for t, i in (again, new)), f'"{title_only}",']
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _tables_but_read_times(out: Path) -> dict[str, pl.DataFrame]:
    """Every table but runs, without the times the snapshot's papers were read at."""
    tables = {p.stem: pl.read_parquet(p) for p in sorted(out.glob("*.parquet"))}
    return {
        name: frame.drop(c for c in frame.columns if c == "fetched_at")
        for name, frame in tables.items()
        if name != "runs"
    }


@pytest.mark.parametrize("part_entries", [100_000, 3])
def test_a_digest_added_to_a_snapshot_run_is_the_only_one_read_again(
    tmp_path: Path, standin: StandIn, caplog: pytest.LogCaptureFixture, part_entries: int
) -> None:
    """The snapshot's papers are not stored, but the snapshot is the ledger's (its
    signature): the unchanged digests' rows are carried over, as without a snapshot, and
    the tables are a whole run's but for when the carried papers were read; with parts of
    3 entries, the 8 carried rows are read a digest at a time."""
    from pipeline.run import enrich

    def folder(name: str) -> Settings:
        base = tmp_path / name
        _write_list(base / "raw" / "digests" / "2026-12-01_list.md", _snapshot_titles(range(5)))
        _write_list(base / "raw" / "digests" / "2026-12-02_list.md", _snapshot_titles(range(5, 8)))
        return settings_for(base, standin.url, snapshot_path=SAMPLE, part_entries=part_entries)

    incremental = folder("incremental")
    enrich(incremental)
    _write_added(incremental.raw_dir / "digests" / "2026-12-02_added.csv")
    with caplog.at_level(logging.INFO, logger="pipeline"):
        again = enrich(incremental)
    parsed = [m.split(":")[0] for m in caplog.messages if m.startswith("digests/")]
    assert parsed == ["digests/2026-12-02_added.csv"]
    assert standin.log == []

    whole = folder("whole")
    _write_added(whole.raw_dir / "digests" / "2026-12-02_added.csv")
    full = enrich(whole).record
    # The IDs only carried rows link counted as a whole run counts them: from the snapshot.
    counts = ["entries", "ids_requested", "found", "not_found", "invalid", "from_snapshot"]
    counts += ["resolved_link", "resolved_title", "unresolved", "mismatches"]
    assert {n: getattr(again.record, n) for n in counts} == {n: getattr(full, n) for n in counts}
    assert again.record.from_store == 0
    expected = _tables_but_read_times(whole.out_dir)
    assert set(expected) >= {"entries", "papers", "authors", "versions", "mismatches"}
    carried = _tables_but_read_times(incremental.out_dir)
    assert carried.keys() == expected.keys()
    for name, frame in expected.items():
        assert_frame_equal(carried[name], frame)
    entries = expected["entries"]
    assert entries.height == 11 and entries.filter(pl.col("resolution") == "title").height == 1


def test_a_digest_added_to_a_run_with_a_compressed_snapshot_means_a_whole_run(
    tmp_path: Path, standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a line index, which carried IDs the snapshot answers is not known."""
    from pipeline.run import enrich

    _write_list(tmp_path / "raw" / "digests" / "2026-12-01_list.md", _snapshot_titles(range(5)))
    settings = settings_for(tmp_path, standin.url, snapshot_path=compress(tmp_path, "gzip"))
    enrich(settings)
    _write_added(settings.raw_dir / "digests" / "2026-12-02_added.csv")
    with caplog.at_level(logging.INFO, logger="pipeline"):
        again = enrich(settings)
    assert "the snapshot is compressed (no line index): reconciling all" in caplog.messages
    assert again.record.entries == 8 and again.record.from_snapshot == 7


def test_digests_changed_past_a_part_mean_a_whole_run_in_parts(
    tmp_path: Path, standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """The digests changed are reconciled as one part: past part_entries, memory would grow
    with them, so every digest is read again, a part at a time. Rows carried over are read
    a part at a time, whatever their number (8 here, past a part of 2)."""
    from pipeline.run import enrich

    digests = tmp_path / "raw" / "digests"
    _write_list(digests / "2026-12-01_list.md", _snapshot_titles(range(5)))
    _write_list(digests / "2026-12-02_list.md", _snapshot_titles(range(5, 8)))
    settings = settings_for(tmp_path, standin.url, snapshot_path=SAMPLE, part_entries=2)
    enrich(settings)
    _write_added(digests / "2026-12-02_added.csv")  # 3 entries
    with caplog.at_level(logging.INFO, logger="pipeline"):
        again = enrich(settings)
    message = "3 entries in the digests changed, more than a part (part_entries): "
    assert message + "reconciling all, in parts" in caplog.messages
    parsed = [m.split(":")[0] for m in caplog.messages if m.startswith("digests/")]
    assert len(parsed) == 3 and again.record.entries == 11
