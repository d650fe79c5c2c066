"""The HTTP surface: every endpoint of the contract, in one table."""

from __future__ import annotations

from monitor.reference.api import auth, ops, points, rewards, tasks, top3
from monitor.reference.api.endpoint import Endpoint

ENDPOINTS: tuple[Endpoint, ...] = (
    *auth.ENDPOINTS,
    *points.ENDPOINTS,
    *tasks.ENDPOINTS,
    *top3.ENDPOINTS,
    *rewards.ENDPOINTS,
    *ops.ENDPOINTS,
)
