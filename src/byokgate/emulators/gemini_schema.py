"""The Gemini API's request messages as its proto3 JSON parser sees them, and that parser's errors.

Google's front end decodes a request body into the `GenerateContentRequest` proto (and friends) before
the model ever sees it. That decoding is strict about names and types, and lenient in ways clients rely on:

- every field may be spelled as its proto name (`max_output_tokens`) or its JSON name (`maxOutputTokens`);
  the `google-genai` SDK itself sends snake_case inside nested objects (`inlineData: {"mime_type": ...}`)
- an unknown name is a 400 `Invalid JSON payload received. Unknown name "x" at 'path': Cannot find field.`
  with a `google.rpc.BadRequest` field violation; all of them are reported at once, one per line
- a list where a single value belongs: `... Proto field is not repeating, cannot start list.`
- a wrong scalar: `Invalid value at 'generation_config.temperature' (TYPE_FLOAT), "hot"`
- bytes are base64, standard or URL-safe, padding optional (the SDK sends URL-safe)
- a single value where a list belongs is taken as a one-element list (Google's own curl samples send
  `"contents": {...}`); `null` means "not set"
- enum names are matched case-insensitively (lower-case schema types such as `"string"` work in
  practice; case-insensitivity for every enum is our assumption, unverified)

`parse(message, body, version)` returns the body with JSON (camelCase) names and canonical enum names, or
raises `ApiError` listing every violation. Paths in messages use proto names, map entries as
`properties[i].value`, exactly like the real messages quoted in public bug reports.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from byokgate.emulators.profile import ApiError

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
SKIP_SIGNATURE = "skip_thought_signature_validator"


@dataclass(frozen=True, slots=True)
class Field:
    """One proto field. `kind` is a scalar (`string`, `bool`, `int32`, `int64`, `float`, `double`,
    `bytes`), `struct` (any JSON object), `value` (any JSON), `enum:<Enum>` or a message name."""

    kind: str
    repeated: bool = False
    map: bool = False


def _f(kind: str) -> Field:
    return Field(kind)


def _list(kind: str) -> Field:
    return Field(kind, repeated=True)


ENUMS: dict[str, tuple[str, ...]] = {
    "Type": ("TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"),
    "FunctionCallingConfig.Mode": ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"),
    "HarmCategory": (
        "HARM_CATEGORY_UNSPECIFIED",
        "HARM_CATEGORY_DEROGATORY",
        "HARM_CATEGORY_TOXICITY",
        "HARM_CATEGORY_VIOLENCE",
        "HARM_CATEGORY_SEXUAL",
        "HARM_CATEGORY_MEDICAL",
        "HARM_CATEGORY_DANGEROUS",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    ),
    "SafetySetting.HarmBlockThreshold": (
        "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
        "BLOCK_LOW_AND_ABOVE",
        "BLOCK_MEDIUM_AND_ABOVE",
        "BLOCK_ONLY_HIGH",
        "BLOCK_NONE",
        "OFF",
    ),
    "GenerationConfig.Modality": ("MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"),
    "GenerationConfig.MediaResolution": (
        "MEDIA_RESOLUTION_UNSPECIFIED",
        "MEDIA_RESOLUTION_LOW",
        "MEDIA_RESOLUTION_MEDIUM",
        "MEDIA_RESOLUTION_HIGH",
    ),
    "ThinkingConfig.ThinkingLevel": (
        "THINKING_LEVEL_UNSPECIFIED",
        "MINIMAL",
        "LOW",
        "MEDIUM",
        "HIGH",
        "XHIGH",
    ),
    "FunctionDeclaration.Behavior": ("UNSPECIFIED", "BLOCKING", "NON_BLOCKING"),
    "FunctionResponse.Scheduling": ("SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"),
    "TaskType": (
        "TASK_TYPE_UNSPECIFIED",
        "RETRIEVAL_QUERY",
        "RETRIEVAL_DOCUMENT",
        "SEMANTIC_SIMILARITY",
        "CLASSIFICATION",
        "CLUSTERING",
        "QUESTION_ANSWERING",
        "FACT_VERIFICATION",
        "CODE_RETRIEVAL_QUERY",
    ),
}

# Proto field names per message (generative_service.proto / content.proto, v1beta), kept to what the
# Developer API accepts for these endpoints; rarely used sub-messages are `struct` (any object).
MESSAGES: dict[str, dict[str, Field]] = {
    "GenerateContentRequest": {
        "model": _f("string"),
        "system_instruction": _f("Content"),
        "contents": _list("Content"),
        "tools": _list("Tool"),
        "tool_config": _f("ToolConfig"),
        "safety_settings": _list("SafetySetting"),
        "generation_config": _f("GenerationConfig"),
        "cached_content": _f("string"),
    },
    "Content": {"parts": _list("Part"), "role": _f("string")},
    "Part": {
        "text": _f("string"),
        "inline_data": _f("Blob"),
        "function_call": _f("FunctionCall"),
        "function_response": _f("FunctionResponse"),
        "file_data": _f("FileData"),
        "executable_code": _f("struct"),
        "code_execution_result": _f("struct"),
        "video_metadata": _f("struct"),
        "thought": _f("bool"),
        "thought_signature": _f("bytes"),
        "part_metadata": _f("struct"),
        "media_resolution": _f("struct"),
    },
    "Blob": {"mime_type": _f("string"), "data": _f("bytes")},
    "FileData": {"mime_type": _f("string"), "file_uri": _f("string")},
    "FunctionCall": {"id": _f("string"), "name": _f("string"), "args": _f("struct")},
    "FunctionResponse": {
        "id": _f("string"),
        "name": _f("string"),
        "response": _f("struct"),
        "parts": _list("struct"),
        "will_continue": _f("bool"),
        "scheduling": _f("enum:FunctionResponse.Scheduling"),
    },
    "Tool": {
        "function_declarations": _list("FunctionDeclaration"),
        "google_search_retrieval": _f("struct"),
        "code_execution": _f("struct"),
        "google_search": _f("struct"),
        "url_context": _f("struct"),
        "computer_use": _f("struct"),
        "file_search": _f("struct"),
        "google_maps": _f("struct"),
    },
    "FunctionDeclaration": {
        "name": _f("string"),
        "description": _f("string"),
        "parameters": _f("Schema"),
        "parameters_json_schema": _f("value"),
        "response": _f("Schema"),
        "response_json_schema": _f("value"),
        "behavior": _f("enum:FunctionDeclaration.Behavior"),
    },
    "Schema": {
        "type": _f("enum:Type"),
        "format": _f("string"),
        "title": _f("string"),
        "description": _f("string"),
        "nullable": _f("bool"),
        "enum": _list("string"),
        "max_items": _f("int64"),
        "min_items": _f("int64"),
        "properties": Field("Schema", map=True),
        "required": _list("string"),
        "min_properties": _f("int64"),
        "max_properties": _f("int64"),
        "min_length": _f("int64"),
        "max_length": _f("int64"),
        "pattern": _f("string"),
        "example": _f("value"),
        "any_of": _list("Schema"),
        "property_ordering": _list("string"),
        "default": _f("value"),
        "items": _f("Schema"),
        "minimum": _f("double"),
        "maximum": _f("double"),
    },
    "ToolConfig": {"function_calling_config": _f("FunctionCallingConfig"), "retrieval_config": _f("struct")},
    "FunctionCallingConfig": {
        "mode": _f("enum:FunctionCallingConfig.Mode"),
        "allowed_function_names": _list("string"),
    },
    "SafetySetting": {
        "category": _f("enum:HarmCategory"),
        "threshold": _f("enum:SafetySetting.HarmBlockThreshold"),
    },
    "GenerationConfig": {
        "candidate_count": _f("int32"),
        "stop_sequences": _list("string"),
        "max_output_tokens": _f("int32"),
        "temperature": _f("float"),
        "top_p": _f("float"),
        "top_k": _f("int32"),
        "seed": _f("int32"),
        "response_mime_type": _f("string"),
        "response_schema": _f("Schema"),
        "response_json_schema": _f("value"),
        "presence_penalty": _f("float"),
        "frequency_penalty": _f("float"),
        "response_logprobs": _f("bool"),
        "logprobs": _f("int32"),
        "enable_enhanced_civic_answers": _f("bool"),
        "response_modalities": _list("enum:GenerationConfig.Modality"),
        "speech_config": _f("struct"),
        "thinking_config": _f("ThinkingConfig"),
        "image_config": _f("struct"),
        "media_resolution": _f("enum:GenerationConfig.MediaResolution"),
    },
    "ThinkingConfig": {
        "include_thoughts": _f("bool"),
        "thinking_budget": _f("int32"),
        "thinking_level": _f("enum:ThinkingConfig.ThinkingLevel"),
    },
    "CountTokensRequest": {
        "model": _f("string"),
        "contents": _list("Content"),
        "generate_content_request": _f("GenerateContentRequest"),
    },
    "EmbedContentRequest": {
        "model": _f("string"),
        "content": _f("Content"),
        "task_type": _f("enum:TaskType"),
        "title": _f("string"),
        "output_dimensionality": _f("int32"),
    },
    "BatchEmbedContentsRequest": {"requests": _list("EmbedContentRequest")},
}
# `oneof data` of Part: at most one may be set.
PART_DATA = (
    "text",
    "inlineData",
    "functionCall",
    "functionResponse",
    "fileData",
    "executableCode",
    "codeExecutionResult",
)
_SCALAR_TYPES = {
    "string": "TYPE_STRING",
    "bool": "TYPE_BOOL",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float": "TYPE_FLOAT",
    "double": "TYPE_DOUBLE",
    "bytes": "TYPE_BYTES",
}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def camel(name: str) -> str:
    """The JSON name of a proto field (`max_output_tokens` -> `maxOutputTokens`)."""
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


_LOOKUP: dict[str, dict[str, tuple[str, Field]]] = {
    message: {
        **{name: (name, field) for name, field in fields.items()},
        **{camel(name): (name, field) for name, field in fields.items()},
    }
    for message, fields in MESSAGES.items()
}


def decode_bytes(value: str) -> bytes | None:
    """Base64 as proto3 JSON accepts it (standard or URL-safe alphabet, padding optional)."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _shown(value: Any) -> str:
    return orjson.dumps(value).decode()


