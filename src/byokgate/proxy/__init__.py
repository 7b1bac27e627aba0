"""The hot path: OpenAI-compatible endpoints over raw ASGI (authenticate -> route -> execute -> record)."""
