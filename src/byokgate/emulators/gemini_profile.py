"""Gemini's provider profile: its error body, status names, error texts, response headers and faults.

Errors are `{"error": {"code", "message", "status", "details"?}}` (`google.rpc.Status`). Texts quoted from
real traffic: the invalid-key body (ErrorInfo `API_KEY_INVALID` + LocalizedMessage), the no-key 403, the
bearer-token 401, the 429 quota message, the 500 and 503 messages; 504 is DEADLINE_EXCEEDED with Google's
deadline wording. The 429 details (QuotaFailure, Help,
RetryInfo) follow the reference; `RetryInfo.retryDelay` is the only retry hint (no `retry-after` header,
none is documented). 502 is the Google front end's HTML page (unverified). No request-id header exists;
successful answers carry `server`, `server-timing` and `vary` like Google's servers.
"""

from __future__ import annotations

from typing import Any

from byokgate.emulators.faults import Fault
from byokgate.emulators.gemini_models import CATALOG
from byokgate.emulators.profile import ApiError, Headers, ProviderProfile, random_alnum

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
SERVICE = "generativelanguage.googleapis.com"
INVALID_KEY = "API key not valid. Please pass a valid API key."
NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key "
    "or other form of API consumer identity to call this API."
)
OAUTH_ONLY = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
RATE_LIMITS = "https://ai.google.dev/gemini-api/docs/rate-limits"
QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more information on "
    f"this error, head to: {RATE_LIMITS}."
)
INTERNAL = (
    "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting"
)
OVERLOADED = "The model is overloaded. Please try again later."
DEADLINE = "Deadline expired before operation could complete."  # Google's wording (seen on a 2025 503)
MALFORMED = "Invalid JSON payload received. Unexpected token."
HTML_TYPE = b"text/html; charset=UTF-8"
_PAGE = (
    "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error {code} ({title})!!1</title>\n"
    "  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>\n"
    "  <p><b>{code}.</b> <ins>That\u2019s an error.</ins>\n  <p>{text}  <ins>That\u2019s all we know.</ins>\n"
)


def google_error(status: int, message: str, details: list[dict[str, Any]] | None = None) -> ApiError:
    """An error in Google's terms (`type` carries the `google.rpc.Code` name)."""
    metadata = {"details": details} if details else None
    return ApiError(status, message, type=GOOGLE_STATUS.get(status, "UNKNOWN"), metadata=metadata)


def _error_info(reason: str, **metadata: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": SERVICE, **metadata},
    }


def html_page(status: int, path: str) -> bytes:
    """The Google front end's HTML error page (404 for unknown URLs, 502)."""
    if status == 404:
        text = f"The requested URL <code>{path}</code> was not found on this server."
        return _PAGE.format(code=404, title="Not Found", text=text).encode()
    text = (
        "The server encountered a temporary error and could not complete your request."
        "<p>Please try again in 30 seconds."
    )
    return _PAGE.format(code=status, title="Server Error", text=text).encode()


class GeminiProfile(ProviderProfile):
    name = "gemini"
    base_path = ""
    catalog = tuple(model.info() for model in CATALOG)

    def request_id(self) -> str:
        """Used as `responseId` (23 URL-safe characters, like the real ones)."""
        return random_alnum(23)

    def response_headers(
        self, request_id: str, *, endpoint: str, generation_id: str | None, tokens: int, elapsed_ms: int
    ) -> Headers:
        return [
            ("vary", "Origin, X-Origin, Referer"),
            ("server", "scaffolding on HTTPServer2"),
            ("server-timing", f"gfet4t7; dur={max(elapsed_ms, 1)}"),
            ("x-xss-protection", "0"),
            ("x-frame-options", "SAMEORIGIN"),
            ("x-content-type-options", "nosniff"),
        ]

    def error_headers(self, error: ApiError, request_id: str) -> Headers:
        return [*self.response_headers(request_id, endpoint="", generation_id=None, tokens=0, elapsed_ms=1)]

    def error_body(self, error: ApiError) -> dict[str, Any]:
        status = error.type if error.type in GOOGLE_STATUS.values() else None
        body: dict[str, Any] = {
            "code": error.status,
            "message": error.message,
            "status": status or GOOGLE_STATUS.get(error.status, "UNKNOWN"),
        }
        details = (error.metadata or {}).get("details")
        if details:
            body["details"] = details
        return {"error": body}

    def auth_error(self, key: str | None) -> ApiError:
        if key is None:
            return google_error(403, NO_KEY)
        localized = {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US"}
        details = [_error_info("API_KEY_INVALID"), {**localized, "message": INVALID_KEY}]
        return google_error(400, INVALID_KEY, details)

    def oauth_error(self, version: str, rpc: str | None) -> ApiError:
        service, name = (
            ("GenerativeService", rpc[:1].upper() + rpc[1:]) if rpc else ("ModelService", "ListModels")
        )
        method = f"google.ai.generativelanguage.{version}.{service}.{name}"
        return google_error(401, OAUTH_ONLY, [_error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED", method=method)])

    def fault_error(self, fault: Fault, model: str | None) -> ApiError:
        if fault.kind == "429":
            dimensions = {"location": "global", **({"model": model} if model else {})}
            violation = {
                "quotaMetric": f"{SERVICE}/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "quotaDimensions": dimensions,
            }
            link = {"description": "Learn more about Gemini API quotas", "url": RATE_LIMITS}
            details: list[dict[str, Any]] = [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]},
                {"@type": "type.googleapis.com/google.rpc.Help", "links": [link]},
            ]
            if fault.retry_after_s is not None:  # armed without one: no RetryInfo at all
                retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo"}
                details.append({**retry, "retryDelay": f"{fault.retry_after_s}s"})
            return google_error(429, QUOTA, details)
        status = int(fault.kind)
        return google_error(
            status, {500: INTERNAL, 503: OVERLOADED, 504: DEADLINE}.get(status, "Bad Gateway")
        )

    def model_not_found(self, model: str, version: str = "v1beta", rpc: str = "generateContent") -> ApiError:
        return google_error(
            404,
            f"models/{model} is not found for API version {version}, or is not supported for {rpc}. "
            "Call ListModels to see the list of available models and their supported methods.",
        )
