"""How each OpenAI-compatible provider words its errors: the `ErrorTexts` of the records in
`compatible_providers` (keys, unknown models, rate limits, 5xx, refused fields, the context window and
content-policy refusals that the `context_length` / `content_filter` faults produce).

Placeholders are `Failure`'s; the context-window failures also take {limit} (the model's window), {messages}
(the prompt's tokens, taken as the window plus the real prompt's), {completion} (`max_tokens`, 0 without it)
and {total} (both). Facts are gathered in `/work/provider-facts.md`; "(unverified)" marks a reconstruction,
not an observed answer: then OpenAI's code (`context_length_exceeded`, `content_policy_violation`) is used.
"""

from __future__ import annotations

from byokgate.emulators.compatible_spec import ErrorTexts, Failure, KeyMask

_INVALID = "invalid_request_error"
XAI_TEAM = "3b9c1f0e-7d2a-4f51-9a0e-5c4b2d1e8f73"  # an emulated xAI team id
_XAI_KEY_ID = "8e2f4a61-0c3d-4b7e-9f15-2a6d8c0e4b93"  # an emulated xAI API key id
PERPLEXITY_401 = (
    "<html>\n<head><title>401 Authorization Required</title></head>\n<body>\n"
    "<center><h1>401 Authorization Required</h1></center>\n<hr><center>openresty/1.27.4</center>\n"
    "</body>\n</html>\n"
)


# Mistral: 401 bodies seen: {"detail":"Unauthorized"} (2025-12) and {"detail":"Invalid API Key"} (2026-08,
# used here); the rest of the shape from recorded exchanges. Context-window and moderation texts: none found.
MISTRAL = ErrorTexts(
    style="pydantic",
    missing_key=Failure(401, "Invalid API Key", body={"detail": "Invalid API Key"}),  # (unverified)
    wrong_key=Failure(401, "Invalid API Key", body={"detail": "Invalid API Key"}),
    unknown_model=Failure(400, "Invalid model: {model}", "invalid_model", "1500"),
    rate_limit=Failure(429, "Rate limit exceeded", "rate_limited", "1300"),
    server={  # (unverified) texts and codes
        500: Failure(500, "Internal server error", "internal_server_error", "1000"),
        502: Failure(502, "Bad gateway", "internal_server_error", "1000"),
        503: Failure(503, "Service unavailable", "service_unavailable", "1000"),
        504: Failure(504, "Gateway timeout", "internal_server_error", "1000"),
    },
    rejected_field=Failure(422, "Extra inputs are not permitted", _INVALID),
    context_length=Failure(  # (unverified) wording and code
        400,
        "Prompt contains {messages} tokens and 0 draft tokens, too large for model with {limit} maximum "
        "context length",
        _INVALID,
        "context_length_exceeded",
    ),
    content_filter=Failure(  # (unverified)
        400, "The request was blocked by the moderation guardrails.", _INVALID, "content_policy_violation"
    ),
    validation_status=422,
)

# DeepSeek: texts from the docs and issue threads; the context-window error (it counts `max_tokens` as the
# completion, 0 without it) and the moderation refusal "Content Exists Risk" as quoted in issue threads
# (2025-2026).
DEEPSEEK = ErrorTexts(
    style="openai",
    missing_key=Failure(
        401,
        "Authentication Fails (auth header format should be Bearer sk-...)",
        "authentication_error",
        _INVALID,
    ),
    wrong_key=Failure(
        401, "Authentication Fails, Your api key: {key} is invalid", "authentication_error", _INVALID
    ),
    unknown_model=Failure(
        400,
        "The supported API model names are deepseek-v4-pro or deepseek-v4-flash, but you passed {model}.",
        _INVALID,
        _INVALID,
    ),
    rate_limit=Failure(429, "Rate Limit Reached", "rate_limit_error", _INVALID),  # (unverified) text
    server={  # the docs' names for the statuses (unverified as body texts)
        500: Failure(500, "Server Error", "server_error", _INVALID),
        502: Failure(502, "Bad Gateway", "server_error", _INVALID),
        503: Failure(503, "Server Overloaded", "server_error", _INVALID),
        504: Failure(504, "Gateway Timeout", "server_error", _INVALID),
    },
    rejected_field=Failure(
        400, "{field} is not supported in thinking mode", _INVALID, _INVALID
    ),  # (unverified)
    context_length=Failure(
        400,
        "This model's maximum context length is {limit} tokens. However, you requested {total} tokens "
        "({messages} in the messages, {completion} in the completion). Please reduce the length of the "
        "messages or completion.",
        _INVALID,
        _INVALID,
    ),
    content_filter=Failure(400, "Content Exists Risk", _INVALID, _INVALID),
    key_mask=KeyMask(0, "****", 4),
)

