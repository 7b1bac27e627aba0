"""OpenAI's legacy completions: `POST /v1/completions` (`gpt-3.5-turbo-instruct`, `davinci-002`,
`babbage-002`), answered as a `text_completion` object or, with `stream: true`, as `text_completion`
chunks ended by `data: [DONE]`.

What the model writes (deterministic): for each prompt, `"\\n\\n" + content.reply_text(prompt)`, cut at the
first `stop` sequence (`finish_reason: stop`) and to `max_tokens` (default 16; `finish_reason: length`).
Token-array prompts are read as their numbers joined by spaces. `n` choices per prompt (all alike), indexed
prompt by prompt; `echo` puts the prompt before the text; `suffix` (gpt-3.5-turbo-instruct only) is accepted
and not echoed; `logprobs` (0-5) gives each token a made-up but stable log probability, the sampled token
first among its `top_logprobs`. A chat model is the real API's 404; the `context_length` and
`content_filter` faults act as on chat. Stream chunks carry `finish_reason: null` until each choice's last
one, as the real API sends them (the SDK's `CompletionChoice` types it as never null).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from byokgate.emulators import content
from byokgate.emulators.openai_endpoints import Call, Reply
from byokgate.emulators.openai_responses_checks import boolean_field, string_field
from byokgate.emulators.profile import ApiError, ModelInfo, ProviderProfile, random_alnum
from byokgate.emulators.validation import check_number, invalid_type, missing

DEFAULT_MAX_TOKENS = 16
CHAT_MODEL = (
    "This is a chat model and not supported in the v1/completions endpoint. Did you mean to use "
    "v1/chat/completions?"
)
# modelled on the embeddings endpoint's '$.input' (unverified for prompt)
INVALID_PROMPT = (
    "'$.prompt' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
)
SUFFIX_MODELS = frozenset({"gpt-3.5-turbo-instruct"})
STREAM_TOKENS_PER_CHUNK = 3
_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")
_ALTERNATES = (" the", " a", ",", ".", " and", " of", "\n")


@dataclass(slots=True)
class Options:
    model: str
    prompts: list[str]  # each prompt as text (token arrays joined)
    prompt_tokens: list[int]
    max_tokens: int
    n: int
    best_of: int | None
    echo: bool
    logprobs: int | None
    stop: list[str]
    stream: bool
    include_usage: bool


@dataclass(slots=True)
class Choice:
    index: int
    text: str
    finish_reason: str
    tokens: int  # completion tokens
    logprobs: dict[str, Any] | None


def _is_tokens(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    )


def _prompts(body: Mapping[str, Any]) -> tuple[list[str], list[int]]:
    if "prompt" not in body:
        raise missing("prompt")
    raw = body["prompt"]
    items: list[Any]
    if raw is None:
        items = ["<|endoftext|>"]  # the documented default
    elif isinstance(raw, str) or _is_tokens(raw):
        items = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(item, str) or _is_tokens(item) for item in raw):
        items = list(raw)
    else:
        raise ApiError(400, INVALID_PROMPT)
    texts = [item if isinstance(item, str) else " ".join(map(str, item)) for item in items]
    counts = [content.count_tokens(item) if isinstance(item, str) else len(item) for item in items]
    return texts, counts


def _stop(body: Mapping[str, Any]) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and len(stop) <= 4 and all(isinstance(item, str) for item in stop):
        return list(stop)
    raise invalid_type("stop", "one of a string or array of at most 4 strings", stop)


def validate(body: Mapping[str, Any]) -> Options:
    """Check a completions body as the real API does; the options the answer needs."""
    model = body.get("model")
    if model is None:
        raise ApiError(400, "you must provide a model parameter")
    if not isinstance(model, str):
        raise invalid_type("model", "a string", model)
    prompts, counts = _prompts(body)
    stream = boolean_field(body.get("stream"), "stream", False)
    stream_options = body.get("stream_options")
    if stream_options is not None and not stream:
        message = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
        raise ApiError(400, message, param="stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise invalid_type("stream_options", "an object", stream_options)
    for name, low, high in (
        ("temperature", 0, 2),
        ("top_p", 0, 1),
        ("frequency_penalty", -2, 2),
        ("presence_penalty", -2, 2),
    ):
        check_number(body.get(name), name, low, high, integer=False)
    n = check_number(body.get("n"), "n", 1, 128, integer=True) or 1
    best_of = check_number(body.get("best_of"), "best_of", 0, 20, integer=True)
    logprobs = check_number(body.get("logprobs"), "logprobs", 0, 5, integer=True)
    max_tokens = check_number(body.get("max_tokens"), "max_tokens", 0, None, integer=True)
    check_number(body.get("seed"), "seed", -(2**63), 2**63 - 1, integer=True)
    string_field(body.get("suffix"), "suffix")
    string_field(body.get("user"), "user")
    if body.get("logit_bias") is not None and not isinstance(body["logit_bias"], dict):
        raise invalid_type("logit_bias", "an object", body["logit_bias"])
    # The two best_of rules are documented; their wording here is ours (unverified).
    if best_of is not None and best_of < n:
        raise ApiError(400, "best_of must be greater than or equal to n.", param="best_of")
    if stream and best_of is not None and best_of > 1:
        raise ApiError(400, "Cannot stream results with best_of > 1.", param="best_of")
    return Options(
        model=model,
        prompts=prompts,
        prompt_tokens=counts,
        max_tokens=DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        n=n,
        best_of=best_of,
        echo=boolean_field(body.get("echo"), "echo", False),
        logprobs=logprobs,
        stop=_stop(body),
        stream=stream,
        include_usage=bool((stream_options or {}).get("include_usage")),
    )


def _model(profile: ProviderProfile, model_id: str) -> ModelInfo:
    model = profile.model(model_id)
    if model is not None and model.kind == "chat":
        raise ApiError(404, CHAT_MODEL, param="model")
    if model is None or model.kind != "completion":
        raise profile.model_not_found(model_id)  # for a non-chat model of another kind (unverified)
    return model


def context_window(model: ModelInfo) -> int:
    window = model.extra.get("context_window")
    return window if isinstance(window, int) else 4096


def context_length_error(window: int, prompt_tokens: int, max_tokens: int) -> ApiError:
    """The legacy endpoint's context error (its 2023 wording, with param and code null)."""
    message = (
        f"This model's maximum context length is {window} tokens, however you requested "
        f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in your prompt; {max_tokens} for the "
        "completion). Please reduce your prompt; or completion length."
    )
    return ApiError(400, message)


