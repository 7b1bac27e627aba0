"""Carrying on a stream that broke after reaching the client, on a fallback that accepts an assistant prefill.

Once a stream's first content has reached the client nothing else can be sent in its place: without
continuation a break ends it with an in-band error. With continuation (an opt-in, per route or gateway-wide)
the relay keeps the response open instead, and the chain asks the next targets whose provider accepts an
assistant prefill to continue the answer: the request again, its messages followed by an assistant message
holding the text the client already has. Their stream is relayed into the open response after the first
one's. A continuation that fails before its first content (a refused prefill, a 5xx) is one more attempt,
never the error the client sees: when none carries on, the stream ends with the first break's error.

Only a plain-text answer can be carried on this way: once the client has been sent a tool call, a second
choice or a refusal, a break ends the stream. ``Transcript`` reads the text from the door's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import orjson

from byokgate.domain.sse import data_of


class Transcript(Protocol):
    """What the client has been sent of an answer, read from the door's events as they go out."""

    @property
    def text(self) -> str:
        """The answer's text so far."""
        ...

    @property
    def continuable(self) -> bool:
        """Whether a prefill of ``text`` carries the answer on (plain text, and some of it)."""
        ...

    def add(self, events: list[bytes]) -> None: ...


@dataclass(slots=True)
class ChunkTranscript:
    """The text of choice 0 of a chat-completions stream (the canonical format's chunks)."""

    parts: list[str] = field(default_factory=list)
    plain: bool = True  # no tool call, function call, refusal or second choice so far

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def continuable(self) -> bool:
        return self.plain and any(part.strip() for part in self.parts)

    def add(self, events: list[bytes]) -> None:
        if not self.plain:
            return
        for event in events:
            data = data_of(event)
            if not data.startswith(b"{"):
                continue  # [DONE], a comment
            try:
                chunk = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            choices = chunk.get("choices") if isinstance(chunk, dict) else None
            for choice in choices if isinstance(choices, list) else ():
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta")
                if not isinstance(delta, dict):
                    continue
                if choice.get("index", 0) != 0 or _not_text(delta):
                    self.plain = False
                    return
                content = delta.get("content")
                if isinstance(content, str):
                    self.parts.append(content)


def _not_text(delta: dict[str, object]) -> bool:
    return bool(delta.get("tool_calls") or delta.get("function_call") or delta.get("refusal"))


@dataclass(slots=True)
class Broken:
    """A stream that broke after reaching the client, its response still open for a continuation."""

    message: str  # why it broke: the in-band error the client gets if no continuation carries on
    transcript: Transcript
