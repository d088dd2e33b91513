"""The image client tells its observer of each retry, by reason."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from core.client import ImageClient
from core.errors import ContentRefused
from core.models import GenerationRequest
from core.retry import RetryPolicy
from tests.fakes.image_api import FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=1.0, total_budget=30.0)


class Retries:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def api_retry(self, reason: str) -> None:
        self.reasons.append(reason)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeImageAPI]:
    async with FakeImageAPI() as server:
        yield server


async def generate(api: FakeImageAPI, retries: Retries) -> None:
    async with aiohttp.ClientSession() as session:
        client = ImageClient(
            session,
            base_url=api.base_url,
            api_key=api.api_key,
            retry=FAST_RETRY,
            rng=random.Random(0),
            observer=retries,
        )
        await client.generate(GenerationRequest(prompt="a fox", model="grok-imagine-image"))


async def test_each_retry_is_heard_with_its_reason(api: FakeImageAPI) -> None:
    api.script(
        Scripted(status=429, text="slow down", headers={"Retry-After": "0"}),
        Scripted(status=503, text="busy"),
    )
    retries = Retries()
    await generate(api, retries)
    assert retries.reasons == ["rate_limited", "api_unavailable"]


async def test_a_refusal_is_not_retried_nor_heard(api: FakeImageAPI) -> None:
    api.script(Scripted(withheld=[0]))
    retries = Retries()
    with pytest.raises(ContentRefused):
        await generate(api, retries)
    assert retries.reasons == []
