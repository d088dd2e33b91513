"""The container files: compose.yaml parses and names only settings the bot reads, and
the Dockerfile sets only such settings (the image itself cannot be built in CI)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from config.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {name.upper() for name in Settings.model_fields}
REQUIRED = {name.upper() for name, field in Settings.model_fields.items() if field.is_required()}
#: Variables of Python and pip, not of the bot.
PYTHON_VARIABLES = {
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}


def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def dockerfile_env() -> dict[str, str]:
    """The ``ENV`` variables of the Dockerfile (continuation lines joined)."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", line))
    return found


def test_compose_names_only_settings_the_bot_reads() -> None:
    bot = compose()["services"]["bot"]
    environment = bot["environment"]
    assert isinstance(environment, dict)
    assert set(environment) <= SETTINGS, set(environment) - SETTINGS
    # The secrets come from .env, never from the file itself.
    assert bot["env_file"] == ".env"
    assert not REQUIRED & set(environment)


def test_compose_runs_the_bot_on_redis_with_aof_and_volumes() -> None:
    data = compose()
    bot, redis = data["services"]["bot"], data["services"]["redis"]
    assert bot["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert any(volume.endswith(":/data") for volume in bot["volumes"])
    assert set(data["volumes"]) == {"bot-data", "redis-data"}
    # The health server must listen beyond the container's loopback to be published.
    assert bot["environment"]["HTTP_HOST"] == "0.0.0.0"
    assert str(bot["environment"]["HTTP_PORT"]) == "8080"


def test_dockerfile_sets_only_settings_the_bot_reads() -> None:
    env = dockerfile_env()
    bot_settings = set(env) - PYTHON_VARIABLES
    assert bot_settings <= SETTINGS, bot_settings - SETTINGS
    assert env["HTTP_PORT"] == "8080"
    assert env["DATABASE_PATH"].startswith("/data/")


def test_dockerfile_runs_as_a_user_and_checks_readiness() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert re.search(r"^USER (?!root|0\b)\S+$", text, re.MULTILINE)
    assert "/readyz" in text.split("HEALTHCHECK", 1)[1]
    assert 'VOLUME ["/data"]' in text
