"""Start the bot: ``python bot.py`` (``--sync`` forces a command sync).

Holds the ``commands.Bot`` subclass: ``setup_hook`` opens the one aiohttp session, the
store (SQLite, or Redis when ``REDIS_URL`` is set) and the image client, loads the cogs and
syncs the command tree when its definition changed; ``close`` releases them all. With
``SHARD_COUNT`` set the bot is discord.py's ``AutoShardedBot``, running the shards in
``SHARD_IDS`` (all by default), so that several processes can share one Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import aiohttp
import discord
import yarl
from discord.ext import commands
from pythonjsonlogger.json import JsonFormatter

from cogs.common.answers import NO_MENTIONS
from cogs.common.modlog import ModLog
from cogs.common.translator import CatalogTranslator
from cogs.common.tree import ImagineTree
from cogs.ops.metrics import BotMetrics
from config import Settings, SettingsError, load_settings
from core import journal
from core.client import ImageClient
from core.preflight import preflight
from core.redaction import Redactor, redact_handlers, url_password
from core.retry import RetryPolicy
from core.storage import Store, StoreUnavailable, make_store

log = logging.getLogger("bot")

EXTENSIONS = ("cogs.imagine", "cogs.admin", "cogs.ops")
#: The exit code of a start that something outside stopped (Discord, Redis, the disk): one
#: line says what. A configuration error exits with 2; 1 is left to crashes.
EXIT_CANNOT_START = 3
#: The whole retry budget of one generation; the job deadline of the job service caps it too.
API_RETRY_BUDGET_SECONDS = 10 * 60.0


@runtime_checkable
class RunsJobs(Protocol):
    """A cog that runs jobs, to be drained before the bot closes."""

    async def drain(self, grace: float) -> None:
        """Stop taking jobs; give those running ``grace`` seconds; keep the rest."""


class ImagineBot(commands.Bot):
    """The Grok Imagine bot."""

    def __init__(self, settings: Settings, *, force_sync: bool = False, **options: Any) -> None:
        #: The process's metrics (served at /metrics when HTTP_PORT is set).
        metrics = BotMetrics()
        options.setdefault("http_trace", metrics.discord_trace())
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            tree_cls=ImagineTree,
            **options,
        )
        self.settings = settings
        self.force_sync = force_sync
        self.metrics = metrics
        #: Set when the bot starts closing: /readyz says 503 from then on.
        self.draining = False
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        self.store: Store = make_store(settings.database_path, redis_url)
        self.modlog = ModLog(self)
        #: This process, as the job journal's owner of the jobs it runs.
        self.journal_owner = journal.new_owner_id()
        self.session: aiohttp.ClientSession | None = None
        self._image_client: ImageClient | None = None

    @property
    def image_client(self) -> ImageClient:
        if self._image_client is None:
            raise RuntimeError("the bot has not been set up")
        return self._image_client

    async def setup_hook(self) -> None:
        try:
            await self.store.open()
        except (OSError, sqlite3.Error) as error:
            # The SQLite file (Redis failures are StoreUnavailable already).
            raise StoreUnavailable(
                database_problem(str(self.settings.database_path), error)
            ) from None
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, connect=30, sock_connect=30)
        )
        self._image_client = ImageClient(
            self.session,
            base_url=self.settings.grok_api_base_url,
            api_key=self.settings.grok_api_key.get_secret_value(),
            request_timeout=self.settings.grok_timeout_seconds,
            max_response_bytes=self.settings.grok_max_response_mb * 1024 * 1024,
            retry=RetryPolicy(
                max_attempts=self.settings.grok_max_attempts,
                total_budget=API_RETRY_BUDGET_SECONDS,
            ),
            observer=self.metrics,
        )
        for extension in EXTENSIONS:
            try:
                await self.load_extension(extension)
            except Exception:
                log.exception("could not load extension %s", extension)
                raise
        # Before the sync: the translations are part of what is synced.
        await self.tree.set_translator(CatalogTranslator())
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Sync the global tree when its definition differs from the last one synced."""
        if not self.settings.syncs_commands:
            log.info("commands are synced by the process that runs shard 0; not syncing")
            return
        if self.settings.dev_guild_id is not None:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                await self.tree.sync(guild=guild)
                log.info("commands synced to development guild %s", guild.id)
            except discord.HTTPException as error:
                log.error("could not sync commands to guild %s: HTTP %s", guild.id, error.status)
        translator = self.tree.translator
        payload = [
            await command.get_translated_payload(self.tree, translator)
            if translator is not None
            else command.to_dict(self.tree)
            for command in self.tree.get_commands()
        ]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        key = f"command_hash:{self.application_id}"
        if not self.force_sync and await self.store.get_meta(key) == digest:
            log.info("command definitions unchanged; not syncing")
            return
        try:
            synced = await self.tree.sync()
        except discord.HTTPException as error:
            log.error("could not sync commands: HTTP %s (will try at next start)", error.status)
            return
        await self.store.set_meta(key, digest)
        log.info("synced %d global commands", len(synced))

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("ready as %s (%s) in %d servers", self.user, self.user.id, len(self.guilds))

    async def close(self) -> None:
        # Jobs first, while Discord can still be reached: those running may finish within
        # the grace period, the others stay in the journal for the next start.
        self.draining = True
        for cog in self.cogs.values():
            if isinstance(cog, RunsJobs):
                await cog.drain(self.settings.shutdown_grace_seconds)
        if self.session is not None:  # set up: the store is open
            try:
                released = await self.store.hand_back_jobs(self.journal_owner)
            except Exception:
                log.exception("could not hand the unfinished jobs back to the journal")
            else:
                if released:
                    log.info(
                        "%d unfinished job(s) kept in the journal for the next start", released
                    )
        await self.modlog.drain()
        await super().close()
        if self.session is not None:
            await self.session.close()
        await self.store.close()


