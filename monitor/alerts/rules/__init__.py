"""The Prometheus rules shipped in ``deploy/prometheus/``, generated from one template.

``build_rules()`` returns the rule file as data; ``python -m monitor.alerts.rules`` prints it.
The shipped file keeps the SRE-workbook windows (page: 1h with 5m, 6h with 30m; ticket: 1d with
2h, 3d with 6h). ``Windows.scaled(f)`` shrinks every window and ``for`` by the same factor, so a
test can run the very same expressions against a real Prometheus within seconds
(``--scale 0.01``). Recording-rule names keep their nominal window (``rate1h``) in both.

Latency SLO: P95 < 500 ms, i.e. at most 5 % of soak requests slower than 0.5 s (the bucket
``le="0.5"`` of ``soakmon_request_duration_seconds``). Error SLO: at most 5 % of soak requests
fail (outcome other than ``ok``). Only soak traffic (``suite="soak"``) counts: suite runs create
contention and rejections on purpose, and bursts are judged by their own recovery verdict.
"""

# One module a part (this docstring is the command's --help): `windows` (every range and wait,
# the burn-rate table, the SLOs), `slo` (recording rules and burn-rate alerts), `monitor_alerts`
# (the monitor's own alerts), `runbooks` (rule annotations and their links), `rulefile` (the file as
# data and as YAML) and `__main__` (the command line).

from monitor.alerts.rules.monitor_alerts import monitor_alerts
from monitor.alerts.rules.rulefile import build_rules, render
from monitor.alerts.rules.slo import SOAK, TRANSPORT, burn_alerts, recording_rules
from monitor.alerts.rules.windows import BURNS, Slo, Windows

__all__ = [
    "BURNS",
    "SOAK",
    "TRANSPORT",
    "Slo",
    "Windows",
    "build_rules",
    "burn_alerts",
    "monitor_alerts",
    "recording_rules",
    "render",
]
