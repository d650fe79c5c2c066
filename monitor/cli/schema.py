"""``soakmon schema [suite|profile|daemon]`` — print the JSON Schema of a file kind."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from monitor.cli.app import app


class SchemaKind(StrEnum):
    suite = "suite"
    profile = "profile"
    daemon = "daemon"
    experiment = "experiment"
    ops = "ops"


def _daemon_schema() -> dict[str, object]:
    from monitor.daemon.config import DaemonConfig
    from monitor.json_schema import AcceptedNames

    schema: dict[str, object] = DaemonConfig.model_json_schema(schema_generator=AcceptedNames)
    schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    schema.setdefault("title", "soakmon daemon configuration")
    return schema


def _experiment_schema() -> dict[str, object]:
    """Each step: the step's own fields, and each registered action kind's (if kind == X)."""
    from monitor.chaos.experiment.model import Experiment
    from monitor.chaos.registry import ACTIONS
    from monitor.json_schema import AcceptedNames
    from monitor.registry import kinds_schema

    schema: dict[str, object] = Experiment.model_json_schema(schema_generator=AcceptedNames)
    schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    schema.setdefault("title", "soakmon chaos experiment")
    kinds_schema(schema["$defs"]["MethodStep"], ACTIONS)  # type: ignore[index]
    return schema


@app.command()
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="Which file kind.")] = SchemaKind.suite,
) -> None:
    """Print the JSON Schema of suites, profiles, daemon configs or chaos experiments.

    The schemas are JSON Schema draft 2020-12; `ops` prints the operations reference table
    instead (Markdown: arguments, value, fields, used by)."""
    from monitor.suites.loading.schema import profile_schema, suite_schema

    if kind is SchemaKind.ops:
        from monitor.suites.loading.loader import load_suite
        from monitor.suites.loading.paths import builtin_suites
        from monitor.suites.profile.ops_table import operations_table, render_markdown

        suites = [load_suite(p).suite for p in builtin_suites().values()]
        typer.echo(render_markdown(operations_table(suites)), nl=False)
        return
    if kind is SchemaKind.suite:
        doc = suite_schema()
    elif kind is SchemaKind.profile:
        doc = profile_schema()
    elif kind is SchemaKind.experiment:
        doc = _experiment_schema()
    else:
        doc = _daemon_schema()
    typer.echo(json.dumps(doc, indent=2, sort_keys=False))
