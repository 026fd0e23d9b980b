"""Runs PAIR ``saliency`` (Guided IG, Blur IG, XRAI) in its virtualenv on saved weights and images.

Usage: ``pair_worker.py DIRECTORY``; reads ``model.keras`` (the logits model), ``x.npy``,
``top.npy`` and ``attribution.npy`` (our XRAI base attribution, for the comparison that isolates
segmentation and ranking), writes ``maps.npz`` and ``seconds.json`` (per image, warm). The
``call_model_function`` is the speed benchmark's (:mod:`contenders.pair_saliency`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras
import numpy as np
import saliency.core as saliency
from contenders.pair_saliency import Adapter


def main(directory: Path) -> None:
    model = keras.models.load_model(directory / "model.keras")
    x, top = np.load(directory / "x.npy"), np.load(directory / "top.npy")
    attribution = np.load(directory / "attribution.npy")
    call_model = Adapter(model, model, "").call_model_function

    def each(method, **options):
        return np.stack(
            [
                method.GetMask(image, call_model, {"class": int(c)}, **options)
                for image, c in zip(x, top, strict=True)
            ]
        )

    runs = {
        "guided_ig": lambda: each(saliency.GuidedIG(), x_steps=200, fraction=0.25, max_dist=0.02),
        "blur_ig": lambda: each(saliency.BlurIG(), steps=100, max_sigma=50, grad_step=0.01),
        "xrai": lambda: each(saliency.XRAI(), batch_size=1),
    }
    maps, seconds = {}, {}
    call_model(x[:1], {"class": int(top[0])})  # trace once, untimed
    for name, run in runs.items():
        start = time.perf_counter()
        maps[name] = run()
        seconds[name] = (time.perf_counter() - start) / len(x)
    maps["xrai_same_attribution"] = np.stack(
        [
            saliency.XRAI().GetMask(image, call_model, {"class": int(c)}, base_attribution=base)
            for image, c, base in zip(x, top, attribution, strict=True)
        ]
    )
    np.savez(directory / "maps.npz", **maps)
    (directory / "seconds.json").write_text(json.dumps(seconds))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
