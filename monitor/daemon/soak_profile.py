"""A soak of profile operations: each virtual user registers through the target's profile and
loops over the configured operations, re-authenticating by itself when its token expires.
Each user has its own session and cookies, and its own keep-alive connection on the fast path
when the requests qualify (``fast_path`` of the soak).

This is how a long soak stays meaningful against a real service whose sessions time out: an
``unauthorized`` answer makes the user register (or ``login``, when the profile maps it) again
and retry the operation once; only a second ``unauthorized`` counts as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import Soak
from monitor.engine import ConcurrentTester, ConnectionMode, LatencyHistogram, RequestHooks
from monitor.engine.backoff import VuBackoff, connection_failed
from monitor.events import EventBus, SoakInterval
from monitor.suites.errors import UnmappedOperation
from monitor.suites.loading.loader import load_profile, resolve_profile
from monitor.suites.results.history import Outcome
from monitor.suites.run.call import Call, Session
from monitor.suites.run.client import ProfileClient

log = logging.getLogger(__name__)

REAUTH_CODE = "unauthorized"


def _render(value: Any, vu: int, iteration: int) -> Any:
    if isinstance(value, str):
        return value.replace("${vu}", str(vu)).replace("${iteration}", str(iteration))
    if isinstance(value, dict):
        return {k: _render(v, vu, iteration) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, vu, iteration) for v in value]
    return value


class ProfileSoakLoop:
    """Runs one operations soak until the daemon stops."""

    def __init__(
        self,
        soak: Soak,
        target: Target,
        *,
        bus: EventBus,
        hooks: RequestHooks,
    ) -> None:
        self.soak = soak
        self.target = target
        self.bus = bus
        self.hooks = hooks
        self.reauths = 0
        self.transport: str | None = None
        """How the users' requests are sent: ``fast path`` or ``aiohttp (why)``."""
        self._latencies: list[float] = []
        self._errors = 0

    async def _login(self, client: ProfileClient, session: Session, vu: int) -> Call:
        kind = "login" if "login" in client.profile.operations else "register"
        username = f"soak-{self.soak.name}-{uuid.uuid4().hex[:12]}"
        session.name = username
        return await client.call(kind, {"username": username}, session, vu)

    def _account(self, call: Call) -> None:
        self._latencies.append(call.latency_ms)
        if call.outcome is not Outcome.OK:
            self._errors += 1

    async def _user(self, client: ProfileClient, vu: int, stop: asyncio.Event) -> None:
        session = Session(f"soak-{vu}")
        iteration = 0
        backoff = VuBackoff()  # after connection-level failures (monitor.engine.backoff)
        while not stop.is_set():
            if "token" not in session.values or session.values.get("token") is None:
                call = await self._login(client, session, vu)
                self._account(call)
                if not call.ok:
                    await self._pause(stop, max(self.soak.think_time, 1.0))
                    continue
            for step in self.soak.operations:
                if stop.is_set():
                    return
                args = _render(step.args, vu, iteration)
                call = await client.call(step.op, args, session, vu)
                if call.code == REAUTH_CODE:
                    self.reauths += 1
                    relogin = await self._login(client, session, vu)
                    if relogin.ok:
                        call = await client.call(step.op, args, session, vu)
                self._account(call)
                failed = any(connection_failed(r.error_kind, r.sent) for r in call.records)
                await self._pause(stop, max(self.soak.think_time, backoff.after(failed)))
            iteration += 1

    @staticmethod
    async def _pause(stop: asyncio.Event, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    def _flush(self, span_s: float) -> None:
        latencies, errors = self._latencies, self._errors
        self._latencies, self._errors = [], 0
        hist = LatencyHistogram()
        hist.record_many(latencies)
        self.bus.publish(
            SoakInterval(
                self.soak.name,
                self.soak.target,
                span_s,
                len(latencies),
                errors,
                hist,
                time.time(),
                time.monotonic(),
                reauthentications=self.reauths,
                transport=self.transport,
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        profile = load_profile(resolve_profile(self.target.profile)).profile
        missing = sorted({s.op for s in self.soak.operations} - set(profile.operations) - {"login"})
        if missing:  # a configuration error: the supervisor marks the loop failed
            raise UnmappedOperation(missing, profile.name)
        async with ConcurrentTester(
            self.target.url,
            timeout=self.target.timeout,
            mode=ConnectionMode.PER_USER,
            keep_body=True,
            hooks=self.hooks,
            fast_path=self.soak.fast_path,
            ca_file=self.target.ca_file,
        ) as tester:
            client = ProfileClient(profile, tester)
            kinds = ["login" if "login" in profile.operations else "register"]
            self.transport = client.load_transport(
                kinds + [s.op for s in self.soak.operations], own_sessions=True
            )
            log.info("soak %s: transport: %s", self.soak.name,
                     self.transport)  # fmt: skip
            users = [
                asyncio.create_task(self._user(client, vu, stop), name=f"soak-user-{vu}")
                for vu in range(self.soak.vus or 5)
            ]
            try:
                while not stop.is_set():
                    await self._pause(stop, self.soak.window)
                    self._flush(self.soak.window)
                await asyncio.wait(users, timeout=min(self.target.timeout, 5.0))
            finally:
                for task in users:
                    task.cancel()
                await asyncio.gather(*users, return_exceptions=True)
