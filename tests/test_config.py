"""Settings precedence: flag > environment > config file > default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.config import SETTINGS, ConfigError, load_settings


def test_defaults_come_from_the_declarations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no pipeline.toml here
    settings = load_settings(env={})
    for s in SETTINGS:
        assert getattr(settings, s.name) == s.default


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text('delay_seconds = 7.5\nbatch_size = 50\ncontact = "file@example.org"\n')
    env = {"ARXIV_DELAY_SECONDS": "4", "ARXIV_BATCH_SIZE": "60"}
    settings = load_settings(flags={"delay_seconds": 5.0}, env=env, config_file=config)
    assert settings.delay_seconds == 5.0  # flag
    assert settings.batch_size == 60  # environment
    assert settings.contact == "file@example.org"  # config file
    assert settings.read_timeout == 60.0  # default


def test_config_file_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text("offline = true\n")
    assert load_settings(env={"PIPELINE_CONFIG": str(config)}).offline is True


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ARXIV_DELAY_SECONDS": "soon"}, "ARXIV_DELAY_SECONDS"),
        ({"ARXIV_DELAY_SECONDS": "-1"}, "delay_seconds must be above 0"),
        ({"ARXIV_MAX_BACKOFF_SECONDS": "-1"}, "max_backoff_seconds must be at least 0"),
        ({"ARXIV_BATCH_SIZE": "0"}, "batch_size"),
        ({"PIPELINE_OFFLINE": "perhaps"}, "offline"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings(env=env)


def test_unknown_config_key_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text("delay = 3\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(env={}, config_file=config)


def test_a_mistyped_key_gets_a_suggestion(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text("delay_second = 3\nbatchsize = 10\nzzz = 1\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(env={}, config_file=config)
    assert str(raised.value).endswith(
        "unknown setting(s) batchsize (did you mean batch_size?), "
        "delay_second (did you mean delay_seconds?), zzz"
    )


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ARXIV_DELAY_SECONDS": "0"}, "delay_seconds must be above 0"),
        ({"ARXIV_DELAY_SECONDS": "nan"}, "delay_seconds must be a finite number"),
        ({"ARXIV_DELAY_SECONDS": "inf"}, "delay_seconds must be a finite number"),
        ({"ARXIV_DELAY_SECONDS": "1e308"}, "delay_seconds must be at most 3600"),
        ({"ARXIV_MAX_ATTEMPTS": "0"}, "max_attempts must be at least 1"),
        ({"ARXIV_BATCH_SIZE": "5000"}, "batch_size must be at most 2000"),
        ({"ARXIV_READ_TIMEOUT": "0"}, "read_timeout must be above 0"),
        ({"PIPELINE_REFRESH_DAYS": "1e308"}, "refresh_days must be at most 36500"),
        ({"ARXIV_API_URL": "export.arxiv.org/api/query"}, "api_url must be an http(s) URL"),
        ({"ARXIV_API_URL": "ftp://export.arxiv.org/api/query"}, "api_url must be an http(s)"),
        ({"ARXIV_API_URL": "https:///api/query"}, "api_url must be an http(s) URL with a host"),
        ({"ARXIV_API_URL": "http://127.0.0.1:99999/api"}, "api_url has a port that is not"),
        ({"ARXIV_API_URL": "http://127.0.0.1:http/api"}, "api_url has a port that is not"),
        ({"ARXIV_API_URL": "http://127.0.0.1:0/api"}, "api_url has a port that is not"),
    ],
)
def test_values_out_of_range_are_refused(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_settings(env=env)


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("delay_seconds = true", "delay_seconds must be a number, got True"),
        ("batch_size = 1.9", "batch_size must be a whole number, got 1.9"),
        ("batch_size = true", "batch_size must be a whole number, got True"),
        ("offline = 1", "offline must be true or false, got 1"),
        ("contact = 5", "contact must be a string, got 5"),
        ("raw_dir = 5", "raw_dir must be a path, got 5"),
    ],
)
def test_config_file_values_of_another_type_are_refused(
    tmp_path: Path, line: str, needle: str
) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text(line + "\n")
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_settings(env={}, config_file=config)


def test_config_file_numbers_of_the_right_kind_are_kept(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text("delay_seconds = 4\nbatch_size = 50\nrefresh_days = 0.5\n")
    settings = load_settings(env={}, config_file=config)
    assert (settings.delay_seconds, settings.batch_size, settings.refresh_days) == (4.0, 50, 0.5)
    assert isinstance(settings.delay_seconds, float)


def test_the_defaults_are_allowed_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no pipeline.toml here
    flags = {s.name: s.default for s in SETTINGS}
    assert load_settings(flags=flags, env={}) == load_settings(env={}, config_file=None)


def test_unreadable_config_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text("delay_seconds = = 3\n")
    with pytest.raises(ConfigError, match=str(config)):
        load_settings(env={}, config_file=config)
