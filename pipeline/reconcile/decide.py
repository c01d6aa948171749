"""Which paper is each entry: the digest's own ID first, a title search when that fails.

For one entry: check the ID (`check_id`), judge whether the linked paper's title agrees
(`check_link`), and when it does not or there is no usable ID, judge the title-search
candidates (`judge_candidate`, `choose`). `resolve_entry` turns that into a Resolution and
the mismatches that explain it. docs/reconcile.md states the same rules for people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from pipeline.model import (
    Candidate,
    FetchOutcome,
    Mismatch,
    PaperRecord,
    Resolution,
    ResolutionKind,
)
from pipeline.reconcile.authors import compare_entry_authors
from pipeline.reconcile.entries import EntryView
from pipeline.reconcile.evidence import (
    FoundTitle,
    authors_corroborate,
    authors_in_block,
    contains_words,
    cut_prefix_share,
    find_title,
    name_as_label,
)
from pipeline.reconcile.mismatches import date_impossible, mismatch
from pipeline.reconcile.rules import (
    BLOCK_AUTHOR_MATCHES,
    LINK_RELATED_SIMILARITY,
    NEAR_SIMILARITY,
    WEAK_TITLE_WORDS,
    WORDS_SIMILARITY,
)
from pipeline.reconcile.titles import (
    TitleComparison,
    compare_titles,
    normalize_title,
    title_similarity,
    titles_equal,
    titles_related,
    without_nickname,
)

# Unresolved reasons with these prefixes wait on arXiv, not on the digest: a re-run retries.
FETCH_FAILED = "fetch failed"
NOT_FETCHED = "not fetched"
TRANSIENT_REASON_PREFIXES = (FETCH_FAILED, NOT_FETCHED)

IdState = Literal["none", "invalid", "found", "not_found", "failed"]


@dataclass(frozen=True, slots=True)
class IdCheck:
    """What became of the digest's own ID."""

    state: IdState
    record: PaperRecord | None = None
    reason: str = ""


def check_id(
    entry: EntryView,
    papers: Mapping[str, PaperRecord],
    outcomes: Mapping[str, FetchOutcome],
) -> IdCheck:
    if entry.id_status == "invalid_id":
        return IdCheck("invalid", reason=f"invalid arXiv ID in link {entry.link!r}")
    if entry.arxiv_id is None:
        return IdCheck("none", reason="no arXiv ID in the digest")
    arxiv_id = entry.arxiv_id
    record = papers.get(arxiv_id)
    if record is not None:
        return IdCheck("found", record)
    outcome = outcomes.get(arxiv_id)
    if outcome is None:
        return IdCheck("failed", reason=f"{NOT_FETCHED}: no fetch outcome for {arxiv_id}")
    if outcome.outcome == "not_found":
        return IdCheck("not_found", reason=f"{arxiv_id} does not exist on arXiv")
    if outcome.outcome == "invalid":
        return IdCheck("invalid", reason=f"arXiv rejected the ID {arxiv_id}: {outcome.reason}")
    if outcome.outcome == "failed":
        return IdCheck("failed", reason=f"{FETCH_FAILED}: {outcome.reason or 'no reason given'}")
    # "found" without a record: the two inputs disagree; treat like a fetch that did not land.
    return IdCheck("failed", reason=f"{FETCH_FAILED}: {arxiv_id} reported found but no record")


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """Whether the paper the digest's ID names is the paper the digest describes."""

    accepted: bool
    comparison: TitleComparison | None  # None when the entry has no English title
    why: str
    found: FoundTitle | None = None  # arXiv's title, where the entry's text writes it
    unchecked: bool = False  # the link stands without a title that could check it
    title_found: str | None = None  # the span, when it replaces a weaker guess


# The usual case: the digest writes arXiv's title exactly (reconcile.verbatim settles those
# entries in one join with the same outcome).
VERBATIM = LinkCheck(True, TitleComparison(100.0, "equal", "equal"), "title matches")


def _source_name(entry: EntryView) -> str:
    return {"shared heading": "a shared heading", "line": "the line around the link"}.get(
        entry.title_source, entry.title_source
    )


