"""The revision guard: what the client knows of its revision, and what answers say about it.

Klaviyo versions its API by *revision*, the release date sent in the ``revision`` header
(``2026-07-15``; a beta adds ``.pre``). A stable revision is stable for one year after its
release, deprecated for the second year, and retired after two years; the legacy v1/v2 API has
no revision and was retired on its own date (2024-06-30). Three checks follow from that:

* :func:`revision_status` (also ``client.revision_status()``): where a revision stands on a given
  day (today by default; pass ``today=`` to make it reproducible). ``client.check_revision()``
  does the same and warns :class:`RevisionStatusWarning` unless the revision is in its stable
  year. Nothing warns about the calendar unless asked: the check is opt-in, so code and tests
  never start warning because a date passed.
* An answer whose ``X-Klaviyo-API-Revision`` header names another revision than the request
  sent warns :class:`RevisionMismatchWarning`, once per client and (sent, answered) pair.
  The answer is kept whatever the warnings filters say: under ``-W error`` the warning is
  logged (logger ``klaviyo_client``, level WARNING) instead of raised, so a created resource's
  answer is never lost to it.
* A ``410 Gone`` raises ``GoneError`` (see :mod:`._errors`), never retried.

:class:`RevisionGuard` holds all three for one client: ``BaseClient`` hands it every answer
(:meth:`RevisionGuard.check`) and asks it for the revision's status.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ._errors import GoneError
from ._redaction import cap_text, scrub
from ._wire import PreparedRequest, Response

__all__ = [
    "RESPONSE_HEADER",
    "RevisionGuard",
    "RevisionMismatchWarning",
    "RevisionState",
    "RevisionStatus",
    "RevisionStatusWarning",
    "RevisionWarning",
    "parse_revision",
    "retirement_of",
    "revision_status",
    "sent_revision",
    "warn_status",
]

RESPONSE_HEADER = "x-klaviyo-api-revision"
"""The answer's header naming the revision Klaviyo served (compared case-insensitively)."""
STABLE_YEARS = 1
SUPPORTED_YEARS = 2
MAX_PAIRS = 16
"""At most this many (sent, answered) pairs are remembered (and warned about) per client."""
_SHOWN = 40  # characters of a header value shown in a warning

logger = logging.getLogger("klaviyo_client")

_REVISION_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(\.pre)?")
_PACKAGE = __name__.rpartition(".")[0]

RevisionState = Literal["stable", "deprecated", "retired", "beta", "unknown"]


class RevisionWarning(UserWarning):
    """Base of the warnings about the API revision (filter this one to silence them all)."""


class RevisionMismatchWarning(RevisionWarning):
    """Klaviyo answered with another revision than the request sent (``X-Klaviyo-API-Revision``).

    Likely causes: the revision sent is not one Klaviyo knows (a typo, or a revision it no longer
    serves, so it answered with another), or a proxy in between rewrote the header. The models of
    this client follow the revision it was generated for, so answers may not match them.
    """


class RevisionStatusWarning(RevisionWarning):
    """``check_revision()`` found the revision outside its stable year: deprecated, retired, a
    beta, or not a revision date at all."""


def parse_revision(revision: str | None) -> tuple[_dt.date | None, bool]:
    """``(release date, beta)`` of a revision header value: ``"2026-07-15.pre"`` gives
    ``(date(2026, 7, 15), True)``; anything not ``YYYY-MM-DD[.pre]`` gives ``(None, False)``."""
    if not revision:
        return None, False
    match = _REVISION_RE.fullmatch(revision.strip())
    if match is None:
        return None, False
    year, month, day, pre = match.groups()
    try:
        released = _dt.date(int(year), int(month), int(day))
    except ValueError:
        return None, False
    return released, pre is not None


def _years_after(day: _dt.date, years: int) -> _dt.date:
    """*day* plus *years* (29 February becomes the 28th); the last representable day
    (9999-12-31) when the sum is past it, so a far-future revision still has a status."""
    year = day.year + years
    if year > _dt.MAXYEAR:
        return _dt.date.max
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return day.replace(year=year, day=28)


def retirement_of(revision: str | None) -> _dt.date | None:
    """The day after which Klaviyo no longer serves a stable *revision* (two years after its
    release), or ``None`` for a beta or anything that is not a revision date."""
    released, beta = parse_revision(revision)
    return None if released is None or beta else _years_after(released, SUPPORTED_YEARS)


