"""The drafted profile of ``soakmon init --openapi``: one operation per OpenAPI operation,
arguments from parameters and bodies, extractions from answer schemas, outcomes from the
documented status codes, authentication and the session from ``securitySchemes`` and the
register / login operations. Every guess is a ``GUESS:`` comment (pure, text out)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from monitor.openapi.auth import AuthPlan, SessionPlan, credentials, plan_auth, plan_session
from monitor.openapi.document import Document
from monitor.openapi.model import Api, ApiOperation, read_api
from monitor.openapi.naming import builtin_guesses, unique_names, words
from monitor.openapi.outcomes import OutcomePlan, plan_outcomes
from monitor.openapi.refs import HINT, BodyRef, body_refs
from monitor.openapi.yamltext import comment, entry, scalar
from monitor.suites.profile.operations import OPERATIONS

ID_WORDS = ("id", "uuid", "slug", "key", "name", "username", "code")
COLLECTION_FIELDS = ("items", "data", "results", "list", "records", "content", "entries")


@dataclass(slots=True)
class DraftOp:
    """One drafted operation: its profile name and fields, and the comments above it."""

    name: str
    api: ApiOperation
    fields: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    builtin: str | None = None


@dataclass(slots=True)
class Draft:
    """Everything ``init`` decided; ``text`` is the profile file."""

    name: str
    api: Api
    auth: AuthPlan
    session: SessionPlan
    outcomes: OutcomePlan
    ops: list[DraftOp]
    guesses: int = 0
    text: str = ""
    metrics: dict[str, str] | None = None  # read from the target's /metrics (init --target)


def profile_name(title: str) -> str:
    return "-".join(words(title))[:40] or "my-service"


def _body_template(schema: dict[str, Any] | None, required: bool = True) -> Any:
    """``{field: "{field}"}`` for required fields, ``"${args.field}"`` for optional ones."""
    props = (schema or {}).get("properties") or {}
    need = set((schema or {}).get("required") or [])
    out: dict[str, Any] = {}
    for name, prop in props.items():
        if isinstance(prop, dict) and prop.get("readOnly"):
            continue
        if isinstance(prop, dict) and prop.get("properties") and name in need:
            out[name] = _body_template(prop)
            continue
        arg = re.sub(r"[^A-Za-z0-9_]", "_", name)
        out[name] = f"{{{arg}}}" if name in need and required else f"${{args.{arg}}}"
    return out


def _collection_field(schema: dict[str, Any] | None) -> str | None:
    props = (schema or {}).get("properties") or {}
    arrays = [k for k, v in props.items() if isinstance(v, dict) and v.get("type") == "array"]
    for name in COLLECTION_FIELDS:
        if name in arrays:
            return name
    if len(arrays) == 1:
        return str(arrays[0])
    data = props.get("data")
    if isinstance(data, dict) and data.get("type") == "object":
        inner = _collection_field(data)
        return f"data.{inner}" if inner else "data"
    return None


def _path_with(op: ApiOperation, builtin: str | None) -> tuple[str, list[str]]:
    """The path with its parameters; a built-in name's id argument replaces a lone ``{id}``."""
    path, notes = op.path, list[str]()
    if builtin is None or len(op.path_params) != 1:
        return path, notes
    ids = [a for a in OPERATIONS[builtin].args if a.endswith("_id")]
    param = op.path_params[0]
    if len(ids) == 1 and param != ids[0]:
        path = path.replace(f"{{{param}}}", f"{{{ids[0]}}}")
        notes.append(f"GUESS: path parameter {param!r} is the built-in argument {ids[0]!r}")
    return path, notes


def _fits_builtin(op: ApiOperation, builtin: str) -> bool:
    """A built-in name fits when its arguments carry the body: every required body field is
    one of them, and some field is when the body has any."""
    props = (op.body or {}).get("properties") or {}
    if not props:
        return True
    allowed = set(OPERATIONS[builtin].args)
    required = set((op.body or {}).get("required") or [])
    return required <= allowed and bool(set(props) & allowed)


def _keep_builtin_args(fields: dict[str, Any], builtin: str, notes: list[str]) -> None:
    """A built-in operation receives only its own arguments: others are left out (optional)
    or noted (required: the user must give a value)."""
    allowed = set(OPERATIONS[builtin].args)
    for key in ("query", "body", "headers"):
        values = fields.get(key)
        if not isinstance(values, dict):
            continue
        for name, value in list(values.items()):
            arg = re.findall(r"{(?:args\.)?([A-Za-z0-9_]+)}", str(value))
            if arg and arg[0] not in allowed:
                del values[name]
                need = "required: give it a value" if not str(value).startswith("$") else "optional"
                notes.append(f"{key} {name!r} is not an argument of {builtin} ({need})")
        if not values:
            del fields[key]


