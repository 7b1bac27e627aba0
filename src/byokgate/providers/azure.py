"""Azure OpenAI: OpenAI's format on a resource of the project's own, reached through its deployments.

A key is stored with its resource ``endpoint`` (``https://<resource>.openai.azure.com``), the
``api_version`` to call and optionally ``deployments`` (model name -> deployment name; by default a
model is deployed under its own name). ``azure/<model>`` goes to the deployment of that model:
``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...``, the key in ``api-key``;
with ``api_version = "v1"`` the v1 surface (``{endpoint}/openai/v1/...``, the deployment as ``model``).
"""

from __future__ import annotations

from typing import Any

from byokgate.domain.secret import Secret
from byokgate.domain.upstream import UpstreamRequest
from byokgate.providers.base import Auth, Capabilities, Endpoint, KeyField, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible

_VERSION = r"\d{4}-\d{2}-\d{2}(-preview)?|v1"


class AzureOpenAIProvider(OpenAICompatible):
    name = "azure"
    title = "Azure OpenAI"
    telemetry_name = "azure.ai.openai"  # its gen_ai.provider.name in OpenTelemetry
    default_base_url = ""  # every key brings its resource's endpoint
    auth = Auth("api-key", "")
    key_prefixes = ()  # 32 hex characters (older keys) or 84 alphanumerics
    key_fields = (
        KeyField("endpoint", "the resource's endpoint, https://<resource>.openai.azure.com", "url"),
        KeyField("api_version", "an api-version such as 2024-10-21, or v1", pattern=_VERSION),
        KeyField("deployments", "model name -> deployment name", "names", required=False),
    )
    capabilities = Capabilities(embeddings=True, vision=True, json_mode=True)
    passed_headers = ("retry-after", "x-ratelimit-", "apim-request-id", "x-ms-region")
    request_id_headers = ("apim-request-id", "x-request-id")
    catalog = ModelCatalog(vendors=("azure",))
    priced_as = "openai"  # a deployment is priced as the OpenAI model it runs

    def target(self, endpoint: Endpoint, path: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        root, version = endpoint.fields.get("endpoint") or endpoint.base_url, endpoint.fields["api_version"]
        model = str(payload.get("model"))
        deployment = (endpoint.fields.get("deployments") or {}).get(model, model)
        if version == "v1":
            return f"{root}/openai/v1/{path}", {**payload, "model": deployment}
        return f"{root}/openai/deployments/{deployment}/{path}?api-version={version}", payload

    def models_request(self, endpoint: Endpoint, key: Secret) -> UpstreamRequest:
        root, version = endpoint.fields.get("endpoint") or endpoint.base_url, endpoint.fields["api_version"]
        url = f"{root}/openai/v1/models" if version == "v1" else f"{root}/openai/models?api-version={version}"
        return UpstreamRequest("GET", url, self.auth.headers(key))
