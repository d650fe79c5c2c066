"""Suites: what a soak suite says, how it loads, how a scenario runs and is checked.

The sub-packages follow the data, and import only downwards (``.importlinter`` enforces it):

```
run          setup -> synchronised phase -> read-back -> checks -> ScenarioResult
loading      suite and profile files: YAML with lines, typed models, cross-field checks
checks       the checkers (invariants, thresholds, CEL) and a suite's check entries
profile      the API profile: operations -> HTTP, outcomes, capabilities, vocabulary
suite        the suite model: scenarios, steps, phases, checks, parameters
expressions  ${…} templates and CEL, and the one list of names they can see
results      the op history, check / scenario / run results, their JSON form
errors       the error tree of the suite layer
```

Each package's ``__init__`` docstring says what it owns and what it may import.
``docs/architecture-suites.md`` has the import graph and where new things go.
"""
