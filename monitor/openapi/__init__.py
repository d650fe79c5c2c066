"""From an OpenAPI document to a drafted profile (``soakmon init``) and to race probes
(``soakmon probe``), with nothing written by hand.

```
document   load a document (file or URL, JSON or YAML), validate it (3.0, 3.1), resolve $ref
model      the operations, parameters, bodies, responses and security schemes it declares
auth       securitySchemes -> how a request authenticates; the session-creating operation
naming     operation names (operationId, else method + path) and built-in vocabulary guesses
draft      the drafted profile and starter suite (YAML with every guess commented)
values     schema-driven request values (hypothesis-jsonschema), unique per probe
deps       producer -> consumer: which create answers a path parameter
plan       the probes of a document: what each fires and reads back (pure)
findings   the findings of one probe, computed from its records (pure)
probe      runs the plans against a target (I/O: sessions, parents, synchronised batches)
report     probe findings as a RunResult (the reports of ``soakmon run``) and ``--save``
```

Layering: this package sits beside ``monitor.suites`` and ``monitor.observe``: it may import
``monitor.suites`` (profile and result models, loading), ``monitor.engine`` and the foundation;
nothing below it imports it.
"""
