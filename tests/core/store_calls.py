"""The stores' tests speak through these: an admission with defaults, and a claim or a
reservation alone, each made through ``Store.admit`` as the bot makes them."""

from __future__ import annotations

import asyncio
import itertools

from core import quota
from core.cooldown import Decision
from core.quota import QuotaDecision
from core.spend import SpendAsk
from core.storage import AdmitRequest, Store


async def admit(
    store: Store,
    user_id: int,
    job_id: str,
    *,
    units: int = 1,
    exempt: bool = False,
    guild_id: int | None = 1,
    user_limit: int = 0,
    guild_limit: int = 0,
    spend: SpendAsk | None = None,
    meter: quota.Meter = quota.Meter.IMAGES,
) -> quota.Admission:
    """An admission of ``units`` (images, or seconds of video: see ``meter``) for member
    ``user_id`` in server ``guild_id`` (1 by default; None for a direct message), under no
    limit unless one is given."""
    return await store.admit(
        AdmitRequest(
            user_id=user_id,
            job_id=job_id,
            exempt=exempt,
            guild_id=guild_id,
            units=units,
            user_limit=user_limit,
            guild_limit=guild_limit,
            spend=spend,
            meter=meter,
        )
    )


async def claim(store: Store, user_id: int, job_id: str, *, exempt: bool = False) -> Decision:
    """A claim alone: an admission of no images, under no limit."""
    admission = await admit(store, user_id, job_id, units=0, exempt=exempt)
    assert admission.quota is None or admission.quota.allowed
    return admission.claim


_reservations = itertools.count()


async def reserve(
    store: Store,
    *,
    guild_id: int | None,
    user_id: int,
    images: int,
    user_limit: int,
    guild_limit: int,
) -> QuotaDecision:
    """A reservation alone: an exempt admission (a cooldown left by an earlier test step
    does not stand in the way) whose claim ends at once, undelivered (so no cooldown comes
    of it). Parallel reservations of one member take turns at the claim, as the member's
    jobs do; what is counted is what is tested."""
    job_id = f"reservation{next(_reservations)}"
    for _ in range(10_000):
        admission = await admit(
            store,
            user_id,
            job_id,
            units=images,
            exempt=True,
            guild_id=guild_id,
            user_limit=user_limit,
            guild_limit=guild_limit,
        )
        if admission.claim.allowed:
            break
        await asyncio.sleep(0)  # another reservation of the member holds the claim
    assert admission.quota is not None
    if admission.allowed:
        await store.end_claim(user_id, job_id, delivered=False, cooldown_seconds=0)
    return admission.quota
