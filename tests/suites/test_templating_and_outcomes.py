"""Templates, JMESPath extraction and outcome mapping: pure functions, tested directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.engine import ConcurrentTester, RequestRecord
from monitor.suites.errors import ExpressionError
from monitor.suites.expressions.templates import compile_template, params_used, render
from monitor.suites.loading.loader import load_profile
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.profile.models import OutcomeRule
from monitor.suites.profile.outcomes import classify, parse_prometheus
from monitor.suites.results.history import Outcome
from monitor.suites.run.call import Session
from monitor.suites.run.client import ProfileClient

CTX = {
    "params": {"amount": 300, "n": 3},
    "session": {"token": "T0K"},
    "task_id": "t-1",
    "state": {"tasks": [{"id": "a"}, {"id": "b"}]},
    "if_match": None,
}


def test_a_whole_template_keeps_its_type_and_strings_interpolate() -> None:
    template = compile_template(
        {
            "amount": "${params.amount}",
            "path": "/tasks/{task_id}/complete",
            "auth": "Bearer ${session.token}",
            "double": "${params.amount * 2}",
            "ids": "${state.tasks.map(t, t.id)}",
            "first": "${state.tasks[1].id}",
            "literal": 7,
        }
    )
    assert template.render(CTX) == {
        "amount": 300,
        "path": "/tasks/t-1/complete",
        "auth": "Bearer T0K",
        "double": 600,
        "ids": ["a", "b"],
        "first": "b",
        "literal": 7,
    }


def test_an_absent_optional_value_makes_the_whole_string_absent() -> None:
    assert compile_template('"{if_match}"').render(CTX) is None
    assert compile_template('"{if_match}"').render({**CTX, "if_match": 4}) == '"4"'


def test_template_errors_are_clear() -> None:
    with pytest.raises(ExpressionError, match="no value at 'nope'"):
        compile_template("${state.nope.x}").render(CTX)
    with pytest.raises(ExpressionError, match="invalid"):
        compile_template("${params.n +}")
    assert params_used({"a": "${params.x + params.y}", "b": ["{params.z}"]}) == {"x", "y", "z"}


RULES = [
    OutcomeRule(when="code == `50001`", outcome="commit_unknown", unknown=True),
    OutcomeRule(
        when="code != null && code != `0`",
        outcome_from="to_string(code)",
        map={"40901": "insufficient_points"},
    ),
    OutcomeRule(status=503, when="error == 'retry_later'", outcome="retry_later"),
    OutcomeRule(status="5xx", outcome="server_error", unknown=True),
    OutcomeRule(status=[409, 412], outcome_from="error"),
]


@pytest.mark.parametrize(
    ("status", "body", "code", "unknown"),
    [
        (200, {"code": 0, "data": {}}, "ok", False),
        (200, {"code": 40901, "data": None}, "insufficient_points", False),
        (200, {"code": 40999}, "40999", False),
        (200, {"code": 50001}, "commit_unknown", True),
        (503, {"error": "retry_later"}, "retry_later", False),
        (500, None, "server_error", True),
        (409, {"error": "already_set"}, "already_set", False),
        (412, {"error": "version_conflict"}, "version_conflict", False),
        (404, {"error": "not_found"}, "error", False),
        (201, None, "ok", False),
    ],
)
def test_outcome_rules(status: int, body: object, code: str, unknown: bool) -> None:
    verdict = classify(RULES, status, body)
    assert (verdict.code, verdict.unknown) == (code, unknown)


def test_prometheus_text_is_summed_per_metric() -> None:
    text = (
        "# HELP x y\n# TYPE reference_db_pool_in_use gauge\n"
        "reference_db_pool_in_use 2.0\n"
        'reference_tx_retries_total{cause="deadlock"} 3\n'
        'reference_tx_retries_total{cause="serialization"} 1\n'
        "process_resident_memory_bytes 1.5e+07\n"
    )
    assert parse_prometheus(text) == {
        "reference_db_pool_in_use": 2.0,
        "reference_tx_retries_total": 4.0,
        "process_resident_memory_bytes": 1.5e7,
    }


def _record(
    status: int | None, body: bytes = b"", *, error: str | None = None, sent: bool = True
) -> RequestRecord:
    return RequestRecord(
        name="x", method="POST", url="http://t/x", started_at=0.0, start=10.0,
        intended_start=None, duration_ms=5.0, status=status, bytes_received=len(body),
        error=error, error_kind="timeout" if error else None, sent=sent, body=body,
    )  # fmt: skip


async def test_the_reference_profile_builds_requests_and_reads_answers() -> None:
    profile = load_profile(builtin_profiles()["reference"]).profile
    async with ConcurrentTester("http://127.0.0.1:9") as tester:
        client = ProfileClient(profile, tester)
        alice = Session("alice", {"token": "tok"})
        spec = client.build("tasks.update", {"task_id": "t1", "if_match": 3, "title": "x"}, alice)
        assert (spec.method, spec.path, spec.json) == ("PATCH", "/tasks/t1", {"title": "x"})
        assert spec.headers == {"Authorization": "Bearer tok", "If-Match": '"3"'}
        listing = client.build("tasks.list", {"include_deleted": True}, alice)
        assert listing.path == "/tasks?include_deleted=true"
        assert client.build("tasks.list", {}, alice).path == "/tasks"

        ok = client.interpret(
            "points.balance", {}, alice,
            _record(200, b'{"balance": 5, "transaction_count": 1, "extra": 1}'),
        )  # fmt: skip
        assert (ok.outcome, ok.code, ok.value) == (
            Outcome.OK,
            "ok",
            {"balance": 5, "transaction_count": 1},
        )
        refused = client.interpret(
            "points.deduct", {"amount": 1}, alice, _record(409, b'{"error": "insufficient_points"}')
        )
        assert (refused.outcome, refused.code, refused.value) == (
            Outcome.FAILED,
            "insufficient_points",
            None,
        )
        timeout = client.interpret(
            "points.add", {"amount": 1}, alice, _record(None, error="timeout")
        )
        assert (timeout.outcome, timeout.code, timeout.completed_at) == (
            Outcome.UNKNOWN,
            "transport",
            None,
        )
        never = client.interpret(
            "points.add", {"amount": 1}, alice, _record(None, error="refused", sent=False)
        )
        assert never.outcome is Outcome.FAILED

        bob = Session("bob")
        client.interpret(
            "register", {"username": "bob"}, bob, _record(201, b'{"user_id": "u", "token": "k"}')
        )
        assert bob.values == {"user_id": "u", "token": "k"}
        op = ok.to_op(7)
        assert (op.id, op.process, op.kind, op.outcome) == (
            7,
            "alice",
            "points.balance",
            Outcome.OK,
        )
        assert client.missing(["points.balance", "points.teleport"]) == ["points.teleport"]


def test_the_example_profiles_parse() -> None:
    for path in builtin_profiles().values():
        assert load_profile(Path(path)).profile.operations


def test_templates_accept_braces_and_cel_map_and_list_literals() -> None:
    ctx = {"params": {"x": 5}, "args": {"q": "y"}, "task_id": 7}
    assert render('${ {"a": params.x, "b": [1, 2]} }', ctx) == {"a": 5, "b": [1, 2]}
    assert render("${ [params.x, 2].map(v, v * 2) }", ctx) == [10, 4]
    assert render('/tasks/{task_id}?q=${"}" + args.q}', ctx) == "/tasks/7?q=}y"
    assert render("{}", ctx) == "{}"  # not a token: left as it is


def test_an_absent_argument_is_tested_naturally_with_null() -> None:
    template = "${args.limit == null ? 50 : args.limit}"
    assert render(template, {"args": {"limit": None}}) == 50
    assert render(template, {"args": {"limit": 7}}) == 7  # celpy alone: "no such overload"
    assert render("${args.limit != null}", {"args": {"limit": 7}}) is True


async def test_basic_auth_user_name_is_shown_when_the_profile_says_it_is_public() -> None:
    """Kinto's profile: HTTP Basic built from session.username; the name is no secret."""
    path = Path(__file__).parents[2] / "scenarios" / "examples" / "kinto-profile.yaml"
    profile = load_profile(path).profile
    async with ConcurrentTester("http://127.0.0.1:9") as tester:
        client = ProfileClient(profile, tester)
        alice = Session("alice", {"username": "al", "password": "pw", "token": "t"})
        spec = client.build("records.get", {"bucket": "b", "collection": "c", "id": "1"}, alice)
        assert spec.headers["Authorization"] == "Basic YWw6c29hay1QYXNzdzByZA=="
        assert client.public(alice.values) == {"username": "al"}  # password, token hidden
        auth = profile.auth.model_copy(update={"public": []})
        hidden = ProfileClient(profile.model_copy(update={"auth": auth}), tester)
        assert hidden.public(alice.values) == {}  # what auth is built from stays hidden
