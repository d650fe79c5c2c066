"""A worker for ``test_worker_lines``: speaks the workers' stdout protocol
(:func:`monitor.engine.workers.emit`) with lines far above the read buffer, then exits at once."""

from __future__ import annotations

import json
import sys

from monitor.engine.workers import emit


def main() -> None:
    plan = json.loads(sys.argv[1])
    emit("ready", {})
    sys.stdout.write("a library's print, no message\n")
    for i, size in enumerate(plan["sizes"]):
        emit("interval", {"i": i, "blob": "x" * size})
    emit("final", {"blob": "y" * plan["final"]})  # the last line, right before the exit


if __name__ == "__main__":
    main()
