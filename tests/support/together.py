"""Tests that each wait out a real rate-limit window, run side by side so that they share the
wait instead of taking a second each, one after the other.

    windows = Together("ratelimit-windows")

    @windows.test
    def test_threads_draw_no_429() -> None:   # the test as written: calls, then assertions
        ...

Each decorated function stays a test of its own (its name, its parameters, its outcome: an
assertion that fails in it fails that test, a skip skips it). When the first of them runs, every
selected test of the group runs at once, each in a thread of its own (a coroutine function in an
event loop of its own), their starts ``stagger`` seconds apart so that the calls one of them sends
together are not slowed by the others'; that first test then waits for all of them, and each test
reports its own outcome. No other test runs meanwhile.

What they may share: nothing a test asserts on. Each test has its own servers, clients and
accounts (the process-wide rate limiter counts per account: tests of one group use credentials
of their own). A test takes parameters of ``pytest.mark.parametrize`` and session- or
module-scoped fixtures (resolved in the first test's request), never a function-scoped one.
The tests of a group carry ``xdist_group(name)``: with ``--dist loadgroup`` they run in one worker.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

__all__ = ["Together"]

WAIT = 60.0
"""Seconds the tests of a group may take together (then the ones still running fail)."""


class Together:
    """A group of window-waiting tests run side by side (see the module docstring)."""

    def __init__(self, name: str, *, stagger: float = 0.12) -> None:
        self.name = name
        self.stagger = stagger
        self._lock = threading.Lock()
        self._outcomes: dict[str, BaseException | None] | None = None

    def test(self, function: Callable[..., Any]) -> Callable[..., None]:
        """*function* as a test of this group."""
        signature = inspect.signature(function)
        takes_request = "request" in signature.parameters
        if takes_request:
            raise TypeError(f"{function.__name__}: a test run together gets no request")

        def test(request: pytest.FixtureRequest, **_: Any) -> None:
            outcome = self._outcome(request)
            if outcome is not None:
                raise outcome

        parameters = [
            *signature.parameters.values(),
            inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY),
        ]
        test.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=parameters, return_annotation=None
        )
        test.__name__ = function.__name__
        test.__qualname__ = function.__qualname__
        test.__module__ = function.__module__
        test.__doc__ = function.__doc__
        test.pytestmark = list(getattr(function, "pytestmark", []))  # type: ignore[attr-defined]
        test._together = (self, function)  # type: ignore[attr-defined]
        return pytest.mark.xdist_group(self.name)(test)

    def _outcome(self, request: pytest.FixtureRequest) -> BaseException | None:
        with self._lock:
            if self._outcomes is None:
                self._outcomes = self._run_all(request)
        missing = AssertionError(f"{request.node.nodeid} was not among the tests run together")
        return self._outcomes.get(request.node.nodeid, missing)

    def _run_all(self, request: pytest.FixtureRequest) -> dict[str, BaseException | None]:
        """Run every selected test of the group; each one's exception (``None``: passed)."""
        outcomes: dict[str, BaseException | None] = {}
        runs: list[tuple[str, Callable[[], Any]]] = []
        for item in request.session.items:
            marked = getattr(getattr(item, "obj", None), "_together", None)
            if marked is None or marked[0] is not self:
                continue
            function = marked[1]
            params = dict(getattr(getattr(item, "callspec", None), "params", {}))
            try:
                for name in inspect.signature(function).parameters:
                    if name not in params:
                        params[name] = request.getfixturevalue(name)
            except BaseException as exc:  # a fixture that skips skips this test
                outcomes[item.nodeid] = exc
                continue
            runs.append((item.nodeid, _call(function, params)))
        threads = []
        for n, (nodeid, run) in enumerate(runs):
            thread = threading.Thread(
                target=_record, args=(outcomes, nodeid, run, n * self.stagger),
                name=f"{self.name}-{n}", daemon=True,
            )  # fmt: skip
            thread.start()
            threads.append((nodeid, thread))
        end = time.monotonic() + WAIT + len(runs) * self.stagger
        for nodeid, thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
            if thread.is_alive():
                outcomes[nodeid] = AssertionError(f"still running after {WAIT:g} s")
        return outcomes


def _call(function: Callable[..., Any], params: dict[str, Any]) -> Callable[[], Any]:
    if inspect.iscoroutinefunction(function):
        return lambda: asyncio.run(function(**params))
    return lambda: function(**params)


def _record(
    outcomes: dict[str, BaseException | None], nodeid: str, run: Callable[[], Any], delay: float
) -> None:
    time.sleep(delay)
    try:
        run()
    except BaseException as exc:  # reported by the test itself
        outcomes[nodeid] = exc
    else:
        outcomes[nodeid] = None
