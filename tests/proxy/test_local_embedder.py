"""The local embedder (WordLlama, weights shipped in its package) and the semantic cache on top of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from byokgate.emulators import EmulatorServer, build
from byokgate.proxy.local_embedder import LocalEmbedder
from byokgate.settings import Settings
from byokgate.snapshot.model import KeyEntry, Snapshot
from tests.proxy.conftest import Gateway, gateway_for
from tests.proxy.test_semantic_cache import GROQ_KEY, ask, semantic_project
from tests.support.settings import wired

KEY = KeyEntry("key_x", "proj_x", None)


async def test_the_local_model_loads_offline_and_places_similar_questions_close(tmp_path: Path) -> None:
    embedder = LocalEmbedder(tmp_path / "wordllama")
    snapshot = Snapshot(version=0, api_keys={}, credentials={}, wrapped_data_keys={}, providers={})

    async def vector(text: str) -> np.ndarray:
        return np.frombuffer(await embedder.embed(snapshot, KEY, None, text, "req"), dtype="<f4")

    france = await vector("What is the capital of France?")
    assert france.shape == (256,)
    assert float(np.linalg.norm(france)) == pytest.approx(1.0, abs=1e-5)
    reworded = float(france @ await vector("what is the capital city of France"))
    spain = float(france @ await vector("What is the capital of Spain?"))
    unrelated = float(france @ await vector("How do I reset my password?"))
    assert reworded > 0.8 > spain > unrelated
    assert (tmp_path / "wordllama" / "tokenizers").is_dir()  # the shipped tokenizer file, linked


@pytest.fixture
def local_gateway(settings: Settings) -> Iterator[tuple[Gateway, EmulatorServer]]:
    with EmulatorServer(build("groq", [GROQ_KEY])) as groq:
        for gateway in gateway_for(wired(settings, {"groq": groq.base_url}, semantic_embedder="local")):
            yield gateway, groq


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_project_without_an_embeddings_key_gets_semantic_hits_locally(
    local_gateway: tuple[Gateway, EmulatorServer],
) -> None:
    gateway, groq = local_gateway
    _, key = semantic_project(gateway, {"groq": GROQ_KEY}, semantic_threshold=0.8)
    client = gateway.client(key)
    model = "llama-3.3-70b-versatile"
    miss = client.chat.completions.with_raw_response.create(
        model=model, messages=ask("What is the capital of France?")
    )
    hit = client.chat.completions.with_raw_response.create(
        model=model, messages=ask("what is the capital city of France")
    )
    other = client.chat.completions.with_raw_response.create(
        model=model, messages=ask("What is the capital of Spain?")
    )
    outcomes = [r.headers["x-byokgate-cache"] for r in (miss, hit, other)]
    assert outcomes == ["MISS", "SEMANTIC-HIT", "MISS"]
    assert hit.content == miss.content
    assert not any("embeddings" in r.path for r in groq.emulator.requests)
