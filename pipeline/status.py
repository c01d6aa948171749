"""`pipeline status`: what is published and how healthy it is, on one screen (or as JSON).

Read only: the published tables, their manifest, and the store's first-seen ledger (for
staleness as of today, which moves on between runs). Nothing is locked or written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.config import Settings
from pipeline.health import LEDGER_KEY, FirstSeen, Health, assess
from pipeline.report import REPORT_COLUMNS
from pipeline.store import MetadataStore, current_generation, utc_now
from pipeline.write import MANIFEST_NAME, read_table

# Outcomes that mean arXiv answered (a failed ID is one it did not).
ANSWERED = ("found", "not_found", "invalid")


class NothingPublished(FileNotFoundError):
    """The output folder has no published generation."""


def health_now(settings: Settings, frames: dict[str, pl.DataFrame]) -> Health:
    """The staleness assessment of the published tables as of today."""
    first_seen: FirstSeen = {}
    if settings.paths.metadata_db.is_file():
        with MetadataStore(settings.paths.metadata_db) as store:
            first_seen = store.get_ledger(LEDGER_KEY) or {}
    return assess(
        frames["entries"],
        frames["runs"],
        first_seen,
        utc_now().date(),
        settings.stale_days,
        settings.unresolved_jump,
    )


def published_frames(
    settings: Settings, columns: Mapping[str, list[str]] | None = None
) -> tuple[str, dict[str, Any], dict[str, pl.DataFrame]]:
    """The current generation's run id, manifest and tables (of a table named in
    `columns`, only those columns); NothingPublished if none."""
    generation = current_generation(settings.paths)
    if generation is None or not (generation / MANIFEST_NAME).is_file():
        raise NothingPublished(
            f"no published tables in {settings.out_dir}; run `python -m pipeline enrich` first"
        )
    manifest = json.loads((generation / MANIFEST_NAME).read_text(encoding="utf-8"))
    columns = columns or {}
    frames = {
        name: read_table(settings.paths, name, columns.get(name)) for name in manifest["tables"]
    }
    return manifest["run_id"], manifest, frames


def status(settings: Settings) -> dict[str, Any]:
    """Everything `pipeline status` shows, as plain data (the `--json` output)."""
    run_id, manifest, frames = published_frames(settings, REPORT_COLUMNS)
    generation = current_generation(settings.paths)
    assert generation is not None  # published_frames checked it
    written = datetime.fromtimestamp((generation / MANIFEST_NAME).stat().st_mtime, UTC)
    log = frames["fetch_log"]
    answered = log.filter(pl.col("outcome").is_in(ANSWERED)).get_column("logged_at").max()
    contact = answered.isoformat(timespec="seconds") if isinstance(answered, datetime) else None
    latest = log.sort("logged_at").unique("arxiv_id", keep="last")
    pending = latest.filter(pl.col("outcome") == "failed").get_column("arxiv_id").sort()
    runs = frames["runs"].sort("run_id")
    last_run = runs.row(-1, named=True) if runs.height else None
    health = health_now(settings, frames)
    entries = frames["entries"]
    return {
        "out_dir": str(settings.out_dir),
        "generation": run_id,
        "written_at": written.isoformat(timespec="seconds"),
        "rows": {name: t["rows"] for name, t in manifest["tables"].items()},
        "resolutions": dict(sorted(entries.group_by("resolution").len().iter_rows())),
        "last_run": None if last_run is None else _run_json(last_run),
        "last_arxiv_contact": contact,
        "pending_ids": pending.to_list(),
        "unresolved_entries": entries.filter(pl.col("resolution") == "unresolved").height,
        "stale_days": settings.stale_days,
        "stale_digests": health.sources.filter(pl.col("stale"))
        .select("source", pl.col("last_new_paper").cast(pl.String), "days_quiet")
        .to_dicts(),
        "alarms": health.alarms,
    }


def _run_json(row: dict[str, Any]) -> dict[str, Any]:
    ended = row["ended_at"]
    return {
        "run_id": row["run_id"],
        "status": row["status"],
        "exit_code": row["exit_code"],
        "ended_at": ended.isoformat(timespec="seconds") if ended else None,
    }


def status_text(s: dict[str, Any]) -> str:
    """`status` for a person: one screen."""
    rows = ", ".join(f"{name} {n:,}" for name, n in s["rows"].items())
    resolutions = ", ".join(f"{k} {v:,}" for k, v in s["resolutions"].items())
    last = s["last_run"]
    pending = s["pending_ids"]
    lines = [
        f"generation  {s['generation']} (written {s['written_at']}) in {s['out_dir']}/",
        f"rows        {rows}",
        f"entries     {resolutions}",
        "last run    "
        + (f"{last['run_id']} {last['status']}, exit {last['exit_code']}" if last else "none"),
        f"last arXiv contact  {s['last_arxiv_contact'] or 'never'}",
        f"pending     {len(pending)} IDs wait on arXiv"
        + (f" ({', '.join(pending[:5])}{', ...' if len(pending) > 5 else ''})" if pending else "")
        + f"; {s['unresolved_entries']} entries unresolved",
        f"stale       {len(s['stale_digests'])} digests quiet for more than "
        f"{s['stale_days']:g} days",
    ]
    lines += [f"ALARM: {alarm}" for alarm in s["alarms"]]
    return "\n".join(lines)
