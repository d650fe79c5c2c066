"""Built-in checkers, one module per family; each module registers itself on import."""
