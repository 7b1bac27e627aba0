"""The semantic index: for each exact-match bucket, the vectors of the stored answers' last user turns.

A vector is L2-normalised float32 bytes, so cosine similarity is one dot product; a search computes the
bucket's matrix times the query (NumPy, imported on first use so deployments without the semantic cache do
not pay for it). An index entry only points at an exact-cache entry: the answer itself lives once, in the
cache store, and a pointer whose entry expired or was evicted is simply a miss.

``MemoryIndex`` is the in-process default, bounded by bytes with least-recently-used buckets dropped first.
The Redis index (``redis_vectors.py``) shares the same entries between instances.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

MAX_PER_BUCKET = 2048  # the oldest entries of a bucket go first past this
_ENTRY_OVERHEAD = 200  # bytes per entry beyond the vector and key (list slots, floats, bytes headers)


class SemanticIndex(Protocol):
    async def search(self, bucket: str, vector: bytes) -> tuple[str, float] | None:
        """The entry key most similar to ``vector`` in ``bucket`` and its cosine similarity, if any."""
        ...

    async def add(self, bucket: str, vector: bytes, entry_key: str, ttl_s: float) -> None: ...

    async def purge(self, project_id: str) -> int:
        """Drop every bucket of one project; returns how many entries went."""
        ...

    async def aclose(self) -> None: ...


def normalised(values: Sequence[float]) -> bytes:
    """An embedding as L2-normalised little-endian float32 bytes (what the index stores and compares)."""
    import numpy as np

    array = np.asarray(values, dtype="<f4")
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError("an embedding must be a non-empty list of finite numbers")
    norm = float(np.linalg.norm(array))
    if norm == 0.0:
        raise ValueError("an all-zero embedding has no direction")
    return (array / norm).astype("<f4").tobytes()


def best_match(rows: Sequence[bytes], query: bytes) -> tuple[int, float] | None:
    """Index and similarity of the row closest to ``query``; rows of another dimension never match."""
    import numpy as np

    same = [index for index, row in enumerate(rows) if len(row) == len(query)]
    if not same:
        return None
    matrix = np.frombuffer(b"".join(rows[index] for index in same), dtype="<f4").reshape(len(same), -1)
    scores = matrix @ np.frombuffer(query, dtype="<f4")
    best = int(np.argmax(scores))
    return same[best], float(scores[best])


@dataclass(slots=True)
class _Bucket:
    keys: list[str] = field(default_factory=list)
    expires: list[float] = field(default_factory=list)
    rows: list[bytes] = field(default_factory=list)
    matrix: np.ndarray | None = None  # the rows stacked, rebuilt after a change

    def cost(self, index: int) -> int:
        return len(self.rows[index]) + len(self.keys[index]) + _ENTRY_OVERHEAD

    def remove(self, index: int) -> int:
        cost = self.cost(index)
        del self.keys[index], self.expires[index], self.rows[index]
        self.matrix = None
        return cost


class MemoryIndex:
    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._max_bytes = max_bytes
        self.size = 0

    async def search(self, bucket: str, vector: bytes) -> tuple[str, float] | None:
        entries = self._buckets.get(bucket)
        if entries is None:
            return None
        self._buckets.move_to_end(bucket)
        now = time.monotonic()
        for index in range(len(entries.keys) - 1, -1, -1):
            if entries.expires[index] <= now:
                self.size -= entries.remove(index)
        if not entries.keys:
            del self._buckets[bucket]
            return None
        found = self._best(entries, vector)
        return None if found is None else (entries.keys[found[0]], found[1])

    @staticmethod
    def _best(entries: _Bucket, vector: bytes) -> tuple[int, float] | None:
        import numpy as np

        if entries.matrix is None or entries.matrix.shape[1] * 4 != len(vector):
            if any(len(row) != len(vector) for row in entries.rows):
                return best_match(entries.rows, vector)  # mixed dimensions (the model changed): no cache
            entries.matrix = np.frombuffer(b"".join(entries.rows), dtype="<f4").reshape(len(entries.rows), -1)
        scores = entries.matrix @ np.frombuffer(vector, dtype="<f4")
        best = int(np.argmax(scores))
        return best, float(scores[best])

    async def add(self, bucket: str, vector: bytes, entry_key: str, ttl_s: float) -> None:
        entries = self._buckets.get(bucket)
        if entries is None:
            entries = self._buckets[bucket] = _Bucket()
        self._buckets.move_to_end(bucket)
        if entry_key in entries.keys:
            self.size -= entries.remove(entries.keys.index(entry_key))
        entries.keys.append(entry_key)
        entries.expires.append(time.monotonic() + ttl_s)
        entries.rows.append(bytes(vector))
        entries.matrix = None
        self.size += entries.cost(len(entries.keys) - 1)
        while len(entries.keys) > MAX_PER_BUCKET:
            self.size -= entries.remove(0)
        while self.size > self._max_bytes and self._buckets:
            _, oldest = self._buckets.popitem(last=False)
            self.size -= sum(oldest.cost(index) for index in range(len(oldest.keys)))

    async def purge(self, project_id: str) -> int:
        prefix = f"{project_id}:"
        doomed = [bucket for bucket in self._buckets if bucket.startswith(prefix)]
        removed = 0
        for bucket in doomed:
            entries = self._buckets.pop(bucket)
            removed += len(entries.keys)
            self.size -= sum(entries.cost(index) for index in range(len(entries.keys)))
        return removed

    async def aclose(self) -> None:
        self._buckets.clear()
        self.size = 0
