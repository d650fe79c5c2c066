"""``soakmon init --openapi``: the drafted profile of the reference target's own document and
of the book-clubs stand-in pass validate, with every guess marked; bad documents are usage
errors naming the cause."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from monitor.cli.app import _register, app
from monitor.reference.api import ENDPOINTS
from monitor.reference.openapi import build_openapi
from monitor.suites.loading.loader import load_profile, load_suite
from tests.openapi.clubs_server import openapi as clubs_openapi

_register()


def init(tmp_path: Path, document: dict[str, object]) -> tuple[int, str, Path]:
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(document))
    out = tmp_path / "profile.yaml"
    result = CliRunner().invoke(app, ["init", "--openapi", str(source), "-o", str(out)])
    return result.exit_code, result.output, out


def test_reference_document_drafts_the_builtin_vocabulary(tmp_path: Path) -> None:
    code, output, out = init(tmp_path, build_openapi(ENDPOINTS))
    assert code == 0, output
    profile = load_profile(out).profile
    shipped = load_profile(Path("scenarios/profiles/reference.yaml")).profile
    assert set(shipped.operations) <= set(profile.operations)
    for name, op in shipped.operations.items():  # same method and path (id renamed like ours)
        mine = profile.operations[name]
        assert (mine.method, mine.path) == (op.method, op.path), name  # type: ignore[union-attr]
    assert profile.auth.value == "Bearer ${session.token}"
    text = out.read_text()
    assert "GUESS (confirm): creates the user and its session" in text
    load_suite(out.with_name("profile.suite.yaml"), profile)


def test_clubs_document_drafts_login_sequence_and_token_prefix(tmp_path: Path) -> None:
    code, output, out = init(tmp_path, clubs_openapi("cookie"))
    assert code == 0, output
    raw = yaml.safe_load(out.read_text())
    assert raw["auth"] == {"header": "Cookie", "value": "sid=${session.token}"}
    code, output, out = init(tmp_path, clubs_openapi("token"))
    raw = yaml.safe_load(out.read_text())
    assert raw["auth"]["value"] == "Token ${session.token}"
    assert raw["operations"]["register"]["session"]["token"] == "user.token"
    assert raw["base_path"] == "/api"


def test_not_openapi_is_a_usage_error(tmp_path: Path) -> None:
    code, output, _ = init(tmp_path, {"swagger": "2.0", "paths": {}})
    assert code == 2
    assert "OpenAPI 3.0 and 3.1" in output
    assert "swagger2openapi" in output  # what to do with a Swagger 2.0 document (Kinto's)
    code, output, _ = init(tmp_path, {"openapi": "3.1.0", "paths": {"/x": {"get": {}}}})
    assert code == 2
    assert "info" in output


def test_metrics_series_guessed_by_their_usual_names() -> None:
    from monitor.openapi.metrics import guess_metrics, series_names

    text = (
        "# HELP x\nprocess_resident_memory_bytes 1.0\nreference_db_pool_size 5\n"
        'reference_db_pool_in_use{db="a"} 1\nreference_db_pool_waiting 0\n'
        "reference_tx_retries_total 3\nhttp_requests_total 9\n"
    )
    assert guess_metrics(series_names(text)) == {
        "rss_bytes": "process_resident_memory_bytes",
        "db_pool_size": "reference_db_pool_size",
        "db_pool_in_use": "reference_db_pool_in_use",
        "db_pool_waiting": "reference_db_pool_waiting",
        "tx_retries_total": "reference_tx_retries_total",
    }
