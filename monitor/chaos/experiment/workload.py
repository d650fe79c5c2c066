"""The ledger workload: a points storm that runs through a whole experiment and proves at the
end that no committed write was lost or duplicated.

``users`` accounts are registered through the target's profile; ``concurrency`` workers each
pick a random account and add ``amount`` points to it (``points.add``), or transfer up to
``amount`` points to another account (``points.transfer``), so several requests hit one
account at once. Every answer is accounted by its outcome:

- ``ok``: committed (an add counts into ``committed``);
- ``failed``: definitely not written (a refused transfer is expected, not an error);
- ``unknown``: the request was sent and its answer lost (a reset, a timeout, an unexplained
  5xx): it may or may not have been written (an add counts into ``uncertain``).

Transfers move points between accounts and never change the total, whatever their outcome.
So after the faults are reverted, the total balance read back must lie within
``[committed, committed + uncertain]``: below it a committed write was lost, above it one was
duplicated (or invented). An unknown outcome is never a violation by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from monitor.chaos.experiment.model import TargetSpec, Workload
from monitor.engine import ConcurrentTester, ConnectionMode
from monitor.suites.profile.models import Profile
from monitor.suites.results.history import Outcome
from monitor.suites.run.call import Call, Session
from monitor.suites.run.client import ProfileClient

EXPECTED_REFUSALS = frozenset({"insufficient_points"})
REQUIRED_OPS = ("register", "points.add", "points.balance")


@dataclass(frozen=True, slots=True)
class WorkloadSample:
    """One request: when it ended (seconds since the workload started), how long it took,
    and its outcome (``ok``, ``refused``, ``failed``, ``unknown``)."""

    t: float
    latency_ms: float
    outcome: str


@dataclass(frozen=True, slots=True)
class Stats:
    """Requests of a time span."""

    requests: int
    errors: int
    """Failed (not an expected refusal) or unknown."""
    unknown: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "unknown": self.unknown,
                "error_rate": round(self.error_rate, 4), "p50_ms": round(self.p50_ms, 1),
                "p95_ms": round(self.p95_ms, 1), "p99_ms": round(self.p99_ms, 1)}  # fmt: skip


def _pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return 0.0
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[k]


def stats_of(samples: list[WorkloadSample]) -> Stats:
    ms = sorted(s.latency_ms for s in samples)
    errors = sum(1 for s in samples if s.outcome in ("failed", "unknown"))
    unknown = sum(1 for s in samples if s.outcome == "unknown")
    return Stats(len(ms), errors, unknown, _pct(ms, 50), _pct(ms, 95), _pct(ms, 99))


@dataclass(frozen=True, slots=True)
class Conservation:
    """The verdict on the ledger: committed <= total <= committed + uncertain."""

    committed: int
    uncertain: int
    total: int | None
    """None when the balances could not all be read back (then nothing is judged)."""
    unknown_adds: int
    error: str | None = None

    @property
    def holds(self) -> bool | None:
        if self.total is None:
            return None
        return self.committed <= self.total <= self.committed + self.uncertain

    def message(self) -> str:
        if self.total is None:
            return f"could not be evaluated: {self.error}"
        lo, hi = self.committed, self.committed + self.uncertain
        if self.total < lo:
            return f"{lo - self.total} committed point(s) lost: total {self.total} < {lo} committed"
        if self.total > hi:
            extra = self.total - hi
            return (
                f"{extra} point(s) duplicated or invented: total {self.total} > {lo} committed"
                f" + {self.uncertain} from {self.unknown_adds} unknown add(s)"
            )
        return (f"total {self.total} within [{lo}, {hi}] ({self.unknown_adds} add(s) with an "
                "unknown outcome)")  # fmt: skip


class LedgerWorkload:
    """Runs from :meth:`start` until :meth:`stop`; then :meth:`verify` reads the ledger back."""

    def __init__(self, spec: Workload, target: TargetSpec, profile: Profile, seed: int) -> None:
        self.spec = spec
        self.target = target
        self.profile = profile
        self.rng = random.Random(seed)
        self.samples: list[WorkloadSample] = []
        self.committed = 0
        self.uncertain = 0
        self.unknown_adds = 0
        self.t0 = time.monotonic()
        self._accounts: list[Session] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._tester: ConcurrentTester | None = None
        self._client: ProfileClient | None = None
        self._transfers = spec.transfers and "points.transfer" in profile.operations

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def start(self, *, deadline_s: float = 30.0) -> None:
        """Register the accounts (retrying, within ``deadline_s``) and start the workers."""
        mode = ConnectionMode(self.spec.connections)
        self._tester = ConcurrentTester(
            self.target.url, timeout=self.target.timeout, mode=mode, keep_body=True
        )
        await self._tester.__aenter__()
        self._client = ProfileClient(self.profile, self._tester)
        run = uuid.uuid4().hex[:8]
        deadline = time.monotonic() + deadline_s
        for i in range(self.spec.users):
            session = Session(f"chaos-{run}-{i}")
            while True:
                call = await self._client.call("register", {"username": session.name}, session)
                if call.ok:
                    break
                if time.monotonic() > deadline:
                    await self.close()
                    why = f"{call.code}: {call.error}" if call.error else call.code
                    raise RuntimeError(
                        f"could not register workload accounts at {self.target.url} ({why})"
                    )
                await asyncio.sleep(0.2)
            self._accounts.append(session)
        self.t0 = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"chaos-workload-{i}")
            for i in range(self.spec.concurrency)
        ]

    def _record(self, call: Call) -> str:
        if call.outcome is Outcome.OK:
            outcome = "ok"
        elif call.outcome is Outcome.UNKNOWN:
            outcome = "unknown"
        elif call.code in EXPECTED_REFUSALS:
            outcome = "refused"
        else:
            outcome = "failed"
        self.samples.append(WorkloadSample(self.now(), call.latency_ms, outcome))
        return outcome

    async def _worker(self) -> None:
        assert self._client is not None
        rng, accounts = self.rng, self._accounts
        while not self._stop.is_set():
            who = rng.choice(accounts)
            if self._transfers and rng.random() < 0.4:
                to = rng.choice([a for a in accounts if a is not who])
                amount = rng.randint(1, self.spec.amount)
                args = {"to_user_id": to.values.get("user_id"), "amount": amount}
                self._record(await self._client.call("points.transfer", args, who))
            else:
                amount = self.spec.amount
                call = await self._client.call("points.add", {"amount": amount}, who)
                outcome = self._record(call)
                if outcome == "ok":
                    self.committed += amount
                elif outcome == "unknown":
                    self.uncertain += amount
                    self.unknown_adds += 1
            if self.spec.think_time:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.spec.think_time)

    async def probe(self) -> Call:
        """One read through the profile (the health check of the recovery)."""
        assert self._client is not None
        call = await self._client.call("points.balance", {}, self._accounts[0])
        return call

    async def stop(self) -> None:
        """Stop the workers (in-flight requests finish or time out first)."""
        self._stop.set()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=self.target.timeout + 5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def verify(self, *, deadline_s: float = 30.0) -> Conservation:
        """Read every account's balance back (retrying until ``deadline_s``) and judge."""
        assert self._client is not None
        total = 0
        deadline = time.monotonic() + deadline_s
        for account in self._accounts:
            while True:
                call = await self._client.call("points.balance", {}, account)
                value = call.value if isinstance(call.value, dict) else {}
                if call.ok and isinstance(value.get("balance"), int):
                    total += value["balance"]
                    break
                if time.monotonic() > deadline:
                    error = f"balance of {account.name} unreadable: {call.code} {call.error or ''}"
                    return Conservation(self.committed, self.uncertain, None,
                                        self.unknown_adds, error.strip())  # fmt: skip
                await asyncio.sleep(0.2)
        return Conservation(self.committed, self.uncertain, total, self.unknown_adds)

    async def close(self) -> None:
        await self.stop()
        if self._tester is not None:
            await self._tester.__aexit__(None, None, None)
            self._tester = None

    def between(self, start: float, end: float) -> Stats:
        """Stats of the requests that ended in ``[start, end)`` (workload seconds)."""
        return stats_of([s for s in self.samples if start <= s.t < end])

    def timeline(self) -> list[dict[str, Any]]:
        """One entry per ``window``: t (s), requests, errors, p95_ms."""
        if not self.samples:
            return []
        width = self.spec.window
        buckets: dict[int, list[WorkloadSample]] = {}
        for s in self.samples:
            buckets.setdefault(int(s.t // width), []).append(s)
        out = []
        for k in sorted(buckets):
            st = stats_of(buckets[k])
            out.append({"t": round(k * width, 3), "requests": st.requests, "errors": st.errors,
                        "unknown": st.unknown, "p95_ms": round(st.p95_ms, 1)})  # fmt: skip
        return out
