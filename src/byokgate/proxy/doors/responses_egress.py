"""The Responses front door's answers: a canonical answer as a ``response``, a canonical stream as the
typed Responses events (``response.created`` ... ``response.completed``). Pure.

A ``response`` echoes the request's settings (instructions, tools, text format, reasoning, sampling); its
``output`` holds a ``reasoning`` item (when the provider sent its reasoning), a ``message`` item with the
text and ``function_call`` items for tool calls. Finish ``length`` is status ``incomplete`` with reason
``max_output_tokens``, ``content_filter`` reason ``content_filter``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from byokgate.domain.chunks import read_chunks
from byokgate.domain.sse import frame_json
from byokgate.domain.stream import EventStream

_ECHOED: dict[str, Any] = {  # request field -> its default in the response object
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "prompt_cache_key": None,
    "safety_identifier": None,
    "service_tier": "default",
    "store": True,
    "temperature": 1.0,
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
}


def item_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def response_shell(body: dict[str, Any], response_id: str, model: str) -> dict[str, Any]:
    """The response object as it starts (``in_progress``, no output), echoing the request's settings."""
    shell: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "model": model,
        "output": [],
        "reasoning": {"effort": None, "summary": None},
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "usage": None,
    }
    for name, default in _ECHOED.items():
        value = body.get(name)
        shell[name] = default if value is None else value
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):
        shell["reasoning"] = {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")}
    text = body.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict):
        shell["text"] = {"format": text["format"]}
    if body.get("tool_choice") is not None:
        shell["tool_choice"] = body["tool_choice"]
    if isinstance(body.get("tools"), list):
        shell["tools"] = body["tools"]
    return shell


def responses_usage(usage: Any) -> dict[str, Any] | None:
    """Canonical (chat-completions) usage in the Responses API's terms."""
    if not isinstance(usage, dict):
        return None
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = _int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else 0
    written = _int(usage.get("cache_creation_input_tokens"))
    reasoning = (
        _int(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else 0
    )
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": _int(usage.get("total_tokens")) or prompt + completion,
    }


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def finished(shell: dict[str, Any], output: list[dict[str, Any]], finish: Any, usage: Any) -> dict[str, Any]:
    """The response once the answer is in: its output, status and usage."""
    done = {**shell, "output": output, "usage": responses_usage(usage)}
    if finish == "length":
        done["status"], done["incomplete_details"] = "incomplete", {"reason": "max_output_tokens"}
    elif finish == "content_filter":
        done["status"], done["incomplete_details"] = "incomplete", {"reason": "content_filter"}
    else:
        done["status"] = "completed"
        done["completed_at"] = int(time.time())
    return done


def reasoning_item(text: str, item: str | None = None) -> dict[str, Any]:
    return {
        "id": item or item_id("rs"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}],
    }


