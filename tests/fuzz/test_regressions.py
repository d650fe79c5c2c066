"""Every input the fuzzers ever broke ``soakmon validate`` with, replayed: each must now end in
``ok`` or a clean rejection (one ``file:line: field: message`` line per problem), within the
time and memory limits, in a forked child like the long run's.

Files named ``issue-*`` are the crash classes issue 20 lists, written by hand; the others were
kept by ``python -m tests.fuzz --keep`` (named for their verdict and signature).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.harness import validate_one

REGRESSIONS = Path(__file__).parent / "regressions"
FILES = sorted(REGRESSIONS.glob("*.yaml"))

#: Still failing (strict: a fix that lands makes the entry fail until it is removed here).
PENDING: dict[str, str] = {}
#: Pending inputs that hang or blow up memory: not run while pending (each would take the
#: whole time limit in ``make test``).
SLOW_PENDING: set[str] = set()


def _params() -> list[object]:
    out: list[object] = []
    for path in FILES:
        marks = []
        if path.name in PENDING:
            run = path.name not in SLOW_PENDING
            marks.append(pytest.mark.xfail(reason=PENDING[path.name], strict=True, run=run))
        out.append(pytest.param(path, id=path.stem[:60], marks=marks))
    return out


def test_there_are_regressions() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", _params())
def test_regression_validates_cleanly(path: Path) -> None:
    outcome = validate_one(path.read_bytes().decode("utf-8", "surrogatepass"), time_limit=10)
    assert not outcome.failed, f"{outcome.verdict}: {outcome.detail}"
    assert outcome.max_rss < 1024**3, f"peak RSS {outcome.max_rss >> 20} MiB"
