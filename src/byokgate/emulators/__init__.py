"""Faithful, deterministic HTTP emulators of LLM provider APIs: OpenAI, Groq, OpenRouter, Gemini, Anthropic,
Azure OpenAI, and the OpenAI-compatible providers described as data in `compatible_providers` (Mistral,
DeepSeek, xAI, Together, Fireworks, Cerebras, Perplexity).

Used by the gateway's tests, the benchmarks and the offline demo. Each emulator is a raw ASGI app; run it
with `runner.EmulatorServer` (a background thread) or `byokgate emulate` (the CLI). See `content` for the
rule that makes answers predictable and `faults` / `control` for fault injection and the request log.
"""

from __future__ import annotations

from byokgate.emulators.anthropic import anthropic_emulator
from byokgate.emulators.azure import azure_emulator
from byokgate.emulators.compatible import compatible_emulator
from byokgate.emulators.compatible_providers import SPECS
from byokgate.emulators.compatible_spec import CompatibleSpec
from byokgate.emulators.faults import Fault
from byokgate.emulators.gemini import gemini_emulator
from byokgate.emulators.groq import groq_emulator
from byokgate.emulators.openai import openai_emulator
from byokgate.emulators.openai_compat import Emulator
from byokgate.emulators.openrouter import openrouter_emulator
from byokgate.emulators.recorder import RecordedRequest
from byokgate.emulators.runner import PROVIDERS, EmulatorServer, build, running, serve

__all__ = [
    "PROVIDERS",
    "SPECS",
    "CompatibleSpec",
    "Emulator",
    "EmulatorServer",
    "Fault",
    "RecordedRequest",
    "anthropic_emulator",
    "azure_emulator",
    "build",
    "compatible_emulator",
    "gemini_emulator",
    "groq_emulator",
    "openai_emulator",
    "openrouter_emulator",
    "running",
    "serve",
]
