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


def check_number(value: Any, param: str, low: float, high: float | None, *, integer: bool) -> Any:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        raise invalid_type(param, "an integer" if integer else "a decimal", value)
    word = "integer" if integer else "decimal"
    if value < low or (high is not None and value > high):
        side, bound, sign = ("below minimum", low, ">=") if value < low else ("above maximum", high, "<=")
        message = (
            f"Invalid '{param}': {word} {side} value. "
            f"Expected a value {sign} {bound:g}, but got {value} instead."
        )
        code = f"{word}_{'below_min' if value < low else 'above_max'}_value"
        raise ApiError(400, message, param=param, code=code)
    return value


def enum_field(value: Any, param: str, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if value not in allowed:
        raise invalid_value(param, value, allowed)
    return value
