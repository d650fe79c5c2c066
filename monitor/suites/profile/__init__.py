"""The API profile: how logical operations map to HTTP, and what a target provides.

- ``models``        typed models of a profile (``scenarios/profiles/*.yaml``): requests,
                    extraction, outcome rules, sequences, metrics, ``provides``
- ``operations``    the built-in catalogue of logical operations and canonical outcomes
- ``outcomes``      response -> canonical outcome (the profile's rules), Prometheus text parsing
- ``capabilities``  what a scenario needs, what a profile provides, what is unmet
- ``vocabulary``    the operation and outcome names a suite may speak (built-in or its own)
- ``coverage``      arguments a scenario passes that a profile's request never uses
- ``ops_table``     the operations reference table (``soakmon schema ops``)

May import: ``monitor.suites.suite`` (the needs it compares against), ``expressions``,
``results``, ``errors``. Not the checks, loading or running.
"""
