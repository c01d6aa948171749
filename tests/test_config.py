"""Settings precedence: flag > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import SETTINGS, ConfigError, load_settings


def test_defaults_come_from_the_declarations(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no pipeline.toml here
    settings = load_settings(env={})
    for s in SETTINGS:
        assert getattr(settings, s.name) == s.default


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text('delay_seconds = 7.5\nbatch_size = 50\ncontact = "file@example.org"\n')
    env = {"ARXIV_DELAY_SECONDS": "4", "ARXIV_BATCH_SIZE": "60"}
    settings = load_settings(flags={"delay_seconds": 1.0}, env=env, config_file=config)
    assert settings.delay_seconds == 1.0  # flag
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
        ({"ARXIV_DELAY_SECONDS": "-1"}, "negative"),
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


def test_unreadable_config_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text("delay_seconds = = 3\n")
    with pytest.raises(ConfigError, match=str(config)):
        load_settings(env={}, config_file=config)
