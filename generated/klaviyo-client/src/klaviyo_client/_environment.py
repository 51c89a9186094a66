"""What the package reads from the environment: ``KLAVIYO_API_KEY`` (the private key of a
client given none) and ``KLAVIYO_LOG`` (``debug`` or ``info``: the package's log records go to
stderr at that level)."""

from __future__ import annotations

import logging
import os
import warnings

__all__ = ["ENV_API_KEY", "ENV_LOG", "api_key_from_env", "log_from_env", "log_from_env_once"]

logger = logging.getLogger("klaviyo_client")

ENV_API_KEY = "KLAVIYO_API_KEY"
"""The private key a client uses when none is passed (nor an ``Authorization`` header)."""
ENV_LOG = "KLAVIYO_LOG"
"""``debug`` or ``info``: the package's log records go to stderr at that level."""
_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_LOG_FROM_ENV = [True]  # read once, when the first client is made


def log_from_env() -> None:
    """Switch the package's logging on as ``KLAVIYO_LOG`` says (once; a logger that already has
    a handler, e.g. set up by the application, is left alone)."""
    wanted = os.environ.get(ENV_LOG, "").strip().lower()
    level = _LOG_LEVELS.get(wanted)
    if level is None:
        if wanted:
            warnings.warn(
                f"{ENV_LOG}={wanted[:20]!r} is not one of: debug, info (ignored)", stacklevel=4
            )
        return
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


def api_key_from_env() -> str | None:
    """The private key in ``KLAVIYO_API_KEY``, or ``None`` when it is unset or empty."""
    return os.environ.get(ENV_API_KEY) or None


def log_from_env_once() -> None:
    """:func:`log_from_env`, the first time a client is made (later clients leave logging alone)."""
    if _LOG_FROM_ENV:
        _LOG_FROM_ENV.clear()
        log_from_env()
