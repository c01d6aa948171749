"""The staged run: parse -> fetch -> reconcile -> write, under a lock, with a run log.

This is the Python API under the CLI. Each stage function returns data; only
`write_tables` touches the output folder (and `report`, which writes the published
generation's report, DuckDB file and schema export again), only through pipeline.store.
The stages' packages (parse, fetch, reconcile) are imported by the functions that run
them: a run with nothing new needs none of them, and their imports (httpx, the arxiv
library, ...) would be a third of its time.

Exit codes (part of the interface, for cron and schedulers):
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import filelock
import polars as pl

from pipeline import code_digest
from pipeline import store as store_module
from pipeline.companions import COMPANION_FILES, tables_key, write_companions
from pipeline.config import SETTINGS, ConfigError, Settings
from pipeline.health import LEDGER_KEY as FIRST_SEEN_KEY
from pipeline.health import Health, assess, judge, tallies_frame
from pipeline.model import FetchOutcome, PaperRecord, Problem
from pipeline.report import REPORT_COLUMNS, REPORT_NAME, Frame
from pipeline.status import health_now, published_frames
from pipeline.store import (
    DigestFileState,
    FrameRecords,
    MetadataStore,
    Paths,
    StoreError,
    current_generation,
    digest_files,
    file_signature,
    is_store_failure,
    utc_now,
)
from pipeline.tables import STORED_PAPER, TABLES
from pipeline.write import (
    PAPER_COUNT_COLUMNS,
    InconsistentInputError,
    RunRecord,
    SetAsidePapers,
    TableParts,
    carry_over_tables,
    entry_tables,
    log_tables,
    paper_counts,
    paper_tables,
    read_table,
    report_frames,
    runs_table,
    summed_paper_counts,
    with_paper_counts,
    write_tables,
)

if TYPE_CHECKING:
    from pipeline.fetch import FetchReport
    from pipeline.fetch.transport import FetchBudget
    from pipeline.reconcile import ReconcileResult, ReconcileTally

log = logging.getLogger("pipeline")

EXIT_OK = 0  # every entry enriched (or resolved as far as arXiv allows)
EXIT_UNEXPECTED = 1  # a bug or an unexpected environment error; see the traceback
EXIT_CONFIG = 2  # bad configuration or usage
EXIT_INCOMPLETE = 3  # tables written, but some entries wait on arXiv (unreachable/failed)
EXIT_LOCKED = 4  # another run holds the lock
EXIT_ENVIRONMENT = 5  # a folder or file the run needs cannot be used
EXIT_STALE = 6  # tables written, but a digest has gone quiet or the unresolved share jumped
EXIT_CODES = {
    EXIT_OK: "everything enriched",
    EXIT_UNEXPECTED: "unexpected error (a bug: the message says where)",
    EXIT_CONFIG: "bad configuration or usage",
    EXIT_INCOMPLETE: "tables written, but some entries could not be enriched for transient "
    "reasons (arXiv unreachable, requests failed after retries, throttled several tries in a "
    "row, past the fetch deadline); the next run retries them",
    EXIT_LOCKED: "another run is in progress (see --wait-for-lock)",
    EXIT_ENVIRONMENT: "a folder or file the run needs cannot be used (e.g. an unwritable output "
    "folder, a damaged metadata store, a missing or emptied digests folder: see --allow-shrink); "
    "the message says which; tables left as they were",
    EXIT_STALE: "tables written, but an alarm was raised: a digest (or the whole input) has "
    "yielded no new paper for more than stale_days days, or the unresolved share of entries "
    "jumped by more than unresolved_jump points; the summary, the report and `status` say "
    "which. Exit 3 takes precedence: an incomplete run exits 3 and its alarms show in the "
    "summary, the next complete run exits 6 if they persist",
}
__doc__ = (__doc__ or "") + "".join(f"    {c}  {m}\n" for c, m in EXIT_CODES.items())

MAKE_DEMO_HINT = "`make demo` runs the whole pipeline against the bundled arXiv stand-in."

T = TypeVar("T")


class RunLocked(Exception):
    """Another run holds the output folder's lock."""


class InputVanished(Exception):
    """The digests are missing, or files the published tables came from are gone: publishing
    would replace good tables with poorer ones (an unmounted share, a mistyped folder)."""


def exit_code_for(exc: BaseException) -> int:
    """The exit code that an error raised by a run stands for."""
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, RunLocked):
        return EXIT_LOCKED
    if isinstance(exc, InputVanished | OSError | StoreError) or is_store_failure(exc):
        return EXIT_ENVIRONMENT
    return EXIT_UNEXPECTED


