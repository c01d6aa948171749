"""Searching arXiv by title, for digest entries that carry no usable link.

Each title becomes phrases worded as arXiv's search splits words (docs/arxiv.md §6:
`let's`, `qwen2.5`, `v3.2`, `pi_0` stay single words; hyphens, slashes, TeX markup and other
punctuation separate words). arXiv keeps accents in titles, so a title with accents
is also asked without them, and one with Greek letters also with their names spelt out, as
arXiv's TeX titles write them (`$\\sigma$-GPTs`). The phrases of several titles are ORed into
one request; when `totalResults` says the page cut the answer (the ranking has no
per-phrase quota), the titles are asked again in halves. Each returned paper is handed to
the title it resembles most (a phrase is not literal, so containment proves nothing),
and each title's candidates are ranked by that resemblance.

A title whose phrases found nothing (cut short, respelled, or written with words arXiv
splits otherwise) is asked again as an AND of its most distinctive words (docs/arxiv.md
§6); the reconcile stage judges what comes back by its usual rules. Every search is
stored, keyed by the title's first phrase (with the second pass's answer when there was
one), so a re-run does not ask again: a search that found something for refresh_days, one
that found nothing for EMPTY_SEARCH_DAYS only (the paper may not be indexed yet).

Every request also asks for a witness, a paper known to exist (`id:`), so that one of
arXiv's empty pages (docs/arxiv.md §5) is told apart from "no paper has this title": an
answer without entries is a failed search, not stored, asked again next run.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import NamedTuple

from rapidfuzz import fuzz

from pipeline.config import Settings
from pipeline.fetch.atom import feed_records
from pipeline.fetch.report import FetchReport
from pipeline.fetch.transport import (
    DEFAULT_WITNESS,
    ArxivSession,
    FetchBudget,
    PostRefused,
    RequestFailed,
)
from pipeline.model import PaperRecord, Problem
from pipeline.store import MetadataStore, utc_now

TITLES_PER_REQUEST = 10  # titles ORed per request: keeps the URL short and answers small
RESULTS_PER_TITLE = 10  # candidates kept per title; max_results is this times the titles
# docs/arxiv.md §3: the API sees a paper from the midnight after its announcement, so a
# search that found nothing is asked again after a day, not after refresh_days.
EMPTY_SEARCH_DAYS = 1.0
# A word as arXiv's standard tokenizer (UAX#29) forms it: letters and digits, joined by `_`,
# by `.`, `'`, `:` or `·` between two letters, and by `.`, `'`, `,` or `;` between two digits
# (`qwen2.5`, `let's`, `e.g`, `lavip:language`, `1,000`; not `fig.1`, not `1:2`).
_WORD = re.compile(
    r"[^\W_]+(?:(?:(?<=[^\W\d_])['.:·](?=[^\W\d_])|(?<=\d)['.,;](?=\d)|_(?=[^\W_]))[^\W_]+)*"
)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})
# A superscript or subscript digit is TeX's `^2`/`_2` in arXiv's title (`$\text{Transformer}^2$`
# gives the words `transformer`, `2`), so it starts a word of its own; NFKC alone would glue
# it to the word before ("transformer2").
_SCRIPT_DIGITS = str.maketrans(
    {c: f" {d}" for d, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}
    | {c: f" {d}" for d, c in enumerate("₀₁₂₃₄₅₆₇₈₉")}
)
# The second pass: this many of a title's most distinctive words, ANDed; titles with fewer
# usable words get no second pass (too few words find too many papers).
FALLBACK_WORDS = 5
FALLBACK_MIN_WORDS = 3
# Words arXiv's English title analyzer drops (Lucene's English stop set): never distinctive.
_STOP_TEXT = """a an and are as at be but by for if in into is it no not of on or such that the
    their then there these they this to was will with"""
_STOPWORDS = frozenset(_STOP_TEXT.split())
# A word that is safe as a bare term: ASCII letters, maybe with digits ("MeDroYo2"); an
# accented word might be written without its accents on arXiv, and one missing word fails
# the whole AND.
_PLAIN_WORD = re.compile(r"(?=[0-9]*[A-Za-z])[A-Za-z0-9]{3,}")
# A returned paper goes to every title that resembles it within this many points of the best.
SIMILARITY_MARGIN = 2.0
# The witness is a candidate only for a title it resembles this much (one asking for it).
WITNESS_SIMILARITY = 90.0
# A title whose best candidate resembles it less than this is asked again by its words: a
# cut title's phrase may find only papers that share its other words.
CONVINCING_SIMILARITY = 90.0


def _words(text: str) -> list[str]:
    if not text.isascii():  # ASCII is as NFKC leaves it and has nothing to translate
        normal = unicodedata.normalize("NFKC", text.translate(_SCRIPT_DIGITS))
        text = normal.translate(_APOSTROPHES)
    return _WORD.findall(text.lower())


def title_phrase(title: str) -> str:
    """The phrase searched for `title` as written: its words, lower case, single spaces.

    Lower case also keeps words such as "and"/"or" from reading as operators, which arXiv
    only recognises in upper case (docs/arxiv.md §6). Quotes, backslashes and parentheses
    never reach the query; a colon does only inside a word (`LaViP:Language`, one word to
    arXiv's tokenizer), which arXiv's parser keeps inside quotes (docs/arxiv.md §6).
    """
    return " ".join(_words(title))


def _unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _greek_spelt(text: str) -> str:
    """Greek letters as TeX names them in arXiv's titles: "σ-GPTs" -> " sigma-GPTs"
    (`$\\sigma$-GPTs`), "π_0" -> " pi_0" (`$\\pi_0$`)."""
    out = []
    for i, char in enumerate(text):
        name = unicodedata.name(char, "")
        if not name.startswith("GREEK"):
            out.append(char)
            continue
        after = " " if text[i + 1 : i + 2].isalpha() else ""
        out.append(f" {name.split()[-1].lower()}{after}")
    return "".join(out)


def title_phrases(title: str) -> list[str]:
    """Every phrase asked for `title`, `title_phrase` first: as written, without accents,
    with Greek letters spelt out (each only when it differs; empty ones left out)."""
    phrase = title_phrase(title)
    forms = [phrase, _unaccented(phrase), _unaccented(title_phrase(_greek_spelt(title)))]
    return [f for f in dict.fromkeys(forms) if f]


def title_query(phrase_sets: Sequence[Sequence[str]]) -> str:
    """One search_query ORing every phrase of every title (docs/arxiv.md §6)."""
    return " OR ".join(f'ti:"{phrase}"' for phrases in phrase_sets for phrase in phrases)


def distinctive_words(title: str) -> list[str]:
    """The second pass's words for `title`: up to FALLBACK_WORDS of its longest plain words,
    longest first (in title order among equals), lower case, without stopwords and without
    the title's last word, which is where a digest cuts a title ("Chain-of-Though").
    Empty when fewer than FALLBACK_MIN_WORDS are left."""
    tokens = re.split(r"[^\w'.]+", unicodedata.normalize("NFKC", title.translate(_SCRIPT_DIGITS)))
    words = [t.strip("'._") for t in tokens]
    words = [w for w in words if any(c.isalnum() for c in w)][:-1]  # not the last word
    plain = [w.lower() for w in words if _PLAIN_WORD.fullmatch(w)]
    unique = [w for w in dict.fromkeys(plain) if w not in _STOPWORDS]
    chosen = sorted(unique, key=len, reverse=True)[:FALLBACK_WORDS]
    return chosen if len(chosen) >= FALLBACK_MIN_WORDS else []


def words_query(word_sets: Sequence[Sequence[str]]) -> str:
    """One search_query ORing an AND of bare title terms per set."""
    return " OR ".join("(" + " AND ".join(f"ti:{w}" for w in words) + ")" for words in word_sets)


def title_similarity(phrases: Sequence[str], title: str) -> float:
    """How much a returned `title` resembles the searched title (0-100): rapidfuzz's WRatio,
    which scores a cut title against its whole by its part, against the closest phrase."""
    answered = _unaccented(title_phrase(_greek_spelt(title)))
    return max(fuzz.WRatio(_unaccented(p), answered) for p in phrases)


def search_titles(
    titles: Sequence[str],
    settings: Settings,
    store: MetadataStore,
    run_id: str,
    budget: FetchBudget | None = None,
) -> tuple[dict[str, list[PaperRecord]], FetchReport]:
    """Candidate papers for each title (keyed by the title as given), best first.

    Stored searches still fresh are reused; with `settings.offline` only they are. Raises
    `ArxivUnreachable` when the first request cannot connect at all. `run_id` mirrors
    fetch_papers; searches are stored by phrase, not per run. `budget` as for fetch_papers.
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
        forms = {p: title_phrases(titled[p]) for p in to_search}
        searched |= _search_both_passes(settings, store, to_search, titled, forms, report, budget)
    stored = store.get_papers({i for p in unique for i in searched.get(p, [])})
    candidates = {
        title: [stored[i] for i in searched.get(phrase, []) if i in stored]
        for title, phrase in phrases.items()
    }
    report.records = {r.arxiv_id: r for found in candidates.values() for r in found}
    empty = [p for p in unique if p in searched and not searched[p]]
    searched_at = store.title_search_times(empty)
    if searched_at:
        days = min(EMPTY_SEARCH_DAYS, settings.refresh_days)
        report.expires_at = min(searched_at) + timedelta(days=days)
    return candidates, report


def _search_both_passes(
    settings: Settings,
    store: MetadataStore,
    to_search: list[str],
    titled: dict[str, str],
    forms: dict[str, list[str]],
    report: FetchReport,
    budget: FetchBudget | None,
) -> dict[str, list[str]]:
    """Ask arXiv for `to_search` (first phrases), phrases first, then the distinctive words
    of those whose phrases found no convincing candidate (CONVINCING_SIMILARITY); store and
    return the IDs of each answered search, best first."""
    searched: dict[str, list[str]] = {}
    with ArxivSession(settings, budget) as session:
        ask = _Asker(session, settings, store, forms, report)
        weak: dict[str, list[Candidate]] = {}
        for start in range(0, len(to_search), TITLES_PER_REQUEST):
            chunk = to_search[start : start + TITLES_PER_REQUEST]
            answered = ask(chunk, lambda part: title_query([forms[p] for p in part]), "")
            for phrase, found in answered.items():
                if found and found[0].score >= CONVINCING_SIMILARITY:
                    searched[phrase] = [c.arxiv_id for c in found]
                    store.put_title_search(phrase, searched[phrase])
                else:
                    weak[phrase] = found  # stored after the second pass
        second = {p: distinctive_words(titled[p]) for p in weak}
        for phrase, found in weak.items():
            if not second[phrase]:  # nothing to ask again with
                searched[phrase] = [c.arxiv_id for c in found]
                store.put_title_search(phrase, searched[phrase])
        again = [p for p in weak if second[p]]
        for start in range(0, len(again), TITLES_PER_REQUEST):
            chunk = again[start : start + TITLES_PER_REQUEST]
            answered = ask(chunk, lambda part: words_query([second[p] for p in part]), "second ")
            for phrase, found in answered.items():
                both = sorted({c.arxiv_id: c for c in [*weak[phrase], *found]}.values(),
                              key=lambda c: -c.score)  # fmt: skip
                searched[phrase] = [c.arxiv_id for c in both][:RESULTS_PER_TITLE]
                store.put_title_search(phrase, searched[phrase])
        report.requests, report.retries = session.requests, session.retries
    return searched


class _Asker:
    """One OR request for some titles, asked again in halves when the page cut the answer;
    returns the IDs found for each title whose search was answered (failures are reported
    as problems and left out, so nothing is stored for them and the next run asks again)."""

    def __init__(
        self,
        session: ArxivSession,
        settings: Settings,
        store: MetadataStore,
        forms: dict[str, list[str]],
        report: FetchReport,
    ) -> None:
        self.session = session
        self.settings = settings
        self.store = store
        self.forms = forms
        self.report = report

    def __call__(
        self, phrases: list[str], query_for: Callable[[list[str]], str], which: str
    ) -> dict[str, list[Candidate]]:
        params = {
            "search_query": f"{query_for(phrases)} OR id:{DEFAULT_WITNESS}",
            "start": "0",
            "max_results": str(RESULTS_PER_TITLE * len(phrases) + 1),
        }
        retries = self.settings.max_attempts - 1  # the witness makes every empty page a glitch
        try:
            answer = self.session.query(params, "search", empty_page_retries=retries)
        except RequestFailed as exc:
            if isinstance(exc, PostRefused) and len(phrases) > 1:
                middle = len(phrases) // 2  # docs/arxiv.md §2: smaller requests, by GET
                return self(phrases[:middle], query_for, which) | self(
                    phrases[middle:], query_for, which
                )
            for phrase in phrases:
                message = f"{which}title search for {phrase!r} failed: {exc.reason}"
                self.report.problems.append(Problem("fetch", phrase, "search_failed", message))
            return {}
        source = answer.stored_as.relative_to(self.settings.raw_dir).as_posix()
        records, problems = feed_records(answer.feed, answer.received_at, source)
        self.report.problems += problems
        if not answer.feed.entries:  # the witness alone makes a true answer non-empty
            reason = f"an empty page, although {DEFAULT_WITNESS} exists and was asked for"
            for phrase in phrases:
                message = f"{which}title search for {phrase!r} failed: {reason}"
                self.report.problems.append(Problem("fetch", phrase, "search_failed", message))
            return {}
        total = answer.feed.total_results
        if len(phrases) > 1 and total is not None and total > len(answer.feed.entries):
            # docs/arxiv.md §6: one title's many hits may have pushed out another's only
            # one; fewer titles per request get every title its share of the page.
            middle = len(phrases) // 2
            return self(phrases[:middle], query_for, which) | self(
                phrases[middle:], query_for, which
            )
        assigned = _assign(records, {p: self.forms[p] for p in phrases})
        handed = {c.arxiv_id for found in assigned.values() for c in found}
        self.store.put_papers(
            r for r in records if r.arxiv_id != DEFAULT_WITNESS or r.arxiv_id in handed
        )
        return assigned


class Candidate(NamedTuple):
    arxiv_id: str
    score: float  # title_similarity to the searched title


def _assign(records: list[PaperRecord], forms: dict[str, list[str]]) -> dict[str, list[Candidate]]:
    """The candidates handed to each title, most similar first: a paper goes to the title it
    resembles most (and to any within SIMILARITY_MARGIN of it)."""
    scored: dict[str, list[tuple[float, int, str]]] = {phrase: [] for phrase in forms}
    for rank, record in enumerate(records):
        scores = {p: title_similarity(fs, record.title) for p, fs in forms.items()}
        best = max(scores.values(), default=0.0)
        if record.arxiv_id == DEFAULT_WITNESS and best < WITNESS_SIMILARITY:
            continue
        for phrase, score in scores.items():
            if score >= best - SIMILARITY_MARGIN:
                scored[phrase].append((-score, rank, record.arxiv_id))
    handed: dict[str, list[Candidate]] = {}
    for phrase, found in scored.items():
        best_first: dict[str, Candidate] = {}
        for negated, _, arxiv_id in sorted(found):
            best_first.setdefault(arxiv_id, Candidate(arxiv_id, -negated))
        handed[phrase] = list(best_first.values())[:RESULTS_PER_TITLE]
    return handed


def _stored_searches(store: MetadataStore, settings: Settings) -> dict[str, list[str]]:
    """Stored searches recent enough to reuse (any age when offline): those that found
    something for refresh_days, those that found nothing for EMPTY_SEARCH_DAYS."""
    if settings.offline:
        return store.get_title_searches()
    now = utc_now()
    found = store.get_title_searches(since=now - timedelta(days=settings.refresh_days))
    recent = store.get_title_searches(
        since=now - timedelta(days=min(EMPTY_SEARCH_DAYS, settings.refresh_days))
    )
    return {p: ids for p, ids in found.items() if ids or p in recent}
