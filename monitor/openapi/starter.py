"""The starter suite ``soakmon init`` writes beside the drafted profile: the probes of the
document as scenarios in the user's own operation names (N identical requests together, no
5xx; updates of different fields together, each read back), to edit and run on a schedule."""

from __future__ import annotations

from monitor.openapi.draft import Draft
from monitor.openapi.plan import plan_probes
from monitor.openapi.probe import ProbeOutcome
from monitor.openapi.save import PROFILE_FILE, suite_text
from monitor.openapi.values import ValueSource


def starter_suite(draft: Draft, resolved: dict, profile_file: str, copies: int = 5) -> str:  # type: ignore[type-arg]
    """The suite text (validates against the drafted profile)."""
    values = ValueSource(resolved)
    outcomes = []
    for probe in plan_probes(draft.api, draft.session, []):
        if probe.skip is not None:
            continue
        drawn = values.draw(probe.op.method, probe.op.path, 1)
        body = drawn[0].body if drawn else None
        replay: dict[str, object] = {"body": body, "answers": [0] * copies, "parents": {}}
        makers = [p.op for p in probe.producers] + [r.op for r in probe.refs + probe.refs_before]
        for maker in makers:
            if maker is not None:
                made = values.draw(maker.method, maker.path, 1)
                replay["parents"][maker.label] = made[0].body if made else None  # type: ignore[index]
        if probe.kind == "updates" and isinstance(body, dict):
            names = [k for k, v in body.items() if isinstance(v, str) and v.startswith("soak-")]
            partial = probe.op.method == "PATCH" and len(names) > 1
            replay["groups"] = [{n: "x"} for n in names] if partial else [dict(body)]
            replay["partial"] = partial
        outcomes.append(ProbeOutcome(probe, replay=replay))
    text = suite_text(
        draft,
        outcomes,
        copies,
        f"Starter suite for {draft.api.title or draft.name}: "
        "concurrent identical requests and concurrent updates, drafted by soakmon init",
    )
    return text.replace(PROFILE_FILE, profile_file)
