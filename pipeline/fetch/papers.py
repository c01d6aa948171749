"""Fetching papers by ID: decide from the store what to ask, read what the bulk snapshot
holds, ask arXiv for the rest in batches, account for all.

Every requested ID ends with one outcome (found, not_found, invalid, failed) and the number
of requests that included it. A batch answer is compared with the batch (docs/arxiv.md
§3: a nonexistent ID just drops out; one malformed ID fails the whole batch with a 400),
and what a request settled is written to the store before the next request is sent.

An ID is only called not_found when an answer that does hold papers leaves it out: the IDs
missing from a batch are asked once more together with a witness, a paper known to exist.
An answer without the witness is one of arXiv's empty pages (docs/arxiv.md §5), not
evidence: its IDs are failed and asked again next run. A not_found for an ID of the current
or previous month is kept FRESH_NOT_FOUND_DAYS only, as the index may not have caught up
(docs/arxiv.md §3: the API sees a paper from the midnight after its announcement).
"""

from __future__ import annotations

import re
import sys
from collections import ChainMap, Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from tqdm import tqdm

from pipeline.config import Settings
from pipeline.fetch.atom import feed_records
from pipeline.fetch.report import FetchReport
from pipeline.fetch.snapshot import read_snapshot
from pipeline.fetch.snapshot_titles import line_index
from pipeline.fetch.transport import (
    DEFAULT_WITNESS,
    ArxivSession,
    FetchBudget,
    IdFormatRejected,
    PostRefused,
    RequestFailed,
)
from pipeline.ids import is_valid_id
from pipeline.model import FetchOutcome, FetchOutcomeKind, PaperRecord, Problem
from pipeline.store import MetadataStore, utc_now

# docs/arxiv.md §2: at most 2000 results per call, so no batch can be larger.
MAX_RESULTS_PER_CALL = 2000
OFFLINE_MISSING = "offline: not in the store"
# Not asked again until refresh_days have passed.
SETTLED_KINDS: tuple[FetchOutcomeKind, ...] = ("not_found", "invalid")
FRESH_NOT_FOUND_DAYS = 1.0  # a not_found of this or last month's ID: the index may lag
_NEW_STYLE_YYMM = re.compile(r"(\d{2})(\d{2})\.")


def is_fresh_id(arxiv_id: str, now: datetime) -> bool:
    """Whether a new-style ID is of the current or previous month (or later) at `now`."""
    found = _NEW_STYLE_YYMM.match(arxiv_id)
    if found is None:
        return False
    month = (2000 + int(found[1])) * 12 + int(found[2]) - 1
    return month >= now.year * 12 + now.month - 2


def outcome_expiry(arxiv_id: str, decided_at: datetime, settings: Settings) -> datetime:
    """When a stored not_found or invalid outcome is due to be asked again."""
    days = settings.refresh_days
    if is_fresh_id(arxiv_id, decided_at):
        days = min(days, FRESH_NOT_FOUND_DAYS)
    return decided_at + timedelta(days=days)