def completion_text(prompt: str) -> str:
    """What the model writes after `prompt`, before `stop` and `max_tokens` cut it."""
    return "\n\n" + content.reply_text(prompt)


def _written(prompt: str, options: Options) -> tuple[str, str]:
    """The text written for `prompt` and its finish reason."""
    full = completion_text(prompt)
    finish = "stop"
    cut = min((full.find(stop) for stop in options.stop if stop and stop in full), default=-1)
    if cut >= 0:
        full = full[:cut]
    text = content.truncate_to_tokens(full, options.max_tokens)
    if text != full or (options.max_tokens == 0 and full):
        finish = "length"
    return text, finish


def pieces(text: str) -> list[str]:
    """The text cut into tokens as `logprobs` lists them (each with its leading whitespace)."""
    return _PIECE.findall(text)


def _logprob(token: str, position: int) -> float:
    digest = hashlib.sha256(f"{position}:{token}".encode()).digest()
    return -round(digest[0] / 255 * 2.5, 6)


def logprobs_for(prompt: str, text: str, top: int, echo: bool) -> dict[str, Any]:
    """`logprobs` of a choice: its tokens (the prompt's first when echoed), their offsets in prompt +
    text, their log probabilities (the first echoed token has none, as on the real API) and top ones."""
    tokens: list[str] = []
    offsets: list[int] = []
    logprobs: list[float | None] = []
    tops: list[dict[str, float] | None] = []
    offset = 0 if echo else len(prompt)
    for position, token in enumerate(pieces(prompt + text if echo else text)):
        tokens.append(token)
        offsets.append(offset)
        offset += len(token)
        if echo and position == 0:
            logprobs.append(None)
            tops.append(None)
            continue
        value = _logprob(token, position)
        logprobs.append(value)
        ranked = {token: value}
        for rank, alternate in enumerate(_ALTERNATES):
            if len(ranked) > top:
                break
            ranked.setdefault(alternate, round(value - 1.5 - rank, 6))
        tops.append(dict(list(ranked.items())[: max(top, 1)]))
    return {"tokens": tokens, "token_logprobs": logprobs, "top_logprobs": tops, "text_offset": offsets}


