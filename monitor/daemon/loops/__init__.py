"""Built-in loop kinds, one module each; every module registers its builder on import."""