def fetch_papers(
    ids: Iterable[str],
    settings: Settings,
    store: MetadataStore,
    run_id: str,
    *,
    progress: bool = False,
    budget: FetchBudget | None = None,
) -> FetchReport:
    """arXiv's record for each ID, from the store when fresh enough, else asked in batches.

    With `settings.snapshot_path`, the IDs the store cannot serve are looked up in the
    snapshot first (also offline: it is a local file). Raises `ArxivUnreachable` when the
    first request cannot connect at all, `SnapshotError` when the snapshot cannot be read.
    With `settings.offline` nothing is sent: IDs in neither end as failed. `budget` is the
    run's (deadline, throttling breaker); once it is spent the remaining IDs fail unasked.
    """
    report = FetchReport()
    wanted = list(dict.fromkeys(ids))
    decided, stale = _decide_from_store(wanted, settings, store, report)
    to_ask = [i for i in wanted if i not in decided]
    if to_ask:
        with ArxivSession(settings, budget) as session:
            batch_size = min(settings.batch_size, MAX_RESULTS_PER_CALL)
            fetcher = _IdFetcher(session, settings, store, run_id, stale, batch_size)
            # A paper known to exist: the snapshot's first answer, else the least ID served
            # from the store (the same one whatever order the store hands them in).
            fetcher.known = next(iter(report.unstored), None) or min(
                report.records, default=DEFAULT_WITNESS
            )
            show = progress and sys.stderr.isatty()
            with tqdm(total=len(to_ask), unit="ID", desc="arXiv", disable=not show) as bar:
                for start in range(0, len(to_ask), batch_size):
                    batch = to_ask[start : start + batch_size]
                    fetcher.ask_batch(batch)
                    bar.update(len(batch))
            report.requests, report.retries = session.requests, session.retries
            decided |= fetcher.outcomes
            report.records.update(fetcher.records)
            report.problems += fetcher.problems
    report.outcomes = [decided[i] for i in wanted]
    not_found = [o.arxiv_id for o in report.outcomes if o.outcome == "not_found"]
    expiries = [
        outcome_expiry(i, at, settings)
        for i, (kind, at) in store.get_outcomes(not_found).items()
        if kind == "not_found"
    ]
    report.expires_at = min(expiries, default=None)
    return report


def _decide_from_store(
    wanted: list[str], settings: Settings, store: MetadataStore, report: FetchReport
) -> tuple[dict[str, FetchOutcome], dict[str, PaperRecord]]:
    """Outcomes of the IDs that need no request (malformed, known recently enough, or in
    the snapshot), and the stored papers that are too old to serve without asking again.

    Freshness is judged from the stored fetch times and sources alone (refresh days per
    source), once per distinct pair: a batch's papers share both, so a few hundred
    judgements (and reason strings) serve a store of a million. The records kept as a
    fallback are decoded now, the served ones (in `report.records`) when looked up.
    """
    decided: dict[str, FetchOutcome] = {}
    now = utc_now()
    reasons: dict[str, str | None] = {}  # stored ID -> why it is served, None when too old
    for at, source, stored_ids in store.fetch_time_groups(wanted):
        fetched_at = datetime.fromisoformat(at)
        fresh = fetched_at >= now - timedelta(days=settings.refresh_days_of(source))
        reason = f"stored, fetched {_day(fetched_at)}" if settings.offline or fresh else None
        reasons.update(dict.fromkeys(stored_ids, reason))
    served: list[str] = []  # in the order asked for (the order the entries look them up in)
    unserved: list[str] = []  # valid, but not stored or stored too long ago
    for arxiv_id in wanted:
        reason = reasons.get(arxiv_id)
        if reason is not None:
            served.append(arxiv_id)
            decided[arxiv_id] = FetchOutcome(arxiv_id, "found", 0, reason)
        # A stored ID is valid: atom.py and oai.py check every ID before it is stored.
        elif arxiv_id in reasons or is_valid_id(arxiv_id):
            unserved.append(arxiv_id)
        else:
            decided[arxiv_id] = FetchOutcome(arxiv_id, "invalid", 0, "not an arXiv identifier")
    report.from_store += len(served)
    if settings.snapshot_path is not None:
        decided |= _answer_from_snapshot(unserved, settings, report)
    unsettled = [i for i in unserved if i not in decided]
    outcomes = store.get_outcomes(unsettled)
    stale_ids: list[str] = []
    for arxiv_id in unsettled:
        kind, decided_at = outcomes.get(arxiv_id, (None, None))
        if (
            kind in SETTLED_KINDS
            and decided_at is not None
            and (settings.offline or outcome_expiry(arxiv_id, decided_at, settings) > now)
        ):
            report.from_store += 1
            decided[arxiv_id] = FetchOutcome(
                arxiv_id, kind, 0, f"stored: {kind} when asked on {_day(decided_at)}"
            )
        elif settings.offline:
            decided[arxiv_id] = FetchOutcome(arxiv_id, "failed", 0, OFFLINE_MISSING)
            report.problems.append(
                Problem("fetch", arxiv_id, "offline_missing", f"{arxiv_id}: {OFFLINE_MISSING}")
            )
        elif arxiv_id in reasons:  # stored, but too long ago
            stale_ids.append(arxiv_id)
    stale = store.get_papers(stale_ids)
    # Served records are decoded when looked up (memory at scale): the snapshot's from its
    # frame, the others from the store a batch at a time, in the order asked for (the order
    # the entries look them up in); the query API's answers go into the first map.
    stored = store.stored_records(served)
    # ChainMap writes to its first map only; typeshed wants every map mutable.
    report.records = ChainMap({}, report.unstored, stored)  # type: ignore[arg-type]
    return decided, stale