def error_message(exc: BaseException) -> str:
    """What an expected error says to a person: with the way out for a full disk."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = Path(exc.filename).parent if exc.filename else "the disk written to"
        return (
            f"{exc}: the file system holding {where} is full (or over quota); free space there "
            "and run again (the published tables are left as they were)"
        )
    return str(exc)


@dataclass
class StageTimes:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass
class ParseResult:
    summaries: list[str]  # one line per digest file
    entries: pl.DataFrame
    problems: list[Problem]


@dataclass
class FetchResult:
    records: Mapping[str, PaperRecord]  # served from the store: decoded when looked up
    outcomes: dict[str, FetchOutcome]
    candidates: dict[str, list[PaperRecord]]
    problems: list[Problem]
    requests: int = 0
    retries: int = 0
    from_store: int = 0
    from_snapshot: int = 0  # IDs the bulk snapshot answered
    searched_titles: list[str] = field(default_factory=list)  # titles the reconcile stage needs
    title_searches: int = 0  # of their searches, those sent to arXiv in this run
    unreachable: str | None = None  # why arXiv could not be reached, if it could not
    expires_at: datetime | None = None  # an answer relied on is due early (FetchReport)
    stopped: str | None = None  # why fetching stopped early (deadline, throttling), if it did
    # Of `records`, those the store does not hold (the snapshot's answers), by ID: held as
    # one stored-papers frame (`unstored.frame`).
    unstored: FrameRecords = field(
        default_factory=lambda: FrameRecords(pl.DataFrame(schema=STORED_PAPER.schema()))
    )
    began: datetime = field(default_factory=utc_now)  # papers stored since are this fetch's
    # `records` as one stored-papers frame, once fetching is over (`records` is then read
    # from it): what reconcile settles on and the write stage writes.
    papers: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=STORED_PAPER.schema()))


@dataclass
class RunSummary:
    record: RunRecord
    exit_code: int
    message: str


def new_run_id() -> str:
    """Sortable by start time, unique across runs started in the same microsecond."""
    return utc_now().strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(2)


def check_raw_folder(settings: Settings) -> None:
    """Refuse a raw folder that does not exist, before anything is created in it.

    A mistyped raw folder would otherwise get a fresh metadata store and replace the
    published tables with empty ones (or be parsed as a folder without digests).
    """
    if not settings.raw_dir.is_dir():
        raise ConfigError(f"raw folder {settings.raw_dir} does not exist or is not a folder")


def check_folders(settings: Settings) -> None:
    """Refuse folders that cannot be meant, before anything is created or published."""
    check_raw_folder(settings)
    out = settings.out_dir
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output folder {out} exists and is not a folder")


def _allow_shrink_hint() -> str:
    setting = next(s for s in SETTINGS if s.name == "allow_shrink")
    return f"pass {setting.flag} ({setting.env}=1) if the tables are meant to shrink"


def _published_entries_per_digest(paths: Paths) -> dict[str, int]:
    """Entries per digest in the published tables; empty when none are published (or they
    cannot be read: then there is nothing worth keeping)."""
    try:
        frame = pl.read_parquet(paths.table("entries"), columns=["digest"])
    except (OSError, pl.exceptions.PolarsError):
        return {}
    return dict(frame.get_column("digest").value_counts().iter_rows())


def refuse_missing_digests(settings: Settings, digests: Collection[str]) -> None:
    """Raise InputVanished for a missing or empty digests folder (unless allow_shrink):
    a scheduled run would otherwise publish empty tables over good ones and exit 0."""
    folder = settings.paths.digests
    if settings.allow_shrink or digests:
        return
    published = sum(_published_entries_per_digest(settings.paths).values())
    state = "is empty" if folder.is_dir() else "does not exist"
    kept = f"; the published tables ({published} entries) are left as they were"
    kept = kept if published else ""
    raise InputVanished(
        f"digests folder {folder} {state} (an unmounted share or a mistyped raw folder?): "
        f"nothing published{kept}; {_allow_shrink_hint()}"
    )


def refuse_shrink(settings: Settings, digests: Collection[str], entries: int) -> None:
    """Raise InputVanished when digest files behind the published tables are gone and the
    entries would shrink (unless allow_shrink). A renamed or moved file keeps the count.
    `digests`: the files present, named as entries name their digest (see digest_files)."""
    if settings.allow_shrink:
        return
    published = _published_entries_per_digest(settings.paths)
    gone = sorted(set(published) - set(digests))
    if not gone or entries >= sum(published.values()):
        return
    examples = ", ".join(gone[:3]) + (", ..." if len(gone) > 3 else "")
    raise InputVanished(
        f"{len(gone)} digest file(s) behind the published tables are gone from "
        f"{settings.paths.digests} ({examples}), so entries would drop from "
        f"{sum(published.values())} to {entries}; nothing published, the tables are "
        f"left as they were; {_allow_shrink_hint()}"
    )


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """Hold the metadata store's lock and the output folder's; a second run waits
    `wait_for_lock` seconds for each, then gives up.

    Two runs sharing a raw folder (with different output folders) would otherwise talk to
    arXiv at once, past the process-wide politeness gate, and each would take the other's
    live run for an interrupted one.
    """
    with ExitStack() as held:
        for path in (settings.paths.store_lock_file, settings.paths.lock_file):
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = filelock.FileLock(path, timeout=settings.wait_for_lock)
            try:
                lock.acquire()
            except filelock.Timeout as exc:
                raise RunLocked(
                    f"another run is in progress (lock {path} is held); "
                    "try again later or pass --wait-for-lock SECONDS"
                ) from exc
            held.callback(lock.release)
        yield


# --- stages -------------------------------------------------------------------------


def parse_stage(settings: Settings, only: Collection[str] | None = None) -> ParseResult:
    """Parse every digest (with `only`, just those digests) into one result (parse_parts)."""
    return next(parse_parts(settings, only))


def parse_parts(
    settings: Settings, only: Collection[str] | None = None, part_entries: int | None = None
) -> Iterator[ParseResult]:
    """Parse every digest (with `only`, just those digests), in parts of whole files of at
    least `part_entries` entries each but the last (None: in one part), in file order; at
    least one part, with no entry when no file is parsed. Of each file only its frame rows,
    problems and summary are kept: its entry objects are dropped before the next is read.
    Many files are parsed by worker processes (settings.parse_workers), in the same order."""
    from pipeline.parse import entries_frame
    from pipeline.parse.workers import parse_files

    empty = entries_frame([])  # the schema, when no file is parsed
    part = ParseResult([], empty, [])
    frames: list[pl.DataFrame] = [empty]
    rows, yielded = 0, False
    for parsed in parse_files(settings.raw_dir, only, settings.parse_workers):
        frames.append(parsed.entries)
        rows += parsed.entries.height
        part.problems += parsed.problems
        part.summaries.append(parsed.summary)
        if part_entries is not None and rows >= part_entries:
            part.entries = pl.concat(frames, rechunk=True)
            yield part
            yielded, part, frames, rows = True, ParseResult([], empty, []), [empty], 0
    if part.summaries or not yielded:
        part.entries = pl.concat(frames, rechunk=True)
        yield part


PARSE_PROBLEM_LINES = 20  # logged one per line; past that only counted (a bad folder has 1000s)


def problem_line(problem: Problem) -> str:
    """Where a problem is (file, and line if known) and why, for a person."""
    where = f"{problem.source}:{problem.line}" if problem.line else problem.source
    return f"{where}: {problem.message}"


def log_parse_problems(problems: list[Problem]) -> None:
    """A WARNING line per parse problem, up to PARSE_PROBLEM_LINES, then how many more."""
    for problem in problems[:PARSE_PROBLEM_LINES]:
        log.warning("parse problem: %s", problem_line(problem))
    if len(problems) > PARSE_PROBLEM_LINES:
        log.warning(
            "... and %d more parse problems (every one is in the problems table)",
            len(problems) - PARSE_PROBLEM_LINES,
        )


def _absorb(result: FetchResult, report: FetchReport) -> None:
    result.problems += report.problems
    result.requests += report.requests
    result.retries += report.retries
    result.from_snapshot += report.from_snapshot
    expiries = [at for at in (result.expires_at, report.expires_at) if at is not None]
    result.expires_at = min(expiries, default=None)


def _online_or_offline(
    settings: Settings, result: FetchResult, call: Callable[[Settings], tuple[T, FetchReport]]
) -> T:
    """Run `call` online; when arXiv cannot be reached, say so once and use the store only."""
    from pipeline.fetch import ArxivUnreachable

    if result.unreachable is None and not settings.offline:
        try:
            value, report = call(settings)
            _absorb(result, report)
            return value
        except ArxivUnreachable as exc:
            result.unreachable = str(exc)  # names the address already
            result.requests += exc.requests  # the tries it says it made
            result.retries += exc.retries
            log.error("%s", exc)
            # The offline call reads the snapshot again: its papers are not stored (they
            # went down with the interrupted call), and it is local, so it still answers.
    value, report = call(dataclasses.replace(settings, offline=True))
    _absorb(result, report)
    return value


def fetch_stage(
    settings: Settings,
    entries: pl.DataFrame,
    store: MetadataStore,
    run_id: str,
    budget: FetchBudget | None = None,
) -> FetchResult:
    """Fetch every linked ID, then search the titles the reconcile stage will need.
    `budget`: the run's, when it fetches in parts (one more part's time is added to it)."""
    from pipeline.fetch import fetch_papers, search_titles
    from pipeline.fetch.snapshot_titles import store_snapshot_titles
    from pipeline.fetch.titles import TITLES_PER_REQUEST, title_phrase
    from pipeline.fetch.transport import FetchBudget, fetch_deadline
    from pipeline.reconcile import titles_to_search

    ids = (
        entries.filter(pl.col("id_status") == "ok")
        .get_column("arxiv_id")
        .unique(maintain_order=True)
        .to_list()
    )
    result = FetchResult(records={}, outcomes={}, candidates={}, problems=[])
    # Every batch and title chunk may need a second request (second look, second pass).
    without_id = entries.height - len(ids)
    expected = 2 * (-(-len(ids) // settings.batch_size) + -(-without_id // TITLES_PER_REQUEST))
    budget = budget or FetchBudget()
    # A configured deadline is the run's; one sized for the work grows with every part.
    budget.allow(fetch_deadline(settings, expected), extend=settings.fetch_deadline_seconds <= 0)

    def fetch_ids(s: Settings) -> tuple[FetchReport, FetchReport]:
        report = fetch_papers(ids, s, store, run_id, progress=True, budget=budget)
        return report, report

    report = _online_or_offline(settings, result, fetch_ids)
    result.records = report.records
    result.unstored = report.unstored
    result.outcomes = {o.arxiv_id: o for o in report.outcomes}
    result.from_store = report.from_store

    # The papers as one frame, read once: the title search below may store some of them
    # again (the store is the truth), and only those rows are read again after it.
    result.papers = _papers_frame(store, set(result.records), result)
    framed = utc_now()
    titles = titles_to_search(
        entries,
        FrameRecords(result.papers),
        result.outcomes,
        result.papers.select("arxiv_id", "title"),
    )
    result.searched_titles = titles
    if titles and settings.snapshot_path is not None:  # before any search is sent
        _absorb(result, store_snapshot_titles(titles, settings, store))
    if titles:
        phrases = {title_phrase(t) for t in titles} - {""}

        def search(s: Settings) -> tuple[dict[str, list[PaperRecord]], FetchReport]:
            candidates, report = search_titles(titles, s, store, run_id, budget)
            # Offline, nothing is sent; online, every phrase the store did not answer is.
            result.title_searches = 0 if s.offline else len(phrases) - report.from_store
            return _answered(candidates, report), report

        result.candidates = _online_or_offline(settings, result, search)
    result.stopped = budget.stopped
    if budget.stopped:
        log.error("fetching stopped early: %s", budget.stopped)
    stored_again = store.ids_fetched_since(framed) & set(result.records)
    result.papers = _with_stored_rows(store, result.papers, stored_again)
    histories = _ask_withdrawn_histories(settings, store, result)
    result.papers = _with_stored_rows(store, result.papers, set(histories))
    result.records = FrameRecords(result.papers)
    return result


def _with_stored_rows(store: MetadataStore, papers: pl.DataFrame, ids: set[str]) -> pl.DataFrame:
    """`papers` with the rows of `ids` read again from the store (stored since it was read)."""
    if not ids:
        return papers
    kept = papers.filter(~pl.col("arxiv_id").is_in(list(ids)))
    return pl.concat([kept, store.papers_frame(ids)])


def _ask_withdrawn_histories(
    settings: Settings, store: MetadataStore, result: FetchResult
) -> list[str]:
    """Ask OAI-PMH for the history of the fetched papers that look withdrawn (the withdrawn
    flag of an Atom answer or the snapshot is a guess from the comment, docs/arxiv.md §7),
    unless arXiv was unreachable; the IDs whose arXivRaw record was stored."""
    from pipeline.fetch.oai import asks_oai_for_histories, withdrawn_histories

    if result.unreachable is not None or not asks_oai_for_histories(settings):
        return []
    looks_withdrawn = (
        result.papers.filter(pl.col("withdrawn") & (pl.col("source") != "oai"))
        .get_column("arxiv_id")
        .sort()
        .to_list()
    )
    if not looks_withdrawn:
        return []
    report = withdrawn_histories(settings, store, looks_withdrawn)
    result.requests += report.requests
    result.problems += report.problems
    log.info(
        "%d papers look withdrawn: the history of %d read by GetRecord",
        len(looks_withdrawn),
        len(report.stored),
    )
    return report.stored


def _papers_frame(store: MetadataStore, ids: set[str], fetched: FetchResult) -> pl.DataFrame:
    """The papers of `ids` as one stored-papers frame. The store is the truth (a paper found
    by ID and again by title search in one run has the later fetch's time there), but for
    the snapshot's answers, which it does not hold, unless this fetch stored the paper since."""
    stored_now = store.ids_fetched_since(fetched.began)
    snapshot = fetched.unstored.frame
    arxiv_id = pl.col("arxiv_id")
    wanted = arxiv_id.is_in(_id_list(ids)) & arxiv_id.is_in(_id_list(stored_now)).not_()
    # Filtering copies every column, abstracts too: not when every paper is wanted.
    in_hand = snapshot if snapshot.select(wanted.all()).item() else snapshot.filter(wanted)
    from_store = store.papers_frame(ids - set(in_hand.get_column("arxiv_id")))
    return pl.concat([from_store, in_hand])


def _id_list(ids: Collection[str]) -> pl.Expr:
    """IDs as one list value, the form `is_in` takes a collection in."""
    return pl.lit(pl.Series(list(ids), dtype=pl.String).implode())


def _resolved_papers(store: MetadataStore, ids: set[str], fetched: FetchResult) -> pl.DataFrame:
    """The papers of `ids` in key order: those the digests link from the fetch stage's frame,
    the others (found by title, named by carried rows) from the store."""
    linked = fetched.papers.filter(pl.col("arxiv_id").is_in(ids))
    others = ids.difference(linked.get_column("arxiv_id"))
    return pl.concat([linked, _papers_frame(store, others, fetched)]).sort("arxiv_id")


# Problems of search_titles meaning that a phrase got no answer, now or stored.
UNANSWERED_SEARCH_KINDS = ("offline_missing", "search_failed")


def _answered(
    candidates: dict[str, list[PaperRecord]], report: FetchReport
) -> dict[str, list[PaperRecord]]:
    """The candidates of the titles whose search was answered. search_titles gives every
    title a list, an empty one too when nothing was searched; reconcile must see no entry
    then, or it reports "title search found nothing" for a search never made."""
    from pipeline.fetch.titles import title_phrase

    unanswered = {p.source for p in report.problems if p.kind in UNANSWERED_SEARCH_KINDS}
    return {
        title: found
        for title, found in candidates.items()
        if title_phrase(title) and title_phrase(title) not in unanswered
    }


def reconcile_stage(entries: pl.DataFrame, fetched: FetchResult) -> ReconcileResult:
    from pipeline.reconcile import reconcile

    return reconcile(
        entries, fetched.records, fetched.outcomes, fetched.candidates, paper_frame=fetched.papers
    )


# --- the whole run ------------------------------------------------------------------


def _run_record_from_dict(d: dict[str, Any]) -> RunRecord:
    values = dict(d)
    for name in ("started_at", "ended_at"):
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    return RunRecord(**values)


def _counts(
    digests: int, problems: int, fetched: FetchTotals, frames: Mapping[str, Frame]
) -> dict[str, int]:
    """The run's counts; `fetched.carried_kinds`: how the store answers the IDs only carried
    rows name (MetadataStore.answer_counts), which it can for all of them (the last complete
    run settled them, and nothing is due for refresh)."""
    kinds = fetched.kinds + fetched.carried_kinds
    by_resolution = frames["entries"].lazy().group_by("resolution").len().collect()
    resolutions = dict(by_resolution.iter_rows())
    return {
        "digests": digests,
        "entries": sum(resolutions.values()),
        "parse_problems": problems,
        "ids_requested": kinds.total(),
        "found": kinds["found"],
        "not_found": kinds["not_found"],
        "invalid": kinds["invalid"],
        "failed": kinds["failed"],
        "from_store": fetched.from_store + fetched.carried_kinds.total(),
        "from_snapshot": fetched.from_snapshot,
        "title_searches": fetched.title_searches,
        "resolved_link": resolutions.get("link", 0),
        "resolved_title": resolutions.get("title", 0),
        "corrected": resolutions.get("corrected", 0),
        "unresolved": resolutions.get("unresolved", 0),
        "mismatches": frames["mismatches"].lazy().select(pl.len()).collect().item(),
        "requests": fetched.requests,
        "retries": fetched.retries,
    }


def enrich(settings: Settings) -> RunSummary:
    """One whole run. Raises ConfigError for unusable folders (see check_folders),
    RunLocked when another run holds a lock, StoreError for a damaged metadata store,
    InputVanished when digests are missing or gone (see refuse_missing_digests).

    Proportional to what changed since the last complete run (its ledger): with nothing new
    its tables are carried over; with some digests new, edited or gone only those are parsed
    and reconciled; otherwise (other code or settings, stored metadata changed or due for
    refresh, published tables missing) every stage runs on everything."""
    check_folders(settings)
    with run_lock(settings), MetadataStore(settings.paths.metadata_db) as store:
        _close_interrupted_runs(store)
        run_id = new_run_id()
        started = utc_now()
        out_dir = str(settings.out_dir.resolve())
        record = RunRecord(run_id=run_id, started_at=started, out_dir=out_dir)
        store.put_run(run_id, started, dataclasses.asdict(record))
        try:
            ledger = _usable_ledger(settings, store)
            files = digest_files(settings.paths, ledger["files"] if ledger else {})
            refuse_missing_digests(settings, files)
            summary = None
            if ledger is not None and _hashes(ledger["files"]) == _hashes(files):
                summary = _carry_over(settings, store, record, ledger, files)
            elif ledger is not None:
                summary = _run_changed_digests(settings, store, record, ledger, files)
            return summary or _run_stages(settings, store, record, files)
        except Exception as exc:
            # The run log says how it ended; the caller reports the error itself.
            failed = dataclasses.replace(
                record, ended_at=utc_now(), status="failed", exit_code=exit_code_for(exc)
            )
            # A full disk or a damaged store may refuse this too; the error that ended the
            # run is the one to report.
            with suppress(sqlite3.DatabaseError):
                store.put_run(run_id, started, dataclasses.asdict(failed))
            raise


def _run_stages(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    files: dict[str, DigestFileState],
) -> RunSummary:
    """parse -> fetch -> reconcile a part of the digests at a time (_part_entries), each
    part's entries and mismatches set aside on disk once reconciled (TableParts); then the
    papers' tables, PAPER_CHUNK papers at a time, and the write.
    Memory grows with a part, not with the digests, and the tables are those of one part
    holding every digest: an entry is decided on its own text and the answers for its own
    IDs and title, and the same paper twice in one digest is within one part."""
    from pipeline.fetch.transport import FetchBudget
    from pipeline.reconcile import ReconcileTally, summary_lines

    times = StageTimes()
    with store_module.scratch_dir(settings.paths, record.run_id) as scratch:
        tables = {name: TableParts(name, scratch) for name in (*ENTRY_TABLES, *PAPER_TABLES)}
        run = PartsRun(FetchBudget(), record.started_at, SetAsidePapers(scratch), ReconcileTally())
        with times.stage("fetch"):
            part_entries = _part_entries(settings)
        parts = parse_parts(settings, part_entries=part_entries)
        while True:
            with times.stage("parse"):
                parse = next(parts, None)
            if parse is None:
                break
            _log_parse(parse)
            _run_part(settings, store, record.run_id, parse, run, tables, times)
        refuse_shrink(settings, files, tables["entries"].height)
        for line in summary_lines(run.tally):
            log.info("%s", line)
        with times.stage("write"):
            _paper_parts(store, run, tables)
            logs = log_tables(store.fetch_log_rows(), run.problems + run.fetched.problems, [])
        frames: dict[str, pl.DataFrame | TableParts] = {**tables, **logs}
        return _finish(
            settings, store, record, files, run.digests, run.problems, run.fetched, frames, times
        )


def _part_entries(settings: Settings) -> int | None:
    """The entries of a part (None: one part). With a snapshot, its indexes are built
    first (one pass over the file, kept for later runs): through the line index each part
    reads only its own IDs' lines. A compressed snapshot has no line index (its lines
    cannot be read where they begin), so each part would read the whole file: one part."""
    from pipeline.fetch.snapshot import is_plain
    from pipeline.fetch.snapshot_titles import title_index

    if settings.snapshot_path is None:
        return settings.part_entries
    if not is_plain(settings.snapshot_path):
        return None
    title_index(settings.paths, settings.snapshot_path, settings.parse_workers)
    return settings.part_entries


ENTRY_TABLES = ("entries", "mismatches")
PAPER_CHUNK = 100_000  # papers read from the store and made into table rows at a time


@dataclass
class PartsRun:
    """What a whole run keeps of its parts once they are set aside (_run_stages)."""

    budget: FetchBudget  # the run's, shared by every part's fetch
    began: datetime  # papers stored since are this run's
    papers: SetAsidePapers  # the resolved papers, as their parts read them
    tally: ReconcileTally
    fetched: FetchTotals = field(default_factory=lambda: FetchTotals())
    digests: int = 0
    problems: list[Problem] = field(default_factory=list)  # the parse problems
    counts: list[pl.DataFrame] = field(default_factory=list)  # each part's paper_counts


def _run_part(
    settings: Settings,
    store: MetadataStore,
    run_id: str,
    parse: ParseResult,
    run: PartsRun,
    tables: Mapping[str, TableParts],
    times: StageTimes,
) -> None:
    """Fetch and reconcile one part, its rows appended to `tables`."""
    from pipeline.reconcile import ReconcileTally

    run.digests += len(parse.summaries)
    run.problems += parse.problems
    with times.stage("fetch"):
        fetched = fetch_stage(settings, parse.entries, store, run_id, run.budget)
    with times.stage("reconcile"):
        rec = reconcile_stage(parse.entries, fetched)
    run.tally += ReconcileTally.of(rec)
    run.fetched.add(settings, store, fetched)
    with times.stage("write"):
        resolved = rec.resolved_ids()
        papers = _resolved_papers(store, resolved, fetched)
        entries, mismatches = entry_tables(
            parse.entries, papers, rec.resolutions, rec.settled, rec.mismatches
        )
        tables["entries"].append(entries)
        tables["mismatches"].append(mismatches)
        run.counts.append(paper_counts(entries))
        run.papers.add(papers)


def _paper_parts(store: MetadataStore, run: PartsRun, tables: Mapping[str, TableParts]) -> None:
    """The rows of every resolved paper appended to the paper tables, PAPER_CHUNK at a time
    in key order, from the papers as their parts read them (run.papers)."""
    counts = summed_paper_counts(run.counts)
    stored_now = store.fetched_since_frame(run.began)
    for start in range(0, counts.height, PAPER_CHUNK):
        chunk = counts.slice(start, PAPER_CHUNK)
        ids = chunk.get_column("arxiv_id")
        records = _stored_again(store, run.papers.between(ids[0], ids[-1]), stored_now)
        _refuse_missing_records(records, ids)
        for name, frame in paper_tables(records, chunk).items():
            tables[name].append(frame)


def _refuse_missing_records(records: pl.DataFrame, ids: pl.Series) -> None:
    """InconsistentInputError unless `records` (sorted by ID) are the papers of `ids`."""
    if not records.get_column("arxiv_id").equals(ids):
        missing = ids.filter(~ids.is_in(records.get_column("arxiv_id").implode()))
        raise InconsistentInputError(f"resolved paper {missing[0]} has no arXiv record")


def _stored_again(
    store: MetadataStore, papers: pl.DataFrame, stored_now: pl.DataFrame
) -> pl.DataFrame:
    """`papers` (sorted by ID), with the rows of those the store holds from a later fetch
    read again from it: the store is the truth (a paper found by ID in one part and by a
    title search in a later one has the later fetch's time there). `stored_now`: the
    (arxiv_id, fetched_at) of the papers this run stored (MetadataStore.fetched_since_frame);
    the snapshot's answers are not stored, unless a fetch stored the paper since."""
    again = (
        papers.select("arxiv_id", "fetched_at")
        .join(stored_now, on="arxiv_id", suffix="_stored")
        .filter(pl.col("fetched_at") != pl.col("fetched_at_stored"))
        .get_column("arxiv_id")
    )
    if again.is_empty():
        return papers
    return _with_stored_rows(store, papers, set(again)).sort("arxiv_id")


def _log_parse(parse: ParseResult) -> None:
    for line in parse.summaries:
        log.info("%s", line)
    log_parse_problems(parse.problems)


def _run_changed_digests(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    ledger: dict[str, Any],
    files: dict[str, DigestFileState],
) -> RunSummary | None:
    """Parse, fetch and reconcile only the digests that are new or edited since the last
    complete run; the rows of the others are carried over from its tables, a part at a time
    (_carried_parts). A digest's rows depend on its own text and the answers for its IDs
    and titles only, and those answers are unchanged (see _usable_ledger: the store, and
    the snapshot file by its signature) unless this run's fetch stored a paper they name
    again: then None, and the caller runs every stage on everything. None too when the
    changed digests hold more entries than a part: they are reconciled as one part. The
    snapshot's papers the carried rows name keep the time they were read at, as a
    carried-over run keeps them (snapshot_refresh_days bounds it)."""
    before = _hashes(ledger["files"])
    changed = {source for source, digest in _hashes(files).items() if before.get(source) != digest}
    unchanged = set(files) - changed
    carried = _carried_rows(settings.paths, unchanged, ledger)
    if carried is None:
        return None
    if settings.snapshot_path is not None and _snapshot_line_index(settings) is None:
        # Which carried IDs a compressed snapshot answers is known only by reading it all.
        log.info("the snapshot is compressed (no line index): reconciling all")
        return None
    times = StageTimes()
    with times.stage("parse"):
        parse = parse_stage(settings, only=changed)
    if parse.entries.height > settings.part_entries:
        log.info(
            "%d entries in the digests changed, more than a part (part_entries): "
            "reconciling all, in parts",
            parse.entries.height,
        )
        return None
    _log_parse(parse)
    log.info(
        "%d digests unchanged since run %s: their %d entries carried over",
        len(unchanged),
        ledger["run_id"],
        carried.height,
    )
    refuse_shrink(settings, files, carried.height + parse.entries.height)
    with times.stage("fetch"):
        fetched = fetch_stage(settings, parse.entries, store, record.run_id)
    # A paper stored from the snapshot (found by its title) is the snapshot's line, as the
    # carried rows read it: the snapshot is the ledger's.
    renewed = store.fetched_since_frame(record.started_at).filter(pl.col("source") != "snapshot")
    if set(renewed.get_column("arxiv_id")) & carried.decided_on:
        log.info("papers the unchanged digests name were fetched again: reconciling all")
        return None
    return _reconcile_and_write(settings, store, record, files, parse, fetched, times, carried)


@dataclass
class Carried:
    """What a run takes over from the last complete one for the digests unchanged since:
    their published rows (read a range of digests at a time, `rows`: at a million entries
    they would not fit beside the run), parse problems and the IDs their entries were
    decided on, with what tells whether the published paper tables and fetch log still
    hold (see _papers_to_build; the fetch log is read from `tables` when it does)."""

    tables: dict[str, Path]  # the published tables' files, in their generation
    digests: dict[str, int]  # the unchanged digests that have entries: how many
    paper_counts: pl.DataFrame  # the published papers' IDs and counts (write.paper_counts)
    problems: list[Problem]
    ids: list[str]  # the IDs their entries link to (judged valid)
    resolved: set[str]  # the IDs their entries resolve to
    decided_on: set[str]  # every ID their entries were decided on: linked, resolved, candidate
    fresh_until: datetime  # of the answers their rows were decided on
    store: list[object]  # the store's state_marker when the published tables were written

    @property
    def height(self) -> int:
        return sum(self.digests.values())

    def rows(self, name: str, first: str, last: str) -> pl.DataFrame:
        """The carried rows of table `name` (keyed by digest) of the digests `first` to
        `last`: the row groups of other digests are skipped by their statistics."""
        digest = pl.col("digest")
        in_range = digest.is_between(pl.lit(first), pl.lit(last))
        return (
            pl.scan_parquet(self.tables[name])
            .filter(in_range & digest.is_in(_id_list(self.digests)))
            .collect()
        )


def _carried_rows(paths: Paths, unchanged: set[str], ledger: dict[str, Any]) -> Carried | None:
    """What the `unchanged` digests carry over (their rows are read later, a part at a
    time), with the published papers' counts and fetch log; None when the published tables
    cannot be read or hold parse problems of no one digest file (a folder that could not be
    listed): then only a whole run gives the right tables."""
    try:
        tables = {name: paths.table(name).resolve(strict=True) for name in CARRIED_FILES}
        for path in tables.values():  # readable, at least their schema
            pl.read_parquet_schema(path)
        problems = pl.read_parquet(tables["problems"]).filter(pl.col("stage") == "parse")
        counts = pl.read_parquet(tables["papers"], columns=["arxiv_id", *PAPER_COUNT_COLUMNS])
        entries = (
            pl.scan_parquet(tables["entries"])
            .filter(pl.col("digest").is_in(_id_list(unchanged)))
            .select(
                "digest",
                "arxiv_id",
                "link_arxiv_id",
                linked=pl.col("id_status") == "ok",
                candidates=pl.col("candidates").list.eval(pl.element().struct.field("arxiv_id")),
            )
            .collect()
        )
    except (OSError, pl.exceptions.PolarsError):
        return None
    if not set(problems.get_column("source")) <= set(ledger["files"]):
        return None
    resolved = set(entries.get_column("arxiv_id").drop_nulls())
    candidates = entries.get_column("candidates").explode().drop_nulls()
    return Carried(
        tables=tables,
        digests=dict(entries.get_column("digest").value_counts().iter_rows()),
        paper_counts=counts,
        problems=[
            Problem(row["stage"], row["source"], row["kind"], row["message"], row["line"])
            for row in problems.filter(pl.col("source").is_in(unchanged)).iter_rows(named=True)
        ],
        ids=entries.filter("linked").get_column("link_arxiv_id").unique().to_list(),
        resolved=resolved,
        decided_on=resolved
        | set(entries.get_column("link_arxiv_id").drop_nulls())
        | set(candidates),
        fresh_until=datetime.fromisoformat(ledger["fresh_until"]),
        store=ledger["store"],
    )


# The tables of the papers, one or more rows per paper, of its record alone (but for the
# papers table's counts over the entries).
PAPER_TABLES = ("papers", "authors", "categories", "versions")
# The published tables a run with digests unchanged takes rows of.
CARRIED_FILES = ("entries", "mismatches", "problems", "fetch_log", *PAPER_TABLES)


def _papers_to_build(
    store: MetadataStore,
    carried: Carried,
    resolved: set[str],
    fetched: FetchResult,
    same_log: bool,
) -> tuple[set[str], list[str]]:
    """(The papers to read from the store: this run's entries', `resolved`, and any the
    carried rows name without a published row; the paper tables that stay as published,
    their counts aside). With tables kept, the papers read are for their titles only, and
    every paper keeps its published rows; else the papers read get their rows made anew.
    `same_log`: whether the store's fetch log is as published (for the log line).

    The papers the carried rows alone resolve to keep their published rows: their records
    are as the published tables' run read them (the store has not changed since,
    _usable_ledger, but for what this run fetched, and a paper fetched again that carried
    rows name means a whole run: _run_changed_digests)."""
    published_ids = set(carried.paper_counts.get_column("arxiv_id"))
    renewed = resolved & (store.ids_fetched_since(fetched.began) | set(fetched.unstored))
    if resolved | carried.resolved == published_ids and not renewed:
        # The same papers, with the same records: their tables but for the counts are as
        # published, and only this run's entries' papers need be read (for their titles).
        kept_log = ", and the fetch log" if same_log else ""
        log.info("the papers are as published: their tables kept%s", kept_log)
        return resolved, ["authors", "categories", "versions"]
    return resolved | (carried.resolved - published_ids), []


def _carried_parts(
    settings: Settings,
    carried: Carried,
    built: Mapping[str, pl.DataFrame],
    tables: Mapping[str, TableParts],
) -> pl.DataFrame:
    """The carried rows and this run's (`built`: of the entries and mismatches tables)
    appended to `tables` in key order, the digests of about a part's entries at a time;
    the papers' counts over all of them (write.paper_counts)."""
    new = built["entries"].get_column("digest").value_counts()
    sizes = carried.digests | dict(new.iter_rows())
    counts = []
    for first, last in _digest_ranges(sizes, settings.part_entries):
        in_range = pl.col("digest").is_between(pl.lit(first), pl.lit(last))
        rows = {
            name: pl.concat([built[name].filter(in_range), carried.rows(name, first, last)])
            for name in ENTRY_TABLES
        }
        for name, frame in rows.items():
            tables[name].append(frame)
        counts.append(paper_counts(rows["entries"]))
    return summed_paper_counts(counts)


def _digest_ranges(sizes: Mapping[str, int], rows: int) -> Iterator[tuple[str, str]]:
    """The first and last digest of consecutive runs of digests (in key order) of about
    `rows` entries each, by the entries per digest in `sizes`."""
    names = sorted(sizes)
    start, held = 0, 0
    for n, name in enumerate(names):
        held += sizes[name]
        if held >= rows or n == len(names) - 1:
            yield names[start], name
            start, held = n + 1, 0


def _carried_paper_parts(
    carried: Carried,
    papers: pl.DataFrame,
    to_read: set[str],
    counts: pl.DataFrame,
    tables: Mapping[str, TableParts],
    kept: list[str],
) -> list[str]:
    """The paper tables appended to `tables`, PAPER_CHUNK papers at a time in key order,
    with every paper's `counts` over the entries anew: the rows of the papers `to_read` made
    from their records (`papers`, a stored-papers frame), the others' published rows; with
    tables `kept` (_papers_to_build), every paper's published rows. The tables `kept` stay
    as published (and `papers` too when no count changed): the tables kept (for
    write_tables)."""
    build = set() if kept else to_read
    if kept and counts.equals(carried.paper_counts.sort("arxiv_id")):
        return [*kept, "papers"]
    if kept:
        log.info("the papers' counts over the entries changed: the papers table counted anew")
    else:
        log.info("rows of %d papers carried over", counts.height - len(build))
    wanted = [name for name in PAPER_TABLES if name not in kept]
    arxiv_id, built = pl.col("arxiv_id"), pl.Series(list(build), dtype=pl.String).implode()
    to_build = pl.lit(built)
    for start in range(0, counts.height, PAPER_CHUNK):
        chunk = counts.slice(start, PAPER_CHUNK)
        ids = chunk.get_column("arxiv_id")
        in_chunk = arxiv_id.is_between(pl.lit(ids[0]), pl.lit(ids[-1])) & arxiv_id.is_in(
            ids.implode()
        )
        records = papers.filter(in_chunk & arxiv_id.is_in(to_build)).sort("arxiv_id")
        _refuse_missing_records(records, ids.filter(ids.is_in(built)))
        made = paper_tables(records, chunk)
        published = in_chunk & arxiv_id.is_in(to_build).not_()
        for name in wanted:
            rows = pl.scan_parquet(carried.tables[name]).filter(published).collect()
            if name == "papers":
                rows = with_paper_counts(rows, chunk)
            tables[name].append(pl.concat([made[name], rows]))
    return kept


def _reconcile_and_write(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    files: dict[str, DigestFileState],
    parse: ParseResult,
    fetched: FetchResult,
    times: StageTimes,
    carried: Carried,
) -> RunSummary | None:
    """Reconcile the changed digests' entries and write them with the `carried` rows; None
    (nothing written) when the published tables cannot be read for them after all."""
    from pipeline.reconcile import summary_lines

    with times.stage("reconcile"):
        rec = reconcile_stage(parse.entries, fetched)
    for line in summary_lines(rec):
        log.info("%s", line)
    # An ID the changed digests name too was fetched (from the store) and counts with them.
    only_carried = [i for i in carried.ids if i not in fetched.outcomes]
    totals = _carried_totals(settings, store, only_carried, record.started_at)
    totals.add(settings, store, fetched)
    if totals.fresh_until is not None:
        totals.fresh_until = min(totals.fresh_until, carried.fresh_until)
    problems = parse.problems + carried.problems
    with store_module.scratch_dir(settings.paths, record.run_id) as scratch:
        with times.stage("write"):
            try:
                frames, kept = _carried_tables(
                    settings, store, carried, parse, fetched, rec, problems, scratch
                )
            except (OSError, pl.exceptions.PolarsError) as exc:
                # Their files were checked (_carried_rows), not every page of them.
                log.warning("the published tables could not be read (%s): reconciling all", exc)
                return None
        return _finish(
            settings, store, record, files, len(files), problems, totals, frames, times, kept
        )


def _carried_tables(
    settings: Settings,
    store: MetadataStore,
    carried: Carried,
    parse: ParseResult,
    fetched: FetchResult,
    rec: ReconcileResult,
    problems: list[Problem],
    scratch: Path,
) -> tuple[dict[str, pl.DataFrame | TableParts], list[str]]:
    """The tables of the changed digests' entries (reconciled: `rec`) with the `carried`
    rows, made in parts set aside in `scratch`; the paper tables kept as published."""
    same_log = store.state_marker() == carried.store  # the store's log is as published
    to_read, kept = _papers_to_build(store, carried, rec.resolved_ids(), fetched, same_log)
    # The store is the truth (a paper found by ID and again by title search in one run has
    # the later fetch's time there): the papers come from it as one frame.
    papers = _resolved_papers(store, to_read, fetched)
    entries, mismatches = entry_tables(
        parse.entries, papers, rec.resolutions, rec.settled, rec.mismatches
    )
    tables = {name: TableParts(name, scratch) for name in (*ENTRY_TABLES, *PAPER_TABLES)}
    built = {"entries": entries, "mismatches": mismatches}
    counts = _carried_parts(settings, carried, built, tables)
    kept = _carried_paper_parts(carried, papers, to_read, counts, tables, kept)
    logs = log_tables([] if same_log else store.fetch_log_rows(), problems + fetched.problems, [])
    if same_log:  # read only now: the store's own log replaces it otherwise
        logs["fetch_log"] = pl.read_parquet(carried.tables["fetch_log"])
    frames: dict[str, pl.DataFrame | TableParts] = {**tables, **logs}
    for name in kept:  # what the report reads of them
        frames[name] = read_table(settings.paths, name, REPORT_COLUMNS.get(name))
    return frames, kept


def _snapshot_line_index(settings: Settings) -> Path | None:
    """The line index of the run's snapshot; None without a snapshot or for a compressed
    one (snapshot_titles.title_index builds it for a plain file)."""
    from pipeline.fetch.snapshot_titles import line_index

    if settings.snapshot_path is None:
        return None
    return line_index(settings.paths, settings.snapshot_path)


def _carried_totals(
    settings: Settings, store: MetadataStore, ids: list[str], began: datetime
) -> FetchTotals:
    """How the IDs only carried rows link are answered, as a whole run beginning at `began`
    would count them: from the store where it held the paper before, else from the snapshot
    where its line index has the ID, else by the store's outcome (answer_counts)."""
    from pipeline.fetch.snapshot import held_ids

    held: set[str] = set()
    lines = _snapshot_line_index(settings)
    if lines is not None:
        stored = {i for i, (at, _) in store.get_fetched_at(ids).items() if at < began}
        held = held_ids(lines, [i for i in ids if i not in stored])
    answered = Counter(store.answer_counts([i for i in ids if i not in held]))
    totals = FetchTotals(carried_kinds=answered, from_snapshot=len(held))
    totals.kinds["found"] += len(held)
    return totals


@dataclass
class FetchTotals:
    """What the fetch stage did in a run, over its parts: counted once per distinct ID (an
    ID of an earlier part is answered by the store or the snapshot again, unasked)."""

    kinds: Counter[str] = field(default_factory=Counter)  # the IDs' outcomes
    carried_kinds: Counter[str] = field(default_factory=Counter)  # of IDs only carried rows name
    problems: list[Problem] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    from_store: int = 0
    from_snapshot: int = 0
    title_searches: int = 0
    unreachable: str | None = None
    stopped: str | None = None
    incomplete: bool = False  # some entries wait on arXiv
    fresh_until: datetime | None = None  # while complete: see _fresh_until
    _seen: pl.Series = field(default_factory=lambda: pl.Series("arxiv_id", [], dtype=pl.String))

    def add(self, settings: Settings, store: MetadataStore, fetched: FetchResult) -> None:
        """Count a part's fetch in."""
        outcomes = pl.DataFrame(
            {
                "arxiv_id": list(fetched.outcomes),
                "outcome": [o.outcome for o in fetched.outcomes.values()],
            },
            schema={"arxiv_id": pl.String, "outcome": pl.String},
        )
        # One membership test against the IDs seen so far (a million by the last part).
        seen_before = outcomes.get_column("arxiv_id").is_in(self._seen.implode())
        again, new = outcomes.filter(seen_before), outcomes.filter(~seen_before)
        self._seen = pl.concat([self._seen, new.get_column("arxiv_id")])
        self.kinds += Counter(new.get_column("outcome").to_list())
        # The IDs asked for again were answered unasked (an earlier part stored them).
        answered = again.filter(pl.col("outcome") != "failed").get_column("arxiv_id")
        unstored = fetched.unstored.frame.get_column("arxiv_id")
        from_snapshot = int(answered.is_in(unstored.implode()).sum())
        self.from_store += fetched.from_store - (answered.len() - from_snapshot)
        self.from_snapshot += fetched.from_snapshot - from_snapshot
        self.problems += fetched.problems
        self.requests += fetched.requests
        self.retries += fetched.retries
        self.title_searches += fetched.title_searches
        self.unreachable = self.unreachable or fetched.unreachable
        self.stopped = self.stopped or fetched.stopped
        self.incomplete = self.incomplete or bool(
            any(o.outcome == "failed" for o in fetched.outcomes.values())
            or fetched.unreachable
            or fetched.stopped
            or any(p.kind == "search_failed" for p in fetched.problems)
        )
        if not self.incomplete:
            fresh = _fresh_until(settings, store, fetched)
            self.fresh_until = min(fresh, self.fresh_until or fresh)
        else:
            self.fresh_until = None


def _finish(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    files: dict[str, DigestFileState],
    digests: int,
    problems: list[Problem],
    fetched: FetchTotals,
    frames: dict[str, pl.DataFrame | TableParts],
    times: StageTimes,
    kept: list[str] | None = None,
) -> RunSummary:
    """Write the tables with this run's row in the run log, and record the run: the log's
    final times, the first-seen ledger, and (a complete run) the ledger re-runs build on.
    `problems`: the parse problems."""
    run_id, started = record.run_id, record.started_at
    incomplete = fetched.incomplete
    with times.stage("write"):
        shown = report_frames(frames)
        # The published tables hold this run's row as it stands before they are
        # written (write_seconds 0, though parts may be written); the store's copy gets
        # the final times below.
        record = dataclasses.replace(
            record,
            ended_at=utc_now(),
            status="incomplete" if incomplete else "ok",
            exit_code=EXIT_INCOMPLETE if incomplete else EXIT_OK,
            # Their keys are RunRecord's count and time fields; mypy checks the values of a
            # ** dict against every field.
            **_counts(digests, len(problems), fetched, shown),  # type: ignore[arg-type]
            **{f"{k}_seconds": v for k, v in times.seconds.items() if k != "write"},  # type: ignore[arg-type]
        )
        store.put_run(run_id, started, dataclasses.asdict(record))
        runs = [_run_record_from_dict(d) for d in store.get_runs()]
        frames["runs"] = shown["runs"] = runs_table(runs)
        health = _assess_health(settings, store, shown)
        record = dataclasses.replace(record, exit_code=_exit_code(record.exit_code, health))
        if record.exit_code == EXIT_STALE:
            frames["runs"] = runs_table([record if r.run_id == run_id else r for r in runs])
        write_tables(frames, settings.paths, run_id, health, kept or [])
    store.put_ledger(FIRST_SEEN_KEY, health.first_seen)
    record = dataclasses.replace(record, ended_at=utc_now(), write_seconds=times.seconds["write"])
    store.put_run(run_id, started, dataclasses.asdict(record))
    if fetched.fresh_until is not None:
        _put_ledger(settings, store, run_id, fetched.fresh_until, files, health)
    return RunSummary(
        record,
        record.exit_code or EXIT_OK,
        _summary_message(record, fetched.unreachable, settings, health),
    )


def _assess_health(settings: Settings, store: MetadataStore, frames: Mapping[str, Frame]) -> Health:
    """The staleness assessment of this run's tables, against the store's first-seen ledger."""
    return assess(
        frames["entries"],
        frames["runs"],
        store.get_ledger(FIRST_SEEN_KEY) or {},
        utc_now().date(),
        settings.stale_days,
        settings.unresolved_jump,
    )


def _exit_code(code: int | None, health: Health) -> int:
    """EXIT_STALE for a complete run with alarms; an incomplete run keeps EXIT_INCOMPLETE."""
    if code == EXIT_OK and health.alarms:
        return EXIT_STALE
    return EXIT_OK if code is None else code


# --- the ledger: what the last complete run consumed --------------------------------

LEDGER_KEY = "last_complete_run"


def _put_ledger(
    settings: Settings,
    store: MetadataStore,
    run_id: str,
    fresh_until: datetime,
    files: dict[str, DigestFileState],
    health: Health,
) -> None:
    store.put_ledger(
        LEDGER_KEY,
        {
            "fingerprint": _fingerprint(settings),
            "store": store.state_marker(),
            "files": files,
            "fresh_until": fresh_until.isoformat(),
            "run_id": run_id,
            # Each digest source's health tallies: a run with nothing new judges staleness
            # on them, without reading the tables (health.judge).
            "sources": health.tallies_rows,
        },
    )


def _hashes(files: dict[str, DigestFileState]) -> dict[str, str]:
    return {source: state[2] for source, state in files.items()}


def _fingerprint(settings: Settings) -> str:
    """What else the tables depend on: the code, and the settings that change what is asked
    or kept."""
    h = hashlib.sha256(code_digest().encode())
    inputs = [
        settings.refresh_days,
        settings.snapshot_refresh_days,
        settings.oai_refresh_days,
        settings.withdrawn_lookups,
        settings.offline,
        file_signature(settings.snapshot_path) if settings.snapshot_path else None,
    ]
    h.update(json.dumps(inputs, default=str).encode())
    return h.hexdigest()


def _usable_ledger(settings: Settings, store: MetadataStore) -> dict[str, Any] | None:
    """The last complete run's ledger, if this run can build on its tables: they are the
    published ones, the code and settings are the same, the store has not changed since
    (no `fetch` command in between), and nothing it relied on is due for refresh."""
    ledger = store.get_ledger(LEDGER_KEY)
    current = current_generation(settings.paths)
    if (
        ledger is None
        or "sources" not in ledger  # written by an older version
        or current is None
        or current.name != ledger["run_id"]
        or utc_now() >= datetime.fromisoformat(ledger["fresh_until"])
        or ledger["store"] != store.state_marker()
        or ledger["fingerprint"] != _fingerprint(settings)
    ):
        return None
    return ledger


def _fresh_until(settings: Settings, store: MetadataStore, fetched: FetchResult) -> datetime:
    """When the first stored answer this run relied on reaches the refresh age of its source."""
    from pipeline.fetch.titles import title_phrase

    # The snapshot's answers are not stored: their own times (a stored copy may be older).
    unstored = fetched.unstored
    stored = fetched.papers.filter(~pl.col("arxiv_id").is_in(_id_list(unstored)))
    first_fetched: dict[str, datetime] = {}  # per source
    # A batch's papers share their fetch time and source: judge each pair once.
    for at, source in stored.select("fetched_at", "source").unique().iter_rows():
        moment = datetime.fromisoformat(at)
        first_fetched[source] = min(moment, first_fetched.get(source, moment))
    expiries = [
        at + timedelta(days=settings.refresh_days_of(src)) for src, at in first_fetched.items()
    ]
    expiries += [
        r.fetched_at + timedelta(days=settings.refresh_days_of(r.source))
        for r in _candidate_records(fetched).values()
    ]
    expiries += [
        datetime.fromisoformat(at) + timedelta(days=settings.refresh_days_of(source))
        for at, source in unstored.frame.select("fetched_at", "source").unique().iter_rows()
    ]
    moments: list[datetime] = []
    settled = {i for i, o in fetched.outcomes.items() if o.outcome in ("not_found", "invalid")}
    if settled:
        moments += [at for _, at in store.get_outcomes(settled).values()]
    moments += store.title_search_times(title_phrase(t) for t in fetched.searched_titles)
    expiries += [at + timedelta(days=settings.refresh_days) for at in moments]
    if fetched.expires_at is not None:
        expiries.append(fetched.expires_at)
    return min(expiries, default=utc_now() + timedelta(days=settings.refresh_days))


def _carry_over(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    ledger: dict[str, Any],
    files: dict[str, DigestFileState],
) -> RunSummary | None:
    """With no digest new, edited or gone, no new metadata and nothing due for refresh, the
    tables would come out byte for byte the same: publish them again with this run's row,
    and ask nothing. Staleness is judged again, as of today (time passing with nothing new
    is exactly when a digest goes stale), on the tallies the ledger keeps, and the companion
    files are written afresh with it; the tables are not read. Returns None when a full run
    is needed."""
    start = time.perf_counter()
    previous = next(r for r in store.get_runs() if r["run_id"] == ledger["run_id"])
    # As every run's own published row: taken when writing begins, write_seconds 0.
    record = dataclasses.replace(
        _run_record_from_dict(previous),
        run_id=record.run_id,
        started_at=record.started_at,
        ended_at=utc_now(),
        status="unchanged",
        exit_code=EXIT_OK,
        out_dir=record.out_dir,
        requests=0,
        retries=0,
        title_searches=0,
        from_store=previous["ids_requested"],
        from_snapshot=0,
        parse_seconds=0.0,
        fetch_seconds=0.0,
        reconcile_seconds=0.0,
        write_seconds=0.0,
    )
    store.put_run(record.run_id, record.started_at, dataclasses.asdict(record))
    runs = runs_table([_run_record_from_dict(d) for d in store.get_runs()])
    # The tables and the first-seen ledger are as the ledger's run left them: only the days
    # since each source's last new paper moved on.
    health = judge(
        tallies_frame(ledger["sources"]),
        runs,
        utc_now().date(),
        settings.stale_days,
        settings.unresolved_jump,
    )
    if health.alarms:
        record = dataclasses.replace(record, exit_code=EXIT_STALE)
        store.put_run(record.run_id, record.started_at, dataclasses.asdict(record))
        runs = runs_table([_run_record_from_dict(d) for d in store.get_runs()])
    if carry_over_tables(settings.paths, record.run_id, runs, health) is None:
        return None  # the published generation is incomplete: a full run rebuilds it
    # The run log's copy gets the final times, measured after the write.
    record = dataclasses.replace(
        record, ended_at=utc_now(), write_seconds=time.perf_counter() - start
    )
    store.put_run(record.run_id, record.started_at, dataclasses.asdict(record))
    # Touched files keep their hash under a new time: the next run need not read them.
    store.put_ledger(LEDGER_KEY, {**ledger, "run_id": record.run_id, "files": files})
    log.info("nothing new since run %s: tables carried over, no requests", ledger["run_id"])
    return RunSummary(
        record, record.exit_code or EXIT_OK, _summary_message(record, None, settings, health)
    )


def _candidate_records(fetched: FetchResult) -> dict[str, PaperRecord]:
    return {r.arxiv_id: r for recs in fetched.candidates.values() for r in recs}


_SECONDS_FIELDS = ("parse_seconds", "fetch_seconds", "reconcile_seconds", "write_seconds")


def _close_interrupted_runs(store: MetadataStore) -> None:
    """We hold the lock, so any run still marked running was killed: say so in the log."""
    for d in store.get_runs():
        if d.get("status") == "running":
            d["status"] = "interrupted"
            store.put_run(str(d["run_id"]), datetime.fromisoformat(str(d["started_at"])), d)


def _summary_message(
    record: RunRecord, unreachable: str | None, settings: Settings, health: Health
) -> str:
    seconds = sum(getattr(record, f) for f in _SECONDS_FIELDS if getattr(record, f) is not None)
    line = (
        f"run {record.run_id} {record.status}: {record.digests} digests, "
        f"{record.entries} entries; ids {record.ids_requested} "
        f"(found {record.found}, not found {record.not_found}, invalid {record.invalid}, "
        f"failed {record.failed}, from store {record.from_store}, "
        f"from snapshot {record.from_snapshot}); "
        f"resolved link {record.resolved_link}, title {record.resolved_title}, "
        f"corrected {record.corrected}, unresolved {record.unresolved}; "
        f"{record.mismatches} mismatches, {record.parse_problems} parse problems; "
        f"{record.requests} requests, {record.retries} retries; {seconds:.1f} s; "
        f"tables in {settings.out_dir}/"
    )
    if unreachable:
        pending = record.failed
        line = (
            f"arXiv unreachable ({settings.api_url}): {pending} IDs and "
            f"{record.unresolved} entries pending until it can be reached; "
            f"tables written from stored metadata. {MAKE_DEMO_HINT}\n" + line
        )
    for alarm in health.alarms:
        line += f"\nALARM: {alarm}"
    return line


def report(settings: Settings) -> Path:
    """Write the report, the DuckDB file and the schema export of the published tables
    again, with staleness as of today (e.g. from cron between runs); returns the report's
    path. NothingPublished (an OSError) when no run has published tables yet."""
    check_folders(settings)
    with run_lock(settings):
        run_id, manifest, frames = published_frames(settings, REPORT_COLUMNS)
        generation = current_generation(settings.paths)
        assert generation is not None  # published_frames found it
        health = health_now(settings, frames)
        write_companions(generation, frames, run_id, health, tables_key(manifest["tables"]))
        names = [t.name for t in TABLES]
        store_module.publish_generation(settings.paths, generation, names, COMPANION_FILES)
    return settings.out_dir / REPORT_NAME
