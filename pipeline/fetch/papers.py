"""Fetching papers by ID: decide from the store what to ask, ask in batches, account for all.

Every requested ID ends with one outcome (found, not_found, invalid, failed) and the number
of requests that included it. A batch answer is compared with the batch (arxiv-facts.md
1.3: a nonexistent ID just drops out; one malformed ID fails the whole batch with a 400),
and what a request settled is written to the store before the next request is sent.
"""

from __future__ import annotations

import sys
from collections import ChainMap, Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from tqdm import tqdm

from pipeline.config import Settings
from pipeline.fetch.atom import feed_records
from pipeline.fetch.report import FetchReport
from pipeline.fetch.transport import ArxivSession, IdFormatRejected, RequestFailed
from pipeline.ids import is_valid_id
from pipeline.model import FetchOutcome, FetchOutcomeKind, PaperRecord, Problem
from pipeline.store import MetadataStore, utc_now

# arxiv-facts.md 1.2: at most 2000 results per call, so no batch can be larger.
MAX_RESULTS_PER_CALL = 2000
OFFLINE_MISSING = "offline: not in the store"
SETTLED_KINDS = ("not_found", "invalid")  # not asked again until refresh_days have passed


def fetch_papers(
    ids: Iterable[str],
    settings: Settings,
    store: MetadataStore,
    run_id: str,
    *,
    progress: bool = False,
) -> FetchReport:
    """arXiv's record for each ID, from the store when fresh enough, else asked in batches.

    Raises `ArxivUnreachable` when the first request cannot connect at all. With
    `settings.offline` nothing is sent: IDs not in the store end as failed.
    """
    report = FetchReport()
    wanted = list(dict.fromkeys(ids))
    decided, stale = _decide_from_store(wanted, settings, store, report)
    to_ask = [i for i in wanted if i not in decided]
    if to_ask:
        with ArxivSession(settings) as session:
            batch_size = min(settings.batch_size, MAX_RESULTS_PER_CALL)
            fetcher = _IdFetcher(session, settings, store, run_id, stale, batch_size)
            show = progress and sys.stderr.isatty()
            with tqdm(total=len(to_ask), unit="ID", desc="arXiv", disable=not show) as bar:
                for start in range(0, len(to_ask), batch_size):
                    batch = to_ask[start : start + batch_size]
                    fetcher.ask(batch, second_look=False)
                    bar.update(len(batch))
            report.requests, report.retries = session.requests, session.retries
            decided |= fetcher.outcomes
            report.records |= fetcher.records
            report.problems += fetcher.problems
    report.outcomes = [decided[i] for i in wanted]
    return report


def _decide_from_store(
    wanted: list[str], settings: Settings, store: MetadataStore, report: FetchReport
) -> tuple[dict[str, FetchOutcome], dict[str, PaperRecord]]:
    """Outcomes of the IDs that need no request (malformed, or known recently enough), and
    the stored papers that are too old to serve without asking again.

    Freshness is judged from the stored fetch times alone; the records kept as a fallback
    are decoded now, the served ones (in `report.records`) when looked up.
    """
    decided: dict[str, FetchOutcome] = {}
    valid: list[str] = []
    for arxiv_id in wanted:
        if is_valid_id(arxiv_id):
            valid.append(arxiv_id)
        else:
            decided[arxiv_id] = FetchOutcome(arxiv_id, "invalid", 0, "not an arXiv identifier")
    fresh_since = utc_now() - timedelta(days=settings.refresh_days)
    fetched_at = store.get_fetched_at(valid)
    served = {i for i, at in fetched_at.items() if settings.offline or at >= fresh_since}
    outcomes = store.get_outcomes(i for i in valid if i not in served)
    stale_ids: list[str] = []
    for arxiv_id in valid:
        if arxiv_id in served:
            report.from_store += 1
            reason = f"stored, fetched {_day(fetched_at[arxiv_id])}"
            decided[arxiv_id] = FetchOutcome(arxiv_id, "found", 0, reason)
            continue
        kind, decided_at = outcomes.get(arxiv_id, (None, None))
        if (
            kind in SETTLED_KINDS
            and decided_at is not None
            and (settings.offline or decided_at >= fresh_since)
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
        elif arxiv_id in fetched_at:
            stale_ids.append(arxiv_id)
    stale = store.get_papers(stale_ids)
    # Served records are decoded when looked up, one at a time (memory at scale).
    # In the order asked for, which is the order the entries look them up in.
    report.records = ChainMap({}, store.stored_records(i for i in valid if i in served))
    return decided, stale


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

    def ask(self, ids: list[str], *, second_look: bool) -> None:
        """Ask for `ids` in one request; `second_look` marks an ID asked again on its own."""
        params = {
            "id_list": ",".join(ids),
            "start": "0",
            "max_results": str(self.batch_size),  # arxiv-facts.md 1.1: else cut to 10
        }
        # arxiv-facts.md 1.5: an empty page can be a glitch. With several IDs that is far
        # likelier than none of them existing, so it is retried within the budget; a single
        # ID's empty answer is checked by asking it alone once (the missing-ID rule below).
        empty_page_retries = self.settings.max_attempts - 1 if len(ids) > 1 else 0
        try:
            answer = self.session.query(params, "idlist", empty_page_retries=empty_page_retries)
        except IdFormatRejected as exc:
            self.attempts.update({i: exc.attempts for i in ids})
            if len(ids) == 1:
                self._settle(ids, "invalid", exc.reason)
            else:  # one bad ID fails the whole batch (arxiv-facts.md 1.3): bisect to find it
                middle = len(ids) // 2
                self.ask(ids[:middle], second_look=second_look)
                self.ask(ids[middle:], second_look=second_look)
            return
        except RequestFailed as exc:
            self.attempts.update({i: exc.attempts for i in ids})
            self._settle(ids, "failed", exc.reason)
            return
        self.attempts.update({i: answer.attempts for i in ids})
        source = answer.stored_as.relative_to(self.settings.raw_dir).as_posix()
        records, problems = feed_records(answer.feed, answer.received_at, source)
        self.problems += problems
        requested = set(ids)
        for record in records:
            if record.arxiv_id in requested:
                self.records[record.arxiv_id] = record
            else:
                self.problems.append(
                    Problem(
                        "fetch",
                        source,
                        "unrequested_entry",
                        f"arXiv returned {record.arxiv_id}, which was not asked for; ignored",
                    )
                )
        found = [i for i in ids if i in self.records]
        self._settle(found, "found", None)
        missing = [i for i in ids if i not in self.records]
        if second_look:
            self._settle(missing, "not_found", "not in arXiv's answer, asked twice")
            return
        # arxiv-facts.md 1.3/7: compare requested and returned IDs; ask each missing ID
        # again on its own once before calling it nonexistent.
        for arxiv_id in missing:
            self.ask([arxiv_id], second_look=True)

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
