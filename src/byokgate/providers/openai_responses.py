"""The Responses API served natively (OpenAI's ``/v1/responses``): its stream relayed byte for byte with
the usage, finish, response id and end noted on the way."""

from __future__ import annotations

from typing import Any

from byokgate.domain.responses_format import canonical_usage, finish_of
from byokgate.providers.event_relay import EventRelay

RESPONSES = "responses"  # the front door's API name (``native_apis``), and its path under the base URL

_PREAMBLE = frozenset({"response.created", "response.in_progress", "response.queued"})
_ENDS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesRelay(EventRelay):
    """Native Responses streams: each event forwarded as the provider framed it, its ``data`` still parsed
    so that the record gets the usage and the response id; ``error`` and ``response.failed`` end it."""

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
