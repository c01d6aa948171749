"""Files written into each generation beside the tables, published by the same switch:

schema.json      every table's columns, types, nullability, key, meaning, allowed values
enriched.duckdb  views over the generation's Parquet files, for dashboards (pipeline.views)
report.html      the self-contained report (pipeline.report)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from pipeline import store
from pipeline.config import SETTINGS
from pipeline.health import Health, assess
from pipeline.report import REPORT_NAME, render_report
from pipeline.tables import tables_json
from pipeline.views import DATABASE_NAME, write_database

SCHEMA_NAME = "schema.json"
COMPANION_FILES = (SCHEMA_NAME, DATABASE_NAME, REPORT_NAME)


def _default(name: str) -> float:
    return float(next(s.default for s in SETTINGS if s.name == name))


def default_health(frames: Mapping[str, pl.DataFrame]) -> Health:
    """The assessment from the tables alone (no ledger), with the default thresholds."""
    today = store.utc_now().date()
    return assess(
        frames["entries"],
        frames["runs"],
        {},
        today,
        _default("stale_days"),
        _default("unresolved_jump"),
    )


def write_companions(
    generation: Path, frames: Mapping[str, pl.DataFrame], run_id: str, health: Health | None
) -> None:
    """Write every companion file into the (unpublished) `generation`."""
    health = health or default_health(frames)
    store.atomic_write_bytes(generation / SCHEMA_NAME, tables_json().encode())
    write_database(generation, health.sources)
    page = render_report(frames, health, run_id, store.utc_now())
    store.atomic_write_bytes(generation / REPORT_NAME, page.encode())
