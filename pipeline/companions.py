"""Files written into each generation beside the tables, published by the same switch:

schema.json      every table's columns, types, nullability, key, meaning, allowed values
enriched.duckdb  views over the generation's Parquet files, for dashboards (pipeline.views)
report.html      the self-contained report (pipeline.report)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pygal

from pipeline import code_digest, store
from pipeline.config import SETTINGS
from pipeline.health import Health, assess
from pipeline.report import REPORT_NAME, Frame, render_report, reusable_parts
from pipeline.tables import tables_json
from pipeline.views import DATABASE_NAME, write_database

SCHEMA_NAME = "schema.json"
COMPANION_FILES = (SCHEMA_NAME, DATABASE_NAME, REPORT_NAME)


def _default(name: str) -> float:
    return float(next(s.default for s in SETTINGS if s.name == name))


def default_health(frames: Mapping[str, Frame]) -> Health:
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


def tables_key(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """What the report's parts drawn from the tables are a function of: the content of
    every table but `runs` (as a generation's manifest gives it), the code and the
    libraries that draw them."""
    h = hashlib.sha256(f"{code_digest()}\0{pl.__version__}\0{pygal.__version__}".encode())
    for name in sorted(set(tables) - {"runs"}):
        h.update(f"\0{name}\0{tables[name].get('content')}".encode())
    return h.hexdigest()


def report_parts(generation: Path, key: str) -> dict[str, str] | None:
    """The tables' parts of `generation`'s report, if it was drawn from the tables `key`
    names (see tables_key); None if not, or if it cannot be read."""
    try:
        page = (generation / REPORT_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return reusable_parts(page, key)


def write_companions(
    generation: Path,
    frames: Mapping[str, Frame],
    run_id: str,
    health: Health | None,
    tables_key: str,
    parts: Mapping[str, str] | None = None,
) -> None:
    """Write every companion file into the (unpublished) `generation`. `tables_key` names
    the tables (see tables_key); with `parts`, the report's parts drawn from them, taken
    from an earlier report (report_parts), `frames` need hold only `runs`."""
    health = health or default_health(frames)
    store.atomic_write_bytes(generation / SCHEMA_NAME, tables_json().encode())
    write_database(generation, health.sources)
    page = render_report(frames, health, run_id, store.utc_now(), tables_key, parts)
    store.atomic_write_bytes(generation / REPORT_NAME, page.encode())