# xAI: bodies from issue threads (a wrong key is a 400; `code` holds the gRPC status wording), including
# the context-window 400 (2025) and the content-safety 403 (2025).
XAI = ErrorTexts(
    style="grpc",
    missing_key=Failure(400, "No API key provided. You can obtain an API key from https://console.x.ai."),
    wrong_key=Failure(
        400, "Incorrect API key provided: {key}. You can obtain an API key from https://console.x.ai."
    ),
    unknown_model=Failure(
        404,
        "The model {model} does not exist or your team "
        + XAI_TEAM
        + " does not have access to it. Please ensure you're using the correct API key. If you believe "
        "this is a mistake, please contact support and quote your team ID and the model name.",
    ),
    rate_limit=Failure(  # (unverified) text
        429,
        "Your team " + XAI_TEAM + " has exceeded its requests per minute limit. Retry after {retry}s.",
    ),
    server={
        status: Failure(status, "Internal server error") for status in (500, 502, 503, 504)
    },  # (unverified)
    rejected_field=Failure(400, "Argument not supported on this model: {field_camel}"),
    context_length=Failure(
        400, "This model's maximum prompt length is {limit} but the request contains {messages} tokens."
    ),
    content_filter=Failure(
        403,
        f"Content violates usage guidelines. Team: {XAI_TEAM}, API key ID: {_XAI_KEY_ID}, Model: {{model}}, "
        "Failed check: SAFETY_CHECK_TYPE_BIO",
    ),
    key_mask=KeyMask(2, "***", 2),
)

# Together: bodies carry a top-level `id`; the context-window error as quoted in a 2024 issue thread.
TOGETHER = ErrorTexts(
    style="openai_with_id",
    missing_key=Failure(
        401,
        "Invalid API key provided. You can find your API key at https://api.together.ai/settings/api-keys.",
        _INVALID,
        "invalid_api_key",
    ),
    wrong_key=Failure(
        401,
        "Invalid API key provided. You can find your API key at https://api.together.ai/settings/api-keys.",
        _INVALID,
        "invalid_api_key",
    ),
    unknown_model=Failure(
        404,
        "Unable to access model {model}. Please visit https://api.together.ai/models to view the list of "
        "supported models.",
        _INVALID,
        "model_not_available",
    ),
    rate_limit=Failure(
        429, "You have been rate limited. Please try again in {retry}s.", "rate_limit_exceeded"
    ),
    server={  # (unverified) texts
        500: Failure(500, "Internal server error", "server_error"),
        502: Failure(502, "Bad gateway", "server_error"),
        503: Failure(503, "The server is overloaded, please try again later.", "server_error"),
        504: Failure(504, "Gateway timeout", "server_error"),
    },
    rejected_field=Failure(400, "{field} is not supported", _INVALID),
    context_length=Failure(
        400,
        "Input validation error: `inputs` tokens + `max_new_tokens` must be <= {limit}. Given: {messages} "
        "`inputs` tokens and {completion} `max_new_tokens`",
        _INVALID,
        None,
        "max_tokens",
    ),
    content_filter=Failure(  # (unverified)
        400, "The request was flagged by the safety model.", _INVALID, "content_policy_violation"
    ),
)