def message_item(text: str, status: str = "completed", item: str | None = None) -> dict[str, Any]:
    return {
        "id": item or item_id("msg"),
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [text_part(text)] if status == "completed" else [],
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


Names = dict[str, tuple[str, str]]  # a namespaced function's canonical name -> (namespace, name)


def call_item(
    call_id: str, name: str, arguments: str, names: Names, status: str = "completed"
) -> dict[str, Any]:
    item = {
        "id": item_id("fc"),
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }
    if name in names:
        item["namespace"], item["name"] = names[name]
    return item


def to_response(completion: dict[str, Any], shell: dict[str, Any], names: Names) -> dict[str, Any]:
    """A ``response`` for an OpenAI ``chat.completion``."""
    choice = (completion.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    reasoning = reply.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        output.append(reasoning_item(reasoning))
    if reply.get("content"):
        output.append(message_item(str(reply["content"])))
    elif reply.get("refusal"):
        refused = message_item("")
        refused["content"] = [{"type": "refusal", "refusal": str(reply["refusal"])}]
        output.append(refused)
    for call in reply.get("tool_calls") or ():
        function = call.get("function") or {}
        arguments = function.get("arguments")
        output.append(
            call_item(
                str(call.get("id") or item_id("call")),
                str(function.get("name") or ""),
                arguments if isinstance(arguments, str) else "{}",
                names,
            )
        )
    return finished(shell, output, choice.get("finish_reason"), completion.get("usage"))


class ResponseEvents:
    """Turns canonical chunk events (complete ``data:`` events) into Responses stream events, and keeps
    the finished ``response`` (``final``) for the conversation store."""

    def __init__(self, shell: dict[str, Any], names: Names) -> None:
        self._shell = shell
        self._names = names
        self._sequence = 0
        self._started = False
        self._output: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None  # the item being streamed (its text so far in "text")
        self._tools: dict[int, dict[str, Any]] = {}  # canonical tool-call index -> its output item
        self._finish: Any = None
        self._usage: Any = None
        self.final: dict[str, Any] | None = None
        self.closed = False

    def _event(self, kind: str, data: dict[str, Any]) -> bytes:
        framed = frame_json({"type": kind, **data, "sequence_number": self._sequence}, kind)
        self._sequence += 1
        return framed

    def error(self, message: str, code: str = "server_error") -> bytes:
        self.closed = True
        return self._event("error", {"code": code, "message": message, "param": None})

    def feed(self, events: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for chunk in read_chunks(events):
            if chunk is None:
                out.extend(self.close())
            elif self.closed:
                continue
            elif isinstance(chunk.get("error"), dict):
                out.append(self.error(str(chunk["error"].get("message") or "upstream error")))
            else:
                out.extend(self._chunk(chunk))
        return out

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        return [
            self._event("response.created", {"response": self._shell}),
            self._event("response.in_progress", {"response": self._shell}),
        ]

    def _chunk(self, chunk: dict[str, Any]) -> list[bytes]:
        out = self._start()
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content")
            if isinstance(thought, str) and thought:
                out.extend(self._text("reasoning", thought))
            text = delta.get("content")
            if isinstance(text, str) and text:
                out.extend(self._text("message", text))
            for call in delta.get("tool_calls") or ():
                out.extend(self._tool_call(call))
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return out

    def _text(self, kind: str, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self._open is None or self._open["type"] != kind:
            out.extend(self._close_item())
            out.extend(self._open_text(kind))
        item = self._open
        assert item is not None
        item["text"] += text
        index = len(self._output)
        if kind == "reasoning":
            place = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            out.append(self._event("response.reasoning_summary_text.delta", {**place, "delta": text}))
        else:
            place = {"item_id": item["id"], "output_index": index, "content_index": 0}
            out.append(self._event("response.output_text.delta", {**place, "delta": text, "logprobs": []}))
        return out

    def _open_text(self, kind: str) -> list[bytes]:
        index = len(self._output)
        if kind == "reasoning":
            item = {"id": item_id("rs"), "type": "reasoning", "summary": []}
            self._open = {**item, "text": ""}
            place = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            part = {"type": "summary_text", "text": ""}
            return [
                self._event("response.output_item.added", {"output_index": index, "item": item}),
                self._event("response.reasoning_summary_part.added", {**place, "part": part}),
            ]
        item = message_item("", status="in_progress")
        self._open = {**item, "text": ""}
        place = {"item_id": item["id"], "output_index": index, "content_index": 0}
        return [
            self._event("response.output_item.added", {"output_index": index, "item": item}),
            self._event("response.content_part.added", {**place, "part": text_part("")}),
        ]

    def _close_item(self) -> list[bytes]:
        item, self._open = self._open, None
        if item is None:
            return []
        index, text = len(self._output), item.pop("text")
        if item["type"] == "reasoning":
            done = reasoning_item(text, item["id"])
            place = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            events = [
                self._event("response.reasoning_summary_text.done", {**place, "text": text}),
                self._event("response.reasoning_summary_part.done", {**place, "part": done["summary"][0]}),
            ]
        else:
            done = message_item(text, item=item["id"])
            place = {"item_id": item["id"], "output_index": index, "content_index": 0}
            events = [
                self._event("response.output_text.done", {**place, "text": text, "logprobs": []}),
                self._event("response.content_part.done", {**place, "part": text_part(text)}),
            ]
        self._output.append(done)
        events.append(self._event("response.output_item.done", {"output_index": index, "item": done}))
        return events

    def _tool_call(self, call: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        position = int(call.get("index", 0))
        function = call.get("function") or {}
        item = self._tools.get(position)
        if item is None:
            out.extend(self._close_item())
            name = str(function.get("name") or "")
            item = call_item(str(call.get("id") or item_id("call")), name, "", self._names, "in_progress")
            self._tools[position] = item
            self._output.append(item)
            index = len(self._output) - 1
            out.append(self._event("response.output_item.added", {"output_index": index, "item": item}))
        fragment = function.get("arguments")
        if isinstance(fragment, str) and fragment:
            item["arguments"] += fragment
            index = self._output.index(item)
            place = {"item_id": item["id"], "output_index": index}
            out.append(self._event("response.function_call_arguments.delta", {**place, "delta": fragment}))
        return out

    def close(self) -> list[bytes]:
        if self.closed:
            return []
        out = [*self._start(), *self._close_item()]
        self.closed = True
        for item in self._tools.values():
            item["status"] = "completed"
            index = self._output.index(item)
            place = {"item_id": item["id"], "output_index": index}
            out.append(
                self._event(
                    "response.function_call_arguments.done",
                    {**place, "name": item["name"], "arguments": item["arguments"]},
                )
            )
            out.append(self._event("response.output_item.done", {"output_index": index, "item": item}))
        final = finished(self._shell, self._output, self._finish, self._usage)
        self.final = final
        kind = "response.completed" if final["status"] == "completed" else "response.incomplete"
        out.append(self._event(kind, {"response": final}))
        return out


class ResponseStream:
    """Any adapter's canonical ``EventStream`` re-expressed as the Responses API's events."""

    def __init__(self, inner: EventStream, events: ResponseEvents) -> None:
        self._inner = inner
        self._events = events
        self.tally = inner.tally  # the same object: usage, finish and errors as the inner stream saw them

    def feed(self, chunk: bytes) -> list[bytes]:
        return self._events.feed(self._inner.feed(chunk))

    def finish(self) -> list[bytes]:
        return self._events.feed(self._inner.finish())
