"""The store's run lock: one exclusive ``flock`` on ``<store>.lock``, naming its holder.

``flock`` rather than a pid file because the kernel drops the lock when its
holder dies, however it dies (SIGKILL, OOM, power cut of the process), so a
crashed run never blocks the next one and nothing has to guess whether a pid
is still alive. The lock file's text only serves the message of the run that
is turned away.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import StoreLocked

# How long a run that finds the lock held but its file empty keeps looking.
_EMPTY_RETRIES = 10
_EMPTY_WAIT_SECONDS = 0.02


@dataclass(frozen=True)
class LockHolder:
    """Who holds the store: written into the lock file, read back into the message."""

    pid: int
    host: str
    holder: str
    since: str

    @classmethod
    def current(cls, holder: str) -> LockHolder:
        """This process, doing ``holder`` (e.g. "partner-kpi sync"), from now."""
        since = datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(pid=os.getpid(), host=socket.gethostname(), holder=holder, since=since)

    def as_json(self) -> str:
        return json.dumps(
            {"pid": self.pid, "host": self.host, "holder": self.holder, "since": self.since}
        )

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} ({self.holder}, since {self.since})"


def lock_path_of(store_path: Path) -> Path:
    """The lock file beside a store file: ``partner-kpi.db`` → ``partner-kpi.db.lock``.

    Beside the file itself, symbolic links followed: two paths to one store share a lock."""
    real = store_path.resolve()
    return real.with_name(real.name + ".lock")


def _describe_text(text: str) -> str:
    try:
        data = json.loads(text)
        return LockHolder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            holder=str(data["holder"]),
            since=str(data["since"]),
        ).describe()
    except (ValueError, KeyError, TypeError):
        # a lock file from another tool or a future version: show it rather than hide it
        return f"another process ({text.strip()[:200] or 'it did not say who'})"


def _read_text(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 64 * 1024).decode("utf-8", errors="replace")


def _take(fd: int, store_path: Path) -> None:
    """Take the lock on ``fd`` or raise ``StoreLocked`` naming the holder."""
    # An empty file under a held lock means a holder just starting (not yet
    # written) or just leaving (already emptied): look again, briefly, rather
    # than turn the run away without a name, or at all.
    for _ in range(_EMPTY_RETRIES):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            text = _read_text(fd)
        if text.strip():
            who = _describe_text(text)
            break
        time.sleep(_EMPTY_WAIT_SECONDS)
    else:
        who = "another process (it did not say who)"
    raise StoreLocked(
        f"the store {store_path} is in use by {who}; wait for it to finish or stop it"
    )


@contextmanager
def hold_lock(store_path: Path, holder: str) -> Iterator[LockHolder]:
    """Hold the store's lock for the ``with`` block, or raise ``StoreLocked`` at once.

    The lock file is left in place on release: removing it would let a run that
    opened the old file before the removal and a run that creates a new one
    both believe they hold the lock.
    """
    lock_path = lock_path_of(store_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _take(fd, store_path)
        me = LockHolder.current(holder)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (me.as_json() + "\n").encode("utf-8"), 0)
        try:
            yield me
        finally:
            # emptied first, so a reader never names a holder that has already gone
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
