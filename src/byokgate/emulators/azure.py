"""Azure OpenAI (`https://<resource>.openai.azure.com`): OpenAI's answers behind deployments.

Routes, under the resource root (serve it at a root URL; `EmulatorServer.base_url` is that root, which is
what `openai.AzureOpenAI(azure_endpoint=...)` takes):
- `POST /openai/deployments/{deployment}/chat/completions?api-version=...` and `.../embeddings`: the key in
  the `api-key` header; the model is the deployment's, whatever the body says.
- `POST /openai/v1/chat/completions` and `/openai/v1/embeddings` (the v1 surface, no api-version): the
  deployment name in the body's `model`; the key in `api-key` or as a Bearer token (the docs' v1 examples
  use the plain OpenAI client).
- `GET /openai/deployments?api-version=...` and `GET /openai/models?api-version=...` (`/openai/v1/models`).

Answers carry `prompt_filter_results` and per-choice `content_filter_results`; streams open with a chunk
of empty `choices` holding the prompt's filter results (observed 2026). Errors specific to Azure use its
`{"error": {"code", "message"}}` shape; request validation is OpenAI's, passed through. The
`content_filter` fault is Azure's 400 `content_filter` with `innererror.content_filter_result` (a
jailbreak detected); `context_length` and 5xx faults are OpenAI's errors.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from byokgate.emulators.faults import Fault
from byokgate.emulators.openai import MODELS as OPENAI_MODELS
from byokgate.emulators.openai import OpenAIProfile
from byokgate.emulators.openai_compat import Emulator
from byokgate.emulators.profile import ApiError, Exchange, Headers, ModelInfo, Position, Resolved

# Dated data-plane versions (GA and preview) seen in Microsoft's docs and in use; others get a 400.
API_VERSIONS = frozenset(
    {
        "2022-12-01",
        "2023-03-15-preview",
        "2023-05-15",
        "2023-06-01-preview",
        "2023-07-01-preview",
        "2023-08-01-preview",
        "2023-09-01-preview",
        "2023-10-01-preview",
        "2023-12-01-preview",
        "2024-02-01",
        "2024-02-15-preview",
        "2024-03-01-preview",
        "2024-04-01-preview",
        "2024-05-01-preview",
        "2024-06-01",
        "2024-07-01-preview",
        "2024-08-01-preview",
        "2024-09-01-preview",
        "2024-10-01-preview",
        "2024-10-21",
        "2024-12-01-preview",
        "2025-01-01-preview",
        "2025-02-01-preview",
        "2025-03-01-preview",
        "2025-04-01-preview",
    }
)
ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
MISSING_KEY = (  # (unverified) wording for a request without any key
    "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API."
)
ENTRA_REJECTED = (  # (unverified) a Bearer value that is not an Entra ID token, on the deployments routes
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
NO_DEPLOYMENT = (
    "The API deployment for this resource does not exist. If you created the deployment within the last 5 "
    "minutes, please wait a moment and try again."
)
SERVER_ERROR = (  # (unverified) the OpenAI text with Azure's support link
    "The server had an error processing your request. Sorry about that! You can retry your request, or "
    "contact us through an Azure support request at: https://go.microsoft.com/fwlink/?linkid=2213926 if you "
    "keep seeing this error. (Please include the request ID {request_id} in your email.)"
)
_SAFE = {"filtered": False, "severity": "safe"}
CONTENT_FILTER = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
PROMPT_FILTER = {**CONTENT_FILTER, "jailbreak": {"filtered": False, "detected": False}}
# A prompt refused by the content filter (docs/provider-facts.md §8; `type`, `param` and `status`
# unverified): a jailbreak attempt detected, the other categories safe.
FILTERED_PROMPT = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
    "Please modify your prompt and retry. To learn more about our content filtering policies please read "
    "our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
FILTERED_RESULT = {**CONTENT_FILTER, "jailbreak": {"filtered": True, "detected": True}}
REQUESTS_PER_MINUTE = 1_000
TOKENS_PER_MINUTE = 150_000
_BEARER = "bearer:"  # marks a Bearer credential on a deployments route (read as an Entra ID token)
# The api-version and operation of the request being answered (each request runs in its own task).
_CALL: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("azure_call", default=("v1", "chat"))


def azure_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> ApiError:
    """An error in Azure's own `{"error": {"code", "message"}}` shape."""
    payload = orjson.dumps({"error": {"code": code, "message": message}})
    return ApiError(status, message, code=code, headers=headers, payload=payload)


