"""A local stand-in for arXiv's query API, for tests, benchmarks and `make demo`.

    from pipeline.standin import StandIn, Fault, load_corpus
    with StandIn(load_corpus(path), faults=[Fault("503", first_n=2)]) as server:
        ...  # point the fetcher at server.url; inspect server.log afterwards

The dialect is "new" (2025-11 backend) unless the constructor, or a request's
`standin_dialect=old` parameter (not an arXiv parameter), asks for the classic one.

Modules: `corpus` (the papers), `search` (the search_query language), `feed` (Atom in the
new and old dialects), `query` (parameters -> answer), `faults` (injected failures),
`server` (the HTTP server). `python -m pipeline.standin --help` runs it on its own.
"""

from pipeline.standin.corpus import CorpusError, CorpusRecord, load_corpus
from pipeline.standin.faults import FAULT_KINDS, Fault, parse_fault_spec
from pipeline.standin.server import LoggedRequest, StandIn

__all__ = [
    "FAULT_KINDS",
    "CorpusError",
    "CorpusRecord",
    "Fault",
    "LoggedRequest",
    "StandIn",
    "load_corpus",
    "parse_fault_spec",
]
