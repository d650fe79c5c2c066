"""The action engine on real processes: inject, hold, always revert, journal, events, guards."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from pydantic import ValidationError

from monitor.chaos.action import ActionContext
from monitor.chaos.engine import ActionEngine, ActionRun, revert_entries
from monitor.chaos.errors import Refused
from monitor.chaos.journal import Entry, Journal
from monitor.chaos.registry import ACTIONS, build_action
from monitor.events import ChaosActionEnded, ChaosActionStarted, EventBus
from monitor.registry import UnknownNameError
from tests.chaos.helpers import until_injected


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # chaos-sleeper"])
    yield proc
    proc.kill()
    proc.wait()


async def _until(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():  # noqa: ASYNC110 - polling a process state, no event to wait on
            await asyncio.sleep(0.01)


def _status(pid: int) -> str:
    return str(psutil.Process(pid).status())


def test_registry_has_the_process_kinds_and_names_the_valid_ones() -> None:
    assert {"process-kill", "process-pause"} <= set(ACTIONS)
    valid = r"unknown chaos action kind 'nope' \(valid: .*process-kill"
    with pytest.raises(UnknownNameError, match=valid):
        ACTIONS.get_entry("nope")
    with pytest.raises(ValidationError, match="exactly one of `pid` and `match`"):
        build_action("process-pause", {})
    with pytest.raises(ValidationError, match="`restart` needs `match`"):
        build_action("process-kill", {"pid": 1234, "restart": "true"})


async def test_pause_is_held_for_its_duration_then_reverted(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    bus = EventBus()
    seen: list[object] = []
    bus.on(ChaosActionStarted, seen.append)
    bus.on(ChaosActionEnded, seen.append)
    journal = Journal(tmp_path)
    engine = ActionEngine(journal, bus=bus)
    action = build_action("process-pause", {"pid": sleeper.pid})
    task = asyncio.create_task(
        engine.run(action, ActionContext("a1", "ref"), duration_s=3, name="freeze")
    )
    await until_injected(journal)
    assert _status(sleeper.pid) == psutil.STATUS_STOPPED
    assert [e.kind for e in journal.entries()] == ["process-pause"]
    run = await task
    assert run.result == "ok"
    assert run.reverted_at is not None
    assert _status(sleeper.pid) != psutil.STATUS_STOPPED
    assert journal.entries() == []
    assert [type(e).__name__ for e in seen] == ["ChaosActionStarted", "ChaosActionEnded"]
    assert isinstance(seen[1], ChaosActionEnded)
    assert seen[1].result == "ok"


async def test_cancelled_mid_fault_still_reverts(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    journal = Journal(tmp_path)
    engine = ActionEngine(journal)
    action = build_action("process-pause", {"pid": sleeper.pid})
    task = asyncio.create_task(engine.run(action, ActionContext("a2", "ref"), duration_s=30))
    await _until(lambda: bool(journal.entries()) and _status(sleeper.pid) == "stopped")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _status(sleeper.pid) != psutil.STATUS_STOPPED
    assert journal.entries() == []


async def test_abort_cuts_the_fault_short(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    journal = Journal(tmp_path)
    engine = ActionEngine(journal)
    abort = asyncio.Event()
    action = build_action("process-pause", {"pid": sleeper.pid})
    task = asyncio.create_task(
        engine.run(action, ActionContext("a3", "ref"), duration_s=30, abort=abort)
    )
    await until_injected(journal)
    abort.set()
    run = await asyncio.wait_for(task, 30)
    assert run.result == "aborted"
    assert _status(sleeper.pid) != psutil.STATUS_STOPPED


async def test_an_orphaned_entry_is_reverted_by_the_next_start(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """A process that died mid-fault left the journal entry; the next start reverts it."""
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    journal = Journal(tmp_path)
    proc = psutil.Process(sleeper.pid)
    proc.suspend()
    entry = Entry("old", "process-pause", "ref", "exp", {"pid": sleeper.pid},
                  {"pids": [[sleeper.pid, proc.create_time(), ""]]}, "injected")  # fmt: skip
    journal.add(entry)
    assert journal.orphans() == []  # this process owns it: alive
    journal.remove("old")
    entry.owner_pid = gone.pid
    with journal._locked() as entries:  # written by a process that is gone now
        entries.append(entry)
    assert [e.id for e in journal.orphans()] == ["old"]
    assert journal.busy_with("ref", "another") is not None
    done = await revert_entries(journal, journal.orphans())
    assert [(e.id, err) for e, err in done] == [("old", None)]
    assert _status(sleeper.pid) != psutil.STATUS_STOPPED
    assert journal.entries() == []


async def test_soakmon_never_signals_itself(tmp_path: Path) -> None:
    import os

    engine = ActionEngine(Journal(tmp_path))
    action = build_action("process-kill", {"pid": os.getpid()})
    with pytest.raises(Refused, match="soakmon itself"):
        await engine.run(action, ActionContext("a4", "ref"), duration_s=0)


async def test_dry_run_touches_nothing(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    engine = ActionEngine(Journal(tmp_path), dry_run=True)
    action = build_action("process-kill", {"match": "chaos-sleeper", "restart": "true"})
    run = await engine.run(action, ActionContext("a5", "ref"), duration_s=1)
    assert run.result == "dry-run"
    assert "send SIGKILL to processes matching 'chaos-sleeper', then run `true`" in run.description
    assert sleeper.poll() is None


async def test_at_most_k_actions_are_active_at_once(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    engine = ActionEngine(Journal(tmp_path), max_concurrent=1)

    def pause(i: int) -> asyncio.Task[ActionRun]:
        action = build_action("process-pause", {"pid": sleeper.pid})
        return asyncio.create_task(engine.run(action, ActionContext(f"k{i}", "r"), duration_s=0.4))

    runs = [pause(0), pause(1)]
    await _until(lambda: bool(engine.active))
    assert len(engine.active) == 1
    first, second = await asyncio.gather(*runs)
    assert first.injected_at is not None
    assert second.injected_at is not None
    assert first.reverted_at is not None
    assert second.started_at is not None
    assert second.started_at >= first.reverted_at  # one after the other


async def test_each_action_is_a_span(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = ActionEngine(Journal(tmp_path), tracer=provider.get_tracer("t"))
    action = build_action("process-pause", {"pid": sleeper.pid})
    await engine.run(action, ActionContext("s1", "ref"), duration_s=0.1)
    (span,) = exporter.get_finished_spans()
    assert span.name == "chaos process-pause"
    assert span.attributes is not None
    assert span.attributes["soakmon.chaos.result"] == "ok"
    assert span.attributes["soakmon.chaos.target"] == "ref"
