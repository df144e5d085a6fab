"""Hand-off of extracted text from the extraction activity to the inference activity.

The text travels between them through blob storage (``jobs/<job_id>/text.txt``), never
through workflow history. When both activities run on the same worker – the common case –
this small per-process cache saves the round trip; on a miss the blob is read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class TextCache:
    def __init__(self, max_entries: int = 64) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def put(self, uri: str, text: str) -> None:
        with self._lock:
            self._items[uri] = text
            self._items.move_to_end(uri)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def take(self, uri: str) -> str | None:
        """Remove and return the text: each text is used once, so memory stays flat."""
        with self._lock:
            return self._items.pop(uri, None)
