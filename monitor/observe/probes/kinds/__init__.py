"""Built-in probe kinds, one module each; every module registers its kind on import."""
