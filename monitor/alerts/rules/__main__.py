"""``python -m monitor.alerts.rules [--job NAME] [--runbook-base-url URL] [--scale F]``: print
the rule file."""

from __future__ import annotations

import argparse
import sys

from monitor.alerts import rules
from monitor.alerts.model import DEFAULT_RUNBOOK_BASE, check_runbook_base
from monitor.alerts.rules.rulefile import render
from monitor.alerts.rules.windows import Windows


def _runbook_arg(value: str) -> str:
    try:
        return check_runbook_base(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m monitor.alerts.rules", description=rules.__doc__
    )
    parser.add_argument("--scale", type=float, default=1.0, help="window factor (tests only)")
    parser.add_argument("--min-requests", type=int, default=None, help="low-traffic guard")
    parser.add_argument("--job", default="soakmon", help="scrape job of the daemon")
    parser.add_argument(
        "--runbook-base-url",
        type=_runbook_arg,
        default=DEFAULT_RUNBOOK_BASE,
        metavar="URL",
        help="where you host docs/runbooks.md; runbook_url = URL#ANCHOR "
        f"(default: {DEFAULT_RUNBOOK_BASE}, the path in soakmon's source tree)",
    )
    args = parser.parse_args(argv)
    windows = Windows()
    if args.scale != 1.0 or args.min_requests is not None:
        windows = windows.scaled(args.scale, min_requests=args.min_requests)
    sys.stdout.write(render(windows, job=args.job, runbook_base=args.runbook_base_url))


if __name__ == "__main__":
    main()
