"""How requests authenticate (``securitySchemes``) and which operation creates a session.

Every choice here is a guess the drafted profile marks for the user to confirm: the scheme used
by most protected operations, the header and prefix it implies, and the register / login
operations whose answer carries the token (or sets the session cookie).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from monitor.openapi.model import Api, ApiOperation, SecurityScheme

TOKEN_NAMES = (
    "token",
    "access_token",
    "accesstoken",
    "jwt",
    "api_key",
    "apikey",
    "key",
    "session",
    "session_id",
    "sessionid",
    "auth_token",
    "authtoken",
    "id_token",
)
REGISTER_WORDS = (
    "register",
    "signup",
    "sign_up",
    "sign-up",
    "users",
    "user",
    "accounts",
    "account",
    "join",
)
LOGIN_WORDS = (
    "login",
    "log_in",
    "log-in",
    "signin",
    "sign_in",
    "sign-in",
    "session",
    "sessions",
    "token",
    "tokens",
    "authenticate",
)
PASSWORD = "Soak-pass-1234!"


@dataclass(frozen=True, slots=True)
class AuthPlan:
    """Where the session token goes: ``header`` with ``prefix`` + token, or a cookie."""

    scheme: str | None  # the securitySchemes entry, None when the API declares none
    header: str = "Authorization"
    prefix: str = "Bearer "
    cookie: str | None = None  # the cookie name when the token travels as a cookie
    notes: tuple[str, ...] = ()

    def value(self, token: str) -> str:
        return f"{self.cookie}={token}" if self.cookie else f"{self.prefix}{token}"

    @property
    def template(self) -> str:
        """The profile's ``auth.value``."""
        return self.value("${session.token}")


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """The operations that create a session, and where the token is in the answer."""

    register: ApiOperation | None
    login: ApiOperation | None
    token_path: str | None  # JMESPath in the answer of ``token_op`` (None: a cookie)
    token_op: ApiOperation | None
    notes: tuple[str, ...] = field(default=())


def _words(op: ApiOperation) -> set[str]:
    text = f"{op.path} {op.operation_id or ''} {' '.join(op.tags)}".lower()
    return set(re.split(r"[^a-z0-9]+", text)) | {text}


def _prefix(scheme: SecurityScheme) -> tuple[str, str]:
    text = scheme.description
    match = re.search(
        r"['\"`]?(Token|Bearer|JWT)\s*['\"`]?\s*(prefix|followed|\+|<|\{)", text, re.I
    )
    if match is None:
        match = re.search(r"\b(Token|Bearer|JWT)\s+(<|\{|\$|x{3})", text)
    if match is not None:
        word = match.group(1)
        return (
            f"{word[0].upper()}{word[1:]} ",
            f"prefix {word!r} read from the scheme's description",
        )
    return "", "no prefix found in the scheme's description: the raw token is sent"


def plan_auth(api: Api) -> AuthPlan:
    """The scheme most protected operations require, as a header (or cookie) template."""
    used = Counter(name for op in api.operations for name in api.required_schemes(op))
    if not used and not api.schemes:
        return AuthPlan(None, notes=("the document declares no securitySchemes: no session",))
    name = used.most_common(1)[0][0] if used else next(iter(api.schemes))
    scheme = api.schemes.get(name)
    if scheme is None:
        return AuthPlan(name, notes=(f"scheme {name!r} is not in securitySchemes: Bearer assumed",))
    if scheme.type == "http" and scheme.scheme == "bearer":
        return AuthPlan(name, notes=(f"{name}: HTTP bearer",))
    if scheme.type in {"oauth2", "openIdConnect"}:
        return AuthPlan(name, notes=(f"{name}: {scheme.type}, sent as a bearer token",))
    if scheme.type == "apiKey" and scheme.where == "cookie":
        return AuthPlan(name, "Cookie", "", scheme.param, (f"{name}: cookie {scheme.param!r}",))
    if scheme.type == "apiKey" and scheme.where == "header":
        if scheme.param.lower() == "authorization":
            prefix, why = _prefix(scheme)
            return AuthPlan(name, scheme.param, prefix, None, (f"{name}: header, {why}",))
        return AuthPlan(
            name, scheme.param, "", None, (f"{name}: API key in header {scheme.param}",)
        )
    return AuthPlan(
        name,
        notes=(
            f"{name}: {scheme.type} {scheme.scheme or scheme.where} is not supported; "
            "Bearer assumed",
        ),
    )