def _operation(op: ApiOperation, name: str, builtin: str | None, api: Api) -> DraftOp:
    path, notes = _path_with(op, builtin)
    fields: dict[str, Any] = {"method": op.method, "path": path}
    query = {
        p.name: (f"{{{p.name}}}" if p.required else f"${{args.{p.name}}}")
        for p in op.params
        if p.where == "query"
    }
    if query:
        fields["query"] = query
    headers = {
        p.name: f"{{{re.sub(r'[^A-Za-z0-9_]', '_', p.name.lower())}}}"
        for p in op.params
        if p.where == "header" and p.required
    }
    if headers:
        fields["headers"] = headers
    if op.body is not None:
        body = _body_template(op.body)
        if body:
            fields["body"] = body
    if builtin is not None:
        _keep_builtin_args(fields, builtin, notes)
    if not api.required_schemes(op):
        fields["auth"] = False
    if any("text/plain" in m or "openmetrics" in m for m in op.media_types) and (
        "metrics" in op.path
    ):
        fields["format"] = "prometheus"
        notes.append("GUESS: a Prometheus text exposition (text/plain)")
    elif op.method == "GET" and (builtin is None or OPERATIONS[builtin].value.startswith("[")):
        found = _collection_field(op.response_schema())
        if found:
            fields["extract"] = found
            notes.append(f"GUESS: the answer's list is `{found}`")
    if op.method in {"PUT", "PATCH"} and "412" in op.responses:
        notes.append(
            "412 documented: if the service wants If-Match, add "
            "headers: {If-Match: '\"{if_match}\"'}"
        )
    label = op.operation_id or "no operationId"
    summary = f" — {op.summary}" if op.summary else ""
    notes.insert(0, f"{op.method} {op.path} ({label}){summary}")
    if builtin:
        notes.insert(
            1,
            f"GUESS: the built-in {builtin} ({OPERATIONS[builtin].description}); "
            f"rename to {name} if it is not",
        )
    return DraftOp(builtin or name, op, fields, notes, builtin)


def _user_id_path(schema: dict[str, Any] | None, token: str | None) -> str | None:
    """``user_id`` (or ``id``) beside the token in the answer."""
    prefix = token.rsplit(".", 1)[0] + "." if token and "." in token else ""
    node = schema or {}
    for part in filter(None, prefix.rstrip(".").split(".")):
        node = (node.get("properties") or {}).get(part) or {}
    props = node.get("properties") or {}
    for name in ("user_id", "userId", "uid", "id"):
        if name in props:
            return f"{prefix}{name}"
    return None


def _session_ops(
    api: Api, session: SessionPlan, names: dict[ApiOperation, str], auth: AuthPlan
) -> list[DraftOp]:
    """``register`` (creating the user and its session), and the login it needs."""
    out: list[DraftOp] = []
    register, login = session.register, session.login
    token_op = session.token_op
    creds = "{username}"

    def fields_for(op: ApiOperation) -> dict[str, Any]:
        body = credentials(op.body, creds)
        f: dict[str, Any] = {"method": op.method, "path": op.path, "auth": False}
        if body:
            f["body"] = body
        return f

    if token_op is None:
        return out
    keep = {"token": session.token_path} if session.token_path else {}
    user_id = _user_id_path(token_op.response_schema(), session.token_path)
    if keep and user_id:
        keep["user_id"] = user_id
    if register is not None and token_op is register:
        f = fields_for(register)
        if keep:
            f["session"] = keep
        elif auth.cookie:
            f["session_cookies"] = {"token": auth.cookie}
        out.append(
            DraftOp(
                "register",
                register,
                f,
                [
                    f"{register.method} {register.path} ({register.label})",
                    "GUESS (confirm): creates the user and its session; soakmon fills {username}",
                    *session.notes,
                ],
                None,
            )
        )
        return out
    assert login is not None
    login_fields = fields_for(login)
    if keep:
        login_fields["session"] = keep
    elif auth.cookie:
        login_fields["session_cookies"] = {"token": auth.cookie}
    login_name = names[login]
    out.append(
        DraftOp(
            login_name,
            login,
            login_fields,
            [
                f"{login.method} {login.path} ({login.label})",
                "GUESS (confirm): logs in and answers the session",
                *session.notes,
            ],
        )
    )
    steps: list[dict[str, Any]] = []
    if register is not None:
        signup = names[register]
        out.append(
            DraftOp(
                signup,
                register,
                fields_for(register),
                [
                    f"{register.method} {register.path} ({register.label})",
                    "GUESS (confirm): creates the user (no session in its answer)",
                ],
            )
        )
        steps.append({"op": signup, "args": {"username": "${args.username}"}})
    steps.append({"op": login_name, "args": {"username": "${args.username}"}})
    out.append(
        DraftOp(
            "register",
            login,
            {"steps": steps},
            [
                "GUESS (confirm): a user and its session = sign up, then log in",
            ],
        )
    )
    return out


