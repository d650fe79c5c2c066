"""Running a scenario: setup -> synchronised phase -> read-back -> checks -> ``ScenarioResult``.

- ``client``        the profile-driven client: operation + args -> HTTP request -> ``Call`` / ``Op``
- ``scenario_run``  the mutable state of one running scenario (sessions, saved values, context)
- ``steps``         setup and read-back steps (``register``, ``fund``, ``stock``, profile ops)
- ``phase``         the concurrent phase: one engine barrier batch, readers, or sustained load
- ``throughput``    per-window throughput of a sustained phase
- ``runner``        ``run_suites``: every scenario of the loaded suites, through one profile

May import: every other part of ``monitor.suites`` and ``monitor.engine`` / ``monitor.analysis``.
Nothing in ``monitor.suites`` imports it (the CLI and the daemon do).
"""
