"""The operator's settings: HTTP_PORT, HTTP_HOST and LOG_FORMAT."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import SettingsError, load_settings

VARIABLES = ("HTTP_PORT", "HTTP_HOST", "LOG_FORMAT", "DISCORD_TOKEN", "GROK_API_KEY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")


def test_defaults_serve_nothing_and_log_text() -> None:
    settings = load_settings()
    assert settings.http_port is None
    assert settings.http_host == "127.0.0.1"
    assert settings.log_format == "text"


def test_values_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "8080")
    monkeypatch.setenv("HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("LOG_FORMAT", " JSON ")
    settings = load_settings()
    assert (settings.http_port, settings.http_host, settings.log_format) == (
        8080,
        "0.0.0.0",
        "json",
    )


def test_a_blank_port_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", " ")
    assert load_settings().http_port is None


@pytest.mark.parametrize(("name", "value"), [("HTTP_PORT", "70000"), ("LOG_FORMAT", "xml")])
def test_invalid_values_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
