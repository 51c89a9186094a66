"""Helpers for the process-shape tests: a real ``os.fork()``, echo answers, error-tracker walks.

The fork helper runs the same calls in the parent and in a forked child at the same time and
collects, from each, how many answers were the caller's own, someone else's (mismatched) or an
error (by class name). The child reports through a pipe and always ends with ``os._exit``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

from tests.runtime.pipeline_support import profile_doc
from tests.support.loopback import RecordedRequest, Respond

Tally = dict[str, Any]
CHILD_LIMIT = 60.0  # seconds a forked child may run before it is killed (it never should)


def echo(request: RecordedRequest) -> Respond:
    """Answer ``GET /api/profiles/<id>`` with the profile ``<id>``: who asked is visible."""
    ident = request.path.rstrip("/").rsplit("/", 1)[-1]
    return Respond(200, json=profile_doc(ident))


def new_tally() -> Tally:
    return {"own": 0, "mismatched": 0, "errors": []}


def count(tally: Tally, asked: str, got: str | BaseException) -> None:
    if isinstance(got, BaseException):
        tally["errors"].append(type(got).__name__)
    elif got == asked:
        tally["own"] += 1
    else:
        tally["mismatched"] += 1


def in_parent_and_child(run: Callable[[str], Tally]) -> tuple[Tally, Tally]:
    """``run("parent")`` here and ``run("child")`` in a forked child, both at once."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running any of the parent's cleanup
        code = 0
        try:
            os.close(reader)
            report = json.dumps(run("child")).encode()
        except BaseException as exc:
            report = json.dumps({"crash": repr(exc)}).encode()
            code = 1
        finally:
            with contextlib.suppress(BaseException):
                os.write(writer, report)
            os._exit(code)
    os.close(writer)
    try:
        parent = run("parent")
    finally:
        child = _collect(pid, reader)
    return parent, child


def _collect(pid: int, reader: int) -> Tally:
    chunks: list[bytes] = []
    end = time.monotonic() + CHILD_LIMIT
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > end:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.02)
    while chunk := os.read(reader, 65536):
        chunks.append(chunk)
    os.close(reader)
    text = b"".join(chunks)
    return json.loads(text) if text else {"crash": "the child reported nothing"}


# -- what an error tracker records ----------------------------------------------------------------


def tracked_texts(error: BaseException) -> Iterator[tuple[str, str]]:
    """(where, text) for everything an error tracker records of *error*, as Sentry does by
    default: the error and every ``__cause__``/``__context__`` (message, args, attributes) and
    the local variables of every frame of every traceback in that chain, containers walked,
    other values as their ``repr``; exceptions met anywhere are walked the same way."""
    seen: set[int] = set()
    todo: list[tuple[str, Any, int]] = [("error", error, 0)]
    while todo:
        where, value, depth = todo.pop()
        if depth > 40 or id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, BaseException):
            yield where, str(value)
            todo.append((f"{where}.args", value.args, depth + 1))
            with contextlib.suppress(TypeError):
                todo.append((f"{where}.vars", dict(vars(value)), depth + 1))
            tb = value.__traceback__
            while tb is not None:
                frame = tb.tb_frame
                todo.append((f"{where} frame {frame.f_code.co_name}", frame.f_locals, depth + 1))
                tb = tb.tb_next
            todo.append((f"{where}.__cause__", value.__cause__, depth + 1))
            todo.append((f"{where}.__context__", value.__context__, depth + 1))
        elif isinstance(value, dict):
            for key, item in list(value.items()):
                todo.append((where, key, depth + 1))
                todo.append((f"{where}[{key!r}]", item, depth + 1))
        elif isinstance(value, list | tuple | set | frozenset):
            todo.extend((where, item, depth + 1) for item in list(value))
        elif value is not None:
            try:
                yield where, repr(value)
            except Exception:  # a repr that fails shows nothing
                continue


def secret_shown(error: BaseException, secret: str) -> list[str]:
    """Where *secret* shows in what an error tracker records of *error*."""
    return [where for where, text in tracked_texts(error) if secret in text]
