"""The write stage: building the tables, validating them, writing and publishing Parquet."""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars._typing import PolarsDataType

from pipeline import store
from pipeline.model import (
    Author,
    Candidate,
    DigestEntry,
    Mismatch,
    PaperRecord,
    PaperVersion,
    Problem,
    Resolution,
)
from pipeline.parse import ENTRY_SCHEMA
from pipeline.store import KEEP_GENERATIONS, Paths
from pipeline.tables import TABLES
from pipeline.write import (
    MANIFEST_NAME,
    InconsistentInputError,
    RunRecord,
    SchemaError,
    build_tables,
    read_table,
    validate,
    write_generation,
    write_tables,
)

# The frame pipeline.parse.entries_frame produces (its documented shape).
PARSED_ENTRIES_SCHEMA = pl.Schema(ENTRY_SCHEMA)

FETCHED = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)


def entries_frame(entries: list[DigestEntry]) -> pl.DataFrame:
    rows = [{name: getattr(e, name) for name in PARSED_ENTRIES_SCHEMA} for e in entries]
    return pl.DataFrame(rows, schema=PARSED_ENTRIES_SCHEMA)


def paper(arxiv_id: str, title: str, **changes: Any) -> PaperRecord:
    record = PaperRecord(
        arxiv_id=arxiv_id,
        version=2,
        title=title,
        abstract=f"Abstract of {title}.",
        authors=[Author("Ada Lovelace", ("Analytical Engines Ltd",)), Author("Alan Turing")],
        published=datetime(2024, 1, 2, 18, 0, tzinfo=UTC),
        # Not UTC on purpose: the table must hold the same instant in UTC.
        updated=datetime(2024, 1, 10, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        primary_category="cs.CL",
        categories=["cs.CL", "cs.AI", "cs.CL"],  # a repeat, as old answers sometimes had
        comment="12 pages",
        journal_ref=None,
        dois=["10.1000/a", "10.1000/b"],
        withdrawn=False,
        fetched_at=FETCHED,
    )
    return replace(record, **changes)


def link_entry(digest: str, position: int, arxiv_id: str, **changes: Any) -> DigestEntry:
    entry = DigestEntry(
        digest=digest,
        position=position,
        layout="newsletter",
        digest_date=date(2025, 1, 8) if digest == "a.md" else date(2025, 1, 14),
        line=10 * position,
        title_raw=f"Title  {arxiv_id}",
        title=f"Title {arxiv_id}",
        link=f"https://arxiv.org/abs/{arxiv_id}",
        arxiv_id=arxiv_id,
        id_status="ok",
    )
    return replace(entry, **changes)


@pytest.fixture
def inputs() -> dict[str, Any]:
    """A small run: two digests, every resolution kind, a paper listed three times."""
    entries = [
        link_entry("a.md", 1, "2401.00001", version=1),
        DigestEntry(
            "a.md",
            2,
            "newsletter",
            date(2025, 1, 8),
            line=20,
            title="Found By Title",
            title_translated="按标题找到",
            warnings=["empty link"],
        ),
        DigestEntry(
            "a.md",
            3,
            "newsletter",
            date(2025, 1, 8),
            link="arXiv:9999.x",
            line=30,
            title="Lost",
            id_status="invalid_id",
        ),
        link_entry("a.md", 4, "2401.00003"),
        link_entry("b.json", 1, "2401.00001", authors=["A. Lovelace", "A. Turing"]),
        link_entry("b.json", 2, "hep-th/9711200", layout="hf_json"),
    ]
    papers = {
        "2401.00001": paper("2401.00001", "Title 2401.00001"),
        "2401.00002": paper("2401.00002", "Found by title"),
        "2401.00009": paper("2401.00009", "Rejected candidate"),
        "hep-th/9711200": paper(
            "hep-th/9711200",
            "The Large N Limit",
            withdrawn=True,
            authors=[Author("Juan Maldacena")],
            primary_category="hep-th",
            categories=["hep-th"],
            dois=[],
            source="snapshot",
            license="http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
            versions=[
                PaperVersion(1, datetime(2024, 1, 2, 18, 0, tzinfo=UTC)),
                PaperVersion(2, datetime(2024, 1, 10, 7, 30, tzinfo=UTC), 23, "I"),
            ],
        ),
    }
    candidates = [
        Candidate("2401.00002", "Found by title", 97.0, True, "best score"),
        Candidate("2401.00009", "Rejected candidate", 40.5, False, "below threshold"),
    ]
    resolutions = [
        Resolution("a.md", 1, "link", "2401.00001", 100.0, "link and title agree"),
        Resolution("a.md", 2, "title", "2401.00002", 97.0, "title search", candidates),
        Resolution("a.md", 3, "unresolved", None, None, "invalid ID, title not found"),
        Resolution("a.md", 4, "corrected", "2401.00001", 99.0, "link points elsewhere"),
        Resolution("b.json", 1, "link", "2401.00001", 100.0, "link and title agree"),
        Resolution("b.json", 2, "link", "hep-th/9711200", 85.0, "link"),
    ]
    mismatches = [
        Mismatch("a.md", 3, None, "unresolved", "Lost", None, None, "left unresolved"),
        Mismatch("a.md", 3, "9999.x", "id_invalid", "arXiv:9999.x", None, None, "searched title"),
        Mismatch("a.md", 4, "2401.00003", "id_points_elsewhere", "x", "y", 12.0, "corrected"),
        Mismatch("b.json", 2, "hep-th/9711200", "withdrawn", None, "withdrawn", None, "kept"),
        Mismatch("b.json", 2, "hep-th/9711200", "title_differs", "a", "b", 85.0, "kept"),
    ]
    fetch_log = [
        ("run-1", "2401.00001", "found", 1, None, "2025-02-01T12:00:00+00:00"),
        ("run-1", "9999.x", "invalid", 1, "HTTP 400", "2025-02-01T12:00:01+00:00"),
        ("run-2", "2401.00003", "not_found", 2, None, "2025-02-02T14:00:00+02:00"),
    ]
    problems = [
        Problem("parse", "a.md", "bad_link", "link is not an arXiv ID", line=30),
        Problem("fetch", "9999.x", "http_400", "arXiv rejected the ID"),
        Problem("parse", "a.md", "no_title", "entry has no title", line=12),
    ]
    # By name: given by position, a field added to RunRecord shifted every later value.
    runs = [
        RunRecord(
            run_id="run-1", started_at=FETCHED, ended_at=FETCHED + timedelta(seconds=5),
            status="ok", exit_code=0, out_dir="enriched", digests=2, entries=6,
            parse_problems=2, ids_requested=4, found=2, not_found=1, invalid=1, failed=0,
            from_store=0, from_snapshot=0, title_searches=1, resolved_link=3, resolved_title=1,
            corrected=1, unresolved=1, mismatches=5, requests=3, retries=0,
            parse_seconds=0.1, fetch_seconds=4.0, reconcile_seconds=0.2, write_seconds=0.3,
        ),
        RunRecord(run_id="run-2", started_at=FETCHED + timedelta(days=1)),  # still running
    ]  # fmt: skip
    return {
        "entries": entries_frame(entries),
        "papers": papers,
        "resolutions": resolutions,
        "mismatches": mismatches,
        "fetch_log": fetch_log,
        "problems": problems,
        "runs": runs,
    }


def reversed_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """The same run with every input listed in the opposite order."""
    out: dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, pl.DataFrame):
            out[name] = value.reverse()
        elif isinstance(value, dict):
            out[name] = dict(reversed(value.items()))
        else:
            out[name] = list(reversed(value))
    return out