class ShardedImagineBot(ImagineBot, commands.AutoShardedBot):
    """The bot as discord.py's ``AutoShardedBot``: the shards in ``SHARD_IDS`` of
    ``SHARD_COUNT``, in one process. Other processes, sharing the same Redis, run the rest."""

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info(
            "ready as %s (%s) in %d servers, shards %s of %s",
            self.user,
            self.user.id,
            len(self.guilds),
            ",".join(str(shard) for shard in sorted(self.shards)),
            self.shard_count,
        )


def build_bot(settings: Settings, *, force_sync: bool = False) -> ImagineBot:
    """The plain bot, or the sharded one when ``SHARD_COUNT`` is set.

    Without ``SHARD_COUNT`` the bot is a plain ``commands.Bot`` on one connection, as
    Discord wants below 2,500 servers: ``AutoShardedBot`` would first ask Discord how many
    shards to run.
    """
    if settings.shard_count is None:
        return ImagineBot(settings, force_sync=force_sync)
    shard_ids = None if settings.shard_ids is None else list(settings.shard_ids)
    return ShardedImagineBot(
        settings, force_sync=force_sync, shard_count=settings.shard_count, shard_ids=shard_ids
    )


def database_problem(path: str, error: OSError | sqlite3.Error) -> str:
    """Why the database file cannot be used, in one line naming the setting and the path."""
    if isinstance(error, FileExistsError | NotADirectoryError) and error.filename:
        reason = f"{error.filename} is a file, not a folder"
    elif isinstance(error, OSError):
        reason = error.strerror or type(error).__name__
        if error.filename and str(error.filename) != path:
            reason = f"{reason}: {error.filename}"
    else:
        reason = str(error) or type(error).__name__
    return f"could not open the database at DATABASE_PATH ({path}): {reason}"


def check_database(path: Path) -> None:
    """Raise ``StoreUnavailable`` (one line) unless the SQLite file can be created and
    written. Run before the event loop starts: aiosqlite, failing to open a file, leaves a
    thread behind that crashes once the loop has closed."""
    if str(path) == ":memory:":
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as db:
            # Takes the write lock: a read-only file or folder fails here, not at the first job.
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            return  # writable, and busy: another process on the same file is writing
        raise StoreUnavailable(database_problem(str(path), error)) from None
    except (OSError, sqlite3.Error) as error:
        raise StoreUnavailable(database_problem(str(path), error)) from None


def discord_unreachable(error: aiohttp.ClientError | TimeoutError) -> str:
    """Why Discord could not be reached, in one line: the host and the failure, never the
    URL (an interaction's token can be in one)."""
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error, aiohttp.ClientSSLError):
            why = "the TLS handshake failed"
        elif isinstance(error, aiohttp.ClientConnectorDNSError):
            why = "its name does not resolve (DNS)"
        else:
            refused = isinstance(error.os_error, ConnectionRefusedError)
            why = "the connection was refused" if refused else str(error.os_error)
        where = f" at {error.host}:{error.port}"
    elif isinstance(error, TimeoutError):
        why, where = "no answer in time", ""
    else:
        why, where = f"the connection failed ({type(error).__name__})", ""
    return f"could not reach Discord{where}: {why}; check the network and DISCORD_API_BASE_URL"