def _confirmed(entry: EntryView, record: PaperRecord, found: FoundTitle, guess: str) -> LinkCheck:
    """The link confirmed by arXiv's title written in the entry's text."""
    cmp = compare_titles(found.span, record.title)
    how = "the start of arXiv's title" if found.cut else "arXiv's title"
    replaces = entry.title is None or normalize_title(entry.title) != " ".join(found.words)
    return LinkCheck(
        True,
        cmp,
        f"{how} is written in the entry's text ({found.span!r}){guess}",
        found=found,
        title_found=found.span if replaces else None,
    )


def _authors_written(entry: EntryView, record: PaperRecord, *, against: bool = False) -> str | None:
    """Why the entry's text corroborates the record by its authors, or None. `against`: the
    authors are to outweigh a strong title, so the first author alone is not enough (a
    wrong link to the same person's other paper): BLOCK_AUTHOR_MATCHES names are needed."""
    if entry.authors is not None:
        return None  # a parsed author list is compared as such (compare_entry_authors)
    names = authors_in_block(entry.block_text, record)
    enough = len(names) >= min(BLOCK_AUTHOR_MATCHES, len(record.authors))
    if not (enough if against else authors_corroborate(names, record)):
        return None
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"authors written in the entry's text ({len(names)} of {len(record.authors)}: {shown})"


def _without_title_check(entry: EntryView, record: PaperRecord) -> LinkCheck:
    """No English title, or only a guessed one that disagrees: the link stands on its own,
    confirmed by what the entry's text writes when it can be."""
    guess = (
        "no English title to compare"
        if entry.title is None
        else f"the digest's title is a guess from {_source_name(entry)}"
    )
    found = find_title(entry.block_text, record.title)
    if found is not None:
        return _confirmed(entry, record, found, f"; {guess}")
    cmp = compare_titles(entry.title, record.title) if entry.title is not None else None
    if cmp is not None:
        guess += f" and disagrees ({cmp.verdict}: {cmp.detail}; similarity {cmp.score:.1f})"
    authors = _authors_written(entry, record)
    why = f"{guess}; {authors}" if authors else guess
    if entry.title is not None:
        why += "; the link stands"
    return LinkCheck(True, cmp, why, unchecked=True)


def check_link(entry: EntryView, record: PaperRecord) -> LinkCheck:
    if entry.title is None:
        return _without_title_check(entry, record)
    if entry.title == record.title:  # the usual case, and the cheapest to see
        return VERBATIM
    cmp = compare_titles(entry.title, record.title)
    if cmp.verdict == "equal":
        return LinkCheck(True, cmp, "title matches")
    if entry.title_weak:
        found = find_title(entry.block_text, record.title)
        if found is not None:
            guess = f"; the digest's title, a guess from {_source_name(entry)}, differs"
            return _confirmed(entry, record, found, guess)
    if cmp.verdict == "spelling":
        return LinkCheck(True, cmp, f"title matches apart from spelling ({cmp.detail})")
    if cmp.verdict == "words" and (
        cmp.score >= LINK_RELATED_SIMILARITY or titles_related(entry.title, record.title)
    ):
        return LinkCheck(True, cmp, f"title reworded, renamed or shortened ({cmp.detail})")
    if entry.title_weak:
        return _without_title_check(entry, record)
    # A strong title that disagrees: only arXiv's title written where the digest's title is
    # (the digest's title a part of it, or it a part of the digest's) overrules it; the
    # linked paper's title named elsewhere in the text ("revisits Attention Is All You
    # Need") does not.
    found = find_title(entry.block_text, record.title)
    if found is not None and _same_place(entry.title, found):
        return _confirmed(entry, record, found, f"; the {entry.title_source} title is part of it")
    # The link and the entry's own label name one paper; the title beside them is another
    # paper's, copied by mistake (`**ManiCM**: "<DNAct's subtitle>"` linking ManiCM).
    name = name_as_label(entry.block_text, entry.title, record.title)
    if name is not None:
        return LinkCheck(
            True,
            cmp,
            f"the entry is labelled {name!r}, arXiv's name for the linked paper, although its "
            f"{entry.title_source} title differs ({cmp.detail})",
        )
    # Agreeing authors vouch for a wholly renamed paper, not for a changed negation or
    # number: that is the same group's sequel ("Part 2", "Llama 3"), so the title is searched.
    if cmp.verdict == "words":
        authors = compare_entry_authors(entry, record)
        if authors is not None and authors.agree:
            return LinkCheck(
                True,
                cmp,
                f"authors agree ({authors.matched} of {authors.digest_count}) although the "
                f"title differs ({cmp.detail})",
            )
        written = _authors_written(entry, record, against=True)
        if written is not None:
            return LinkCheck(True, cmp, f"{written} although the title differs ({cmp.detail})")
    return LinkCheck(
        False, cmp, f"title disagrees ({cmp.verdict}: {cmp.detail}; similarity {cmp.score:.1f})"
    )


