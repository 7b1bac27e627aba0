"""What front doors, the executor, the cache and adapters share about streams and untranslatable requests.

An ``EventStream`` takes the upstream body as it arrives and gives back complete SSE events to send on, in
the format the client asked for; its ``StreamTally`` says what the stream carried (usage, finish reason,
a clean end, an error). Adapters make them (a provider's stream as canonical chunk events), front doors
wrap them (canonical events as their own format), the relay drives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class TranslationError(Exception):
    """The request cannot be expressed for this provider or format: the client gets a 400 naming the
    parameter."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str = "unsupported_parameter"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class UpstreamFormatError(Exception):
    """A provider's successful answer that cannot be read (not JSON, wrong shape): a 502 for the client."""


@dataclass(slots=True)
class StreamTally:
    """What a relayed or translated stream learned: usage (canonical terms), finish reason, clean end, or
    an error."""

    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    done: bool = False
    error: dict[str, Any] | None = None
    events: int = 0
    dropped: int = 0  # malformed events skipped (counted and logged, the stream goes on)
    content: bool = False  # something for the client arrived: text, a tool call, reasoning or the finish
    answer_id: str | None = None  # the provider's id of the answer, where a native stream names it
    # The usage chunk the gateway asked upstream for but the client did not (the relay drops it and keeps
    # its event here: a streamed cache miss stores it with the answer).
    withheld: bytes = b""


class EventStream(Protocol):
    """Feed raw upstream bytes as they arrive; get back complete SSE events to send on."""

    tally: StreamTally

    def feed(self, chunk: bytes) -> list[bytes]: ...

    def finish(self) -> list[bytes]:
        """The upstream body ended: any closing events (for formats without an end marker of their own)."""
        ...