def find_token(schema: dict[str, Any] | None, path: str = "", depth: int = 0) -> str | None:
    """The JMESPath of a token-like string field in an answer schema."""
    if not isinstance(schema, dict) or depth > 3:
        return None
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or ():
            found = find_token(sub, path, depth)
            if found:
                return found
    props = schema.get("properties") or {}
    for name, prop in props.items():
        if name.lower() in TOKEN_NAMES and "string" in _types(prop):
            return f"{path}{name}"
    for name, prop in props.items():
        found = find_token(prop, f"{path}{name}.", depth + 1)
        if found:
            return found
    return None


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    if kind:
        return {str(kind)}
    out: set[str] = set()
    for sub in schema.get("anyOf") or schema.get("oneOf") or ():
        out |= _types(sub)
    return out or {"string"}


def _sets_cookie(op: ApiOperation, cookie: str | None) -> bool:
    for status, response in op.responses.items():
        if status.startswith("2"):
            headers = {h.lower() for h in (response.get("headers") or {})}
            if "set-cookie" in headers:
                return True
    return cookie is not None


def plan_session(api: Api, auth: AuthPlan) -> SessionPlan:
    """Guess the register and login operations (POSTs that need no session)."""
    open_posts = [
        op for op in api.operations if op.method == "POST" and not api.required_schemes(op)
    ]
    candidates = open_posts or [op for op in api.operations if op.method == "POST"]

    def score(op: ApiOperation, words: tuple[str, ...]) -> int:
        found = _words(op)
        hits = sum(3 if w in found else 0 for w in words)
        return hits + (2 if find_token(op.response_schema()) else 0) if hits else 0

    def best(words: tuple[str, ...]) -> ApiOperation | None:
        ranked = sorted(candidates, key=lambda op: -score(op, words))
        return ranked[0] if ranked and score(ranked[0], words) > 0 else None

    login = best(LOGIN_WORDS)
    register = best(REGISTER_WORDS)
    if register is login:
        register = None if login and _words(login) & set(LOGIN_WORDS) else register
        login = None if register else login
    notes: list[str] = []
    for op in (register, login):
        if op is None:
            continue
        token = find_token(op.response_schema())
        if token:
            notes.append(f"{op.label}: the token is the answer's {token}")
            return SessionPlan(register, login, token, op, tuple(notes))
    for op in (login, register):
        if op is not None and _sets_cookie(op, auth.cookie):
            notes.append(f"{op.label}: the session is the cookie it sets")
            return SessionPlan(register, login, None, op, tuple(notes))
    if auth.scheme is not None:
        notes.append("no register or login operation answers a token: sessions need your input")
    return SessionPlan(register, login, None, None, tuple(notes))


def credentials(schema: dict[str, Any] | None, username: str) -> dict[str, Any]:
    """A register / login body from the fields its schema names (username, email, password)."""
    body: dict[str, Any] = {}
    props = (schema or {}).get("properties") or {}
    for name, prop in props.items():
        if "object" in _types(prop) and prop.get("properties"):
            body[name] = credentials(prop, username)
            continue
        low = name.lower()
        if "mail" in low:
            body[name] = f"{username}@example.com"
        elif "pass" in low:
            body[name] = PASSWORD
        elif low in {"username", "user_name", "name", "login", "handle", "user", "nickname"}:
            body[name] = username
    return body
