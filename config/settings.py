"""The bot's settings: one validated object, built once at start.

Nothing else in the project reads ``os.environ``. Secrets are ``SecretStr`` so they never
show in a repr, a log line or an error message.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://api-cs-al.naci-tech.com"
DEFAULT_MODELS = ("grok-imagine-image", "grok-imagine-image-pro")
DEFAULT_DATABASE_PATH = Path("data") / "bot.sqlite3"
DEFAULT_DAILY_USER_QUOTA = 50
DEFAULT_DAILY_GUILD_BUDGET = 500
#: A member's and a whole server's seconds of video per UTC day (/animate).
DEFAULT_DAILY_USER_VIDEO_SECONDS = 60
DEFAULT_DAILY_GUILD_VIDEO_SECONDS = 300
#: Discord allows at most 25 choices per option.
MAX_MODEL_CHOICES = 25
DEFAULT_MAX_RESPONSE_MB = 64
DEFAULT_MAX_CONCURRENT_JOBS = 4
DEFAULT_MAX_QUEUED_JOBS = 100
#: Half the default line: one busy server leaves the other half to everyone else.
DEFAULT_MAX_QUEUED_PER_GUILD = 50
DEFAULT_SHUTDOWN_GRACE_SECONDS = 25.0
DEFAULT_JOB_RETENTION_DAYS = 30
#: How long a job may wait to start: well inside the 15 minutes an interaction lives.
DEFAULT_MAX_WAIT_SECONDS = 600.0
#: Schemes redis-py accepts in a URL.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
#: A sanity bound on SHARD_COUNT (Discord's own scale stops far below).
MAX_SHARD_COUNT = 10_000
#: Blocked prompts a member may send in a server within the window before a pause.
DEFAULT_BLOCKED_ATTEMPTS_LIMIT = 5
DEFAULT_BLOCKED_ATTEMPTS_WINDOW_SECONDS = 600.0
DEFAULT_BLOCKED_ATTEMPTS_PAUSE_SECONDS = 1800.0
#: A sanity bound on spend settings, in US dollars.
MAX_SPEND_LIMIT_USD = 1_000_000


class SettingsError(Exception):
    """Settings are missing or invalid; the message names each variable, never a value."""


class Settings(BaseSettings):
    """Every setting of the bot. Field names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    discord_token: SecretStr = Field(min_length=1)
    grok_api_key: SecretStr = Field(min_length=1)
    grok_api_base_url: str = DEFAULT_API_BASE_URL
    discord_api_base_url: str | None = None
    discord_gateway_url: str | None = None

    database_path: Path = DEFAULT_DATABASE_PATH
    #: Keep the state in this Redis instead of the SQLite file, shared by every process.
    redis_url: SecretStr | None = None
    #: Run as discord.py's AutoShardedBot with this many shards in total.
    shard_count: int | None = Field(default=None, ge=1, le=MAX_SHARD_COUNT)
    #: The shards this process runs (needs SHARD_COUNT); unset: all of them.
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    cooldown_seconds: float = Field(default=30.0, ge=0, le=7 * 24 * 3600)
    #: Images a member may make per UTC day in one server (0: no limit); servers may override.
    daily_user_quota: int = Field(default=DEFAULT_DAILY_USER_QUOTA, ge=0, le=1_000_000)
    #: Images a whole server may make per UTC day (0: no limit); servers may override.
    daily_guild_budget: int = Field(default=DEFAULT_DAILY_GUILD_BUDGET, ge=0, le=1_000_000)
    #: The operator's ceilings on what a server may set (unset: none). With a ceiling,
    #: 0 ("no limit") is past it too; values stored before it was lowered are held to it.
    max_user_daily_quota: int | None = Field(default=None, ge=1, le=1_000_000)
    max_guild_daily_budget: int | None = Field(default=None, ge=1, le=1_000_000)
    #: The shortest cooldown a server may set (the bot's default is held to it too).
    min_cooldown_seconds: float = Field(default=0.0, ge=0, le=7 * 24 * 3600)
    #: Whether /imagine also works in direct messages with the bot.
    allow_dms: bool = False
    #: Blocked prompts a member may send in a server within the window before they are
    #: paused there (0: never paused), and how long the pause lasts.
    blocked_attempts_limit: int = Field(default=DEFAULT_BLOCKED_ATTEMPTS_LIMIT, ge=0, le=1000)
    blocked_attempts_window_seconds: float = Field(
        default=DEFAULT_BLOCKED_ATTEMPTS_WINDOW_SECONDS, gt=0, le=7 * 24 * 3600
    )
    blocked_attempts_pause_seconds: float = Field(
        default=DEFAULT_BLOCKED_ATTEMPTS_PAUSE_SECONDS, gt=0, le=30 * 24 * 3600
    )

    grok_models: Annotated[tuple[str, ...], NoDecode] = DEFAULT_MODELS
    grok_default_model: str | None = None
    grok_response_format: Literal["b64_json", "url"] = "b64_json"
    grok_timeout_seconds: float = Field(default=180.0, gt=0, le=600)
    grok_max_attempts: int = Field(default=3, ge=1, le=6)
    #: The largest API answer read, in MiB (ten 2k images in base64 take about 35; the
    #: default leaves room for larger ones). URL mode holds all the downloads of an answer
    #: together to it too.
    grok_max_response_mb: int = Field(default=DEFAULT_MAX_RESPONSE_MB, ge=1, le=1024)
    #: Image edits: ``auto`` offers them while the image service has them; ``off`` never.
    grok_edits: Literal["auto", "off"] = "auto"
    #: The longest wait for a video clip (/animate) before it is given up.
    video_max_wait_seconds: float = Field(default=600.0, gt=0, le=3600)
    #: Seconds of video a member may make per UTC day in one server, and a whole server
    #: (0: no limit); counted apart from the images.
    daily_user_video_seconds: int = Field(
        default=DEFAULT_DAILY_USER_VIDEO_SECONDS, ge=0, le=1_000_000
    )
    daily_guild_video_seconds: int = Field(
        default=DEFAULT_DAILY_GUILD_VIDEO_SECONDS, ge=0, le=1_000_000
    )
    #: Jobs calling the API or uploading at once, in this process (the images in memory
    #: are those of these jobs only).
    max_concurrent_jobs: int = Field(default=DEFAULT_MAX_CONCURRENT_JOBS, ge=1, le=64)
    #: Jobs that may wait for a slot; past this a request is refused at once.
    max_queued_jobs: int = Field(default=DEFAULT_MAX_QUEUED_JOBS, ge=0, le=10_000)
    #: Of those, how many one server may hold (direct messages together count as one);
    #: past it that server's requests are refused at once.
    max_queued_per_guild: int = Field(default=DEFAULT_MAX_QUEUED_PER_GUILD, ge=1, le=10_000)
    #: Days a finished job's record is kept; the usage figures are kept as daily totals.
    job_retention_days: int = Field(default=DEFAULT_JOB_RETENTION_DAYS, ge=1, le=3650)
    #: At SIGTERM, how long running jobs get to finish before they are left to the next
    #: start (below a host's usual 30-second kill).
    shutdown_grace_seconds: float = Field(default=DEFAULT_SHUTDOWN_GRACE_SECONDS, ge=0, le=600)
    #: How long a job may wait in line before it starts; past it the job is closed with a
    #: message and costs nothing. Below the token's 15 minutes, leaving time to finish.
    max_wait_seconds: float = Field(default=DEFAULT_MAX_WAIT_SECONDS, ge=1, le=840)

    dev_guild_id: int | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    #: The event loop: uvloop where it is installed (``auto``), or Python's own.
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    #: Serve /healthz, /readyz and /metrics on this port (unset: no HTTP server).
    http_port: int | None = Field(default=None, ge=1, le=65535)
    #: The address the HTTP server binds to (all interfaces: 0.0.0.0).
    http_host: str = "127.0.0.1"
    #: Log lines as plain text or as one JSON object each.
    log_format: Literal["text", "json"] = "text"
    #: Prices per image in US dollars over the defaults (core.spend): ``model=usd`` or
    #: ``model@resolution=usd``, comma-separated; ``*`` names any model.
    grok_prices: Annotated[dict[str, Decimal], NoDecode] = Field(default_factory=dict)
    #: The whole bot's spend per UTC day, in US dollars (unset: no ceiling).
    daily_spend_limit_usd: Decimal | None = Field(default=None, gt=0, le=MAX_SPEND_LIMIT_USD)

    @field_validator("grok_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("grok_models")
    @classmethod
    def _check_models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one model name")
        if len(value) > MAX_MODEL_CHOICES:
            raise ValueError(f"at most {MAX_MODEL_CHOICES} models (Discord's choice limit)")
        if len(set(value)) != len(value):
            raise ValueError("lists a model twice")
        for name in value:
            if len(name) > 100:
                raise ValueError("a model name is longer than 100 characters")
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _split_shard_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not parts:
                return None
            try:
                return tuple(int(part) for part in parts)
            except ValueError:
                raise ValueError("must be shard numbers separated by commas, e.g. 0,1") from None
        return value

    @field_validator("shard_ids")
    @classmethod
    def _check_shard_ids(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is None:
            return None
        if any(shard < 0 for shard in value):
            raise ValueError("shard numbers start at 0")
        if len(set(value)) != len(value):
            raise ValueError("lists a shard twice")
        return tuple(sorted(value))

    @field_validator("max_user_daily_quota", "max_guild_daily_budget", mode="before")
    @classmethod
    def _blank_ceiling(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("daily_spend_limit_usd", mode="before")
    @classmethod
    def _blank_spend_limit(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("grok_prices", mode="before")
    @classmethod
    def _split_prices(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        prices: dict[str, str] = {}
        for part in value.split(","):
            if not part.strip():
                continue
            name, sep, usd = part.partition("=")
            if not sep or not name.strip() or len(name.strip()) > 120:
                raise ValueError("must be model=usd or model@resolution=usd, comma-separated")
            prices[name.strip()] = usd.strip()
        return prices

    @field_validator("grok_prices")
    @classmethod
    def _check_prices(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        if any(
            not usd.is_finite() or usd < 0 or usd > MAX_SPEND_LIMIT_USD for usd in value.values()
        ):
            raise ValueError("each price is a number of dollars, 0 or more")
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _blank_redis_url(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip().startswith(REDIS_SCHEMES):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("http_port", mode="before")
    @classmethod
    def _blank_http_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("event_loop", mode="before")
    @classmethod
    def _lower_loop(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("grok_api_base_url", "discord_api_base_url", "discord_gateway_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = value.strip()
        if "://" not in value:
            raise ValueError("must be a full URL, e.g. https://host or ws://host/")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_gateway_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    @model_validator(mode="after")
    def _check_shards(self) -> Settings:
        if self.shard_ids is None:
            return self
        if self.shard_count is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT")
        if max(self.shard_ids) >= self.shard_count:
            raise ValueError("SHARD_IDS must each be below SHARD_COUNT (shards count from 0)")
        return self

    @model_validator(mode="after")
    def _default_model(self) -> Settings:
        if self.grok_default_model is None or self.grok_default_model == "":
            self.grok_default_model = self.grok_models[0]
        elif self.grok_default_model not in self.grok_models:
            raise ValueError("GROK_DEFAULT_MODEL must be one of GROK_MODELS")
        return self

    @property
    def default_model(self) -> str:
        """The model used when the user picks none."""
        return self.grok_default_model or self.grok_models[0]

    @property
    def syncs_commands(self) -> bool:
        """Whether this process syncs the slash commands: the one running shard 0.

        Commands are global, so one process syncing is enough, and two syncing at once
        would race (and spend Discord's sync rate limit twice).
        """
        return self.shard_ids is None or 0 in self.shard_ids


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        name = "_".join(str(part) for part in item["loc"]).upper() or "settings"
        message = item["msg"]
        if item["type"] == "missing":
            message = "is required but not set"
        lines.append(f"{name}: {message}")
    return "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment and ``.env``; raise SettingsError if invalid."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