def field_violation(description: str, path: str | None) -> dict[str, str]:
    return {"field": path, "description": description} if path else {"description": description}


def bad_request(violations: list[dict[str, str]]) -> ApiError:
    """A 400 INVALID_ARGUMENT listing these field violations (their descriptions, one per line)."""
    message = "\n".join(violation["description"] for violation in violations)
    details = [{"@type": BAD_REQUEST, "fieldViolations": violations}]
    return ApiError(400, message, type="INVALID_ARGUMENT", metadata={"details": details})


class _Parser:
    def __init__(self, version: str) -> None:
        self.package = f"type.googleapis.com/google.ai.generativelanguage.{version}"
        self.violations: list[dict[str, str]] = []

    def _invalid(self, path: str, type_name: str, shown: str) -> None:
        self.violations.append(field_violation(f"Invalid value at '{path}' ({type_name}), {shown}", path))

    def _unknown(self, key: str, path: str, reason: str) -> None:
        where = f" at '{path}'" if path else ""
        description = f'Invalid JSON payload received. Unknown name "{key}"{where}: {reason}'
        self.violations.append(field_violation(description, path))

    def message(self, name: str, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self._invalid(path, f"{self.package}.{name}", _shown(value))
            return None
        lookup = _LOOKUP[name]
        parsed: dict[str, Any] = {}
        for key, item in value.items():
            known = lookup.get(key)
            if known is None:
                self._unknown(key, path, "Cannot find field.")
                continue
            proto_name, field = known
            if item is None:
                continue
            child = f"{path}.{proto_name}" if path else proto_name
            if isinstance(item, list) and not (field.repeated or field.kind == "value"):
                self._unknown(key, path, "Proto field is not repeating, cannot start list.")
                continue
            result = self.field(field, item, child)
            if result is not None:
                parsed[camel(proto_name)] = result
        if name == "Part":
            self._one_data_field(parsed, path)
        return parsed

    def _one_data_field(self, part: dict[str, Any], path: str) -> None:
        present = [name for name in PART_DATA if name in part]
        if len(present) > 1:
            description = (
                f"Invalid JSON payload received. Oneof field 'data' is already set. Cannot set '{present[1]}'"
            )
            self.violations.append(field_violation(description, path))

    def field(self, field: Field, value: Any, path: str) -> Any:
        if field.map:
            if not isinstance(value, dict):
                self._invalid(path, f"{self.package}.{field.kind}", _shown(value))
                return None
            entries = {}
            for index, (key, item) in enumerate(value.items()):
                entry = self.single(field.kind, item, f"{path}[{index}].value")
                if entry is not None:
                    entries[key] = entry
            return entries
        if field.repeated:
            items = value if isinstance(value, list) else [value]
            parsed = [self.single(field.kind, item, f"{path}[{index}]") for index, item in enumerate(items)]
            return [item for item in parsed if item is not None]
        return self.single(field.kind, value, path)

    def single(self, kind: str, value: Any, path: str) -> Any:
        if kind == "value":
            return value
        if kind == "struct":
            if not isinstance(value, dict):
                self._invalid(path, "type.googleapis.com/google.protobuf.Struct", _shown(value))
                return None
            return value
        if kind.startswith("enum:"):
            return self._enum(kind[5:], value, path)
        if kind in _SCALAR_TYPES:
            return self._scalar(kind, value, path)
        return self.message(kind, value, path)

    def _enum(self, enum: str, value: Any, path: str) -> str | None:
        names = ENUMS[enum]
        if isinstance(value, str) and value.upper() in names:
            return value.upper()
        self._invalid(path, f"{self.package}.{enum}", _shown(value))
        return None

    def _scalar(self, kind: str, value: Any, path: str) -> Any:
        type_name = _SCALAR_TYPES[kind]
        if kind == "string":
            if isinstance(value, str):
                return value
        elif kind == "bool":
            if isinstance(value, bool):
                return value
        elif kind == "bytes":
            if isinstance(value, str):
                if decode_bytes(value) is None:
                    self._invalid(path, type_name, f'Base64 decoding failed for "{value}"')
                    return None
                return value
        else:
            number = _number(value)
            if number is not None and (kind in ("float", "double") or float(number).is_integer()):
                return number if kind in ("float", "double") else int(number)
        self._invalid(path, type_name, _shown(value))
        return None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def parse(message: str, body: Any, version: str) -> dict[str, Any]:
    """Decode a request body like the real front end; raise a 400 listing every violation."""
    if not isinstance(body, dict):
        root = 'Invalid JSON payload received. Unknown name "": Root element must be a message.'
        raise bad_request([field_violation(root, None)])
    parser = _Parser(version)
    parsed = parser.message(message, body, "")
    if parser.violations or parsed is None:
        raise bad_request(parser.violations or [field_violation("Invalid JSON payload received.", None)])
    return parsed