def empty_inputs() -> dict[str, Any]:
    return {
        "entries": pl.DataFrame(schema=PARSED_ENTRIES_SCHEMA),
        "papers": {},
        "resolutions": [],
        "mismatches": [],
        "fetch_log": [],
        "problems": [],
        "runs": [],
    }


def paths_in(tmp_path: Path, name: str = "out") -> Paths:
    return Paths(raw=tmp_path / "raw", out=tmp_path / name)


def row(frame: pl.DataFrame, **where: object) -> dict[str, Any]:
    match = frame.filter(*(pl.col(k) == v for k, v in where.items()))
    assert match.height == 1, f"{where}: {match.height} rows"
    return match.row(0, named=True)


# --- building -----------------------------------------------------------------------


def test_entries_keep_the_digest_view_and_add_the_resolution(inputs):
    entries = build_tables(**inputs)["entries"]

    assert entries.select("digest", "position").rows() == [
        ("a.md", 1), ("a.md", 2), ("a.md", 3), ("a.md", 4), ("b.json", 1), ("b.json", 2),
    ]  # fmt: skip
    corrected = row(entries, digest="a.md", position=4)
    assert corrected["link_arxiv_id"] == "2401.00003"
    assert corrected["arxiv_id"] == "2401.00001"
    assert corrected["resolution"] == "corrected"
    assert corrected["title_arxiv"] == "Title 2401.00001"
    assert corrected["mismatch_kinds"] == ["id_points_elsewhere"]

    by_title = row(entries, digest="a.md", position=2)
    assert by_title["link"] is None and by_title["id_status"] == "missing"
    assert by_title["title_translated"] == "按标题找到"
    assert by_title["warnings"] == ["empty link"]
    assert [(c["arxiv_id"], c["accepted"]) for c in by_title["candidates"]] == [
        ("2401.00002", True),
        ("2401.00009", False),
    ]

    lost = row(entries, digest="a.md", position=3)
    assert lost["arxiv_id"] is None and lost["title_arxiv"] is None
    assert lost["mismatch_kinds"] == ["id_invalid", "unresolved"]
    assert lost["candidates"] == []

    first = row(entries, digest="a.md", position=1)
    assert first["version_linked"] == 1 and first["title_digest_raw"] == "Title  2401.00001"
    assert row(entries, digest="b.json", position=1)["authors_digest"] == [
        "A. Lovelace",
        "A. Turing",
    ]


