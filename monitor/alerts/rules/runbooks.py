"""Rule annotations and their ``runbook_url``: ``BASE#ANCHOR``, one section of
``docs/runbooks.md`` per alert."""

from __future__ import annotations

from typing import Any

from monitor.alerts.model import DEFAULT_RUNBOOK_BASE, runbook_url


def rule_annotations(summary: str, description: str, anchor: str) -> dict[str, str]:
    """Annotations; ``runbook_url`` holds the default base, swapped by ``rebase``."""
    return {
        "summary": summary,
        "description": description,
        "runbook_url": runbook_url(DEFAULT_RUNBOOK_BASE, anchor),
    }


def rebase(groups: list[dict[str, Any]], base: str) -> None:
    """Point every ``runbook_url`` at ``base`` (the anchor stays)."""
    for group in groups:
        for rule in group["rules"]:
            ann = rule.get("annotations", {})
            if "runbook_url" in ann:
                ann["runbook_url"] = runbook_url(base, ann["runbook_url"].rsplit("#", 1)[1])
