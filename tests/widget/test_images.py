"""Loading the widget's images: arrays, lists, files and folders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from saliency_widgets.widget import load_pictures


def test_batches_and_lists_keep_the_pixels_as_given():
    batch = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    pictures = load_pictures(batch)
    assert pictures.names == ["image 0", "image 1"]
    np.testing.assert_array_equal(pictures.originals[1], batch[1])
    floats = load_pictures([np.zeros((3, 5)), np.ones((6, 2, 1), np.float32)])
    assert [p.shape for p in floats.originals] == [(3, 5), (6, 2, 1)]
    assert not floats.same_shape([0, 1]) and floats.same_shape([1])


def test_files_and_folders(tmp_path):
    red = np.zeros((4, 6, 3), np.uint8)
    red[..., 0] = 255
    Image.fromarray(red).save(tmp_path / "b_red.png")
    Image.fromarray(red[..., 0]).save(tmp_path / "a_gray.png")
    Image.fromarray(red).convert("P").save(tmp_path / "c_palette.gif")
    (tmp_path / "notes.txt").write_text("not an image")
    pictures = load_pictures(tmp_path)
    assert pictures.names == ["a_gray.png", "b_red.png", "c_palette.gif"]
    assert pictures.originals[0].shape == (4, 6, 3)  # one reader: every file becomes RGB
    np.testing.assert_array_equal(pictures.originals[1], red)
    assert pictures.originals[2].shape == (4, 6, 3)  # palette images become RGB
    one = load_pictures([str(tmp_path / "b_red.png")])
    assert one.names == ["b_red.png"]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        load_pictures([])
    with pytest.raises(ValueError, match="holds no images"):
        load_pictures(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_pictures(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"images\[1\]"):
        load_pictures([np.zeros((2, 2)), tmp_path / "missing.png"])
    with pytest.raises(ValueError, match=r"images\[0\] has shape \(2, 2, 7\)"):
        load_pictures([np.zeros((2, 2, 7))])
    with pytest.raises(ValueError, match="expected a batch"):
        load_pictures(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="must hold numbers"):
        load_pictures([np.array([["a"]])])
    with pytest.raises(TypeError, match="got int"):
        load_pictures(3)


def test_files_are_read_by_the_one_reader_the_grid_uses(tmp_path):
    """A transparent PNG looks the same in the widget and in a grid; a corrupt file is named."""
    from saliency_widgets._image_files import read_image

    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not a png")
    picture = load_pictures([tmp_path / "a.png"]).originals[0]
    np.testing.assert_array_equal(picture, read_image(tmp_path / "a.png"))
    assert picture.shape == (4, 4, 3)
    assert picture[0, 0].tolist() == [200, 0, 0] and picture[3, 0].tolist() == [255, 255, 255]
    with pytest.raises(ValueError, match=r"cannot read image .*b\.png"):
        load_pictures(tmp_path)
