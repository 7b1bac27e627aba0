"""The stored responses of an OpenAI emulator (`store: true`, the Responses API's default).

In memory and bounded: the least recently used response is dropped past `capacity`. A response is stored
under the API key that created it; another key does not see it (the real API scopes them to a project).
Each entry keeps what the endpoints need: the response object, its own input items (`input_items`) and
the whole conversation up to and including its output (`context`, which `previous_response_id` continues).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DEFAULT_CAPACITY = 4096


@dataclass(slots=True)
class StoredResponse:
    """One stored response. `pending` holds the finished response of a background one that no one has
    polled yet (the response itself then says `queued`)."""

    response: dict[str, Any]
    input_items: list[dict[str, Any]]
    context: list[dict[str, Any]]
    pending: dict[str, Any] | None = None

    def items(self) -> Iterator[dict[str, Any]]:
        """Every item of the conversation that has an id (for `item_reference`)."""
        yield from self.context
        yield from self.response.get("output") or ()


class ResponseStore:
    """Thread-safe (tests may look from their own thread while the server answers)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], StoredResponse] = OrderedDict()

    def put(self, key: str, entry: StoredResponse) -> None:
        with self._lock:
            self._entries[(key, entry.response["id"])] = entry
            self._entries.move_to_end((key, entry.response["id"]))
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def get(self, key: str, response_id: str) -> StoredResponse | None:
        with self._lock:
            entry = self._entries.get((key, response_id))
            if entry is not None:
                self._entries.move_to_end((key, response_id))
            return entry

    def delete(self, key: str, response_id: str) -> bool:
        with self._lock:
            return self._entries.pop((key, response_id), None) is not None

    def find_item(self, key: str, item_id: str) -> dict[str, Any] | None:
        """An item of one of this key's stored conversations, by id (newest responses first)."""
        with self._lock:
            entries = [entry for (owner, _), entry in reversed(self._entries.items()) if owner == key]
        for entry in entries:
            for item in entry.items():
                if item.get("id") == item_id:
                    return item
        return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
