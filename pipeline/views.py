"""The DuckDB file a dashboard connects to: `<out>/enriched.duckdb`.

Written into each generation beside its Parquet tables and published by the same switch
of `<out>/current`, so a new connection sees exactly one run's tables. It holds a view per
table, reading that generation's Parquet files, a few ready views, and `digest_health`
(the run's staleness assessment, a small table since it is not in the Parquet files).

The views name the Parquet files by absolute path: DuckDB resolves a relative path in a
view against the working folder of the process that queries it, not against the database
file (DuckDB 2.0), and table functions take no subquery that could find the file's folder.
So a moved output folder needs a new run (or `python -m pipeline report`) before its
views read again. A connection kept open across runs keeps reading its generation until
that generation is pruned (two runs later): dashboards should reconnect per sync.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import duckdb
import polars as pl

from pipeline.tables import TABLES, sql_literal

DATABASE_NAME = "enriched.duckdb"

# Ready views over the table views, for dashboards and the README's queries.
READY_VIEWS: dict[str, str] = {
    # Every entry with its paper's metadata (paper columns null when unresolved).
    "entry_papers": """
        SELECT e.*, p.* EXCLUDE (arxiv_id)
        FROM entries e LEFT JOIN papers p USING (arxiv_id)
    """,
    # Distinct papers featured per week (Monday) of the digest date and primary category.
    "papers_per_week": """
        SELECT date_trunc('week', e.digest_date)::DATE AS week, p.primary_category,
               count(DISTINCT e.arxiv_id) AS papers
        FROM entries e JOIN papers p USING (arxiv_id)
        WHERE e.digest_date IS NOT NULL
        GROUP BY ALL
    """,
    # Days from arXiv v1 to the digest that featured the paper, per resolved entry.
    "featuring_lag": """
        SELECT e.digest, e.position, e.arxiv_id, e.digest_date,
               e.digest_date - CAST(p.published AS DATE) AS lag_days
        FROM entries e JOIN papers p USING (arxiv_id)
        WHERE e.digest_date IS NOT NULL
    """,
    # Resolutions per digest file.
    "resolutions_per_digest": """
        SELECT digest, resolution, count(*) AS entries
        FROM entries GROUP BY ALL
    """,
}


def write_database(generation: Path, digest_health: pl.DataFrame) -> Path:
    """Create `<generation>/enriched.duckdb` over the generation's Parquet files."""
    path = generation / DATABASE_NAME
    # Built under a temporary name, then renamed: a published generation's file (rewritten
    # by `pipeline report`) is replaced whole, never seen half-built.
    tmp = generation / f".{DATABASE_NAME}.{secrets.token_hex(8)}.tmp"
    folder = generation.resolve()
    try:
        _create(tmp, folder, digest_health)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return path


def _create(path: Path, folder: Path, digest_health: pl.DataFrame) -> None:
    with duckdb.connect(str(path)) as con:
        # A generation written before a table was declared lacks it (`pipeline report`).
        for t in (t for t in TABLES if (folder / f"{t.name}.parquet").is_file()):
            parquet = sql_literal(str(folder / f"{t.name}.parquet"))
            con.execute(f"CREATE VIEW {t.name} AS SELECT * FROM read_parquet({parquet})")
        for name, sql in READY_VIEWS.items():
            con.execute(f"CREATE VIEW {name} AS {sql}")
        con.register("health_frame", digest_health)
        con.execute("CREATE TABLE digest_health AS SELECT * FROM health_frame")
        con.unregister("health_frame")
        con.execute("CHECKPOINT")
