"""Errors about a user's inputs, and one readable line for any exception (every face)."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class InputError(ValueError):
    """An input or option of a face (grid, explorer, directive, command line) is wrong.

    The message names the input or option at fault and says what was expected.
    """


GridError = InputError
"""The former name of :class:`InputError` (grids were its first users), kept for callers."""


def describe(error: BaseException, limit: int = 600) -> str:
    """A short, readable ``Type: message`` for an exception raised by a model or an input.

    Errors re-raised by ``tf.function`` carry the traceback of the traced code: only their last
    line (the original ``Type: message``) is kept. Keras wraps messages over several lines with
    ANSI bold: colours are dropped and only unindented lines are kept, joined.

    Args:
        error: The exception.
        limit: Longest text returned (longer text ends with ``…``).

    Returns:
        One line, starting with the exception's type name.

    Example:
        >>> describe(RuntimeError("weights   server  unreachable"))
        'RuntimeError: weights server unreachable'
    """
    lines = [line for line in _ANSI.sub("", str(error)).splitlines() if line.strip()]
    if lines and lines[0].strip() == "in user code:":
        text = lines[-1].strip()
    else:
        kept = [
            " ".join(line.split())
            for line in lines
            if not line[:1].isspace() and not line.startswith(("File ", "[[", "Traceback"))
        ]
        text = " ".join(kept[:4]) or "(no message)"
    name = type(error).__name__
    if not text.startswith(name):
        text = f"{name}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
