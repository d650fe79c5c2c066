"""Memory per idle VU: the generator's RSS with 1 VU vs N VUs, every request held open.

``soakmon load`` runs pinned to the generator core against :mod:`bench.hold_server` (pinned to
the other core), which never answers during the measurement. Once the server counts the VUs'
requests in flight and the generator's RSS has settled, the RSS is read with psutil. A fresh
server per measurement keeps the in-flight count exact.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.hold_server import STATS_PATH
from bench.probe import SOAKMON, has_option
from bench.procs import (
    GENERATOR_CORE,
    TARGET_CORE,
    BenchError,
    child_env,
    free_port,
    pinned,
    service,
    stop_group,
)

HOLD_S = 600.0  # far longer than any measurement: the server never answers during one


@dataclass(slots=True)
class IdleSample:
    vus: int
    in_flight: int  # requests the server held open when the RSS was read
    rss_kib: int
    uss_kib: int | None
    settle_s: float  # from start until in-flight count and RSS were stable
    reached: bool


@dataclass(slots=True)
class IdleMemory:
    mode: str
    base: IdleSample
    loaded: IdleSample

    @property
    def kib_per_vu(self) -> float | None:
        vus = self.loaded.in_flight - self.base.in_flight
        return (self.loaded.rss_kib - self.base.rss_kib) / vus if vus > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "base": asdict(self.base),
            "loaded": asdict(self.loaded),
            "kib_per_vu": None if self.kib_per_vu is None else round(self.kib_per_vu, 2),
        }


def server_stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{STATS_PATH}", timeout=10) as resp:
        data: dict[str, int] = json.load(resp)
        return data


@dataclass(frozen=True, slots=True)
class IdleVariant:
    """A way to run ``soakmon load`` for the memory test."""

    label: str
    mode: str
    extra: tuple[str, ...] = ()
    needs_flag: str | None = None


IDLE_VARIANTS = (
    IdleVariant("shared, fast path", "shared"),
    IdleVariant("shared, aiohttp pool", "shared", ("--no-fast-path",), "--no-fast-path"),
    IdleVariant("per-user (aiohttp)", "per-user"),
)


def soakmon_idle_argv(url: str, vus: int, mode: str, extra: tuple[str, ...] = ()) -> list[str]:
    argv = [str(SOAKMON), "load", "--target", url, "--path", "/hold", "--vus", str(vus)]
    argv += ["--duration", f"{int(HOLD_S)}s", "--mode", mode, "--quiet", *extra]
    if has_option("--timeout"):
        argv += ["--timeout", str(int(HOLD_S * 2))]
    return argv


def measure(
    vus: int, *, mode: str, workdir: Path, settle_timeout: float, extra: tuple[str, ...] = ()
) -> IdleSample:
    """Start a hold server and ``soakmon load --vus vus``; read RSS once all are in flight."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server_argv = [sys.executable, "-m", "bench.hold_server", "--port", str(port)]
    server_argv += ["--hold", str(HOLD_S), "--nofile", str(vus * 2 + 1024)]
    tag = "-".join((mode, *extra)).replace("--", "")
    log = workdir / f"hold-{tag}-{vus}.log"
    with service(pinned(TARGET_CORE, server_argv), port=port, log=log, start_timeout=30):
        gen_path = workdir / f"soakmon-{tag}-{vus}.log"
        gen_log = gen_path.open("wb")
        with gen_log:
            gen = subprocess.Popen(
                pinned(
                    GENERATOR_CORE,
                    soakmon_idle_argv(f"http://127.0.0.1:{port}", vus, mode, extra),
                ),
                stdin=subprocess.DEVNULL,
                stdout=gen_log,
                stderr=subprocess.STDOUT,
                env=child_env(),
                start_new_session=True,
            )
        try:
            return _settle(gen, port, vus, settle_timeout, gen_path)
        finally:
            stop_group(gen)


def _settle(
    gen: subprocess.Popen[bytes], port: int, vus: int, timeout: float, log: Path
) -> IdleSample:
    started = time.monotonic()
    proc = psutil.Process(gen.pid)
    history: list[tuple[float, int, int]] = []  # (t, in_flight, rss)
    while True:
        time.sleep(0.5)
        elapsed = time.monotonic() - started
        if gen.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise BenchError(f"soakmon load ({vus} VUs) exited {gen.returncode}: {tail}")
        try:
            in_flight = server_stats(port)["in_flight"]
        except OSError:  # the server is busy accepting thousands of connections: ask again
            in_flight = history[-1][1] if history else 0
        rss = proc.memory_info().rss // 1024
        history.append((elapsed, in_flight, rss))
        stable = _stable(history, vus)
        if stable or elapsed > timeout:
            uss = None
            with contextlib.suppress(psutil.Error):
                uss = proc.memory_full_info().uss // 1024
            return IdleSample(vus, in_flight, rss, uss, round(elapsed, 1), in_flight >= vus)


def _stable(history: list[tuple[float, int, int]], vus: int, window_s: float = 2.0) -> bool:
    """All VUs in flight and RSS within 0.5 % over the last ``window_s`` seconds."""
    if history[-1][1] < vus:
        return False
    now = history[-1][0]
    recent = [h for h in history if h[0] >= now - window_s]
    if len(recent) < 4 or recent[0][1] < vus:
        return False
    rss = [h[2] for h in recent]
    return (max(rss) - min(rss)) <= 0.005 * max(rss)


def idle_memory(
    vus: int, *, variant: IdleVariant, workdir: Path, settle_timeout: float
) -> IdleMemory:
    """Baseline (1 VU) and loaded (``vus`` VUs) samples for one way of running soakmon load."""
    kw: dict[str, Any] = {
        "mode": variant.mode,
        "extra": variant.extra,
        "workdir": workdir,
        "settle_timeout": settle_timeout,
    }
    base = measure(1, **kw)
    loaded = measure(vus, **kw)
    return IdleMemory(mode=variant.label, base=base, loaded=loaded)
