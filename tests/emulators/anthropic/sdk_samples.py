"""Request values built from the installed `anthropic` SDK's types, to check the emulator accepts all of them.

`variants(tp)` walks a param type (TypedDicts, unions, literals, lists) or a response model (pydantic, for
blocks sent back as the API returned them) and returns JSON values covering it: every optional key is
filled, and every member of every union (and every value of every literal) appears in at least one of
them; the i-th value takes the i-th variant of each key (cycling), so there are as many values as the key
with the most variants has, not their product. Values satisfy the emulator's rules beyond the types
(`OVERRIDES`: a real PNG, `image/png`, a thinking budget of 1024, a tool named `lookup`, ...).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

import pydantic
from typing_extensions import is_typeddict

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
SAMPLE_MODEL = "claude-opus-4-8"  # takes system messages and adaptive thinking
TOOL_NAME = "lookup"
TOOL_ID = "toolu_01"
SCHEMA = {"type": "object", "properties": {}}
# key -> the values that key takes (whatever its type says), or (owner type, key) -> values.
OVERRIDES: dict[str | tuple[str, str], list[Any]] = {
    "model": [SAMPLE_MODEL],
    "budget_tokens": [1024],
    "text": ["Hello"],
    "name": [TOOL_NAME],
    "tool_name": [TOOL_NAME],
    "id": [TOOL_ID],
    "tool_use_id": [TOOL_ID],
    "input_schema": [SCHEMA],
    "schema": [SCHEMA],
    ("BetaBase64ImageSourceParam", "data"): [PNG],
    ("BetaBase64ImageSourceParam", "media_type"): ["image/png"],
    ("Base64ImageSourceParam", "data"): [PNG],
    ("Base64ImageSourceParam", "media_type"): ["image/png"],
}
SCALARS: dict[Any, list[Any]] = {str: ["x"], int: [1], float: [1.0], bool: [True], object: [{}]}
ALWAYS = ("model", "input_schema", "schema")
_LISTS = {"list", "List", "Iterable", "Sequence", "SequenceNotStr"}
MAX_DEPTH = 12


def _override(key: str, owner: str, tp: Any) -> list[Any] | None:
    """The values `OVERRIDES` gives: by owner and key, else by key for a plain string, integer or
    dictionary (not a literal: a server tool's `name` stays its own), and always for `ALWAYS` keys."""
    found = OVERRIDES.get((owner, key))
    if found is None and (tp in (str, int) or get_origin(tp) is dict or key in ALWAYS):
        found = OVERRIDES.get(key)
    return found


def variants(tp: Any, key: str = "", owner: str = "", depth: int = 0) -> list[Any]:
    """JSON values of type `tp` (found at `key` of the type named `owner`) covering its variants."""
    if depth > MAX_DEPTH:
        return []
    found = _override(key, owner, tp)
    if found is not None:
        return list(found)
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Required, NotRequired, typing.Annotated):
        return variants(args[0], key, owner, depth)
    if origin in (Union, types.UnionType):
        members = [arg for arg in args if arg is not type(None)]
        return [value for member in members for value in variants(member, key, owner, depth)]
    if origin is Literal:
        return list(args)
    if origin is not None and getattr(origin, "__name__", "") in _LISTS:
        return [[value] for value in variants(args[0], key, owner, depth + 1)]
    if origin is dict:
        return [{}]
    if isinstance(tp, type) and is_typeddict(tp):
        return _cycle(tp.__name__, get_type_hints(tp, include_extras=True), depth)
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        hints = {(field.alias or name): field.annotation for name, field in tp.model_fields.items()}
        return _cycle(tp.__name__, hints, depth)
    return list(SCALARS.get(tp, []))  # IO[bytes], PathLike (file uploads): no JSON value


def _cycle(owner: str, hints: dict[str, Any], depth: int) -> list[dict[str, Any]]:
    options = {key: variants(tp, key, owner, depth + 1) for key, tp in hints.items()}
    options = {key: values for key, values in options.items() if values}
    count = max((len(values) for values in options.values()), default=1)
    return [{key: values[i % len(values)] for key, values in options.items()} for i in range(count)]


def field_variants(params: type, name: str) -> list[Any]:
    """The variants of one top-level field of a params TypedDict."""
    return variants(get_type_hints(params, include_extras=True)[name], name, params.__name__)


def fields_of(params: type) -> list[str]:
    return list(get_type_hints(params, include_extras=True))


def block_variants(message_param: type) -> list[dict[str, Any]]:
    """Every content block (param types and response models) a message of this type may carry."""
    content = get_type_hints(message_param, include_extras=True)["content"]
    values = variants(content, "content", message_param.__name__)
    return [block for value in values if isinstance(value, list) for block in value]


def conversation(block: dict[str, Any], assistant_only: Iterable[str]) -> list[dict[str, Any]]:
    """A valid conversation carrying `block` (from the role that may send it), ending with a user turn."""
    kind = block.get("type")
    question = {"role": "user", "content": "Hi"}
    if kind in set(assistant_only):
        answer: list[dict[str, Any]] = [{"role": "user", "content": "Go on"}]
        if kind == "tool_use":
            answer = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": block["id"]}]}]
        return [question, {"role": "assistant", "content": [block]}, *answer]
    if kind == "tool_result":
        call = {"type": "tool_use", "id": block["tool_use_id"], "name": TOOL_NAME, "input": {}}
        return [question, {"role": "assistant", "content": [call]}, {"role": "user", "content": [block]}]
    return [{"role": "user", "content": [block, {"type": "text", "text": "Hi"}]}]


def describe(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
