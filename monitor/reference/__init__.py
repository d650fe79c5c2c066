"""The reference target: the points / Top3 / rewards / tasks service the built-in suites speak.

It imports nothing of the monitor, so it can be read and deployed on its own::

    async with ReferenceServer(db_url=None, faults=("lost-update",)) as server:
        ...  # talk HTTP to server.url

``FAULTS`` maps each injectable fault name to its ``Fault`` (``.name``, ``.description``).
"""

from monitor.reference.errors import DatabaseConfigError, DatabaseUnreachable
from monitor.reference.faults import FAULTS, Fault
from monitor.reference.server import ReferenceServer

__all__ = ["FAULTS", "DatabaseConfigError", "DatabaseUnreachable", "Fault", "ReferenceServer"]
