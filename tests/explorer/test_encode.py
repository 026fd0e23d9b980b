"""Quantising maps to signed 8-bit PNG strips, and the plain object the browser reads."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from saliency_widgets import display
from saliency_widgets.explorer import _encode, _html
from saliency_widgets.explorer._data import ExplorerData, MethodMaps


def test_signed_maps_keep_their_sign_around_the_offset():
    maps = np.array([[[-2.0, 0.0], [1.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]]])
    stored, scales = _encode.quantise(maps, signed=True, steps=4)
    assert stored[0].tolist() == [[124, 128], [130, 132]]
    assert stored[1].tolist() == [[128, 128], [128, 128]]  # an empty map stays zero
    assert scales == [0.5, 1.0]
    back = _encode.dequantise(stored, _encode.SIGNED_OFFSET, scales)
    assert back[0].tolist() == [[-2.0, 0.0], [1.0, 2.0]]


def test_unsigned_maps_use_the_byte_from_zero_and_nan_is_zero():
    maps = np.array([[[0.0, 0.5], [np.nan, 1.0]]])
    stored, scales = _encode.quantise(maps, signed=False, steps=255)
    assert stored[0].tolist() == [[0, 128], [0, 255]]
    assert scales == pytest.approx([1 / 255])
    with pytest.raises(ValueError, match="steps must be in"):
        _encode.quantise(maps, signed=True, steps=128)


def _data(maps: np.ndarray, signed: bool) -> ExplorerData:
    n, k = maps.shape[:2]
    images = tuple(np.full((4, 4, 3), 40 * i, np.uint8) for i in range(n))
    return ExplorerData(
        images=images,
        names=tuple(f"image {i}" for i in range(n)),
        labels=np.arange(n),
        class_names=("a", "b", "c"),
        indices=np.tile(np.arange(k), (n, 1)),
        probabilities=np.full((n, k), 0.5),
        activation="softmax",
        methods=(MethodMaps("gradients", "Vanilla gradient", maps, signed),),
    )


def test_payload_strips_decode_to_the_shown_maps():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    data = _data(maps, signed=True)
    value = _encode.payload(data, {"sign": "absolute"}, ["inferno", "gray"])
    method = value["methods"][0]
    assert method["offset"] == 128 and method["signed"] is True
    assert value["mapSize"] == [4, 4] and value["top"] == [[0, 1, 2], [0, 1, 2]]
    shown = _encode.shown_maps(data)["gradients"]
    for i, url in enumerate(method["strips"]):
        strip = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",")[1]))))
        assert strip.shape == (12, 4) and strip.dtype == np.uint8
        np.testing.assert_array_equal(strip.reshape(3, 4, 4).astype(float) - 128, shown[i])
        np.testing.assert_allclose(
            shown[i] * np.array(method["scales"][i])[:, None, None],
            maps[i],
            atol=np.abs(maps[i]).max() / _encode.DEFAULT_STEPS / 2 + 1e-6,
        )
    table = base64.b64decode(value["cmaps"]["gray"])
    assert np.frombuffer(table, np.uint8).reshape(256, 3)[200].tolist() == [200, 200, 200]
    assert np.frombuffer(base64.b64decode(value["cmaps"]["inferno"]), np.uint8).tolist() == (
        display.colour_table("inferno").ravel().tolist()
    )


def test_the_fragment_is_one_self_contained_piece_of_html():
    data = _data(np.ones((1, 3, 4, 4), np.float32), signed=False)
    text = _html.fragment(data, cmap="viridis", alpha=0.3, compare="classes")
    assert text.count("<script") == 2 and text.count("</script>") == 2
    assert 'type="module"' in text and "<style>" in text
    assert "http:" not in text and "https:" not in text and "require(" not in text
    source = text.split('<script type="application/json">')[1].split("</script>")[0]
    value = json.loads(source)
    assert value["view"] == {
        "sign": "absolute",
        "cmap": "viridis",
        "alpha": 0.3,
        "blend": "heat",
        "clip": 99.0,
        "compare": "classes",
    }
    assert next(iter(value["cmaps"])) == "viridis"
    with pytest.raises(ValueError, match="sign must be one of"):
        _html.fragment(data, sign="positive")  # unsigned maps have no sign to show


def test_no_text_in_the_data_can_end_the_script_element():
    data = _data(np.ones((1, 3, 4, 4), np.float32), signed=True)
    data = ExplorerData(**{**data.__dict__, "class_names": ("</script><b>x", "b", "c")})
    text = _html.fragment(data)
    source = text.split('<script type="application/json">')[1].split("</script>")[0]
    assert json.loads(source)["classNames"][0] == "</script><b>x"