# Fireworks: error shape and texts from a 2026 SDK example listing Fireworks' own messages; the
# context-window error as quoted in 2025-2026 issue threads.
FIREWORKS = ErrorTexts(
    style="typed_object",
    missing_key=Failure(401, "invalid api key", _INVALID),
    wrong_key=Failure(401, "invalid api key", _INVALID),
    unknown_model=Failure(404, "Model not found, inaccessible, and/or not deployed", _INVALID, "NOT_FOUND"),
    rate_limit=Failure(429, "Request rate limit exceeded, please try again later", "rate_limit_error"),
    server={  # (unverified) texts
        500: Failure(500, "Internal server error", "internal_server_error"),
        502: Failure(502, "Bad gateway", "internal_server_error"),
        503: Failure(503, "Service temporarily unavailable due to high load", "service_unavailable"),
        504: Failure(504, "Gateway timeout", "internal_server_error"),
    },
    rejected_field=Failure(400, "Extra inputs are not permitted, field: '{field}'", _INVALID),
    tools_with_response_format=Failure(
        400, "You cannot specify response format and function call at the same time", _INVALID
    ),
    context_length=Failure(
        400, "The prompt is too long: {messages}, model maximum context length: {limit}", _INVALID, _INVALID
    ),
    content_filter=Failure(  # (unverified)
        400, "The request was rejected by the content policy.", _INVALID, "content_policy_violation"
    ),
)

# Cerebras: flat bodies (recorded 2026); no key at all is refused by the front proxy with 403
# {"detail":"Not authenticated"} (live probes, 2026-08).
CEREBRAS = ErrorTexts(
    style="flat",
    missing_key=Failure(403, "Not authenticated", body={"detail": "Not authenticated"}),
    wrong_key=Failure(401, "Wrong API Key", _INVALID, "wrong_api_key", "api_key"),
    unknown_model=Failure(
        404,
        "Model {model} does not exist or you do not have access to it.",
        "not_found_error",
        "model_not_found",
        "model",
    ),
    rate_limit=Failure(  # (unverified) text
        429,
        "Requests per minute limit exceeded - too many requests sent.",
        "too_many_requests_error",
        "request_quota_exceeded",
        "quota",
    ),
    server={
        status: Failure(status, "Internal server error", "server_error", "internal_error")
        for status in (500, 502, 503, 504)
    },
    rejected_field=Failure(400, "Unsupported parameter: '{field}'", _INVALID, "wrong_api_param", "{field}"),
    context_length=Failure(  # the message as observed (2025); type, code and param (unverified)
        400,
        "Please reduce the length of the messages or completion. Current length is {total} while limit "
        "is {limit}",
        _INVALID,
        "context_length_exceeded",
        "messages",
    ),
    content_filter=Failure(  # (unverified)
        400, "The request was rejected by the content policy.", _INVALID, "content_policy_violation"
    ),
)

# Perplexity: the HTML 401 of the front proxy and the `{"error": {..., "code": <status>}}` shape (recorded
# 2025); the tools refusal is quoted from a 2026 pull request.
PERPLEXITY = ErrorTexts(
    style="status_code",
    missing_key=Failure(401, "401 Authorization Required", html=PERPLEXITY_401),
    wrong_key=Failure(401, "401 Authorization Required", html=PERPLEXITY_401),
    unknown_model=Failure(
        400,
        "Invalid model '{model}'. Permitted models can be found in the documentation at "
        "https://docs.perplexity.ai/guides/model-cards.",
        "invalid_model",
    ),
    rate_limit=Failure(429, "Rate limit exceeded", "rate_limit_exceeded"),  # (unverified)
    server={
        status: Failure(status, "Internal server error", "internal_server_error")
        for status in (500, 502, 503, 504)
    },
    rejected_field=Failure(400, "{field} is not supported", "invalid_parameter"),
    unsupported_tools=Failure(400, "Tool calling is not supported for this model.", "invalid_parameter"),
    role_order=Failure(
        400,
        "After the (optional) system message(s), user and assistant roles should be alternating.",
        "invalid_message",
    ),
    last_role=Failure(400, "Last message must have role `user`.", "invalid_message"),
    # (unverified) both: OpenAI's wording, the kind in `type` (this shape's `code` is the status)
    context_length=Failure(
        400,
        "This model's maximum context length is {limit} tokens. However, your messages resulted in "
        "{messages} tokens. Please reduce the length of the messages.",
        "context_length_exceeded",
    ),
    content_filter=Failure(
        400, "The request was rejected by the content policy.", "content_policy_violation"
    ),
)