def _same_place(title: str, found: FoundTitle) -> bool:
    """The digest's title and the found span overlap as words: one contains the other."""
    words = tuple(normalize_title(title).split())
    return contains_words(found.words, words) or contains_words(words, found.words)


def check_entry(
    entry: EntryView,
    papers: Mapping[str, PaperRecord],
    outcomes: Mapping[str, FetchOutcome],
) -> tuple[IdCheck, LinkCheck | None]:
    """What became of the entry's ID, and, when arXiv has that paper, whether it is the one."""
    check = check_id(entry, papers, outcomes)
    link = check_link(entry, check.record) if check.record is not None else None
    return check, link


def needs_title_search(entry: EntryView, check: IdCheck, link: LinkCheck | None) -> bool:
    if entry.title is None:
        return False
    return (
        check.state != "found"
        or (link is not None and not link.accepted)
        or (link is not None and _weak_title_to_check(entry, link))
    )


def _weak_title_to_check(entry: EntryView, link: LinkCheck) -> bool:
    """A guessed title, shaped like a whole title, that disagrees with the linked paper: it
    cannot veto the link, but arXiv may have a paper of exactly that title, which then is
    what the entry lists (a plain list's `Title: <another paper's link>`)."""
    assert entry.title is not None
    return link.unchecked and len(normalize_title(entry.title).split()) >= WEAK_TITLE_WORDS


# --- title-search candidates --------------------------------------------------------

_VERDICT_RANK = {"equal": 2, "spelling": 1, "words": 0, "critical": 0}


@dataclass(frozen=True, slots=True)
class Judgement:
    record: PaperRecord
    score: float
    passes: bool
    rank: tuple[int, int]  # (authors agree, title verdict): higher is stronger evidence
    why: str


def judge_candidate(entry: EntryView, record: PaperRecord) -> Judgement:
    """Apply the acceptance rules to one candidate (entry.title is not None here)."""
    assert entry.title is not None
    score = title_similarity(entry.title, record.title)
    if entry.digest_date is not None and date_impossible(entry.digest_date, record):
        why = (
            f"v1 {record.published.date().isoformat()} is after the digest's date "
            f"{entry.digest_date.isoformat()}"
        )
        return Judgement(record, score, False, (0, 0), why)
    cut = cut_prefix_share(entry.title_raw or entry.title, record.title)
    if cut is not None:
        return _judge_cut(entry, record, score, cut)
    named = _named_title(entry, record)
    if named is not None:
        return Judgement(record, score, True, (0, _VERDICT_RANK["spelling"]), named)
    if score < WORDS_SIMILARITY and not titles_equal(entry.title, record.title):
        # No rule accepts it, whatever the word diff would say: skip the diff.
        why = f"title similarity {score:.1f} below {WORDS_SIMILARITY:g}"
        return Judgement(record, score, False, (0, 0), why)
    cmp = compare_titles(entry.title, record.title)
    authors = compare_entry_authors(entry, record)
    agree = authors is not None and authors.agree
    rank = (int(agree), _VERDICT_RANK[cmp.verdict])

    def verdict(passes: bool, why: str) -> Judgement:
        return Judgement(record, cmp.score, passes, rank, why)

    author_note = (
        "" if authors is None else f"; authors {authors.matched} of {authors.digest_count} found"
    )
    if cmp.verdict == "equal":
        return verdict(True, f"titles equal{author_note}")
    if cmp.verdict == "spelling" and cmp.score >= NEAR_SIMILARITY:
        if agree:
            return verdict(True, f"spelling differs ({cmp.detail}), authors agree{author_note}")
        if authors is None and entry.digest_date is not None:
            return verdict(True, f"spelling differs ({cmp.detail}), date consistent")
        missing = "authors disagree" if authors is not None else "no authors or date to confirm"
        return verdict(False, f"spelling differs ({cmp.detail}), {missing}{author_note}")
    if agree:
        return verdict(True, f"{cmp.verdict} differ ({cmp.detail}), authors agree{author_note}")
    missing = "authors disagree" if authors is not None else "the digest lists no authors"
    return verdict(
        False, f"a different title: {cmp.verdict} differ ({cmp.detail}), {missing}{author_note}"
    )


