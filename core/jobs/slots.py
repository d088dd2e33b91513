"""The API slots of this process's jobs: one of ``MAX_CONCURRENT_JOBS`` shared by every
process on the store, held while a job calls the image service and uploads its result."""

from __future__ import annotations

import logging

from core import journal
from core.storage import Store

log = logging.getLogger(__name__)


class ApiSlots:
    """Takes, frees and renews the store's API slots for the jobs of this process."""

    def __init__(self, store: Store, *, cap: int) -> None:
        self._store = store
        self.cap = cap
        #: The jobs of this process holding a slot (renewed by the journal sweep).
        self.held: set[str] = set()

    async def take(self, job_id: str) -> bool:
        """Take a slot for ``job_id`` if one is free; whether it holds one now."""
        taken = await self._store.acquire_slot(
            job_id, cap=self.cap, lease_seconds=journal.LEASE_SECONDS
        )
        if taken:
            self.held.add(job_id)
        return taken

    async def free(self, job_id: str) -> None:
        """Free ``job_id``'s slot (nothing if it holds none); never raises."""
        self.held.discard(job_id)
        try:
            await self._store.free_slot(job_id)
        except Exception:
            # Its lease runs out instead: the slot is free again within a minute or two.
            log.exception("job %s: could not free its API slot", job_id)

    async def renew(self) -> None:
        """Extend the lease of every slot this process holds."""
        if self.held:
            await self._store.renew_slots(list(self.held), lease_seconds=journal.LEASE_SECONDS)
