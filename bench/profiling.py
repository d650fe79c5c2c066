"""Where ``soakmon load`` spends its CPU: a cProfile of one pinned run, summarised.

The profile is taken in a subprocess (:mod:`bench.profile_load`, imports excluded) so the
benchmark process stays clean; the summary lists the functions with the most own time and the
own time per package.
"""

from __future__ import annotations

import pstats
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.generators import soakmon_command
from bench.plan import Plan
from bench.procs import GENERATOR_CORE, BenchError, pinned, run_measured

# Longest prefix wins; paths are matched as they appear in the profile.
PACKAGES = (
    ("monitor/engine", "soakmon engine"),
    ("monitor/", "soakmon (other)"),
    ("aiohttp/", "aiohttp"),
    ("yarl/", "yarl"),
    ("multidict/", "multidict"),
    ("hdrh/", "hdrhistogram"),
    ("asyncio/", "asyncio"),
    ("uvloop", "uvloop"),
    ("typer/", "cli (typer/click/rich)"),
    ("click/", "cli (typer/click/rich)"),
    ("rich/", "cli (typer/click/rich)"),
    ("<frozen", "imports"),
    ("~", "builtins / C calls"),
)


@dataclass(slots=True)
class Profile:
    total_s: float
    top: list[dict[str, Any]] = field(default_factory=list)
    by_package: dict[str, float] = field(default_factory=dict)
    requests: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_own_s": round(self.total_s, 3),
            "requests": self.requests,
            "top_own_time": self.top,
            "own_time_by_package": {k: round(v, 3) for k, v in self.by_package.items()},
        }


def package_of(filename: str) -> str:
    """The group a profiled function belongs to, from its file name."""
    for prefix, group in PACKAGES:
        if prefix in filename:
            return group
    return "python (other)"


def summarise(stats: pstats.Stats, top_n: int = 20) -> Profile:
    """Own-time top list and per-package own time from a loaded profile."""
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    by_pkg: dict[str, float] = defaultdict(float)
    for (filename, _line, _func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        by_pkg[package_of(filename)] += tt
    rows = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top_n]
    top = [
        {
            "function": f"{_short(filename)}:{line}({func})",
            "calls": nc,
            "own_s": round(tt, 3),
            "own_pct": round(100 * tt / total, 1) if total else 0.0,
            "cum_s": round(ct, 3),
        }
        for (filename, line, func), (_cc, nc, tt, ct, _callers) in rows
    ]
    ordered = dict(sorted(by_pkg.items(), key=lambda kv: kv[1], reverse=True))
    return Profile(total_s=total, top=top, by_package=ordered)


def profile_soakmon(*, target: str, vus: int, duration_s: int, workdir: Path) -> Profile:
    """Profile one pinned ``soakmon load`` run (shared pool) with cProfile."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan = Plan(target=target, path="/", vus=vus, duration_s=duration_s, workdir=workdir)
    out = workdir / "soakmon.prof"
    load_args = soakmon_command("shared")(plan)[1:]  # without the soakmon script itself
    argv = [sys.executable, "-m", "bench.profile_load", str(out), *load_args]
    run = run_measured(
        pinned(GENERATOR_CORE, argv),
        timeout=duration_s * 4 + 60,
        cwd=workdir,
    )
    if run.returncode != 0 or not out.exists():
        raise BenchError(f"profiled soakmon load exited {run.returncode}: {run.stderr[-400:]}")
    profile = summarise(pstats.Stats(str(out)))
    from bench.generators import parse_soakmon

    profile.requests = parse_soakmon(plan, run).requests
    return profile


def _short(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3", "/main/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
