"""Write experiment files for the tests and run them (the public loader and runner)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.chaos.experiment.load import load_experiment
from monitor.chaos.experiment.result import ExperimentResult
from monitor.chaos.experiment.runner import ExperimentRunner
from monitor.chaos.journal import Journal
from tests.plugins.postgres import free_port


def write(tmp: Path, doc: dict[str, Any], name: str = "exp.yaml") -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def experiment(url: str, method: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    """A short experiment: 1.5 s baseline, the method, 1.5 s observed after recovery."""
    doc: dict[str, Any] = {
        "name": "t",
        "target": {"url": url, "timeout": "3s"},
        "workload": {"users": 4, "concurrency": 4},
        "slo": {"p95_ms": 1000, "error_rate": 0.5, "min_requests": 5},
        "steady_state": {"baseline": "1.5s"},
        "method": method,
        "recovery": {"within": "20s", "observe": "1.5s"},
    }
    for key, value in more.items():
        doc[key] = {**doc.get(key, {}), **value} if isinstance(value, dict) else value
    return doc


async def proxy_to(
    api: str, upstream_url: str, *, create: bool = True
) -> tuple[dict[str, Any], str]:
    """Toxiproxy settings of a new proxy in front of ``upstream_url``, and its URL (without
    ``create``, the experiment's first step creates it from ``listen`` and ``upstream``)."""
    port = free_port()
    upstream = upstream_url.removeprefix("http://").rstrip("/")
    where = {"api": api, "proxy": f"p{port}", "listen": f"127.0.0.1:{port}", "upstream": upstream}
    from monitor.chaos.toxiproxy import Toxiproxy

    if create:
        await Toxiproxy(api).ensure_proxy(where["proxy"], where["listen"], where["upstream"])
    return where, f"http://127.0.0.1:{port}"


async def run(tmp: Path, doc: dict[str, Any], **kw: Any) -> ExperimentResult:
    loaded = load_experiment(write(tmp, doc))
    return await ExperimentRunner(Journal(tmp / "state"), **kw).run(loaded)


async def until_injected(journal: Journal, count: int = 1, within_s: float = 30.0) -> None:
    """Wait until ``count`` actions are injected (the journal says so), however busy the
    machine is."""
    import asyncio

    async with asyncio.timeout(within_s):
        while sum(e.state == "injected" for e in journal.entries()) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
