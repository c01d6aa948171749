"""Rebuilding the store's papers from the raw answers kept on disk, without asking arXiv."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.fetch.atom import BadAnswer, feed_records, read_feed
from pipeline.fetch.oai import answer_records, is_oai_answer
from pipeline.store import MetadataStore, Paths, read_response, response_paths

logger = logging.getLogger(__name__)

STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"  # the time prefix store.save_response gives each file


@dataclass
class Rebuilt:
    papers: int  # distinct papers written into the store
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (answer file, why)


def reparse_stored_responses(paths: Paths, store: MetadataStore) -> Rebuilt:
    """Parse every stored answer, oldest first, into the store.

    Each record's fetched_at is the time in its answer's file name, and a later answer
    replaces an earlier one, so the store ends as it was after the last fetch. An answer
    that cannot be read back (truncated, damaged, not a feed) is skipped and listed: the
    papers it held are fetched afresh by the next run.
    """
    papers: set[str] = set()
    skipped: list[tuple[str, str]] = []
    for path in response_paths(paths):
        source = path.relative_to(paths.raw).as_posix()
        try:
            received_at = datetime.strptime(path.name.split("-", 1)[0], STAMP_FORMAT)
            received_at = received_at.replace(tzinfo=UTC)
            body = read_response(path)
            if is_oai_answer(path.name):
                records, skipped_records = answer_records(body, received_at)
                for message in skipped_records:
                    logger.warning("%s: %s", source, message)
            else:
                records, problems = feed_records(read_feed(body), received_at, source)
                for problem in problems:
                    logger.warning("%s line %s: %s", problem.source, problem.line, problem.message)
        except (OSError, EOFError, zlib.error, ValueError, BadAnswer) as exc:
            reason = str(exc) or type(exc).__name__
            logger.warning("skipped stored answer %s: %s", source, reason)
            skipped.append((source, reason))
            continue
        store.put_papers(records)
        papers.update(r.arxiv_id for r in records)
    return Rebuilt(len(papers), skipped)