def test_papers_hold_resolved_papers_only_with_their_appearances(inputs):
    papers = build_tables(**inputs)["papers"]

    # 2401.00009 was only a rejected candidate; 2401.00003 only a wrong link.
    assert papers["arxiv_id"].to_list() == ["2401.00001", "2401.00002", "hep-th/9711200"]
    listed_thrice = row(papers, arxiv_id="2401.00001")
    assert listed_thrice["appearances"] == 3
    assert listed_thrice["digests"] == 2
    assert listed_thrice["first_digest_date"] == date(2025, 1, 8)
    assert listed_thrice["last_digest_date"] == date(2025, 1, 14)
    assert listed_thrice["updated"] == datetime(2024, 1, 10, 7, 30, tzinfo=UTC)
    assert listed_thrice["doi"] == ["10.1000/a", "10.1000/b"]
    assert listed_thrice["datacite_doi"] == "10.48550/arXiv.2401.00001"
    assert listed_thrice["abs_url"] == "https://arxiv.org/abs/2401.00001"
    assert listed_thrice["authors"] == ["Ada Lovelace", "Alan Turing"]

    old_style = row(papers, arxiv_id="hep-th/9711200")
    assert old_style["withdrawn"] is True
    assert old_style["doi"] == []
    assert old_style["appearances"] == 1


def test_authors_and_categories_follow_arxiv_order(inputs):
    frames = build_tables(**inputs)

    authors = frames["authors"].filter(pl.col("arxiv_id") == "2401.00001")
    assert authors.select("position", "name", "affiliations").rows() == [
        (1, "Ada Lovelace", ["Analytical Engines Ltd"]),
        (2, "Alan Turing", []),
    ]
    categories = frames["categories"].filter(pl.col("arxiv_id") == "2401.00001")
    assert categories.select("category", "position", "is_primary").rows() == [
        ("cs.AI", 2, False),
        ("cs.CL", 1, True),
    ]
    assert set(frames["authors"]["arxiv_id"]) == set(frames["papers"]["arxiv_id"])


def test_mismatches_problems_and_logs_get_unique_deterministic_keys(inputs):
    frames = build_tables(**inputs)

    assert frames["mismatches"].select("digest", "position", "seq", "kind").rows() == [
        ("a.md", 3, 1, "id_invalid"),
        ("a.md", 3, 2, "unresolved"),
        ("a.md", 4, 1, "id_points_elsewhere"),
        ("b.json", 2, 1, "title_differs"),
        ("b.json", 2, 2, "withdrawn"),
    ]
    assert frames["problems"].select("problem_id", "stage", "line", "kind").rows() == [
        (1, "fetch", None, "http_400"),
        (2, "parse", 12, "no_title"),
        (3, "parse", 30, "bad_link"),
    ]
    assert row(frames["fetch_log"], arxiv_id="2401.00003")["logged_at"] == datetime(
        2025, 2, 2, 12, 0, tzinfo=UTC
    )
    unfinished = row(frames["runs"], run_id="run-2")
    assert unfinished["ended_at"] is None and unfinished["exit_code"] is None


def test_runs_holds_every_field_of_each_run_record_unchanged(inputs):
    frames = build_tables(**inputs)
    for run in inputs["runs"]:
        assert row(frames["runs"], run_id=run.run_id) == asdict(run), run.run_id


