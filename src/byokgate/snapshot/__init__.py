"""The hot path's view of configuration: an immutable in-memory snapshot, swapped atomically on change."""
