"""The reference target: the points / Top3 / rewards / tasks service the built-in suites speak.

It imports nothing of the monitor, so it can be read and deployed on its own::

    async with ReferenceServer(db_url=None, faults=("lost-update",)) as server:
        ...  # talk HTTP to server.url

``FAULTS`` maps each injectable fault name to its ``Fault`` (``.name``, ``.description``,
``.race``); ``RACE_FAULTS`` names the race faults, whose window ``ReferenceServer(race_window=S)``
widens by S seconds (default ``DEFAULT_RACE_WINDOW``, 20 ms; 0: natural windows).
"""

from monitor.reference.errors import DatabaseConfigError, DatabaseUnreachable
from monitor.reference.faults import DEFAULT_RACE_WINDOW, FAULTS, RACE_FAULTS, Fault
from monitor.reference.server import ReferenceServer

__all__ = [
    "DEFAULT_RACE_WINDOW",
    "FAULTS",
    "RACE_FAULTS",
    "DatabaseConfigError",
    "DatabaseUnreachable",
    "Fault",
    "ReferenceServer",
]
