"""Errors of the chaos layer.

```
ChaosError               (a monitor.errors.SoakmonError)
├── ActionError          an action could not inject or revert (the message names the action)
├── Refused              a guard refused an action (a UsageError: the config asks for it)
├── TargetBusy           another experiment holds faults on the same target
└── kube.victims.NoVictims  nothing may be killed (no pods, the budget, only the monitor)
```
"""

from __future__ import annotations

from monitor.errors import SoakmonError, UsageError


class ChaosError(SoakmonError):
    """Base of every error raised by ``monitor.chaos``."""


class ActionError(ChaosError):
    """An action could not be injected or reverted; the message says which and why."""


class Refused(ChaosError, UsageError):
    """A guard (namespace allowlist, own process, ...) refused to inject an action."""


class TargetBusy(ChaosError):
    """Another experiment has faults active on this target (never two at once)."""


__all__ = ["ActionError", "ChaosError", "Refused", "TargetBusy"]
