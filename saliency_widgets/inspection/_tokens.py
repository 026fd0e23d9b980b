"""Token layers as CAM layers: ``(B, p + h·w, d)`` folded into a ``(B, h, w, d)`` grid.

A vision transformer's blocks hold tokens, not feature maps: ``p`` class / register tokens
first, then one token per image patch in row-major order. :class:`TokenLayer` says how to read
such a layer (which layer, the patch grid, how many leading tokens are not patches);
:func:`token_grid` works out, or checks, the :class:`TokenGrid`; :class:`FoldTokens` and
:class:`UnfoldTokens` are the two Keras layers the surgery of
:mod:`~saliency_widgets.inspection._spatial` puts after the layer, so that CAM methods see the
grid while the rest of the model still reads the tokens, class token included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import keras

MAX_PREFIX_TOKENS = 8
"""The most leading non-patch tokens found next to a patch grid (ViT: 1, DeiT: 2, registers …)."""
SQUARE_PREFIX_TOKENS = 2
"""The most leading non-patch tokens found in front of a square with no patch grid to go by
(a class token, and a distillation token): with more, a count such as 41 = 6² + 5 is as likely
an 8 x 5 grid and a class token, so a grid must be given."""


@dataclass(frozen=True)
class TokenLayer:
    """A CAM layer whose output is tokens, with how to fold them into a patch grid.

    Pass it as ``layer=`` to any CAM method (``explain``, the shortcuts, ``spatial_model`` …).
    Leave ``grid`` and ``prefix_tokens`` at ``None`` to have them found: the grid of the last
    4-D layer before this one (the patch embedding) when its ``h·w`` plus at most
    :data:`MAX_PREFIX_TOKENS` tokens make the count, else the largest square when at most
    :data:`SQUARE_PREFIX_TOKENS` tokens are left over. Class / register tokens come first.

    Attributes:
        layer: The layer: ``None`` for the last token (or spatial) layer, a name, a path
            ``"backbone/layer"`` or a layer object, as for ``layer=`` itself.
        grid: ``(h, w)``, the patch grid, for a non-square grid.
        prefix_tokens: How many leading tokens are class / register tokens, not patches.

    Example:
        >>> TokenLayer("encoder_1/output", grid=(14, 12), prefix_tokens=1)
        TokenLayer(layer='encoder_1/output', grid=(14, 12), prefix_tokens=1)
    """

    layer: str | keras.Layer | None = None
    grid: tuple[int, int] | None = None
    prefix_tokens: int | None = None

    def __post_init__(self) -> None:
        grid = self.grid
        if grid is not None and (
            not isinstance(grid, tuple | list)
            or len(grid) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in grid)
        ):
            raise ValueError(f"grid must be (h, w), two ints >= 1, got {grid!r}")
        if grid is not None:
            object.__setattr__(self, "grid", (int(grid[0]), int(grid[1])))
        prefix = self.prefix_tokens
        if prefix is not None and (
            not isinstance(prefix, int) or isinstance(prefix, bool) or prefix < 0
        ):
            raise ValueError(f"prefix_tokens must be an int >= 0, got {prefix!r}")


@dataclass(frozen=True)
class TokenGrid:
    """How a token layer's ``(B, prefix + height·width, d)`` output folds into a grid.

    Attributes:
        prefix: Leading tokens that are not patches (dropped from the grid, kept for the model).
        height: Patch rows.
        width: Patch columns.
    """

    prefix: int
    height: int
    width: int


def _suggestion(path: str) -> str:
    return (
        f"pass layer=TokenLayer({path!r}, grid=(h, w), prefix_tokens=p) "
        "(saliency_widgets.inspection.TokenLayer) with the patch grid (h, w) and the number p "
        "of class/register tokens before the patches"
    )


def token_grid(
    path: str,
    shape: tuple | None,
    spec: TokenLayer | None = None,
    patches: tuple[int, int] | None = None,
) -> TokenGrid:
    """The grid a ``(B, tokens, d)`` layer output folds into, found or checked.

    Args:
        path: The layer's path, for messages.
        shape: Its output shape ``(B, tokens, d)``.
        spec: What the user said about the grid (``None``: nothing).
        patches: ``(h, w)`` of the last 4-D layer before it (the patch embedding), if any.

    Returns:
        The :class:`TokenGrid`.

    Raises:
        ValueError: For an output that is not 3-D with a known token count, a given grid or
            prefix that does not add up to the count (both numbers named), or a count that is
            not a grid plus at most :data:`MAX_PREFIX_TOKENS` tokens when none is given.
    """
    if shape is None or len(shape) != 3 or shape[1] is None:
        raise ValueError(
            f"layer {path!r} has output shape {shape}; expected (B, h, w, c) or tokens "
            "(B, tokens, d) with a known number of tokens"
        )
    count = int(shape[1])
    grid = spec.grid if spec is not None else None
    prefix = spec.prefix_tokens if spec is not None else None
    if grid is not None:
        cells = grid[0] * grid[1]
        needed = cells + (prefix or 0)
        extra = count - cells
        if needed != count if prefix is not None else not 0 <= extra <= MAX_PREFIX_TOKENS:
            given = f"grid={grid} holds {cells} tokens" + (
                f", plus prefix_tokens={prefix}: {needed}" if prefix is not None else ""
            )
            raise ValueError(
                f"layer {path!r} has {count} tokens but {given}; they must add up to {count} "
                f"(class/register tokens first; pass prefix_tokens= for more than "
                f"{MAX_PREFIX_TOKENS} of them)"
            )
        return TokenGrid(count - cells, *grid)
    if prefix is not None:
        side = math.isqrt(max(count - prefix, 0))
        if prefix > count or side * side != count - prefix:
            raise ValueError(
                f"layer {path!r} has {count} tokens; after prefix_tokens={prefix}, "
                f"{count - prefix} remain, which is not a square: pass grid=(h, w) too "
                f"({_suggestion(path)})"
            )
        return TokenGrid(prefix, side, side)
    if patches is not None and 0 <= count - patches[0] * patches[1] <= MAX_PREFIX_TOKENS:
        return TokenGrid(count - patches[0] * patches[1], *patches)
    side = math.isqrt(count)
    if side >= 1 and count - side * side <= SQUARE_PREFIX_TOKENS:
        return TokenGrid(count - side * side, side, side)
    raise ValueError(
        f"layer {path!r} has {count} tokens (output shape {shape}), which is not a square "
        f"grid of patches plus at most {SQUARE_PREFIX_TOKENS} class/register tokens, nor the "
        f"grid of a patch embedding before it; {_suggestion(path)}"
    )


class FoldTokens(keras.layers.Layer):
    """``(B, p + h·w, d)`` tokens → ``[(B, p, d) prefix tokens, (B, h, w, d) grid]``."""

    def __init__(self, grid: TokenGrid, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.grid = grid

    def call(self, tokens: Any) -> list:
        grid = self.grid
        depth = keras.ops.shape(tokens)[-1]
        patches = keras.ops.reshape(tokens[:, grid.prefix :], (-1, grid.height, grid.width, depth))
        return [tokens[:, : grid.prefix], patches]

    def compute_output_shape(self, shape: tuple) -> list:
        grid = self.grid
        return [(shape[0], grid.prefix, shape[2]), (shape[0], grid.height, grid.width, shape[2])]


class UnfoldTokens(keras.layers.Layer):
    """``[prefix tokens, (B, h, w, d) grid]`` → the ``(B, p + h·w, d)`` tokens again."""

    def call(self, parts: list) -> Any:
        prefix, patches = parts
        shape = keras.ops.shape(patches)
        flat = keras.ops.reshape(patches, (-1, shape[1] * shape[2], shape[3]))
        return keras.ops.concatenate([prefix, flat], axis=1)

    def compute_output_shape(self, shapes: list) -> tuple:
        prefix, patches = shapes
        return (patches[0], prefix[1] + patches[1] * patches[2], patches[3])


__all__ = [
    "MAX_PREFIX_TOKENS",
    "SQUARE_PREFIX_TOKENS",
    "FoldTokens",
    "TokenGrid",
    "TokenLayer",
    "UnfoldTokens",
    "token_grid",
]
