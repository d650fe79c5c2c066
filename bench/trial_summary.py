"""Summarise ``soakmon run --json`` reports of a trial (bench/trial_kinto.sh): per sync mode
and scenario, the verdicts of the attempts (violated / held / weak / error) and the median and
widest send spread of their phases."""

from __future__ import annotations

import json
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    verdicts: Counter[str] = field(default_factory=Counter)
    spreads_us: list[float] = field(default_factory=list)


def _verdict(attempt: dict[str, object]) -> str:
    if attempt.get("weak"):
        return "weak"
    return {"failed": "violated", "passed": "held"}.get(str(attempt.get("status")), "error")


def collect(paths: list[Path]) -> dict[tuple[str, str], Row]:
    rows: dict[tuple[str, str], Row] = defaultdict(Row)
    for path in paths:
        report = json.loads(path.read_text())
        for suite in report["suites"]:
            for scenario in suite["scenarios"]:
                attempts = (scenario.get("attempts") or {}).get("attempts") or []
                for attempt in attempts:
                    phases = attempt.get("phases") or []
                    mode = str(phases[0].get("sync")) if phases else "?"
                    row = rows[(mode, scenario["name"])]
                    row.verdicts[_verdict(attempt)] += 1
                    row.spreads_us += [
                        p["send_spread_s"] * 1e6 for p in phases if p.get("send_spread_s")
                    ]
                if not attempts:  # errored before any attempt (setup)
                    rows[("?", scenario["name"])].verdicts[str(scenario["status"])] += 1
    return rows


def main(argv: list[str]) -> int:
    rows = collect([Path(p) for p in argv])
    print(f"{'sync':<10} {'scenario':<24} {'attempts':<40} send spread median / max (µs)")
    for (mode, name), row in sorted(rows.items()):
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(row.verdicts.items()))
        spreads = row.spreads_us
        spread = (
            f"{statistics.median(spreads):,.0f} / {max(spreads):,.0f} ({len(spreads)} phases)"
            if spreads
            else "-"
        )
        print(f"{mode:<10} {name:<24} {verdicts:<40} {spread}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
