"""``python bot.py --check``: prove the settings before going live, without generating.

Each check gives one :class:`Check`, passed or failed with a short reason. The reasons are
scrubbed of the Discord token, the API key and the Redis URL: nothing here prints a secret.
What a check cannot prove it says so, rather than passing silently.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import yarl

from config import Settings
from core.classify import REDACTED, short_detail
from core.storage import make_store

#: Discord's REST base when DISCORD_API_BASE_URL is not set (discord.py's own default).
DISCORD_API_BASE = "https://discord.com/api/v10"
#: The gateway version and encoding discord.py speaks.
GATEWAY_QUERY = {"v": "10", "encoding": "json"}
#: Each check gives up after this long.
CHECK_SECONDS = 15.0
MODELS_PATH = "/v1/models"
_HELLO = 10
#: A meta key written to prove the store takes writes.
PROBE_KEY = "preflight"
_UNAUTHORIZED = (401, 403)


@dataclass(frozen=True, slots=True)
class Check:
    """The result of one check."""

    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        """``PASS name: detail`` or ``FAIL name: detail``."""
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.detail}"


class Preflight:
    """Runs every check against one settings object, with one HTTP session."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session
        self._secrets = [
            settings.discord_token.get_secret_value(),
            settings.grok_api_key.get_secret_value(),
        ]
        if settings.redis_url is not None:
            self._secrets.append(settings.redis_url.get_secret_value())

    def scrub(self, text: str) -> str:
        """``text`` on one short line with every secret of the settings replaced."""
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, REDACTED)
        return short_detail(text, limit=200)

    async def run(self) -> list[Check]:
        """Every check, in order; none raises."""
        checks: list[tuple[str, Callable[[], Awaitable[Check]]]] = [
            ("Discord token", self.discord_token),
            ("Discord gateway", self.discord_gateway),
            ("store", self.store),
            ("image API", self.image_api),
        ]
        results = [Check("settings", True, "valid")]
        for name, check in checks:
            try:
                async with asyncio.timeout(CHECK_SECONDS):
                    results.append(await check())
            except TimeoutError:
                results.append(Check(name, False, f"no answer within {CHECK_SECONDS:g}s"))
            except Exception as error:
                results.append(Check(name, False, self.scrub(f"{type(error).__name__}: {error}")))
        return results

    @property
    def rest_base(self) -> str:
        return (self.settings.discord_api_base_url or DISCORD_API_BASE).rstrip("/")

    def _bot_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bot {self.settings.discord_token.get_secret_value()}"}

    async def discord_token(self) -> Check:
        """``GET /users/@me``: Discord knows the token."""
        name = "Discord token"
        url = f"{self.rest_base}/users/@me"
        try:
            async with self.session.get(url, headers=self._bot_headers()) as resp:
                if resp.status in _UNAUTHORIZED:
                    return Check(name, False, f"rejected by Discord (HTTP {resp.status})")
                if resp.status != 200:
                    return Check(name, False, f"HTTP {resp.status} from {self.rest_base}")
                user = await resp.json()
        except aiohttp.ClientError as error:
            return Check(name, False, self.scrub(f"{self.rest_base} unreachable: {error}"))
        return Check(name, True, f"accepted: the bot is {user.get('username')} ({user.get('id')})")

    async def discord_gateway(self) -> Check:
        """``GET /gateway/bot``, then a websocket to the gateway until its HELLO."""
        name = "Discord gateway"
        url = f"{self.rest_base}/gateway/bot"
        try:
            async with self.session.get(url, headers=self._bot_headers()) as resp:
                if resp.status != 200:
                    return Check(name, False, f"GET /gateway/bot answered HTTP {resp.status}")
                info = await resp.json()
        except aiohttp.ClientError as error:
            return Check(name, False, self.scrub(f"{self.rest_base} unreachable: {error}"))
        gateway = yarl.URL(self.settings.discord_gateway_url or str(info.get("url", "")))
        target = gateway.with_query(GATEWAY_QUERY)
        try:
            async with self.session.ws_connect(target) as ws:
                message = await ws.receive()
                if message.type is not aiohttp.WSMsgType.TEXT:
                    return Check(name, False, f"{gateway} sent no HELLO ({message.type.name})")
                payload = json.loads(message.data)
        except (aiohttp.ClientError, ValueError) as error:
            return Check(name, False, self.scrub(f"{gateway} unreachable: {error}"))
        if not isinstance(payload, dict) or payload.get("op") != _HELLO:
            return Check(name, False, f"{gateway} sent something other than HELLO")
        shards = info.get("shards")
        return Check(name, True, f"{gateway} said HELLO (Discord recommends {shards} shard(s))")

    async def store(self) -> Check:
        """SQLite: the file opens and takes a write. Redis: it answers and takes a write."""
        settings = self.settings
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        where = "Redis (REDIS_URL)" if redis_url else f"SQLite at {settings.database_path}"
        store = make_store(settings.database_path, redis_url)
        try:
            await store.open()
            await store.set_meta(PROBE_KEY, str(int(time.time())))
            await store.get_meta(PROBE_KEY)
        except Exception as error:
            return Check("store", False, self.scrub(f"{where}: {type(error).__name__}: {error}"))
        finally:
            await store.close()
        return Check("store", True, f"{where} writable")

    async def image_api(self) -> Check:
        """``GET /v1/models`` with the key: reachable and the key accepted, where the
        gateway lists models; where it does not, only reachability is proven."""
        name = "image API"
        base = self.settings.grok_api_base_url.rstrip("/")
        root = base[: -len("/v1")] if base.endswith("/v1") else base
        headers = {"Authorization": f"Bearer {self.settings.grok_api_key.get_secret_value()}"}
        try:
            async with self.session.get(root + MODELS_PATH, headers=headers) as resp:
                status = resp.status
                body = await resp.json(content_type=None) if status == 200 else None
        except (aiohttp.ClientError, ValueError) as error:
            return Check(name, False, self.scrub(f"{root} unreachable: {error}"))
        if status in _UNAUTHORIZED:
            return Check(name, False, f"{root} rejected GROK_API_KEY (HTTP {status})")
        if status != 200:
            return Check(
                name,
                True,
                f"{root} reachable, but the key could not be proven: it has no {MODELS_PATH} "
                f"(HTTP {status}); nothing was generated to prove it",
            )
        listed = {item.get("id") for item in (body or {}).get("data", []) if isinstance(item, dict)}
        missing = [model for model in self.settings.grok_models if model not in listed]
        if missing and listed:
            return Check(
                name, True, f"{root} accepted the key; not listed there: {', '.join(missing)}"
            )
        return Check(name, True, f"{root} accepted the key ({len(listed)} model(s) listed)")


async def preflight(settings: Settings) -> list[Check]:
    """Run every check of :class:`Preflight` with a session of its own."""
    timeout = aiohttp.ClientTimeout(total=CHECK_SECONDS, sock_connect=CHECK_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        return await Preflight(settings, session).run()
