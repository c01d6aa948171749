"""The `search_query` language of the arXiv API, parsed and matched against corpus records.

docs/arxiv.md §6: fields `ti au abs co jr cat rn id all`, operators AND / OR / ANDNOT
(upper case), parentheses, double-quoted phrases. Deliberate simplifications, all
deterministic:

* OR binds loosest; AND and ANDNOT bind tighter and associate left. Two terms side by
  side are ORed, as arXiv's `adapt_query` inserts the missing operator as OR
  (docs/arxiv.md §6). A term without a field means `all:` (the new backend's rewriting
  of loose queries).
* Titles (`ti:`) are matched as arXiv's search backend analyses them (analysis.py,
  docs/arxiv.md §6): UAX#29 words, so `let's` and `qwen2.5` are one word
  each; a phrase or a bare term matches either the plain words or their English analysis
  (stopwords as gaps, Porter stems), so `ti:"a survey of graphs"` finds "The Survey on
  Graphs" and `ti:modelling` finds "Modeling"; accents are not folded in titles. Not what
  our client assumes, on purpose.
* Relevance is BM25 over the title words of the matched `ti:` terms (Elasticsearch's
  default similarity, docs/arxiv.md §6), summed over the terms a paper matches;
  ties are broken by a hash of the ID, so neither the exact title nor the ID order wins
  by construction.
* Other text matching lower-cases, folds accents and treats every run of non-letters/digits
  as a space: a phrase matches when its words appear consecutively in one field (one
  author's name for `au:`), so `au:del_maestro` works.
* `field:(a b)` applies the field to the bare terms inside the group.
* Quotes protect parentheses, as the current parser does (docs/arxiv.md §6).
* `submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]` filters on v1 time, `lastUpdatedDate` on
  the shown version's time.
* Malformed queries (unbalanced parentheses or quotes, two operators in a row, unknown
  field) raise `QuerySyntaxError`, as the 2025-11 backend does (docs/arxiv.md §4).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from pipeline.standin.analysis import standard_words, title_matches
from pipeline.standin.corpus import ISO_UTC, RecordVersion, split_requested_id

TEXT_FIELDS = ("ti", "au", "abs", "co", "jr", "all")
DATE_FIELDS = ("submittedDate", "lastUpdatedDate")
# rn: the corpus has no report numbers, so an rn: term is valid but matches nothing.
KNOWN_FIELDS = (*TEXT_FIELDS, "cat", "id", "rn", *DATE_FIELDS)
OPERATORS = ("AND", "OR", "ANDNOT")
_DATE_RANGE = re.compile(r"\[(\d{12}) TO (\d{12})\]")
_NON_WORD = re.compile(r"[\W_]+")


class QuerySyntaxError(ValueError):
    """A search_query the API would reject; the message is what the error feed says."""


@functools.lru_cache(maxsize=8192)  # corpus texts are matched again on every search
def words(text: str) -> tuple[str, ...]:
    """Lower-cased, accent-folded words of `text`; punctuation and TeX markup are spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return tuple(_NON_WORD.sub(" ", folded.lower()).split())