def _choices(options: Options) -> list[Choice]:
    choices = []
    for number, prompt in enumerate(options.prompts):
        text, finish = _written(prompt, options)
        tokens = content.count_tokens(text)
        shown = prompt + text if options.echo else text
        logprobs = None
        if options.logprobs is not None:
            logprobs = logprobs_for(prompt, text, options.logprobs, options.echo)
        for copy in range(options.n):
            choices.append(Choice(number * options.n + copy, shown, finish, tokens, logprobs))
    return choices


def _usage(options: Options, choices: list[Choice]) -> dict[str, int]:
    prompt = sum(options.prompt_tokens)
    per_choice = max(options.best_of or 1, options.n) / options.n
    completion = round(sum(choice.tokens for choice in choices) * per_choice)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _chunks(
    base: dict[str, Any], options: Options, choices: list[Choice], usage: dict[str, int]
) -> Iterator[dict[str, Any]]:
    extra = {"usage": None} if options.include_usage else {}
    for choice in choices:
        tokens = pieces(choice.text)
        logprobs = choice.logprobs
        for start in range(0, len(tokens), STREAM_TOKENS_PER_CHUNK):
            end = start + STREAM_TOKENS_PER_CHUNK
            part = None
            if logprobs is not None:
                part = {key: values[start:end] for key, values in logprobs.items()}
            piece = {"text": "".join(tokens[start:end]), "index": choice.index, "logprobs": part}
            yield {**base, "choices": [{**piece, "finish_reason": None}], **extra}
        last = {"text": "", "index": choice.index, "logprobs": None, "finish_reason": choice.finish_reason}
        yield {**base, "choices": [last], **extra}
    if options.include_usage:
        yield {**base, "choices": [], "usage": usage}


def handle(call: Call) -> Reply:
    options = validate(call.body)
    profile = call.profile
    model = _model(profile, options.model)
    if call.body.get("suffix") and model.id not in SUFFIX_MODELS:
        raise ApiError(400, f"suffix is not supported with {model.id}.", param="suffix")  # (unverified)
    window = context_window(model)
    if call.fault("context_length"):
        raise context_length_error(window, window + sum(options.prompt_tokens), options.max_tokens)
    for tokens in options.prompt_tokens:
        if tokens + options.max_tokens > window:
            raise context_length_error(window, tokens, options.max_tokens)
    if call.fault("content_filter"):
        raise profile.content_filter_error(model, call.body)
    choices = _choices(options)
    usage = _usage(options, choices)
    base: dict[str, Any] = {
        "id": "cmpl-" + random_alnum(29),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model.id,
        "system_fingerprint": profile.fingerprint(model),
    }
    if options.stream:
        events = _chunks(base, options, choices, usage)
        return Reply(events=events, tokens=usage["total_tokens"], generation_id=base["id"])
    rendered = [
        {"text": c.text, "index": c.index, "logprobs": c.logprobs, "finish_reason": c.finish_reason}
        for c in choices
    ]
    body = {**base, "choices": rendered, "usage": usage}
    return Reply(body=body, tokens=usage["total_tokens"], generation_id=base["id"])
