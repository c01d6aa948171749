"""Title resolution: requests for digest entries that carry no ID, against one search per title;
and the hard cases of tests/fixtures/standin/hard-titles.json, our phrases against the phrase
builder before issue 11 (kept below as `previous_title_phrase`, for this comparison only).

Ours is a whole run (`pipeline.run.enrich`) over one newsletter whose links are all empty,
as in the 2025-01-08 sample: the reconcile stage picks the titles, the fetch stage ORs
several title phrases per request, and asks the phrases that found nothing again by their
distinctive words. Every CUT_EVERY-th title is written cut short, as digests with a column
width do (`... With Meta Chain-of-Though`), so that the second pass is measured too. The
peer is `arxiv.Client` (defaults, delay scaled) with one `ti:"<title>"` search per title.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import unicodedata
from pathlib import Path
from typing import Any

import arxiv
import httpx
import polars as pl

from bench.harness import (
    SCALED_DELAY,
    STANDIN_CORPUS,
    Plan,
    Workspace,
    at_real_delay_end_to_start,
    folder_paths,
    settings_for,
    with_witness,
)
from bench.report import Section
from bench.synth import SynthPaper, synth_papers, to_corpus_record, write_digests
from pipeline.fetch.atom import feed_records, read_feed
from pipeline.fetch.titles import TITLES_PER_REQUEST, search_titles, title_phrases
from pipeline.run import enrich
from pipeline.standin import StandIn, load_corpus
from pipeline.store import MetadataStore, utc_now

PEER_RESULTS = 5  # max_results per peer search; the first hit is taken as the answer
CUT_EVERY = 5  # every 5th title is written cut short in the digest
CUT_KEEP = 0.75  # share of the title's characters kept, cut inside a word

COLUMNS = {
    "method": "method",
    "entries": "entries without ID",
    "requests": "requests",
    "wall_seconds": "wall s (delay 0.05 s)",
    "at_3s_seconds": "at 3 s delay (s)",
    "resolved": "resolved correctly",
    "cut_resolved": "of them cut short",
    "requests_per_100": "requests per 100 titles",
}


STANDIN_FIXTURES = STANDIN_CORPUS.parent
HARD_COLUMNS = {
    "hard": "what is hard",
    "digest": "title as the digest writes it",
    "previous": "previous phrase finds it",
    "ours": "our phrases find it",
    "search": "our search: first candidate",
    "phrases": "our phrases",
}


def run(plan: Plan, ws: Workspace) -> list[Section]:
    return [_resolution(plan, ws), _hard_cases(ws)]


def _resolution(plan: Plan, ws: Workspace) -> Section:
    corpus = synth_papers(plan.title_corpus, seed=2)
    step = max(1, len(corpus) // plan.titles)
    targets = corpus[::step][: plan.titles]
    written = [
        dataclasses.replace(p, title=_cut(p.title)) if i % CUT_EVERY == CUT_EVERY - 1 else p
        for i, p in enumerate(targets)
    ]
    cut = [i for i, (p, w) in enumerate(zip(targets, written, strict=True)) if p != w]
    folder = ws.fresh("titles")
    digests = folder_paths(folder).digests
    digests.mkdir(parents=True)
    write_digests(
        written,
        digests,
        layouts=["newsletter_no_links"],
        entries_per_file=(len(targets), len(targets)),
    )
    section = Section("title_resolution", "Title resolution: entries without IDs", COLUMNS)
    with StandIn(with_witness([to_corpus_record(p) for p in corpus])) as server:
        settings = settings_for(folder, server.url, SCALED_DELAY)
        started = time.perf_counter()
        enrich(settings)
        wall = time.perf_counter() - started
        log = server.log
        right = _correct_title_resolutions(settings.paths.table("entries"), targets)
        section.rows.append(
            _row(
                f"our run ({TITLES_PER_REQUEST} title phrases ORed per request, then the "
                "distinctive words of those without a convincing answer)",
                len(targets),
                len(log),
                wall,
                at_real_delay_end_to_start(wall, len(log), SCALED_DELAY),
                sum(right),
                sum(right[i] for i in cut),
                len(cut),
            )
        )
        server.clear_log()
        client = arxiv.Client(delay_seconds=SCALED_DELAY)
        client.query_url_format = server.url + "?{}"
        correct: list[bool] = []
        started = time.perf_counter()
        for paper, shown in zip(targets, written, strict=True):
            search = arxiv.Search(query=f'ti:"{shown.title}"', max_results=PEER_RESULTS)
            hits = list(client.results(search))
            correct.append(bool(hits) and hits[0].get_short_id().startswith(paper.arxiv_id + "v"))
        wall = time.perf_counter() - started
        requests = len(server.log)
        section.rows.append(
            _row(
                'arxiv.Client, one ti:"…" search per title',
                len(targets),
                requests,
                wall,
                at_real_delay_end_to_start(wall, requests, SCALED_DELAY),
                sum(correct),
                sum(correct[i] for i in cut),
                len(cut),
            )
        )
    section.notes += [
        f"{len(targets)} entries in one newsletter with empty links (`[]()`), found among "
        f"{len(corpus)} papers the stand-in serves; {len(cut)} of the titles are written cut "
        f"short ({CUT_KEEP:.0%} of the title, cut inside a word). The stand-in matches titles "
        "as arXiv's search does (words as UAX#29 forms them, stopwords, stems: "
        "pipeline/standin/analysis.py). Our wall time is the whole run (parse, "
        "fetch, reconcile, write tables); 'resolved correctly' is the run's title "
        "resolutions, or the peer's first hit being the right paper.",
        "The stand-in scans its whole corpus per search, so search answers are slower than ID "
        "answers here; both methods pay that per request.",
    ]
    return section


# --- hard cases ----------------------------------------------------------------------------

_PREVIOUS_NOT_WORD = re.compile(r"[\W_]+")


def previous_title_phrase(title: str) -> str:
    """The phrase builder before issue 11, copied as it was (pipeline/fetch/titles.py at
    a49b578): every run of characters other than letters and digits became one space, so
    `let's` became `let s` and `qwen2.5` `qwen2 5`, and accents were kept (the stand-in of
    the time folded them, arXiv does not)."""
    return _PREVIOUS_NOT_WORD.sub(" ", unicodedata.normalize("NFKC", title).lower()).strip()


def _phrases_find(url: str, phrases: list[str], wanted: str) -> bool:
    """Whether one OR search of `phrases` (as the client sends them) answers `wanted`."""
    query = " OR ".join(f'ti:"{phrase}"' for phrase in phrases)
    answer = httpx.get(url, params={"search_query": query, "max_results": "10"}, timeout=30)
    records, _ = feed_records(read_feed(answer.content), utc_now(), "bench")
    return wanted in {r.arxiv_id for r in records}


def _hard_cases(ws: Workspace) -> Section:
    cases = json.loads((STANDIN_FIXTURES / "hard-titles.json").read_text("utf-8"))
    corpus = load_corpus(STANDIN_FIXTURES / "corpus.jsonl")
    section = Section("title_hard_cases", "Title search: hard cases, side by side", HARD_COLUMNS)
    folder = ws.fresh("hard-titles")
    with StandIn(corpus) as server:
        settings = settings_for(folder, server.url, SCALED_DELAY)
        settings.paths.raw.mkdir(parents=True)
        with MetadataStore(settings.paths.metadata_db) as store:
            found, _ = search_titles([c["digest"] for c in cases], settings, store, "bench")
        requests = len(server.log)
        for case in cases:
            ours = title_phrases(case["digest"])
            first = [r.arxiv_id for r in found[case["digest"]]][:1]
            section.rows.append(
                {
                    "hard": case["hard"],
                    "digest": case["digest"],
                    "previous": _yes(
                        _phrases_find(
                            server.url, [previous_title_phrase(case["digest"])], case["id"]
                        )
                    ),
                    "ours": _yes(_phrases_find(server.url, ours, case["id"])),
                    "search": _yes(first == [case["id"]]),
                    "phrases": " / ".join(f"`{p}`" for p in ours),
                }
            )
    previous = sum(r["previous"] == "yes" for r in section.rows)
    first_pass = sum(r["ours"] == "yes" for r in section.rows)
    searched = sum(r["search"] == "yes" for r in section.rows)
    section.notes += [
        f"{len(cases)} titles as a digest writes them (tests/fixtures/standin/hard-titles.json), "
        "each searched alone against the stand-in, which analyses titles as arXiv's search does "
        "(UAX#29 words, accents kept, stopwords as gaps, Porter stems: "
        "pipeline/standin/analysis.py) and serves the corpus of tests/fixtures/standin.",
        f"The previous phrase builder finds {previous} of {len(cases)}; our phrases alone "
        f"find {first_pass}; our whole search (phrases ORed, then the distinctive words of "
        f"the titles without a convincing answer) puts the right paper first for {searched}, "
        f"in {requests} requests for all {len(cases)} titles.",
    ]
    return section


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _cut(title: str) -> str:
    """`title` cut short inside a word, as a digest with a column width writes it."""
    end = int(len(title) * CUT_KEEP)
    while end < len(title) - 1 and not (title[end - 1].isalnum() and title[end].isalnum()):
        end += 1  # inside a word, not at a space or a hyphen
    return title[:end]


def _correct_title_resolutions(entries_table: Path, targets: list[SynthPaper]) -> list[bool]:
    """Per entry of the written `entries` table: resolved by title to the paper listed."""
    entries = pl.read_parquet(entries_table).sort("position")
    expected = pl.Series("expected", [p.arxiv_id for p in targets])
    if entries.height != len(targets):
        raise RuntimeError(f"{entries_table}: {entries.height} entries, {len(targets)} listed")
    right = (entries["resolution"] == "title") & (entries["arxiv_id"] == expected)
    return right.fill_null(False).to_list()


def _row(
    method: str,
    entries: int,
    requests: int,
    wall: float,
    at_3s: float,
    resolved: int,
    cut_resolved: int,
    cut: int,
) -> dict[str, Any]:
    return {
        "method": method,
        "entries": entries,
        "requests": requests,
        "wall_seconds": round(wall, 3),
        "at_3s_seconds": round(at_3s, 2),
        "resolved": resolved,
        "cut_resolved": f"{cut_resolved} of {cut}",
        "requests_per_100": round(100 * requests / entries, 1),
    }