def build_draft(doc: Document, source: str, metrics: dict[str, str] | None = None) -> Draft:
    """Everything ``init`` guesses about the document (text rendered by :func:`render`)."""
    api = read_api(doc.resolved)
    auth = plan_auth(api)
    session = plan_session(api, auth)
    names = unique_names(api.operations)
    guesses = builtin_guesses(api.operations)
    outcomes = plan_outcomes(api, names)
    ops = _session_ops(api, session, names, auth)
    used = {o.api for o in ops}
    taken = {o.name for o in ops}
    for op in api.operations:
        if op in used:
            continue
        builtin = guesses.get(op)
        if builtin in taken or (builtin is not None and not _fits_builtin(op, builtin)):
            builtin = None
        draft_op = _operation(op, names[op], builtin, api)
        refs = body_refs(api, op, session.register or session.login)
        draft_op.notes += [_ref_note(ref) for ref in refs]
        if draft_op.name in outcomes.per_op:
            draft_op.fields["outcomes"] = outcomes.per_op[draft_op.name]
        elif names[op] in outcomes.per_op:
            draft_op.fields["outcomes"] = outcomes.per_op[names[op]]
        taken.add(draft_op.name)
        ops.append(draft_op)
    draft = Draft(profile_name(api.title), api, auth, session, outcomes, ops, metrics=metrics)
    draft.text = render(draft, source, doc.version)
    return draft


_HOW = {"name": "from the field's name", "links": "from the document's links",
        HINT: f"from its {HINT}"}  # fmt: skip


def _ref_note(ref: BodyRef) -> str:
    if ref.op is None:
        who = "the caller's own" if ref.own else "another registered user's"
        source = f"{who} {ref.answer or 'id'} (the register answer)"
    else:
        source = f"the {ref.answer or 'id'} of what {ref.op.method} {ref.op.path} creates"
    return (
        f"GUESS: body field {ref.field!r} references {source}, {_HOW[ref.how]}; the starter "
        "suite creates it first"
    )


def _op_lines(op: DraftOp) -> list[str]:
    lines: list[str] = []
    for note in op.notes:
        lines.extend(comment(note, 2))
    lines.append(f"  {scalar(op.name)}:")
    for key, value in op.fields.items():
        if key == "outcomes":
            lines.append("    outcomes:")
            lines.extend(f"      - {_flow_rule(r)}" for r in value)
        elif key == "steps":
            lines.append("    steps:")
            lines.extend(f"      - {_flow_rule(s)}" for s in value)
        else:
            lines.append(entry(key, value, 4))
    return lines


def _flow_rule(rule: dict[str, Any]) -> str:
    return entry("x", rule)[3:]


def render(draft: Draft, source: str, version: str) -> str:
    """The profile file: header, auth, outcomes, operations (each with its comments)."""
    api, auth = draft.api, draft.auth
    today = dt.datetime.now(dt.UTC).date().isoformat()
    lines = [
        "# Editor schema: `soakmon schema profile`. Validate: `soakmon validate FILE`.",
        f"# Drafted by `soakmon init --openapi {source}` on {today} from "
        f"{api.title or 'the document'!r} (OpenAPI {version}).",
        "# Lines marked GUESS are inferences from the document: confirm or correct each one.",
        f"name: {scalar(draft.name)}",
        entry("description", f"{api.title} (drafted from its OpenAPI document)".strip()),
    ]
    if api.base_path:
        lines.append(entry("base_path", api.base_path, 0, "from servers[0].url"))
    lines.extend(comment("GUESS (confirm): " + "; ".join(auth.notes)))
    lines += ["auth:", entry("header", auth.header, 2), entry("value", auth.template, 2)]
    lines.extend(comment("; ".join(draft.outcomes.notes)))
    lines.append("outcomes:")
    for rule in draft.outcomes.rules:
        note = "a 5xx may or may not have committed" if rule.get("unknown") else None
        lines.append(f"  - {_flow_rule(rule)}" + (f"  # {note}" if note else ""))
    if draft.outcomes.names:
        lines.append("outcome_names:                 # named in the documented error answers")
        lines.extend(entry(k, v, 2) for k, v in sorted(draft.outcomes.names.items()))
    lines.append("operations:")
    for op in draft.ops:
        lines.extend(_op_lines(op))
    if draft.metrics:
        lines.extend(
            comment(
                "GUESS: series read from the target's metrics endpoint, matched by their usual "
                "names; map any other series the checks need"
            )
        )
        lines.append("metrics:")
        lines.extend(entry(k, v, 2) for k, v in draft.metrics.items())
    elif any(op.fields.get("format") == "prometheus" for op in draft.ops):
        lines.extend(
            comment(
                "GUESS: the standard process series of prometheus_client; map the pool and "
                "retry series your target exports (`soakmon init --target URL` reads them)"
            )
        )
        lines += ["metrics:", entry("rss_bytes", "process_resident_memory_bytes", 2)]
    draft.guesses = sum(line.count("GUESS") for line in lines)
    return "\n".join(lines) + "\n"
