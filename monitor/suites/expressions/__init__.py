"""One place for expressions: the ``${…}`` template language and CEL, and the names they see.

- ``names``        THE documented list of the names an expression can see, by where it is
                   written (suite templates, profile templates, checker arguments, CEL checks)
- ``templates``    ``{var}`` / ``${expr}`` templates in suites and profiles (compiled at load)
- ``cel``          CEL programs: compile once with clear errors, evaluate, explain a false result
- ``cel_values``   JSON-like values <-> CEL values, ``show`` for human-readable evidence
- ``check_args``   expressions inside checker arguments (dotted paths or CEL) and their scopes

May import: ``monitor.suites.errors`` and ``monitor.suites.results`` (the history an
expression selects ops from). It does not import the checks: ``check_args`` reads a check's
context through the ``ContextView`` protocol.
"""
