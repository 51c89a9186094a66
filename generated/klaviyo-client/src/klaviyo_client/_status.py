"""``revision_status()``: where this package's revision stands (imported on first use, so that
``import klaviyo_client`` does not import the revision rules).
"""

from __future__ import annotations

from datetime import date

from . import REVISION
from ._revision import RevisionStatus
from ._revision import revision_status as status_of

__all__ = ["revision_status"]


def revision_status(today: date | None = None) -> RevisionStatus:
    """Where this package's revision (``REVISION``) stands on *today* (default: the current UTC
    date): release date, ``stable_until`` (release + 1 year), deprecated/beta/retired flags, days
    left. Never warns; ``Klaviyo(...).check_revision()`` warns, for the revision a client sends.
    """
    return status_of(REVISION, today)
