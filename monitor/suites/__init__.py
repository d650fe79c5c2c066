"""Suite, profile and configuration models, loading, and invariant checks."""
