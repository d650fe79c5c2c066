"""20-run detection statistics of ``soakmon probe`` on the three OpenAPI stand-ins (``make
stats-openapi``): per planted defect, in how many runs the probe flagged it; per correct
variant, how many findings it reported (must be 0). Prints a table and the machine load.

    python -m tests.openapi.stats [--runs 20] [--concurrency 10]

Exit 1 when a defect is flagged in fewer than ``--min`` runs (default: runs - 1) or a correct
variant has any finding.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections import Counter
from typing import Any

from monitor.openapi.probe import ProbeOptions
from monitor.openapi.session_run import probe_document
from tests.engine.servers import serve_app
from tests.openapi import clubs_server, notes_server, stock_server

#: stand-in -> (module, document path, {operationId: finding kind of its planted defect})
STANDINS: dict[str, tuple[Any, str, dict[str, str]]] = {
    "clubs": (clubs_server, "/api/openapi.json", {
        "createClub": "server_error", "joinClub": "server_error",
        "deleteClub": "phantom", "updateClub": "lost_update"}),
    "stock": (stock_server, "/v1/openapi.json", {
        "createWarehouse": "server_error", "tagWarehouse": "server_error",
        "untagWarehouse": "phantom", "updateWarehouse": "lost_update"}),
    "notes": (notes_server, "/api/v2/openapi.json", {"addNote": "counter_drift"}),
}  # fmt: skip


async def one(module: Any, doc: str, defects: bool, n: int) -> dict[str, list[str]]:
    async with serve_app(await module.make_app(defects=defects)) as url:
        _, outcomes = await probe_document(url + doc, url, ProbeOptions(concurrency=n))
    out: dict[str, list[str]] = {}
    for o in outcomes:
        if o.error:
            out[o.probe.op.label] = [f"error: {o.error}"]
        else:
            out[o.probe.op.label] = [f.kind for f in o.findings]
    return out


async def main(runs: int, n: int, minimum: int) -> int:
    bad = 0
    started = time.monotonic()
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # the planted 500s' tracebacks
    print(f"load before: {os.getloadavg()[0]:.1f} (1-min)")
    for name, (module, doc, planted) in STANDINS.items():
        caught: Counter[str] = Counter()
        false: list[str] = []
        for _ in range(runs):
            found = await one(module, doc, True, n)
            for op, kind in planted.items():
                caught[op] += kind in found.get(op, [])
            clean = await one(module, doc, False, n)
            false += [f"{op}: {k}" for op, kinds in clean.items() for k in kinds]
        for op, kind in planted.items():
            ok = caught[op] >= minimum
            bad += not ok
            print(f"{name:6} defect {op:16} ({kind:12}) flagged in {caught[op]:2}/{runs} runs"
                  + ("" if ok else "  <-- below the bar"))  # fmt: skip
        print(f"{name:6} correct variant: {len(false)} findings over {runs} runs"
              + (f": {sorted(set(false))}" if false else ""))  # fmt: skip
        bad += bool(false)
    print(f"load after: {os.getloadavg()[0]:.1f} (1-min); {time.monotonic() - started:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--min", type=int, default=None)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.runs, args.concurrency, args.min or args.runs - 1)))
