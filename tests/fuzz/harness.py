"""Validate inputs as ``soakmon validate`` does, each in a forked child with limits, and judge.

The parent imports the monitor once; every input runs in a child forked from it (cheap,
copy-on-write) with an address-space limit and an alarm, so a hang or a memory blow-up ends that
child only and is measured: wall time from the parent, peak RSS from the child's ``rusage``.

Verdicts:

- ``ok``: exit 0;
- ``rejected``: exit 2 and every problem line is ``FILE:LINE: field: message`` (the field as
  written, ``(top level)`` outside every key; or a whole-file problem such as an empty file),
  short, free of internal names, one per field;
- ``bad-message``: exit 2 but some line breaks those rules (``detail`` quotes it);
- ``crash``: a traceback, another exit code, or a fatal signal;
- ``hang``: still running after the time limit;
- ``memory``: peak RSS over the memory limit, or ``MemoryError``.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

INPUT = "input.yaml"
TIME_LIMIT_S = 20
"""CPU seconds one validation may take (a shared 2-core machine stretches wall time several
times over, so the limit is on CPU; wall time is bounded too, at ``WALL_FACTOR`` times it)."""
WALL_FACTOR = 6
MEMORY_LIMIT = 2 * 1024**3
#: The child's address space may exceed the RSS limit a little, so an overshoot is measured (as
#: ``memory``) instead of ending in an unexplained ``MemoryError`` far below it.
ADDRESS_LIMIT = MEMORY_LIMIT + 1024**3
MAX_LINE = 300
WHOLE_FILE = ("the file is empty", "not UTF-8", "cannot read", "larger than")
INTERNAL = ("function-after", "function-before", "function-wrap", "Value error,", "union[",
            "tagged-union", "Traceback", "Assertion failed,")  # fmt: skip
FIELD = r'(?:\(top level\)|(?:\["(?:[^"\\]|\\.)*(?:"\]|…)|\S)+?)'
"""A field path as ``Problem`` writes it: ``scenarios[0].steps[2].body``, ``params["a b"]``
(a key with spaces quoted), ``(top level)``; no bare spaces, so a message is never taken for
one."""
_CRASH_EXIT = 70
_MEMORY_EXIT = 71


@dataclass(frozen=True, slots=True)
class Outcome:
    """How validating one input went."""

    verdict: str
    exit_code: int | None
    seconds: float
    """CPU time of the child (user + system)."""
    max_rss: int
    detail: str = ""
    signature: str = ""
    wall: float = 0.0

    @property
    def failed(self) -> bool:
        return self.verdict not in ("ok", "rejected")


def warm_up() -> None:
    """Import everything ``soakmon validate`` needs, once, in the parent."""
    from monitor.cli import app as cli_app

    cli_app._register()
    import monitor.daemon.config
    import monitor.daemon.resolve
    import monitor.suites.loading.loader  # noqa: F401


def _child(workdir: Path, out_fd: int, time_limit: int) -> None:
    """Runs in the forked child: validate ``INPUT`` in ``workdir``; never returns."""
    code = _CRASH_EXIT
    try:
        os.chdir(workdir)
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (time_limit, time_limit + 5))
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(time_limit * WALL_FACTOR)
        sys.stderr = open("stderr.txt", "w", buffering=1, errors="backslashreplace")  # noqa: SIM115
        sys.stdout = open("stdout.txt", "w", buffering=1, errors="backslashreplace")  # noqa: SIM115
        os.dup2(sys.stderr.fileno(), 2)
        os.dup2(sys.stdout.fileno(), 1)
        from monitor.cli.app import app

        try:
            result = app(["validate", INPUT], standalone_mode=False)
            code = int(result or 0)
        except MemoryError:
            code = _MEMORY_EXIT
        except BaseException as exc:
            if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):
                code = int(exc.exit_code)
            else:
                text = "".join(traceback.format_exception(exc))[-20000:]
                os.write(out_fd, text.encode("utf-8", "replace"))
                code = _CRASH_EXIT
    except MemoryError:
        code = _MEMORY_EXIT
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _signature(trace: str) -> str:
    """Exception type and the innermost frame of the monitor (or of any file) it came from."""
    frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', trace)
    ours = [f for f in frames if "/monitor/" in f[0]] or frames
    raised = [ln for ln in trace.splitlines() if re.match(r"^[A-Za-z_][\w.]*(: |$)", ln)]
    kind = raised[-1].split(":", 1)[0].rsplit(".", 1)[-1] if raised else "?"
    where = f"{Path(ours[-1][0]).name}:{ours[-1][1]}" if ours else "?"
    return f"{kind}@{where}"


def judge_lines(stderr: str, name: str = INPUT) -> str:
    """Empty when every problem line reads as promised; else what is wrong and the line."""
    seen: set[str] = set()
    for line in stderr.splitlines():
        if re.fullmatch(r"\d+ of \d+ file\(s\) invalid", line):
            continue
        if line.startswith(("warning: ", "note: ")):
            continue
        if len(line) > MAX_LINE:
            return f"line over {MAX_LINE} characters ({len(line)}): {line[:120]}…"
        if any(word in line for word in INTERNAL):
            return f"internal name in message: {line}"
        m = re.match(rf"{re.escape(name)}:(\d+): {FIELD}: ", line)
        if m is None:
            if line.startswith(f"{name}: ") and any(w in line for w in WHOLE_FILE):
                continue
            return f"no file:line: field: {line[:200]}"
        if line in seen:
            return f"the same message twice: {line[:200]}"
        seen.add(line)
    return ""


def _outcome(status: int, usage: resource.struct_rusage, wall: float, work: Path) -> Outcome:
    outcome = _judge(status, usage, work)
    return Outcome(outcome.verdict, outcome.exit_code, outcome.seconds, outcome.max_rss,
                   outcome.detail, outcome.signature, wall)  # fmt: skip


def _judge(status: int, usage: resource.struct_rusage, work: Path) -> Outcome:
    rss = usage.ru_maxrss * 1024
    seconds = usage.ru_utime + usage.ru_stime
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGALRM, signal.SIGXCPU):
            return Outcome("hang", None, seconds, rss, "over the time limit", "hang")
        name = signal.Signals(sig).name
        return Outcome("crash", None, seconds, rss, f"killed by {name}", f"signal-{name}")
    code = os.WEXITSTATUS(status)
    if rss > MEMORY_LIMIT or code == _MEMORY_EXIT:
        return Outcome("memory", code, seconds, rss, f"peak RSS {rss >> 20} MiB", "memory")
    if code == _CRASH_EXIT:
        trace = (work / "trace.txt").read_text(errors="replace")
        raised = [ln for ln in trace.splitlines() if re.match(r"^[A-Za-z_][\w.]*(: |$)", ln)]
        last = raised[-1] if raised else "no traceback"
        return Outcome("crash", code, seconds, rss, last[:300], _signature(trace))
    if code == 0:
        return Outcome("ok", code, seconds, rss)
    stderr = (work / "stderr.txt").read_text(errors="replace")
    if code != 2:
        return Outcome("crash", code, seconds, rss, f"exit {code}: {stderr[-300:]}", f"exit-{code}")
    if not stderr.strip():
        return Outcome("bad-message", code, seconds, rss, "exit 2 with nothing said", "silent")
    bad = judge_lines(stderr)
    if bad:
        kind = bad.split(":", 1)[0].split(" (")[0]
        return Outcome("bad-message", code, seconds, rss, bad, f"message-{kind}")
    return Outcome("rejected", code, seconds, rss)


def run_many(
    texts: Iterable[str], jobs: int = 1, time_limit: int = TIME_LIMIT_S
) -> Iterator[tuple[int, Outcome]]:
    """Validate each text in its own forked child, at most ``jobs`` at once; yields
    ``(index, outcome)`` as children finish (not necessarily in order)."""
    warm_up()
    running: dict[int, tuple[int, float, Path, tempfile.TemporaryDirectory[str]]] = {}
    source = iter(enumerate(texts))
    exhausted = False
    while running or not exhausted:
        while not exhausted and len(running) < jobs:
            try:
                index, text = next(source)
            except StopIteration:
                exhausted = True
                break
            tmp = tempfile.TemporaryDirectory(prefix="soakmon-fuzz-")
            work = Path(tmp.name)
            (work / INPUT).write_bytes(text.encode("utf-8", "surrogatepass"))
            trace = os.open(work / "trace.txt", os.O_WRONLY | os.O_CREAT, 0o600)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(work, trace, time_limit)
            os.close(trace)
            running[pid] = (index, time.monotonic(), work, tmp)
        if not running:
            break
        pid, status, usage = os.wait4(-1, 0)
        if pid not in running:
            continue
        index, started, work, tmp = running.pop(pid)
        outcome = _outcome(status, usage, time.monotonic() - started, work)
        tmp.cleanup()
        yield index, outcome


def validate_one(text: str, time_limit: int = TIME_LIMIT_S) -> Outcome:
    """One input, in a forked child (for tests and replaying regressions)."""
    for _, outcome in run_many([text], 1, time_limit):
        return outcome
    raise AssertionError("no outcome")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
