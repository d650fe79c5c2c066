"""The built-in fault action kinds, one module per family; each registers into
:data:`monitor.chaos.registry.ACTIONS` on import (loaded on first use of the registry)."""
