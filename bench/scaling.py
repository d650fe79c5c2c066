"""``--processes 2`` against one process, measured mid-run in interleaved rounds.

Issue 23 asks that ``soakmon load --processes 2`` keep, summed over its processes, at least
0.9× one process's requests per CPU-second. Each variant runs for the benchmark's duration; at
25 % and at 85 % of the run (once all its workers run) the benchmark reads nginx's own count of
answered requests (``stub_status``) and the CPU seconds of the generator's whole process tree
(``/proc``). Requests ÷ CPU seconds over that window is the steady state: start-up, spawning
and reports are outside it, the request count does not depend on what the tool reports, and
no second run is subtracted (the calibration that the throughput table uses doubles the noise
when two interpreters start). The variants run in rounds (one process, two workers on the
generator core, two workers a core each, then ``wrk -t1`` and ``wrk -t2`` the same way), so a
change in the machine's load hits every variant of a round alike; each round gives its ratios
and the verdict is their median.

- **Two workers on the generator core** is the goal's row: nginx keeps its own core exactly as
  in the one-process run, so the ratio is soakmon's own cost of being split.
- **A worker per core** is what ``--processes auto`` does, but on a 2-core machine the second
  worker shares nginx's core and nginx becomes the bottleneck: each generator then wakes up
  for fewer answers at a time, which costs every tool per request. ``wrk -t2`` on the same two
  cores against ``wrk -t1`` shows what the machine takes from any generator.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.generators import soakmon_command
from bench.nginx import STATUS_PATH
from bench.plan import Plan
from bench.procs import (
    GENERATOR_CORE,
    TARGET_CORE,
    BenchError,
    child_env,
    pin_children,
    pinned,
    stop_group,
    tree_cpu,
)
from bench.rivals import wrk_command

PROCESSES_GOAL = 0.9
"""``--processes 2``: summed requests per CPU-second ≥ 0.9 × one process's (issue 23)."""
WINDOW = (0.25, 0.85)  # the measured part of each run, as fractions of its duration
LATEST_OPEN = 0.6  # a window that cannot open by then is too short to judge
SAMPLE_S = 0.05


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    label: str
    command: Callable[[Plan], list[str]]
    cores: str  # taskset list for the whole tree
    workers: int = 0  # child processes to wait for before the window opens
    worker_cores: tuple[int, ...] = ()  # pin the i-th child to the i-th of these


def _wrk_threads(threads: int) -> Callable[[Plan], list[str]]:
    def build(plan: Plan) -> list[str]:
        return [f"-t{threads}" if arg == "-t1" else arg for arg in wrk_command(plan)]

    return build


BOTH = f"{GENERATOR_CORE},{TARGET_CORE}"
VARIANTS = (
    Variant("one", "soakmon load, 1 process", soakmon_command("shared"), str(GENERATOR_CORE)),
    Variant(
        "two-one-core",
        "soakmon load --processes 2, both on the generator core",
        soakmon_command("shared", "--processes", "2"),
        str(GENERATOR_CORE),
        workers=2,
    ),
    Variant(
        "two-spread",
        "soakmon load --processes 2, a worker per core",
        soakmon_command("shared", "--processes", "2"),
        BOTH,
        workers=2,
        worker_cores=(GENERATOR_CORE, TARGET_CORE),
    ),
    Variant("wrk-1", "wrk -t1 (control)", _wrk_threads(1), str(GENERATOR_CORE)),
    Variant("wrk-2-spread", "wrk -t2 on both cores (control)", _wrk_threads(2), BOTH),
)
RATIOS = (  # (name, numerator, denominator, what it says)
    ("two-one-core", "two-one-core", "one", "both workers on the generator core"),
    ("two-spread", "two-spread", "one", "a worker per core"),
    ("wrk-2-spread", "wrk-2-spread", "wrk-1", "wrk -t2 on both cores ÷ wrk -t1"),
)


@dataclass(slots=True)
class Window:
    """One variant's run: what nginx answered and what the generator's tree used mid-run."""

    requests: int
    cpu_s: float
    wall_s: float
    shares: list[float]  # CPU share of each process of the tree over the window (parent first)

    @property
    def per_cpu_s(self) -> float:
        return self.requests / self.cpu_s if self.cpu_s > 0 else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else 0.0


