"""A minimal loopback stand-in for the providers' models endpoints, for key verification tests.

It checks each provider's real auth header and answers with that provider's real error shape. (The full
provider emulators arrive with the data plane and will replace it.)
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

VALID_KEYS: set[str] = set()
SEEN: list[dict[str, str]] = []


def _bearer(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ")


async def openai_models(request: Request) -> JSONResponse:
    SEEN.append(dict(request.headers))
    if _bearer(request) not in VALID_KEYS:
        error = {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": None}
        return JSONResponse({"error": {**error, "code": "invalid_api_key"}}, status_code=401)
    return JSONResponse({"object": "list", "data": []})


async def anthropic_models(request: Request) -> JSONResponse:
    SEEN.append(dict(request.headers))
    if not request.headers.get("anthropic-version"):
        return JSONResponse(
            {"type": "error", "error": {"type": "invalid_request_error", "message": "anthropic-version"}}, 400
        )
    if request.headers.get("x-api-key") not in VALID_KEYS:
        body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
        return JSONResponse(body, status_code=401)
    return JSONResponse({"data": [], "has_more": False, "first_id": None, "last_id": None})


async def gemini_models(request: Request) -> JSONResponse:
    SEEN.append(dict(request.headers))
    if request.headers.get("x-goog-api-key") not in VALID_KEYS:
        detail = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
        error = {
            "code": 400,
            "message": "API key not valid.",
            "status": "INVALID_ARGUMENT",
            "details": [detail],
        }
        return JSONResponse({"error": error}, status_code=400)
    return JSONResponse({"models": []})


async def rate_limited(request: Request) -> JSONResponse:
    return JSONResponse({"error": {"message": "slow down"}}, status_code=429, headers={"retry-after": "1"})


app = Starlette(
    routes=[
        Route("/openai/v1/models", openai_models),
        Route("/groq/openai/v1/models", openai_models),
        Route("/anthropic/v1/models", anthropic_models),
        Route("/gemini/v1beta/models", gemini_models),
        Route("/limited/v1/models", rate_limited),
    ]
)
