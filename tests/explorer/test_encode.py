"""Quantising maps to signed 8-bit PNG strips, and the plain object the browser reads."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from saliency_widgets import display
from saliency_widgets.explorer import COMPARE_MODES, ViewOptions, _encode, _html
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


def _data(maps: np.ndarray, held: np.ndarray | None = None) -> ExplorerData:
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
        methods=(MethodMaps("gradients", "Vanilla gradient", maps, held),),
    )


def _png(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",")[1]))))


def test_payload_strips_decode_to_the_shown_maps():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    data = _data(maps)
    value = _encode.payload(data, ViewOptions(), ["inferno", "gray"])
    method = value["maps"]["gradients"]
    assert method["encoding"] == "zigzag" and method["steps"] == _encode.DEFAULT_STEPS
    assert value["predictions"]["top"] == [[0, 1, 2], [0, 1, 2]]
    shown = _encode.shown_maps(data)["gradients"]
    for i, url in enumerate(method["strips"]):
        strip = _png(url)
        assert strip.shape == (12, 4) and strip.dtype == np.uint8
        np.testing.assert_array_equal(_encode.unzigzag(strip).reshape(3, 4, 4), shown[i])
        np.testing.assert_allclose(
            shown[i] * np.array(method["scales"][i])[:, None, None],
            maps[i],
            atol=np.abs(maps[i]).max() / _encode.DEFAULT_STEPS / 2 + 1e-6,
        )
    table = base64.b64decode(value["meta"]["cmaps"]["gray"])
    assert np.frombuffer(table, np.uint8).reshape(256, 3)[200].tolist() == [200, 200, 200]
    assert np.frombuffer(
        base64.b64decode(value["meta"]["cmaps"]["inferno"]), np.uint8
    ).tolist() == (display.colour_table("inferno").ravel().tolist())


def test_zigzag_codes_levels_as_small_bytes_and_back():
    levels = np.arange(-127, 128)
    stored = _encode.zigzag(levels)
    assert stored[:3].tolist() == [253, 251, 249] and stored[127:130].tolist() == [0, 2, 4]
    assert sorted(stored.tolist()) == list(range(255))
    np.testing.assert_array_equal(_encode.unzigzag(stored), levels)


def test_maps_not_held_are_written_as_missing():
    maps = np.ones((3, 3, 4, 4), np.float32)
    value = _encode.payload(_data(maps, np.array([True, False, True])), ViewOptions(), ["gray"])
    strips = value["maps"]["gradients"]["strips"]
    assert [s is None for s in strips] == [False, True, False]
    assert value["maps"]["gradients"]["scales"][1] is None


def test_live_bytes_are_the_strips_levels():
    rng = np.random.default_rng(1)
    maps = rng.normal(size=(3, 5, 6)).astype(np.float32)
    levels, scales = _encode.signed_bytes(maps, steps=7)
    stored, same = _encode.quantise(maps, True, 7)
    assert scales == same and len(levels) == 3 * 5 * 6
    np.testing.assert_array_equal(
        np.frombuffer(levels, np.int8).reshape(3, 5, 6), stored.astype(int) - 128
    )


def test_every_list_the_view_shows_comes_from_its_owner():
    from saliency_widgets.methods import get_method

    data = _data(np.ones((1, 3, 4, 4), np.float32))
    meta = _encode.payload(data, ViewOptions(cmap="magma"), display.COLOUR_MAPS)["meta"]
    assert meta["signs"] == list(display.SIGNS) and meta["blends"] == list(display.BLENDS)
    assert list(meta["cmaps"]) == ["magma", *[c for c in display.COLOUR_MAPS if c != "magma"]]
    assert [m for m, _ in meta["compares"]] == list(COMPARE_MODES)
    assert meta["methods"] == [{"name": "gradients", "label": get_method("gradients").label}]
    assert meta["live"] is False and meta["masks"] is False
    # The module itself writes no list of its own: it reads them from the payload.
    source = _html.asset("explorer.js").replace(" ", "")
    for word in ('["absolute"', '["heat"', '["single"', "inferno", "viridis", "Grad-CAM"):
        assert word not in source, word


def test_masks_and_thumbnails():
    big = np.zeros((300, 200, 3), np.uint8)
    thumb = _png(_encode.data_url(_encode.thumbnail_png(big)))
    assert max(thumb.shape[:2]) == 64 and _encode.thumbnail_png(np.zeros((64, 64, 3))) is None
    mask = np.zeros((4, 4), bool)
    mask[1:3, 1:3] = True
    data = ExplorerData(**{**_data(np.ones((1, 3, 4, 4), np.float32)).__dict__, "masks": (mask,)})
    value = _encode.payload(data, ViewOptions(), ["gray"])
    assert value["meta"]["masks"] is True
    np.testing.assert_array_equal(_png(value["masks"][0]) > 127, mask)


def test_the_fragment_is_one_self_contained_piece_of_html():
    data = _data(np.ones((1, 3, 4, 4), np.float32))
    text = _html.fragment(data, cmap="viridis", alpha=0.3, compare="classes", sign="negative")
    assert text.count("<script") == 2 and text.count("</script>") == 2
    assert 'type="module"' in text and "<style>" in text
    assert "http:" not in text and "https:" not in text and "require(" not in text
    source = text.split('<script type="application/json">')[1].split("</script>")[0]
    value = json.loads(source)
    assert value["meta"]["view"] == {
        "sign": "negative",
        "cmap": "viridis",
        "alpha": 0.3,
        "blend": "heat",
        "clip": 99.0,
        "compare": "classes",
        "outline": True,
    }
    assert next(iter(value["meta"]["cmaps"])) == "viridis"
    with pytest.raises(ValueError, match="sign must be one of"):
        _html.fragment(data, sign="both")
    with pytest.raises(ValueError, match="compare must be one of"):
        _html.fragment(data, compare="everything")


def test_no_text_in_the_data_can_end_the_script_element():
    data = _data(np.ones((1, 3, 4, 4), np.float32))
    data = ExplorerData(**{**data.__dict__, "class_names": ("</script><b>x", "b", "c")})
    text = _html.fragment(data)
    source = text.split('<script type="application/json">')[1].split("</script>")[0]
    assert json.loads(source)["meta"]["classNames"][0] == "</script><b>x"
