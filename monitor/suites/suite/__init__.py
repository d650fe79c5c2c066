"""The suite model: what a suite file (``scenarios/*.yaml``) says, as typed models.

- ``models``   ``Suite``, ``Scenario``, ``Step``, ``Phase``, ``CheckSpec``, ``Needs`` … (pydantic;
               each field's docstring becomes its JSON Schema description)
- ``params``   parameters (suite defaults <- scenario overrides <- command line) and the run's
               reproducible variables

May import: ``monitor.suites.errors`` only. Loading a suite file (YAML, line numbers, cross-field
checks) is ``monitor.suites.loading``; running it is ``monitor.suites.run``.
"""
