"""Plans and billing policies: which lanes and pooled models a project may use (credits come next)."""