@dataclass(frozen=True, slots=True)
class RevisionStatus:
    """Where a revision stands on a given day (see :func:`revision_status`).

    Attributes:
        revision: the revision header value (``None``: the API sends none: legacy v1/v2, or
            the public Track/Identify endpoints).
        released: its release date (``None`` when it is not a revision date).
        stable_until: the last day of its stable year (release + 1 year; ``None`` for a beta, the
            legacy API or an unknown value).
        supported_until: the last day Klaviyo serves it (release + 2 years; the legacy API: its
            retirement date, if known).
        today: the day the status describes.
        beta: a ``.pre`` revision: Klaviyo's beta, not a stable revision.
        deprecated: past its stable year (also true once retired).
        retired: past ``supported_until`` (the legacy API: always).
        days_left: days until ``stable_until`` (0 on that day, negative after; ``None`` when
            there is no stable period).
    """

    revision: str | None
    released: _dt.date | None
    stable_until: _dt.date | None
    supported_until: _dt.date | None
    today: _dt.date
    beta: bool
    deprecated: bool
    retired: bool
    days_left: int | None

    @property
    def state(self) -> RevisionState:
        """``"stable"``, ``"deprecated"``, ``"retired"``, ``"beta"`` or ``"unknown"``."""
        if self.retired:
            return "retired"
        if self.deprecated:
            return "deprecated"
        if self.beta:
            return "beta"
        return "unknown" if self.released is None else "stable"

    @property
    def message(self) -> str:
        """One sentence saying where the revision stands and what to do."""
        name = f"revision {self.revision}"
        regenerate = "regenerate the client from a newer revision"
        if self.revision is None:
            if not self.retired:
                return "this client sends no revision header: there is no revision lifecycle"
            when = f" on {self.supported_until}" if self.supported_until else ""
            return (
                f"the legacy v1/v2 API has no revision; Klaviyo retired it{when}: use "
                "klaviyo_client.Klaviyo (see the migration table in the package README)"
            )
        if self.beta:
            return (
                f"{name} is a beta (released {self.released}): its endpoints may change without "
                "notice and the one-year stable period of stable revisions does not apply"
            )
        if self.released is None:
            return (
                f"{name} is not a Klaviyo revision date (YYYY-MM-DD or YYYY-MM-DD.pre): "
                "its lifecycle is unknown"
            )
        if self.retired:
            return (
                f"{name} is retired: Klaviyo served it until {self.supported_until} (two years "
                f"after its release); calls may fail with 410 Gone or be answered with another "
                f"revision: {regenerate}"
            )
        if self.deprecated:
            return (
                f"{name} is deprecated: its stable year ended on {self.stable_until}, and "
                f"Klaviyo serves it until {self.supported_until}: {regenerate}"
            )
        return f"{name} is stable until {self.stable_until} ({self.days_left} days left)"


def revision_status(
    revision: str | None,
    today: _dt.date | None = None,
    *,
    retired_on: _dt.date | str | None = None,
) -> RevisionStatus:
    """Where *revision* stands on *today* (default: the current UTC date).

    A ``.pre`` revision is a beta. A stable one follows Klaviyo's policy: one stable year from
    its release date, then one deprecated year, then retired. ``revision=None`` is an API that
    sends no revision: with *retired_on* (a date or ``YYYY-MM-DD``; the legacy v1/v2 API) it is
    retired, without it its lifecycle is unknown.
    """
    if today is None:
        today = _dt.datetime.now(_dt.UTC).date()
    elif isinstance(today, _dt.datetime):
        today = today.date()
    elif not isinstance(today, _dt.date):
        raise TypeError(f"today must be a datetime.date, got {type(today).__name__}")
    if revision is None:
        if retired_on is None:
            return RevisionStatus(None, None, None, None, today, False, False, False, None)
        if isinstance(retired_on, str):
            retired_on, _ = parse_revision(retired_on)
        return RevisionStatus(None, None, None, retired_on, today, False, True, True, None)
    released, beta = parse_revision(revision)
    if released is None or beta:
        return RevisionStatus(revision, released, None, None, today, beta, False, False, None)
    stable_until = _years_after(released, STABLE_YEARS)
    supported_until = _years_after(released, SUPPORTED_YEARS)
    return RevisionStatus(
        revision,
        released,
        stable_until,
        supported_until,
        today,
        beta=False,
        deprecated=today > stable_until,
        retired=today > supported_until,
        days_left=(stable_until - today).days,
    )