def _named_title(entry: EntryView, record: PaperRecord) -> str | None:
    """Why arXiv's title is the digest's with the paper's name added, or None: the name in
    brackets after the title (`Language Models are Few-Shot Learners (GPT-3)`), or as the
    entry's label before it (`* **DNAct**: "Diffusion Guided Multi-Task 3D Policy ..."` for
    `DNAct: Diffusion Guided ...`). Both are the digest's title and a name for it."""
    assert entry.title is not None
    bare = without_nickname(entry.title)
    if bare is not None and titles_equal(bare, record.title):
        return "titles equal once the digest's nickname in brackets is left out"
    _, colon, rest = record.title.partition(":")
    if colon and titles_equal(rest, entry.title):
        name = name_as_label(entry.block_text, entry.title, record.title)
        if name is not None:
            return f"arXiv's title is the entry's label {name!r} and its title"
    return None


def _judge_cut(entry: EntryView, record: PaperRecord, score: float, share: float) -> Judgement:
    """The digest wrote the start of this title and cut it: judged as a respelling is
    (rule 3), since nothing but the cut differs."""
    authors = compare_entry_authors(entry, record)
    agree = authors is not None and authors.agree
    what = f"the digest's title is arXiv's cut short ({share:.0%} of it)"
    note = "" if authors is None else f"; authors {authors.matched} of {authors.digest_count} found"
    if agree:
        return Judgement(record, score, True, (1, 1), f"{what}, authors agree{note}")
    if authors is None and entry.digest_date is not None:
        return Judgement(record, score, True, (0, 1), f"{what}, date consistent")
    missing = "authors disagree" if authors is not None else "no authors or date to confirm"
    return Judgement(record, score, False, (0, 1), f"{what}, {missing}{note}")


def _candidate_order(candidate: Candidate) -> tuple[bool, float, str]:
    """The accepted candidate first, then by similarity."""
    return (not candidate.accepted, -candidate.score, candidate.arxiv_id)


@dataclass(frozen=True, slots=True)
class Choice:
    record: PaperRecord | None  # the accepted paper, None when none is confident
    candidates: list[Candidate]  # everything considered: the accepted one, then by score
    why: str  # why this record, or why none


