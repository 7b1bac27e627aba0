"""Input items as ``GET /v1/responses/{id}/input_items`` lists them, for a response the gateway keeps:
each with an id, a message's text as content parts; pages in ``order`` (``desc`` by default) after the
item ``after``, ``limit`` (1-100, 20 by default) at a time. Pure."""

from __future__ import annotations

from typing import Any

from byokgate.errors import InvalidRequestError
from byokgate.proxy.doors.responses_egress import item_id

_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}


def listed(item: dict[str, Any]) -> dict[str, Any]:
    """An input item as it is listed: an id, a type, and a message's content as parts."""
    kind = item.get("type", "message")
    shown = {**item, "type": kind}
    if not isinstance(shown.get("id"), str):
        shown["id"] = item_id(_PREFIXES.get(str(kind), "item"))
    if kind == "message":
        shown.setdefault("status", "completed")
        content = item.get("content")
        if isinstance(content, str):
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            shown["content"] = [{"type": part, "text": content}]
    elif kind == "function_call_output":
        shown.setdefault("status", "completed")
    return shown


def page_of(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequestError(
            "Invalid value for 'order': expected one of 'asc' or 'desc'.", param="order", code="invalid_value"
        )
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise InvalidRequestError(
            "Invalid value for 'limit': expected an integer between 1 and 100.",
            param="limit",
            code="invalid_value",
        )
    ordered = items if order == "asc" else items[::-1]
    after = query.get("after")
    if after:
        ids = [item.get("id") for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(ordered) > limit,
    }
