"""Summarise ``soakmon run --json`` reports of a trial (bench/trial_kinto.sh): per sync mode
and scenario, the verdicts over the runs and the median / widest send spread of its phases."""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def _rows(paths: list[Path]) -> dict[tuple[str, str], dict[str, list[object]]]:
    rows: dict[tuple[str, str], dict[str, list[object]]] = defaultdict(
        lambda: {"status": [], "spread": []}
    )
    for path in paths:
        report = json.loads(path.read_text())
        for suite in report["suites"]:
            for scenario in suite["scenarios"]:
                attempts = scenario.get("attempts") or {}
                for attempt in attempts.get("attempts", []):
                    for phase in attempt.get("phases", []):
                        row = rows[(phase.get("sync", "?"), scenario["name"])]
                        if phase.get("send_spread_s") is not None:
                            row["spread"].append(phase["send_spread_s"] * 1e6)
                key = (_mode(attempts), scenario["name"])
                rows[key]["status"].append(scenario["status"])
    return rows


def _mode(attempts: dict[str, object]) -> str:
    for attempt in attempts.get("attempts", []):  # type: ignore[attr-defined]
        for phase in attempt.get("phases", []):
            return str(phase.get("sync", "?"))
    return "?"


def main(argv: list[str]) -> int:
    rows = _rows([Path(p) for p in argv])
    print(f"{'sync':<10} {'scenario':<24} {'verdicts':<34} spread median / max (µs)")
    for (mode, name), row in sorted(rows.items()):
        counts: dict[str, int] = defaultdict(int)
        for status in row["status"]:
            counts[str(status)] += 1
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        spreads = [float(s) for s in row["spread"]]  # type: ignore[arg-type]
        spread = (
            f"{statistics.median(spreads):,.0f} / {max(spreads):,.0f} ({len(spreads)} phases)"
            if spreads
            else "-"
        )
        print(f"{mode:<10} {name:<24} {verdicts:<34} {spread}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
