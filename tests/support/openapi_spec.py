"""The official OpenAI OpenAPI spec, parsed once per session, and validators for its component schemas.

The spec (3 MB of YAML) lives outside the repository; set `BYOKGATE_OPENAI_SPEC` to its path, or it is
looked for at `../shared/reference/specs/openai-openapi.yaml` next to the repository. Tests that need it
skip when it is absent.

    assert_valid("CreateChatCompletionResponse", body)

OpenAPI's `nullable: true` (still used in places in the 3.1 document) is rewritten into JSON Schema
(`type: [..., "null"]`) so that JSON-Schema validation reads the spec the way OpenAI means it.
"""

from __future__ import annotations

import datetime
import functools
import os
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "reference" / "specs" / "openai-openapi.yaml"


def spec_path() -> Path:
    return Path(os.environ.get("BYOKGATE_OPENAI_SPEC", DEFAULT_SPEC))


def _json_schema(node: Any) -> Any:
    """A copy of an OpenAPI schema tree with `nullable: true` expressed in JSON Schema."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if isinstance(node, datetime.date):  # YAML turns example dates into dates; JSON has only strings
        return node.isoformat()
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        elif kind is None:
            out = {"anyOf": [out, {"type": "null"}]}
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def openapi_spec() -> dict[str, Any]:
    """The parsed spec (cached: parsing takes seconds); skips the calling test when it is missing."""
    path = spec_path()
    if not path.is_file():
        pytest.skip(f"the OpenAI OpenAPI spec is not at {path} (set BYOKGATE_OPENAI_SPEC)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return spec


@functools.cache
def _components() -> dict[str, Any]:
    return {"schemas": _json_schema(openapi_spec()["components"]["schemas"])}


@functools.cache
def validator(schema_name: str) -> jsonschema_rs.Validator:
    """A JSON-Schema validator for `#/components/schemas/<schema_name>`, `$ref`s resolved in the spec."""
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": _components()}
    return jsonschema_rs.validator_for(root)


def assert_valid(schema_name: str, instance: Any) -> None:
    """Fail with every violation listed when `instance` does not match the named spec schema."""
    errors = [
        f"{'/'.join(map(str, error.instance_path))}: {error.message}"
        for error in validator(schema_name).iter_errors(instance)
    ]
    assert not errors, f"not a valid {schema_name}:\n" + "\n".join(errors)
