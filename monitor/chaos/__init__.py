"""Fault injection: actions that break something on purpose, and experiments that run them.

```
registry.py   ACTIONS: every fault action kind by name (one module per family in actions/)
action.py     the Action interface: prepare -> (journal) -> inject -> revert, describe, access
journal.py    the durable record of what is injected (reverted on the next start after a crash)
guards.py     refusal hooks (namespace allowlist, ...) asked before anything is injected
engine.py     runs one action for a duration: journal, inject, wait, always revert; events
access.py     the Kubernetes API calls chaos actions may make (the chart's chaos Role)
```

Experiments (steady state, method, during, recovery, guardrails) live in
:mod:`monitor.chaos.experiment`. The package sits above ``events``, ``suites`` and
``observe``: it publishes ``ChaosActionStarted``/``ChaosActionEnded`` on the bus and runs
suites through their public runner; the daemon schedules experiments.
"""
