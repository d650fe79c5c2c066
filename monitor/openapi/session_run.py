"""One call from a document to probe outcomes (the CLI and the tests use it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from monitor.openapi.auth import AuthPlan, SessionPlan, plan_auth, plan_session
from monitor.openapi.document import Document, load_document
from monitor.openapi.model import Api, read_api
from monitor.openapi.plan import RaceProbe, plan_probes
from monitor.openapi.probe import BudgetExhausted, ProbeOptions, ProbeOutcome, Prober
from monitor.openapi.values import ValueSource


@dataclass(slots=True)
class Prepared:
    """A loaded document and every plan made from it."""

    doc: Document
    api: Api
    auth: AuthPlan
    session: SessionPlan
    probes: list[RaceProbe]
    values: ValueSource


def prepare(source: str, target: str, exclude: list[str] | None = None) -> Prepared:
    """Load the document (blocking I/O) and plan its probes."""
    doc = load_document(source)
    api = read_api(doc.resolved)
    if api.base_path and urlsplit(target).path.rstrip("/").endswith(api.base_path):
        api.base_path = ""  # the target URL already names the base path
    auth = plan_auth(api)
    session = plan_session(api, auth)
    probes = plan_probes(api, session, list(exclude or []))
    return Prepared(doc, api, auth, session, probes, ValueSource(doc.resolved))


async def probe_document(
    source: str,
    target: str,
    options: ProbeOptions | None = None,
    exclude: list[str] | None = None,
    on_done: Callable[[ProbeOutcome], None] | None = None,
) -> tuple[Prepared, list[ProbeOutcome]]:
    """Every probe of the document at ``source`` against ``target``."""
    prepared = await asyncio.to_thread(prepare, source, target, exclude)
    outcomes = await run_probes(
        target,
        prepared.api,
        prepared.probes,
        values=prepared.values,
        auth=prepared.auth,
        session=prepared.session,
        options=options or ProbeOptions(),
        on_done=on_done,
    )
    return prepared, outcomes


async def run_probes(
    target: str,
    api: Api,
    probes: list[RaceProbe],
    *,
    values: ValueSource,
    auth: AuthPlan,
    session: SessionPlan,
    options: ProbeOptions,
    on_done: Any = None,
) -> list[ProbeOutcome]:
    """Every probe in order; once the budget is used up, the rest are skipped (said why)."""
    prober = Prober(target, api, values=values, auth=auth, session=session, options=options)
    out: list[ProbeOutcome] = []
    stop: str | None = None
    try:
        for probe in probes:
            if stop is not None:
                outcome = ProbeOutcome(probe, skipped=f"not run: {stop}")
            else:
                try:
                    outcome = await prober.run(probe)
                except BudgetExhausted as exc:
                    stop = str(exc)
                    outcome = ProbeOutcome(probe, skipped=f"not run: {stop}")
            out.append(outcome)
            if on_done is not None:
                on_done(outcome)
            await asyncio.sleep(0)
    finally:
        await prober.aclose()
    return out
