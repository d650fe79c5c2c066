"""Property-based fuzzing of the live reference target from its own /openapi.json (schemathesis).

No 5xx and no response that contradicts the schema, with an authenticated user. Checks that do
not apply to this API are excluded, each with its reason.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.plugins.api import register

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXCLUDED_CHECKS = {
    # DELETE /tasks/{id} is a soft delete: the task stays readable (is_deleted: true).
    "use_after_free",
}


async def test_fuzzing_finds_no_server_errors_or_schema_violations(
    any_db_reference_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    reference_url = any_db_reference_url
    if not SCHEMATHESIS.exists():
        pytest.fail(f"schemathesis CLI not found at {SCHEMATHESIS}")
    alice = await register(http, reference_url)
    await alice.fund(100_000)  # so that Top3 and deduct can succeed, not only 409
    await alice.new_task("seed")
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", f"{reference_url}/openapi.json",
        "--checks", "all",
        "--exclude-checks", ",".join(sorted(EXCLUDED_CHECKS)),
        "--header", f"Authorization: Bearer {alice.token}",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "15",
        "--seed", "20261124",
        "--workers", "2",
        "--generation-database", "none",
        "--suppress-health-check", "all",
        "--request-timeout", "10",
        "--no-color",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-6000:]
