"""Which processes sharing one SQLite file are alive, known at once rather than by a lease.

Each process holds an exclusive ``flock`` on a file of its own, named by its journal owner
id, in a folder beside the database (``bot.sqlite3.owners/<owner>.lock``), for as long as it
lives: the kernel lets go of the lock the moment the process ends, however it ends
(``kill -9``, the OOM killer). Another process that can take an owner's lock knows that
owner is dead and may adopt its jobs at once, without waiting for its hold on them to run
out. An owner without a file (a process of an older version) is judged by its lease alone.

The locks are advisory, local to one host, as SQLite itself is; where ``flock`` is missing
(Windows) a dead owner is known by its lease alone, as with Redis.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Collection
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows has no flock: there a dead owner is known by its lease alone
    AVAILABLE = False
else:
    AVAILABLE = True

log = logging.getLogger(__name__)

#: Owner ids that may name a file (:func:`core.journal.new_owner_id` makes hex ones).
_OWNER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SUFFIX = ".lock"


def owners_folder(database: Path) -> Path:
    """The folder of the owners' lock files of a database file."""
    return database.with_name(database.name + ".owners")


def _try_lock(fd: int) -> bool:
    """Take ``fd``'s exclusive lock if nobody holds it; whether it is taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class OwnerLocks:
    """The lock files of the owners of one database: this process's, held while it lives,
    and the means to tell whether another owner still lives."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        #: The owners this process is, each with its lock file's descriptor.
        self._held: dict[str, int] = {}

    def _path(self, owner: str) -> Path | None:
        if _OWNER_NAME.fullmatch(owner) is None:
            return None
        return self.folder / f"{owner}{_SUFFIX}"

    def hold(self, owner: str) -> None:
        """Hold ``owner``'s lock for the life of this process (or until :meth:`release`)."""
        path = self._path(owner)
        if owner in self._held or path is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            if not _try_lock(fd):
                os.close(fd)
                log.warning("the lock of journal owner %s is held elsewhere", owner)
                return
            # Another process may have removed the file between the open and the lock, as
            # that of a dead owner: then the lock is on a file nobody can find; open anew.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    self._held[owner] = fd
                    return
            os.close(fd)

    def is_dead(self, owner: str) -> bool:
        """Whether ``owner`` is known to be dead: it has a lock file nobody holds.

        An owner this process is, or one without a file, is not known to be dead."""
        path = self._path(owner)
        if owner in self._held or path is None:
            return False
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            return _try_lock(fd)
        finally:
            os.close(fd)  # lets go of the lock too

    def reap(self, owner: str) -> None:
        """Remove the lock file of an owner found dead (its jobs are adopted)."""
        path = self._path(owner)
        if path is None or owner in self._held:
            return
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDWR)
            try:
                if _try_lock(fd):
                    path.unlink()
            finally:
                os.close(fd)

    def dead_files(self) -> list[str]:
        """The owners whose lock file nobody holds (processes that ended)."""
        if not self.folder.is_dir():
            return []
        owners = [path.name.removesuffix(_SUFFIX) for path in self.folder.glob(f"*{_SUFFIX}")]
        return [owner for owner in owners if self.is_dead(owner)]

    @property
    def held(self) -> list[str]:
        """The owners this process holds the lock of."""
        return list(self._held)

    def release(self, *, keep: Collection[str] = ()) -> None:
        """Let go of every lock this process holds (when the store closes), removing the
        files but those in ``keep`` (owners with jobs left under their names)."""
        held, self._held = self._held, {}
        for owner, fd in held.items():
            path = self._path(owner)
            if owner not in keep and path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
            os.close(fd)
