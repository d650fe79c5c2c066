"""Parameters (suite defaults <- scenario overrides <- command line) and run variables."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from monitor.suites.errors import ConfigError, Problem
from monitor.suites.suite.models import Param, Scalar, Scenario, Suite


def parse_overrides(items: Iterable[str]) -> dict[str, Scalar]:
    """``["amount=300", "name=x"]`` -> ``{"amount": 300, "name": "x"}`` (YAML scalars)."""
    out: dict[str, Scalar] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ConfigError([Problem("--param", None, item, "expected NAME=VALUE")])
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if not isinstance(value, int | float | bool | str):
            value = raw
        out[name] = value
    return out


def check_overrides(overrides: Mapping[str, Scalar], suites: Sequence[Suite]) -> None:
    """Every override must name a parameter of at least one selected suite/scenario."""
    known: set[str] = set()
    for suite in suites:
        known.update(suite.params)
        for scenario in suite.scenarios:
            known.update(scenario.params)
    unknown = sorted(set(overrides) - known)
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            [Problem("--param", None, n, f"unknown parameter (known: {names})") for n in unknown]
        )


def scenario_params(
    suite: Suite, scenario: Scenario, overrides: Mapping[str, Param]
) -> dict[str, Param]:
    """Suite defaults, then the scenario's own values, then command-line overrides."""
    params: dict[str, Param] = {**suite.params, **scenario.params}
    params.update({k: v for k, v in overrides.items() if k in params})
    return params


DATES = 40


def run_variables(rng: random.Random, today: dt.date | None = None) -> dict[str, Any]:
    """Reproducible run variables: ``today`` (UTC), ``dates`` (40 distinct future dates: a
    scenario whose attempts follow the balance read back may need more than a few),
    ``run_id`` (hex, from the seed)."""
    day = today or dt.datetime.now(dt.UTC).date()
    start = day + dt.timedelta(days=rng.randrange(30, 3000))
    dates = [(start + dt.timedelta(days=i)).isoformat() for i in range(DATES)]
    return {"today": day.isoformat(), "dates": dates, "run_id": f"{rng.getrandbits(32):08x}"}
