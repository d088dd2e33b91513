"""What the core tells an observer (the bot's metrics) as things happen.

The core knows nothing of Prometheus: it calls these Protocols, which the Discord layer
implements (``cogs.ops.metrics``). Every argument is bounded (a kind, an outcome, a
reason from a fixed set, a number), never a user id or a prompt.
"""

from __future__ import annotations

from typing import Protocol


class JobObserver(Protocol):
    """Hears of every job line: one per job, however it ended."""

    def job_ended(
        self, *, kind: str, outcome: str, images: int, api_seconds: float, total_seconds: float
    ) -> None:
        """A job ended with ``outcome`` after ``total_seconds``, ``api_seconds`` of them
        waiting for the image API, with ``images`` delivered."""

    def upload_replanned(self) -> None:
        """The platform refused an upload as too large (413); the job plans smaller."""

    def job_spent(self, *, kind: str, model: str, ticks: int) -> None:
        """A closed job cost ``ticks`` (1e-10 USD): the API's figure, else the estimate."""


class ApiObserver(Protocol):
    """Hears of the image API client's retries."""

    def api_retry(self, reason: str) -> None:
        """An attempt failed with ``reason`` (an outcome name) and is tried again."""
