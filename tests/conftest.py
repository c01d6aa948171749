"""Shared fixtures: the arXiv stand-in (pipeline.standin) on the committed corpus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.standin import CorpusRecord, StandIn, load_corpus

STANDIN_CORPUS = Path(__file__).parent / "fixtures" / "standin" / "corpus.jsonl"


@pytest.fixture(scope="session")
def standin_corpus() -> list[CorpusRecord]:
    """Every record of tests/fixtures/standin/corpus.jsonl (see its README)."""
    return load_corpus(STANDIN_CORPUS)


@pytest.fixture
def standin(standin_corpus: list[CorpusRecord]) -> Iterator[StandIn]:
    """A running stand-in (new dialect, no faults) serving the corpus; stopped afterwards."""
    with StandIn(standin_corpus) as server:
        yield server
