"""Records written off the request path: key usage, audit events (request logs and metrics later)."""
