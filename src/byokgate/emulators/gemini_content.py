"""What the emulated Gemini model answers: the rules of `chat` and `content`, read through Gemini's shapes.

`contents` are seen as OpenAI-style messages (`conversation`): a `model` content is an assistant message,
a `user` content is a user message (its text parts joined by newlines), and each `functionResponse` part
is a `tool` message whose text is the response's only string value when it has exactly one key
(`{"result": "18C"}` -> `18C`), else its compact JSON. Then, as for the OpenAI emulators:

- function calls: `chat.chosen_tools` with `toolConfig.functionCallingConfig.mode` AUTO/VALIDATED ->
  `"auto"`, ANY -> `"required"` (restricted to `allowedFunctionNames`), NONE -> `"none"`; parallel calls
  when several declarations are mentioned. Arguments from `content.arguments_for` (OpenAPI `parameters`
  types are lower-cased first). Unlike the real ANY mode, no call follows function responses.
- text: `content.reply_for`, cut at the first stop sequence (finish STOP), then to `maxOutputTokens`
  (finish MAX_TOKENS; thinking tokens do not count against it here, unlike 2.5 models for real).
- `responseMimeType: application/json`: compact JSON built like tool arguments from the response schema
  (`{"answer": <reply>}` without one); `text/x.enum`: the schema's first enum value.
- thinking models think unless `thinkingBudget: 0`: `thought_text` is counted in `thoughtsTokenCount`
  (capped by a positive budget) and sent as a `thought: true` part only with `includeThoughts`.
- a thinking model puts a `thoughtSignature` on the first function call part of an answer (not on the
  parallel ones after it, as documented); only Gemini 3 models demand it back (`gemini_validation`).
  No signature on text answers (Gemini 3 may send one on the last text part; not emulated). Function
  calls carry no `id`.

Prompt tokens: `content.count_tokens` of every text, of function names and JSON args/responses, of the
system instruction and of the JSON of `tools`, plus 258 per media part (inlineData / fileData).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from byokgate.emulators import chat, content, gemini_signatures
from byokgate.emulators.gemini_models import TOKENS_PER_MEDIA, GeminiModel
from byokgate.emulators.gemini_validation import declarations, responses_in, role_of
from byokgate.emulators.validation import ChatOptions

FUNCTION_CALL_MESSAGE = "Model generated function call(s)."
TOOL_CHOICE = {"AUTO": "auto", "VALIDATED": "auto", "ANY": "required", "NONE": "none"}


@dataclass(slots=True)
class Answer:
    """One candidate's answer (every candidate of a request is the same) and its token counts."""

    text: str | None
    calls: list[dict[str, Any]]  # whole functionCall parts
    finish_reason: str
    prompt_tokens: int
    media_tokens: int
    thought: str | None = None  # sent only with includeThoughts
    thought_tokens: int = 0
    candidates: int = 1
    candidate_tokens: int = field(init=False)

    def __post_init__(self) -> None:
        self.candidate_tokens = sum(part_tokens(part) for part in self.parts(thoughts=False))

    def parts(self, *, thoughts: bool = True) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if thoughts and self.thought is not None:
            parts.append({"text": self.thought, "thought": True})
        if self.calls:
            parts.extend(self.calls)
        elif self.text:
            parts.append({"text": self.text})
        return parts

    @property
    def finish_message(self) -> str | None:
        return FUNCTION_CALL_MESSAGE if self.calls else None


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def part_tokens(part: Mapping[str, Any]) -> int:
    """Tokens of one part (media parts count `TOKENS_PER_MEDIA`)."""
    if "text" in part:
        return content.count_tokens(str(part["text"]))
    for key, payload in (("functionCall", "args"), ("functionResponse", "response")):
        if key in part:
            item = part[key]
            return content.count_tokens(str(item.get("name", ""))) + content.count_tokens(
                _json(item.get(payload) or {})
            )
    if "inlineData" in part or "fileData" in part:
        return TOKENS_PER_MEDIA
    return 0


def prompt_tokens(request: Mapping[str, Any]) -> tuple[int, int]:
    """(all prompt tokens, of which media) of a generate or countTokens request."""
    total = media = 0
    contents = list(request.get("contents") or [])
    if request.get("systemInstruction"):
        contents.append(request["systemInstruction"])
    for item in contents:
        for part in item.get("parts", ()):
            tokens = part_tokens(part)
            total += tokens
            if "inlineData" in part or "fileData" in part:
                media += tokens
    if request.get("tools"):
        total += content.count_tokens(_json(request["tools"]))
    return total, media


def response_text(response: Mapping[str, Any]) -> str:
    """How a function response reads back: its only string value, else its compact JSON."""
    values = list(response.values())
    if len(values) == 1 and isinstance(values[0], str):
        return values[0]
    return _json(response)


def _texts(item: Mapping[str, Any]) -> str:
    parts = item.get("parts", ())
    return "\n".join(str(part["text"]) for part in parts if "text" in part and not part.get("thought"))


