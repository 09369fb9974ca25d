"""A small in-process cache of Results: least recently used out first, each entry for a while.

Bounded in size and in age; safe to share between threads (one lock, O(1) work under it).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from engine.model import Result


class ResultLru:
    """Results by input, at most `size` of them, each kept at most `ttl_s` seconds."""

    def __init__(
        self, size: int, ttl_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if size < 0 or ttl_s < 0:
            raise ValueError("cache size and TTL must be >= 0")
        self.size = size
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Result]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Result | None:
        """The Result stored for `key` if it is still fresh, else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, result = entry
            if self._clock() >= expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return result

    def put(self, key: str, result: Result, ttl_s: float | None = None) -> None:
        """Keep `result` for `ttl_s` seconds (the cache's TTL by default)."""
        ttl_s = self.ttl_s if ttl_s is None else min(ttl_s, self.ttl_s)
        if self.size == 0 or ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl_s, result)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
