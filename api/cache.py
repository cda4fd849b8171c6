"""A small thread-safe LRU of rendered responses.

Plans are immutable at a given version (every change bumps it), so a plan rendered at
(id, version) can be served again as bytes after one cheap version lookup; the
purchase-order feed is keyed by its query and the newest order id. The cache is per
process: several workers each warm their own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class Rendered:
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
