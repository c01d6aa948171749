"""Rebuilding the store's papers from the raw answers kept on disk, without asking arXiv."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pipeline.fetch.atom import BadAnswer, feed_records, read_feed
from pipeline.store import MetadataStore, Paths, iter_responses

logger = logging.getLogger(__name__)

STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"  # the time prefix store.save_response gives each file


def reparse_stored_responses(paths: Paths, store: MetadataStore) -> int:
    """Parse every stored answer, oldest first, into the store; return the papers written.

    Each record's fetched_at is the time in its answer's file name, and a later answer
    replaces an earlier one, so the store ends as it was after the last fetch.
    """
    papers: set[str] = set()
    for path, body in iter_responses(paths):
        try:
            received_at = datetime.strptime(path.name.split("-", 1)[0], STAMP_FORMAT)
            feed = read_feed(body)
        except (ValueError, BadAnswer) as exc:
            logger.warning("skipped stored answer %s: %s", path.name, exc)
            continue
        source = path.relative_to(paths.raw).as_posix()
        records, problems = feed_records(feed, received_at.replace(tzinfo=UTC), source)
        for problem in problems:
            logger.warning("%s line %s: %s", problem.source, problem.line, problem.message)
        store.put_papers(records)
        papers.update(r.arxiv_id for r in records)
    return len(papers)