def _contains_run(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    width = len(needle)
    return width > 0 and any(
        haystack[i : i + width] == needle for i in range(len(haystack) - width + 1)
    )


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    value: str  # without surrounding quotes

    def matches(self, paper: RecordVersion) -> bool:
        if self.field == "cat":
            wanted = self.value.lower()
            return any(c.lower() == wanted for c in paper.categories)
        if self.field == "id":
            requested = split_requested_id(self.value)
            return requested is not None and requested[0] == paper.id
        if self.field == "rn":
            return False
        if self.field in DATE_FIELDS:
            return self._in_date_range(paper)
        if self.field == "ti":  # analysed as arXiv's search analyses titles (analysis.py)
            return title_matches(paper.title, self.value)
        needle = words(self.value)
        return any(_contains_run(words(text), needle) for text in self._texts(paper))

    def _texts(self, paper: RecordVersion) -> list[str]:
        names = [name for name, _ in paper.authors]
        by_field = {
            "ti": [paper.title],
            "au": names,
            "abs": [paper.abstract],
            "co": [paper.comment or ""],
            "jr": [paper.journal_ref or ""],
        }
        if self.field == "all":
            return [paper.title, paper.abstract, *names, paper.comment or ""]
        return by_field[self.field]

    def _in_date_range(self, paper: RecordVersion) -> bool:
        low, high = (datetime.strptime(x, "%Y%m%d%H%M") for x in self._range())
        shown = paper.published if self.field == "submittedDate" else paper.updated
        return low <= datetime.strptime(shown, ISO_UTC).replace(second=0) <= high

    def _range(self) -> tuple[str, str]:
        found = _DATE_RANGE.fullmatch(self.value)
        if not found:
            raise QuerySyntaxError(
                f"invalid date range {self.value} for {self.field}, "
                "expected [YYYYMMDDHHMM TO YYYYMMDDHHMM]"
            )
        return found.group(1), found.group(2)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Query

    def matches(self, paper: RecordVersion) -> bool:
        return not self.operand.matches(paper)


@dataclass(frozen=True, slots=True)
class And:
    left: Query
    right: Query

    def matches(self, paper: RecordVersion) -> bool:
        return self.left.matches(paper) and self.right.matches(paper)


@dataclass(frozen=True, slots=True)
class Or:
    left: Query
    right: Query

    def matches(self, paper: RecordVersion) -> bool:
        return self.left.matches(paper) or self.right.matches(paper)


Query = Term | Not | And | Or


def positive_terms(query: Query) -> list[Term]:
    """Terms that count for a match (not under ANDNOT); used for relevance."""
    if isinstance(query, Term):
        return [query]
    if isinstance(query, Not):
        return []
    return positive_terms(query.left) + positive_terms(query.right)


# Elasticsearch's BM25 defaults.
BM25_K1 = 1.2
BM25_B = 0.75


@dataclass(frozen=True)
class TitleStatistics:
    """Document frequencies and mean length of the served titles' words, for BM25."""

    papers: int
    frequency: Counter[str]
    mean_length: float

    @classmethod
    def of(cls, titles: Iterable[str]) -> TitleStatistics:
        frequency: Counter[str] = Counter()
        lengths = []
        for title in titles:
            found = standard_words(title)
            lengths.append(len(found))
            frequency.update(set(found))
        return cls(len(lengths), frequency, sum(lengths) / len(lengths) if lengths else 1.0)

    def idf(self, word: str) -> float:
        n = self.frequency.get(word, 0)
        return math.log(1 + (self.papers - n + 0.5) / (n + 0.5))


def _bm25(title: str, query_words: tuple[str, ...], stats: TitleStatistics) -> float:
    found = standard_words(title)
    counts = Counter(found)
    norm = BM25_K1 * (1 - BM25_B + BM25_B * len(found) / max(stats.mean_length, 1.0))
    return sum(
        stats.idf(w) * counts[w] * (BM25_K1 + 1) / (counts[w] + norm)
        for w in set(query_words)
        if counts[w]
    )


def relevance_key(
    query: Query, stats: TitleStatistics
) -> Callable[[RecordVersion], tuple[float, str]]:
    """Sort key for "relevance" (ascending = most relevant first): minus the BM25 score of
    the paper's title for the `ti:` terms it matches (other matching terms add 1), then a
    hash of the ID (arbitrary but repeatable ties, as ES's)."""
    terms = positive_terms(query)

    def key(paper: RecordVersion) -> tuple[float, str]:
        score = 0.0
        for term in terms:
            if term.field == "ti" and term.matches(paper):
                score += _bm25(paper.title, standard_words(term.value), stats)
            elif term.field != "ti" and term.field not in DATE_FIELDS and term.matches(paper):
                score += 1.0
        return (-score, hashlib.sha1(paper.id.encode()).hexdigest())

    return key


# Token kinds: "(" ")" "op" "term" "group" (a `field:(` opening a fielded group).
Token = tuple[str, str]


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append((char, char))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in "()":
                closer = {'"': '"', "[": "]"}.get(text[i])
                if closer:
                    end = text.find(closer, i + 1)
                    if end < 0:
                        raise QuerySyntaxError(f"unclosed {text[i]} in search_query")
                    i = end
                i += 1
            word = text[start:i]
            if word in OPERATORS:
                tokens.append(("op", word))
            elif word.endswith(":") and i < len(text) and text[i] == "(":
                tokens.append(("group", word[:-1]))
                i += 1
            else:
                tokens.append(("term", word))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def parse(self) -> Query:
        if not self.tokens:
            raise QuerySyntaxError("empty search_query")
        query = self._or(default_field="all")
        if self.position < len(self.tokens):
            raise QuerySyntaxError("unbalanced parentheses in search_query")
        return query

    def _peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _or(self, default_field: str) -> Query:
        query = self._and(default_field)
        while self._peek() == ("op", "OR"):
            self.position += 1
            query = Or(query, self._and(default_field))
        return query

    def _and(self, default_field: str) -> Query:
        query = self._operand(default_field)
        while (token := self._peek()) is not None and token not in (("op", "OR"), (")", ")")):
            if token == ("op", "ANDNOT"):
                self.position += 1
                query = And(query, Not(self._operand(default_field)))
            elif token == ("op", "AND"):
                self.position += 1
                query = And(query, self._operand(default_field))
            else:  # no operator: arXiv inserts OR
                query = Or(query, self._operand(default_field))
        return query

    def _operand(self, default_field: str) -> Query:
        token = self._peek()
        if token is None:
            raise QuerySyntaxError("search_query ends with an operator")
        kind, text = token
        self.position += 1
        if kind == "op":
            raise QuerySyntaxError(f"unexpected operator {text} in search_query")
        if kind == ")":
            raise QuerySyntaxError("unbalanced parentheses in search_query")
        if kind in ("(", "group"):
            inner_field = default_field if kind == "(" else self._field(text)
            query = self._or(inner_field)
            if self._peek() != (")", ")"):
                raise QuerySyntaxError("unbalanced parentheses in search_query")
            self.position += 1
            return query
        return self._term(text, default_field)

    def _term(self, text: str, default_field: str) -> Term:
        field, colon, value = text.partition(":")
        if not colon or field.startswith('"'):
            field, value = default_field, text
        field = self._field(field)
        value = value.removeprefix('"').removesuffix('"')
        if not value.strip():
            raise QuerySyntaxError(f"empty value for field {field} in search_query")
        term = Term(field, value)
        if field in DATE_FIELDS:
            term._range()  # reject a malformed range now, not at match time
        return term

    @staticmethod
    def _field(name: str) -> str:
        if name not in KNOWN_FIELDS:
            raise QuerySyntaxError(f"unknown field {name} in search_query")
        return name


def parse_search_query(text: str) -> Query:
    """Parse a search_query string; raise `QuerySyntaxError` for what arXiv rejects."""
    return _Parser(text).parse()