@dataclass(slots=True)
class Scaling:
    """Every round's windows and ratios, and the medians the verdicts use."""

    rounds: list[dict[str, Window]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def ratio(self, key: str) -> list[float]:
        _, top, bottom, _ = next(r for r in RATIOS if r[0] == key)
        return [
            r[top].per_cpu_s / r[bottom].per_cpu_s
            for r in self.rounds
            if top in r and bottom in r and r[bottom].per_cpu_s
        ]

    def median(self, key: str) -> float | None:
        values = self.ratio(key)
        return statistics.median(values) if values else None

    @property
    def met(self) -> bool | None:
        value = self.median("two-one-core")
        return None if value is None else value >= PROCESSES_GOAL

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "nginx stub_status requests / generator tree CPU over 25-85 % of each run; "
            "variants interleaved in rounds; verdict on the median round",
            "rounds": [
                {
                    k: asdict(w) | {"per_cpu_s": round(w.per_cpu_s), "rps": round(w.rps)}
                    for k, w in r.items()
                }
                for r in self.rounds
            ],
            "ratios": {
                key: {
                    "rounds": [round(v, 3) for v in self.ratio(key)],
                    "median": _round(self.median(key)),
                    "what": what,
                }
                for key, _, _, what in RATIOS
            },
            "goal": PROCESSES_GOAL,
            "met": self.met,
            "failed": self.failed,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def served(base_url: str) -> int:
    """nginx's count of requests answered so far (``stub_status``'s third number), this
    status request included."""
    with urllib.request.urlopen(base_url + STATUS_PATH, timeout=5) as answer:
        text = answer.read().decode()
    try:
        return int(text.splitlines()[2].split()[2])
    except (IndexError, ValueError):
        raise BenchError(f"cannot read nginx's stub_status: {text[:200]!r}") from None


Mark = tuple[int, float, float, list[float]]  # (requests served, tree CPU, time, CPU each)


def measure(variant: Variant, plan: Plan) -> Window:
    """Run ``variant`` for ``plan`` and measure its mid-run window."""
    plan.workdir.mkdir(parents=True, exist_ok=True)
    argv = pinned(variant.cores, variant.command(plan))
    log = plan.workdir / "output.log"
    opens, closes = (plan.duration_s * f for f in WINDOW)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            cwd=plan.workdir,
            env=child_env(),
            start_new_session=True,
        )
    started = time.monotonic()
    marks: list[Mark] = []
    port = urllib.parse.urlsplit(plan.target).port or 80
    try:
        ps = psutil.Process(proc.pid)
        pinned_pids: list[int] = []
        while proc.poll() is None and len(marks) < 2:
            elapsed = time.monotonic() - started
            if variant.worker_cores:
                pin_children(ps, variant.worker_cores, pinned_pids)
            tree = [ps, *ps.children(recursive=True)]
            if not marks and elapsed >= opens and len(tree) > variant.workers:
                if _connected(tree, port) >= plan.vus:  # every worker is sending
                    marks.append(_mark(plan.target, ps, tree))
                elif elapsed > plan.duration_s * LATEST_OPEN:
                    raise BenchError(
                        f"{variant.label}: its {plan.vus} connections were not all open after "
                        f"{elapsed:.1f} s of {plan.duration_s} s (start-up too slow here: "
                        "give a longer --duration)"
                    )
            elif marks and elapsed >= closes:
                marks.append(_mark(plan.target, ps, tree))
            time.sleep(SAMPLE_S)
        proc.wait(timeout=plan.duration_s * 2 + 30)
    except (psutil.Error, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"{variant.label}: {exc}") from None
    finally:
        stop_group(proc, grace=2.0)
    if proc.returncode != 0 or len(marks) < 2:
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-4:])
        raise BenchError(f"{variant.label} exited {proc.returncode} before its window: {tail}")
    (req0, cpu0, t0, each0), (req1, cpu1, t1, each1) = marks
    wall = t1 - t0
    shares = [(b - a) / wall for a, b in zip(each0, each1, strict=False)]
    # the second status read counted itself
    return Window(req1 - req0 - 1, cpu1 - cpu0, wall, [round(s, 3) for s in shares])


def _mark(target: str, ps: psutil.Process, tree: list[psutil.Process]) -> Mark:
    return served(target), tree_cpu(ps), time.monotonic(), [_cpu(p) for p in tree]


def _connected(tree: list[psutil.Process], port: int) -> int:
    """TCP connections of the process tree established to the target's port."""
    count = 0
    for p in tree:
        with contextlib.suppress(psutil.Error):
            count += sum(
                1
                for c in p.net_connections(kind="tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.raddr and c.raddr.port == port
            )
    return count


def _cpu(p: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        t = p.cpu_times()
        return t.user + t.system
    return 0.0


def run_scaling(
    *, target: str, vus: int, duration_s: int, rounds: int, workdir: Path,
    variants: Sequence[Variant] = VARIANTS,
) -> Scaling:  # fmt: skip
    """``rounds`` rounds of every variant, one after the other, against ``target``."""
    result = Scaling()
    for index in range(rounds):
        got: dict[str, Window] = {}
        for variant in variants:
            if variant.name in result.failed:
                continue
            plan = Plan(target=target, path="/", vus=vus, duration_s=duration_s,
                        workdir=workdir / f"round-{index}" / variant.name)  # fmt: skip
            try:
                got[variant.name] = measure(variant, plan)
            except BenchError as exc:
                result.failed[variant.name] = str(exc)
        result.rounds.append(got)
    return result
