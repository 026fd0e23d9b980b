"""LRP against zennit, on the bundled model ported to PyTorch (same weights, same images).

Run from the repository root with the project's environment::

    python benchmarks/agreement/lrp.py [--images 8]

zennit runs in its virtualenv (``benchmarks/.venvs/zennit``, the ``[zennit]`` section of
``benchmarks/requirements.txt``) on :mod:`harness.torch_port`'s port of the bundled model, whose
logits are checked against Keras's before anything is compared. Each of our rules is compared
with zennit's: the composite with ``EpsilonPlusFlat``, and ε, z⁺ and αβ (α=2, β=1) applied to
every linear layer; batch normalisations merged (``SequentialMergeBatchNorm``) as ours are folded.
Rows go to ``benchmarks/results/agreement-lrp.{json,md}`` with the time per image of both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from agreement.rows import Row, bundled, compare, reference_run, timed, write
from saliency_widgets.methods import relevance

ZENNIT = "zennit 0.5.1"
REFERENCES = {
    # our parameters: (zennit's composite, note)
    "composite": ("EpsilonPlusFlat", ""),
    "epsilon": (
        "Epsilon(1e-6) on every layer",
        "ε = 1e-6 is LRP-0: units whose z is near 0 divide by it, so float32 rounding (a "
        "different summation order in TensorFlow and PyTorch) is amplified; see ε = 0.25",
    ),
    "epsilon=0.25": ("Epsilon(0.25) on every layer", "a damping ε: the two agree"),
    "zplus": ("ZPlus on every layer", ""),
    "alphabeta": ("AlphaBeta(2, 1) on every layer", ""),
}
"""Each comparison, by our ``rule`` (``"epsilon=0.25"``: the ε rule with that ε)."""


def _options(key: str) -> dict:
    rule, _, value = key.partition("=")
    return {"rule": rule, "epsilon": float(value)} if value else {"rule": rule}


def main(argv: list[str] | None = None) -> list[Row]:
    import tensorflow as tf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="bundled held-out images")
    args = parser.parse_args(argv)

    full, model, x, top = bundled(args.images)
    mine, my_seconds = {}, {}
    for key in REFERENCES:
        function = tf.function(
            lambda a, i, key=key: relevance.lrp(model, a, i, reduce=None, **_options(key))
        )
        (_, maps), elapsed = timed(function, tf.constant(x), tf.constant(top[:, None]))
        mine[key], my_seconds[key] = np.asarray(maps)[..., 0], elapsed / len(x)

    theirs, their_seconds = reference_run("zennit", "zennit_worker.py", full, {"x": x, "top": top})

    rows = []
    for key, (reference, note) in REFERENCES.items():
        label = ", ".join(f"{k}={v!r}" for k, v in _options(key).items())
        row = compare(f"lrp {label}", f"{ZENNIT} {reference}", mine[key], theirs[key], note)
        row.seconds = {"ours": my_seconds[key], "reference": their_seconds[key]}
        rows.append(row)
    context = {
        "model": "bundled shapes CNN (64x64), ported to PyTorch",
        "port_logit_difference": f"{their_seconds['logit_difference']:.1e}",
        "images": len(x),
        "normalisation": "channels summed, divided by max |map|",
    }
    write(rows, "agreement-lrp", context)
    return rows


if __name__ == "__main__":
    main()
