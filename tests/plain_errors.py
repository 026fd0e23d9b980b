"""What a user-facing error must look like (shared by the fuzz tests)."""

from __future__ import annotations

AUTOGRAPH_MARKERS = ("in user code", "tf__", "autograph", "/engine.py", "Traceback")
"""Text that must never reach a user's error message (it comes from inside tracing)."""


def check_plain_error(error: BaseException) -> None:
    """Asserts ``error`` is a ``TypeError``/``ValueError`` with a message free of tracing frames."""
    assert isinstance(error, TypeError | ValueError), f"{type(error).__name__}: {error}"
    text = str(error)
    assert text and not any(marker in text for marker in AUTOGRAPH_MARKERS), text
