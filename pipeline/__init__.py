"""Digest enrichment pipeline: parse digests, fetch arXiv metadata, reconcile, write Parquet.

Stages, in the order data flows through them:
    pipeline.parse      digests under <raw>/digests -> DigestEntry
    pipeline.fetch      arXiv IDs -> PaperRecord (polite, batched, retried, cached)
    pipeline.reconcile  entries + records -> Resolution, Mismatch
    pipeline.write      everything -> Parquet tables in <out>, published atomically
pipeline.run ties them together; pipeline.cli is the thin command line over it.
"""
