"""The fetch stage: authoritative metadata from arXiv's bulk snapshot, OAI-PMH and query
API; what arXiv answers is kept in the store.

atom.py       strict checks of an answer, Atom entries -> PaperRecord (both dialects)
transport.py  the process-wide politeness gate, one connection, classified retries, the
              run's FetchBudget (throttling breaker, deadline), bodies decoded under a cap
papers.py     fetch_papers: ID batches, bisecting 400s, missing IDs checked beside a witness
snapshot.py   read_snapshot: the IDs a local bulk snapshot holds, in one streamed pass
snapshot_titles.py  its title index, answered before any title search is sent
oai.py        harvest / get_record: OAI-PMH arXivRaw into the store (version history)
titles.py     search_titles: ORed title phrases worded as arXiv splits words, answers
              handed to the most similar title, a second pass on distinctive words
replay.py     reparse_stored_responses: rebuild papers from the stored answers

The arXiv facts relied on, with their sources: docs/arxiv.md.
"""

from pipeline.fetch.papers import fetch_papers
from pipeline.fetch.replay import reparse_stored_responses
from pipeline.fetch.report import FetchReport
from pipeline.fetch.titles import search_titles
from pipeline.fetch.transport import ArxivUnreachable

__all__ = [
    "ArxivUnreachable",
    "FetchReport",
    "fetch_papers",
    "reparse_stored_responses",
    "search_titles",
]
