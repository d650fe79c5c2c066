from __future__ import annotations

import subprocess
import sys

import pytest

from monitor import __version__


@pytest.mark.parametrize("args", [["version"], ["--version"]])
def test_version_command_prints_the_package_version(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from monitor.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == __version__


def test_every_command_summary_is_one_sentence_on_one_line() -> None:
    """`soakmon --help` lists each command by its docstring's first paragraph, and Typer's
    rich help keeps that paragraph's line breaks: a summary wrapped in the source showed up
    broken mid-sentence in the command table."""
    import inspect

    import click
    import typer

    from monitor.cli.app import _register, app

    _register()
    broken: list[str] = []

    def walk(group: click.Command, path: str) -> None:
        for name, sub in getattr(group, "commands", {}).items():
            summary = inspect.cleandoc(sub.help or "").split("\n\n")[0]
            if not summary or "\n" in summary:
                broken.append(f"{path} {name}: {summary!r}")
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "soakmon")
    assert broken == []
