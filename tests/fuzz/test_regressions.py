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

#: Still failing, waiting for the hardened suite loader (monitor/suites is being split, issue
#: 16): strict, so a fix that lands makes the entry fail until it is removed from here.
PENDING: dict[str, str] = dict.fromkeys(
    (
        "bad-message-message_internal_name_in_message-6b58a7bb99.yaml",
        "bad-message-message_line_over_300_characters-c8391e23c3.yaml",
        "bad-message-message_no_file-c313688b1f.yaml",
        "bad-message-message_two_messages_for_one_field-4ef53bb665.yaml",
        "crash-KeyError@yamlsource.py_parse_yaml-4d9057ee49.yaml",
        "crash-ParserError@cel.py_to_cel-fa000fc988.yaml",
        "crash-ReaderError@yamlsource.py_parse_yaml-f8cbff2747.yaml",
        "crash-RecursionError@cel.py__free_names-74cc6f60f5.yaml",
        "crash-RecursionError@reader.py_get_mark-6ff0b0df1e.yaml",
        "crash-RecursionError@yamlsource.py__walk-4a8902fbe4.yaml",
        "crash-ValueError@cel.py_to_cel-08d1215c8a.yaml",
        "crash-ValueError@yamlsource.py_parse_yaml-b280e1813a.yaml",
        "hang-hang-a68039a710.yaml",
        "issue-alias-bomb.yaml",
        "issue-bad-bool-tag.yaml",
        "issue-bad-float-tag.yaml",
        "issue-bad-timestamp-tag.yaml",
        "issue-control-character.yaml",
        "issue-deep-cel.yaml",
        "issue-deep-jmespath.yaml",
        "issue-deep-nesting.yaml",
        "issue-dollar-run.yaml",
        "issue-impossible-date.yaml",
        "issue-key-newline.yaml",
        "issue-self-alias.yaml",
        "issue-self-mapping.yaml",
    ),
    "the suite loader is hardened after the suites split (issue 16)",
)
#: Pending inputs that hang or blow up memory: not run while pending (each would take the
#: whole time limit in ``make test``).
SLOW_PENDING = {
    "hang-hang-a68039a710.yaml",
    "issue-alias-bomb.yaml",
    "issue-dollar-run.yaml",
    "issue-deep-nesting.yaml",
    "crash-RecursionError@reader.py_get_mark-6ff0b0df1e.yaml",
}


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