def _stacklevel() -> int:
    """The ``stacklevel`` that attributes a warning to the first caller outside this package."""
    frame = sys._getframe(2)  # pyright: ignore[reportPrivateUsage] (the caller of the caller)
    level = 2
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _shown(value: str) -> str:
    return repr(cap_text(value, _SHOWN))


def sent_revision(headers: Mapping[str, str]) -> str | None:
    """The ``revision`` header among a request's *headers* (any case), or ``None``."""
    value = headers.get("revision")
    if value is None:
        for name, given in headers.items():
            if name.lower() == "revision":
                return given
    return value


class RevisionGuard:
    """One client's revision checks: every answer passes :meth:`check` once, before its status
    is judged; :meth:`status` and :meth:`check_status` say where a revision stands.

    It remembers the (sent, answered) pairs it has warned about. Bounded: after
    :data:`MAX_PAIRS` distinct pairs (a server answering a new value every time) it stays
    silent, so neither memory nor the warnings grow without limit.

    Args:
        retired_on: the day an API without revisions was retired (``YYYY-MM-DD``; the legacy
            v1/v2 API), else ``None``.
    """

    __slots__ = ("_lock", "_pairs", "retired_on")

    def __init__(self, retired_on: str | None = None) -> None:
        self._pairs: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.retired_on = retired_on

    def check(self, request: PreparedRequest, response: Response) -> None:
        """The checks of one answer: an ``X-Klaviyo-API-Revision`` other than the ``revision``
        the request sent warns (once per pair); a 410 raises :class:`GoneError`."""
        answered = response.headers.peek(RESPONSE_HEADER)
        if answered is not None:
            sent = sent_revision(request.headers)
            if sent is not None and answered != sent:
                self.answered(sent, answered, request.method, scrub(request.url))
        if response.status_code == 410:
            raise self.gone(request, response)

    def gone(self, request: PreparedRequest, response: Response) -> GoneError:
        """The ``GoneError`` of a 410 answer: the revision sent, when it retired, and the
        operation's replacement."""
        sent = sent_revision(request.headers)
        if sent is None:
            retired_on = self.retired_on
        else:
            due = retirement_of(sent)
            retired_on = None if due is None else due.isoformat()
        op = request.op
        return GoneError(
            response.to_httpx(), method=request.method, url=request.url, revision=sent,
            replacement=op.replacement, operation=op.id, retired_on=retired_on,
        )  # fmt: skip

    def status(self, revision: str | None, today: _dt.date | None = None) -> RevisionStatus:
        """Where *revision* (``None``: none sent) stands on *today* (see
        :func:`revision_status`)."""
        return revision_status(revision, today, retired_on=self.retired_on)

    def check_status(self, revision: str | None, today: _dt.date | None = None) -> RevisionStatus:
        """:meth:`status`, warning ``RevisionStatusWarning`` unless the revision is in its
        stable year (see :func:`warn_status`)."""
        status = self.status(revision, today)
        warn_status(status)
        return status

    def answered(self, sent: str, answered: str, method: str, url: str) -> None:
        """Warn once per (sent, answered) pair when they differ; *url* is already redacted."""
        answered = answered.strip()
        if answered == sent:
            return
        pair = (sent, answered)
        with self._lock:
            if pair in self._pairs or len(self._pairs) >= MAX_PAIRS:
                return
            self._pairs.add(pair)
        asked, got = _shown(sent), _shown(scrub(answered))
        warning = RevisionMismatchWarning(
            f"Klaviyo answered {method} {url} with revision {got} (X-Klaviyo-API-Revision) "
            f"although the request sent revision {asked}: likely Klaviyo does not serve "
            f"{asked} (unknown to it, or retired) and answered with another one, or a proxy "
            "rewrote the header; answers may not match this client's models (warned once "
            "per client for this pair)"
        )
        try:
            warnings.warn(warning, stacklevel=_stacklevel())
        except RevisionWarning:
            # a filter made it an error (``-W error``): raising here would turn an answer
            # already received (a resource created) into a failure, and a naive retry into a
            # second resource. The call keeps its answer; the warning is logged instead.
            logger.warning(
                "%s [logged: a warnings filter turned it into an error]",
                warning,
                extra={"klaviyo_warning": warning},
            )


def warn_status(status: RevisionStatus) -> None:
    """Warn :class:`RevisionStatusWarning` with the status message, unless the revision is in
    its stable year or the client sends no revision to judge (the public Track/Identify one)."""
    if status.state == "stable" or (status.revision is None and not status.retired):
        return
    warnings.warn(RevisionStatusWarning(status.message), stacklevel=_stacklevel())
