"""The package's top level: lazy imports (no TensorFlow until a name needs it) and its names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import saliency_widgets as sw

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_importing_the_package_does_not_import_tensorflow_or_ipywidgets():
    code = (
        "import sys, saliency_widgets as sw\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'ipywidgets') if m in sys.modules))\n"
        "sw.filters\n"
        "print('tensorflow' in sys.modules)\n"
    )
    assert run_python(code).splitlines() == ["[]", "True"]  # filters are TensorFlow ops


def test_star_import_gives_the_public_names_without_the_optional_widget():
    code = (
        "import sys\n"
        "from saliency_widgets import *\n"
        "print(gradients.__name__, explain.__name__, top_k.__name__, zoo.__name__)\n"
        "print('ipywidgets' in sys.modules)\n"
    )
    assert run_python(code).splitlines() == [
        "gradients explain top_k saliency_widgets.zoo",
        "False",
    ]


def test_every_shortcut_runs_its_registered_method_with_its_postprocessing():
    from builders import small_cnn

    model = small_cnn(seed=21)
    x = np.random.default_rng(0).random((2, 12, 12, 3), dtype=np.float32)
    cheap = {"samples": 2, "steps": 2, "top_channels": 2}
    for name in sw.SHORTCUTS:
        spec = sw.methods.get_method(name)
        shortcut = getattr(sw, name)
        assert shortcut.__name__ == name
        accepted = {parameter.name for parameter in spec.parameters}
        params = {k: v for k, v in cheap.items() if k in accepted}
        _, maps = shortcut(model, x, [1, 3], **params)
        _, expected = sw.explain(
            spec.function, model, x, [1, 3], postprocessing=spec.postprocessing, **params
        )
        np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6, err_msg=name)
        assert maps.shape[:3] == (2, 12, 12) and 0.99 <= maps.max() <= 1.0, name
    assert "gradients" in vars(sw)  # built once, then a plain attribute


def test_names_are_listed_and_unknown_names_raise_attribute_error():
    assert {"gradients", "SaliencyWidget", "widget", "zoo", "metrics"} <= set(dir(sw))
    try:
        sw.not_a_method  # noqa: B018
    except AttributeError as error:
        assert "not_a_method" in str(error)
    else:
        raise AssertionError("sw.not_a_method did not raise")
