"""Digest enrichment pipeline: parse digests, fetch arXiv metadata, reconcile, write Parquet.

Stages, in the order data flows through them:
    pipeline.parse      digests under <raw>/digests -> DigestEntry
    pipeline.fetch      arXiv IDs -> PaperRecord (polite, batched, retried, cached)
    pipeline.reconcile  entries + records -> Resolution, Mismatch
    pipeline.write      everything -> Parquet tables in <out>, published atomically
pipeline.run ties them together; pipeline.cli is the thin command line over it.
"""

import hashlib
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def code_digest() -> str:
    """A digest of this package's source files: what results kept from an earlier run are
    keyed on (with other code they could come out differently)."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        name = path.relative_to(_PACKAGE).as_posix()
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
