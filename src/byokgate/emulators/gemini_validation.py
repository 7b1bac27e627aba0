"""What the Gemini API rejects after a request body parsed (see `gemini_schema` for parse errors).

Messages quoted from real traffic (public bug reports): `contents is not specified`, `contents.parts must
not be empty.`, `required oneof field 'data' must have one initialized field`, `Please use a valid role:
user, model.`, the three `Please ensure that function ... turn ...` rules, `should be non-empty for OBJECT
type`, `items: missing field.`, `element predicate failed` for safety categories, `Function calling config
is set without function_declarations.`, the missing and corrupted thought-signature messages, `Budget 0
is invalid. This model only works in thinking mode.`, `Unsupported MIME type`, `at most 100 requests can
be in one batch`. The others keep the same `* <Request>.<path>: <reason>` form but their wording is ours
(unverified).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from byokgate.emulators import gemini_signatures
from byokgate.emulators.gemini_models import GeminiModel
from byokgate.emulators.gemini_schema import PART_DATA
from byokgate.emulators.profile import ApiError

ROLES = ("user", "model")
GEMINI_CATEGORIES = (
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
)
RESPONSE_MIME_TYPES = ("text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum")
MEDIA_PREFIXES = ("image/", "audio/", "video/", "text/", "application/pdf", "application/json")
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,63}$")
INVALID_FUNCTION_NAME = (
    "Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), "
    "underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64."
)
MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for tools to "
    "work correctly, and missing thought_signature may lead to degraded model performance. Additional "
    "data, function call `default_api:{name}` , position {position}. Please refer to "
    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)
CORRUPTED_SIGNATURE = "Corrupted thought signature."
CALL_AFTER_USER = (
    "Please ensure that function call turn comes immediately after a user turn or after a function "
    "response turn."
)
RESPONSE_AFTER_CALL = (
    "Please ensure that function response turn comes immediately after a function call turn."
)
RESPONSE_COUNT = (
    "Please ensure that the number of function response parts is equal to the number of function call "
    "parts of the function call turn."
)
MAX_BATCH = 100
MAX_STOP_SEQUENCES = 5


def invalid(message: str) -> ApiError:
    return ApiError(400, message, type="INVALID_ARGUMENT")


class Checker:
    """Raises `* <Request>.<path>: <reason>` errors for one request type."""

    def __init__(self, request: str) -> None:
        self.request = request

    def fail(self, path: str, reason: str) -> ApiError:
        return invalid(f"* {self.request}.{path}: {reason}\n")


def calls_in(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [part for part in content.get("parts", ()) if "functionCall" in part]


def responses_in(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [part for part in content.get("parts", ()) if "functionResponse" in part]


def role_of(content: Mapping[str, Any]) -> str:
    return str(content.get("role") or "user")


# contents --------------------------------------------------------------------------------------------


def _check_part(check: Checker, part: Mapping[str, Any], path: str) -> None:
    if not any(key in part for key in PART_DATA):
        raise check.fail(f"{path}.data", "required oneof field 'data' must have one initialized field")
    blob = part.get("inlineData")
    if blob is not None:
        mime = str(blob.get("mimeType", ""))
        if not mime:
            raise check.fail(f"{path}.inline_data.mime_type", "mime_type is not specified")
        if not mime.startswith(MEDIA_PREFIXES):
            raise invalid(f"Unsupported MIME type: {mime}")
    file_data = part.get("fileData")
    if file_data is not None and not file_data.get("fileUri"):
        raise check.fail(f"{path}.file_data.file_uri", "file_uri is not specified")
    for key, proto in (("functionCall", "function_call"), ("functionResponse", "function_response")):
        if key in part and not part[key].get("name"):
            raise check.fail(f"{path}.{proto}.name", "Name cannot be empty.")


def check_contents(check: Checker, contents: Sequence[Mapping[str, Any]], prefix: str = "contents") -> None:
    """Roles, parts and the function call / response turn order."""
    if not contents:
        raise check.fail(prefix, "contents is not specified")
    for index, content in enumerate(contents):
        path = f"{prefix}[{index}]"
        if content.get("role") and content["role"] not in ROLES:
            raise invalid("Please use a valid role: user, model.")
        parts = content.get("parts") or []
        if not parts:
            raise check.fail(f"{path}.parts", "contents.parts must not be empty.")
        for part_index, part in enumerate(parts):
            _check_part(check, part, f"{path}.parts[{part_index}]")
    _check_turn_order(contents)


def _check_turn_order(contents: Sequence[Mapping[str, Any]]) -> None:
    for index, content in enumerate(contents):
        previous = contents[index - 1] if index else None
        after_user = previous is not None and role_of(previous) == "user"
        if calls_in(content) and role_of(content) == "model" and not after_user:
            raise invalid(CALL_AFTER_USER)
        responses = responses_in(content)
        if responses:
            calls = calls_in(previous) if previous is not None and role_of(previous) == "model" else []
            if not calls:
                raise invalid(RESPONSE_AFTER_CALL)
            if len(calls) != len(responses):
                raise invalid(RESPONSE_COUNT)


def current_turn_start(contents: Sequence[Mapping[str, Any]]) -> int:
    """Index of the last plain user content (not a function response): the current turn starts there."""
    for index in range(len(contents) - 1, -1, -1):
        if role_of(contents[index]) == "user" and not responses_in(contents[index]):
            return index
    return 0


def check_signatures(contents: Sequence[Mapping[str, Any]], model: GeminiModel) -> None:
    """Gemini 3: in the current turn, the first function call of every model step must carry the
    signature it was issued with; any signature present must be valid for its call and this model."""
    for index in range(current_turn_start(contents), len(contents)):
        content = contents[index]
        if role_of(content) != "model":
            continue
        calls = calls_in(content)
        if calls and "thoughtSignature" not in calls[0]:
            name = calls[0]["functionCall"].get("name", "")
            raise invalid(MISSING_SIGNATURE.format(name=name, position=index + 1))
        for part in calls:
            signature = part.get("thoughtSignature")
            call = part["functionCall"]
            if signature is not None and not gemini_signatures.valid(
                signature, model.id, str(call.get("name", "")), call.get("args") or {}
            ):
                raise invalid(CORRUPTED_SIGNATURE)


# tools -----------------------------------------------------------------------------------------------


def _check_schema(check: Checker, schema: Mapping[str, Any], path: str, depth: int = 0) -> None:
    """The OpenAPI-subset `Schema` rules (`parameters`, `responseSchema`)."""
    kind = schema.get("type")
    if depth > 16:
        return
    if kind == "OBJECT" and not schema.get("properties"):
        raise check.fail(f"{path}.properties", "should be non-empty for OBJECT type")
    if kind == "ARRAY" and "items" not in schema:
        raise check.fail(f"{path}.items", "missing field.")
    if "enum" in schema and kind not in (None, "STRING"):
        raise check.fail(f"{path}.enum", "only allowed for STRING type")
    properties = schema.get("properties") or {}
    for index, name in enumerate(schema.get("required") or ()):
        if name not in properties:
            raise check.fail(f"{path}.required[{index}]", "property is not defined")
    for name, child in properties.items():
        _check_schema(check, child, f"{path}.properties[{name}]", depth + 1)
    if isinstance(schema.get("items"), dict):
        _check_schema(check, schema["items"], f"{path}.items", depth + 1)
    for index, child in enumerate(schema.get("anyOf") or ()):
        _check_schema(check, child, f"{path}.any_of[{index}]", depth + 1)


def declarations(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [decl for tool in tools for decl in tool.get("functionDeclarations", ())]


def _check_tools(check: Checker, request: Mapping[str, Any]) -> None:
    seen: set[str] = set()
    for tool_index, tool in enumerate(request.get("tools", ())):
        for index, decl in enumerate(tool.get("functionDeclarations", ())):
            path = f"tools[{tool_index}].function_declarations[{index}]"
            name = str(decl.get("name", ""))
            if not FUNCTION_NAME.match(name):
                raise check.fail(f"{path}.name", INVALID_FUNCTION_NAME)
            if name in seen:
                raise check.fail(f"{path}.name", f"Duplicate function declaration found: {name}")
            seen.add(name)
            if "parameters" in decl and "parametersJsonSchema" in decl:
                raise check.fail(path, "parameters and parameters_json_schema cannot both be set")
            if "parameters" in decl:
                _check_schema(check, decl["parameters"], f"{path}.parameters")
            json_schema = decl.get("parametersJsonSchema")
            if json_schema is not None and not isinstance(json_schema, dict):
                raise check.fail(f"{path}.parameters_json_schema", "must be a JSON object")
    config = (request.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = config.get("mode", "AUTO")
    allowed = config.get("allowedFunctionNames") or []
    if (mode in ("ANY", "VALIDATED") or allowed) and not seen:
        raise invalid("Function calling config is set without function_declarations.")
    path = "tool_config.function_calling_config.allowed_function_names"
    if allowed and mode not in ("ANY", "VALIDATED"):
        raise check.fail(path, "allowed_function_names is only allowed when mode is ANY or VALIDATED")
    for index, name in enumerate(allowed):
        if name not in seen:
            raise check.fail(f"{path}[{index}]", f"function {name} is not declared in tools")


# generation config -----------------------------------------------------------------------------------


def _range(check: Checker, config: Mapping[str, Any], name: str, low: float, high: float) -> None:
    value = config.get(name)
    if value is not None and not low <= value <= high:
        proto = re.sub(r"([A-Z])", r"_\1", name).lower()
        raise check.fail(f"generation_config.{proto}", f"must be in the range [{low:g}, {high:g}]")


def _check_thinking(thinking: Mapping[str, Any], model: GeminiModel) -> None:
    if model.thinking == "none":
        raise invalid(f"Thinking is not supported by models/{model.id}.")
    budget = thinking.get("thinkingBudget")
    if budget == 0 and model.thinking == "always":
        raise invalid("Budget 0 is invalid. This model only works in thinking mode.")
    low, high = model.budget
    if budget not in (None, -1, 0) and not low <= budget <= high:
        raise invalid(
            f"The thinking budget {budget} is invalid. Please choose a value between {low} and {high}."
        )
    if "thinkingLevel" in thinking and not model.signatures:
        raise invalid(f"Thinking level is not supported for models/{model.id}.")


def _check_generation(check: Checker, config: Mapping[str, Any], model: GeminiModel) -> None:
    _range(check, config, "temperature", 0, 2)
    _range(check, config, "topP", 0, 1)
    _range(check, config, "candidateCount", 1, 8)
    _range(check, config, "logprobs", 0, 20)
    _range(check, config, "presencePenalty", -2, 2)
    _range(check, config, "frequencyPenalty", -2, 2)
    if config.get("topK", 0) < 0:
        raise check.fail("generation_config.top_k", "must be positive")
    limit = config.get("maxOutputTokens")
    if limit is not None and not 0 <= limit <= model.output_limit:
        raise invalid(
            f"Unable to submit request because it has a maxOutputTokens value of {limit} but the supported "
            f"range is from 1 (inclusive) to {model.output_limit + 1} (exclusive). Update the value and "
            "try again."
        )
    if len(config.get("stopSequences", ())) > MAX_STOP_SEQUENCES:
        raise check.fail("generation_config.stop_sequences", "at most 5 stop sequences are allowed")
    mime = config.get("responseMimeType") or "text/plain"
    if mime not in RESPONSE_MIME_TYPES:
        allowed = ", ".join(f"`{item}`" for item in RESPONSE_MIME_TYPES[:-1])
        reason = f"allowed mimetypes are {allowed} and `{RESPONSE_MIME_TYPES[-1]}`."
        raise check.fail("generation_config.response_mime_type", reason)
    if "responseSchema" in config and "responseJsonSchema" in config:
        raise check.fail(
            "generation_config.response_schema", "response_schema and response_json_schema cannot both be set"
        )
    if "responseSchema" in config:
        if mime not in ("application/json", "text/x.enum"):
            raise check.fail(
                "generation_config.response_mime_type",
                "must be `application/json` or `text/x.enum` when response_schema is set",
            )
        _check_schema(check, config["responseSchema"], "generation_config.response_schema")
    if "responseJsonSchema" in config and mime != "application/json":
        raise check.fail(
            "generation_config.response_mime_type",
            "must be `application/json` when response_json_schema is set",
        )
    if "thinkingConfig" in config:
        _check_thinking(config["thinkingConfig"], model)


def _check_safety(check: Checker, settings: Sequence[Mapping[str, Any]]) -> None:
    for index, setting in enumerate(settings):
        if setting.get("category") not in GEMINI_CATEGORIES:
            listed = ", ".join(f"HarmCategory.{category}" for category in GEMINI_CATEGORIES)
            raise check.fail(
                f"safety_settings[{index}]", f"element predicate failed: $.category in ({listed})"
            )


def check_generate(request: Mapping[str, Any], model: GeminiModel) -> None:
    """Everything a `generateContent` / `streamGenerateContent` body must satisfy, in the API's order."""
    check = Checker("GenerateContentRequest")
    check_contents(check, request.get("contents") or [])
    system = request.get("systemInstruction")
    if system is not None and not system.get("parts"):
        raise check.fail("system_instruction.parts", "contents.parts must not be empty.")
    _check_tools(check, request)
    _check_safety(check, request.get("safetySettings", ()))
    _check_generation(check, request.get("generationConfig") or {}, model)
    if model.signatures:
        check_signatures(request["contents"], model)