def test_input_order_does_not_change_any_table(inputs):
    forwards = build_tables(**inputs)
    backwards = build_tables(**reversed_inputs(inputs))
    for t in TABLES:
        assert forwards[t.name].equals(backwards[t.name]), t.name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda i: i["resolutions"].pop(), "no resolution, e.g. b.json#2"),
        (
            lambda i: i["resolutions"].append(Resolution("a.md", 1, "link", "2401.00001", 1, "")),
            "a.md#1 has two resolutions",
        ),
        (
            lambda i: i["resolutions"].append(Resolution("c.md", 1, "unresolved", None, None, "")),
            "unknown entry c.md#1",
        ),
        (lambda i: i["papers"].pop("2401.00002"), "resolves to 2401.00002, which has no arXiv"),
        (
            lambda i: i["mismatches"].append(Mismatch("a.md", 9, None, "x", None, None, None, "")),
            "mismatch x for unknown entry a.md#9",
        ),
        (
            lambda i: i["resolutions"].__setitem__(
                2, Resolution("a.md", 3, "title", None, None, "")
            ),
            "a.md#3: resolution title with arxiv_id None",
        ),
        (
            lambda i: i["papers"].__setitem__(
                "2401.00002", paper("2401.00002", "t", fetched_at=datetime(2025, 1, 1))
            ),
            "2401.00002 fetched_at: timestamp 2025-01-01T00:00:00 has no time zone",
        ),
    ],
)
def test_inconsistent_stage_results_are_named(inputs, change, message):
    change(inputs)
    with pytest.raises(InconsistentInputError, match=message):
        build_tables(**inputs)


def test_parsed_entries_missing_a_column_is_a_schema_error(inputs):
    inputs["entries"] = inputs["entries"].drop("title_translated")
    with pytest.raises(SchemaError, match="table entries, column title_translated"):
        build_tables(**inputs)


# --- validating ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "spoil", "message"),
    [
        (
            "papers",
            lambda f: f.with_columns(pl.col("version").cast(pl.Int64)),
            "table papers, column version: type Int64, declared Int32",
        ),
        (
            "papers",
            lambda f: f.with_columns(pl.col("published").dt.replace_time_zone(None)),
            "table papers, column published: type Datetime",
        ),
        ("entries", lambda f: f.drop("title_arxiv"), "table entries, column title_arxiv: missing"),
        (
            "authors",
            lambda f: f.with_columns(extra=pl.lit(1)),
            "table authors, column extra: not declared",
        ),
        (
            "categories",
            lambda f: f.select(reversed(f.columns)),
            "table categories: columns in order",
        ),
        (
            "entries",
            lambda f: pl.concat([f, f.head(1)]),
            r"table entries, column digest, position: key not unique.*'position': 1",
        ),
        (
            "mismatches",
            lambda f: f.with_columns(action=pl.lit(None, pl.String)),
            "table mismatches, column action: 5 null value",
        ),
        ("nonsense", lambda f: f, "table nonsense: not a declared table"),
    ],
)
def test_validate_names_table_and_column(inputs, name, spoil, message):
    frames = build_tables(**inputs)
    frame = spoil(frames.get(name, frames["entries"]))
    with pytest.raises(SchemaError, match=message):
        validate(name, frame)


def test_validate_accepts_what_build_tables_makes_and_returns_it(inputs):
    for name, frame in build_tables(**inputs).items():
        assert validate(name, frame) is frame


def test_schema_error_survives_pickling():
    error = SchemaError("papers", "version", "type Int64, declared Int32")
    again = pickle.loads(pickle.dumps(error))
    assert (again.table, again.column, str(again)) == (
        "papers",
        "version",
        "table papers, column version: type Int64, declared Int32",
    )


# --- writing and reading back -------------------------------------------------------


def duckdb_type(dtype: PolarsDataType) -> str:
    """The DuckDB type a declared column must come back as."""
    if isinstance(dtype, pl.List):
        return duckdb_type(dtype.inner) + "[]"
    if isinstance(dtype, pl.Struct):
        return "STRUCT(" + ", ".join(f"{f.name} {duckdb_type(f.dtype)}" for f in dtype.fields) + ")"
    if isinstance(dtype, pl.Datetime):
        assert dtype.time_zone == "UTC"
        return "TIMESTAMP WITH TIME ZONE"
    simple: dict[PolarsDataType, str] = {
        pl.String: "VARCHAR",
        pl.Int32: "INTEGER",
        pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN",
        pl.Date: "DATE",
    }
    return simple[dtype]


