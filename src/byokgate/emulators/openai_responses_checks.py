"""Field checks shared by the Responses API's request modules, worded as the real API words them: an
unknown field is a 400 `unknown_parameter` ("Unknown parameter: 'text.foo'."), a wrong type `invalid_type`,
a number out of range `integer_below_min_value` / `decimal_above_max_value`..., a value outside its enum
`invalid_value`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from byokgate.emulators.profile import ApiError
from byokgate.emulators.validation import invalid_type, invalid_value


def unknown_parameter(param: str) -> ApiError:
    return ApiError(400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def check_fields(value: Mapping[str, Any], allowed: frozenset[str] | set[str], prefix: str) -> None:
    """A 400 for the first key of `value` that `allowed` does not hold (`prefix` names `value`)."""
    for key in value:
        if key not in allowed:
            raise unknown_parameter(f"{prefix}.{key}" if prefix else key)


def object_field(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_type(name, "an object", value)
    return value


def string_field(value: Any, param: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    return value


def boolean_field(value: Any, param: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_type(param, "a boolean", value)
    return value


def enum_field(value: Any, param: str, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if value not in allowed:
        raise invalid_value(param, value, allowed)
    return value
