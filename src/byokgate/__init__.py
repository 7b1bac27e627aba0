"""byokgate: a self-hostable LLM gateway with bring-your-own-key provider credentials."""

__version__ = "0.1.0"