@pytest.mark.parametrize("make_inputs", ["sample", "empty"])
def test_tables_come_back_as_declared_in_polars_and_duckdb(tmp_path, inputs, make_inputs):
    given = inputs if make_inputs == "sample" else empty_inputs()
    paths = paths_in(tmp_path)
    frames = build_tables(**given)
    write_tables(frames, paths, "run-1")

    for t in TABLES:
        back = read_table(paths, t.name)
        assert back.schema == t.schema(), t.name
        validate(t.name, back)  # types, nulls and key uniqueness
        assert back.equals(frames[t.name]), t.name
        assert (back.height == 0) == (make_inputs == "empty"), t.name

        relation = duckdb.sql(f"select * from read_parquet('{paths.table(t.name)}')")
        assert relation is not None  # None only for a statement without rows
        assert relation.columns == t.schema().names()
        assert [str(x) for x in relation.types] == [duckdb_type(c.dtype) for c in t.columns]


def test_duckdb_reads_values_not_just_types(tmp_path, inputs):
    paths = paths_in(tmp_path)
    write_tables(build_tables(**inputs), paths, "run-1")
    entries, papers = paths.table("entries"), paths.table("papers")
    rows = duckdb.execute(
        f"select e.digest, e.position, p.appearances, p.updated at time zone 'UTC', "
        f"len(e.candidates) from read_parquet('{entries}') e "
        f"join read_parquet('{papers}') p using (arxiv_id) where p.arxiv_id = '2401.00002'"
    ).fetchall()
    assert rows == [("a.md", 2, 1, datetime(2024, 1, 10, 7, 30), 2)]


def test_same_inputs_give_identical_bytes(tmp_path, inputs):
    """Two runs over the same inputs (given in a different order) write the same files."""
    first, second = paths_in(tmp_path, "first"), paths_in(tmp_path, "second")
    write_tables(build_tables(**inputs), first, "run-a")
    write_tables(build_tables(**reversed_inputs(inputs)), second, "run-b")
    # And once more into the same folder, as the next run would.
    write_tables(build_tables(**inputs), first, "run-c")

    for t in TABLES:
        latest = first.table(t.name).read_bytes()
        assert second.table(t.name).read_bytes() == latest, t.name
        assert (first.generations / "run-a" / f"{t.name}.parquet").read_bytes() == latest, t.name
    manifests = [json.loads((p.current / MANIFEST_NAME).read_text()) for p in (first, second)]
    assert manifests[0]["run_id"] == "run-c" and manifests[1]["run_id"] == "run-b"
    assert manifests[0]["tables"] == manifests[1]["tables"]


def test_a_table_whose_values_did_not_change_is_linked_not_encoded_again(tmp_path, inputs):
    out = paths_in(tmp_path)
    first = write_tables(build_tables(**inputs), out, "run-1")
    inputs["problems"] = [*inputs["problems"], Problem("parse", "c.md", "x", "new problem")]
    second = write_tables(build_tables(**inputs), out, "run-2")
    for t in TABLES:
        before, after = (g / f"{t.name}.parquet" for g in (first, second))
        linked = before.stat().st_ino == after.stat().st_ino
        assert linked == (t.name != "problems"), t.name
        assert after.read_bytes() == out.table(t.name).read_bytes()
    problems = read_table(out, "problems")
    assert "new problem" in problems.get_column("message").to_list()


