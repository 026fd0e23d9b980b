"""Occlusion and RISE against Xplique, on the same Keras model and images.

Xplique explains what the model outputs: it gets the linear-head model (logits), and so do ours
(``activation=None`` for RISE, whose default is the paper's softmax probability). Maps are at
the input's size.

RISE draws random masks, and Xplique draws them with TensorFlow's global generator and a random
crop per batch, which no seed of ours reproduces. So RISE is compared twice: with *Xplique's
masks fed through our estimator* (recorded as Xplique's explain makes them: deterministic, must
agree), and each with its own masks (a statistical agreement that grows with the masks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from agreement import Comparison, Inputs

XPLIQUE = ("xplique", "tensorflow-cpu")
RISE_MASKS = 1000
"""Masks per image when Xplique's masks are recorded (1000 × 64 × 64 float32 per image)."""
RISE_OWN_MASKS = 4000
"""Masks per image when each side draws its own (Xplique's default)."""


def _targets(inputs: Inputs) -> np.ndarray:
    units = int(inputs.logits_model.outputs[0].shape[-1])
    return np.eye(units, dtype=np.float32)[inputs.labels]


def ours(method: str, **params: Any) -> Callable[[Inputs], np.ndarray]:
    """Our method's raw maps (no postprocessing) at the input's size, one class."""

    def run(inputs: Inputs) -> np.ndarray:
        import saliency_widgets as sw

        shortcut = getattr(sw, method)
        _, maps = shortcut(
            inputs.keras_model,
            inputs.x,
            inputs.labels,
            postprocessing=None,
            verbose=False,
            **params,
        )
        return np.asarray(maps)[..., 0]

    return run


def xplique_occlusion(window: int, stride: int, per_window: bool) -> Callable[[Inputs], np.ndarray]:
    """Xplique's ``Occlusion``; ``per_window`` divides its sum by the windows over each pixel."""

    def run(inputs: Inputs) -> np.ndarray:
        from xplique.attributions import Occlusion

        explainer = Occlusion(
            inputs.logits_model,
            batch_size=256,
            patch_size=window,
            patch_stride=stride,
            occlusion_value=0.0,
        )
        maps = np.asarray(explainer.explain(inputs.x, _targets(inputs)))[..., 0]
        if not per_window:
            return maps
        masks = np.asarray(
            Occlusion._get_masks(inputs.x.shape[1:], (window, window), (stride, stride))
        )
        count = masks.sum(axis=0)
        return np.where(count > 0, maps / np.maximum(count, 1), 0.0)

    return run


def xplique_rise(samples: int, record: bool) -> Callable[[Inputs], np.ndarray]:
    """Xplique's ``Rise`` (grid 7, p = 0.5); ``record`` saves the upsampled masks it applies."""

    def run(inputs: Inputs) -> np.ndarray:
        import tensorflow as tf
        from xplique.attributions import Rise

        tf.random.set_seed(0)
        applied: list[np.ndarray] = []
        original = Rise._apply_masks

        def recording(single_input: Any, binary_masks: Any, mask_value: float = 0.0) -> Any:
            masked, masks = original(single_input, binary_masks, mask_value)
            applied.append(np.asarray(masks)[..., 0])
            return masked, masks

        Rise._apply_masks = staticmethod(recording) if record else original
        try:
            explainer = Rise(inputs.logits_model, batch_size=250, nb_samples=samples)
            maps = np.asarray(explainer.explain(inputs.x, _targets(inputs)))[..., 0]
        finally:
            Rise._apply_masks = staticmethod(original)
        if record:  # images one after the other, each in batches of masks
            masks = np.concatenate(applied).reshape(len(inputs.x), samples, *maps.shape[1:])
            np.save(inputs.directory / "rise-xplique-masks.npy", masks)
        return maps

    return run


def ours_on_xplique_masks(inputs: Inputs) -> np.ndarray:
    """Our RISE estimator on the masks Xplique applied to each image (saved by the reference)."""
    import tensorflow as tf

    import saliency_widgets as sw
    from saliency_widgets.methods.perturbation import rise_from_masks

    masks = np.load(inputs.directory / "rise-xplique-masks.npy", mmap_mode="r")
    model = sw.inspection.explained_model(inputs.keras_model).model
    out = []
    for image, label, own in zip(inputs.x, inputs.labels, masks, strict=True):
        own = tf.constant(np.asarray(own))
        _, maps = rise_from_masks(
            model,
            image[None],
            [[int(label)]],
            len(own),
            lambda numbers, own=own: tf.gather(own, numbers),
            activation=None,
            mask_batch=250,
        )
        out.append(np.asarray(maps)[0, ..., 0])
    return np.stack(out)


COMPARISONS = [
    Comparison(
        "occlusion-xplique-8x8",
        "Occlusion",
        "xplique",
        "window 8, stride 8 (no overlap), fill 0",
        ours("occlusion", window=8, stride=8, fill=0.0),
        xplique_occlusion(8, 8, per_window=False),
        packages=XPLIQUE,
    ),
    Comparison(
        "occlusion-xplique-overlap-as-is",
        "Occlusion",
        "xplique",
        "window 8, stride 4, fill 0, Xplique's sums as they are",
        ours("occlusion", window=8, stride=4, fill=0.0),
        xplique_occlusion(8, 4, per_window=False),
        note=(
            "Xplique sums the drops of the windows over each pixel, we average them (Captum's "
            "convention): with overlapping windows the border pixels, under fewer windows, "
            "get smaller sums from Xplique. The next row divides Xplique's sums by the number "
            "of windows."
        ),
        packages=XPLIQUE,
    ),
    Comparison(
        "occlusion-xplique-overlap-per-window",
        "Occlusion",
        "xplique",
        "window 8, stride 4, fill 0, Xplique's sums ÷ windows per pixel",
        ours("occlusion", window=8, stride=4, fill=0.0),
        xplique_occlusion(8, 4, per_window=True),
        packages=XPLIQUE,
    ),
    Comparison(
        "rise-xplique-same-masks",
        "RISE",
        "xplique",
        f"Xplique's {RISE_MASKS} masks per image (grid 7, p = 0.5) through our estimator, logits",
        ours_on_xplique_masks,
        xplique_rise(RISE_MASKS, record=True),
        note="Xplique adds 1e-4 to the per-pixel sum of the masks; we do not.",
        packages=XPLIQUE,
    ),
    Comparison(
        "rise-xplique-own-masks",
        "RISE",
        "xplique",
        f"{RISE_OWN_MASKS} masks each, drawn by each (cells of 10 px vs Xplique's 7 × 7 grid)",
        ours("rise", samples=RISE_OWN_MASKS, activation=None, seed=0),
        xplique_rise(RISE_OWN_MASKS, record=False),
        deterministic=False,
        note=(
            "Different random masks (no shared generator): the maps agree only up to Monte "
            "Carlo noise. Xplique also crops every batch of masks at one random offset, ours "
            "each mask at its own, and its cells are 64 / 7 px where ours are 10 px."
        ),
        packages=XPLIQUE,
    ),
]
"""The rows of ``benchmarks/results/agreement-perturbation.json``."""
