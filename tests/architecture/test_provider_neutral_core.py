"""No provider-specific logic outside ``providers/``, read off the syntax tree of every core module.

Outside ``providers/``, ``emulators/``, ``demo.py`` and the short allow-list below (a reason each): no
import of a provider's own module, no comparison with a provider's name, no identifier or data string
naming a provider (its header prefixes included), no per-provider settings field. Naming a wire format is
not provider logic: the canonical format is OpenAI's chat format and is named as "chat", and the
``/v1/messages`` front door, which speaks Anthropic's format, is allowed to say so.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from byokgate.providers.base import ProviderAdapter
from byokgate.providers.registry import default_registry
from byokgate.settings import Settings

ROOT = Path(__file__).resolve().parents[2] / "src" / "byokgate"
EXEMPT = ("providers", "emulators", "demo.py")
# Modules of ``providers`` the core may import: the contract, the registry, key checks and set-up.
SHARED = {"base", "registry", "keyformat", "setup"}
ALLOWED = {
    "proxy/doors/messages.py": "the /v1/messages front door speaks Anthropic's format, headers included",
}
REGISTRY = default_registry()
NAMES = frozenset(REGISTRY)
_GENERIC_HEADERS = {"retry-after", "x-ratelimit-", "x-request-id", "request-id"}


def _provider_headers(adapter: ProviderAdapter) -> set[str]:
    """The response headers (or prefixes, ending in "-") only this provider sends."""
    return {*adapter.passed_headers, *adapter.request_id_headers} - _GENERIC_HEADERS


HEADERS = frozenset(header for adapter in REGISTRY.values() for header in _provider_headers(adapter))
_TOKEN = re.compile(r"[a-z0-9]+")


def _tokens(text: str) -> set[str]:
    """Words of an identifier or data string, and each two neighbours joined (``toOpenAI``: to, open, ai,
    toopen, openai)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text)  # camelCase -> camel_case
    words = _TOKEN.findall(spaced.lower())
    return {*words, *(first + second for first, second in itertools.pairwise(words))}


def _is_header(text: str) -> bool:
    lowered = text.lower()
    return any(
        lowered == header or (header.endswith("-") and lowered.startswith(header)) for header in HEADERS
    )


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def offences(source: str) -> Iterator[str]:
    """What in ``source`` names a provider, one line each."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            modules = []
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["byokgate", "providers"] and len(parts) > 2 and parts[2] not in SHARED:
                yield f"{line}: imports {module}"
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Constant) and str(side.value).lower() in NAMES:
                    yield f"{line}: compares with the provider name {side.value!r}"
        matched = node.value if isinstance(node, ast.MatchValue) else None
        if isinstance(matched, ast.Constant) and str(matched.value).lower() in NAMES:
            yield f"{line}: matches the provider name {matched.value!r}"
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str | bytes)
            and id(node) not in docstrings
        ):
            text = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
            if not any(char.isspace() for char in text.strip()):  # data (names, headers, keys), not prose
                if _tokens(text) & NAMES:
                    yield f"{line}: the string {text!r} names a provider"
                if _is_header(text):
                    yield f"{line}: the string {text!r} is a provider's header"
        name = None
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = node.name
        elif isinstance(node, ast.arg | ast.keyword):
            name = node.arg
        elif isinstance(node, ast.alias):
            name = node.asname or node.name.rpartition(".")[2]
        if name and _tokens(name) & NAMES:
            yield f"{line}: the identifier {name!r} names a provider"


def _core_modules() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if path.relative_to(ROOT).parts[0] not in EXEMPT
        and path.relative_to(ROOT).as_posix() not in ALLOWED
        and "migrations" not in path.parts
    )


@pytest.mark.parametrize("path", _core_modules(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_core_names_no_provider(path: Path) -> None:
    assert list(offences(path.read_text())) == []


def test_the_allow_list_is_short_explained_and_still_needed() -> None:
    assert len(ALLOWED) <= 3
    for module, reason in ALLOWED.items():
        assert len(reason) > 20
        assert list(offences((ROOT / module).read_text())), f"{module} no longer needs its exemption"


def test_settings_have_no_field_of_any_provider() -> None:
    for field in Settings.model_fields:
        assert not (_tokens(field) & NAMES), field


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ('if provider == "openai":\n    pass', "compares with the provider name 'openai'"),
        ('if "Gemini" != route.provider:\n    pass', "compares with the provider name 'Gemini'"),
        ('match name:\n    case "groq":\n        pass', "matches the provider name 'groq'"),
        ("from byokgate.providers.anthropic.chat import x", "imports byokgate.providers.anthropic.chat"),
        ("from byokgate.providers import mistral", "imports byokgate.providers.mistral"),
        ("import byokgate.providers.openai_stream", "imports byokgate.providers.openai_stream"),
        ('PASS = ("retry-after", "anthropic-ratelimit-")', "the string 'anthropic-ratelimit-' names"),
        ('PASSED = b"apim-request-id"', "the string 'apim-request-id' is a provider's header"),
        ('PASSED = "mistral-correlation-id"', "the string 'mistral-correlation-id' is a provider's header"),
        ("exchange.anthropic_format = True", "the identifier 'anthropic_format' names a provider"),
        ("def toOpenAI(x): ...", "the identifier 'toOpenAI' names a provider"),
        ("settings.openrouter_api_key", "the identifier 'openrouter_api_key' names a provider"),
    ],
)
def test_the_checker_catches_what_it_is_for(source: str, caught: str) -> None:
    assert any(caught in offence for offence in offences(source)), list(offences(source))


def test_prose_and_formats_are_not_offences() -> None:
    source = (
        '"""Translates OpenAI chat bodies to Anthropic messages."""\n'
        'MESSAGE = "Authentication failed with the provider"\n'
        "from byokgate.providers.base import ProviderAdapter\n"
    )
    assert list(offences(source)) == []
