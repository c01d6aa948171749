"""Run the arXiv stand-in until SIGINT or SIGTERM.

    python -m pipeline.standin --corpus tests/fixtures/standin/corpus.jsonl \
        [--port 0] [--dialect new|old] [--index-lag SECONDS] [--fault 503:first=2] ...

Prints `listening on http://127.0.0.1:PORT/api/query` once it accepts requests.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from pipeline.standin.corpus import CorpusError, load_corpus
from pipeline.standin.faults import FAULT_KINDS, Fault, parse_fault_spec
from pipeline.standin.feed import DIALECTS
from pipeline.standin.server import StandIn


def _fault(spec: str) -> Fault:
    try:
        return parse_fault_spec(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.standin", description="Local stand-in for arXiv's query API."
    )
    parser.add_argument("--corpus", type=Path, required=True, help="JSON Lines corpus")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--dialect", choices=DIALECTS, default="new")
    parser.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="KIND[:first=N|:every=N][:retry_after=S][:delay=S][:only_ids]",
        help=f"inject a failure; KIND is one of {', '.join(FAULT_KINDS)} (repeatable)",
    )
    parser.add_argument(
        "--index-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="serve no paper whose v1 is younger than this (docs/arxiv.md §3)",
    )
    args = parser.parse_args(argv)
    try:
        records = load_corpus(args.corpus)
    except (OSError, CorpusError) as exc:
        print(f"standin: cannot load corpus: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with StandIn(
        records, dialect=args.dialect, faults=args.fault, host=args.host, port=args.port
    ) as server:
        server.set_index_lag(args.index_lag)
        print(f"listening on {server.url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
