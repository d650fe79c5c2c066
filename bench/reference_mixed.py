"""Mixed-workload benchmark of the reference target (not a test).

    .venv/bin/python -m bench.reference_mixed --db postgres|sqlite --duration 20 --clients 16

Starts ``soakmon target serve`` as its own process (on a private PostgreSQL started like the test
fixture, or on a temp SQLite file), registers users, then N concurrent aiohttp clients run a
weighted mix of points / tasks / Top3 / gift requests for a fixed time. Prints requests/s, the
error rate (5xx and transport errors; 409s the contract expects are counted apart) and latency
percentiles, overall and per operation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

SERVE = [sys.executable, "-c", "from monitor.cli.app import main; main()", "target", "serve"]


@dataclass
class User:
    token: str
    user_id: str
    tasks: list[str] = field(default_factory=list)


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    transport_errors: int = 0

    def record(self, op: str, status: int, seconds: float) -> None:
        self.latencies[op].append(seconds)
        self.statuses[status] += 1


Op = Callable[[aiohttp.ClientSession, str, User, random.Random], Awaitable[tuple[int, Any]]]


async def _call(
    session: aiohttp.ClientSession, method: str, url: str, user: User, body: Any = None, **kw: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {user.token}"}
    async with session.request(method, url, json=body, headers=headers, **kw) as resp:
        payload = await resp.json(content_type=None)
        return resp.status, payload


async def _create_task(s: aiohttp.ClientSession, b: str, u: User, r: random.Random) -> Any:
    status, body = await _call(s, "POST", f"{b}/tasks", u, {"title": f"task {r.random():.6f}"})
    if status == 201 and len(u.tasks) < 50:
        u.tasks.append(body["id"])
    return status, body


async def _complete(s: aiohttp.ClientSession, b: str, u: User, r: random.Random) -> Any:
    if not u.tasks:
        return await _create_task(s, b, u, r)
    return await _call(s, "POST", f"{b}/tasks/{r.choice(u.tasks)}/complete", u)


async def _top3(s: aiohttp.ClientSession, b: str, u: User, r: random.Random) -> Any:
    if not u.tasks:
        return await _create_task(s, b, u, r)
    day = f"20{r.randint(30, 99)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
    ids = r.sample(u.tasks, min(3, len(u.tasks)))
    return await _call(s, "POST", f"{b}/top3", u, {"date": day, "task_ids": ids})


# operation name -> (weight, coroutine)
OPS: dict[str, tuple[int, Op]] = {
    "balance": (25, lambda s, b, u, r: _call(s, "GET", f"{b}/points/my-points", u)),
    "transactions": (10, lambda s, b, u, r: _call(s, "GET", f"{b}/points/transactions", u)),
    "add": (15, lambda s, b, u, r: _call(s, "POST", f"{b}/points/add", u, {"amount": 50})),
    "deduct": (15, lambda s, b, u, r: _call(s, "POST", f"{b}/points/deduct", u, {"amount": 40})),
    "task_create": (10, _create_task),
    "task_complete": (8, _complete),
    "tasks_list": (5, lambda s, b, u, r: _call(s, "GET", f"{b}/tasks", u)),
    "top3": (7, _top3),
    "gift": (5, lambda s, b, u, r: _call(s, "POST", f"{b}/rewards/welcome-gift", u)),
}


async def _client(base: str, users: list[User], stats: Stats, seed: int, until: float) -> None:
    rng = random.Random(seed)
    names = list(OPS)
    weights = [OPS[n][0] for n in names]
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        while time.monotonic() < until:
            name = rng.choices(names, weights)[0]
            user = rng.choice(users)
            started = time.perf_counter()
            try:
                status, _ = await OPS[name][1](session, base, user, rng)
            except (TimeoutError, aiohttp.ClientError):
                stats.transport_errors += 1
                continue
            stats.record(name, status, time.perf_counter() - started)


async def _register(session: aiohttp.ClientSession, base: str, i: int) -> User:
    name = f"bench-{i}-{random.getrandbits(32):08x}"
    async with session.post(f"{base}/auth/register", json={"username": name}) as resp:
        body = await resp.json()
        if resp.status != 201:
            raise SystemExit(f"register failed: {resp.status} {body}")
    return User(body["token"], body["user_id"])


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    idx = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[idx] * 1000


def report(stats: Stats, elapsed: float, args: argparse.Namespace) -> str:
    every = sorted(x for lat in stats.latencies.values() for x in lat)
    total = len(every) + stats.transport_errors
    errors = stats.transport_errors + sum(n for s, n in stats.statuses.items() if s >= 500)
    rejections = sum(n for s, n in stats.statuses.items() if 400 <= s < 500)
    lines = [
        f"reference target, db={args.db}, clients={args.clients}, users={args.users}, "
        f"duration={elapsed:.1f}s",
        f"requests: {total}  throughput: {total / elapsed:.0f} req/s",
        f"errors (5xx + transport): {errors} = {100 * errors / max(total, 1):.2f}%   "
        f"expected 4xx (409 etc.): {rejections} = {100 * rejections / max(total, 1):.1f}%",
        f"latency ms: p50 {_pct(every, 0.5):.1f}  p95 {_pct(every, 0.95):.1f}  "
        f"p99 {_pct(every, 0.99):.1f}  max {_pct(every, 1.0):.1f}",
        f"statuses: {dict(sorted(stats.statuses.items()))}",
        f"{'operation':<14}{'count':>8}{'p50':>8}{'p95':>8}{'p99':>8}",
    ]
    for name in OPS:
        lat = sorted(stats.latencies.get(name, []))
        lines.append(
            f"{name:<14}{len(lat):>8}{_pct(lat, 0.5):>8.1f}{_pct(lat, 0.95):>8.1f}"
            f"{_pct(lat, 0.99):>8.1f}"
        )
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def database(kind: str, workdir: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    from tests.plugins.postgres import PrivateCluster, create_database, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (no initdb found)")
    cluster = PrivateCluster(bindir)
    try:
        server = cluster.start()
        yield await create_database(server)
    finally:
        cluster.stop()


@contextlib.asynccontextmanager
async def serve(db_url: str, workdir: Path) -> AsyncIterator[str]:
    out_path, err_path = workdir / "serve.out", workdir / "serve.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *SERVE, "--db", db_url, "--port", "0", stdout=out, stderr=err
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.returncode is None:
            for line in out_path.read_text().splitlines():
                if line.startswith("listening on "):
                    yield line.removeprefix("listening on ").strip()
                    return
            await asyncio.sleep(0.05)
        raise SystemExit(f"soakmon target serve did not start: {err_path.read_text()[-2000:]}")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="soakmon-bench-") as tmp:
        workdir = Path(tmp)
        async with database(args.db, workdir) as db_url, serve(db_url, workdir) as base:
            async with aiohttp.ClientSession() as session:
                users = [await _register(session, base, i) for i in range(args.users)]
            stats = Stats()
            started = time.monotonic()
            until = started + args.duration
            async with asyncio.TaskGroup() as group:
                for seed in range(args.clients):
                    group.create_task(_client(base, users, stats, seed, until))
            print(report(stats, time.monotonic() - started, args))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reference_mixed", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (20)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--users", type=int, default=20, help="registered users (20)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.clients < 1 or args.users < 1:
        parser.error("--duration, --clients and --users must be positive")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
