"""Users and sessions for probes: register (and log in) through the guessed operations, then
send the token where the security scheme says (header with prefix, API key, or cookie)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

import jmespath

from monitor.engine import ConcurrentTester, RequestRecord, RequestSpec
from monitor.errors import SoakmonError
from monitor.openapi.auth import AuthPlan, SessionPlan, credentials
from monitor.openapi.model import ApiOperation
from monitor.openapi.values import ValueSource


class ProbeSetupError(SoakmonError):
    """A step a probe needs (a user, a parent resource) did not succeed."""


@dataclass(slots=True)
class User:
    """A registered user: headers that authenticate it, and what its register answer said."""

    username: str
    headers: dict[str, str] = field(default_factory=dict)
    answer: Any = None


def parse(record: RequestRecord) -> Any:
    try:
        return json.loads(record.body or b"")
    except ValueError:
        return None


def text(record: RequestRecord) -> str:
    if record.body is None:
        return record.error or ""
    return record.body.decode("utf-8", "replace")


def fill_path(path: str, values: dict[str, Any]) -> str:
    return re.sub(r"{([^}]+)}", lambda m: quote(str(values[m.group(1)]), safe=""), path)


def with_query(path: str, query: dict[str, Any]) -> str:
    if not query:
        return path
    from urllib.parse import urlencode

    flat = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in query.items()}
    return f"{path}?{urlencode(flat, doseq=True)}"


class Sessions:
    """Creates users through the register / login operations of the document."""

    def __init__(
        self,
        tester: ConcurrentTester,
        *,
        values: ValueSource,
        auth: AuthPlan,
        plan: SessionPlan,
        base_path: str,
        send: Any,
    ) -> None:
        self.tester, self.values, self.auth, self.plan = tester, values, auth, plan
        self.base_path = base_path
        self.send = send
        self.static: dict[str, str] = {}  # --header: sent with every request

    def _body(self, op: ApiOperation, username: str) -> Any:
        drawn = self.values.draw(op.method, op.path, 1)
        body = drawn[0].body if drawn else None
        creds = credentials(op.body, username)
        if isinstance(body, dict):
            return _merge(body, creds)
        return creds or body

    async def _call(self, op: ApiOperation, username: str) -> RequestRecord:
        spec = RequestSpec(
            op.method, self.base_path + op.path, json=self._body(op, username), name=op.label
        )
        record: RequestRecord = await self.send(spec)
        if record.status is None or not 200 <= record.status < 300:
            raise ProbeSetupError(
                f"{op.label} ({op.method} {op.path}) answered "
                f"{record.status or record.error}: {text(record)[:200]}"
            )
        return record

    async def new_user(self) -> User:
        plan = self.plan
        if plan.token_op is None:
            if self.auth.scheme is None or self.static:  # no auth, or given with --header
                return User(f"soak{uuid.uuid4().hex[:10]}", dict(self.static))
            raise ProbeSetupError(
                f"the API requires {self.auth.scheme!r} but no register or login operation "
                "answers a token or sets a cookie: give a session with --header NAME:VALUE"
            )
        username = f"soak{uuid.uuid4().hex[:10]}"
        answer = None
        if plan.register is not None:
            record = await self._call(plan.register, username)
            answer = parse(record)
            if plan.token_op is plan.register:
                return User(username, self._headers(record), answer)
        assert plan.login is not None
        record = await self._call(plan.login, username)
        return User(username, self._headers(record), answer or parse(record))

    def _headers(self, record: RequestRecord) -> dict[str, str]:
        token = None
        if self.plan.token_path:
            found = jmespath.search(self.plan.token_path, parse(record))
            token = str(found) if found is not None else None
        if token is None:
            cookies = SimpleCookie()
            for value in (record.headers or {}).getall("Set-Cookie", []) if record.headers else []:  # type: ignore[attr-defined]
                cookies.load(value)
            name = self.auth.cookie or next(iter(cookies), None)
            if name and name in cookies:
                return {"Cookie": f"{name}={cookies[name].value}"}
            raise ProbeSetupError(
                f"{self.plan.token_op.label if self.plan.token_op else 'login'}: the answer has "
                f"no token at {self.plan.token_path!r} and sets no session cookie"
            )
        return {self.auth.header: self.auth.value(token)}


def _merge(drawn: dict[str, Any], creds: dict[str, Any]) -> dict[str, Any]:
    out = dict(drawn)
    for key, value in creds.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
