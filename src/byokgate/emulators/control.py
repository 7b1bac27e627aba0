"""The emulator control API under `/_emulator/` (no provider has it, and it needs no key).

- `POST /_emulator/faults`: arm faults; body a fault object, a list of them, or `{"faults": [...]}`
  (fields as `faults.Fault`: `kind`, `count`, `retry_after_s`, `delay_ms`, `after_chunks`, `endpoint`,
  `model`; e.g. `{"kind": "429", "retry_after_s": null}` is a 429 without any retry hint,
  `{"kind": "stream_stall", "after_chunks": 3, "delay_ms": 30000}`, and a `delay_ms` left out or null is
  the kind's default); a fault the answer lists back has its defaults filled in
- `GET /_emulator/faults`, `DELETE /_emulator/faults`
- `GET /_emulator/requests[?limit=N]` (the last N recorded requests), `DELETE /_emulator/requests`
- `POST /_emulator/reset` (faults and requests), `GET /_emulator/health`
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from byokgate.emulators.asgi import Send, send_json
from byokgate.emulators.faults import Fault, FaultSpecError

if TYPE_CHECKING:
    from byokgate.emulators.openai_compat import Emulator

PREFIX = "/_emulator/"


def _faults_from(body: bytes) -> list[Fault]:
    try:
        data: Any = orjson.loads(body or b"null")
    except orjson.JSONDecodeError as exc:
        raise FaultSpecError("the body is not valid JSON") from exc
    if isinstance(data, dict) and "faults" in data:
        data = data["faults"]
    items = data if isinstance(data, list) else [data]
    return [Fault.from_json(item) for item in items]


async def handle(emulator: Emulator, method: str, path: str, query: str, body: bytes, send: Send) -> None:
    """Answer one control request."""
    action = path[len(PREFIX) :].rstrip("/")
    if action == "faults" and method == "POST":
        try:
            faults = _faults_from(body)
        except (FaultSpecError, TypeError) as exc:
            await send_json(send, 400, {"error": str(exc)})
            return
        emulator.arm(*faults)
        await send_json(send, 200, {"armed": [fault.to_json() for fault in emulator.faults.armed()]})
    elif action == "faults" and method == "GET":
        await send_json(send, 200, {"armed": [fault.to_json() for fault in emulator.faults.armed()]})
    elif action == "faults" and method == "DELETE":
        emulator.clear_faults()
        await send_json(send, 200, {"armed": []})
    elif action == "requests" and method == "GET":
        requests = emulator.requests
        limit = parse_qs(query).get("limit")
        if limit and limit[0].isdigit():
            requests = requests[-int(limit[0]) :] if int(limit[0]) else []
        await send_json(send, 200, {"requests": [request.to_json() for request in requests]})
    elif action == "requests" and method == "DELETE":
        emulator.clear_requests()
        await send_json(send, 200, {"requests": []})
    elif action == "reset" and method == "POST":
        emulator.reset()
        await send_json(send, 200, {"reset": True})
    elif action == "health" and method == "GET":
        body_out = {"provider": emulator.profile.name, "base_path": emulator.profile.base_path}
        await send_json(send, 200, body_out)
    else:
        await send_json(send, 404, {"error": f"no control endpoint {method} {path}"})
