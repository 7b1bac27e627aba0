"""The control plane: use cases (services), the JSON admin API, and what the CLI shares with it."""
