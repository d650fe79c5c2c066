"""The registry of report file formats and atomic file writing."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import UsageError
from monitor.registry import Registry
from monitor.suites.results import RunResult


class ReportWriteError(UsageError):
    """A report could not be written; the message names the file and the cause."""


Render = Callable[[RunResult], bytes]


@dataclass(frozen=True, slots=True)
class ReportFormat:
    name: str  # the key used by ``write_reports`` and the CLI option (--json, --junit, --html)
    title: str  # human name, used in messages ("JUnit XML report")
    render: Render  # pure: the whole file as bytes


FORMATS: Registry[ReportFormat] = Registry("report format")


def register(name: str, title: str) -> Callable[[Render], Render]:
    """Decorator: register ``render`` as the writer of report format ``name`` (a name taken by
    another format raises :class:`~monitor.registry.DuplicateNameError`)."""

    def deco(render: Render) -> Render:
        FORMATS.add(name, ReportFormat(name, title, render))
        return render

    return deco


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_report(fmt: str, run: RunResult, path: str | os.PathLike[str]) -> Path:
    """Render ``run`` in format ``fmt`` and write it atomically to ``path``."""
    try:
        spec = FORMATS[fmt]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ReportWriteError(f"unknown report format {fmt!r} (known: {known})") from None
    target = Path(path)
    if target.is_dir():
        raise ReportWriteError(f"cannot write {spec.title} to {target}: it is a directory")
    data = spec.render(run)
    try:
        atomic_write(target, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ReportWriteError(f"cannot write {spec.title} to {target}: {reason}") from exc
    return target


def write_reports(run: RunResult, **paths: str | os.PathLike[str] | None) -> list[Path]:
    """Write every requested format, e.g. ``write_reports(run, json="r.json", html=None)``."""
    return [write_report(fmt, run, p) for fmt, p in paths.items() if p is not None]