def _default_deployments() -> dict[str, str]:
    return {model.id: model.id for model in OPENAI_MODELS if model.kind in ("chat", "embedding")}


class AzureProfile(OpenAIProfile):
    name = "azure"
    base_path = ""
    catalog = tuple(model for model in OPENAI_MODELS if model.kind in ("chat", "embedding"))
    has_model_retrieve = False
    has_responses = False  # Azure's Responses API (its own routes and api-versions) is not emulated
    # nor its completions, images, audio and moderation deployments
    has_completions = has_images = has_speech = has_moderations = False
    transcription_rules = None

    def __init__(self, deployments: Mapping[str, str], api_versions: Iterable[str]) -> None:
        super().__init__()
        unknown = sorted(model for model in deployments.values() if model not in self._models)
        if unknown:
            raise ValueError(f"no such model to deploy: {', '.join(unknown)}")
        self.deployments = {name: self._models[model] for name, model in deployments.items()}
        self.api_versions = frozenset(api_versions)

    def model(self, model_id: str) -> ModelInfo | None:
        """Models are addressed by deployment name."""
        return self.deployments.get(model_id)

    def request_id(self) -> str:
        return str(uuid.uuid4())

    # routing and keys ------------------------------------------------------------------------------
    def _check_version(self, query: Mapping[str, str], operation: str) -> str:
        version = query.get("api-version")
        if not version:
            raise azure_error(404, "404", "Resource not found")
        if version not in self.api_versions:  # (unverified) code and text
            raise azure_error(400, "BadRequest", "API version not supported")
        _CALL.set((version, operation))
        return version

    def resolve(self, method: str, path: str, query: Mapping[str, str]) -> Resolved | None:
        if path.startswith("/openai/v1/"):
            relative = path[len("/openai/v1") :]
            _CALL.set(("v1", relative.rsplit("/", 1)[-1]))
            return Resolved(relative)
        parts = path.split("/")
        if len(parts) == 5 and parts[:3] == ["", "openai", "deployments"]:
            self._check_version(query, parts[4])
            return Resolved("/" + parts[4], model=parts[3])
        if len(parts) == 6 and parts[:3] == ["", "openai", "deployments"] and parts[4] == "chat":
            self._check_version(query, "chat")
            return Resolved("/chat/" + parts[5], model=parts[3])
        if path in ("/openai/deployments", "/openai/models"):
            self._check_version(query, "list")
            return Resolved(path[len("/openai") :])
        raise azure_error(404, "404", "Resource not found")

    def api_key(self, headers: Mapping[str, str], resolved: Resolved) -> str | None:
        if headers.get("api-key"):
            return headers["api-key"]
        bearer = super().api_key(headers, resolved)
        if bearer and resolved.model is not None:
            return _BEARER + bearer
        return bearer

    def auth_error(self, key: str | None) -> ApiError:
        if key is None:
            return azure_error(401, "401", MISSING_KEY)
        if key.startswith(_BEARER):
            return azure_error(401, "401", ENTRA_REJECTED)
        return azure_error(401, "401", ACCESS_DENIED)

    def model_not_found(self, model: str) -> ApiError:
        return azure_error(404, "DeploymentNotFound", NO_DEPLOYMENT)

    def wrong_kind(self, model_id: str, kind: str) -> ApiError:
        deployed = self.deployments[model_id].id
        operation = "chatCompletion" if kind == "chat" else "embeddings"
        message = (
            f"The {operation} operation does not work with the specified model, {deployed}. Please choose "
            "different model and try again. You can learn more about which models can be used with each "
            "operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
        )
        return azure_error(400, "OperationNotSupported", message)

    def fault_error(self, fault: Fault, model: str | None) -> ApiError:
        version, operation = _CALL.get()
        if fault.kind == "429":
            name = "Embeddings_Create" if operation == "embeddings" else "ChatCompletions_Create"
            retry = fault.retry_after_s
            message = (
                f"Requests to the {name} Operation under Azure OpenAI API version {version} have exceeded "
                "token rate limit of your current OpenAI S0 pricing tier. "
                + ("" if retry is None else f"Please retry after {retry} seconds. ")
                + "Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase "
                "the default rate limit."
            )
            headers = {"x-ratelimit-remaining-requests": "0"}
            if retry is not None:  # (unverified) that Azure sends retry-after-ms
                headers = {"retry-after": str(retry), "retry-after-ms": str(retry * 1000), **headers}
            return azure_error(429, "429", message, headers)
        status = int(fault.kind)
        message = SERVER_ERROR.format(request_id=uuid.uuid4())
        return ApiError(status, message, type="server_error")

    def content_filter_error(self, model: ModelInfo, body: Mapping[str, Any]) -> ApiError:
        error = {
            "message": FILTERED_PROMPT,
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": FILTERED_RESULT},
        }
        payload = orjson.dumps({"error": error})
        return ApiError(400, FILTERED_PROMPT, code="content_filter", param="prompt", payload=payload)

    # headers ---------------------------------------------------------------------------------------
    def _ids(self, request_id: str) -> Headers:
        return [("apim-request-id", request_id), ("x-request-id", request_id), ("x-ms-region", "East US")]

    def response_headers(
        self, request_id: str, *, endpoint: str, generation_id: str | None, tokens: int, elapsed_ms: int
    ) -> Headers:
        headers = self._ids(request_id)
        if endpoint in ("chat", "embeddings"):
            headers += [
                ("x-ratelimit-limit-requests", str(REQUESTS_PER_MINUTE)),
                ("x-ratelimit-limit-tokens", str(TOKENS_PER_MINUTE)),
                ("x-ratelimit-remaining-requests", str(REQUESTS_PER_MINUTE - 1)),
                ("x-ratelimit-remaining-tokens", str(max(TOKENS_PER_MINUTE - tokens, 0))),
            ]
        return headers

    def error_headers(self, error: ApiError, request_id: str) -> Headers:
        return [*self._ids(request_id), *error.headers.items()]

    # rendering -------------------------------------------------------------------------------------
    def choice(self, exchange: Exchange, index: int) -> dict[str, Any]:
        return {**super().choice(exchange, index), "content_filter_results": CONTENT_FILTER}

    def completion(self, exchange: Exchange) -> dict[str, Any]:
        body = super().completion(exchange)
        body.pop("service_tier", None)
        return {
            **body,
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": PROMPT_FILTER}],
        }

    def stream_choice(
        self, exchange: Exchange, index: int, delta: dict[str, Any], finish: str | None
    ) -> dict[str, Any]:
        filtered = CONTENT_FILTER if delta.get("content") else {}
        return {"content_filter_results": filtered, **super().stream_choice(exchange, index, delta, finish)}

    def chunk(
        self, exchange: Exchange, choices: Sequence[dict[str, Any]], position: Position
    ) -> dict[str, Any]:
        chunk = super().chunk(exchange, choices, position)
        chunk.pop("service_tier", None)
        return chunk

    def stream_chunks(self, exchange: Exchange) -> Iterator[dict[str, Any]]:
        yield {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": PROMPT_FILTER}],
        }
        yield from super().stream_chunks(exchange)

    # listings --------------------------------------------------------------------------------------
    def models_list(self, query: Mapping[str, str]) -> dict[str, Any]:
        """The models the resource can deploy (shape reconstructed; unverified beyond id/object)."""
        data = [
            {
                "id": model.id,
                "object": "model",
                "created_at": model.created,
                "status": "succeeded",
                "lifecycle_status": "generally-available",
                "capabilities": {
                    "chat_completion": model.kind == "chat",
                    "embeddings": model.kind == "embedding",
                    "completion": False,
                    "fine_tune": False,
                    "inference": True,
                },
            }
            for model in self.catalog
        ]
        return {"data": data, "object": "list"}

    def extra_routes(self) -> Mapping[str, str]:
        return {"/deployments": "deployments_list"}

    def deployments_list(self, key: str | None) -> dict[str, Any]:
        """The deployments, as the (legacy) deployments listing words them (shape unverified)."""
        now = int(time.time())
        data = [
            {
                "id": name,
                "model": model.id,
                "object": "deployment",
                "owner": "organization-owner",
                "status": "succeeded",
                "scale_settings": {"scale_type": "standard"},
                "created_at": now,
                "updated_at": now,
            }
            for name, model in self.deployments.items()
        ]
        return {"data": data, "object": "list"}


def azure_emulator(
    keys: Iterable[str] = (),
    deployments: Mapping[str, str] | None = None,
    *,
    accept_any_key: bool = False,
    api_versions: Iterable[str] = API_VERSIONS,
    **options: Any,
) -> Emulator:
    """An Azure OpenAI emulator. `deployments` maps deployment name -> OpenAI model id (default: every chat
    and embedding model of the OpenAI catalog deployed under its own name); `api_versions` are the dated
    versions it accepts. Serve it at a root URL: that root is the `azure_endpoint` clients configure."""
    profile = AzureProfile(_default_deployments() if deployments is None else deployments, api_versions)
    return Emulator(profile, keys=keys, accept_any_key=accept_any_key, **options)
