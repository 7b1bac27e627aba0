"""What one request may do with the cache: the project's settings narrowed by the client's headers.

``x-byokgate-cache: bypass`` skips the cache, ``refresh`` skips the read and stores the new answer,
``no-store`` may read but never stores; ``Cache-Control: no-cache`` is ``refresh`` and ``no-store`` is
``no-store``; ``x-byokgate-cache-ttl`` (seconds) shortens or extends the project's TTL for this entry;
``x-byokgate-cache-namespace`` partitions a project's entries (e.g. per end user or test run).
"""

from __future__ import annotations

from dataclasses import dataclass

from byokgate.domain.entities import CacheSettings
from byokgate.domain.stream import TranslationError

MAX_TTL_S = 30 * 24 * 3600
_MAX_NAMESPACE = 128
CONTROL_HEADERS = frozenset(
    {b"x-byokgate-cache", b"x-byokgate-cache-ttl", b"x-byokgate-cache-namespace", b"cache-control"}
)


@dataclass(frozen=True, slots=True)
class CachePlan:
    read: bool
    write: bool
    label: str  # the x-byokgate-cache value when the answer does not come from the cache: MISS or REFRESH
    ttl_s: int
    namespace: str
    max_entry_bytes: int


def plan_for(headers: list[tuple[bytes, bytes]], settings: CacheSettings) -> CachePlan | None:
    """None when this request does not use the cache at all (the project has it off, or ``bypass``)."""
    if not settings.enabled:
        return None
    for name, _ in headers:
        if name in CONTROL_HEADERS:
            break
    else:
        return plain_plan(settings)  # no cache headers: the project's plan as it is (most requests)
    controls = [(name, value) for name, value in headers if name in CONTROL_HEADERS]
    mode = ttl = namespace = control = None
    for name, value in controls:
        if name == b"x-byokgate-cache":
            mode = value.decode("latin-1").strip().lower()
        elif name == b"x-byokgate-cache-ttl":
            ttl = value.decode("latin-1").strip()
        elif name == b"x-byokgate-cache-namespace":
            namespace = value.decode("latin-1")
        elif name == b"cache-control":
            control = {part.strip().lower() for part in value.decode("latin-1").split(",")}
    if mode not in (None, "bypass", "refresh", "no-store"):
        raise TranslationError(
            "x-byokgate-cache must be one of bypass, refresh, no-store",
            param="x-byokgate-cache",
            code="invalid_header",
        )
    if mode == "bypass":
        return None
    read, write, label = True, True, "MISS"
    if mode == "refresh" or (control and "no-cache" in control):
        read, label = False, "REFRESH"
    if mode == "no-store" or (control and "no-store" in control):
        write = False
    ttl_s = settings.ttl_s
    if ttl is not None:
        if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL_S:
            raise TranslationError(
                f"x-byokgate-cache-ttl must be whole seconds between 1 and {MAX_TTL_S}",
                param="x-byokgate-cache-ttl",
                code="invalid_header",
            )
        ttl_s = int(ttl)
    if namespace is not None and len(namespace) > _MAX_NAMESPACE:
        raise TranslationError(
            f"x-byokgate-cache-namespace is limited to {_MAX_NAMESPACE} characters",
            param="x-byokgate-cache-namespace",
            code="invalid_header",
        )
    return CachePlan(read, write, label, ttl_s, namespace or "", settings.max_entry_bytes)


def plain_plan(settings: CacheSettings) -> CachePlan:
    """The plan of a request without cache headers, for enabled ``settings``."""
    return CachePlan(True, True, "MISS", settings.ttl_s, "", settings.max_entry_bytes)
