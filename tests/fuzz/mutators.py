"""Mutations of YAML documents: text-level, structure-level, expression-level and adversarial.

Every function takes a ``random.Random`` and returns new text; none can fail (a mutation that
does not apply returns a different one's result), so a run of N inputs is N validations.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import yaml

# -- adversarial values (YAML text), each one a crash class found before or a close relative --


def _alias_bomb(rng: random.Random) -> str:
    width, depth = rng.randint(5, 10), rng.randint(6, 10)
    lines = [f"&l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, depth):
        lines.append(f"&l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "[" + ", ".join(lines) + "]"


def _deep(rng: random.Random) -> str:
    n = rng.choice([200, 1000, 3000, 20000])
    open_, close = rng.choice([("[", "]"), ("{a: ", "}")])
    return open_ * n + "1" + close * n


def _deep_cel(rng: random.Random) -> str:
    n = rng.choice([300, 1000, 5000])
    body = rng.choice(
        [
            "(" * n + "1" + ")" * n,
            "-" * n + "1",
            "!" * n + "true",
            "[" * n + "]" * n,
            " + ".join(["1"] * n),
            "params" + ".a" * n,
            "size(" * n + "params" + ")" * n,
        ]
    )
    return f'"${{{body}}}"'


def _deep_jmespath(rng: random.Random) -> str:
    n = rng.choice([300, 1000, 5000])
    body = rng.choice(["a" + ".a" * n, "[" * n + "]" * n, "(" * n + "a" + ")" * n, "!" * n + "a"])
    return f'"{body}"'


def _dollar_run(rng: random.Random) -> str:
    return '"' + rng.choice(["${", "${ {", "{${", "${'"]) * rng.choice([100, 5000, 15000]) + '"'


def _long(rng: random.Random) -> str:
    return '"' + rng.choice("ax{$") * rng.choice([5000, 200_000]) + '"'


def rng_date(rng: random.Random) -> str:
    return f"{rng.randint(0, 9999):04d}-{rng.randint(0, 19):02d}-{rng.randint(0, 39):02d}"


ADVERSARIAL: list[Callable[[random.Random], str]] = [
    lambda r: "2024-02-30",
    rng_date,
    lambda r: "!!float abc",
    lambda r: "!!bool maybe",
    lambda r: "!!int 0xZZ",
    lambda r: "!!timestamp 2024-13-45",
    lambda r: "!!binary '###'",
    lambda r: "!!python/object/apply:os.system ['true']",
    lambda r: "!!set {a, b}",
    lambda r: "!!omap [a: 1, a: 2]",
    lambda r: "!!str",
    lambda r: "!custom 1",
    lambda r: "&a [*a]",
    lambda r: "&a {x: *a}",
    lambda r: "*undefined",
    _alias_bomb,
    _deep,
    _deep_cel,
    _deep_jmespath,
    _dollar_run,
    _long,
    lambda r: str(2**63),
    lambda r: str(-(2**63) - 1),
    lambda r: str(2**64),
    lambda r: "1" + "0" * r.choice([30, 400, 5000]),
    lambda r: "1e400",
    lambda r: ".nan",
    lambda r: "-.inf",
    lambda r: '"2024-02-30T10:00:00Z"',
    lambda r: '"9999-12-31T23:59:60Z"',
    lambda r: '"0000-01-01T00:00:00Z"',
    lambda r: '"${9223372036854775807 + 1}"',
    lambda r: '"${params.x"',
    lambda r: '"${}"',
    lambda r: '"${ {"a": 1}.b }"',
    lambda r: '"${1/0}"',
    lambda r: '"${timestamp(\\"2024-02-30T00:00:00Z\\")}"',
    lambda r: '"${duration(\\"99999999999999h\\")}"',
    lambda r: '"* * * * * *"',
    lambda r: '"61 25 32 13 8"',
    lambda r: '"*/0 * * * *"',
    lambda r: '"1-99999999999 * * * *"',
    lambda r: '"@reboot"',
    lambda r: "-5m",
    lambda r: "99999999999999999999h",
    lambda r: '"1e308s"',
    lambda r: '"5x"',
    lambda r: '"1h1h1h"',
    lambda r: '"\\u0000"',
    lambda r: '"\\x01\\x7f\\ud800"',
    lambda r: "\x01",
    lambda r: "\x00",
    lambda r: "\ufeff",
    lambda r: "\t",
    lambda r: '{"a\\nb": 1}',
    lambda r: "{? [a, b]: 1}",
    lambda r: "{? {a: 1}: 1}",
    lambda r: "[a, b",
    lambda r: "'unterminated",
    lambda r: "%TAG ! tag:x,2000:",
    lambda r: "|-\n  multi\n  line",
    lambda r: "null",
    lambda r: "~",
    lambda r: "[]",
    lambda r: "{}",
    lambda r: "true",
    lambda r: "0x1F",
    lambda r: "0o777",
    lambda r: "1_000",
    lambda r: "2001-12-14t21:59:43.10-05:00",
]


# -- expressions: ${...} templates, CEL, JMESPath, cron, durations ------------------------------

_NAMES = ["params", "args", "session", "state", "saved", "ops", "vu", "iteration", "x", "_"]
_CEL_OPS = ["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||", "in"]


def cel_expr(rng: random.Random, depth: int = 0) -> str:
    """A random CEL-like expression (often valid, sometimes not)."""
    if depth > 4 or rng.random() < 0.3:
        return rng.choice(
            [
                str(rng.choice([0, 1, -1, 2**63 - 1, 2**63, 2**64, 10**30])),
                rng.choice(["1.5", "1e308", "1e400", "-0.0", "true", "null", '"s"', "b'x'"]),
                rng.choice(_NAMES) + "".join(f".{rng.choice(_NAMES)}" for _ in range(3)),
                '"2024-02-30T00:00:00Z"',
            ]
        )
    form = rng.randrange(6)
    a, b = cel_expr(rng, depth + 1), cel_expr(rng, depth + 1)
    if form == 0:
        return f"{a} {rng.choice(_CEL_OPS)} {b}"
    if form == 1:
        return f"{a} ? {b} : {cel_expr(rng, depth + 1)}"
    if form == 2:
        fn = rng.choice(["size", "int", "double", "string", "timestamp", "duration", "has"])
        return f"{fn}({a})"
    if form == 3:
        macro = rng.choice(["all", "exists", "map", "filter", "exists_one"])
        return f"[{a}, {b}].{macro}(x, {cel_expr(rng, depth + 1)})"
    if form == 4:
        return f"{{{a}: {b}}}"
    return f"({a})[{b}]"


def jmespath_expr(rng: random.Random) -> str:
    return rng.choice(
        [
            "data.{a: b, c: d[0]}",
            "data[?x > `1`].y | [0]",
            "to_string(code)",
            "code != null && code != `0`",
            "a." * rng.randint(1, 40) + "b",
            "[" * rng.randint(1, 50),
            "`" + "{" * rng.randint(1, 50),
            "length(@) > `9223372036854775808`",
            "sort_by(@, &a)",
            "'" + "x" * rng.randint(0, 50),
            "foo[:" + str(2**64) + "]",
        ]
    )


def cron_expr(rng: random.Random) -> str:
    field = ["*", "*/5", "0-59", "1,2,3", "?", "L", "99", "-1", "*/0", "a-b", "7/1", str(2**64)]
    return " ".join(rng.choice(field) for _ in range(rng.choice([4, 5, 5, 5, 6])))


def duration(rng: random.Random) -> str:
    unit = rng.choice(["", "s", "m", "h", "ms", "d", "w", "x", "ns"])
    num = rng.choice(["0", "1", "-1", "1.5", "1e9", "1e400", "nan", "inf", str(2**70), ""])
    return f"{num}{unit}" * rng.choice([1, 1, 2])


def template(rng: random.Random) -> str:
    parts = [
        rng.choice(["", "/x/", "Bearer ", "{", "}", "${", "$", "{a}", "{task_id}"])
        for _ in range(rng.randint(0, 3))
    ]
    parts.insert(rng.randint(0, len(parts)), "${" + cel_expr(rng) + "}")
    return "".join(parts)


EXPRESSIONS: list[Callable[[random.Random], str]] = [
    cel_expr,
    jmespath_expr,
    cron_expr,
    duration,
    template,
]


def _quoted(text: str) -> str:
    return yaml.safe_dump(text, default_style='"', width=1_000_000).strip().removesuffix("...")


# -- mutations -------------------------------------------------------------------------------

_VALUE = re.compile(r"^(?P<head>\s*(?:- )?[\w.\-]+:\s)(?P<value>\S.*)$")


def _value_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if _VALUE.match(line)]


def replace_value(text: str, rng: random.Random, value: str) -> str:
    """Replace the value of one ``key: value`` line with ``value`` (YAML text)."""
    lines = text.split("\n")
    candidates = _value_lines(lines)
    if not candidates:
        return text + "\n" + f"x: {value}"
    i = rng.choice(candidates)
    m = _VALUE.match(lines[i])
    assert m is not None
    lines[i] = m.group("head") + value
    return "\n".join(lines)


def adversarial(text: str, rng: random.Random) -> str:
    return replace_value(text, rng, rng.choice(ADVERSARIAL)(rng))


def expression(text: str, rng: random.Random) -> str:
    """Replace a template, CEL, JMESPath, cron or duration value with a generated one (the same
    kind when the line looks like one, else any kind)."""
    lines = text.split("\n")
    wanted = [
        (i, kind)
        for i, line in enumerate(lines)
        for kind, pattern in (
            (template, r"\$\{|\{\w+\}"),
            (jmespath_expr, r"extract|when|outcome_from|session:|token:"),
            (cron_expr, r"cron:"),
            (duration, r"every:|timeout:|jitter:|window:|_s:|recover_within|grace_period"),
            (cel_expr, r"expr:|where:|cel:"),
        )
        if re.search(pattern, line) and _VALUE.match(line)
    ]
    if wanted:
        i, kind = rng.choice(wanted)
    else:
        candidates = _value_lines(lines)
        if not candidates:
            return text
        i, kind = rng.choice(candidates), rng.choice(EXPRESSIONS)
    m = _VALUE.match(lines[i])
    assert m is not None
    lines[i] = m.group("head") + _quoted(kind(rng))
    return "\n".join(lines)


_NOISE = list(":- \n\t{[&*!|>'\"#%@`\x01\x7f\u2028\ufeffé\\")


def text_noise(text: str, rng: random.Random) -> str:
    """Byte-level damage: delete, duplicate, swap, insert characters or lines, truncate."""
    form = rng.randrange(7)
    if not text:
        return rng.choice(["", "\x00", ":"])
    pos = rng.randrange(len(text))
    if form == 0:
        return text[:pos] + text[pos + rng.randint(1, 20) :]
    if form == 1:
        ch = rng.choice(_NOISE)
        return text[:pos] + ch + text[pos:]
    lines = text.split("\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if form == 2:
        lines.insert(j, lines[i])
    elif form == 3:
        lines[i], lines[j] = lines[j], lines[i]
    elif form == 4:
        del lines[i]
    elif form == 5:
        lines[i] = " " * rng.randint(1, 4) + lines[i]
    else:
        return text[:pos]
    return "\n".join(lines)


_KEY_TYPOS = {"targets": "target", "scenarios": "scenario", "operations": "operation"}


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    form = rng.randrange(9 if depth < 3 else 7)
    if form == 0:
        return None
    if form == 1:
        return rng.choice([True, False])
    if form == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 2**64, 10**40])
    if form == 3:
        return rng.choice([0.5, -0.0, 1e308, float("inf"), float("nan")])
    if form == 4:
        return rng.choice(["", "x", "a\nb", "ü" * 3, "x" * 1000, "${params.x}", "{y}"])
    if form == 5:
        return rng.choice(EXPRESSIONS)(rng)
    if form == 6:
        return rng_date(rng)
    if form == 7:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        rng.choice(["name", "op", "x", "a\nb", "", "1"]): _random_value(rng, depth + 1)
        for _ in range(rng.randint(0, 3))
    }


def _nodes(data: Any) -> list[tuple[Any, ...]]:
    """Paths of every node (iterative; a self-referencing or very deep document is cut)."""
    out: list[tuple[Any, ...]] = []
    todo: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while todo and len(out) < 5000:
        path, node = todo.pop()
        out.append(path)
        if len(path) > 50:
            continue
        if isinstance(node, dict):
            todo.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            todo.extend(((*path, i), v) for i, v in enumerate(node))
    return out


def structure(text: str, rng: random.Random) -> str:
    """Parse, change one node (replace, delete, retype, rename a key), dump again."""
    try:
        data = yaml.safe_load(text)
    except (Exception, RecursionError):
        return text_noise(text, rng)
    nodes = [p for p in _nodes(data) if p]
    if not nodes:
        return text_noise(text, rng)
    path = rng.choice(nodes)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    form = rng.randrange(4)
    if form == 0:
        parent[last] = _random_value(rng)
    elif form == 1:
        del parent[last]
    elif form == 2 and isinstance(parent, dict):
        key = _KEY_TYPOS.get(str(last)) or rng.choice(
            [str(last) + "s", str(last)[:-1], str(last).upper(), "a\nb", ""]
        )
        parent[key] = parent.pop(last)
    else:
        value = parent[last]
        parent[last] = [value] if not isinstance(value, list) else {"x": value}
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)
    except (Exception, RecursionError):
        return text_noise(text, rng)


MUTATIONS: list[Callable[[str, random.Random], str]] = [
    text_noise,
    structure,
    adversarial,
    expression,
]


def mutate(text: str, rng: random.Random) -> str:
    """One to three mutations; adversarial and expression ones are picked most often."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        text = rng.choices(MUTATIONS, weights=[2, 3, 3, 3])[0](text, rng)
    return text
