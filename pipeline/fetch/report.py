"""What one call of the fetch stage did, for the run summary and the output tables."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from pipeline.model import FetchOutcome, PaperRecord, Problem


@dataclass
class FetchReport:
    outcomes: list[FetchOutcome] = field(default_factory=list)  # one per requested ID
    records: MutableMapping[str, PaperRecord] = field(default_factory=dict)  # every ID found
    problems: list[Problem] = field(default_factory=list)  # stage "fetch"
    requests: int = 0  # HTTP requests sent
    retries: int = 0  # of those, repeats of a request whose earlier try failed
    from_store: int = 0  # IDs (or titles, for a search) answered from the store unasked
