"""The Grafana dashboards: generated from code and committed up to date, every PromQL parses
(promtool), and end to end every panel shows data — a real Prometheus scrapes a real daemon
soaking the reference target, and each panel's queries run against it (no browser needed).
Panels marked "Empty while healthy." (violations, probe errors) are filled by a second target
with a planted bug and a probe of a closed port."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.chart import CHART, ROOT
from tests.plugins.prometheus import StartPrometheus, free_port
from tests.plugins.target_process import TargetProcess

GRAFANA = ROOT / "deploy" / "grafana"
EMPTY_ON_PURPOSE = "Empty while healthy."
#: Panels empty on purpose that this test cannot fill: no check here is unevaluable.
NEVER_HERE = {"Checks that could not be evaluated"}
DAEMON = [sys.executable, "-c", "from monitor.cli.app import main; main()", "daemon"]


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(GRAFANA.glob("*.json"))}


def panels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in doc["panels"] if p["type"] != "row"]


def substitute(expr: str, doc: dict[str, Any], overrides: dict[str, str]) -> str:
    """What Grafana sends: variables replaced (All = ".*", constants by value)."""
    values = {"__rate_interval": "20s", "target": ".*", "suite": ".*", **overrides}
    for var in doc["templating"]["list"]:
        if var["type"] == "constant":
            values[var["name"]] = var["query"]
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(f"${{{name}}}", values[name]).replace(f"${name}", values[name])
    assert "$" not in expr, expr
    return expr


def test_generated_dashboards_are_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(GRAFANA / "dashboards.py"), "--check"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert set(dashboards()) == {p.name for p in (CHART / "dashboards").glob("*.json")}


def test_dashboards_annotate_chaos_faults() -> None:
    for name, doc in dashboards().items():
        exprs = [a.get("expr", "") for a in doc["annotations"]["list"]]
        assert any("soakmon_chaos_active" in e for e in exprs), name


def test_dashboards_have_datasource_and_target_variables() -> None:
    for name, doc in dashboards().items():
        names = {v["name"] for v in doc["templating"]["list"]}
        assert {"datasource", "target"} <= names, name
        for panel in panels(doc):
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            if panel["title"] in NEVER_HERE:  # only panels empty on purpose may stay empty
                assert panel["description"].startswith(EMPTY_ON_PURPOSE), panel["title"]


def test_every_query_parses(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    rules = []
    for name, doc in dashboards().items():
        for i, panel in enumerate(panels(doc)):
            for j, target in enumerate(panel["targets"]):
                expr = substitute(target["expr"], doc, {})
                rules.append({"record": f"panel:{name.split('.')[0]}_{i}_{j}".replace("-", "_"),
                              "expr": expr})  # fmt: skip
        for k, ann in enumerate(doc["annotations"]["list"]):
            if "expr" in ann:  # Prometheus annotations (chaos faults), not Grafana's built-in
                rules.append({"record": f"annotation:{name.split('.')[0]}_{k}".replace("-", "_"),
                              "expr": substitute(ann["expr"], doc, {})})  # fmt: skip
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    proc = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _query(prom: str, expr: str, *, instant: bool) -> list[dict[str, Any]]:
    if instant:
        params = {"query": expr}
        url = f"{prom}/api/v1/query?{urllib.parse.urlencode(params)}"
    else:
        now = time.time()
        params = {"query": expr, "start": str(now - 120), "end": str(now), "step": "2"}
        url = f"{prom}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _single_choices(prom: str, doc: dict[str, Any]) -> dict[str, str]:
    """Single-choice query variables resolved as Grafana does: the first of label_values()."""
    chosen: dict[str, str] = {}
    for var in doc["templating"]["list"]:
        if var["type"] != "query" or var.get("includeAll"):
            continue
        match = re.fullmatch(r"label_values\((\w+), *(\w+)\)", var["query"]["query"])
        assert match, var["query"]
        metric, label = match.groups()
        url = f"{prom}/api/v1/series?{urllib.parse.urlencode({'match[]': metric})}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            values = sorted({s[label] for s in json.load(resp)["data"] if label in s})
        chosen[var["name"]] = values[0] if values else "no-value"
    return chosen


@pytest.mark.slow
async def test_every_panel_has_data_from_a_real_daemon(
    tmp_path: Path, start_prometheus: StartPrometheus
) -> None:
    target = TargetProcess(tmp_path, "ref")
    url = await target.start()
    # A second target with a planted bug, so the violation panels have something to show.
    broken = TargetProcess(tmp_path, "broken", faults=["overdraft"])
    broken_url = await broken.start()
    port = free_port()
    config = {
        "targets": {"ref": {"url": url}, "broken": {"url": broken_url}},
        "suites": [
            {"suite": "points", "target": "ref", "schedule": {"every": "4s"},
             "scenarios": ["concurrent-points-deduction"]},
            {"suite": "points", "target": "broken", "schedule": {"every": "4s"},
             "scenarios": ["concurrent-points-deduction"]},
        ],
        "soak": [
            {"name": "users", "target": "ref", "vus": 2, "think_time": "50ms",
             "operations": [{"op": "points.balance"}, {"op": "tasks.list"}]},
        ],
        "probes": [
            {"name": "self", "kind": "self", "every": "1s"},
            {"name": "ref-metrics", "kind": "scrape", "target": "ref", "every": "1s",
             "url": f"{url}/metrics"},
            {"name": "gone", "kind": "scrape", "every": "1s",
             "url": f"http://127.0.0.1:{free_port()}/metrics"},
        ],
        "slo": {"window": "20s", "min_requests": 5},
        "analysis": {"memory_min_span": "5s", "memory_warmup": 0, "horizon": "5m"},
    }  # fmt: skip
    (tmp_path / "daemon.yaml").write_text(yaml.safe_dump(config))
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen(  # noqa: ASYNC220 (a child process for the test's lifetime)
        [*DAEMON, "--config", str(tmp_path / "daemon.yaml"), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        prom = start_prometheus([f"127.0.0.1:{port}"]).url
        coverage: dict[str, list[tuple[str, bool]]] = {}
        missing: list[str] = []
        deadline = time.monotonic() + 90
        while True:
            await asyncio.sleep(3)
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            coverage, missing = {}, []
            for name, doc in dashboards().items():
                chosen = _single_choices(prom, doc)
                for panel in panels(doc):
                    has_data = all(
                        _query(prom, substitute(t["expr"], doc, chosen),
                               instant=bool(t.get("instant")))
                        for t in panel["targets"]
                    )  # fmt: skip
                    coverage.setdefault(name, []).append((panel["title"], has_data))
                    if not has_data and panel["title"] not in NEVER_HERE:
                        missing.append(f"{name}: {panel['title']}")
            if not missing or time.monotonic() > deadline:
                break
        report = "\n".join(
            f"{name}: {title}: {'data' if ok else 'empty'}"
            for name, rows in coverage.items() for title, ok in rows
        )  # fmt: skip
        (ROOT / "reports").mkdir(exist_ok=True)
        (ROOT / "reports" / "dashboard-coverage.txt").write_text(report + "\n")
        print(report)
        assert not missing, f"panels with no data: {missing}"
    finally:
        daemon.terminate()
        daemon.wait(30)
        target.kill()
        broken.kill()


def test_suite_dashboard_shows_how_tightly_race_phases_were_delivered() -> None:
    """The spread histogram (send and arrival, p50 and p99 per scenario) and the attempts by
    result (weak ones included) are on the suite dashboard; their data is checked above."""
    doc = dashboards()["soakmon-suite.json"]
    exprs = {p["title"]: [t["expr"] for t in p["targets"]] for p in panels(doc)}
    for measured in ("send", "arrival"):
        title = f"{measured.capitalize()} spread of concurrent phases (1h)"
        assert len(exprs[title]) == 2, title
        for quantile, expr in zip(("0.5", "0.99"), exprs[title], strict=True):
            assert expr.startswith(f"histogram_quantile({quantile}, sum by (scenario, le)"), expr
            assert "soakmon_phase_start_spread_seconds_bucket{" in expr
            assert f'measured="{measured}"' in expr
            assert 'suite=~"$suite"' in expr
    [attempts] = exprs["Race attempts by result (1h)"]
    assert attempts.startswith("sum by (scenario, result)")
    assert "soakmon_scenario_attempts_total{" in attempts
