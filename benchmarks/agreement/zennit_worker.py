"""Runs zennit's LRP on the bundled model ported to PyTorch, in the ``zennit`` virtualenv.

Usage: ``zennit_worker.py DIRECTORY``; reads ``model.keras``, ``x.npy`` and ``top.npy``, ports
the model (:mod:`harness.torch_port`, whose logits are checked against Keras's first), and writes
``maps.npz`` (relevance per rule, ``(N, H, W, C)``) and ``seconds.json`` (seconds per image and
the port's logit difference). Relevance starts as the explained logit (``attr_output`` = one-hot
× logit), as ours does.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch


def _without_torchvision_ops() -> None:
    """Lets ``import zennit`` work when torchvision's compiled ops cannot load.

    zennit's ``__init__`` imports torchvision for its ResNet canonizers alone (two classes, used
    in ``isinstance`` checks). The torchvision wheel pip finds here is built against the CUDA
    torch, and its ops fail to register against the CPU build (``operator torchvision::nms does
    not exist``). Only then are the two classes stood in for: the port is a plain Sequential,
    which those canonizers never touch, so no rule zennit applies changes.
    """
    try:
        import torchvision  # noqa: F401
    except RuntimeError:
        import types

        for name in ("torchvision", "torchvision.models", "torchvision.models.resnet"):
            sys.modules[name] = types.ModuleType(name)
        resnet = sys.modules["torchvision.models.resnet"]
        resnet.Bottleneck = type("Bottleneck", (torch.nn.Module,), {})  # type: ignore[attr-defined]
        resnet.BasicBlock = type("BasicBlock", (torch.nn.Module,), {})  # type: ignore[attr-defined]


_without_torchvision_ops()

from harness import torch_port  # noqa: E402
from zennit.attribution import Gradient  # noqa: E402
from zennit.canonizers import SequentialMergeBatchNorm  # noqa: E402
from zennit.composites import EpsilonPlusFlat, LayerMapComposite, layer_map_base  # noqa: E402
from zennit.rules import AlphaBeta, Epsilon, ZPlus  # noqa: E402
from zennit.types import Linear  # noqa: E402


def composites() -> dict:
    """Our rule names → zennit composites (batch norms merged into the layer before them)."""

    def everywhere(rule) -> LayerMapComposite:  # type: ignore[no-untyped-def]
        return LayerMapComposite(
            layer_map=[*layer_map_base(), (Linear, rule)], canonizers=[SequentialMergeBatchNorm()]
        )

    return {
        "composite": EpsilonPlusFlat(canonizers=[SequentialMergeBatchNorm()]),
        "epsilon": everywhere(Epsilon(epsilon=1e-6)),
        "epsilon=0.25": everywhere(Epsilon(epsilon=0.25)),
        "zplus": everywhere(ZPlus()),
        "alphabeta": everywhere(AlphaBeta(alpha=2.0, beta=1.0)),
    }


def main(directory: Path) -> None:
    x, top = np.load(directory / "x.npy"), np.load(directory / "top.npy")
    _, ported, difference = torch_port.load_ported(str(directory / "model.keras"), x)
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    maps, seconds = {}, {"logit_difference": difference}
    for name, composite in composites().items():
        with Gradient(model=ported, composite=composite) as attributor:

            def start(output: torch.Tensor) -> torch.Tensor:
                one_hot = torch.nn.functional.one_hot(torch.from_numpy(top).long(), output.shape[1])
                return one_hot.to(output.dtype) * output

            attributor(images[:1], lambda out: start(out)[:1])  # warm-up, untimed
            begin = time.perf_counter()
            _, relevance = attributor(images, start)
            seconds[name] = (time.perf_counter() - begin) / len(x)
        maps[name] = relevance.detach().numpy().transpose(0, 2, 3, 1)
    np.savez(directory / "maps.npz", **maps)
    (directory / "seconds.json").write_text(json.dumps(seconds))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