def choose(entry: EntryView, found: Sequence[PaperRecord] | None) -> Choice:
    """Pick at most one search candidate; two equally good ones are ambiguous, so neither."""
    if found is None:
        return Choice(None, [], "no title search was made (offline, or the search failed)")
    unique = list({r.arxiv_id: r for r in reversed(found)}.values())[::-1]  # first of each ID
    judged = sorted(
        (judge_candidate(entry, r) for r in unique),
        key=lambda j: (-j.rank[0], -j.rank[1], -j.score, j.record.arxiv_id),
    )
    passing = [j for j in judged if j.passes]
    best = passing[0] if passing else None
    rivals = [j for j in passing[1:] if best is not None and j.rank == best.rank]
    chosen = best if best is not None and not rivals else None

    tied = {j.record.arxiv_id for j in [best, *rivals]} if best is not None and rivals else set()

    def as_candidate(j: Judgement) -> Candidate:
        why = j.why
        if j.record.arxiv_id in tied:
            why += "; ambiguous: as good as another candidate"
        elif j.passes and j is not chosen and best is not None:
            why += f"; {best.record.arxiv_id} is better evidenced"
        return Candidate(j.record.arxiv_id, j.record.title, round(j.score, 1), j is chosen, why)

    candidates = sorted((as_candidate(j) for j in judged), key=_candidate_order)
    if chosen is not None:
        return Choice(chosen.record, candidates, f"title search found {chosen.record.arxiv_id}")
    if not judged:
        return Choice(None, candidates, "title search found nothing")
    if tied:
        return Choice(None, candidates, f"title search ambiguous: {', '.join(sorted(tied))}")
    top = candidates[0]
    return Choice(None, candidates, f"no candidate accepted (best {top.arxiv_id}: {top.why})")


# --- the resolution of one entry ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    resolution: Resolution
    record: PaperRecord | None  # the paper the entry resolved to
    mismatches: list[Mismatch]  # the id_*, title_differs and unresolved ones


def _resolution(
    entry: EntryView,
    kind: ResolutionKind,
    record: PaperRecord | None,
    similarity: float | None,
    reason: str,
    candidates: list[Candidate] | None = None,
) -> Resolution:
    return Resolution(
        digest=entry.digest,
        position=entry.position,
        resolution=kind,
        arxiv_id=record.arxiv_id if record is not None else None,
        title_similarity=None if similarity is None else round(similarity, 1),
        reason=reason,
        candidates=candidates or [],
    )


def _title_differs(
    entry: EntryView, record: PaperRecord, cmp: TitleComparison, action: str
) -> Mismatch:
    return mismatch(
        entry, "title_differs", record.arxiv_id, entry.title, record.title, action, cmp.score
    )


def resolve_entry(
    entry: EntryView, check: IdCheck, link: LinkCheck | None, found: Sequence[PaperRecord] | None
) -> Decision:
    """The resolution of one entry. `link` is given when the ID was found, `found` holds the
    title-search results for the entry's title (None when no search was made)."""
    if check.record is not None and link is not None and link.accepted:
        if found and _weak_title_to_check(entry, link):
            choice = choose(entry, found)
            other = choice.record
            if (
                other is not None
                and other.arxiv_id != check.record.arxiv_id
                and titles_equal(entry.title or "", other.title)
            ):
                why = link.why.removesuffix("; the link stands")
                elsewhere = replace(link, why=f"{why}; arXiv has a paper of exactly that title")
                return _by_title(entry, check, elsewhere, choice, other)
        return _by_link(entry, check.record, link)
    if entry.title is None:
        return _unresolved(entry, check, link, Choice(None, [], "no English title to search"))
    choice = choose(entry, found)
    if check.record is not None and link is not None and link.comparison is not None:
        linked = check.record
        if linked.arxiv_id not in {c.arxiv_id for c in choice.candidates}:
            considered = Candidate(
                linked.arxiv_id,
                linked.title,
                round(link.comparison.score, 1),
                False,
                f"the digest's own link: {link.why}",
            )
            candidates = sorted([considered, *choice.candidates], key=_candidate_order)
            choice = Choice(choice.record, candidates, choice.why)
    if choice.record is None:
        return _unresolved(entry, check, link, choice)
    return _by_title(entry, check, link, choice, choice.record)


