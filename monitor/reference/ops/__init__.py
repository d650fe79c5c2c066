"""The correct operations of the reference target, one module per resource.

Each operation is one transaction (``Database.write`` / ``Database.read``); faults replace some of
them with broken variants (see ``monitor.reference.faults``).
"""
