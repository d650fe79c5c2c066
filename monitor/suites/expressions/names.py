"""The names an expression can see: the one list, by where the expression is written.

Every expression is a ``${…}`` template (``templates``: a plain dotted path is looked up
directly, anything else is CEL), a checker argument (``check_args``) or a ``cel`` check
(``cel``). An unknown top-level name is a load error naming the file, line and field.

**Suite templates** (``"${expr}"`` and ``{var}`` in a suite's steps, phase ops, readers and
load; checked by ``monitor.suites.loading.suite_checks``, rendered by
``monitor.suites.run.scenario_run``) — ``SUITE_TEMPLATE_NAMES``:

- ``params``  the scenario's parameters (suite defaults <- scenario overrides <- ``--param``)
- ``state``   values saved by setup and read-back steps (``save:``)
- ``session`` the acting user's saved values (``token``, ``user_id`` … as ``register`` saved them)
- ``member``  the acting group member: its ``name`` (``fans[2]``) and saved values, not the token
- ``index``   0-based repetition of a phase op or step
- ``vars``    the run's reproducible variables: ``today``, ``dates`` (40 future dates), ``run_id``
  (a new one for each further attempt of a race scenario)

**Profile templates** (an operation's ``path``, ``query``, ``body``, ``headers``, a sequence's
step ``args``; rendered by ``monitor.suites.run.request_builder``) — ``PROFILE_TEMPLATE_NAMES``
plus every argument of the operation by its bare name (``/tasks/{task_id}``):

- ``args``    the operation's arguments as one map (absent optional arguments are null)
- ``session`` the acting user's saved values
- ``vars``    the run's variables (as above)
- ``steps``   only in a sequence's ``result``: the values earlier steps saved by name

**Checker arguments** (string args of a built-in checker; ``check_args``):
``CHECK_ARG_NAMES`` (``params``, ``state``) everywhere; per-op expressions (``where``, ``key``,
``value`` …) add ``CHECK_OP_NAMES`` (``args``, ``value``, ``user``, ``kind``, ``code``,
``outcome``, ``status``, ``id`` of the op); per-item expressions add ``item``
(``CHECK_ITEM_NAMES``).

**CEL checks** (``- cel: …`` in a suite; ``monitor.suites.checks.builtin.cel_check``) —
``CEL_CHECK_NAMES``: ``params``, ``state``, ``duration_s`` (the phase), ``ops[kind]``
(``{ok, failed, unknown, total, codes}``), ``requests[kind]`` (``{count, ok, errors, timeouts,
error_rate, error_percent, p50, p95, p99, max}``; both also under ``"overall"``) and ``history``
(every op as a map).
"""

from __future__ import annotations

SUITE_TEMPLATE_NAMES = frozenset({"params", "state", "session", "member", "index", "vars"})
PROFILE_TEMPLATE_NAMES = frozenset({"args", "session", "vars"})

CHECK_ARG_NAMES = ("params", "state")
CHECK_OP_NAMES = (
    *CHECK_ARG_NAMES,
    "args",
    "value",
    "user",
    "kind",
    "code",
    "outcome",
    "status",
    "id",
)
CHECK_ITEM_NAMES = (*CHECK_ARG_NAMES, "item")
CHECK_ALL_NAMES = frozenset(CHECK_OP_NAMES + CHECK_ITEM_NAMES)

CEL_CHECK_NAMES = ("params", "state", "ops", "requests", "duration_s", "history")