def check_count(request: Mapping[str, Any], model: GeminiModel) -> list[dict[str, Any]]:
    """`countTokens`: `contents` or a whole `generateContentRequest`, not both; returns the contents."""
    check = Checker("CountTokensRequest")
    inner = request.get("generateContentRequest")
    if inner is not None and request.get("contents"):
        raise check.fail("contents", "contents and generate_content_request cannot both be set")
    if inner is not None:
        check_generate(inner, model)
        return list(inner["contents"])
    check_contents(check, request.get("contents") or [])
    return list(request["contents"])


# embeddings ------------------------------------------------------------------------------------------


def embed_text(
    check: Checker, request: Mapping[str, Any], model: GeminiModel, path: str, url_model: str
) -> tuple[str, int]:
    """Check one `EmbedContentRequest`; return its text (the text parts, joined) and its dimensions."""
    name = request.get("model")
    if name is not None and not str(name).startswith("models/"):
        raise check.fail(f"{path}model", "unexpected model name format")
    if name is not None and name != f"models/{url_model}":
        raise check.fail(f"{path}model", f"the model must be the one in the URL (models/{url_model})")
    texts = [part["text"] for part in (request.get("content") or {}).get("parts", ()) if "text" in part]
    if not texts:
        raise check.fail(f"{path}content.parts", "contents.parts must not be empty.")
    if "title" in request and request.get("taskType") != "RETRIEVAL_DOCUMENT":
        raise check.fail(f"{path}title", "title is only allowed with task_type RETRIEVAL_DOCUMENT")
    size = request.get("outputDimensionality") or model.dimensions
    if not 1 <= size <= model.dimensions:
        raise check.fail(
            f"{path}output_dimensionality", f"output_dimensionality must be between 1 and {model.dimensions}"
        )
    return "\n".join(texts), size


def check_batch(requests: Sequence[Mapping[str, Any]], model: GeminiModel, url_model: str) -> None:
    check = Checker("BatchEmbedContentsRequest")
    if not requests:
        raise check.fail("requests", "requests is not specified")
    if len(requests) > MAX_BATCH:
        raise check.fail("requests", f"at most {MAX_BATCH} requests can be in one batch")
    for index, request in enumerate(requests):
        if "model" not in request:
            raise check.fail(f"requests[{index}].model", "unexpected model name format")
