"""Title resolution: requests for digest entries that carry no ID, against one search per title.

Ours is a whole run (`pipeline.run.enrich`) over one newsletter whose links are all empty,
as in the 2025-01-08 sample: the reconcile stage picks the titles, the fetch stage ORs
several title phrases per request, and asks the phrases that found nothing again by their
distinctive words. Every CUT_EVERY-th title is written cut short, as digests with a column
width do (`... With Meta Chain-of-Though`), so that the second pass is measured too. The
peer is `arxiv.Client` (defaults, delay scaled) with one `ti:"<title>"` search per title.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import arxiv
import polars as pl

from bench.harness import (
    SCALED_DELAY,
    Plan,
    Workspace,
    at_real_delay_end_to_start,
    folder_paths,
    settings_for,
)
from bench.report import Section
from bench.synth import SynthPaper, synth_papers, to_corpus_record, write_digests
from pipeline.fetch.titles import TITLES_PER_REQUEST
from pipeline.run import enrich
from pipeline.standin import StandIn

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


def run(plan: Plan, ws: Workspace) -> list[Section]:
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
    with StandIn([to_corpus_record(p) for p in corpus]) as server:
        settings = settings_for(folder, server.url, SCALED_DELAY)
        started = time.perf_counter()
        enrich(settings)
        wall = time.perf_counter() - started
        log = server.log
        right = _correct_title_resolutions(settings.paths.table("entries"), targets)
        section.rows.append(
            _row(
                f"our run ({TITLES_PER_REQUEST} title phrases ORed per request, then the "
                "distinctive words of those that found nothing)",
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
    return [section]


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
