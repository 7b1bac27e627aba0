"""Field checks worded like the Anthropic API's 400s, which quote pydantic: `<dotted.path>: <problem>`.

e.g. `max_tokens: Field required`, `temperature: Extra inputs are not permitted`,
`messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', ...` (tagged unions put
the tag in the path). Every function raises `ApiError(400, ...)` of type `invalid_request_error`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from byokgate.emulators.profile import ApiError


def invalid(message: str) -> ApiError:
    return ApiError(400, message, type="invalid_request_error")


def join(path: str, name: str | int) -> str:
    return f"{path}.{name}" if path else str(name)


def literal_text(allowed: Sequence[str]) -> str:
    quoted = [f"'{item}'" for item in allowed]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


def fields(
    obj: Mapping[str, Any], path: str, allowed: Collection[str], required: Collection[str] = ()
) -> None:
    """Reject unknown keys and missing required ones."""
    for name in required:
        if name not in obj:
            raise invalid(f"{join(path, name)}: Field required")
    for name in obj:
        if name not in allowed:
            raise invalid(f"{join(path, name)}: Extra inputs are not permitted")


def as_dict(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{path}: Input should be a valid dictionary or object to extract fields from")
    return value


def as_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(f"{path}: Input should be a valid list")
    return value


def as_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise invalid(f"{path}: Input should be a valid string")
    return value


def as_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(f"{path}: Input should be a valid boolean")
    return value


def as_int(value: Any, path: str, *, ge: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{path}: Input should be a valid integer")
    if ge is not None and value < ge:
        raise invalid(f"{path}: Input should be greater than or equal to {ge}")
    return value


def as_number(value: Any, path: str, *, ge: float, le: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{path}: Input should be a valid number")
    if value < ge:
        raise invalid(f"{path}: Input should be greater than or equal to {ge:g}")
    if value > le:
        raise invalid(f"{path}: Input should be less than or equal to {le:g}")
    return float(value)


def one_of(value: Any, path: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise invalid(f"{path}: Input should be {literal_text(allowed)}")
    return str(value)


def tag(obj: Mapping[str, Any], path: str, allowed: Sequence[str]) -> str:
    """The `type` of a tagged-union member."""
    if "type" not in obj:
        raise invalid(f"{path}: Unable to extract tag using discriminator 'type'")
    kind = obj["type"]
    if not isinstance(kind, str) or kind not in allowed:
        expected = ", ".join(f"'{item}'" for item in allowed)
        problem = f"Input tag '{kind}' found using 'type' does not match any of the expected tags"
        raise invalid(f"{path}: {problem}: {expected}")
    return kind


def cache_control(value: Any, path: str) -> None:
    """`{type: "ephemeral", ttl?: "5m" | "1h"}` or null."""
    if value is None:
        return
    control = as_dict(value, path)
    kind = tag(control, path, ("ephemeral",))
    fields(control, join(path, kind), ("type", "ttl"))
    if "ttl" in control:
        one_of(control["ttl"], join(join(path, kind), "ttl"), ("5m", "1h"))
