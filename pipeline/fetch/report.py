"""What one call of the fetch stage did, for the run summary and the output tables."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from pipeline.model import FetchOutcome, PaperRecord, Problem
from pipeline.store import FrameRecords
from pipeline.tables import STORED_PAPER


@dataclass
class FetchReport:
    outcomes: list[FetchOutcome] = field(default_factory=list)  # one per requested ID
    records: MutableMapping[str, PaperRecord] = field(default_factory=dict)  # every ID found
    # Of those, the ones not in the metadata store (the snapshot's answers: the snapshot is
    # a local store of its own), which the write stage cannot read back from it: held as
    # one stored-papers frame (`unstored.frame`), decoded when looked up.
    unstored: FrameRecords = field(
        default_factory=lambda: FrameRecords(pl.DataFrame(schema=STORED_PAPER.schema()))
    )
    problems: list[Problem] = field(default_factory=list)  # stage "fetch"
    requests: int = 0  # HTTP requests sent
    retries: int = 0  # of those, repeats of a request whose earlier try failed
    from_store: int = 0  # IDs (or titles, for a search) answered from the store unasked
    from_snapshot: int = 0  # IDs answered by the bulk snapshot (no request)
    # The earliest moment an answer relied on is due again before refresh_days (a fresh ID's
    # not_found, an empty title search); None when there is none.
    expires_at: datetime | None = None
