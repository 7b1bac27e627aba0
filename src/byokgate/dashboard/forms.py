"""A dashboard form read into the admin API's own request bodies, so a setting is checked by one set of rules
whichever way it comes (the pydantic models the admin API validates its JSON with).

A form's fields are text: each is turned into the JSON value the body expects by its kind (a whole number,
a number, a decimal, a checkbox, text), an empty field being "not set" (null). What cannot be read, and
what the body's rules refuse, comes back as a message per field, for the page to show next to it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import Enum
from types import NoneType
from typing import TypeVar, get_args

from pydantic import BaseModel, ValidationError

Body = TypeVar("Body", bound=BaseModel)


class Kind(Enum):
    INT = "a whole number"
    NUMBER = "a number"
    DECIMAL = "an amount"
    CHECKBOX = "checkbox"
    TEXT = "text"


class FormErrors(Exception):
    """Messages by field name (the form's own names)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def _value(kind: Kind, text: str | None) -> object:
    if kind is Kind.CHECKBOX:
        return text is not None
    text = (text or "").strip()
    if not text:
        return None
    if kind is Kind.INT:
        if not text.lstrip("-").isdigit():
            raise ValueError(f"Type {kind.value}.")
        return int(text)
    if kind is Kind.NUMBER:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"Type {kind.value}.") from None
    if kind is Kind.DECIMAL:
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"Type {kind.value}, like 12.50.") from None
        if not amount.is_finite():
            raise ValueError(f"Type {kind.value}, like 12.50.")
        return amount
    return text


def read(body: type[Body], form: dict[str, str], fields: dict[str, Kind]) -> Body:
    """``form``'s ``fields`` as ``body``: an empty field is null where the body allows it ("no limit"),
    else an error. Raises ``FormErrors``."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, kind in fields.items():
        try:
            value = _value(kind, form.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if value is None and NoneType not in get_args(body.model_fields[name].annotation):
            errors[name] = "Fill this in."
            continue
        values[name] = value  # an emptied optional field is null on purpose ("no limit"), not the default
    if errors:
        raise FormErrors(errors)
    try:
        return body.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else next(iter(fields))
            errors.setdefault(field, _sentence(error["msg"]))
        raise FormErrors(errors) from None


def _sentence(message: str) -> str:
    """pydantic's message as a sentence: "Input should be ..." reads "Should be ..."."""
    message = message.removeprefix("Input ").removeprefix("Value error, ")
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
