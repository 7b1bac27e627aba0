"""The Responses API served natively (OpenAI's ``/v1/responses``): its stream relayed byte for byte with
the usage, finish, response id and end noted on the way."""

from __future__ import annotations

from typing import Any

import orjson

from byokgate.domain.responses_format import canonical_usage, finish_of
from byokgate.domain.sse import EventSplitter, data_of, terminated
from byokgate.domain.stream import StreamTally

RESPONSES = "responses"  # the front door's API name (``native_apis``), and its path under the base URL

_PREAMBLE = frozenset({"response.created", "response.in_progress", "response.queued"})
_ENDS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesRelay:
    """Native Responses streams: each event forwarded as the provider framed it, its ``data`` still parsed
    so that the record gets the usage and the response id; ``error`` and ``response.failed`` end it."""

    def __init__(self) -> None:
        self.tally = StreamTally()
        self._events = EventSplitter()

    def finish(self) -> list[bytes]:
        return []

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        for raw in self._events.feed(chunk):
            if self.tally.error is not None:
                break
            payload = data_of(raw)
            try:
                event = orjson.loads(payload) if payload else None
            except orjson.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                self.tally.dropped += 1  # skipped: the rest of the stream may well complete
                continue
            self.tally.events += 1
            self._note(event)
            out.append(terminated(raw))
        return out

    def _note(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        tally = self.tally
        if not tally.content and kind not in _PREAMBLE and kind != "error":
            tally.content = True
        response = event.get("response")
        if kind == "response.created" and isinstance(response, dict):
            answer_id = response.get("id")
            tally.answer_id = answer_id if isinstance(answer_id, str) else None
        elif kind in _ENDS and isinstance(response, dict):
            tally.usage = canonical_usage(response.get("usage")) or None
            if kind == "response.failed":
                error = response.get("error")
                tally.error = error if isinstance(error, dict) else {"message": "the response failed"}
            else:
                tally.finish_reason = finish_of(response)
                tally.done = True
        elif kind == "error":
            tally.error = {"message": str(event.get("message") or "an error event")}
