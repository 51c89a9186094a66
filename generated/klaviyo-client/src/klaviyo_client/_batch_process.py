"""The event batchers and the process: interpreter exit, ``os.fork`` and stop signals.

Batchers holding events are closed (sync) or named (async) at interpreter exit; in a forked
child every batcher starts again empty; while a batcher is open, SIGTERM and SIGHUP flush every
open batcher before the signal does what it did (see :mod:`._batch`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from types import FrameType
from typing import Any, Protocol

from ._errors import ArgumentTypeError, ArgumentValueError

__all__ = ["LIVE", "OPEN", "STOP", "STOP_SIGNALS", "Batcher", "ids_text", "install_signal_flush"]

logger = logging.getLogger("klaviyo_client")


class Batcher(Protocol):
    """What the exit, fork and signal handlers ask of a batcher."""

    exit_timeout: float
    _closed: bool
    _signal_hint: str

    def _at_exit(self) -> None: ...

    def _forked(self) -> None: ...

    def _start_signal_flush(self) -> int: ...

    def _finish_signal_flush(self, mark: int, until: float) -> list[str]: ...


def ids_text(ids: list[str]) -> str:
    """Every id, not the first few: this line is the only record of events the program lost."""
    return ", ".join(ids)


OPEN: weakref.WeakSet[Batcher] = weakref.WeakSet()
"""Batchers holding events that were not closed: closed (sync) or named (async) at exit."""


@atexit.register
def _close_at_exit() -> None:
    for batcher in list(OPEN):
        try:
            batcher._at_exit()  # pyright: ignore[reportPrivateUsage]
        except Exception:  # exit must go on: say so and continue with the next
            logger.exception("closing an event batcher at exit failed")


# -- the process: fork and stop signals ----------------------------------------------------------

LIVE: weakref.WeakSet[Batcher] = weakref.WeakSet()
"""Every batcher of this process: a forked child gives each one a fresh state."""


def _after_fork_in_child() -> None:
    """In a forked child, each batcher starts again empty, with a new lock and sender.

    The parent's sender thread does not exist in the child, its lock may have been held by a
    thread that does not exist either, and the events buffered at the fork are the parent's to
    deliver: kept, they would be sent twice.
    """
    OPEN.clear()
    STOP.running = False
    for batcher in list(LIVE):
        batcher._forked()  # pyright: ignore[reportPrivateUsage]
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:  # a multiprocessing child ends by os._exit, without atexit
        mp_util.register_after_fork(STOP, _close_at_multiprocessing_exit)


def _close_at_multiprocessing_exit(_: object) -> None:
    """In a ``multiprocessing`` child (run after it cleared the parent's finalizers): close the
    batchers as at interpreter exit, which such a child never reaches."""
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _close_at_exit, exitpriority=0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _StopSignalFlush:
    """The stop-signal handler: deliver what the open batchers hold (within ``exit_timeout``),
    name every event it could not send in a WARNING, then do what the signal did before: call
    the previous handler, or terminate the process by the signal (its default action).

    Docker, Kubernetes and systemd stop a process with SIGTERM; its default action ends the
    process at once, without ``atexit``, so without this handler every buffered event is lost
    without a word. A second signal during the flush does what the signal did before at once.
    """

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.auto: set[int] = set()  # installed by a batcher (removed when none is open)
        self.running = False

    def install(self, signals: tuple[int, ...], *, auto: bool) -> None:
        """Chain this handler in front of the current one of each of *signals*.

        Automatically (*auto*) only over the default disposition and from the main thread: a
        program that handles a signal itself, or ignores it, keeps its own behaviour.
        """
        for signum in signals:
            current = signal.getsignal(signum)
            if not auto:
                self.auto.discard(signum)  # asked for explicitly: kept when batchers close
            if self._is_current(signum):
                continue
            if auto and current is not signal.SIG_DFL:
                continue
            signal.signal(signum, self)
            self.previous[signum] = current
            if auto:
                self.auto.add(signum)

    def _is_current(self, signum: int) -> bool:
        handler: object = signal.getsignal(signum)
        return handler is self

    def install_auto(self) -> None:
        if not self.auto.issuperset(STOP_SIGNALS) and in_main_thread():
            with contextlib.suppress(ValueError):  # not the main interpreter
                self.install(STOP_SIGNALS, auto=True)

    def uninstall_auto(self) -> None:
        """Give the signals back once no batcher is open (when a batcher installed them)."""
        if not self.auto or not in_main_thread() or any(not b._closed for b in list(LIVE)):  # pyright: ignore[reportPrivateUsage]
            return
        for signum in sorted(self.auto):
            if self._is_current(signum):
                signal.signal(signum, self.previous.pop(signum, signal.SIG_DFL))
        self.auto.clear()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        previous = self.previous.get(signum, signal.SIG_DFL)
        again = self.running  # a second signal during the flush: name what is held, go on now
        self.running = True
        try:
            _flush_for_signal(_signal_name(signum), wait=not again)
        except Exception:  # the signal must still do what it did
            logger.exception("flushing the event batchers on a signal failed")
        finally:
            self.running = again
        _chain(signum, frame, previous)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _chain(signum: int, frame: FrameType | None, previous: Any) -> None:
    """What *signum* did before the batcher's handler: the previous handler, nothing (ignored)
    or its default action (the process ends by the signal, as its supervisor expects)."""
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signum, signal.SIG_DFL)  # SIG_DFL, or a handler not set from Python
    os.kill(os.getpid(), signum)


def _flush_for_signal(name: str, *, wait: bool) -> None:
    """Deliver what every open batcher holds within the largest ``exit_timeout`` (when *wait*);
    name the rest."""
    batchers = list(OPEN)
    if not batchers:
        return
    until = time.monotonic() + (max(b.exit_timeout for b in batchers) if wait else 0.0)
    marks = [b._start_signal_flush() for b in batchers]  # pyright: ignore[reportPrivateUsage]
    for batcher, mark in zip(batchers, marks, strict=True):
        unsent = batcher._finish_signal_flush(mark, until)  # pyright: ignore[reportPrivateUsage]
        if unsent:
            logger.warning(
                "%s: %s did not send %d events before the process ends (unique_id: %s)%s",
                name,
                type(batcher).__name__,
                len(unsent),
                ids_text(unsent),
                batcher._signal_hint,  # pyright: ignore[reportPrivateUsage]
            )


STOP = _StopSignalFlush()


def install_signal_flush(signals: Iterable[int]) -> None:
    """Chain the flush in front of the handlers of *signals* (see ``install_signal_flush``)."""
    chosen = tuple(signals)
    fixed = {getattr(signal, name, None) for name in ("SIGKILL", "SIGSTOP")}
    catchable = signal.valid_signals() - fixed
    for signum in chosen:
        if isinstance(signum, bool) or not isinstance(signum, int):
            raise ArgumentTypeError(f"signals must be signal numbers, got {signum!r}")
        if signum not in catchable:
            raise ArgumentValueError(f"signal {signum} cannot be handled")
    if not in_main_thread():
        raise ArgumentValueError("install_signal_flush() must be called from the main thread")
    STOP.install(chosen, auto=False)
