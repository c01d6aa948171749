"""Title resolution: requests for digest entries that carry no ID, against one search per title.

Ours is a whole run (`pipeline.run.enrich`) over one newsletter whose links are all empty,
as in the 2025-01-08 sample: the reconcile stage picks the titles, the fetch stage ORs
several title phrases per request. The peer is `arxiv.Client` (defaults, delay scaled) with one
`ti:"<title>"` search per title.
"""

from __future__ import annotations

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

COLUMNS = {
    "method": "method",
    "entries": "entries without ID",
    "requests": "requests",
    "wall_seconds": "wall s (delay 0.05 s)",
    "at_3s_seconds": "at 3 s delay (s)",
    "resolved": "resolved correctly",
}


def run(plan: Plan, ws: Workspace) -> list[Section]:
    corpus = synth_papers(plan.title_corpus, seed=2)
    step = max(1, len(corpus) // plan.titles)
    targets = corpus[::step][: plan.titles]
    folder = ws.fresh("titles")
    digests = folder_paths(folder).digests
    digests.mkdir(parents=True)
    write_digests(
        targets,
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
        section.rows.append(
            _row(
                f"our run ({TITLES_PER_REQUEST} title phrases ORed per request)",
                len(targets),
                len(log),
                wall,
                at_real_delay_end_to_start(wall, len(log), SCALED_DELAY),
                _correct_title_resolutions(settings.paths.table("entries"), targets),
            )
        )
        server.clear_log()
        client = arxiv.Client(delay_seconds=SCALED_DELAY)
        client.query_url_format = server.url + "?{}"
        correct = 0
        started = time.perf_counter()
        for paper in targets:
            search = arxiv.Search(query=f'ti:"{paper.title}"', max_results=PEER_RESULTS)
            hits = list(client.results(search))
            correct += bool(hits) and hits[0].get_short_id().startswith(paper.arxiv_id + "v")
        wall = time.perf_counter() - started
        requests = len(server.log)
        section.rows.append(
            _row(
                'arxiv.Client, one ti:"…" search per title',
                len(targets),
                requests,
                wall,
                at_real_delay_end_to_start(wall, requests, SCALED_DELAY),
                correct,
            )
        )
    section.notes += [
        f"{len(targets)} entries in one newsletter with empty links (`[]()`), found among "
        f"{len(corpus)} papers the stand-in serves. Our wall time is the whole run (parse, "
        "fetch, reconcile, write tables); 'resolved correctly' is the run's title "
        "resolutions, or the peer's first hit being the right paper.",
        "The stand-in scans its whole corpus per search, so search answers are slower than ID "
        "answers here; both methods pay that per request.",
    ]
    return [section]


def _correct_title_resolutions(entries_table: Path, targets: list[SynthPaper]) -> int:
    """Entries of the written `entries` table resolved by title to the paper listed there."""
    entries = pl.read_parquet(entries_table).sort("position")
    expected = pl.Series("expected", [p.arxiv_id for p in targets])
    if entries.height != len(targets):
        raise RuntimeError(f"{entries_table}: {entries.height} entries, {len(targets)} listed")
    right = (entries["resolution"] == "title") & (entries["arxiv_id"] == expected)
    return int(right.sum())


def _row(
    method: str, entries: int, requests: int, wall: float, at_3s: float, resolved: int
) -> dict[str, Any]:
    return {
        "method": method,
        "entries": entries,
        "requests": requests,
        "wall_seconds": round(wall, 3),
        "at_3s_seconds": round(at_3s, 2),
        "resolved": resolved,
    }
