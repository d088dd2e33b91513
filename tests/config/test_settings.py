"""Settings: validated once, secrets hidden, errors name the variable and never a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import SettingsError, load_settings
from config.settings import DEFAULT_API_BASE_URL, DEFAULT_MODELS

ALL_VARIABLES = (
    "DISCORD_TOKEN",
    "GROK_API_KEY",
    "GROK_API_BASE_URL",
    "DISCORD_API_BASE_URL",
    "DISCORD_GATEWAY_URL",
    "DATABASE_PATH",
    "REDIS_URL",
    "COOLDOWN_SECONDS",
    "GROK_MODELS",
    "GROK_DEFAULT_MODEL",
    "GROK_RESPONSE_FORMAT",
    "GROK_TIMEOUT_SECONDS",
    "GROK_MAX_ATTEMPTS",
    "DEV_GUILD_ID",
    "LOG_LEVEL",
    "DAILY_USER_QUOTA",
    "DAILY_GUILD_BUDGET",
    "ALLOW_DMS",
    "SHARD_COUNT",
    "SHARD_IDS",
    "GROK_MAX_RESPONSE_MB",
    "MAX_CONCURRENT_JOBS",
    "MAX_QUEUED_JOBS",
    "SHUTDOWN_GRACE_SECONDS",
    "EVENT_LOOP",
    "BLOCKED_ATTEMPTS_LIMIT",
    "BLOCKED_ATTEMPTS_WINDOW_SECONDS",
    "BLOCKED_ATTEMPTS_PAUSE_SECONDS",
    "MAX_QUEUED_PER_GUILD",
    "MAX_USER_DAILY_QUOTA",
    "MAX_GUILD_DAILY_BUDGET",
    "MIN_COOLDOWN_SECONDS",
    "JOB_RETENTION_DAYS",
    "GROK_EDITS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_missing_secrets_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "DISCORD_TOKEN" in str(caught.value)
    assert "GROK_API_KEY" in str(caught.value)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")
    settings = load_settings()
    assert settings.grok_api_base_url == DEFAULT_API_BASE_URL
    assert settings.grok_models == DEFAULT_MODELS
    assert settings.default_model == DEFAULT_MODELS[0]
    assert settings.cooldown_seconds == 30
    assert settings.database_path == Path("data/bot.sqlite3")
    assert settings.discord_api_base_url is None
    assert settings.grok_response_format == "b64_json"
    assert (settings.daily_user_quota, settings.daily_guild_budget) == (50, 500)
    assert settings.allow_dms is False
    assert settings.grok_edits == "auto"


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret-value")
    monkeypatch.setenv("GROK_API_KEY", "grok-secret-value")
    settings = load_settings()
    for shown in (repr(settings), str(settings), str(settings.model_dump())):
        assert "discord-secret-value" not in shown
        assert "grok-secret-value" not in shown
    assert settings.grok_api_key.get_secret_value() == "grok-secret-value"


def test_invalid_value_names_the_variable_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")
    monkeypatch.setenv("COOLDOWN_SECONDS", "soon-ish-secret")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "COOLDOWN_SECONDS" in str(caught.value)
    assert "soon-ish-secret" not in str(caught.value)


def test_models_from_a_comma_list_and_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")
    monkeypatch.setenv("GROK_MODELS", " grok-imagine-image-2.0 , grok-imagine-image ")
    monkeypatch.setenv("GROK_DEFAULT_MODEL", "grok-imagine-image")
    settings = load_settings()
    assert settings.grok_models == ("grok-imagine-image-2.0", "grok-imagine-image")
    assert settings.default_model == "grok-imagine-image"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GROK_MODELS", " , "),
        ("GROK_DEFAULT_MODEL", "not-listed"),
        ("DISCORD_GATEWAY_URL", "http://127.0.0.1:1/"),
        ("GROK_API_BASE_URL", "api.example"),
        ("GROK_RESPONSE_FORMAT", "png"),
        ("COOLDOWN_SECONDS", "-1"),
        ("LOG_LEVEL", "LOUD"),
        ("DAILY_USER_QUOTA", "-1"),
        ("DAILY_GUILD_BUDGET", "lots"),
        ("ALLOW_DMS", "maybe"),
        ("EVENT_LOOP", "trio"),
        ("GROK_EDITS", "maybe"),
    ],
)
def test_invalid_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError):
        load_settings()


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "DISCORD_TOKEN=from-file\nGROK_API_KEY=key\nCOOLDOWN_SECONDS=5\n"
    )
    settings = load_settings()
    assert settings.discord_token.get_secret_value() == "from-file"
    assert settings.cooldown_seconds == 5


def test_quota_and_direct_message_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")
    monkeypatch.setenv("DAILY_USER_QUOTA", "0")
    monkeypatch.setenv("DAILY_GUILD_BUDGET", "1000")
    monkeypatch.setenv("ALLOW_DMS", "1")
    settings = load_settings()
    assert (settings.daily_user_quota, settings.daily_guild_budget) == (0, 1000)
    assert settings.allow_dms is True


def _required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")


def test_no_redis_and_no_shards_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    _required(monkeypatch)
    settings = load_settings()
    assert (settings.redis_url, settings.shard_count, settings.shard_ids) == (None, None, None)
    assert settings.syncs_commands


def test_redis_and_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    _required(monkeypatch)
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@10.0.0.5:6379/0")
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", " 3, 1 ")
    settings = load_settings()
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "redis://:hunter2@10.0.0.5:6379/0"
    assert "hunter2" not in repr(settings)
    assert (settings.shard_count, settings.shard_ids) == (4, (1, 3))
    assert not settings.syncs_commands


@pytest.mark.parametrize(
    ("shard_ids", "syncs"), [("", True), ("0", True), ("1,0", True), ("1", False)]
)
def test_the_process_with_shard_0_syncs_the_commands(
    monkeypatch: pytest.MonkeyPatch, shard_ids: str, syncs: bool
) -> None:
    _required(monkeypatch)
    monkeypatch.setenv("SHARD_COUNT", "2")
    monkeypatch.setenv("SHARD_IDS", shard_ids)
    assert load_settings().syncs_commands is syncs


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT"),
        ({"SHARD_COUNT": "two"}, "SHARD_COUNT"),
        ({"SHARD_IDS": "0"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "2"}, "below SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,0"}, "SHARD_IDS"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "-1"}, "SHARD_IDS"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "zero"}, "SHARD_IDS"),
        ({"REDIS_URL": "http://user:hunter2@cache:6379"}, "REDIS_URL"),
    ],
)
def test_invalid_redis_and_shard_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    _required(monkeypatch)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert named in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_queue_and_shutdown_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")
    settings = load_settings()
    assert (settings.max_concurrent_jobs, settings.max_queued_jobs) == (4, 100)
    assert settings.max_queued_per_guild == 50
    assert settings.job_retention_days == 30
    assert settings.shutdown_grace_seconds == 25
    assert settings.grok_max_response_mb == 64
    monkeypatch.setenv("MAX_CONCURRENT_JOBS", "8")
    monkeypatch.setenv("MAX_QUEUED_JOBS", "0")
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "10.5")
    monkeypatch.setenv("GROK_MAX_RESPONSE_MB", "64")
    settings = load_settings()
    assert (settings.max_concurrent_jobs, settings.max_queued_jobs) == (8, 0)
    assert settings.shutdown_grace_seconds == 10.5
    assert settings.grok_max_response_mb == 64


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_CONCURRENT_JOBS", "0"),
        ("MAX_CONCURRENT_JOBS", "many"),
        ("MAX_QUEUED_JOBS", "-1"),
        ("MAX_QUEUED_PER_GUILD", "0"),
        ("MAX_USER_DAILY_QUOTA", "0"),
        ("MAX_GUILD_DAILY_BUDGET", "-3"),
        ("MIN_COOLDOWN_SECONDS", "-1"),
        ("JOB_RETENTION_DAYS", "0"),
        ("SHUTDOWN_GRACE_SECONDS", "-5"),
        ("SHUTDOWN_GRACE_SECONDS", "3600"),
        ("GROK_MAX_RESPONSE_MB", "0"),
    ],
)
def test_invalid_queue_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert name in str(caught.value)


def test_blocked_attempt_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _required(monkeypatch)
    defaults = load_settings()
    assert (
        defaults.blocked_attempts_limit,
        defaults.blocked_attempts_window_seconds,
        defaults.blocked_attempts_pause_seconds,
    ) == (5, 600, 1800)
    monkeypatch.setenv("BLOCKED_ATTEMPTS_LIMIT", "0")
    monkeypatch.setenv("BLOCKED_ATTEMPTS_WINDOW_SECONDS", "60")
    monkeypatch.setenv("BLOCKED_ATTEMPTS_PAUSE_SECONDS", "7200")
    settings = load_settings()
    assert settings.blocked_attempts_limit == 0
    assert (settings.blocked_attempts_window_seconds, settings.blocked_attempts_pause_seconds) == (
        60,
        7200,
    )
    for name, value in (
        ("BLOCKED_ATTEMPTS_LIMIT", "-1"),
        ("BLOCKED_ATTEMPTS_WINDOW_SECONDS", "0"),
        ("BLOCKED_ATTEMPTS_PAUSE_SECONDS", "soon"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=name):
            load_settings()
        monkeypatch.delenv(name)


def test_the_operators_ceilings_default_to_none_and_read_blank_as_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")
    settings = load_settings()
    assert (settings.max_user_daily_quota, settings.max_guild_daily_budget) == (None, None)
    assert settings.min_cooldown_seconds == 0
    monkeypatch.setenv("MAX_USER_DAILY_QUOTA", "20")
    monkeypatch.setenv("MAX_GUILD_DAILY_BUDGET", " ")
    monkeypatch.setenv("MIN_COOLDOWN_SECONDS", "60")
    settings = load_settings()
    assert (settings.max_user_daily_quota, settings.max_guild_daily_budget) == (20, None)
    assert settings.min_cooldown_seconds == 60


def test_env_example_names_every_setting() -> None:
    from config.settings import Settings

    example = (Path(__file__).parents[2] / ".env.example").read_text()
    named = {line.lstrip("# ").split("=", 1)[0] for line in example.splitlines() if "=" in line}
    assert {name.upper() for name in Settings.model_fields} <= named
