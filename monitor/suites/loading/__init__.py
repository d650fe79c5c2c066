"""Loading suite and profile files: YAML with line numbers, typed models, cross-field checks.

- ``yamlsource``      YAML that remembers the file and line of every value
- ``validation``      pydantic errors -> ``file:line: field: message`` problems
- ``paths``           where the built-in suites and profiles live (wheel or checkout)
- ``suite_checks``    cross-field checks of a suite (operations, params, templates, checkers)
- ``profile_checks``  cross-field checks of a profile (JMESPath, templates, sequences)
- ``loader``          ``load_suite`` / ``load_profile`` / ``validate_file`` / ``resolve_*``
- ``schema``          JSON Schemas of suites and profiles for editors
- ``sharding``        ``--shard I/N``: a deterministic share of the loaded scenarios

May import: ``checks`` (to validate check entries), ``profile``, ``suite``, ``expressions``,
``results``, ``errors``. Not ``run``.
"""
