"""``soakmon init --openapi URL|FILE`` — draft a profile (and a starter suite) from an OpenAPI
document; every guess is commented in the YAML for the user to confirm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import app


@app.command()
def init(
    openapi: Annotated[
        str,
        typer.Option("--openapi", metavar="URL|FILE", help="The OpenAPI 3.0/3.1 document."),
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="URL",
            help="The service's base URL: the document is read from TARGET/openapi.json when "
            "--openapi is a path starting with / that is not a file.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Write the profile here (default: stdout); the starter suite goes beside it "
            "as STEM.suite.yaml.",
        ),
    ] = None,
) -> None:
    """Draft a profile (and a starter suite) from an OpenAPI document.

    Operations, arguments, extractions, outcomes, authentication and the register/login
    session, each guess marked `GUESS` in a comment.

    Exit 0 when the draft was written and passes `soakmon validate`; 2 when the document cannot
    be read or is not OpenAPI 3.x.
    """
    from monitor.errors import ExitCode
    from monitor.openapi.document import OpenApiError, load_document
    from monitor.openapi.draft import build_draft
    from monitor.openapi.starter import starter_suite
    from monitor.suites.errors import ConfigError
    from monitor.suites.loading.loader import load_profile, load_suite

    source = _source(openapi, target)
    try:
        doc = load_document(source)
    except OpenApiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    draft = build_draft(doc, source)
    if target:
        draft = build_draft(doc, source, _target_metrics(draft, target))
    if output is None:
        typer.echo(draft.text, nl=False)
        typer.echo(
            f"{len(draft.ops)} operations, {draft.guesses} guesses to confirm "
            "(write files with -o PATH; a starter suite is written beside the profile)",
            err=True,
        )
        return
    suite_path = output.with_name(f"{output.stem}.suite.yaml")
    try:
        output.write_text(draft.text, encoding="utf-8")
        suite_path.write_text(starter_suite(draft, doc.resolved, output.name), encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot write {exc.filename}: {exc.strerror}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    try:
        profile = load_profile(output)
        load_suite(suite_path, profile.profile)
    except ConfigError as exc:  # a draft that does not validate is a bug of init: say so
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo("error: the draft does not validate (a soakmon bug: please report it)", err=True)
        raise typer.Exit(ExitCode.ERROR) from None
    typer.echo(f"profile: {output} ({len(draft.ops)} operations, {draft.guesses} guesses)")
    typer.echo(f"suite:   {suite_path}")
    typer.echo(
        f"next:    grep -n GUESS {output}   # confirm each guess\n"
        f"         soakmon validate {suite_path} --profile {output}\n"
        f"         soakmon run {suite_path} --profile {output} --target URL"
    )


def _target_metrics(draft: object, target: str) -> dict[str, str] | None:
    """Logical metrics guessed from the target's Prometheus endpoint (None: none readable)."""
    from monitor.openapi.document import OpenApiError, read_text
    from monitor.openapi.draft import Draft
    from monitor.openapi.metrics import guess_metrics, series_names

    assert isinstance(draft, Draft)
    for op in draft.ops:
        if op.fields.get("format") == "prometheus":
            url = target.rstrip("/") + draft.api.base_path + str(op.fields["path"])
            try:
                return guess_metrics(series_names(read_text(url))) or None
            except OpenApiError as exc:
                typer.echo(f"warning: metrics not read: {exc}", err=True)
    return None


def _source(openapi: str, target: str | None) -> str:
    if target and openapi.startswith("/") and not Path(openapi).exists():
        return target.rstrip("/") + openapi
    return openapi