def _answer_from_snapshot(
    ids: list[str], settings: Settings, report: FetchReport
) -> dict[str, FetchOutcome]:
    """Outcomes of the IDs the snapshot holds, their records in `report.records`; the others
    are left to the store's outcomes and the query API.

    Nothing is stored for them: the snapshot is a local store of its own, and writing its
    papers into SQLite took two to four times as long as the scan itself (measured with
    bench/snapshot.py at 100,000 and 333,000 IDs). Nothing was asked of arXiv either, so
    the fetch log has no row for them.
    """
    assert settings.snapshot_path is not None
    reason = f"in the snapshot {settings.snapshot_path.name}"
    lines = line_index(settings.paths, settings.snapshot_path)
    answer = read_snapshot(settings.snapshot_path, ids, utc_now(), lines)
    report.unstored = answer.records
    report.problems += answer.problems
    report.from_snapshot += len(answer.records)
    return {i: FetchOutcome(i, "found", 0, reason) for i in answer.records}


class _IdFetcher:
    """Asks for batches of IDs and settles each ID, writing to the store as it goes."""

    def __init__(
        self,
        session: ArxivSession,
        settings: Settings,
        store: MetadataStore,
        run_id: str,
        stale: dict[str, PaperRecord],
        batch_size: int,
    ) -> None:
        self.session = session
        self.batch_size = batch_size
        self.settings = settings
        self.store = store
        self.run_id = run_id
        self.stale = stale  # stored but older than refresh_days: the fallback if asking fails
        self.attempts: Counter[str] = Counter()
        self.outcomes: dict[str, FetchOutcome] = {}
        self.records: dict[str, PaperRecord] = {}
        self.problems: list[Problem] = []
        self.known = DEFAULT_WITNESS  # a paper that exists, when this run found none yet

    def ask_batch(self, ids: list[str]) -> None:
        """Ask for `ids`; then the missing ones once more, together with a witness."""
        missing = self._ask(ids)
        if missing:
            self._second_look(missing)

    def _second_look(self, ids: list[str]) -> None:
        # docs/arxiv.md §3: compare requested and returned IDs; ask each missing ID
        # once more before calling it nonexistent, next to a paper known to exist, so that
        # an empty page (docs/arxiv.md §5) is told apart from "none of these exist".
        missing = self._ask(ids, witness=self._witness())
        self._settle(missing, "not_found", "not in arXiv's answer, asked twice")

    def _witness(self) -> str:
        return next(iter(self.records), self.known)

    def _ask(self, asked: list[str], witness: str | None = None) -> list[str]:
        """Ask for `asked` (and `witness`, a paper that exists) in one request and settle
        what the answer decides; return the IDs it leaves out, for the caller to settle.
        An answer without the witness is no evidence of absence: its missing IDs fail."""
        ids = asked if witness is None or witness in asked else [*asked, witness]
        params = {
            "id_list": ",".join(ids),
            "start": "0",
            "max_results": str(max(self.batch_size, len(ids))),  # docs/arxiv.md §2: else 10
        }
        # docs/arxiv.md §5: an empty page can be a glitch. With several IDs that is far
        # likelier than none of them existing, so it is retried within the budget; a single
        # ID's empty answer is checked by the second look.
        empty_page_retries = self.settings.max_attempts - 1 if len(ids) > 1 else 0
        try:
            answer = self.session.query(params, "idlist", empty_page_retries=empty_page_retries)
        except (IdFormatRejected, PostRefused) as exc:
            self.attempts.update({i: exc.attempts for i in asked})
            if len(asked) == 1:
                kind: FetchOutcomeKind = (
                    "invalid" if isinstance(exc, IdFormatRejected) else "failed"
                )
                self._settle(asked, kind, exc.reason)
                return []
            # One bad ID fails the whole batch (docs/arxiv.md §3): bisect to find it. A
            # refused POST (docs/arxiv.md §2): halves until a request fits a GET.
            middle = len(asked) // 2
            halves = (asked[:middle], asked[middle:])
            return [i for half in halves for i in self._ask(half, witness)]
        except RequestFailed as exc:
            self.attempts.update({i: exc.attempts for i in asked})
            self._settle(asked, "failed", exc.reason)
            return []
        self.attempts.update({i: answer.attempts for i in asked})
        source = answer.stored_as.relative_to(self.settings.raw_dir).as_posix()
        records, problems = feed_records(answer.feed, answer.received_at, source)
        self.problems += problems
        requested = set(asked)
        returned = {r.arxiv_id for r in records}
        for record in records:
            if record.arxiv_id in requested:
                self.records[record.arxiv_id] = record
            elif record.arxiv_id != witness:
                self.problems.append(
                    Problem(
                        "fetch",
                        source,
                        "unrequested_entry",
                        f"arXiv returned {record.arxiv_id}, which was not asked for; ignored",
                    )
                )
        self._settle([i for i in asked if i in returned], "found", None)
        missing = [i for i in asked if i not in returned]
        if witness is not None and witness not in returned and missing:
            reason = f"arXiv's answer left out {witness}, a paper that exists: an empty page"
            self._settle(missing, "failed", reason)
            return []
        return missing

    def _settle(self, ids: list[str], kind: FetchOutcomeKind, reason: str | None) -> None:
        """Record the outcome of `ids` and write it, with any records, to the store now."""
        if not ids:
            return
        for arxiv_id in ids:
            self.outcomes[arxiv_id] = self._outcome(arxiv_id, kind, reason)
        if kind == "found":
            self.store.put_papers(self.records[i] for i in ids)
        self.store.put_outcomes(self.run_id, [self.outcomes[i] for i in ids])

    def _outcome(self, arxiv_id: str, kind: FetchOutcomeKind, reason: str | None) -> FetchOutcome:
        attempts = self.attempts[arxiv_id]
        if kind != "failed":
            return FetchOutcome(arxiv_id, kind, attempts, reason)
        stale = self.stale.get(arxiv_id)
        if stale is None:
            message = f"{arxiv_id}: no usable answer from arXiv: {reason}"
            self.problems.append(Problem("fetch", arxiv_id, "fetch_failed", message))
            return FetchOutcome(arxiv_id, "failed", attempts, reason)
        # Asking again failed, but an older copy is better than none; next run asks again.
        self.records[arxiv_id] = stale
        kept = f"refresh failed ({reason}); kept the copy fetched {_day(stale.fetched_at)}"
        self.problems.append(Problem("fetch", arxiv_id, "refresh_failed", f"{arxiv_id}: {kept}"))
        return FetchOutcome(arxiv_id, "found", attempts, kept)


def _day(moment: datetime) -> str:
    return moment.date().isoformat()  # as f"{moment:%Y-%m-%d}", several times quicker
