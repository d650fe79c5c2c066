"""``python -m bench.profile_load OUT LOAD-ARGS...``: cProfile one ``soakmon load`` run, imports
excluded.

The CLI is imported and its commands registered before the profiler starts, so the profile shows
the run (argument parsing, the load itself, the report) and not Python's start-up.
"""

from __future__ import annotations

import cProfile
import sys
import time


def main(argv: list[str]) -> int:
    out, args = argv[0], argv[1:]
    import typer.main

    from monitor.cli import app as cli

    cli._register()
    command = typer.main.get_command(cli.app)
    # CPU time, not wall time: on a shared machine preemption would be billed to whatever ran.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        code = command.main(args=args, prog_name="soakmon", standalone_mode=False)
    finally:
        profiler.disable()
        profiler.dump_stats(out)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