def apply_discord_urls(settings: Settings) -> None:
    """Point discord.py at a REST proxy and a gateway proxy when they are set."""
    if settings.discord_api_base_url:
        discord.http.Route.BASE = settings.discord_api_base_url
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def run(settings: Settings, *, force_sync: bool) -> int:
    """Run the bot until it is closed or the process is told to stop."""
    bot = build_bot(settings, force_sync=force_sync)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def request_stop() -> None:
        if not stopping:
            log.info("stop requested; closing")
            stopping.append(asyncio.create_task(bot.close()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        # Platforms without signal support still stop on Ctrl+C through asyncio.run.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, request_stop)
    async with bot:
        try:
            await bot.start(settings.discord_token.get_secret_value())
        except discord.LoginFailure:
            log.error("Discord rejected DISCORD_TOKEN; check the bot token")
            return EXIT_CANNOT_START
        except discord.PrivilegedIntentsRequired:
            log.error("Discord refused an intent the bot asked for")
            return EXIT_CANNOT_START
        except StoreUnavailable as error:
            log.error("%s", error)
            return EXIT_CANNOT_START
        except (aiohttp.ClientError, TimeoutError) as error:
            log.error("%s", discord_unreachable(error))
            return EXIT_CANNOT_START
    # bot.start returns as soon as the gateway closes; the rest of close() (the HTTP session,
    # the database) must finish before the loop ends, or the process cannot exit.
    for task in stopping:
        await task
    return 0


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop ``EVENT_LOOP`` asks for: uvloop (measured faster, see
    docs/performance.md) where it is installed and not turned off, else Python's own."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise SettingsError("EVENT_LOOP: uvloop is not installed") from None
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def run_in_loop(
    factory: Callable[[], asyncio.AbstractEventLoop], main: Coroutine[Any, Any, int]
) -> int:
    """Run ``main`` to its end in a loop made by ``factory``."""
    with asyncio.Runner(loop_factory=factory) as runner:
        log.info("event loop: %s", type(runner.get_loop()).__module__.split(".")[0])
        return runner.run(main)


def log_formatter(log_format: str) -> logging.Formatter | None:
    """The formatter ``LOG_FORMAT`` asks for: for ``json`` one JSON object a line (time,
    level, logger, message, and the ``extra`` fields of the record, such as the job line's
    job id, user, server, outcome and timings); None for discord.py's own text lines."""
    if log_format != "json":
        return None
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
    )


def setup_logging(settings: Settings) -> None:
    """Log to standard error at ``LOG_LEVEL``, as text or JSON (``LOG_FORMAT``), with every
    secret redacted from every line."""
    level = getattr(logging, settings.log_level)
    formatter = log_formatter(settings.log_format)
    if formatter is None:
        discord.utils.setup_logging(level=level, root=True)
    else:
        discord.utils.setup_logging(formatter=formatter, level=level, root=True)
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    redact = Redactor(
        (
            settings.discord_token.get_secret_value(),
            settings.grok_api_key.get_secret_value(),
            url_password(redis_url),
        )
    )
    redact_handlers(logging.getLogger(), redact)
    # The bot has no voice: discord.py's warnings that voice libraries are missing are noise.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def check() -> int:
    """``--check``: one PASS or FAIL line per check on standard output; 0 when all pass."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as error:
        sys.stdout.write(f"FAIL settings: {error}\n")
        return 1
    results = asyncio.run(preflight(settings))
    for result in results:
        sys.stdout.write(result.line() + "\n")
    return 0 if all(result.passed for result in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The Grok Imagine Discord bot.")
    parser.add_argument(
        "--sync", action="store_true", help="sync the slash commands even if unchanged"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="prove the settings (Discord, the store, the image API) and exit: 0 when all pass",
    )
    args = parser.parse_args(argv)
    if args.check:
        return check()
    try:
        settings = load_settings()
        factory = loop_factory(settings.event_loop)
    except SettingsError as error:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        log.critical("configuration error: %s", error)
        return 2
    setup_logging(settings)
    if settings.redis_url is None:
        try:
            check_database(settings.database_path)
        except StoreUnavailable as error:
            log.error("%s", error)
            return EXIT_CANNOT_START
    apply_discord_urls(settings)
    return run_in_loop(factory, run(settings, force_sync=args.sync))


if __name__ == "__main__":
    sys.exit(main())
