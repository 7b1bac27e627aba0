"""Rate limits (requests and tokens per minute) and spend budgets, per project and per project key."""
