"""Failures the stand-in can inject, modelled on what arXiv has been seen to do
(docs/arxiv.md §5).

A `Fault` says what goes wrong and on which requests: every request, the first N, or every
Nth, counted from when the fault was set (and only over `id_list` requests if `only_ids`).
When several faults apply to one request the first in the list wins; every fault still
counts the request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Literal, get_args

FaultKind = Literal[
    "503",  # docs/arxiv.md §5: overload; with or without Retry-After
    "429",  # docs/arxiv.md §5: throttled, plain-text body "Rate exceeded."
    "rate_exceeded_200",  # docs/arxiv.md §5: the same body with status 200 (one report)
    "empty_page",  # docs/arxiv.md §5: valid feed, zero entries, totalResults 0
    "truncated",  # a 200 feed cut off mid-XML
    "slow",  # answers normally after `delay` seconds
    "hang",  # never answers; gives up when the client closes or the server stops
    "html",  # an HTML page instead of Atom (block or error page)
    "reset",  # docs/arxiv.md §5: connection reset without an answer
    # docs/arxiv.md §2: POST refused (405) from 2025-11-11 until 2025-11-21; a GET
    # of the same request is answered (one request line of at most MAX_URL_LENGTH).
    "post_refused",
]
# A slow 429 without Retry-After (docs/arxiv.md §5) is Fault("429", delay=...).
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    _: KW_ONLY
    every_nth: int | None = None
    first_n: int | None = None
    retry_after: float | None = None  # sent as a Retry-After header (503 and 429)
    delay: float = 0.0  # seconds to wait before answering (or failing)
    only_ids: bool = False  # count and hit only requests that carry an id_list

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.every_nth is not None and self.first_n is not None:
            raise ValueError("a fault takes every_nth or first_n, not both")
        for name in ("every_nth", "first_n"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.delay < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise ValueError("delay and retry_after must not be negative")
        if self.kind == "slow" and self.delay == 0:
            raise ValueError('a "slow" fault needs a delay')

    def hits(self, count: int) -> bool:
        """Whether this fault applies to the `count`-th eligible request (1-based)."""
        if self.first_n is not None:
            return count <= self.first_n
        if self.every_nth is not None:
            return count % self.every_nth == 0
        return True


class FaultSchedule:
    """The active faults and how many eligible requests each has seen; thread-safe."""

    def __init__(self, faults: Sequence[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults = list(faults)
        self._counts = [0] * len(self._faults)

    def replace(self, faults: Sequence[Fault]) -> None:
        with self._lock:
            self._faults = list(faults)
            self._counts = [0] * len(self._faults)

    def pick(self, has_ids: bool) -> Fault | None:
        """Count this request against every eligible fault; return the first that applies."""
        chosen: Fault | None = None
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.only_ids and not has_ids:
                    continue
                self._counts[index] += 1
                if chosen is None and fault.hits(self._counts[index]):
                    chosen = fault
        return chosen


def parse_fault_spec(spec: str) -> Fault:
    """`KIND[:first=N|:every=N][:retry_after=S][:delay=S][:only_ids]`, as the CLI takes it."""
    kind, *options = spec.split(":")
    settings: dict[str, int | float | bool] = {}
    try:
        for option in options:
            key, equals, value = option.partition("=")
            if option == "only_ids":
                settings["only_ids"] = True
            elif key == "first" and equals:
                settings["first_n"] = int(value)
            elif key == "every" and equals:
                settings["every_nth"] = int(value)
            elif key in ("retry_after", "delay") and equals:
                settings[key] = float(value)
            else:
                raise ValueError(f"unknown option {option!r}")
        return Fault(kind, **settings)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"fault {spec!r}: {exc}") from exc
