"""Password checks that cannot be abused: throttled per user and per client address, and run
in a small bounded pool so that many concurrent guesses neither exhaust memory (argon2 uses
64 MiB per hash) nor starve other requests (waiting logins hold no thread).

The throttle is kept in the server process's memory (one uvicorn worker = one throttle).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")
MAX_KEYS = 10_000
"""Throttle entries kept (the oldest are forgotten first), so memory stays bounded."""


class TooManyAttemptsError(Exception):
    """Login refused without checking the password; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int, who: str) -> None:
        super().__init__(f"too many failed logins for this {who}; try again in {retry_after} s")
        self.retry_after = retry_after


class LoginBusyError(Exception):
    """Too many password checks are already waiting; retry shortly."""

    retry_after = 2


@dataclass
class _Entry:
    failures: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class Throttle:
    """Failed logins per key (``user:NAME``, ``addr:HOST``): after ``limit`` failures within
    ``window`` seconds every attempt is refused (429) for 1, 2, 4, ... seconds per further
    failure, at most ``max_lockout`` seconds. A success clears the user's key only."""

    def __init__(
        self,
        user_limit: int,
        address_limit: int,
        window: float = 900.0,
        max_lockout: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"user": user_limit, "addr": address_limit}
        self.window = window
        self.max_lockout = max_lockout
        self.clock = clock
        self.entries: OrderedDict[str, _Entry] = OrderedDict()
        self.lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[str]:
        return [f"user:{name.lower()}", f"addr:{address}"]

    def check(self, name: str, address: str) -> None:
        """Raise :class:`TooManyAttemptsError` while either key is locked."""
        now = self.clock()
        with self.lock:
            for key in self._keys(name, address):
                entry = self.entries.get(key)
                if entry is not None and entry.locked_until > now:
                    who = "user" if key.startswith("user:") else "address"
                    raise TooManyAttemptsError(math.ceil(entry.locked_until - now), who)

    def failure(self, name: str, address: str) -> None:
        now = self.clock()
        with self.lock:
            for key in self._keys(name, address):
                entry = self.entries.pop(key, None) or _Entry()
                if now - entry.last > self.window:
                    entry = _Entry()
                entry.failures += 1
                entry.last = now
                excess = entry.failures - self.limits[key.split(":", 1)[0]]
                if excess >= 0:
                    entry.locked_until = now + min(2.0 ** min(excess, 30), self.max_lockout)
                self.entries[key] = entry
            while len(self.entries) > MAX_KEYS:
                self.entries.popitem(last=False)

    def success(self, name: str) -> None:
        with self.lock:
            self.entries.pop(f"user:{name.lower()}", None)


class HashPool:
    """Runs password hashing in at most ``workers`` threads at once; at most ``queue`` more
    callers wait (asynchronously, holding no thread); beyond that :class:`LoginBusyError`."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self._limiter: anyio.CapacityLimiter | None = None
        self.pending = 0
        self.running = 0
        self.peak = 0
        """Most hashes ever run at the same time (for tests and monitoring)."""
        self._count = threading.Lock()

    async def run(self, func: Callable[[], T]) -> T:
        if self._limiter is None:  # created in the event loop that uses it
            self._limiter = anyio.CapacityLimiter(self.workers)
        if self.pending >= self.workers + self.queue:
            raise LoginBusyError()
        self.pending += 1
        try:
            return await anyio.to_thread.run_sync(self._counted, func, limiter=self._limiter)
        finally:
            self.pending -= 1

    def _counted(self, func: Callable[[], T]) -> T:
        with self._count:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            return func()
        finally:
            with self._count:
                self.running -= 1
