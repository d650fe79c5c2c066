"""Chaos experiments: a steady state checked before, a method of fault actions, what runs
during the fault, and the recovery judged after (Chaos Toolkit's shape), guarded by the data
invariants while the fault is active.

```
model.py      the experiment file (typed; each step validated against its action kind)
load.py       load and validate a file or a daemon entry: file:line: field: message
workload.py   the ledger soak that runs through the whole experiment (adds and transfers;
              requests whose answer is lost are counted unknown, never as lost or duplicated)
runner.py     run one experiment: steady state -> method + during -> recovery -> verdict
result.py     what a run found (phases, actions, checks, timeline), as JSON
```
"""
