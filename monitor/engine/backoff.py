"""A closed-model virtual user's backoff after connection-level failures.

Against a target that refuses connections (nothing listening) or resets them, each request
fails within microseconds, so a closed-model VU without think time would retry thousands of
times a second and take a core while measuring nothing new. After an iteration that had a
connection-level failure the VU waits before its next one: 10 ms, doubled after each further
such iteration, at most 1 s, with jitter (half to all of it, so VUs do not retry in step).
Its first iteration without one resets it. Every attempt is still sent and recorded: the
refused requests are counted per window as they happen, the backoff only spaces them.

Connection-level: ``refused``, ``reset``, ``tls``, and ``other`` failures that never sent the
request (``cannot connect: ...``). Timeouts already take their time; HTTP errors are answers.
The open model keeps its rate: each iteration starts at its due instant whatever the previous
ones did, so errors are recorded at the rate (as k6's ``constant-arrival-rate`` does), which
bounds them.
"""

from __future__ import annotations

import random

BASE_S = 0.01
"""The first wait after a connection-level failure."""
CAP_S = 1.0
"""The longest wait: a VU retries a dead target at least about once a second."""

_CONNECTION_KINDS = frozenset({"refused", "reset", "tls"})


def connection_failed(kind: str | None, sent: bool) -> bool:
    """Whether a request's failure (its error kind, and whether it may have been sent) was at
    the connection level."""
    return kind in _CONNECTION_KINDS or (kind == "other" and not sent)


class VuBackoff:
    """One VU's backoff: :meth:`after` each iteration says how long to wait before the next."""

    __slots__ = ("failures", "rng")

    def __init__(self, rng: random.Random | None = None) -> None:
        self.failures = 0
        """Iterations in a row with a connection-level failure."""
        self.rng = rng or random.Random()

    def after(self, failed: bool) -> float:
        """Seconds to wait before the next iteration, given whether this one had a
        connection-level failure (0: go on at once; a success resets the backoff)."""
        if not failed:
            self.failures = 0
            return 0.0
        self.failures += 1
        full = min(CAP_S, BASE_S * 2.0 ** min(self.failures - 1, 30))
        return full * (0.5 + 0.5 * self.rng.random())
