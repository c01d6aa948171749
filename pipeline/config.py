"""Settings, declared once: command-line flag > environment > config file > default.

The CLI builds its options from `SETTINGS`, and `docs/configuration.md` is generated
from it too, so the three can't drift apart.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pipeline.store import Paths

CONFIG_ENV = "PIPELINE_CONFIG"
DEFAULT_CONFIG_FILE = "pipeline.toml"


class ConfigError(ValueError):
    """Bad configuration: a value of the wrong type, an unknown key, an unreadable file."""


@dataclass(frozen=True)
class Setting:
    name: str  # attribute of Settings and key in the config file
    env: str
    type: type
    default: Any
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "raw_dir",
        "PIPELINE_RAW_DIR",
        Path,
        Path("raw"),
        "Input folder: digests/ and the arXiv cache arxiv/.",
    ),
    Setting(
        "out_dir",
        "PIPELINE_OUT_DIR",
        Path,
        Path("enriched"),
        "Output folder for the Parquet tables.",
    ),
    Setting(
        "api_url",
        "ARXIV_API_URL",
        str,
        "https://export.arxiv.org/api/query",
        "arXiv query API address (https: plain http is answered with 301).",
    ),
    # arXiv Terms of Use: one request every 3 seconds, one connection (arxiv-facts.md 1.2).
    Setting(
        "delay_seconds",
        "ARXIV_DELAY_SECONDS",
        float,
        3.0,
        "Least time between two arXiv requests, in seconds.",
    ),
    Setting(
        "batch_size",
        "ARXIV_BATCH_SIZE",
        int,
        200,
        "IDs per id_list request (sent as POST; max_results equals it).",
    ),
    Setting(
        "contact",
        "ARXIV_CONTACT",
        str,
        "",
        "Contact e-mail put into the User-Agent, as arXiv asks of API users.",
    ),
    Setting(
        "connect_timeout",
        "ARXIV_CONNECT_TIMEOUT",
        float,
        10.0,
        "Seconds to wait for a connection to arXiv.",
    ),
    Setting(
        "read_timeout", "ARXIV_READ_TIMEOUT", float, 60.0, "Seconds to wait for arXiv's answer."
    ),
    Setting(
        "max_attempts",
        "ARXIV_MAX_ATTEMPTS",
        int,
        5,
        "Tries per request before its IDs are recorded as failed.",
    ),
    Setting(
        "max_backoff_seconds",
        "ARXIV_MAX_BACKOFF_SECONDS",
        float,
        300.0,
        "Longest wait between two tries of one request.",
    ),
    Setting(
        "refresh_days",
        "PIPELINE_REFRESH_DAYS",
        float,
        30.0,
        "Re-fetch a stored paper once its metadata is older than this.",
    ),
    Setting(
        "offline", "PIPELINE_OFFLINE", bool, False, "Use only stored metadata; ask arXiv nothing."
    ),
    Setting(
        "wait_for_lock",
        "PIPELINE_WAIT_FOR_LOCK",
        float,
        0.0,
        "Seconds to wait for a running run to finish (0: exit at once).",
    ),
    Setting(
        "allow_shrink",
        "PIPELINE_ALLOW_SHRINK",
        bool,
        False,
        "Publish even though the digests folder is missing or empty, or digest files behind "
        "the published tables are gone and the entries would shrink.",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with `load_settings`. Defaults live in SETTINGS only."""

    raw_dir: Path
    out_dir: Path
    api_url: str
    delay_seconds: float
    batch_size: int
    contact: str
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    max_backoff_seconds: float
    refresh_days: float
    offline: bool
    wait_for_lock: float
    allow_shrink: bool

    @property
    def paths(self) -> Paths:
        return Paths(raw=self.raw_dir, out=self.out_dir)


def _convert(setting: Setting, value: Any, origin: str) -> Any:
    try:
        if setting.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        converted = setting.type(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{origin}: {setting.name} must be a {setting.type.__name__}, got {value!r}"
        ) from exc
    if isinstance(converted, int | float) and not isinstance(converted, bool) and converted < 0:
        raise ConfigError(f"{origin}: {setting.name} must not be negative, got {value!r}")
    if setting.name == "batch_size" and converted < 1:
        raise ConfigError(f"{origin}: batch_size must be at least 1")
    return converted


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    known = {s.name for s in SETTINGS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return data


def load_settings(
    flags: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve every setting: flag > environment > config file > default."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = dict(os.environ) if env is None else env
    if config_file is None and env.get(CONFIG_ENV):
        config_file = Path(env[CONFIG_ENV])
    if config_file is None and Path(DEFAULT_CONFIG_FILE).is_file():
        config_file = Path(DEFAULT_CONFIG_FILE)
    file_values = _read_config_file(config_file) if config_file else {}

    values: dict[str, Any] = {}
    for s in SETTINGS:
        if s.name in flags:
            values[s.name] = _convert(s, flags[s.name], f"option {s.flag}")
        elif s.env in env and env[s.env] != "":
            values[s.name] = _convert(s, env[s.env], f"environment {s.env}")
        elif s.name in file_values:
            values[s.name] = _convert(s, file_values[s.name], f"config file {config_file}")
        else:
            values[s.name] = s.default
    return Settings(**values)


def settings_markdown() -> str:
    """The configuration reference, generated from SETTINGS."""
    lines = [
        "| setting (config file key) | flag | environment | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        lines.append(f"| `{s.name}` | `{s.flag}` | `{s.env}` | `{s.default}` | {s.help} |")
    return "\n".join(lines) + "\n"


assert [f.name for f in fields(Settings)] == [s.name for s in SETTINGS], "declare settings once"
