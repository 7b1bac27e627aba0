"""The hot path over raw ASGI: front doors (``doors/``, one per inbound format) -> pipeline (route, admit,
cache) -> executor (one attempt upstream) -> back through the door; the record of every request."""
