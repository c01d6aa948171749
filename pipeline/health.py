"""Digest health: which digests have gone quiet, and whether the unresolved share jumped.

A digest *source* is a series of digest files: a file's path with each date in it
replaced by `*` (`digests/hf/*_daily.md` for `digests/hf/2025-01-08_daily.md`); a file
without a date (a README that a generator rewrites in place) is a source of its own.

A source yields a paper on the earlier of two days: the first digest date on which the
source lists it, and the day this pipeline first saw the source list it (kept in the
store's ledger across runs). The second is what catches a generator that keeps bumping
its "Updated on" date while its fetch is broken: the dates move, the papers do not, so the
day of the last new paper stays put. On a first run every paper is first seen that day,
so the digest dates alone decide.

A source is stale when its last new paper (for a source none of whose entries resolved,
its latest digest date; without one it is never called stale) is more than `stale_days`
days old; the whole
input is stale when every source is. A run's unresolved share jumps when it exceeds the
previous complete run's by more than `unresolved_jump` percentage points (only complete
runs compare: an unreachable arXiv leaves entries unresolved for a reason of its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import polars as pl

LEDGER_KEY = "first_seen"  # store ledger: {source: {"YYYY-MM-DD": [arxiv_id, ...]}}
FirstSeen = dict[str, dict[str, list[str]]]
WHOLE_INPUT = "(all digests)"

# 2025-01-08, 2025_01_08, 20250108 (not inside a longer number: an arXiv ID is 2401.01234).
_DATE_IN_PATH = re.compile(
    r"(?<!\d)(?:19|20)\d\d([-_.]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])(?!\d)"
)

HEALTH_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "files": pl.UInt32,
    "papers": pl.UInt32,
    "last_digest_date": pl.Date,
    "last_new_paper": pl.Date,
    "days_quiet": pl.Int64,
    "stale": pl.Boolean,
}
# What each source's assessment is judged on; days_quiet and stale follow from them and today.
TALLY_COLUMNS = ["source", "files", "papers", "last_digest_date", "last_new_paper"]


def source_of(digest: str) -> str:
    """The series a digest file belongs to: its path with every date made `*`."""
    return _DATE_IN_PATH.sub("*", digest)


F = TypeVar("F", pl.DataFrame, pl.LazyFrame)


def with_source(frame: F) -> F:
    """`frame` with a `source` column, `source_of` its `digest` (computed once per file:
    polars' regex engine has no look-around)."""
    digests = frame.lazy().select(pl.col("digest").unique()).collect().get_column("digest")
    mapping = {d: source_of(d) for d in digests.to_list()}
    return frame.with_columns(
        pl.col("digest").replace_strict(mapping, return_dtype=pl.String).alias("source")
    )


@dataclass(frozen=True)
class Health:
    """The assessment of one run's tables: one row per source, and the alarms raised."""

    sources: pl.DataFrame  # HEALTH_SCHEMA, stalest first
    stale_days: float
    unresolved_jump: float
    today: date
    whole_input_stale: bool = False
    jump: str | None = None  # what jumped, for a person; None when nothing did
    # The first-seen ledger with this assessment's sightings, to be stored; empty from
    # `judge`, which adds none (the stored one stays as it is).
    first_seen: FirstSeen = field(default_factory=dict)

    @property
    def tallies_rows(self) -> list[list[Any]]:
        """Each source's tallies as JSON-ready rows, for the store's ledger: with the same
        tables and first-seen ledger, `judge` gives the assessment of a later day from
        them, without reading the tables again."""
        tallies = self.sources.select(TALLY_COLUMNS).sort("source")
        return tallies.with_columns(pl.col(pl.Date).cast(pl.String)).rows()  # type: ignore[return-value]

    @property
    def stale_sources(self) -> list[str]:
        return self.sources.filter(pl.col("stale")).get_column("source").to_list()

    @property
    def alarms(self) -> list[str]:
        """One sentence per alarm, for the run summary, the report and `status`."""
        lines = []
        if self.whole_input_stale:
            lines.append(
                f"no digest has yielded a new paper for more than {self.stale_days:g} days"
            )
        for row in self.sources.filter(pl.col("stale")).iter_rows(named=True):
            last, days = row["last_new_paper"], row["days_quiet"]
            lines.append(
                f"digest {row['source']} has yielded no new paper since {last} ({days} days)"
                if last is not None
                else f"digest {row['source']} has yielded no paper at all; its latest digest "
                f"is dated {row['last_digest_date']} ({days} days ago)"
            )
        if self.jump:
            lines.append(self.jump)
        return lines


def _ledger_frame(first_seen: FirstSeen) -> pl.DataFrame:
    """The ledger as rows (source, arxiv_id, seen)."""
    groups = [(src, day, ids) for src, days in first_seen.items() for day, ids in days.items()]
    return (
        pl.DataFrame(
            {
                "source": [g[0] for g in groups],
                "seen": [g[1] for g in groups],
                "arxiv_id": [g[2] for g in groups],
            },
            schema={"source": pl.String, "seen": pl.String, "arxiv_id": pl.List(pl.String)},
        )
        .explode("arxiv_id")
        .select("source", "arxiv_id", pl.col("seen").str.to_date())
    )


def _ledger_dict(seen: pl.DataFrame) -> FirstSeen:
    """Rows (source, arxiv_id, seen) as the ledger: IDs grouped by day, which keeps it
    small (one date per day, not per paper)."""
    grouped = seen.group_by("source", "seen").agg(pl.col("arxiv_id").sort()).sort("source", "seen")
    ledger: FirstSeen = {}
    for source, day, ids in grouped.iter_rows():
        ledger.setdefault(source, {})[day.isoformat()] = ids
    return ledger


def assess(
    entries: pl.DataFrame | pl.LazyFrame,
    runs: pl.DataFrame | pl.LazyFrame,
    first_seen: FirstSeen,
    today: date,
    stale_days: float,
    unresolved_jump: float,
) -> Health:
    """Assess the tables (`entries`, `runs`) against the ledger, as of `today`; the
    returned Health carries the ledger with today's first sightings added."""
    read = entries.lazy().select("digest", "digest_date", "arxiv_id").collect()
    sourced = with_source(read).lazy()
    known = _ledger_frame(first_seen).lazy()
    pairs = sourced.filter(pl.col("arxiv_id").is_not_null()).select("source", "arxiv_id").unique()
    new = pairs.join(known, on=["source", "arxiv_id"], how="anti").with_columns(
        pl.lit(today).alias("seen")
    )
    seen_frame = pl.concat([known, new]).collect()
    yielded = (
        sourced.filter(pl.col("arxiv_id").is_not_null())
        .group_by("source", "arxiv_id")
        .agg(pl.col("digest_date").min().alias("first_date"))
        .join(seen_frame.lazy(), on=["source", "arxiv_id"], how="left")
        .group_by("source")
        .agg(
            pl.len().cast(pl.UInt32).alias("papers"),
            pl.min_horizontal("first_date", "seen").max().alias("last_new_paper"),
        )
    )
    files = sourced.group_by("source").agg(
        pl.col("digest").n_unique().cast(pl.UInt32).alias("files"),
        pl.col("digest_date").max().alias("last_digest_date"),
    )
    tallies = (
        files.join(yielded, on="source", how="left")
        .with_columns(pl.col("papers").fill_null(0))
        .collect()
    )
    return judge(
        tallies,
        runs.lazy().collect(),
        today,
        stale_days,
        unresolved_jump,
        first_seen=_ledger_dict(seen_frame),
    )


def judge(
    tallies: pl.DataFrame,
    runs: pl.DataFrame,
    today: date,
    stale_days: float,
    unresolved_jump: float,
    first_seen: FirstSeen | None = None,
) -> Health:
    """The assessment as of `today` from each source's tallies (the TALLY_COLUMNS of
    HEALTH_SCHEMA; see tallies_frame): what time passing changes while the tables and the
    first-seen ledger stay as they were. `first_seen`: the ledger the tallies were taken
    with, for the caller to store (none when it is stored already)."""
    # A digest none of whose entries resolved has been quiet since its latest digest date
    # (unknown without dates: then it is not called stale).
    since = pl.coalesce("last_new_paper", "last_digest_date")
    quiet = (pl.lit(today) - since).dt.total_days()
    sources = (
        tallies.with_columns(quiet.alias("days_quiet"))
        .with_columns((pl.col("days_quiet") > stale_days).fill_null(False).alias("stale"))
        .select(list(HEALTH_SCHEMA))
        .cast(HEALTH_SCHEMA)  # type: ignore[arg-type]
        .sort(["days_quiet", "source"], descending=[True, False], nulls_last=False)
    )
    whole = sources.height > 0 and bool(sources.get_column("stale").all())
    return Health(
        sources=sources,
        stale_days=stale_days,
        unresolved_jump=unresolved_jump,
        today=today,
        whole_input_stale=whole,
        jump=_unresolved_jump(runs, unresolved_jump),
        first_seen=first_seen or {},
    )


def tallies_frame(rows: list[list[Any]]) -> pl.DataFrame:
    """`Health.tallies_rows` back as the frame `judge` takes."""
    dates = [name for name in TALLY_COLUMNS if HEALTH_SCHEMA[name] == pl.Date]
    schema = {name: pl.String if name in dates else HEALTH_SCHEMA[name] for name in TALLY_COLUMNS}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(pl.col(name).str.to_date("%Y-%m-%d") for name in dates)


def _unresolved_jump(runs: pl.DataFrame, points: float) -> str | None:
    """A sentence when the latest complete run's unresolved share exceeds the previous
    complete run's by more than `points` percentage points."""
    complete = (
        runs.filter(pl.col("status").is_in(["ok", "unchanged"]) & (pl.col("entries") > 0))
        .sort("run_id")
        .select("run_id", share=100 * pl.col("unresolved") / pl.col("entries"))
    )
    if (
        complete.height < 2
        or runs.sort("run_id").get_column("run_id")[-1] != complete["run_id"][-1]
    ):
        return None
    before, now = complete.get_column("share")[-2], complete.get_column("share")[-1]
    if now - before <= points:
        return None
    return (
        f"unresolved entries jumped from {before:.1f} % to {now:.1f} % of all entries "
        f"(more than {points:g} points; a digest changed its layout?)"
    )
