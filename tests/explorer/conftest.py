"""Explorer data of the bundled model, computed once per session (the engine is slow on CPU)."""

from __future__ import annotations

import pytest

from saliency_widgets import explorer, zoo


@pytest.fixture(scope="session")
def bundled_data() -> explorer.ExplorerData:
    """Six bundled images with their masks, top-3 classes, vanilla gradients and Grad-CAM."""
    samples = zoo.load_samples(6)
    return explorer.explain_top_k(
        zoo.load_shapes_model(),
        samples.images,
        zoo.preprocess(samples.images),
        methods=["gradients", "gradcam"],
        top_k=3,
        class_names=zoo.class_names(),
        labels=samples.labels,
        masks=samples.masks,
    )
