"""Searching arXiv by title, for digest entries that carry no usable link.

Titles are normalised into safe phrases (arxiv-facts.md 1.6: the classic parser treats
every parenthesis as grouping even inside quotes and splits a field term on the first
colon, so `()"\\:` and all other punctuation go), several are ORed into one request, and
each returned entry is handed back to the titles whose phrase its title contains. A phrase
that finds nothing (a title cut short, respelled, or written with words arXiv tokenises
otherwise) is asked again as an AND of its most distinctive words (arxiv-facts.md 1.6 step
2; ../shared/docs/arxiv-search.md row 2), several ORed per request too; the reconcile stage
judges what comes back by its usual rules. Every search is stored, keyed by its phrase
(with the second pass's answer when there was one), so a re-run does not ask again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import timedelta

from pipeline.config import Settings
from pipeline.fetch.atom import feed_records
from pipeline.fetch.report import FetchReport
from pipeline.fetch.transport import ArxivSession, RequestFailed
from pipeline.model import PaperRecord, Problem
from pipeline.store import MetadataStore, utc_now

TITLES_PER_REQUEST = 10  # ORed phrases per request: keeps the URL short and answers small
RESULTS_PER_TITLE = 10  # candidates kept per title; max_results is this times the titles
# arxiv-facts.md 1.5: an empty answer may be a glitch; ask once more before believing it.
EMPTY_PAGE_RETRIES = 1
# Every run of characters other than letters and digits (TeX markup and `()"\:` included)
# becomes one space.
_NOT_WORD = re.compile(r"[\W_]+")
# The second pass: this many of a title's most distinctive words, ANDed; titles with fewer
# usable words get no second pass (too few words find too many papers).
FALLBACK_WORDS = 5
FALLBACK_MIN_WORDS = 3
# Words arXiv's English title analyzer drops (Lucene's English stop set): never distinctive.
_STOP_TEXT = """a an and are as at be but by for if in into is it no not of on or such that the
    their then there these they this to was will with"""
_STOPWORDS = frozenset(_STOP_TEXT.split())
# A word both sides tokenise alike: ASCII letters, maybe with digits ("MeDroYo2"); arXiv
# keeps "let's", "qwen2.5", "pi_0" and accented letters as they are, so those are left out
# rather than guessed.
_PLAIN_WORD = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{3,}")
_TOKEN_EDGES = ".,:;!?()[]{}<>\"'“”‘’*_`~#|+"


def title_phrase(title: str) -> str:
    """The phrase searched for `title`: lower case, letters and digits, single spaces.

    Lower case also keeps words such as "and"/"or" from reading as operators, which arXiv
    only recognises in upper case (arxiv-facts.md 1.6).
    """
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", title).lower()).strip()


def _folded(text: str) -> str:
    """`title_phrase` without accents, padded, for matching answers to phrases."""
    decomposed = unicodedata.normalize("NFKD", title_phrase(text))
    return " " + "".join(c for c in decomposed if not unicodedata.combining(c)) + " "


def title_query(phrases: Sequence[str]) -> str:
    """One search_query ORing a title phrase per phrase (arxiv-facts.md 1.6)."""
    return " OR ".join(f'ti:"{phrase}"' for phrase in phrases)


def distinctive_words(title: str) -> list[str]:
    """The second pass's words for `title`: up to FALLBACK_WORDS of its longest plain words,
    longest first (in title order among equals), lower case, without stopwords and without
    the title's last word, which is where a digest cuts a title ("Chain-of-Though").
    Empty when fewer than FALLBACK_MIN_WORDS are left."""
    tokens = re.split(r"[\s\-‐‑–—/]+", unicodedata.normalize("NFKC", title))
    words = [t.strip(_TOKEN_EDGES) for t in tokens]
    words = [w for w in words if any(c.isalnum() for c in w)][:-1]  # not the last word
    plain = [w.lower() for w in words if _PLAIN_WORD.fullmatch(w)]
    unique = [w for w in dict.fromkeys(plain) if w not in _STOPWORDS]
    chosen = sorted(unique, key=len, reverse=True)[:FALLBACK_WORDS]
    return chosen if len(chosen) >= FALLBACK_MIN_WORDS else []


def words_query(word_sets: Sequence[Sequence[str]]) -> str:
    """One search_query ORing an AND of bare title terms per set."""
    return " OR ".join("(" + " AND ".join(f"ti:{w}" for w in words) + ")" for words in word_sets)


def search_titles(
    titles: Sequence[str], settings: Settings, store: MetadataStore, run_id: str
) -> tuple[dict[str, list[PaperRecord]], FetchReport]:
    """Candidate papers for each title (keyed by the title as given), best first.

    Stored searches younger than refresh_days are reused; with `settings.offline` only
    they are. Raises `ArxivUnreachable` when the first request cannot connect at all.
    `run_id` mirrors fetch_papers; searches are stored by phrase, not per run.
    """
    report = FetchReport()
    phrases = {title: title_phrase(title) for title in titles}
    for title, phrase in phrases.items():
        if not phrase:
            report.problems.append(
                Problem("fetch", title, "unsearchable_title", f"{title!r} has no words to search")
            )
    searched = _stored_searches(store, settings)
    unique = list(dict.fromkeys(p for p in phrases.values() if p))
    report.from_store = sum(1 for p in unique if p in searched)
    to_search = [p for p in unique if p not in searched]
    if settings.offline:
        for phrase in to_search:
            report.problems.append(
                Problem("fetch", phrase, "offline_missing", f"offline: no stored search {phrase!r}")
            )
    elif to_search:
        titled = {p: t for t, p in reversed(list(phrases.items()))}  # a title per phrase
        with ArxivSession(settings) as session:
            missed: list[str] = []
            for start in range(0, len(to_search), TITLES_PER_REQUEST):
                chunk = to_search[start : start + TITLES_PER_REQUEST]
                answered = _search(session, settings, store, chunk, report)
                searched |= {p: ids for p, ids in answered.items() if ids}
                missed += [p for p in chunk if p in answered and not answered[p]]
            second = {p: distinctive_words(titled[p]) for p in missed}
            for phrase in missed:
                if not second[phrase]:
                    store.put_title_search(phrase, [])  # nothing to ask again with
                    searched[phrase] = []
            again = [p for p in missed if second[p]]
            for start in range(0, len(again), TITLES_PER_REQUEST):
                chunk = {p: second[p] for p in again[start : start + TITLES_PER_REQUEST]}
                searched |= _search_words(session, settings, store, chunk, report)
            report.requests, report.retries = session.requests, session.retries
    stored = store.get_papers({i for p in unique for i in searched.get(p, [])})
    candidates = {
        title: [stored[i] for i in searched.get(phrase, []) if i in stored]
        for title, phrase in phrases.items()
    }
    report.records = {r.arxiv_id: r for found in candidates.values() for r in found}
    return candidates, report


def _stored_searches(store: MetadataStore, settings: Settings) -> dict[str, list[str]]:
    """Stored searches recent enough to reuse (any age when offline)."""
    if settings.offline:
        return store.get_title_searches()
    return store.get_title_searches(since=utc_now() - timedelta(days=settings.refresh_days))


def _search(
    session: ArxivSession,
    settings: Settings,
    store: MetadataStore,
    phrases: list[str],
    report: FetchReport,
) -> dict[str, list[str]]:
    """One OR request for `phrases`; store and return the IDs found for each phrase."""
    params = {
        "search_query": title_query(phrases),
        "start": "0",
        "max_results": str(RESULTS_PER_TITLE * len(phrases)),
    }
    try:
        answer = session.query(params, "search", empty_page_retries=EMPTY_PAGE_RETRIES)
    except RequestFailed as exc:
        for phrase in phrases:
            report.problems.append(
                Problem(
                    "fetch",
                    phrase,
                    "search_failed",
                    f"title search for {phrase!r} failed: {exc.reason}",
                )
            )
        return {}
    source = answer.stored_as.relative_to(settings.raw_dir).as_posix()
    records, problems = feed_records(answer.feed, answer.received_at, source)
    report.problems += problems
    store.put_papers(records)
    found: dict[str, list[str]] = {phrase: [] for phrase in phrases}
    for record in records:
        for phrase in _phrases_matched(record.title, phrases):
            if record.arxiv_id not in found[phrase]:
                found[phrase].append(record.arxiv_id)
    for phrase in phrases:
        found[phrase] = found[phrase][:RESULTS_PER_TITLE]
        if found[phrase]:  # an empty one is stored after the second pass
            store.put_title_search(phrase, found[phrase])
    return found


def _search_words(
    session: ArxivSession,
    settings: Settings,
    store: MetadataStore,
    word_sets: dict[str, list[str]],
    report: FetchReport,
) -> dict[str, list[str]]:
    """The second pass for phrases that found nothing: one OR request of word ANDs; store
    and return what each phrase's words found (stored under the phrase)."""
    params = {
        "search_query": words_query(list(word_sets.values())),
        "start": "0",
        "max_results": str(RESULTS_PER_TITLE * len(word_sets)),
    }
    try:
        answer = session.query(params, "search", empty_page_retries=EMPTY_PAGE_RETRIES)
    except RequestFailed as exc:
        for phrase in word_sets:
            report.problems.append(
                Problem(
                    "fetch",
                    phrase,
                    "search_failed",
                    f"second title search for {phrase!r} failed: {exc.reason}",
                )
            )
        return {}  # nothing stored: the next run asks both passes again
    source = answer.stored_as.relative_to(settings.raw_dir).as_posix()
    records, problems = feed_records(answer.feed, answer.received_at, source)
    report.problems += problems
    store.put_papers(records)
    found: dict[str, list[str]] = {phrase: [] for phrase in word_sets}
    for record in records:
        for phrase in _word_sets_matched(record.title, word_sets):
            if record.arxiv_id not in found[phrase]:
                found[phrase].append(record.arxiv_id)
    for phrase in word_sets:
        found[phrase] = found[phrase][:RESULTS_PER_TITLE]
        store.put_title_search(phrase, found[phrase])
    return found


def _word_sets_matched(title: str, word_sets: dict[str, list[str]]) -> list[str]:
    """The phrases whose words an answered title holds, most of them first: arXiv matches
    stemmed words, so a word counts when it shares its start with a title word."""
    held = set(_folded(title).split())

    def has(word: str) -> bool:
        stem = word[: max(3, len(word) - 3)]
        return any(w.startswith(stem) for w in held)

    shares = {p: sum(map(has, ws)) / len(ws) for p, ws in word_sets.items()}
    best = max(shares.values(), default=0.0)
    return [p for p, share in shares.items() if share == best and best >= 0.5]


def _phrases_matched(title: str, phrases: list[str]) -> list[str]:
    """The phrases an answered title belongs to: those it contains; failing that (arXiv
    may match word forms differently), those sharing the most of their words with it."""
    folded = _folded(title)
    containing = [p for p in phrases if _folded(p) in folded]
    if containing:
        return containing
    words = set(folded.split())
    shares = {p: len(words & set(_folded(p).split())) / len(p.split()) for p in phrases}
    best = max(shares.values(), default=0.0)
    return [p for p, share in shares.items() if share == best and best > 0]
