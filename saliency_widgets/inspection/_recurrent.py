"""Recurrent image models: which methods cannot explain them, said before anything is traced."""

from __future__ import annotations

import keras


def refuse_recurrent(model: keras.Model, method: str) -> None:
    """Placeholder."""
    del model, method
