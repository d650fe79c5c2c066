"""`soakmon target serve` as a real process: SIGKILL mid-storm loses nothing, SIGTERM is clean."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.plugins.api import Client, register
from tests.plugins.postgres import PostgresServer, create_database, drop_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SERVE = [sys.executable, "-c", "from monitor.cli.app import main; main()", "target", "serve"]
DATES = ["2033-03-01", "2033-03-02", "2033-03-03", "2033-03-04"]
TOP3_COST = 300


class ServeProcess:
    """One ``soakmon target serve`` child with stdout/stderr captured in files."""

    def __init__(self, db_url: str, workdir: Path, tag: str, *extra: str) -> None:
        self.out = workdir / f"{tag}.out"
        self.err = workdir / f"{tag}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [*SERVE, "--db", db_url, "--host", "127.0.0.1", "--port", "0", *extra],
                stdout=out,
                stderr=err,
            )
        self.url = ""

    async def wait_listening(self, within: float = 30.0) -> str:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for line in self.out.read_text(errors="replace").splitlines():
                if line.startswith("listening on http://"):
                    self.url = line.removeprefix("listening on ").strip()
                    return self.url
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        self.kill()
        raise AssertionError(
            f"serve did not print 'listening on' (rc={self.proc.poll()}): {self.stderr()}"
        )

    async def wait_exit(self, within: float) -> int | None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                return rc
            await asyncio.sleep(0.05)
        return None

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextlib.asynccontextmanager
async def database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    pg: PostgresServer = request.getfixturevalue("postgres_server")
    url = await create_database(pg)
    try:
        yield url
    finally:
        await drop_database(pg, url)


class StormCount:
    """Requests the storm has completed; ``reached`` is set once there are ``target``."""

    def __init__(self, target: int) -> None:
        self.done, self.target = 0, target
        self.reached = asyncio.Event()

    def add(self) -> None:
        self.done += 1
        if self.done >= self.target:
            self.reached.set()


async def _storm(
    base: str,
    users: list[Client],
    tasks: dict[str, list[str]],
    stop: asyncio.Event,
    count: StormCount,
) -> None:
    """Workers writing until ``stop`` or the server dies, counting completed requests."""

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while not stop.is_set():
                me, other = rng.sample(users, 2)
                c = Client(session, base, me.token, me.user_id)
                pick = rng.random()
                try:
                    if pick < 0.45:
                        amount = rng.randint(1, 9)
                        await c.post(
                            "/points/transfer", {"to_user_id": other.user_id, "amount": amount}
                        )
                    elif pick < 0.65:
                        await c.post("/points/deduct", {"amount": 7})
                    elif pick < 0.8:
                        await c.post("/points/add", {"amount": 3})
                    elif pick < 0.9:
                        date = rng.choice(DATES)
                        await c.post("/top3", {"date": date, "task_ids": tasks[me.user_id or ""]})
                    else:
                        await c.post("/rewards/welcome-gift")
                    count.add()
                except (TimeoutError, aiohttp.ClientError):
                    return  # the server is gone

    async with asyncio.TaskGroup() as group:
        for seed in range(12):
            group.create_task(worker(seed))


async def _check_user(c: Client) -> list[str]:
    problems: list[str] = []
    balance = await c.balance()
    ledger = await c.ledger()
    if sum(r["amount"] for r in ledger) != balance or balance < 0:
        problems.append(
            f"{c.user_id}: balance {balance} vs ledger {sum(r['amount'] for r in ledger)}"
        )
    paid = sum(1 for r in ledger if r["amount"] == -TOP3_COST)
    set_dates = 0
    for date in DATES:
        ids = (await c.get("/top3", params={"date": date})).body["task_ids"]
        if ids:
            set_dates += 1
            if len(ids) != 3:
                problems.append(f"{c.user_id}: partial Top3 on {date}: {ids}")
    if paid != set_dates:
        problems.append(f"{c.user_id}: {paid} Top3 payments for {set_dates} Top3 records")
    gifts = sum(1 for r in ledger if r["reason"] == "welcome_gift")
    items = {i["reward"]: i["quantity"] for i in (await c.get("/rewards/my-rewards")).body["items"]}
    held = sum(items.values())
    if gifts > 1 or held != 3 * gifts:
        problems.append(f"{c.user_id}: {gifts} gift ledger rows but reward items {items}")
    claim = await c.post("/rewards/welcome-gift")
    if claim.status != (409 if gifts else 201):
        problems.append(
            f"{c.user_id}: gift claim after restart gave {claim.status} ({gifts} gifts)"
        )
    return problems


async def test_sigkill_mid_storm_leaves_a_consistent_database(
    db_kind: str, request: pytest.FixtureRequest, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with database(db_kind, request, tmp_path) as db_url:
        first = ServeProcess(db_url, tmp_path, "first")
        try:
            base = await first.wait_listening()
            users = [await register(http, base) for _ in range(6)]
            tasks: dict[str, list[str]] = {}
            for u in users:
                await u.fund(4000)
                tasks[u.user_id or ""] = [(await u.new_task(f"t{i}"))["id"] for i in range(3)]
            stop, count = asyncio.Event(), StormCount(target=40)
            storm = asyncio.create_task(_storm(base, users, tasks, stop, count))
            # Kill once the storm has written, not after a fixed time: how many requests a
            # second holds is the machine's speed (under 20 at load 15+).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(count.reached.wait(), timeout=60)
            first.proc.send_signal(signal.SIGKILL)  # mid-storm, no chance to clean up
            first.proc.wait(timeout=10)
            stop.set()
            await storm
        finally:
            first.kill()
        assert count.done >= 40, f"the storm made {count.done} requests in 60 s before the kill"

        second = ServeProcess(db_url, tmp_path, "second")
        try:
            base2 = await second.wait_listening()
            problems: list[str] = []
            for u in users:
                problems += await _check_user(Client(http, base2, u.token, u.user_id))
            assert problems == []
        finally:
            second.proc.send_signal(signal.SIGTERM)
            await second.wait_exit(10)
            second.kill()


async def test_sigterm_finishes_in_flight_requests_and_exits_zero(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    # --fault slow: every request takes 600 ms, so one is surely in flight when SIGTERM lands.
    server = ServeProcess(f"sqlite:///{tmp_path / 'ref.db'}", tmp_path, "serve", "--fault", "slow")
    try:
        base = await server.wait_listening()
        alice = await register(http, base)
        in_flight = asyncio.create_task(alice.post("/points/add", {"amount": 10}))
        await asyncio.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        answered = await in_flight
        assert answered.status == 200, answered
        rc = await server.wait_exit(within=5)
        assert rc == 0, f"exit code {rc}; stderr: {server.stderr()}"
        assert "Traceback" not in server.stderr()
    finally:
        server.kill()
