"""Latency budgets of the built-in suites: how fast this machine gets answers from a correct
target, not whether the target is correct.

On a busy machine a correct reference target can exceed them (p95 = 508 ms at load average 6.5
on two cores), so the clean runs of the detection matrix and the demo report them and assert
every other check. That each budget catches a slow target is the matrix's ``slow`` row; the
reference target's speed is measured by ``bench.reference_mixed``.
"""

from __future__ import annotations

#: (scenario, check) pairs.
BUDGETS = frozenset(
    {
        ("load-10-users", "p95 latency < 500 ms"),
        ("load-10-users", "completes within 10 s"),
        ("burst-load", "burst p99 bounded"),
        ("burst-load", "latency after the burst returns to normal"),
    }
)
