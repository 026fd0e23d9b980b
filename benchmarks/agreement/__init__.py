"""Comparisons of our methods with reference implementations, on the same weights and images.

Each module of this package (``cam.py``, ``perturbation.py`` …) lists its comparisons in a
module-level ``COMPARISONS`` list; :func:`groups` finds every module, so a new module adds rows
without touching the others. A module is imported both in the project's environment (to run
ours) and in the reference's virtualenv (to run theirs), so it imports only the standard library
and numpy at its top, and each side's framework inside the functions.

One comparison runs the reference first, in its virtualenv (:mod:`agreement.worker`), then ours,
in the project's environment, so that ours can read what the reference saved (RISE reads
Xplique's masks). Both return ``(N, h, w)`` maps of the same images and classes; :func:`agree`
scales each map to ``[0, 1]`` the same way and reports the Spearman rank correlation and the
differences.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

STANDALONE = frozenset({"worker", "rows", "pair_worker", "zennit_worker", "paths", "lrp"})
"""Modules that are not comparison lists: the workers, and the path-method (PAIR) and LRP (zennit)
comparisons, scripts run on their own (``python benchmarks/agreement/paths.py``) on
:mod:`agreement.rows`."""

TARGET = 0.99
"""Rank correlation every deterministic method must reach against its reference."""


@dataclass
class Inputs:
    """What both sides of a comparison see: one folder, written once per run.

    Attributes:
        directory: Holds ``model.keras`` (the bundled model), ``x.npy`` (``(N, H, W, C)``
            preprocessed images) and ``labels.npy`` (``(N,)`` classes to explain), and whatever a
            reference saves for ours (``<comparison>-*.npy``).
    """

    directory: Path

    @cached_property
    def x(self) -> np.ndarray:
        """The images, ``(N, H, W, C)`` float32."""
        return np.load(self.directory / "x.npy")

    @cached_property
    def labels(self) -> np.ndarray:
        """The class explained in each image, ``(N,)`` int."""
        return np.load(self.directory / "labels.npy")

    @cached_property
    def keras_model(self) -> Any:
        """The bundled Keras model (softmax head), loaded once per process."""
        from harness import models

        return models.load(self.directory / "model.keras")

    @cached_property
    def logits_model(self) -> Any:
        """The same weights with a linear head, as the references ask for."""
        from harness import models

        return models.logits_model(self.keras_model)

    @cached_property
    def torch_model(self) -> Any:
        """The model ported to PyTorch, its logits checked against Keras's (see ``notes``)."""
        from harness import torch_port

        ported = torch_port.port(self.keras_model)
        difference = torch_port.check_logits(self.keras_model, ported, self.x)
        self.notes["torch logits max |Δ|"] = difference
        return ported

    notes: dict[str, Any] = field(default_factory=dict)
    """Facts a side reports with its maps (e.g. the PyTorch port's logit difference)."""


Maps = Callable[[Inputs], np.ndarray]
"""``f(inputs) -> (N, h, w)`` maps of ``inputs.labels`` on ``inputs.x``."""


@dataclass(frozen=True)
class Comparison:
    """One row: one of our methods against one reference, in one setting.

    Attributes:
        name: Unique key (``"layercam-tf-keras-vis"``): file names and ``--only``.
        method: Our method's label (``"LayerCAM"``).
        reference: The reference library (a section of ``benchmarks/requirements.txt``).
        setting: What both were asked (layer, parameters).
        ours: Our maps (runs in the project's environment, after the reference).
        theirs: The reference's maps (runs in the reference's virtualenv).
        deterministic: Whether both sides compute a deterministic function (no random draws
            that differ between them): only these must reach :data:`TARGET`.
        note: Every known definitional difference, stated (what a miss is explained by).
        packages: Distributions whose versions are reported for the reference.
    """

    name: str
    method: str
    reference: str
    setting: str
    ours: Maps
    theirs: Maps
    deterministic: bool = True
    note: str = ""
    packages: tuple[str, ...] = ()


def groups() -> dict[str, list[Comparison]]:
    """Every comparison, by module (``{"cam": [...], "perturbation": [...]}``)."""
    found: dict[str, list[Comparison]] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_") or module.name in STANDALONE:
            continue
        comparisons = importlib.import_module(f"{__name__}.{module.name}").COMPARISONS
        found[module.name] = list(comparisons)
    names = [c.name for group in found.values() for c in group]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"comparisons registered twice: {duplicated}")
    return found


def find(name: str) -> Comparison:
    """The comparison called ``name``, from any module."""
    for group in groups().values():
        for comparison in group:
            if comparison.name == name:
                return comparison
    raise KeyError(name)


def scaled(maps: np.ndarray) -> np.ndarray:
    """Each ``(h, w)`` map min-max scaled to ``[0, 1]`` (a constant map becomes zeros)."""
    maps = np.asarray(maps, np.float64)
    low = maps.min(axis=(-2, -1), keepdims=True)
    span = maps.max(axis=(-2, -1), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.0)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (as ``scipy.stats.rankdata``)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=np.float64)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (1.0 when both are constant, 0.0 when one is)."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    da, db = ra - ra.mean(), rb - rb.mean()
    norm = np.sqrt((da**2).sum() * (db**2).sum())
    if norm == 0:
        return 1.0 if (da == 0).all() and (db == 0).all() else 0.0
    return float((da * db).sum() / norm)


def agree(ours: np.ndarray, theirs: np.ndarray) -> dict[str, Any]:
    """How closely two sets of maps agree after the same scaling.

    Args:
        ours: ``(N, h, w)`` maps.
        theirs: ``(N, h, w)`` maps of the same images.

    Returns:
        ``spearman_min`` / ``spearman_mean`` over the images, ``max_abs_diff`` and
        ``mean_abs_diff`` of the maps scaled to ``[0, 1]``, and the per-image correlations.

    Raises:
        ValueError: If the shapes differ.
    """
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.shape != theirs.shape:
        raise ValueError(f"maps shaped {ours.shape} (ours) and {theirs.shape} (reference)")
    a, b = scaled(ours), scaled(theirs)
    per_image = [spearman(x, y) for x, y in zip(a, b, strict=True)]
    delta = np.abs(a - b)
    return {
        "spearman_min": float(min(per_image)),
        "spearman_mean": float(np.mean(per_image)),
        "max_abs_diff": float(delta.max()),
        "mean_abs_diff": float(delta.mean()),
        "spearman_per_image": [round(v, 6) for v in per_image],
    }


def save_maps(directory: Path, name: str, side: str, maps: np.ndarray, notes: dict) -> None:
    """Writes one side's maps and notes (``<name>-<side>.npy`` / ``.json``)."""
    np.save(directory / f"{name}-{side}.npy", np.asarray(maps, np.float32))
    (directory / f"{name}-{side}.json").write_text(json.dumps(notes))


__all__ = [
    "TARGET",
    "Comparison",
    "Inputs",
    "agree",
    "find",
    "groups",
    "save_maps",
    "scaled",
    "spearman",
]
