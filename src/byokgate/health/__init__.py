"""What the data plane learns about providers and keys as requests fail: key cooldowns, circuit breakers."""