def conversation(contents: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The contents as OpenAI-style messages (see the module docstring)."""
    messages: list[dict[str, Any]] = []
    for item in contents:
        if role_of(item) == "model":
            messages.append({"role": "assistant", "content": _texts(item)})
            continue
        responses = responses_in(item)
        for part in responses:
            result = part["functionResponse"].get("response") or {}
            messages.append({"role": "tool", "content": response_text(result)})
        text = _texts(item)
        if text or not responses:
            messages.append({"role": "user", "content": text})
    return messages


def json_schema(schema: Any) -> Any:
    """An OpenAPI-subset `Schema` (upper-case types) as the JSON schema `content.arguments_for` reads."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: json_schema(value) for key, value in schema.items() if key != "properties"}
    if isinstance(schema.get("type"), str):
        converted["type"] = schema["type"].lower()
    if isinstance(schema.get("properties"), dict):
        converted["properties"] = {name: json_schema(value) for name, value in schema["properties"].items()}
    return converted


def _schema_of(declaration: Mapping[str, Any]) -> Any:
    if "parametersJsonSchema" in declaration:
        return declaration["parametersJsonSchema"]
    return json_schema(declaration.get("parameters"))


def chosen_functions(request: Mapping[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The function declarations the model calls (empty: it answers text)."""
    found = declarations(request.get("tools") or ())
    config = (request.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = config.get("mode", "AUTO")
    allowed = config.get("allowedFunctionNames")
    if mode == "ANY" and allowed:
        found = [decl for decl in found if decl.get("name") in allowed]
    tools = [{"type": "function", "function": {**decl, "parameters": _schema_of(decl)}} for decl in found]
    options = ChatOptions(model="", messages=messages, tools=tools, tool_choice=TOOL_CHOICE.get(mode, "auto"))
    return chat.chosen_tools(options)


def _value(schema: Any, user_text: str) -> Any:
    """A value for a schema, the way `content.arguments_for` fills one property."""
    return content.arguments_for({"type": "object", "properties": {"value": schema}}, user_text).get("value")


def structured_text(config: Mapping[str, Any], user_text: str, reply: str) -> str:
    """The text of a JSON or enum answer (`responseMimeType`)."""
    schema = config.get("responseJsonSchema")
    if schema is None and "responseSchema" in config:
        schema = json_schema(config["responseSchema"])
    if config.get("responseMimeType") == "text/x.enum":
        options = schema.get("enum") if isinstance(schema, dict) else None
        return str(options[0]) if options else reply
    if not isinstance(schema, dict):
        return _json({"answer": reply})
    if schema.get("type") == "object" or "properties" in schema:
        return _json(content.arguments_for(schema, user_text))
    return _json(_value(schema, user_text))


def thought_text(user_text: str, calls: Sequence[str], after_tools: bool) -> str:
    """The thought summary: the first words of the question and what the model decided to do."""
    echo = " ".join(user_text.split()[:8]).rstrip(".!?,;:") or "(empty)"
    if calls:
        plan = "I should call " + ", ".join(calls) + "."
    elif after_tools:
        plan = "I have the tool results and will summarise them."
    else:
        plan = "I will answer it directly."
    return f"**Considering the request**\n\nThe user asks: {echo}. {plan}"


def _thinking(config: Mapping[str, Any], model: GeminiModel) -> tuple[bool, bool, int]:
    """(thinks, includes thoughts, budget; -1 = dynamic)."""
    settings = config.get("thinkingConfig") or {}
    budget = settings.get("thinkingBudget", -1)
    thinks = model.thinking != "none" and budget != 0
    return thinks, bool(settings.get("includeThoughts")), budget


def _cut(text: str, config: Mapping[str, Any]) -> tuple[str, str]:
    stops = [text.find(stop) for stop in config.get("stopSequences", ()) if stop and stop in text]
    if stops:
        text = text[: min(stops)]
    limit = config.get("maxOutputTokens") or 0
    if limit and content.count_tokens(text) > limit:
        return content.truncate_to_tokens(text, limit), "MAX_TOKENS"
    return text, "STOP"


def answer(request: Mapping[str, Any], model: GeminiModel) -> Answer:
    """Decide the (deterministic) answer to a generate request that passed validation."""
    config = request.get("generationConfig") or {}
    messages = conversation(request["contents"])
    user_text = content.last_user_text(messages)
    prompt, media = prompt_tokens(request)
    candidates = config.get("candidateCount") or 1
    thinks, include, budget = _thinking(config, model)
    calls: list[dict[str, Any]] = []
    for function in chosen_functions(request, messages):
        name = str(function["name"])
        args = content.arguments_for(function["parameters"], user_text)
        call: dict[str, Any] = {"functionCall": {"name": name, "args": args}}
        if thinks and not calls:
            call["thoughtSignature"] = gemini_signatures.sign(model.id, name, args)
        calls.append(call)
    text: str | None = None
    finish = "STOP"
    if not calls:
        text = content.reply_for(messages)
        if config.get("responseMimeType") in ("application/json", "text/x.enum"):
            text = structured_text(config, user_text, text)
        text, finish = _cut(text, config)
    thought: str | None = None
    thought_tokens = 0
    if thinks:
        names = [call["functionCall"]["name"] for call in calls]
        thought = thought_text(user_text, names, bool(messages) and messages[-1]["role"] == "tool")
        if budget > 0:
            thought = content.truncate_to_tokens(thought, budget)
        thought_tokens = content.count_tokens(thought)
    return Answer(
        text=text,
        calls=calls,
        finish_reason=finish,
        prompt_tokens=prompt,
        media_tokens=media,
        thought=thought if include else None,
        thought_tokens=thought_tokens,
        candidates=candidates,
    )