def _by_link(entry: EntryView, record: PaperRecord, link: LinkCheck) -> Decision:
    cmp = link.comparison
    resolution = _resolution(entry, "link", record, cmp.score if cmp else None, link.why)
    resolution.title_found = link.title_found
    if link.unchecked:
        action = (
            "kept the link; no English title to check it against"
            if entry.title is None
            else f"kept the link; the digest's title is a guess ({entry.title_source}) and "
            "does not name the paper"
        )
        unchecked = mismatch(
            entry,
            "title_unchecked",
            record.arxiv_id,
            entry.title,
            record.title,
            action,
            cmp.score if cmp else None,
        )
        return Decision(resolution, record, [unchecked])
    if cmp is None or cmp.verdict == "equal":
        return Decision(resolution, record, [])
    if link.found is not None:
        action = (
            "kept the link; the digest cut arXiv's title short"
            if link.found.cut
            else "kept the link; arXiv's title is authoritative"
        )
        span = link.found.span
        differs = mismatch(
            entry, "title_differs", record.arxiv_id, span, record.title, action, cmp.score
        )
        return Decision(resolution, record, [differs])
    action = "kept the link; arXiv's title is authoritative"
    return Decision(resolution, record, [_title_differs(entry, record, cmp, action)])


def _id_summary(entry: EntryView, check: IdCheck, link: LinkCheck | None) -> str:
    """What became of the digest's ID, as the start of a reason."""
    if check.state == "found" and link is not None:
        return f"the linked {entry.arxiv_id}: {link.why}"
    return check.reason


def _by_title(
    entry: EntryView, check: IdCheck, link: LinkCheck | None, choice: Choice, record: PaperRecord
) -> Decision:
    assert entry.title is not None
    cmp = compare_titles(entry.title, record.title)
    pid = record.arxiv_id
    same_id = pid == entry.arxiv_id
    reason = f"{_id_summary(entry, check, link)}; {choice.why}"
    found: list[Mismatch] = []
    kind: ResolutionKind
    if check.state == "found" and not same_id:
        assert check.record is not None and link is not None and link.comparison is not None
        kind = "corrected"
        found.append(
            mismatch(
                entry,
                "id_points_elsewhere",
                pid,
                entry.arxiv_id,
                pid,
                f"corrected to {pid}; the linked paper is titled {check.record.title!r}",
                link.comparison.score,
            )
        )
    elif check.state == "not_found":
        kind = "corrected"
        found.append(
            mismatch(
                entry,
                "id_not_found",
                pid,
                entry.arxiv_id,
                pid,
                f"corrected to {pid} by title search",
            )
        )
    elif check.state == "invalid":
        kind = "title"
        found.append(
            mismatch(
                entry,
                "id_invalid",
                pid,
                entry.link,
                pid,
                f"resolved to {pid} by title search",
            )
        )
    elif same_id:  # an ID whose fetch failed, confirmed by the title search after all
        kind = "link"
    elif check.state == "failed":
        kind, reason = "title", f"{reason} (the digest's {entry.arxiv_id} stays unchecked)"
    else:
        kind = "title"
    if cmp.verdict != "equal":
        found.append(_title_differs(entry, record, cmp, "kept arXiv's title"))
    resolution = _resolution(entry, kind, record, cmp.score, reason, choice.candidates)
    return Decision(resolution, record, found)


def _unresolved(
    entry: EntryView, check: IdCheck, link: LinkCheck | None, choice: Choice
) -> Decision:
    found: list[Mismatch] = []
    if check.record is not None and link is not None and link.comparison is not None:
        action = "link not trusted (titles disagree); entry left unresolved"
        found.append(_title_differs(entry, check.record, link.comparison, action))
    if check.state == "not_found":
        action = "no replacement found by title; entry left unresolved"
        found.append(mismatch(entry, "id_not_found", entry.arxiv_id, entry.arxiv_id, None, action))
    elif check.state == "invalid":
        action = "no paper found by title; entry left unresolved"
        found.append(mismatch(entry, "id_invalid", entry.arxiv_id, entry.link, None, action))
    best = choice.candidates[0] if choice.candidates else None
    found.append(
        mismatch(
            entry,
            "unresolved",
            entry.arxiv_id,
            entry.title or entry.link,
            f"{best.arxiv_id}: {best.title}" if best else None,
            f"left unresolved ({choice.why}); {len(choice.candidates)} candidate(s) recorded",
            best.score if best else None,
        )
    )
    resolution = _resolution(
        entry,
        "unresolved",
        None,
        best.score if best else None,
        f"{_id_summary(entry, check, link)}; {choice.why}",
        choice.candidates,
    )
    return Decision(resolution, None, found)