def test_manifest_counts_and_hashes_every_file(tmp_path, inputs):
    out = paths_in(tmp_path)
    generation = write_tables(build_tables(**inputs), out, "run-1")
    manifest = json.loads((generation / MANIFEST_NAME).read_text())

    assert manifest["run_id"] == "run-1"
    assert set(manifest["tables"]) == {t.name for t in TABLES}
    for name, entry in manifest["tables"].items():
        data = (generation / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["rows"] == read_table(out, name).height
    assert manifest["tables"]["entries"]["rows"] == 6


def test_rows_are_sorted_by_key_in_the_file(tmp_path, inputs):
    out = paths_in(tmp_path)
    frames = build_tables(**inputs)
    # Hand write_tables unsorted frames: it sorts them itself.
    write_tables({n: f.reverse() for n, f in frames.items()}, out, "run-1")
    for t in TABLES:
        back = read_table(out, t.name)
        assert back.equals(back.sort(list(t.key))), t.name


# --- publishing ---------------------------------------------------------------------


def one_paper_frames(inputs: dict[str, Any], title: str) -> dict[str, pl.DataFrame]:
    """The sample run with a different arXiv title for 2401.00001, to tell runs apart."""
    papers = dict(inputs["papers"])
    papers["2401.00001"] = paper("2401.00001", title)
    return build_tables(**{**inputs, "papers": papers})


def title_of_first_paper(frame: pl.DataFrame) -> str:
    return row(frame, arxiv_id="2401.00001")["title"]


def assert_published_tables_consistent(out: Paths) -> None:
    """Every `<out>/<table>.parquet` is the file the current manifest names."""
    manifest = json.loads((out.current / MANIFEST_NAME).read_text())
    for t in TABLES:
        data = out.table(t.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == manifest["tables"][t.name]["sha256"]


def test_unpublished_generation_changes_nothing_readers_see(tmp_path, inputs):
    out = paths_in(tmp_path)
    write_tables(one_paper_frames(inputs, "Old"), out, "run-1")

    # A run that dies after writing its generation but before publishing it.
    generation = write_generation(one_paper_frames(inputs, "New"), out, "run-2")

    assert title_of_first_paper(read_table(out, "papers")) == "Old"
    assert store.current_generation(out) == (out.generations / "run-1").resolve()
    assert_published_tables_consistent(out)
    assert title_of_first_paper(pl.read_parquet(generation / "papers.parquet")) == "New"

    store.publish_generation(out, generation, [t.name for t in TABLES])
    assert title_of_first_paper(read_table(out, "papers")) == "New"
    assert_published_tables_consistent(out)


def test_reader_of_the_old_generation_keeps_reading_it(tmp_path, inputs):
    out = paths_in(tmp_path)
    write_tables(one_paper_frames(inputs, "Old"), out, "run-1")
    resolved = out.table("papers").resolve()  # what a reader opening the table now gets
    with out.table("papers").open("rb") as open_file:
        write_tables(one_paper_frames(inputs, "New"), out, "run-2")
        assert title_of_first_paper(pl.read_parquet(resolved)) == "Old"
        assert title_of_first_paper(read_table(out, "papers")) == "New"

        # Even once pruning has removed the old generation, an open file stays readable.
        for n in range(3, 3 + KEEP_GENERATIONS):
            write_tables(one_paper_frames(inputs, f"Run {n}"), out, f"run-{n}")
        assert not resolved.exists()
        assert title_of_first_paper(pl.read_parquet(open_file)) == "Old"


def test_publishing_keeps_the_last_generations(tmp_path, inputs):
    out = paths_in(tmp_path)
    frames = build_tables(**inputs)
    run_ids = [f"2025020{d}T120000Z" for d in range(1, 7)]
    for run_id in run_ids:
        write_tables(frames, out, run_id)

    kept = sorted(p.name for p in out.generations.iterdir())
    assert kept == run_ids[-KEEP_GENERATIONS:]
    assert store.current_generation(out) == (out.generations / run_ids[-1]).resolve()
    assert_published_tables_consistent(out)


def test_write_refuses_an_incomplete_or_unknown_set_of_tables(tmp_path, inputs):
    out = paths_in(tmp_path)
    frames = build_tables(**inputs)
    with pytest.raises(SchemaError, match="table runs: no frame given"):
        write_tables({n: f for n, f in frames.items() if n != "runs"}, out, "run-1")
    with pytest.raises(SchemaError, match="table extra: not a declared table"):
        write_tables({**frames, "extra": frames["runs"]}, out, "run-1")
    spoiled = {**frames, "runs": frames["runs"].drop("status")}
    with pytest.raises(SchemaError, match="table runs, column status: missing"):
        write_tables(spoiled, out, "run-1")
    assert not out.generations.exists()  # nothing written before every table checked out


def test_write_refuses_to_overwrite_the_published_generation(tmp_path, inputs):
    out = paths_in(tmp_path)
    frames = build_tables(**inputs)
    write_tables(frames, out, "run-1")
    with pytest.raises(ValueError, match="run run-1 is the published generation"):
        write_tables(frames, out, "run-1")
    assert_published_tables_consistent(out)


def test_read_table_before_any_run_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="no published table papers; run the pipeline"):
        read_table(paths_in(tmp_path), "papers")
    with pytest.raises(KeyError, match="no table 'paper'; tables are entries, papers"):
        read_table(paths_in(tmp_path), "paper")
