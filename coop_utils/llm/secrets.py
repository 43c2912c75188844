"""Secrets are read, used, and never written: every text that leaves the LLM path is redacted.

Why: a provider may echo the request's ``Authorization`` header in an error body, and a
``${VAR}`` inside a base URL may carry a token. Error texts travel into the console, the
run's events, the response cache, ``failures.json`` and notebooks, so each is passed
through :func:`redact` before it is logged, cached, printed or saved. The values to hide
are remembered when they are read from the environment (an API key, an expanded
variable), never stored anywhere else.
"""

from __future__ import annotations

import threading
from typing import overload

MASK = "[redacted]"
MIN_SECRET_CHARS = 8
"""Shorter values (a port, 'true') are not secrets and masking them would garble text."""

_lock = threading.Lock()
_secrets: set[str] = set()


def remember(value: str | None) -> None:
    """Hide ``value`` from every text passed through :func:`redact` from now on."""
    if value and len(value) >= MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


@overload
def redact(text: str) -> str: ...
@overload
def redact(text: str | None) -> str | None: ...
def redact(text: str | None) -> str | None:
    """``text`` with every remembered secret masked (longest first, so no part survives)."""
    if not text or not _secrets:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
