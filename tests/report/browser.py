"""Headless Chromium for report tests: dump the DOM, take screenshots, read the DOM back."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,2000",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is needed for the HTML report tests (scripts/system-deps.sh installs it)"
    return path


def _run(page: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    with tempfile.TemporaryDirectory(prefix="soakmon-chromium-") as profile:
        args = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
        done = subprocess.run(args, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


def dump_dom(page: Path) -> str:
    """The DOM after Chromium loaded and laid out the page."""
    return _run(page, "--dump-dom").stdout.decode()


def screenshot(page: Path, png: Path) -> Path:
    _run(page, f"--screenshot={png}")
    assert png.stat().st_size > 0
    return png


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parents: list[Node] = field(default_factory=list)
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def inside(self, tag: str, cls: str) -> bool:
        return any(p.tag == tag and cls in p.classes for p in self.parents)


class _Collector(HTMLParser):
    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[Node] = []
        self.stack: list[Node] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        self.nodes.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.nodes.append(Node(tag, {k: v or "" for k, v in attrs}, list(self.stack)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        for node in self.stack:
            node.text += data


def parse(html: str) -> list[Node]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.nodes
