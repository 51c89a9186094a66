"""Generate packages in tests and exercise them in a fresh interpreter.

``generate(...)`` runs the CLI in-process, as a user runs it (ruff, then the import check in
two fresh interpreters); ``build(...)`` runs the same command in-process without those
subprocesses (:data:`generator.verify.IN_PROCESS`: unformatted output, no import check), for
tests whose subject is what is generated, not the formatting or the import check (they import
and call the package themselves); ``exercise(src, spec)`` imports a generated package
from ``src`` in a subprocess and calls every operation (sync and async) through
``httpx.MockTransport``, checking that each sends exactly one request with its method and path,
and that ``OPERATIONS`` holds every operationId of the spec.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from generator.cli import main
from generator.verify import IN_PROCESS


def generate(*args: str) -> Result:
    """``klaviyo-codegen generate ARGS`` in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(main, ["generate", *args])


def build(*args: str) -> Result:
    """``klaviyo-codegen generate ARGS`` in-process without ruff and the import check: the same
    output as ``generate --no-format ARGS`` (same messages, exit codes and files), with no
    subprocess."""
    return invoke(["generate", *args])


def one_error(result: Result) -> str:
    """The one line a refused CLI run (exit 2, no traceback) wrote to stderr."""
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line: str = lines[0]
    assert "internal error" not in line, line
    return line


def invoke(args: Sequence[str], **kwargs: Any) -> Result:
    """``klaviyo-codegen ARGS`` in-process (``CliRunner.invoke`` keywords allowed), where
    ``generate`` and ``check`` render without ruff and the import check: ``check`` then
    compares with what :func:`build` writes."""
    return CliRunner().invoke(main, list(args), obj=IN_PROCESS, **kwargs)


# Runs in a subprocess: argv = [spec path]; prints one JSON report. It starts with
# tests/support/bodies.py (the smallest valid body of each operation: the client checks every
# body before sending it), since only the generated package is on that interpreter's path.
_EXERCISE_CALLS = r"""
import asyncio, datetime, gc, json, re, sys, warnings
import httpx
import klaviyo_client

spec = json.load(open(sys.argv[1], encoding="utf-8"))
ids = {
    op["operationId"]
    for item in spec["paths"].values()
    for op in item.values()
    if isinstance(op, dict) and "operationId" in op
}
seen = []

def answer(request):
    seen.append(request)
    return httpx.Response(200, json={}, headers={"content-type": "application/vnd.api+json"})

def value(param):
    if param.choices:
        first = param.choices[0]
        return [first] if param.csv or param.multi else first
    kind = param.kind
    one = {
        "int": 1,
        "number": 1.5,
        "bool": True,
        "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        "date": datetime.date(2024, 1, 2),
        "object": {"k": "v"},
    }.get(kind, "x1")
    return [one] if (param.csv or param.multi) and kind != "object" else one

def call_args(op):
    args = [value(p) for p in op.params if p.location == "path"]
    if op.body_required:
        args.append(minimal_body(op))
    kwargs = {p.name: value(p) for p in op.params if p.location != "path" and p.required}
    return args, kwargs

def expected_path(op):
    pattern = re.escape(op.path)
    for p in op.params:
        if p.location == "path":
            pattern = pattern.replace(re.escape("{" + p.wire + "}"), "[^/]+")
    return re.compile(pattern + "$")

problems = []
packages = [klaviyo_client]
try:
    import klaviyo_client.legacy as legacy
    packages.append(legacy)
except ImportError:
    pass
warnings.simplefilter("ignore", DeprecationWarning)
# What lives now (the modules, the parsed spec) lives to the end: set it
# apart from the cyclic collector, whose full passes would walk it again and again (cycles
# made from here on are collected as before)
gc.freeze()
calls = 0
# one event loop for every async call (each call still its own run_until_complete)
runner = asyncio.Runner()
for package in packages:
    client_name = "KlaviyoLegacy" if package is not klaviyo_client else "Klaviyo"
    # every operation twice in a row: callability, not pacing (no rate limiter)
    sync = getattr(package, client_name)(
        api_key="pk_test", transport=httpx.MockTransport(answer), rate_limiter=None
    )
    aclient = getattr(package, "Async" + client_name)(
        api_key="pk_test", transport=httpx.MockTransport(answer), rate_limiter=None
    )
    async def run_async(op, args, kwargs):
        method = getattr(getattr(aclient, op.resource), op.name)
        return await method(*args, **kwargs)
    for op in package.OPERATIONS.values():
        args, kwargs = call_args(op)
        for mode in ("sync", "async"):
            before = len(seen)
            try:
                if mode == "sync":
                    getattr(getattr(sync, op.resource), op.name)(*args, **kwargs)
                else:
                    runner.run(run_async(op, args, kwargs))
            except Exception as exc:
                problems.append(f"{op.id} ({mode}): {type(exc).__name__}: {exc}"[:300])
                continue
            calls += 1
            sent = seen[before:]
            if len(sent) != 1:
                problems.append(f"{op.id} ({mode}): sent {len(sent)} requests")
                continue
            request = sent[0]
            if request.method != op.method:
                problems.append(f"{op.id} ({mode}): sent {request.method}, not {op.method}")
            raw = request.url.raw_path.decode("ascii").split("?")[0]
            if not any(expected_path(op).search(p) for p in (request.url.path, raw)):
                problems.append(f"{op.id} ({mode}): path {raw} is not {op.path}")
        for name in op.aliases:
            if not callable(getattr(getattr(sync, op.resource), name)):
                problems.append(f"{op.id}: alias {name} is not callable")
    sync.close()
runner.close()
print(json.dumps({
    "operations": sorted(klaviyo_client.OPERATIONS),
    "missing": sorted(ids - set(klaviyo_client.OPERATIONS)),
    "extra": sorted(set(klaviyo_client.OPERATIONS) - ids),
    "revision": klaviyo_client.REVISION,
    "version": klaviyo_client.__version__,
    "legacy": len(packages[1].OPERATIONS) if len(packages) > 1 else 0,
    "calls": calls,
    "problems": problems,
}))
"""
EXERCISE = (Path(__file__).parent / "bodies.py").read_text(encoding="utf-8") + _EXERCISE_CALLS


def run_python(src: Path, code: str, *args: str, timeout: float = 300) -> str:
    """Run ``code`` in a fresh interpreter with only ``src`` (a generated package) on the path;
    return its stdout (the test fails on a non-zero exit)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(src)
    proc = subprocess.run(
        [sys.executable, "-B", "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def exercise(src: Path, spec: Path) -> dict[str, Any]:
    """Call every operation of the package under ``src`` (see :data:`EXERCISE`)."""
    report: dict[str, Any] = json.loads(run_python(src, EXERCISE, str(spec)).splitlines()[-1])
    return report
