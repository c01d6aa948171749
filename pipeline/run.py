"""The staged run: parse -> fetch -> reconcile -> write, under a lock, with a run log.

This is the Python API under the CLI. Each stage function returns data; only
`write_tables` touches the output folder, and only through pipeline.store.

Exit codes (part of the interface, for cron and schedulers):
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import filelock
import polars as pl

from pipeline.config import SETTINGS, ConfigError, Settings
from pipeline.fetch import ArxivUnreachable, FetchReport, fetch_papers, search_titles
from pipeline.fetch.titles import title_phrase
from pipeline.model import FetchOutcome, PaperRecord, Problem
from pipeline.parse import entries_frame, iter_digests, summary_line
from pipeline.reconcile import ReconcileResult, reconcile, titles_to_search
from pipeline.reconcile import summary_lines as reconcile_summary_lines
from pipeline.store import (
    DIGESTS_SUBDIR,
    DigestFileState,
    MetadataStore,
    Paths,
    StoreError,
    current_generation,
    digest_files,
    digests_signature,
    utc_now,
)
from pipeline.write import (
    RunRecord,
    build_tables,
    carry_over_tables,
    read_table,
    runs_table,
    write_tables,
)

log = logging.getLogger("pipeline")

EXIT_OK = 0  # every entry enriched (or resolved as far as arXiv allows)
EXIT_UNEXPECTED = 1  # a bug or an unexpected environment error; see the traceback
EXIT_CONFIG = 2  # bad configuration or usage
EXIT_INCOMPLETE = 3  # tables written, but some entries wait on arXiv (unreachable/failed)
EXIT_LOCKED = 4  # another run holds the lock
EXIT_ENVIRONMENT = 5  # a folder or file the run needs cannot be used
EXIT_CODES = {
    EXIT_OK: "everything enriched",
    EXIT_UNEXPECTED: "unexpected error (a bug: the message says where)",
    EXIT_CONFIG: "bad configuration or usage",
    EXIT_INCOMPLETE: "tables written, but some entries could not be enriched for transient "
    "reasons (arXiv unreachable, requests failed after retries); the next run retries them",
    EXIT_LOCKED: "another run is in progress (see --wait-for-lock)",
    EXIT_ENVIRONMENT: "a folder or file the run needs cannot be used (e.g. an unwritable output "
    "folder, a damaged metadata store, a missing or emptied digests folder: see --allow-shrink); "
    "the message says which; tables left as they were",
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
    if isinstance(exc, InputVanished | OSError | StoreError):
        return EXIT_ENVIRONMENT
    return EXIT_UNEXPECTED


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
    searched_titles: list[str] = field(default_factory=list)  # titles the reconcile stage needs
    title_searches: int = 0  # of their searches, those sent to arXiv in this run
    unreachable: str | None = None  # why arXiv could not be reached, if it could not


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


def refuse_missing_digests(settings: Settings, digests: list[Any]) -> None:
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


def refuse_shrink(settings: Settings, digests: list[Any], entries: int) -> None:
    """Raise InputVanished when digest files behind the published tables are gone and the
    entries would shrink (unless allow_shrink). A renamed or moved file keeps the count."""
    if settings.allow_shrink:
        return
    published = _published_entries_per_digest(settings.paths)
    present = {f"{DIGESTS_SUBDIR}/{name}" for name, *_ in digests}
    gone = sorted(set(published) - present)
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
    """Parse every digest (with `only`, just those digests), keeping of each file only its
    frame rows, problems and summary: the entry objects of one file are dropped before the
    next is read (memory at scale)."""
    frames: list[pl.DataFrame] = [entries_frame([])]  # the schema, when no file is parsed
    problems: list[Problem] = []
    summaries: list[str] = []
    for digest in iter_digests(settings.raw_dir, only):
        frames.append(entries_frame([digest]))
        problems += digest.problems
        summaries.append(summary_line(digest))
    return ParseResult(summaries, pl.concat(frames, rechunk=True), problems)


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


def _online_or_offline(
    settings: Settings, result: FetchResult, call: Callable[[Settings], tuple[T, FetchReport]]
) -> T:
    """Run `call` online; when arXiv cannot be reached, say so once and use the store only."""
    if result.unreachable is None and not settings.offline:
        try:
            value, report = call(settings)
            _absorb(result, report)
            return value
        except ArxivUnreachable as exc:
            result.unreachable = str(exc)  # names the address already
            log.error("%s", exc)
    value, report = call(dataclasses.replace(settings, offline=True))
    _absorb(result, report)
    return value


def fetch_stage(
    settings: Settings, entries: pl.DataFrame, store: MetadataStore, run_id: str
) -> FetchResult:
    """Fetch every linked ID, then search the titles the reconcile stage will need."""
    ids = (
        entries.filter(pl.col("id_status") == "ok")
        .get_column("arxiv_id")
        .unique(maintain_order=True)
        .to_list()
    )
    result = FetchResult(records={}, outcomes={}, candidates={}, problems=[])

    def fetch_ids(s: Settings) -> tuple[FetchReport, FetchReport]:
        report = fetch_papers(ids, s, store, run_id, progress=True)
        return report, report

    report = _online_or_offline(settings, result, fetch_ids)
    result.records = report.records
    result.outcomes = {o.arxiv_id: o for o in report.outcomes}
    result.from_store = report.from_store

    paper_titles = store.paper_titles(result.records)
    titles = titles_to_search(entries, result.records, result.outcomes, paper_titles)
    result.searched_titles = titles
    if titles:
        phrases = {title_phrase(t) for t in titles} - {""}

        def search(s: Settings) -> tuple[dict[str, list[PaperRecord]], FetchReport]:
            candidates, report = search_titles(titles, s, store, run_id)
            # Offline, nothing is sent; online, every phrase the store did not answer is.
            result.title_searches = 0 if s.offline else len(phrases) - report.from_store
            return _answered(candidates, report), report

        result.candidates = _online_or_offline(settings, result, search)
    return result


# Problems of search_titles meaning that a phrase got no answer, now or stored.
UNANSWERED_SEARCH_KINDS = ("offline_missing", "search_failed")


def _answered(
    candidates: dict[str, list[PaperRecord]], report: FetchReport
) -> dict[str, list[PaperRecord]]:
    """The candidates of the titles whose search was answered. search_titles gives every
    title a list, an empty one too when nothing was searched; reconcile must see no entry
    then, or it reports "title search found nothing" for a search never made."""
    unanswered = {p.source for p in report.problems if p.kind in UNANSWERED_SEARCH_KINDS}
    return {
        title: found
        for title, found in candidates.items()
        if title_phrase(title) and title_phrase(title) not in unanswered
    }


def reconcile_stage(entries: pl.DataFrame, fetched: FetchResult) -> ReconcileResult:
    return reconcile(entries, fetched.records, fetched.outcomes, fetched.candidates)


# --- the whole run ------------------------------------------------------------------


def _run_record_from_dict(d: dict[str, Any]) -> RunRecord:
    values = dict(d)
    for name in ("started_at", "ended_at"):
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    return RunRecord(**values)


@dataclass
class Carried:
    """What a run takes over from the last complete one for the digests unchanged since:
    their published rows, parse problems, and the outcomes of the IDs only they name."""

    entries: pl.DataFrame
    mismatches: pl.DataFrame
    problems: list[Problem]
    ids: list[str]  # the IDs their entries link to
    fresh_until: datetime  # of the answers their rows were decided on


def _counts(
    digests: int,
    problems: int,
    fetched: FetchResult,
    frames: dict[str, pl.DataFrame],
    carried_kinds: list[str],
) -> dict[str, int]:
    """The run's counts; `carried_kinds` are the outcomes of the IDs only carried rows name."""
    kinds = [o.outcome for o in fetched.outcomes.values()] + carried_kinds
    entries = frames["entries"]
    resolutions = dict(entries.get_column("resolution").value_counts().iter_rows())
    return {
        "digests": digests,
        "entries": entries.height,
        "parse_problems": problems,
        "ids_requested": len(kinds),
        "found": kinds.count("found"),
        "not_found": kinds.count("not_found"),
        "invalid": kinds.count("invalid"),
        "failed": kinds.count("failed"),
        "from_store": fetched.from_store + len(carried_kinds),
        "title_searches": fetched.title_searches,
        "resolved_link": resolutions.get("link", 0),
        "resolved_title": resolutions.get("title", 0),
        "corrected": resolutions.get("corrected", 0),
        "unresolved": resolutions.get("unresolved", 0),
        "mismatches": frames["mismatches"].height,
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
        record = RunRecord(run_id=run_id, started_at=started)
        store.put_run(run_id, started, dataclasses.asdict(record))
        try:
            digests = digests_signature(settings.paths)
            refuse_missing_digests(settings, digests)
            ledger = _usable_ledger(settings, store)
            files = digest_files(settings.paths, ledger["files"] if ledger else {})
            summary = None
            if ledger is not None and _hashes(ledger["files"]) == _hashes(files):
                summary = _carry_over(settings, store, record, ledger, files)
            elif ledger is not None:
                summary = _run_changed_digests(settings, store, record, digests, ledger, files)
            return summary or _run_stages(settings, store, record, digests, files)
        except Exception as exc:
            # The run log says how it ended; the caller reports the error itself.
            failed = dataclasses.replace(
                record, ended_at=utc_now(), status="failed", exit_code=exit_code_for(exc)
            )
            store.put_run(run_id, started, dataclasses.asdict(failed))
            raise


def _run_stages(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    digests: list[Any],
    files: dict[str, DigestFileState],
) -> RunSummary:
    """parse -> fetch -> reconcile -> write, recording the run in the store's run log."""
    times = StageTimes()
    with times.stage("parse"):
        parse = parse_stage(settings)
    _log_parse(parse)
    refuse_shrink(settings, digests, parse.entries.height)
    with times.stage("fetch"):
        fetched = fetch_stage(settings, parse.entries, store, record.run_id)
    return _reconcile_and_write(settings, store, record, files, parse, fetched, times, None)


def _log_parse(parse: ParseResult) -> None:
    for line in parse.summaries:
        log.info("%s", line)
    log_parse_problems(parse.problems)


def _run_changed_digests(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    digests: list[Any],
    ledger: dict[str, Any],
    files: dict[str, DigestFileState],
) -> RunSummary | None:
    """Parse, fetch and reconcile only the digests that are new or edited since the last
    complete run; the rows of the others are carried over from its tables. A digest's rows
    depend on its own text and the stored answers for its IDs and titles only, and those
    answers are unchanged (see _usable_ledger) unless this run's fetch stored a paper they
    name again: then None, and the caller runs every stage on everything."""
    before = _hashes(ledger["files"])
    changed = {source for source, digest in _hashes(files).items() if before.get(source) != digest}
    unchanged = set(files) - changed
    fresh_until = datetime.fromisoformat(ledger["fresh_until"])
    carried = _carried_rows(settings.paths, unchanged, set(before), fresh_until)
    if carried is None:
        return None
    times = StageTimes()
    with times.stage("parse"):
        parse = parse_stage(settings, only=changed)
    _log_parse(parse)
    log.info(
        "%d digests unchanged since run %s: their %d entries carried over",
        len(unchanged),
        ledger["run_id"],
        carried.entries.height,
    )
    refuse_shrink(settings, digests, carried.entries.height + parse.entries.height)
    with times.stage("fetch"):
        fetched = fetch_stage(settings, parse.entries, store, record.run_id)
    if store.ids_fetched_since(record.started_at) & _named_ids(carried.entries):
        log.info("papers the unchanged digests name were fetched again: reconciling all")
        return None
    return _reconcile_and_write(settings, store, record, files, parse, fetched, times, carried)


def _carried_rows(
    paths: Paths, unchanged: set[str], ledger_files: set[str], fresh_until: datetime
) -> Carried | None:
    """The published rows of the `unchanged` digests; None when the published tables cannot
    be read or hold parse problems of no one digest file (a folder that could not be
    listed): then only a whole run gives the right tables."""
    try:
        published = {name: read_table(paths, name) for name in CARRIED_TABLES}
    except (OSError, pl.exceptions.PolarsError):
        return None
    problems = published["problems"].filter(pl.col("stage") == "parse")
    if not set(problems.get_column("source")) <= ledger_files:
        return None
    entries = published["entries"].filter(pl.col("digest").is_in(unchanged))
    return Carried(
        entries=entries,
        mismatches=published["mismatches"].filter(pl.col("digest").is_in(unchanged)),
        problems=[
            Problem(row["stage"], row["source"], row["kind"], row["message"], row["line"])
            for row in problems.filter(pl.col("source").is_in(unchanged)).iter_rows(named=True)
        ],
        ids=_linked_ids(entries),
        fresh_until=fresh_until,
    )


CARRIED_TABLES = ("entries", "mismatches", "problems")


def _linked_ids(entries: pl.DataFrame) -> list[str]:
    """The IDs the fetch stage asks for these entries (the links judged valid)."""
    ok = entries.filter(pl.col("id_status") == "ok")
    return ok.get_column("link_arxiv_id").unique().to_list()


def _named_ids(entries: pl.DataFrame) -> set[str]:
    """Every arXiv ID these published entries were decided on: linked, resolved, candidate."""
    candidates = entries.select(pl.col("candidates").explode().struct.field("arxiv_id"))
    return {
        i
        for column in (entries["link_arxiv_id"], entries["arxiv_id"], candidates["arxiv_id"])
        for i in column.drop_nulls().to_list()
    }


def _stored_outcome_kinds(store: MetadataStore, ids: list[str]) -> list[str]:
    """How the fetch stage would answer `ids` from the store, which it can for all of them
    (the last complete run settled them, and nothing is due for refresh)."""
    stored = store.stored_ids(ids)
    outcomes = store.get_outcomes(i for i in ids if i not in stored)
    # An ID arXiv was never asked about is one the fetch stage rejects by its form.
    return ["found" if i in stored else outcomes.get(i, ("invalid",))[0] for i in ids]


def _reconcile_and_write(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    files: dict[str, DigestFileState],
    parse: ParseResult,
    fetched: FetchResult,
    times: StageTimes,
    carried: Carried | None,
) -> RunSummary:
    run_id, started = record.run_id, record.started_at
    with times.stage("reconcile"):
        rec = reconcile_stage(parse.entries, fetched)
    for line in reconcile_summary_lines(rec):
        log.info("%s", line)
    problems = parse.problems + (carried.problems if carried else [])
    # An ID the changed digests name too was fetched (from the store) and counts with them.
    only_carried = [i for i in carried.ids if i not in fetched.outcomes] if carried else []
    carried_kinds = _stored_outcome_kinds(store, only_carried)
    incomplete = bool(
        any(o.outcome == "failed" for o in fetched.outcomes.values()) or fetched.unreachable
    )
    exit_code = EXIT_INCOMPLETE if incomplete else EXIT_OK
    status = "incomplete" if incomplete else "ok"
    fresh_until = _fresh_until(settings, store, fetched) if status == "ok" else None
    if fresh_until is not None and carried is not None:
        fresh_until = min(fresh_until, carried.fresh_until)
    with times.stage("write"):
        # The store is the truth (a paper found by ID and again by title search in one run
        # has the later fetch's time there): the papers come from it as one frame.
        resolved = {r.arxiv_id for r in rec.resolutions if r.arxiv_id is not None}
        if carried is not None:
            resolved |= set(carried.entries.get_column("arxiv_id").drop_nulls().to_list())
        frames = build_tables(
            entries=parse.entries,
            papers=store.papers_frame(resolved),
            resolutions=rec.resolutions,
            mismatches=rec.mismatches,
            fetch_log=store.fetch_log_rows(),
            problems=problems + fetched.problems,
            runs=[],
            carried={"entries": carried.entries, "mismatches": carried.mismatches}
            if carried is not None
            else None,
        )
        digests = len(files) if carried is not None else len(parse.summaries)
        # The published tables hold this run's row as it stands before they are
        # written (write_seconds 0); the store's copy gets the final times below.
        record = dataclasses.replace(
            record,
            ended_at=utc_now(),
            status=status,
            exit_code=exit_code,
            **_counts(digests, len(problems), fetched, frames, carried_kinds),
            **{f"{k}_seconds": v for k, v in times.seconds.items()},
        )
        store.put_run(run_id, started, dataclasses.asdict(record))
        frames["runs"] = runs_table([_run_record_from_dict(d) for d in store.get_runs()])
        write_tables(frames, settings.paths, run_id)
    record = dataclasses.replace(record, ended_at=utc_now(), write_seconds=times.seconds["write"])
    store.put_run(run_id, started, dataclasses.asdict(record))
    if fresh_until is not None:
        _put_ledger(settings, store, run_id, fresh_until, files)
    return RunSummary(record, exit_code, _summary_message(record, fetched.unreachable, settings))


# --- the ledger: what the last complete run consumed --------------------------------

LEDGER_KEY = "last_complete_run"


def _put_ledger(
    settings: Settings,
    store: MetadataStore,
    run_id: str,
    fresh_until: datetime,
    files: dict[str, DigestFileState],
) -> None:
    store.put_ledger(
        LEDGER_KEY,
        {
            "fingerprint": _fingerprint(settings),
            "store": store.state_marker(),
            "files": files,
            "fresh_until": fresh_until.isoformat(),
            "run_id": run_id,
        },
    )


def _hashes(files: dict[str, DigestFileState]) -> dict[str, str]:
    return {source: state[2] for source, state in files.items()}


def _fingerprint(settings: Settings) -> str:
    """What else the tables depend on: the code, and the settings that change what is asked
    or kept."""
    code = sorted(
        (p.relative_to(_PACKAGE).as_posix(), p.read_bytes()) for p in _PACKAGE.rglob("*.py")
    )
    h = hashlib.sha256()
    for name, body in code:
        h.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    h.update(json.dumps([settings.refresh_days, settings.offline]).encode())
    return h.hexdigest()


_PACKAGE = Path(__file__).resolve().parent


def _usable_ledger(settings: Settings, store: MetadataStore) -> dict[str, Any] | None:
    """The last complete run's ledger, if this run can build on its tables: they are the
    published ones, the code and settings are the same, the store has not changed since
    (no `fetch` command in between), and nothing it relied on is due for refresh."""
    ledger = store.get_ledger(LEDGER_KEY)
    current = current_generation(settings.paths)
    if (
        ledger is None
        or "files" not in ledger  # written by an older version
        or current is None
        or current.name != ledger["run_id"]
        or utc_now() >= datetime.fromisoformat(ledger["fresh_until"])
        or ledger["store"] != store.state_marker()
        or ledger["fingerprint"] != _fingerprint(settings)
    ):
        return None
    return ledger


def _fresh_until(settings: Settings, store: MetadataStore, fetched: FetchResult) -> datetime:
    """When the oldest stored answer this run relied on reaches the refresh age."""
    moments = list(store.get_fetched_at(fetched.records).values())
    moments += [r.fetched_at for r in _candidate_records(fetched).values()]
    settled = {i for i, o in fetched.outcomes.items() if o.outcome in ("not_found", "invalid")}
    if settled:
        moments += [at for _, at in store.get_outcomes(settled).values()]
    moments += store.title_search_times(title_phrase(t) for t in fetched.searched_titles)
    oldest = min(moments, default=utc_now())
    return oldest + timedelta(days=settings.refresh_days)


def _carry_over(
    settings: Settings,
    store: MetadataStore,
    record: RunRecord,
    ledger: dict[str, Any],
    files: dict[str, DigestFileState],
) -> RunSummary | None:
    """With no digest new, edited or gone, no new metadata and nothing due for refresh, the
    tables would come out byte for byte the same: publish them again with this run's row,
    and ask nothing. Returns None when a full run is needed."""
    previous = next(r for r in store.get_runs() if r["run_id"] == ledger["run_id"])
    # As every run's own published row: taken when writing begins, write_seconds 0.
    record = dataclasses.replace(
        _run_record_from_dict(previous),
        run_id=record.run_id,
        started_at=record.started_at,
        ended_at=utc_now(),
        status="unchanged",
        exit_code=EXIT_OK,
        requests=0,
        retries=0,
        title_searches=0,
        from_store=previous["ids_requested"],
        parse_seconds=0.0,
        fetch_seconds=0.0,
        reconcile_seconds=0.0,
        write_seconds=0.0,
    )
    start = time.perf_counter()
    store.put_run(record.run_id, record.started_at, dataclasses.asdict(record))
    runs = [_run_record_from_dict(d) for d in store.get_runs()]
    if carry_over_tables(settings.paths, record.run_id, runs) is None:
        return None  # the published generation is incomplete: a full run rebuilds it
    # The run log's copy gets the final times, measured after the write.
    record = dataclasses.replace(
        record, ended_at=utc_now(), write_seconds=time.perf_counter() - start
    )
    store.put_run(record.run_id, record.started_at, dataclasses.asdict(record))
    # Touched files keep their hash under a new time: the next run need not read them.
    store.put_ledger(LEDGER_KEY, {**ledger, "run_id": record.run_id, "files": files})
    log.info("nothing new since run %s: tables carried over, no requests", ledger["run_id"])
    return RunSummary(record, EXIT_OK, _summary_message(record, None, settings))


def _candidate_records(fetched: FetchResult) -> dict[str, PaperRecord]:
    return {r.arxiv_id: r for recs in fetched.candidates.values() for r in recs}


_SECONDS_FIELDS = ("parse_seconds", "fetch_seconds", "reconcile_seconds", "write_seconds")


def _close_interrupted_runs(store: MetadataStore) -> None:
    """We hold the lock, so any run still marked running was killed: say so in the log."""
    for d in store.get_runs():
        if d.get("status") == "running":
            d["status"] = "interrupted"
            store.put_run(str(d["run_id"]), datetime.fromisoformat(str(d["started_at"])), d)


def _summary_message(record: RunRecord, unreachable: str | None, settings: Settings) -> str:
    seconds = sum(getattr(record, f) for f in _SECONDS_FIELDS if getattr(record, f) is not None)
    line = (
        f"run {record.run_id} {record.status}: {record.digests} digests, "
        f"{record.entries} entries; ids {record.ids_requested} "
        f"(found {record.found}, not found {record.not_found}, invalid {record.invalid}, "
        f"failed {record.failed}, from store {record.from_store}); "
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
    return line
