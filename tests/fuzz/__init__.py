"""Fuzzing the loading path: suites, profiles, daemon configs and the expressions inside them.

- ``seeds``: the shipped examples (``scenarios/``, ``scenarios/profiles/``, the daemon config
  examples in ``deploy/`` and the chart's values) the mutations start from;
- ``mutators``: text, structure and expression mutations, plus adversarial values (control
  characters, impossible dates, bad-typed tags, alias bombs, deep nesting, ``${`` runs, values CEL
  cannot hold, keys with newlines, huge values);
- ``harness``: validates each input as ``soakmon validate`` does, in a forked child with a 2 GB
  address-space limit and a 20 s alarm, and judges the outcome (ok, a clean rejection, a bad
  message, a crash, a hang, too much memory) with the child's time and peak RSS;
- ``python -m tests.fuzz`` (``make fuzz``) runs the long budget and keeps every new crash as a
  regression file in ``tests/fuzz/regressions/``, replayed by ``test_regressions.py`` in
  ``make test``.
"""
